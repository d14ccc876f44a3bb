"""numpy's angle filter on the workload of `cargo bench -p homodyne-angles`.

Angles uniform in [-180, 360), the two default ranges; prints the best mean
per call over five repeats. Run with a venv that has numpy:

    python3 -m venv target/peers && target/peers/bin/pip install numpy
    target/peers/bin/python bench/peers/angles_numpy.py
"""

import timeit

import numpy as np


def main() -> None:
    rng = np.random.default_rng(42)
    for n_angles in [1_000, 10_000, 100_000, 1_000_000]:
        angles = rng.uniform(-180.0, 360.0, n_angles)

        def numpy_filter():
            return np.flatnonzero(((angles >= -10) & (angles <= 10)) | ((angles >= 170) & (angles <= 190)))

        calls = max(5, 2_000_000 // n_angles)
        seconds = min(timeit.repeat(numpy_filter, number=calls, repeat=5)) / calls
        print(f"{n_angles:>9} angles: numpy {seconds * 1e6:10.1f} us")


if __name__ == "__main__":
    main()
