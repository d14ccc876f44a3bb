//! `MemoryEfficientCache` for numpy arrays: one budget for arrays of every
//! dtype the Rust cache supports, keys `str` or `bytes`.

use std::sync::Arc;

use homodyne_cache::{
    AnyArray, CacheConfig, CacheValue, ENTRY_OVERHEAD_BYTES, MemoryEfficientCache as RustCache, PersistKey,
    TryInsertError,
};
use ndarray::ArrayD;
use numpy::{Element, PyArray, PyArrayDescrMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::arrays::{check_shape, typed_array};
use crate::errors;

/// A cache key: Python `str` and `bytes` keys never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Bytes(Vec<u8>),
}

impl Key {
    fn from_py(key: &Bound<'_, PyAny>) -> PyResult<Key> {
        if let Ok(text) = key.cast::<PyString>() {
            return Ok(Key::Str(text.extract::<String>()?));
        }
        if let Ok(bytes) = key.cast::<PyBytes>() {
            return Ok(Key::Bytes(bytes.as_bytes().to_vec()));
        }
        Err(PyTypeError::new_err(format!("cache keys must be str or bytes, got {}", key.get_type().name()?)))
    }
}

impl PersistKey for Key {
    fn to_bytes(&self) -> Vec<u8> {
        let (tag, bytes) = match self {
            Key::Str(text) => (b's', text.as_bytes()),
            Key::Bytes(bytes) => (b'b', bytes.as_slice()),
        };
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(tag);
        out.extend_from_slice(bytes);
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match bytes.split_first()? {
            (b's', text) => String::from_utf8(text.to_vec()).ok().map(Key::Str),
            (b'b', bytes) => Some(Key::Bytes(bytes.to_vec())),
            _ => None,
        }
    }
}

/// Owns a cached array for the numpy arrays that view it: `get` returns
/// read-only arrays over the cached buffer, whose base is this object.
#[pyclass(frozen, module = "homodyne_rs")]
struct CachedBuffer(#[expect(dead_code, reason = "held only to keep the buffer alive")] Arc<AnyArray>);

/// The array as an owned `ArrayD<T>`: the cache's own copy, made after the
/// shape and the budget were checked (the rule of `arrays.rs`).
fn copy_in<T: Element + Copy + Send + Sync>(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    budget: usize,
) -> PyResult<ArrayD<T>> {
    let array = typed_array::<T>(value, "array", |_, bytes| {
        let entry = bytes.saturating_add(ENTRY_OVERHEAD_BYTES);
        if entry > budget {
            return Err(errors::cache(homodyne_cache::CacheError::EntryTooLarge { bytes: entry, budget }));
        }
        Ok(())
    })?;
    let view = array.as_array();
    // The copy is the one the cache must make (the caller may write into its array later).
    Ok(py.detach(|| view.to_owned()))
}

/// Any numpy array of a supported dtype (any byte order, any layout),
/// copied into an owned array, or a `TypeError`; an array larger than
/// `budget` is refused before it is copied.
fn to_any_array(py: Python<'_>, value: &Bound<'_, PyAny>, budget: usize) -> PyResult<AnyArray> {
    let Ok(untyped) = value.cast::<numpy::PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "cached values must be numpy arrays, got {}",
            value.get_type().name()?
        )));
    };
    let dtype = untyped.dtype();
    Ok(match (dtype.kind(), dtype.itemsize()) {
        (b'f', 8) => copy_in::<f64>(py, value, budget)?.into(),
        (b'f', 4) => copy_in::<f32>(py, value, budget)?.into(),
        (b'i', 8) => copy_in::<i64>(py, value, budget)?.into(),
        (b'i', 4) => copy_in::<i32>(py, value, budget)?.into(),
        (b'u', 4) => copy_in::<u32>(py, value, budget)?.into(),
        (b'u', 2) => copy_in::<u16>(py, value, budget)?.into(),
        (b'u', 1) => copy_in::<u8>(py, value, budget)?.into(),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "cannot cache an array of dtype {}: supported are float64, float32, int64, int32, uint32, uint16 and uint8",
                dtype.str()?
            )));
        }
    })
}

