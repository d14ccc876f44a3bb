"""Hostile but plausible input, as a new user hands it: every case ends with
a clean Python exception or the right value, never a crash. The crash
cases run in a child interpreter (a segmentation fault or an abort there
fails the test instead of ending pytest)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import homodyne_rs as hr

KWARGS = dict(dt=0.1, q=0.0054, gap=2e6)
PARAMS = np.array([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])


def run_child(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter; it must exit 0 without a panic."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert "PanicException" not in done.stderr + done.stdout, done.stderr
    assert "memory allocation of" not in done.stderr, done.stderr
    return done


def test_an_empty_phi_with_a_huge_frame_count_is_a_memory_error():
    done = run_child(
        """
        import homodyne_rs as hr
        try:
            hr.c2_theory([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0], [], n_frames=2**31, dt=0.1, q=0.0054, gap=2e6)
        except MemoryError as error:
            print("MemoryError:", error)
        """
    )
    assert "MemoryError: c2_theory of shape [0, 2147483648, 2147483648] is too large" in done.stdout
    # A reasonable empty request is an empty array of the right shape.
    assert hr.c2_theory(PARAMS, [], n_frames=5, **KWARGS).shape == (0, 5, 5)


def test_a_broadcast_view_larger_than_the_budget_is_refused_before_any_copy():
    done = run_child(
        """
        import numpy as np, homodyne_rs as hr
        cache = hr.MemoryEfficientCache(max_memory_mb=1)
        try:
            cache.set("big", np.broadcast_to(0.0, (2**21, 2**21)))
        except ValueError as error:
            print("ValueError:", error)
        try:
            # 2**59 doubles: numpy can describe it, nobody can copy it.
            hr.fast_correlation(np.broadcast_to(1.0, (2**59,)), np.broadcast_to(2.0, (2**59,)))
        except MemoryError as error:
            print("MemoryError:", error)
        """
    )
    assert "ValueError: entry of 35184372089088 bytes exceeds the cache budget of 1048576 bytes" in done.stdout
    assert "MemoryError: Unable to allocate 4.00 EiB" in done.stdout, done.stdout


FNV_OFFSET, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def checksum_bytes(data: bytes) -> int:
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & MASK
    return value


def checksum_words(data: bytes) -> int:
    value = FNV_OFFSET
    whole = len(data) // 8 * 8
    for at in range(0, whole, 8):
        value = ((value ^ int.from_bytes(data[at : at + 8], "little")) * FNV_PRIME) & MASK
    tail = data[whole:]
    if tail:
        last = bytearray(tail.ljust(8, b"\0"))
        last[7] ^= len(tail) << 4
        value = ((value ^ int.from_bytes(last, "little")) * FNV_PRIME) & MASK
    return value


def crafted_cache_file(directory: Path, key: bytes, code: int, shape: list[int], payload: bytes = b"") -> None:
    """A checksum-valid cache file (format 2, as `file_format.rs` documents it) with one entry."""
    body = struct.pack("<I", len(key)) + key + bytes([code]) + struct.pack("<I", len(shape))
    body += b"".join(struct.pack("<Q", extent) for extent in shape)
    body += struct.pack("<QQ", len(payload), (1 << 64) - 1) + bytes([0]) + struct.pack("<Q", len(payload)) + payload
    entry = struct.pack("<Q", len(body)) + body
    entry += struct.pack("<Q", checksum_words(entry))
    head = b"HOMODYNE-CACHE\0\0" + struct.pack("<IQ", 2, 1)
    head += struct.pack("<Q", checksum_bytes(head))
    (directory / "cache.hcache").write_bytes(head + entry)


@pytest.mark.parametrize("shape", [[1] * 33, [0, 2**62]], ids=["33 axes", "(0, 2**62)"])
def test_a_crafted_cache_file_is_skipped_not_crashed_on(tmp_path, shape):
    crafted_cache_file(tmp_path, b"sbad", 1, shape)
    done = run_child(
        f"""
        import homodyne_rs as hr
        cache = hr.MemoryEfficientCache()
        report = cache.load({str(tmp_path)!r})
        print(report["loaded"], report["skipped"])
        print(cache.get("bad"))
        """
    )
    assert done.stdout.startswith("0 ['entry 0: "), done.stdout
    assert done.stdout.strip().endswith("None")
    # The same writer makes a file that loads: the test's format is the real one.
    good = tmp_path / "good"
    good.mkdir()
    crafted_cache_file(good, b"sgood", 1, [2, 2], struct.pack("<4d", 1.0, 2.0, 3.0, 4.0))
    cache = hr.MemoryEfficientCache()
    assert cache.load(good)["loaded"] == 1
    np.testing.assert_array_equal(cache.get("good"), [[1.0, 2.0], [3.0, 4.0]])


def layouts():
    """One array of float64 values in every layout numpy has, and the values it holds."""
    values = np.arange(24, dtype=np.float64).reshape(4, 6) * 0.5 - 3.0
    raw = np.frombuffer(b"\0" + values.tobytes(), dtype=np.float64, offset=1).reshape(4, 6)
    packed = np.zeros(24, dtype=np.dtype([("tag", "u1"), ("value", "<f8")], align=False))
    packed["value"] = values.ravel()
    yield "C-contiguous", values, values
    yield "unaligned", raw, values
    yield "big-endian", values.astype(">f8"), values
    yield "Fortran order", np.asfortranarray(values), values
    yield "negative strides", values[::-1, ::-1], values[::-1, ::-1]
    yield "every other column", values[:, ::2], values[:, ::2]
    yield "packed structured field (stride 9)", packed["value"].reshape(4, 6), values
    yield "float32", values.astype(np.float32), values
    yield "int64", (values * 2).astype(np.int64), (values * 2)


@pytest.mark.parametrize("name, array, expected", list(layouts()), ids=[case[0] for case in layouts()])
def test_every_layout_reads_the_same_values_everywhere(name, array, expected):
    # Kernels: one row's correlation with another, and the matrix.
    np.testing.assert_allclose(hr.correlation_matrix(array), np.corrcoef(np.asarray(expected)), rtol=1e-12, atol=1e-12)
    r = hr.fast_correlation(array[0], array[1])
    assert r == pytest.approx(np.corrcoef(expected[0], expected[1])[0, 1], rel=1e-12)
    # The cache: what comes back is what went in.
    cache = hr.MemoryEfficientCache(max_memory_mb=8)
    if array.dtype.kind == "f" and array.dtype.itemsize == 8:
        cache.set("array", array)
        np.testing.assert_array_equal(cache.get("array"), expected)


def test_the_objective_reads_unaligned_and_strided_data_as_their_values():
    phi = np.array([-5.0, 0.0, 175.0])
    c2 = 0.3 * hr.c2_theory(PARAMS, phi, n_frames=12, **KWARGS) + 1.0
    c2 += 1e-3 * np.random.default_rng(1).standard_normal(c2.shape)
    reference = hr.Objective(c2, phi, **KWARGS)(PARAMS * 1.1)
    unaligned = np.frombuffer(b"\0" + c2.tobytes(), dtype=np.float64, offset=1).reshape(c2.shape)
    assert not unaligned.flags.aligned
    wide = np.zeros((3, 12, 24))
    wide[:, :, ::2] = c2
    for data in (unaligned, c2.astype(">f8"), wide[:, :, ::2], np.asfortranarray(c2)):
        assert hr.Objective(data, phi, **KWARGS)(PARAMS * 1.1) == pytest.approx(reference, rel=1e-14)


def test_many_axes_and_zero_sizes_are_typed_errors_or_empty_results():
    many = np.zeros((1,) * 33)
    cache = hr.MemoryEfficientCache(max_memory_mb=1)
    with pytest.raises(ValueError, match="33 axes; at most 32"):
        cache.set("many", many)
    with pytest.raises(ValueError, match="33 axes"):
        hr.chi_squared(many, many)
    assert hr.chi_squared_batch(np.zeros((0, 5)), np.zeros((0, 5)), [], []).shape == (0,)
    cache.set("empty", np.zeros((0, 7)))
    assert cache.get("empty").shape == (0, 7)
    with pytest.raises(TypeError, match="dtype"):
        cache.set("complex", np.zeros(3, dtype=complex))
    with pytest.raises(TypeError, match="real numbers"):
        hr.fast_correlation(np.array(["a", "b"]), [1.0, 2.0])


def test_every_exported_entry_point_runs_inside_the_panic_guard():
    """The Rust sources: every #[pyfunction] and every method of a
    #[pymethods] block runs its body in crate::guard::guard, so that no
    panic can reach Python as PanicException."""
    source = Path(__file__).resolve().parents[1] / "src"
    unguarded = []
    checked = 0
    for path in sorted(source.glob("*.rs")):
        text = path.read_text()
        blocks = [m.start() for m in re.finditer(r"#\[pymethods\]", text)]
        for match in re.finditer(r"\n(    )?(pub\(crate\) )?fn (\w+)[^{;]*\{", text):
            start = match.start()
            exported_here = "#[pyfunction]" in text[max(0, start - 400) : start].split("\n\n")[-1] or any(
                block < start and text.count("\n}\n", block, start) == 0 for block in blocks
            )
            if not exported_here:
                continue
            body = text[match.end() : match.end() + 200]
            checked += 1
            if not body.lstrip().startswith("crate::guard::guard("):
                unguarded.append(f"{path.name}: {match.group(3)}")
    assert checked > 60, checked
    assert not unguarded, unguarded


@st.composite
def hostile_arrays(draw):
    """Arrays as users hand them: any of several dtypes and byte orders,
    empty or not, up to 34 axes, sliced, transposed, unaligned."""
    ndim = draw(st.integers(0, 34))
    if ndim > 4:
        shape = [1] * ndim
    else:
        shape = draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim))
    dtype = draw(st.sampled_from(["<f8", ">f8", "<f4", "<i8", "|u1", "|b1", "<c16", "<u2"]))
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + draw(st.floats(-1e3, 1e3))
    array = values.astype(dtype) if dtype != "<c16" else values.astype(dtype) * (1 + 1j)
    layout = draw(st.sampled_from(["plain", "unaligned", "transposed", "strided", "broadcast"]))
    if layout == "unaligned" and array.size:
        raw = np.frombuffer(b"\0" + array.tobytes(), dtype=array.dtype, offset=1)
        array = raw.reshape(array.shape)
    elif layout == "transposed":
        array = array.T
    elif layout == "strided" and ndim >= 1:
        array = array[::2]
    elif layout == "broadcast" and ndim >= 1:
        array = np.broadcast_to(array[:1], (3, *array.shape[1:])) if array.shape[0] else array
    return array


def call_everything(a, b):
    """Every exported entry point that takes arrays, with `a` and `b`."""
    calls = [
        lambda: hr.filter_angles(a, [(-10, 10)]),
        lambda: hr.fast_correlation(a, b),
        lambda: hr.correlation_matrix(a),
        lambda: hr.correlation_matrix(a, b),
        lambda: hr.chi_squared(a, b),
        lambda: hr.chi_squared_weighted(a, b, b),
        lambda: hr.chi_squared_batch(a, b, [1.0], [0.0]),
        lambda: hr.solve_scaling_batch(a, b),
        lambda: hr.c2_theory(a, b, n_frames=3, **KWARGS),
        lambda: hr.Objective(a, b, **KWARGS),
        lambda: hr.fit(a, b, x0=PARAMS, **KWARGS),
        lambda: hr.MemoryEfficientCache(max_memory_mb=1).set("key", a),
    ]
    for call in calls:
        try:
            call()
        except Exception as error:  # noqa: BLE001 (any ordinary exception is fine; PanicException is a BaseException)
            # The panic guard turns a Rust panic into a RuntimeError naming it: still a bug.
            assert "internal error in homodyne_rs" not in str(error), error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_arrays(), hostile_arrays())
def test_no_array_crashes_any_entry_point(a, b):
    call_everything(a, b)
