//! The cache file format, without IO: writing a cache to any writer and
//! reading one from any reader (the file itself is `persist.rs`'s).
//!
//! Writing streams entry by entry: the cache's lock is held only to look
//! up one entry at a time; the extra memory it needs is one 64 KiB buffer
//! (plus one entry's elements if that array is not contiguous).
//!
//! Layout (little-endian): the magic `HOMODYNE-CACHE\0\0`, the format version
//! (`u32`), the entry count (`u64`), a checksum of those; then per entry its
//! length (`u64`), its body and a checksum of length and body. The body:
//! key length (`u32`) and key, dtype code (`u8`), number of axes (`u32`) and
//! each length (`u64`), raw byte length (`u64`), remaining time to live in
//! nanoseconds (`u64`, `u64::MAX` for none; version 2 only), flags (`u8`:
//! 1 compressed, 2 shuffled), payload length (`u64`) and payload.
//!
//! Loading distrusts the file: every length is checked against the bytes
//! left in the file and against the budget before anything is allocated, so
//! a crafted file can cost at most its own size in memory and time. A damaged
//! header is an error; a damaged, truncated or unusable entry is skipped and
//! reported, never returned. Version 1 files (no time to live; checksum over
//! the body only, byte by byte) are read too.

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cache::Stored;
use crate::codec::{Compressed, validate};
use crate::config::ENTRY_OVERHEAD_BYTES;
use crate::dtype::DType;
use crate::key::ArrayKey;
use crate::value::CacheValue;
use crate::{CacheError, MemoryEfficientCache};

const MAGIC: &[u8; 16] = b"HOMODYNE-CACHE\0\0";
/// The format version this build writes (it reads 1 and 2).
pub const FORMAT_VERSION: u32 = 2;
/// Magic, version, entry count, header checksum.
const HEADER_BYTES: u64 = 36;
/// Raw payloads are converted and written, or read and converted, this many bytes at a time.
const IO_CHUNK_BYTES: usize = 64 * 1024;
/// "No time to live" in the file.
const NO_EXPIRY: u64 = u64::MAX;

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

impl PersistKey for Vec<u8> {
    fn to_bytes(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(bytes.to_vec())
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
    /// Entries read and stored in the cache.
    pub loaded: usize,
    /// Entries skipped, each with the reason: damaged (checksum, truncation,
    /// inconsistent fields) or unusable here (another dtype or shape, larger
    /// than the budget).
    pub skipped: Vec<String>,
    /// Entries evicted while loading to keep the budget and the entry limit
    /// (the file held more than this cache's configuration allows; the
    /// least recently used ones went).
    pub evicted: usize,
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01B3;

/// FNV-1a, 64 bits, byte by byte: the header and version 1's entries.
fn checksum_bytes(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME))
}

/// The entry checksum, streamed: FNV-1a over 8-byte words in version 2
/// (eight times faster than byte by byte, and still changed by any damaged
/// word, since each step is a bijection), over bytes in version 1.
struct Checksum {
    state: u64,
    words: bool,
    pending: [u8; 8],
    pending_len: usize,
}

impl Checksum {
    fn new(version: u32) -> Self {
        Checksum { state: FNV_OFFSET, words: version >= 2, pending: [0; 8], pending_len: 0 }
    }

    fn word(&mut self, word: [u8; 8]) {
        self.state = (self.state ^ u64::from_le_bytes(word)).wrapping_mul(FNV_PRIME);
    }

    fn update(&mut self, mut bytes: &[u8]) {
        if !self.words {
            self.state = checksum_bytes(self.state, bytes);
            return;
        }
        if self.pending_len > 0 {
            let take = (8 - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 8 {
                return;
            }
            self.word(self.pending);
            self.pending_len = 0;
        }
        let (words, tail) = bytes.as_chunks::<8>();
        for &word in words {
            self.word(word);
        }
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len = tail.len();
    }

    fn finish(mut self) -> u64 {
        if self.words && self.pending_len > 0 {
            let mut last = [0u8; 8];
            last[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            last[7] ^= (self.pending_len as u8) << 4;
            self.word(last);
        }
        self.state
    }
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_path_buf(), source }
}

/// Writes through a checksum.
struct SummedWriter<'a, W: Write> {
    out: &'a mut W,
    sum: Checksum,
}

impl<W: Write> SummedWriter<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sum.update(bytes);
        self.out.write_all(bytes)
    }
}

/// One entry, taken from the ledger for writing.
struct Record<V> {
    key: Vec<u8>,
    stored: Stored<V>,
    shape: Vec<usize>,
    raw_bytes: usize,
    remaining: Option<Duration>,
}

