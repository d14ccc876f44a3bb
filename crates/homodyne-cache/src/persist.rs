//! Saving a cache to a directory and loading it back: the one file,
//! `cache.hcache`, written through `homodyne_io::write_atomically` (a
//! temporary file created exclusively under a random name, never through a
//! planted link, synced, renamed over the old one, and the directory
//! synced): a crash never leaves a half-written cache, and two concurrent
//! saves leave one of their two complete files. The format is
//! `file_format.rs`'s.

use std::fs;
use std::path::{Path, PathBuf};

use crate::file_format::{LoadReport, PersistKey, io_error};
use crate::value::CacheValue;
use crate::{CacheConfig, CacheError, MemoryEfficientCache};

const FILE_NAME: &str = "cache.hcache";

impl<K, V> MemoryEfficientCache<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + PersistKey,
    V: CacheValue,
{
    /// Writes every live entry to `dir/cache.hcache` (created if needed),
    /// atomically, entry by entry, least recently used first. Expired entries
    /// are not written; the others keep their remaining time to live.
    ///
    /// The cache stays usable meanwhile: the lock is held only to look up
    /// one entry at a time, so the file holds each entry as it was when it
    /// was written (entries stored during the save may or may not be in it).
    ///
    /// # Errors
    /// [`CacheError::Io`] naming the file.
    pub fn save_to_dir(&self, dir: impl AsRef<Path>) -> Result<PathBuf, CacheError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let path = dir.join(FILE_NAME);
        homodyne_io::write_atomically(&path, |file| self.write_to(file))
            .map_err(|source| CacheError::Io { path: path.clone(), source })?;
        Ok(path)
    }

    /// A cache with `config` holding the entries saved in `dir`, in their
    /// saved order of use, each with its remaining time to live (capped by
    /// `config`'s). Entries that are damaged, truncated, of another dtype or
    /// larger than the budget are skipped and listed in the report.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`], and as for
    /// [`extend_from_dir`](Self::extend_from_dir).
    pub fn load_from_dir(dir: impl AsRef<Path>, config: CacheConfig) -> Result<(Self, LoadReport), CacheError> {
        let cache = Self::new(config)?;
        let report = cache.extend_from_dir(dir)?;
        Ok((cache, report))
    }

    /// Adds the entries saved in `dir` to this cache (replacing entries with
    /// the same keys), as [`load_from_dir`](Self::load_from_dir) does to a
    /// new one; time to live counts on this cache's clock.
    ///
    /// # Errors
    /// [`CacheError::Io`] if the file cannot be read,
    /// [`CacheError::CorruptFile`] if it is not a cache file or its header is
    /// damaged, [`CacheError::UnsupportedVersion`].
    pub fn extend_from_dir(&self, dir: impl AsRef<Path>) -> Result<LoadReport, CacheError> {
        let path = dir.as_ref().join(FILE_NAME);
        let file = fs::File::open(&path).map_err(io_error(&path))?;
        let file_len = file.metadata().map_err(io_error(&path))?.len();
        self.read_entries(file, file_len, path)
    }
}