/// A read-only numpy array over `array`'s buffer, kept alive by `owner`.
fn view_of<'py, T: Element>(py: Python<'py>, array: &ArrayD<T>, owner: &Arc<AnyArray>) -> PyResult<Bound<'py, PyAny>> {
    // Checked when stored (set, load); checked again before numpy sees it.
    check_shape("the cached array", array.shape(), size_of::<T>())?;
    let container = Bound::new(py, CachedBuffer(Arc::clone(owner)))?;
    // SAFETY: `array` lives inside the `AnyArray` that `owner` shares; the
    // numpy array's base object is `container`, which holds a clone of that
    // `Arc`, so the buffer outlives every view of it. The cache never
    // mutates a stored value (a new `set` replaces the `Arc`), and the view
    // is made read-only below before Python sees it.
    let view = unsafe { PyArray::borrow_from_array(array, container.into_any()) };
    view.call_method1("setflags", (false,))?;
    Ok(view.into_any())
}

fn to_numpy<'py>(py: Python<'py>, value: &Arc<AnyArray>) -> PyResult<Bound<'py, PyAny>> {
    match &**value {
        AnyArray::F64(array) => view_of(py, array, value),
        AnyArray::F32(array) => view_of(py, array, value),
        AnyArray::I64(array) => view_of(py, array, value),
        AnyArray::U8(array) => view_of(py, array, value),
        AnyArray::I32(array) => view_of(py, array, value),
        AnyArray::U16(array) => view_of(py, array, value),
        AnyArray::U32(array) => view_of(py, array, value),
        other => Err(PyTypeError::new_err(format!("dtype {} has no numpy view here", other.dtype()))),
    }
}

/// A memory-bounded cache for numpy arrays (the design document's
/// `MemoryEfficientCache`): an exact byte budget over arrays of every dtype
/// (values plus a fixed overhead per entry), least-recently-used eviction,
/// a time to live (`ttl_seconds=None` for none), an entry limit, LZ4 with
/// a byte shuffle for cold arrays, and a budget that halves under system
/// memory pressure. Thread-safe; the GIL is released while it works.
///
/// `get` returns a read-only array that shares the cached buffer (no copy)
/// for an uncompressed entry; a compressed one is decompressed once and kept.
/// `hot_fraction` (keyword) is the share of the budget kept uncompressed for
/// recently used arrays; arrays below `compress_min_bytes` are never compressed.
#[pyclass(frozen, module = "homodyne_rs")]
pub(crate) struct MemoryEfficientCache {
    cache: RustCache<Key, AnyArray>,
}