fn write_record<V: CacheValue, W: Write>(out: &mut W, record: &Record<V>) -> std::io::Result<()> {
    let payload_len = match &record.stored {
        Stored::Raw(_) => record.raw_bytes,
        Stored::Compressed(compressed) => compressed.len(),
    };
    let body_len = 4 + record.key.len() + 1 + 4 + 8 * record.shape.len() + 8 + 8 + 1 + 8 + payload_len;
    let mut writer = SummedWriter { out, sum: Checksum::new(FORMAT_VERSION) };
    writer.put(&(body_len as u64).to_le_bytes())?;
    writer.put(&u32::try_from(record.key.len()).map_err(std::io::Error::other)?.to_le_bytes())?;
    writer.put(&record.key)?;
    let dtype = match &record.stored {
        Stored::Raw(value) => value.dtype(),
        Stored::Compressed(compressed) => compressed.dtype(),
    };
    writer.put(&[dtype.code()])?;
    writer.put(&(record.shape.len() as u32).to_le_bytes())?;
    for &length in &record.shape {
        writer.put(&(length as u64).to_le_bytes())?;
    }
    writer.put(&(record.raw_bytes as u64).to_le_bytes())?;
    let remaining = record.remaining.map_or(NO_EXPIRY, |left| u64::try_from(left.as_nanos()).unwrap_or(NO_EXPIRY - 1));
    writer.put(&remaining.to_le_bytes())?;
    match &record.stored {
        Stored::Raw(value) => {
            writer.put(&[0])?;
            writer.put(&(payload_len as u64).to_le_bytes())?;
            value.write_le(|bytes| writer.put(bytes))?;
        }
        Stored::Compressed(compressed) => {
            writer.put(&[1 | if compressed.shuffled { 2 } else { 0 }])?;
            writer.put(&(payload_len as u64).to_le_bytes())?;
            writer.put(&compressed.payload)?;
        }
    }
    let sum = writer.sum.finish();
    out.write_all(&sum.to_le_bytes())
}

fn header(n_entries: u64) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&n_entries.to_le_bytes());
    let sum = checksum_bytes(FNV_OFFSET, &header);
    header.extend_from_slice(&sum.to_le_bytes());
    header
}

/// Why an entry was not loaded.
enum Skip {
    /// The checksum fails or the fields contradict each other.
    Damaged(String),
    /// Intact, but not for this cache; the body was not read into memory.
    Unusable(String),
    /// The file ends inside the entry.
    Truncated,
}

/// Reads one entry's body, never past it, through its checksum.
struct BodyReader<'a, R: Read> {
    input: &'a mut R,
    left: u64,
    sum: Checksum,
}

