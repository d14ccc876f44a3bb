//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in the cache. Every variant names the
/// offending setting, size or file.
#[derive(Debug)]
#[non_exhaustive]
pub enum CacheError {
    /// A configuration value out of its domain.
    InvalidConfig {
        /// The field of [`CacheConfig`](crate::CacheConfig).
        field: &'static str,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// An entry larger than the whole budget: it can never be stored.
    EntryTooLarge {
        /// Its size with the per-entry overhead, in bytes.
        bytes: usize,
        /// The budget, in bytes.
        budget: usize,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A persisted cache file that is not one, or whose header is damaged.
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A persisted cache file from a newer or unknown format version.
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },
    /// `get_or_insert_with` was called for a key from inside its own
    /// computation for that key: waiting would wait for itself.
    RecursiveCompute,
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::InvalidConfig { field, requirement } => {
                write!(f, "invalid cache configuration: {field} must be {requirement}")
            }
            CacheError::EntryTooLarge { bytes, budget } => {
                write!(f, "entry of {bytes} bytes exceeds the cache budget of {budget} bytes")
            }
            CacheError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CacheError::CorruptFile { path, reason } => write!(f, "{} is corrupt: {reason}", path.display()),
            CacheError::UnsupportedVersion { path, version } => {
                write!(f, "{} has unsupported format version {version}", path.display())
            }
            CacheError::RecursiveCompute => write!(
                f,
                "get_or_insert_with was called for a key from inside its own computation for that key \
                 (it would wait for itself)"
            ),
        }
    }
}

impl std::error::Error for CacheError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CacheError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What [`MemoryEfficientCache::try_get_or_insert_with`](crate::MemoryEfficientCache::try_get_or_insert_with)
/// can fail with.
#[derive(Debug)]
pub enum TryInsertError<E> {
    /// The computation failed; nothing was cached.
    Compute(E),
    /// The value could not be stored.
    Cache(CacheError),
}

impl<E: fmt::Display> fmt::Display for TryInsertError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryInsertError::Compute(error) => write!(f, "computation failed: {error}"),
            TryInsertError::Cache(error) => write!(f, "{error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TryInsertError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TryInsertError::Compute(error) => Some(error),
            TryInsertError::Cache(error) => Some(error),
        }
    }
}
