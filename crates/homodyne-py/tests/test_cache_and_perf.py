"""MemoryEfficientCache and PerformanceRecorder from Python."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import homodyne_rs as hr

DTYPES = [np.float64, np.float32, np.int64, np.int32, np.uint32, np.uint16, np.uint8]


def arrays():
    smooth = 1.0 + 0.3 * np.exp(-np.arange(40_000) / 5000.0)
    for dtype in DTYPES:
        info = np.finfo(dtype) if np.issubdtype(dtype, np.floating) else np.iinfo(dtype)
        scale = min(float(info.max) / 2, 1e4)
        yield (smooth * scale).astype(dtype).reshape(20, 40, 50)


def test_every_dtype_round_trips_through_memory_and_disk(tmp_path):
    # 2 MiB: a quarter stays hot, so the colder arrays are stored compressed.
    cache = hr.MemoryEfficientCache(max_memory_mb=2)
    originals = {f"array-{np.dtype(a.dtype).name}": a for a in arrays()}
    for key, array in originals.items():
        cache.set(key, array)
    cache.set(b"bytes-key", np.arange(10.0))
    assert "array-uint16" in cache and b"bytes-key" in cache and "bytes-key" not in cache
    stats = cache.stats()
    assert stats["entries"] == len(originals) + 1
    assert stats["compressed_entries"] >= 1, stats
    for key, array in originals.items():
        back = cache.get(key)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
    path = cache.save(tmp_path)
    assert path.name == "cache.hcache"
    fresh = hr.MemoryEfficientCache(max_memory_mb=64)
    report = fresh.load(tmp_path)
    assert report == {"loaded": len(originals) + 1, "skipped": [], "evicted": 0}
    for key, array in originals.items():
        np.testing.assert_array_equal(fresh.get(key), array)
    np.testing.assert_array_equal(fresh.get(b"bytes-key"), np.arange(10.0))


def test_raw_hits_share_the_cached_buffer_read_only():
    cache = hr.MemoryEfficientCache()
    source = np.arange(1000.0)
    cache.set("x", source)
    source[0] = -1.0  # the cache holds its own copy
    first, second = cache.get("x"), cache.get("x")
    assert first[0] == 0.0
    assert not first.flags.writeable
    assert np.shares_memory(first, second), "a raw hit is a view of the cached buffer, not a copy"
    with pytest.raises(ValueError):
        first[1] = 5.0
    del cache  # the views keep the buffer alive
    assert first.sum() == np.arange(1000.0).sum()


def test_budget_entry_limit_and_ttl():
    cache = hr.MemoryEfficientCache(max_memory_mb=1, compression_level=0, max_entries=3, ttl_seconds=None)
    for k in range(5):
        cache.set(f"k{k}", np.full(1000, float(k)))
    assert len(cache) == 3 and cache.get("k0") is None and cache.get("k4")[0] == 4.0
    with pytest.raises(ValueError, match="budget"):
        cache.set("big", np.zeros(1_000_000))
    assert cache.stats()["stored_bytes"] <= cache.stats()["budget_bytes"]
    with pytest.raises(ValueError, match="max_memory_mb"):
        hr.MemoryEfficientCache(max_memory_mb=-1)
    with pytest.raises(TypeError, match="str or bytes"):
        cache.set(3, np.zeros(3))
    with pytest.raises(TypeError, match="dtype"):
        cache.set("c", np.zeros(3, dtype=np.complex128))
    with pytest.raises(TypeError, match="numpy arrays"):
        cache.set("l", [1.0, 2.0])


def test_get_or_compute_runs_once_across_threads_and_propagates_errors():
    cache = hr.MemoryEfficientCache()
    calls = []

    def compute():
        calls.append(1)
        return np.linspace(0, 1, 1000)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("lin", compute))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 8
    for result in results:
        np.testing.assert_array_equal(result, np.linspace(0, 1, 1000))

    def fail():
        raise KeyError("no data")

    with pytest.raises(KeyError, match="no data"):
        cache.get_or_compute("bad", fail)
    assert "bad" not in cache
    with pytest.raises(ValueError, match="(?i)recursive|itself"):
        cache.get_or_compute("loop", lambda: cache.get_or_compute("loop", compute))


def test_damaged_cache_files_raise_cache_error(tmp_path):
    (tmp_path / "cache.hcache").write_bytes(b"not a cache file at all, not at all")
    with pytest.raises(hr.CacheError):
        hr.MemoryEfficientCache().load(tmp_path)
    with pytest.raises(hr.CacheError):
        hr.MemoryEfficientCache().load(tmp_path / "missing")


def test_recorder_flags_a_slowdown_and_merges_baselines(tmp_path):
    rng = np.random.default_rng(11)
    base = hr.PerformanceRecorder()
    for _ in range(10):
        base.record_metric("fit", "execution_time", 1e-3 * (1 + 0.01 * rng.random()))
        base.record_metric("filter", "execution_time", 2e-4 * (1 + 0.01 * rng.random()))
    path = base.save_baselines(tmp_path, commit="abc123")
    assert path.name == "abc123.toml"

    head = hr.PerformanceRecorder()
    for _ in range(10):
        head.record_metric("fit", "execution_time", 1.5e-3 * (1 + 0.01 * rng.random()))
        head.record_metric("filter", "execution_time", 2e-4 * (1 + 0.01 * rng.random()))
    checker = hr.PerformanceRecorder(path)
    result = checker.compare(head)
    verdicts = {v.name: v for v in result["verdicts"]}
    assert verdicts["fit/time"].outcome == "regression" and verdicts["fit/time"].severity == "fail"
    assert bool(verdicts["fit/time"]) and not bool(verdicts["filter/time"])
    assert verdicts["filter/time"].outcome == "unchanged"
    assert result["regression"] is True and "fit/time" in result["markdown"]
    assert checker.check_regression("fit", "execution_time", 5e-3).outcome == "regression"

    # A partial recorder saved to the same commit merges, never loses rows.
    partial = hr.PerformanceRecorder()
    partial.record_metric("fit", "execution_time", 1e-3)
    partial.save_baselines(tmp_path, commit="abc123")
    merged = hr.PerformanceRecorder(path).compare(head)
    assert {v.name for v in merged["verdicts"]} == {"fit/time", "filter/time"}
    text = path.read_text()
    assert text.count("[benchmarks.") == 2 and "samples = [" in text

    with pytest.raises(ValueError, match="metric"):
        base.record_metric("x", "speed", 1.0)
    with pytest.raises(ValueError, match="positive"):
        base.record_metric("x", "time", -1.0)
    with pytest.raises(ValueError, match="regression_threshold"):
        base.regression_threshold = 0.5
    assert base.regression_threshold == 1.3
    with pytest.raises(hr.PerfError):
        hr.PerformanceRecorder(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("format_version = 2\ncommit = 5\n")
    with pytest.raises(hr.PerfError, match="bad.toml"):
        hr.PerformanceRecorder(tmp_path / "bad.toml")


def test_version_stub_and_marker_ship():
    import importlib.resources

    assert hr.__version__.count(".") == 2
    files = importlib.resources.files("homodyne_rs")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_homodyne_rs.pyi").is_file()
    for name in hr.__all__:
        assert getattr(hr, name).__doc__ or name in {"__version__", "PARAMETER_NAMES"}, name
    # The stub declares every name the extension module has.
    stub = files.joinpath("_homodyne_rs.pyi").read_text()
    for name in dir(hr._homodyne_rs):
        if not name.startswith("_"):
            assert f"class {name}" in stub or f"def {name}(" in stub, name


def test_the_package_modules_import_each_other_without_a_loop():
    """Each module's imports of the package's own modules (at any depth of
    its code) form no cycle: __init__ -> v1 -> _objective -> _v1_config."""
    import ast
    from pathlib import Path

    package = Path(hr.__file__).parent
    graph = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    targets.add(node.module.split(".")[0])
                else:
                    # `from . import v1` names a module; `from . import Objective`
                    # names the package itself (its __init__).
                    modules = {p.stem for p in package.glob("*.py")} | {"_homodyne_rs"}
                    targets.update(alias.name if alias.name in modules else "__init__" for alias in node.names)
        graph[path.stem] = targets - {"_homodyne_rs"}

    def reaches(start, goal, seen=()):
        return any(
            step == goal or (step not in seen and reaches(step, goal, (*seen, step))) for step in graph.get(start, ())
        )

    assert graph["v1"] >= {"_objective", "_v1_config"}
    for module in graph:
        assert not reaches(module, module), f"{module} imports itself through {graph}"


def test_two_processes_saving_baselines_at_once_lose_no_row(tmp_path):
    """save_baselines merges under the directory's lock: two interpreters
    each saving 10 times into one commit's file keep all 20 rows."""
    import subprocess
    import sys
    import textwrap

    child = textwrap.dedent(
        f"""
        import sys, homodyne_rs as hr
        side = sys.argv[1]
        for round in range(10):
            recorder = hr.PerformanceRecorder()
            recorder.record_metric(f"bench/{{side}}/{{round}}", "time", 1.0 + round)
            recorder.save_baselines({str(tmp_path)!r}, commit="0123456789abcdef")
        """
    )
    children = [subprocess.Popen([sys.executable, "-c", child, side]) for side in ("a", "b")]
    assert [process.wait(timeout=120) for process in children] == [0, 0]
    stored = hr.PerformanceRecorder(tmp_path / "0123456789abcdef.toml").compare(tmp_path / "0123456789abcdef.toml")
    names = {verdict.name for verdict in stored["verdicts"]}
    assert len([name for name in names if name.startswith("bench/")]) == 20, sorted(names)