impl<R: Read> BodyReader<'_, R> {
    fn bytes(&mut self, n: u64, into: &mut Vec<u8>) -> Result<(), Skip> {
        if n > self.left {
            return Err(Skip::Damaged("a field is longer than its entry".to_owned()));
        }
        // n <= left <= the bytes left in the file: the allocation is bounded by the file.
        into.resize(n as usize, 0);
        self.fill(into)
    }

    /// Fills `into` from the body, through the checksum.
    fn fill(&mut self, into: &mut [u8]) -> Result<(), Skip> {
        if into.len() as u64 > self.left {
            return Err(Skip::Damaged("a field is longer than its entry".to_owned()));
        }
        self.input.read_exact(into).map_err(|_| Skip::Truncated)?;
        self.sum.update(into);
        self.left -= into.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Skip> {
        if (N as u64) > self.left {
            return Err(Skip::Damaged("entry shorter than its fields".to_owned()));
        }
        let mut array = [0u8; N];
        self.input.read_exact(&mut array).map_err(|_| Skip::Truncated)?;
        self.sum.update(&array);
        self.left -= N as u64;
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, Skip> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, Skip> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Skip> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads the rest of the body through the checksum, 64 KiB at a time.
    fn drain(&mut self) -> Result<(), Skip> {
        let mut buffer = Vec::new();
        while self.left > 0 {
            let n = self.left.min(IO_CHUNK_BYTES as u64);
            self.bytes(n, &mut buffer)?;
        }
        Ok(())
    }
}

/// An entry read from a file.
struct Parsed<K, V> {
    key: K,
    stored: Stored<V>,
    shape: Vec<usize>,
    raw_bytes: usize,
    remaining: Option<Duration>,
}

impl<K, V> MemoryEfficientCache<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + PersistKey,
    V: CacheValue,
{
    /// Writes what [`save_to_dir`](Self::save_to_dir) writes into its file
    /// to `out` (seeked back to the start to fill in the entry count).
    ///
    /// # Errors
    /// The first IO error of `out`.
    pub fn write_to<W: Write + Seek>(&self, out: W) -> std::io::Result<()> {
        let order = self.lock().ledger.snapshot();
        let mut out = BufWriter::with_capacity(IO_CHUNK_BYTES, out);
        let start = out.stream_position()?;
        out.write_all(&header(0))?;
        let mut written = 0u64;
        for (slot, id) in order {
            let Some(record) = self.record(slot, id) else { continue };
            write_record(&mut out, &record)?;
            written += 1;
        }
        let mut out = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        out.seek(SeekFrom::Start(start))?;
        out.write_all(&header(written))?;
        out.flush()
    }

    /// The entry in `slot` if it is still insertion `id` and unexpired,
    /// taken under the lock without copying its data.
    fn record(&self, slot: u32, id: u64) -> Option<Record<V>> {
        let now = self.now();
        let inner = self.lock();
        let entry = inner.ledger.current(slot, id)?;
        let remaining = match entry.expires {
            None => None,
            Some(at) => Some(at.checked_sub(now).filter(|left| !left.is_zero())?),
        };
        Some(Record {
            key: entry.key.to_bytes(),
            stored: match &entry.stored {
                Stored::Raw(value) => Stored::Raw(Arc::clone(value)),
                Stored::Compressed(compressed) => Stored::Compressed(Arc::clone(compressed)),
            },
            shape: entry.shape.to_vec(),
            raw_bytes: entry.raw_bytes,
            remaining,
        })
    }

    /// Adds the entries of a saved cache read from `input`, which holds
    /// `len` bytes (what [`write_to`](Self::write_to) wrote), as
    /// [`extend_from_dir`](Self::extend_from_dir) does from a file; errors
    /// name the input `<reader>`. Every length is checked against `len` and
    /// the budget before anything is allocated.
    ///
    /// # Errors
    /// As [`extend_from_dir`](Self::extend_from_dir).
    pub fn extend_from_reader(&self, input: impl Read, len: u64) -> Result<LoadReport, CacheError> {
        self.read_entries(input, len, PathBuf::from("<reader>"))
    }

    /// The loader: `input` holds `file_len` bytes of a saved cache, `path` names it in errors.
    pub(crate) fn read_entries(
        &self,
        input: impl Read,
        file_len: u64,
        path: PathBuf,
    ) -> Result<LoadReport, CacheError> {
        let corrupt = |reason: &str| CacheError::CorruptFile { path: path.clone(), reason: reason.to_owned() };
        let mut input = BufReader::with_capacity(IO_CHUNK_BYTES, input);
        if file_len < HEADER_BYTES {
            return Err(corrupt("shorter than its header"));
        }
        let mut head = [0u8; HEADER_BYTES as usize];
        input.read_exact(&mut head).map_err(io_error(&path))?;
        if head[..16] != MAGIC[..] {
            return Err(corrupt("not a homodyne cache file (bad magic)"));
        }
        let field = |range: std::ops::Range<usize>| -> [u8; 8] {
            let mut word = [0u8; 8];
            word[..range.len()].copy_from_slice(&head[range]);
            word
        };
        let version = u64::from_le_bytes(field(16..20)) as u32;
        let n_entries = u64::from_le_bytes(field(20..28));
        if checksum_bytes(FNV_OFFSET, &head[..28]) != u64::from_le_bytes(field(28..36)) {
            return Err(corrupt("header checksum mismatch"));
        }
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(CacheError::UnsupportedVersion { path, version });
        }
        let mut report = LoadReport::default();
        let mut position = HEADER_BYTES;
        for entry_idx in 0..n_entries {
            let left_in_file = file_len - position;
            let mut length = [0u8; 8];
            if left_in_file < 16 || input.read_exact(&mut length).is_err() {
                report.skipped.push(format!("entry {entry_idx}: file truncated"));
                break;
            }
            let body_len = u64::from_le_bytes(length);
            // The body and its checksum must fit in what is left of the file.
            if body_len > left_in_file - 16 {
                report.skipped.push(format!("entry {entry_idx}: file truncated (or its length is damaged)"));
                break;
            }
            position += 16 + body_len;
            let mut body = BodyReader { input: &mut input, left: body_len, sum: Checksum::new(version) };
            if version >= 2 {
                body.sum.update(&length);
            }
            let parsed = self.parse_entry(&mut body, version);
            // Whatever the parse found, read the rest of the body, so that the
            // checksum tells damage from an entry that is merely unusable here.
            let drained = body.drain();
            let sum = body.sum.finish();
            let mut stored_sum = [0u8; 8];
            if drained.is_err() || input.read_exact(&mut stored_sum).is_err() {
                report.skipped.push(format!("entry {entry_idx}: file truncated"));
                break;
            }
            if sum != u64::from_le_bytes(stored_sum) {
                report.skipped.push(format!("entry {entry_idx}: checksum mismatch"));
                continue;
            }
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(Skip::Damaged(reason) | Skip::Unusable(reason)) => {
                    report.skipped.push(format!("entry {entry_idx}: {reason}"));
                    continue;
                }
                Err(Skip::Truncated) => {
                    report.skipped.push(format!("entry {entry_idx}: file truncated"));
                    break;
                }
            };
            let time_to_live = match (parsed.remaining, self.config().ttl()) {
                (Some(left), Some(ttl)) => Some(left.min(ttl)),
                (left, ttl) => left.or(ttl),
            };
            match self.store(parsed.key, parsed.stored, parsed.shape, parsed.raw_bytes, time_to_live, false) {
                Ok(evicted) => {
                    report.loaded += 1;
                    report.evicted += evicted;
                }
                Err(error) => report.skipped.push(format!("entry {entry_idx}: {error}")),
            }
        }
        Ok(report)
    }

    /// Reads an entry's fields, checking each length before allocating.
    fn parse_entry<R: Read>(&self, body: &mut BodyReader<'_, R>, version: u32) -> Result<Parsed<K, V>, Skip> {
        let budget = self.config().budget_bytes();
        let damaged = |reason: &str| Skip::Damaged(reason.to_owned());
        let key_len = body.u32()?;
        // The key is held in memory beside the entry: one larger than the
        // whole budget cannot be stored, so it is not read into memory.
        if key_len as usize > budget {
            return Err(Skip::Unusable(format!(
                "its key of {key_len} bytes is larger than the budget of {budget} bytes"
            )));
        }
        let mut key_bytes = Vec::new();
        body.bytes(u64::from(key_len), &mut key_bytes)?;
        let key = K::from_bytes(&key_bytes).ok_or_else(|| damaged("unreadable key"))?;
        let code = body.u8()?;
        let dtype = DType::from_code(code).ok_or_else(|| damaged(&format!("unknown dtype code {code}")))?;
        let size = dtype.size();
        let ndim = body.u32()?;
        if u64::from(ndim) * 8 > body.left {
            return Err(damaged("more axes than the entry has bytes"));
        }
        if ndim as usize > DType::MAX_AXES {
            return Err(damaged(&format!("{ndim} axes (at most {} are supported)", DType::MAX_AXES)));
        }
        let shape: Vec<usize> = (0..ndim)
            .map(|_| body.u64().and_then(|length| usize::try_from(length).map_err(|_| damaged("axis too long"))))
            .collect::<Result<_, _>>()?;
        let raw_bytes = usize::try_from(body.u64()?).map_err(|_| damaged("size too large"))?;
        // A shape no array can have (numpy refuses (0, 2^62) of float64 too).
        let bytes = dtype.array_bytes(&shape).ok_or_else(|| damaged(&format!("no array can have shape {shape:?}")))?;
        if bytes != raw_bytes {
            return Err(damaged("shape and size disagree"));
        }
        let n_elements = raw_bytes / size;
        let remaining = if version >= 2 {
            let nanos = body.u64()?;
            (nanos != NO_EXPIRY).then(|| Duration::from_nanos(nanos))
        } else {
            None
        };
        let flags = body.u8()?;
        let payload_len = body.u64()?;
        if payload_len != body.left {
            return Err(damaged("payload length disagrees with the entry length"));
        }
        // Whatever is stored, a hit may hold the array raw: it must fit the
        // budget, and so must what is read into memory now.
        if raw_bytes.max(usize::try_from(payload_len).unwrap_or(usize::MAX)).saturating_add(ENTRY_OVERHEAD_BYTES)
            > budget
        {
            return Err(Skip::Unusable(format!(
                "its array of {raw_bytes} bytes ({payload_len} stored) is larger than the budget of {budget} bytes"
            )));
        }
        if !V::accepts(dtype, shape.len()) {
            return Err(Skip::Unusable(format!(
                "an array of {dtype} with {} axes does not fit this cache's value type",
                shape.len()
            )));
        }
        let stored = if flags & 1 == 0 {
            if payload_len != raw_bytes as u64 {
                return Err(damaged("raw payload has the wrong size"));
            }
            // raw_bytes fits both the file and the budget: allocate it, and
            // read the payload straight into it.
            let value = V::read_le(dtype, &shape, |bytes: &mut [u8]| body.fill(bytes))?
                .ok_or_else(|| Skip::Unusable("shape does not fit the value type".to_owned()))?;
            Stored::Raw(Arc::new(value))
        } else {
            let mut payload = Vec::new();
            body.bytes(payload_len, &mut payload)?;
            let compressed = Compressed { payload, shuffled: flags & 2 != 0, raw_len: raw_bytes, dtype };
            // Decode once now (one chunk of working memory), so that a damaged
            // payload is found here, not on a later `get`.
            if !validate(&compressed, n_elements) {
                return Err(damaged("compressed payload does not decode"));
            }
            Stored::Compressed(Arc::new(compressed))
        };
        Ok(Parsed { key, stored, shape, raw_bytes, remaining })
    }
}
