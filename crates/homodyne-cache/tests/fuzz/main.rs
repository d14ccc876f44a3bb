//! Every byte string fed to the cache-file loader: arbitrary bytes, valid
//! files mutated, and entries crafted with valid checksums and hostile
//! fields (33 axes, an extent of 2^62 beside a 0, keys and payloads beyond
//! the budget, unknown dtypes and flags). No panic, only typed errors or
//! skipped entries, every loaded value a real array, and the loader's peak
//! memory at most the input's size plus its fixed working memory.
//!
//! A test binary of its own: it installs the counting allocator. About
//! 110,000 cases, a few seconds.

use std::io::Cursor;
use std::sync::OnceLock;

use homodyne_cache::{AnyArray, CacheConfig, CacheValue, MemoryEfficientCache};
use homodyne_testkit::{CountingAllocator, peak_allocation};
use ndarray::ArrayD;
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Working memory the loader may use whatever the input: its 64 KiB read
/// buffer, one decoded chunk (1 MiB) while validating a compressed entry
/// and its shuffle buffer, and bookkeeping.
const WORKING_BYTES: usize = 3 << 20;

type Cache = MemoryEfficientCache<String, AnyArray>;

fn cache(budget_mb: f64) -> Cache {
    MemoryEfficientCache::new(CacheConfig { max_memory_mb: budget_mb, ..CacheConfig::default() }).unwrap()
}

/// A valid file: arrays of several dtypes and ranks, compressed and raw.
fn valid_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let cache = MemoryEfficientCache::<String, AnyArray>::new(CacheConfig {
            max_memory_mb: 64.0,
            hot_fraction: 0.0,
            compress_min_bytes: 0,
            ..CacheConfig::default()
        })
        .unwrap();
        let smooth = |n: usize| -> Vec<f64> { (0..n).map(|i| 1.0 + (i as f64 * 0.01).sin() * 1e-3).collect() };
        cache.set("f64".to_owned(), ArrayD::from_shape_vec(vec![40, 25], smooth(1000)).unwrap().into()).unwrap();
        cache.set("u16".to_owned(), ArrayD::from_shape_vec(vec![300], (0..300u16).collect()).unwrap().into()).unwrap();
        cache.set("i32".to_owned(), ArrayD::from_shape_vec(vec![2, 3, 4], (0..24).collect()).unwrap().into()).unwrap();
        cache.set("empty".to_owned(), ArrayD::<f32>::from_shape_vec(vec![0, 7], vec![]).unwrap().into()).unwrap();
        let mut out = Cursor::new(Vec::new());
        cache.write_to(&mut out).unwrap();
        out.into_inner()
    })
}

/// Loads `bytes` into a fresh cache: no panic, and every loaded entry a real array of its dtype.
fn load(bytes: &[u8], budget_mb: f64) -> Result<usize, TestCaseError> {
    let cache = cache(budget_mb);
    let (result, peak) = peak_allocation(|| cache.extend_from_reader(Cursor::new(bytes), bytes.len() as u64));
    prop_assert!(peak <= bytes.len() + WORKING_BYTES, "peak {peak} bytes for {} input bytes", bytes.len());
    let Ok(report) = result else { return Ok(0) };
    for key in ["f64", "u16", "i32", "empty", "crafted"] {
        if let Some(value) = cache.get(&key.to_owned()) {
            let (dtype, shape) = (value.dtype(), value.shape());
            prop_assert!(dtype.array_bytes(&shape).is_some(), "{key}: loaded shape {shape:?} of {dtype}");
        }
    }
    Ok(report.loaded)
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01B3;

/// The format's checksums (documented in `file_format.rs`), written again here
/// so that crafted entries pass them: FNV-1a over bytes (header), over
/// 8-byte words with the tail's length folded in (entries, version 2).
fn checksum_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME))
}

fn checksum_words(bytes: &[u8]) -> u64 {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut hash = FNV_OFFSET;
    for word in words {
        hash = (hash ^ u64::from_le_bytes(*word)).wrapping_mul(FNV_PRIME);
    }
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        last[7] ^= (tail.len() as u8) << 4;
        hash = (hash ^ u64::from_le_bytes(last)).wrapping_mul(FNV_PRIME);
    }
    hash
}

