//! Saving a cache to a directory and loading it back.
//!
//! One file, `cache.hcache`, written to a temporary name, synced, then
//! renamed over the old one, so a crash never leaves a half-written cache.
//! Layout (little-endian): the magic `HOMODYNE-CACHE\0\0`, the format version
//! (`u32`), the entry count (`u64`), a checksum of those; then per entry its
//! length (`u64`), its body (key, dtype, shape, raw length, flags, payload)
//! and a checksum of the body. A damaged header is an error; a damaged or
//! truncated entry is skipped and reported, never returned.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cache::Stored;
use crate::codec::Compressed;
use crate::key::ArrayKey;
use crate::value::{CacheValue, Element};
use crate::{CacheConfig, CacheError, MemoryEfficientCache};

const MAGIC: &[u8; 16] = b"HOMODYNE-CACHE\0\0";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const FILE_NAME: &str = "cache.hcache";

/// A key that can be written to disk.
pub trait PersistKey: Sized {
    /// The key's bytes.
    fn to_bytes(&self) -> Vec<u8>;
    /// The key from its bytes, or `None`.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

impl PersistKey for String {
    fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

impl PersistKey for u64 {
    fn to_bytes(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }
}

impl PersistKey for ArrayKey {
    fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|word| word.to_le_bytes()).collect()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (first, second) = bytes.split_at_checked(8)?;
        Some(ArrayKey([u64::from_le_bytes(first.try_into().ok()?), u64::from_le_bytes(second.try_into().ok()?)]))
    }
}

/// What [`MemoryEfficientCache::load_from_dir`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Entries loaded.
    pub loaded: usize,
    /// Entries skipped, each with the reason.
    pub skipped: Vec<String>,
}

/// FNV-1a, 64 bits: detects any single damaged byte.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_path_buf(), source }
}