#[pymethods]
impl MemoryEfficientCache {
    #[new]
    #[pyo3(signature = (max_memory_mb = 500.0, compression_level = 1, ttl_seconds = Some(3600.0), max_entries = 10_000,
        *, hot_fraction = 0.25, compress_min_bytes = 65_536))]
    fn new(
        max_memory_mb: f64,
        compression_level: u32,
        ttl_seconds: Option<f64>,
        max_entries: usize,
        hot_fraction: f64,
        compress_min_bytes: usize,
    ) -> PyResult<Self> {
        crate::guard::guard("MemoryEfficientCache", || {
            let config = CacheConfig {
                max_memory_mb,
                compression_level,
                ttl_seconds: ttl_seconds.unwrap_or(f64::INFINITY),
                max_entries,
                hot_fraction,
                compress_min_bytes,
                ..CacheConfig::default()
            };
            Ok(MemoryEfficientCache { cache: RustCache::new(config).map_err(errors::cache)? })
        })
    }

    /// Stores a copy of `array` under `key` (str or bytes), evicting or
    /// compressing colder entries to keep the budget. An array larger than
    /// the whole budget is a `ValueError`.
    fn set(&self, py: Python<'_>, key: &Bound<'_, PyAny>, array: &Bound<'_, PyAny>) -> PyResult<()> {
        crate::guard::guard("MemoryEfficientCache.set", || {
            let key = Key::from_py(key)?;
            let value = to_any_array(py, array, self.cache.config().budget_bytes())?;
            let cache = &self.cache;
            py.detach(|| cache.set(key, value)).map_err(errors::cache)
        })
    }

    /// The array under `key`, or `None` (missing or expired). Read-only.
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        crate::guard::guard("MemoryEfficientCache.get", || {
            let key = Key::from_py(key)?;
            let cache = &self.cache;
            match py.detach(|| cache.get(&key)) {
                Some(value) => to_numpy(py, &value).map(Some),
                None => Ok(None),
            }
        })
    }

    /// The array under `key`; if missing, `compute()` runs once (concurrent
    /// callers of the same key wait for it) and its array is stored and
    /// returned. An exception in `compute` propagates and stores nothing.
    fn get_or_compute<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        compute: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::guard::guard("MemoryEfficientCache.get_or_compute", || {
            let key = Key::from_py(key)?;
            let compute = compute.clone().unbind();
            let cache = &self.cache;
            let result = py.detach(|| {
                cache.try_get_or_insert_with(key, || {
                    Python::attach(|py| {
                        let array = compute.bind(py).call0()?;
                        to_any_array(py, &array, cache.config().budget_bytes())
                    })
                })
            });
            match result {
                Ok(value) => to_numpy(py, &value),
                Err(TryInsertError::Compute(error)) => Err(error),
                Err(TryInsertError::Cache(error)) => Err(errors::cache(error)),
            }
        })
    }

    /// Removes `key`; returns whether it was present.
    fn remove(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        crate::guard::guard("MemoryEfficientCache.remove", || {
            let key = Key::from_py(key)?;
            let cache = &self.cache;
            Ok(py.detach(|| cache.remove(&key)))
        })
    }

    /// Removes every entry.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        crate::guard::guard("MemoryEfficientCache.clear", || {
            let cache = &self.cache;
            py.detach(|| cache.clear());
            Ok(())
        })
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        crate::guard::guard("MemoryEfficientCache.__contains__", || Ok(self.cache.contains(&Key::from_py(key)?)))
    }

    fn __len__(&self) -> PyResult<usize> {
        crate::guard::guard("MemoryEfficientCache.__len__", || Ok(self.cache.stats().entries))
    }

    /// The counters and the ledger as a dict: hits, misses, evictions by
    /// cause, compressions, entries, bytes, `hit_rate`, `compression_ratio`, ...
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("MemoryEfficientCache.stats", || {
            let s = self.cache.stats();
            let dict = PyDict::new(py);
            for (name, value) in [
                ("hits", s.hits),
                ("misses", s.misses),
                ("inserts", s.inserts),
                ("evictions_size", s.evictions_size),
                ("evictions_entries", s.evictions_entries),
                ("evictions_ttl", s.evictions_ttl),
                ("evictions_pressure", s.evictions_pressure),
                ("removals_explicit", s.removals_explicit),
                ("rejected_oversize", s.rejected_oversize),
                ("pressure_events", s.pressure_events),
                ("compressions", s.compressions),
                ("compressions_abandoned", s.compressions_abandoned),
                ("stored_raw_incompressible", s.stored_raw_incompressible),
            ] {
                dict.set_item(name, value)?;
            }
            for (name, value) in [
                ("entries", s.entries),
                ("compressed_entries", s.compressed_entries),
                ("raw_bytes", s.raw_bytes),
                ("stored_bytes", s.stored_bytes),
            ] {
                dict.set_item(name, value)?;
            }
            dict.set_item("under_pressure", s.under_pressure)?;
            dict.set_item("compress_seconds", s.compress_time.as_secs_f64())?;
            dict.set_item("decompress_seconds", s.decompress_time.as_secs_f64())?;
            dict.set_item("hit_rate", s.hit_rate())?;
            dict.set_item("compression_ratio", s.compression_ratio())?;
            dict.set_item("budget_bytes", self.cache.config().budget_bytes())?;
            Ok(dict)
        })
    }

    /// Saves every live entry to `directory/cache.hcache` (streamed, atomic:
    /// a temporary file renamed over the old one). Returns the file's path.
    fn save(&self, py: Python<'_>, directory: std::path::PathBuf) -> PyResult<std::path::PathBuf> {
        crate::guard::guard("MemoryEfficientCache.save", || {
            let cache = &self.cache;
            py.detach(|| cache.save_to_dir(&directory)).map_err(errors::cache)
        })
    }

    /// Loads the entries saved in `directory` into this cache (checked: a
    /// damaged entry is skipped, never returned). Returns `{"loaded": n,
    /// "skipped": [reasons], "evicted": n}`; a missing or damaged file
    /// header raises `CacheError`.
    fn load<'py>(&self, py: Python<'py>, directory: std::path::PathBuf) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("MemoryEfficientCache.load", || {
            let cache = &self.cache;
            let report = py.detach(|| cache.extend_from_dir(&directory)).map_err(errors::cache)?;
            let dict = PyDict::new(py);
            dict.set_item("loaded", report.loaded)?;
            dict.set_item("skipped", report.skipped)?;
            dict.set_item("evicted", report.evicted)?;
            Ok(dict)
        })
    }

    fn __repr__(&self) -> PyResult<String> {
        crate::guard::guard("MemoryEfficientCache.__repr__", || {
            Ok({
                let s = self.cache.stats();
                format!(
                    "MemoryEfficientCache({} entries, {} of {} bytes)",
                    s.entries,
                    s.stored_bytes,
                    self.cache.config().budget_bytes()
                )
            })
        })
    }
}