fn header(n_entries: u64) -> Vec<u8> {
    let mut out = b"HOMODYNE-CACHE\0\0".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&n_entries.to_le_bytes());
    let sum = checksum_bytes(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// One entry with a valid checksum around whatever fields it is given.
#[derive(Debug)]
struct Crafted {
    key_len: u32,
    code: u8,
    shape: Vec<u64>,
    raw_bytes: u64,
    ttl: u64,
    flags: u8,
    payload_len: u64,
    payload: Vec<u8>,
}

impl Crafted {
    fn bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.key_len.to_le_bytes());
        // The key's bytes as far as the entry has them: "crafted", then zeros.
        let key: Vec<u8> =
            b"scrafted".iter().copied().chain(std::iter::repeat(0)).take(self.key_len.min(4096) as usize).collect();
        body.extend_from_slice(&key);
        body.push(self.code);
        body.extend_from_slice(&(self.shape.len() as u32).to_le_bytes());
        for extent in &self.shape {
            body.extend_from_slice(&extent.to_le_bytes());
        }
        body.extend_from_slice(&self.raw_bytes.to_le_bytes());
        body.extend_from_slice(&self.ttl.to_le_bytes());
        body.push(self.flags);
        body.extend_from_slice(&self.payload_len.to_le_bytes());
        body.extend_from_slice(&self.payload);
        let mut entry = (body.len() as u64).to_le_bytes().to_vec();
        entry.extend_from_slice(&body);
        let sum = checksum_words(&entry);
        entry.extend_from_slice(&sum.to_le_bytes());
        entry
    }
}

/// Field values that matter: small, at the edges, and hostile.
fn extreme_u64() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..64, Just(1 << 31), Just(1 << 32), Just(1 << 62), Just(u64::MAX), Just(u64::MAX / 8), any::<u64>()]
}

fn crafted() -> impl Strategy<Value = Crafted> {
    (
        prop_oneof![0u32..16, Just(1 << 20), Just(u32::MAX)],
        0u8..10,
        prop::collection::vec(extreme_u64(), 0..40),
        extreme_u64(),
        extreme_u64(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..512),
        any::<bool>(),
    )
        .prop_map(|(key_len, code, shape, raw_bytes, ttl, flags, payload, honest_length)| {
            let payload_len = if honest_length { payload.len() as u64 } else { raw_bytes };
            Crafted {
                // As drawn: 2^20 and u32::MAX claim keys far beyond the bytes written and the budget.
                key_len,
                code,
                shape,
                raw_bytes,
                ttl,
                flags,
                payload_len,
                payload,
            }
        })
}

/// The two files: 33 axes, and float64 of shape (0, 2^62), each
/// checksum-valid: skipped as damaged, never loaded.
#[test]
fn the_reported_crafted_entries_are_skipped() {
    for shape in [vec![1u64; 33], vec![0, 1 << 62]] {
        let entry = Crafted {
            key_len: 8,
            code: 1,
            shape: shape.clone(),
            raw_bytes: 0,
            ttl: u64::MAX,
            flags: 0,
            payload_len: 0,
            payload: vec![],
        };
        let mut file = header(1);
        file.extend(entry.bytes());
        let cache = cache(1.0);
        let report = cache.extend_from_reader(Cursor::new(&file), file.len() as u64).unwrap();
        assert_eq!(report.loaded, 0, "{shape:?}");
        assert!(
            report.skipped[0].contains("axes") || report.skipped[0].contains("no array can have shape"),
            "{report:?}"
        );
    }
    // And a valid entry of each kind still loads.
    let report = cache(64.0).extend_from_reader(Cursor::new(valid_file()), valid_file().len() as u64).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (4, 0), "{report:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(valid_header in any::<bool>(), count in 0u64..4, bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut file = if valid_header { header(count) } else { Vec::new() };
        file.extend(bytes);
        load(&file, 1.0)?;
    }

    #[test]
    fn mutated_valid_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..5, extreme_u64()), 1..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut file = valid_file().to_vec();
        for (at, byte, kind, word) in edits {
            let position = at.index(file.len().max(1));
            match kind {
                0 if position < file.len() => file[position] ^= byte | 1,
                1 => file.insert(position.min(file.len()), byte),
                2 if position < file.len() => { file.remove(position); }
                // A length or extent overwritten with a hostile value.
                3 if position + 8 <= file.len() => file[position..position + 8].copy_from_slice(&word.to_le_bytes()),
                _ => {}
            }
        }
        let keep = cut.index(file.len() + 1);
        file.truncate(keep.max(file.len() * 3 / 4));
        load(&file, 1.0)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 30_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn crafted_entries_with_valid_checksums_never_panic(entries in prop::collection::vec(crafted(), 1..3), budget_kb in prop_oneof![Just(1.0), Just(64.0), Just(4096.0)]) {
        let mut file = header(entries.len() as u64);
        for entry in &entries {
            file.extend(entry.bytes());
        }
        load(&file, budget_kb / 1024.0)?;
    }
}