/// Reads little-endian fields from a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|bytes| bytes[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl<K, V> MemoryEfficientCache<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + PersistKey,
    V: CacheValue,
{
    /// Writes every live entry to `dir/cache.hcache` (created if needed), atomically.
    ///
    /// # Errors
    /// [`CacheError::Io`] naming the file.
    pub fn save_to_dir(&self, dir: impl AsRef<Path>) -> Result<PathBuf, CacheError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let path = dir.join(FILE_NAME);
        let temporary = dir.join(format!("{FILE_NAME}.tmp-{}", std::process::id()));
        let mut records = Vec::new();
        let mut n_entries = 0u64;
        {
            let inner = self.lock();
            for (key, entry) in &inner.entries {
                let mut body = Vec::new();
                let key_bytes = key.to_bytes();
                body.extend_from_slice(&(key_bytes.len() as u32).to_le_bytes());
                body.extend_from_slice(&key_bytes);
                body.push(V::Elem::DTYPE.code());
                body.extend_from_slice(&(entry.shape.len() as u32).to_le_bytes());
                for &length in &entry.shape {
                    body.extend_from_slice(&(length as u64).to_le_bytes());
                }
                body.extend_from_slice(&(entry.raw_bytes as u64).to_le_bytes());
                match &entry.stored {
                    Stored::Raw(value) => {
                        body.push(0);
                        let elements = value.elements();
                        let mut bytes = vec![0u8; entry.raw_bytes];
                        V::Elem::write_le(&elements, &mut bytes);
                        body.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                        body.extend_from_slice(&bytes);
                    }
                    Stored::Compressed(compressed) => {
                        body.push(1 | if compressed.shuffled { 2 } else { 0 });
                        body.extend_from_slice(&(compressed.payload.len() as u64).to_le_bytes());
                        body.extend_from_slice(&compressed.payload);
                    }
                }
                records.extend_from_slice(&(body.len() as u64).to_le_bytes());
                records.extend_from_slice(&body);
                records.extend_from_slice(&checksum(&body).to_le_bytes());
                n_entries += 1;
            }
        }
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&n_entries.to_le_bytes());
        let header_checksum = checksum(&header);
        header.extend_from_slice(&header_checksum.to_le_bytes());
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(&header)?;
            file.write_all(&records)?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        };
        write().map_err(|source| {
            let _ = fs::remove_file(&temporary);
            CacheError::Io { path: path.clone(), source }
        })?;
        Ok(path)
    }

    /// A cache with `config` holding the entries saved in `dir`. Entries that
    /// are damaged, truncated, of another dtype or over the limits are skipped
    /// and listed in the report.
    ///
    /// # Errors
    /// [`CacheError::Io`] if the file cannot be read,
    /// [`CacheError::CorruptFile`] if it is not a cache file or its header is
    /// damaged, [`CacheError::UnsupportedVersion`].
    pub fn load_from_dir(dir: impl AsRef<Path>, config: CacheConfig) -> Result<(Self, LoadReport), CacheError> {
        let path = dir.as_ref().join(FILE_NAME);
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        let corrupt = |reason: &str| CacheError::CorruptFile { path: path.clone(), reason: reason.to_owned() };
        let mut reader = Reader(&bytes);
        let magic = reader.take(16).ok_or_else(|| corrupt("shorter than its header"))?;
        if magic != MAGIC {
            return Err(corrupt("not a homodyne cache file (bad magic)"));
        }
        let version = reader.u32().ok_or_else(|| corrupt("shorter than its header"))?;
        let n_entries = reader.u64().ok_or_else(|| corrupt("shorter than its header"))?;
        let stored_checksum = reader.u64().ok_or_else(|| corrupt("shorter than its header"))?;
        if checksum(&bytes[..28]) != stored_checksum {
            return Err(corrupt("header checksum mismatch"));
        }
        if version != FORMAT_VERSION {
            return Err(CacheError::UnsupportedVersion { path, version });
        }
        let cache = Self::new(config)?;
        let mut report = LoadReport::default();
        for entry_idx in 0..n_entries {
            let Some(length) = reader.u64() else {
                report.skipped.push(format!("entry {entry_idx}: file truncated"));
                break;
            };
            let (Some(body), Some(entry_checksum)) = (reader.take(length as usize), reader.u64()) else {
                report.skipped.push(format!("entry {entry_idx}: file truncated"));
                break;
            };
            if checksum(body) != entry_checksum {
                report.skipped.push(format!("entry {entry_idx}: checksum mismatch"));
                continue;
            }
            match Self::parse_entry(body) {
                Ok((key, stored, shape, raw_bytes)) => {
                    if cache.insert_loaded(key, stored, shape, raw_bytes) {
                        report.loaded += 1;
                    } else {
                        report.skipped.push(format!("entry {entry_idx}: larger than the budget"));
                    }
                }
                Err(reason) => report.skipped.push(format!("entry {entry_idx}: {reason}")),
            }
        }
        Ok((cache, report))
    }

    #[allow(clippy::type_complexity)]
    fn parse_entry(body: &[u8]) -> Result<(K, Stored<V>, Vec<usize>, usize), String> {
        let mut reader = Reader(body);
        let short = || "entry shorter than its fields".to_owned();
        let key_length = reader.u32().ok_or_else(short)? as usize;
        let key = K::from_bytes(reader.take(key_length).ok_or_else(short)?).ok_or("unreadable key")?;
        if reader.u8().ok_or_else(short)? != V::Elem::DTYPE.code() {
            return Err("dtype differs from this cache's".to_owned());
        }
        let ndim = reader.u32().ok_or_else(short)? as usize;
        let shape: Vec<usize> =
            (0..ndim).map(|_| reader.u64().map(|length| length as usize)).collect::<Option<_>>().ok_or_else(short)?;
        let raw_bytes = reader.u64().ok_or_else(short)? as usize;
        let n_elements =
            shape.iter().try_fold(1usize, |product, &length| product.checked_mul(length)).ok_or("shape overflows")?;
        if n_elements.checked_mul(V::Elem::DTYPE.size()) != Some(raw_bytes) {
            return Err("shape and size disagree".to_owned());
        }
        let flags = reader.u8().ok_or_else(short)?;
        let payload_length = reader.u64().ok_or_else(short)? as usize;
        let payload = reader.take(payload_length).ok_or_else(short)?;
        let stored = if flags & 1 == 0 {
            if payload.len() != raw_bytes {
                return Err("raw payload has the wrong size".to_owned());
            }
            let mut elements = vec![V::Elem::default(); n_elements];
            V::Elem::read_le(payload, &mut elements);
            Stored::Raw(Arc::new(V::from_elements(&shape, elements).ok_or("shape does not fit the value type")?))
        } else {
            let compressed = Compressed { payload: payload.to_vec(), shuffled: flags & 2 != 0, raw_len: raw_bytes };
            // Decode once now, so that a damaged payload is found here, not on a later `get`.
            if crate::codec::decompress::<V::Elem>(&compressed, n_elements).is_none() {
                return Err("compressed payload does not decode".to_owned());
            }
            Stored::Compressed(compressed)
        };
        Ok((key, stored, shape, raw_bytes))
    }
}
