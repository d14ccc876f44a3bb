//! A memory-bounded, compressing cache for large numeric arrays.
//!
//! Use it to keep expensive intermediate results (correlation matrices,
//! theory arrays, loaded data) within a fixed byte budget:
//! [`MemoryEfficientCache`] evicts the least recently used entries, expires
//! entries after a time to live, caps the number of entries, compresses cold
//! arrays with LZ4 (after a byte shuffle when that helps), shrinks its budget
//! when the system runs low on memory, and saves to and loads from disk. The
//! budget and entry limit are exact at every return, under any concurrency.
//!
//! # Example
//!
//! ```
//! use homodyne_cache::{array_key, CacheConfig, MemoryEfficientCache};
//! use ndarray::Array2;
//!
//! # fn main() -> Result<(), homodyne_cache::CacheError> {
//! let cache: MemoryEfficientCache<String, Array2<f64>> =
//!     MemoryEfficientCache::new(CacheConfig { max_memory_mb: 64.0, ..CacheConfig::default() })?;
//! cache.set("theory".to_owned(), Array2::from_elem((100, 100), 1.5))?;
//! assert_eq!(cache.get(&"theory".to_owned()).unwrap()[[3, 4]], 1.5);
//!
//! // Memoise a computation on data: run once, then served from the cache.
//! let data = Array2::from_shape_fn((50, 50), |(i, j)| (i * j) as f64);
//! let key = format!("{:?}", array_key(&[&data]));
//! let squared = cache.get_or_insert_with(key.clone(), || data.mapv(|v| v * v))?;
//! assert_eq!(squared[[7, 7]], 2401.0);
//! assert_eq!(cache.stats().hits, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cache;
mod codec;
mod config;
mod dtype;
mod error;
mod file_format;
mod key;
mod persist;
mod stats;
mod value;

pub use cache::MemoryEfficientCache;
pub use codec::{Compressed, compress, decompress};
pub use config::{CacheConfig, Clock, ENTRY_OVERHEAD_BYTES, MemoryProbe, SystemClock, SystemMemory};
pub use dtype::{DType, Element, array_bytes};
pub use error::{CacheError, TryInsertError};
pub use file_format::{FORMAT_VERSION, LoadReport, PersistKey};
pub use key::{ArrayKey, ContentHasher, KeyPart, array_key};
pub use stats::CacheStats;
pub use value::{AnyArray, CacheValue};
