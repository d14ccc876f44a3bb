//! LZ4 compression of arrays, chunk by chunk, with an optional byte-shuffle
//! filter (bytes of equal significance stored together, which makes smooth
//! floating-point data compressible).
//!
//! Layout of a compressed payload: for each chunk of up to [`CHUNK_BYTES`]
//! raw bytes, a little-endian `u32` with the chunk's compressed length, then
//! the LZ4 block. Working memory is one chunk on each side, so compressing or
//! decompressing an entry needs at most its raw size plus one chunk.

use std::cell::RefCell;

use lz4::block::{CompressionMode, compress_to_buffer, decompress_to_buffer};

use crate::dtype::{DType, Element};

/// Raw bytes per chunk (a multiple of every element size).
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// Bytes of the probe that chooses between shuffled and plain.
const PROBE_BYTES: usize = 64 * 1024;

/// Below this ratio compressing does not pay: the entry stays raw.
pub(crate) const MIN_RATIO: f64 = 1.15;

/// A compressed array: what the cache stores for a cold entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub(crate) payload: Vec<u8>,
    pub(crate) shuffled: bool,
    pub(crate) raw_len: usize,
    pub(crate) dtype: DType,
}

impl Compressed {
    /// The dtype of the elements it decodes to.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Compressed size in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty (never, for a compressed array).
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// Uncompressed size in bytes.
    pub fn raw_len(&self) -> usize {
        self.raw_len
    }

    /// Whether the byte-shuffle filter was applied.
    pub fn shuffled(&self) -> bool {
        self.shuffled
    }

    /// `raw_len / len`.
    pub fn ratio(&self) -> f64 {
        self.raw_len as f64 / self.payload.len().max(1) as f64
    }
}

fn mode(level: u32) -> CompressionMode {
    if level <= 1 { CompressionMode::DEFAULT } else { CompressionMode::HIGHCOMPRESSION(level as i32) }
}

/// Transposes an 8 x 8 byte matrix held as eight little-endian words (row
/// `i` is word `i`, column `j` is byte `j`): three rounds of block swaps,
/// written out so that the compiler keeps all eight words in registers.
/// It is its own inverse.
#[inline(always)]
fn transpose_bytes(rows: &mut [u64; 8]) {
    #[inline(always)]
    fn swap(rows: &mut [u64; 8], first: usize, second: usize, shift: u32, mask: u64) {
        let swapped = ((rows[first] >> shift) ^ rows[second]) & mask;
        rows[second] ^= swapped;
        rows[first] ^= swapped << shift;
    }
    const BYTES: u64 = 0x00FF_00FF_00FF_00FF;
    const PAIRS: u64 = 0x0000_FFFF_0000_FFFF;
    const HALVES: u64 = 0x0000_0000_FFFF_FFFF;
    swap(rows, 0, 1, 8, BYTES);
    swap(rows, 2, 3, 8, BYTES);
    swap(rows, 4, 5, 8, BYTES);
    swap(rows, 6, 7, 8, BYTES);
    swap(rows, 0, 2, 16, PAIRS);
    swap(rows, 1, 3, 16, PAIRS);
    swap(rows, 4, 6, 16, PAIRS);
    swap(rows, 5, 7, 16, PAIRS);
    swap(rows, 0, 4, 32, HALVES);
    swap(rows, 1, 5, 32, HALVES);
    swap(rows, 2, 6, 32, HALVES);
    swap(rows, 3, 7, 32, HALVES);
}

/// Writes `elements` as little-endian bytes into `out`, byte-shuffled if asked:
/// byte `b` of element `i` goes to `out[b * n + i]`.
fn encode<T: Element>(elements: &[T], shuffle: bool, out: &mut Vec<u8>) {
    let size = T::DTYPE.size();
    let n = elements.len();
    // Every byte is overwritten below: resize without clearing, so a reused
    // buffer of the right size is not zeroed again.
    out.resize(n * size, 0);
    if !shuffle || size == 1 || n == 0 {
        T::write_le(elements, out);
        return;
    }
    let (groups, tail) = elements.as_chunks::<8>();
    if size == 8 {
        // Eight 8-byte elements at a time: one byte transpose of their words
        // gives one 8-byte word for each of the eight planes.
        // Eight planes cut to the number of groups, so that the compiler
        // drops the bounds checks in the loop (20% of a compression).
        let mut planes = out.chunks_exact_mut(n).map(|plane| &mut plane.as_chunks_mut::<8>().0[..groups.len()]);
        let mut planes: [&mut [[u8; 8]]; 8] = std::array::from_fn(|_| planes.next().unwrap_or_default());
        for (group_idx, group) in groups.iter().enumerate() {
            let mut words = group.map(T::to_word);
            transpose_bytes(&mut words);
            for (plane, word) in planes.iter_mut().zip(words) {
                plane[group_idx] = word.to_le_bytes();
            }
        }
    } else {
        for (element_idx, element) in groups.as_flattened().iter().enumerate() {
            for (plane, byte) in element.to_word().to_le_bytes()[..size].iter().enumerate() {
                out[plane * n + element_idx] = *byte;
            }
        }
    }
    let tail_start = n - tail.len();
    for (offset, element) in tail.iter().enumerate() {
        for (plane, byte) in element.to_word().to_le_bytes()[..size].iter().enumerate() {
            out[plane * n + tail_start + offset] = *byte;
        }
    }
}

/// Inverse of [`encode`].
fn decode<T: Element>(bytes: &[u8], shuffle: bool, out: &mut [T]) {
    let size = T::DTYPE.size();
    let n = out.len();
    if !shuffle || size == 1 || n == 0 {
        T::read_le(bytes, out);
        return;
    }
    let (groups, tail) = out.as_chunks_mut::<8>();
    if size == 8 {
        let n_groups = groups.len();
        let mut planes = bytes.chunks_exact(n).map(|plane| &plane.as_chunks::<8>().0[..n_groups]);
        let planes: [&[[u8; 8]]; 8] = std::array::from_fn(|_| planes.next().unwrap_or_default());
        for (group_idx, group) in groups.iter_mut().enumerate() {
            let mut words: [u64; 8] = std::array::from_fn(|plane| u64::from_le_bytes(planes[plane][group_idx]));
            transpose_bytes(&mut words);
            *group = words.map(T::from_word);
        }
    } else {
        for (element_idx, element) in groups.as_flattened_mut().iter_mut().enumerate() {
            let mut word = [0u8; 8];
            for (plane, byte) in word[..size].iter_mut().enumerate() {
                *byte = bytes[plane * n + element_idx];
            }
            *element = T::from_word(u64::from_le_bytes(word));
        }
    }
    let tail_start = n - tail.len();
    for (offset, element) in tail.iter_mut().enumerate() {
        let mut word = [0u8; 8];
        for (plane, byte) in word[..size].iter_mut().enumerate() {
            *byte = bytes[plane * n + tail_start + offset];
        }
        *element = T::from_word(u64::from_le_bytes(word));
    }
}

/// LZ4's compressed length of `raw`, written into `out`; `None` when it
/// does not fit there (the caller sizes `out` to the largest length worth
/// keeping).
fn compressed_len(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    compress_to_buffer(raw, Some(mode(1)), false, out).ok()
}

thread_local! {
    /// One chunk of working memory per thread, kept between calls. A fresh
    /// 1 MiB buffer per call cost page faults and zeroing that doubled a
    /// 1 MiB round trip (perf: 28% of its time in the kernel's page-fault
    /// handler, 1.15 ms before, see the README's cache row).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with this thread's scratch chunk (a fresh one if the thread's
/// is in use, which only a re-entrant call could cause).
fn with_scratch<R>(work: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => work(&mut scratch),
        Err(_) => work(&mut Vec::new()),
    })
}

/// Set in a block's length word when the block is stored raw.
const RAW_BLOCK: u32 = 1 << 31;

/// A plane compresses only if LZ4 shrinks it by at least this factor on the
/// probe. The noisy low mantissa bytes of floating-point data do not. At
/// the fast level a plane that is partly noise is stored raw below 1.25:
/// on `cargo xtask compare`'s 8 MiB array such a plane (1.1-1.25) doubled
/// the round trip (2.9 ms -> 6.0 ms) for 5% of the ratio (1.33 -> 1.40).
/// The high-compression levels ask for ratio: there, 1.1.
fn min_plane_ratio(level: u32) -> f64 {
    if level <= 1 { 1.25 } else { 1.1 }
}

/// How an array is split into blocks: whole chunks, or the byte planes of
/// each chunk (shuffled), each plane either compressed or stored raw.
struct Plan {
    shuffled: bool,
    compress_plane: [bool; 8],
}

/// Chooses the plan from a probe of the first 64 KiB (LZ4's output goes to
/// `out`, the payload buffer not yet written), or `None` when even the best
/// plan stays below [`MIN_RATIO`].
fn plan<T: Element>(elements: &[T], level: u32, chunk: &mut Vec<u8>, out: &mut [u8]) -> Option<Plan> {
    let size = T::DTYPE.size();
    let probe = &elements[..elements.len().min(PROBE_BYTES / size)];
    let probe_len = probe.len() * size;
    encode(probe, false, chunk);
    // Plain data that does not fit in the payload buffer does not compress enough.
    let plain_len = compressed_len(chunk, out).unwrap_or(usize::MAX);
    let mut best = Plan { shuffled: false, compress_plane: [true; 8] };
    let mut best_len = plain_len;
    if size > 1 {
        encode(probe, true, chunk);
        let mut compress_plane = [false; 8];
        let mut shuffled_len = 0;
        for (plane, bytes) in chunk.chunks_exact(probe.len()).enumerate() {
            let compressed = compressed_len(bytes, out).unwrap_or(usize::MAX);
            compress_plane[plane] = bytes.len() as f64 >= min_plane_ratio(level) * compressed as f64;
            shuffled_len += if compress_plane[plane] { compressed } else { bytes.len() };
        }
        if shuffled_len < best_len {
            best = Plan { shuffled: true, compress_plane };
            best_len = shuffled_len;
        }
    }
    (best_len != usize::MAX && probe_len as f64 >= MIN_RATIO * best_len as f64).then_some(best)
}

/// Compresses `elements` at `level` (1 fast, 2..=12 high compression) the way
/// the cache does, or returns `None` when the ratio would stay below 1.15.
pub fn compress<T: Element>(elements: &[T], level: u32) -> Option<Compressed> {
    let size = T::DTYPE.size();
    let raw_len = elements.len() * size;
    if raw_len == 0 {
        return None;
    }
    let per_chunk = CHUNK_BYTES / size;
    // The payload is allocated once, at the largest size worth keeping: a
    // block that does not fit means the ratio would stay below MIN_RATIO.
    // Working memory is this payload (under the raw size) plus one chunk.
    let n_chunks = elements.len().div_ceil(per_chunk);
    let mut payload = vec![0u8; (raw_len as f64 / MIN_RATIO) as usize + 4 * 8 * n_chunks];
    let (used, shuffled) = with_scratch(|chunk| -> Option<(usize, bool)> {
        let plan = plan(elements, level, chunk, &mut payload)?;
        let mut used = 0;
        for part in elements.chunks(per_chunk) {
            encode(part, plan.shuffled, chunk);
            let block_len = if plan.shuffled { part.len() } else { chunk.len() };
            for (plane, block) in chunk.chunks(block_len).enumerate() {
                let room = payload.len().checked_sub(used + 4)?.min(i32::MAX as usize);
                let target = &mut payload[used + 4..used + 4 + room];
                let header = if plan.compress_plane[plane] {
                    let written = compress_to_buffer(block, Some(mode(level)), false, target).ok()?;
                    u32::try_from(written).ok()?
                } else {
                    target.get_mut(..block.len())?.copy_from_slice(block);
                    u32::try_from(block.len()).ok()? | RAW_BLOCK
                };
                payload[used..used + 4].copy_from_slice(&header.to_le_bytes());
                used += 4 + (header & !RAW_BLOCK) as usize;
            }
        }
        Some((used, plan.shuffled))
    })?;
    payload.truncate(used);
    payload.shrink_to_fit();
    Some(Compressed { payload, shuffled, raw_len, dtype: T::DTYPE })
}

/// Decompresses into `n_elements` elements, or `None` if the payload is
/// damaged or of another size or dtype (LZ4's safe decoder never reads or
/// writes out of bounds).
pub fn decompress<T: Element>(compressed: &Compressed, n_elements: usize) -> Option<Vec<T>> {
    let size = T::DTYPE.size();
    if compressed.dtype != T::DTYPE || n_elements.checked_mul(size)? != compressed.raw_len {
        return None;
    }
    let mut elements = vec![T::default(); n_elements];
    let per_chunk = CHUNK_BYTES / size;
    let mut parts = elements.chunks_mut(per_chunk);
    decode_chunks(compressed, size, |chunk| {
        if let Some(part) = parts.next() {
            decode(chunk, compressed.shuffled, part);
        }
    })?;
    Some(elements)
}

/// Whether the payload decodes to `n_elements` elements, using one chunk of
/// working memory (the decoded data is not kept).
pub(crate) fn validate(compressed: &Compressed, n_elements: usize) -> bool {
    let size = compressed.dtype.size();
    n_elements.checked_mul(size) == Some(compressed.raw_len) && decode_chunks(compressed, size, |_| {}).is_some()
}

/// Decodes the LZ4 blocks chunk by chunk and hands each chunk's bytes (still
/// shuffled if the payload is) to `sink`, in order.
fn decode_chunks(compressed: &Compressed, size: usize, sink: impl FnMut(&[u8])) -> Option<()> {
    with_scratch(|chunk| decode_chunks_with(compressed, size, chunk, sink))
}

fn decode_chunks_with(
    compressed: &Compressed,
    size: usize,
    chunk: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]),
) -> Option<()> {
    let mut rest = compressed.payload.as_slice();
    let mut left = compressed.raw_len;
    while left > 0 {
        let chunk_len = left.min(CHUNK_BYTES);
        left -= chunk_len;
        chunk.resize(chunk_len, 0);
        let block_len = if compressed.shuffled && size > 1 { chunk_len / size } else { chunk_len };
        for block in chunk.chunks_mut(block_len) {
            let (header, tail) = rest.split_first_chunk::<4>()?;
            let header = u32::from_le_bytes(*header);
            let length = (header & !RAW_BLOCK) as usize;
            let stored = tail.get(..length)?;
            rest = &tail[length..];
            if header & RAW_BLOCK != 0 {
                if stored.len() != block.len() {
                    return None;
                }
                block.copy_from_slice(stored);
            } else {
                let raw_size = i32::try_from(block.len()).ok()?;
                if decompress_to_buffer(stored, Some(raw_size), block).ok()? != block.len() {
                    return None;
                }
            }
        }
        sink(chunk);
    }
    rest.is_empty().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Element + PartialEq + std::fmt::Debug>(elements: &[T], expect_compressed: bool) {
        for level in [1, 9] {
            match compress(elements, level) {
                Some(compressed) => {
                    assert!(expect_compressed, "level {level}: compressed incompressible data");
                    assert!(compressed.payload.len() as f64 * MIN_RATIO <= compressed.raw_len as f64);
                    assert_eq!(decompress::<T>(&compressed, elements.len()).as_deref(), Some(elements));
                }
                None => assert!(!expect_compressed, "level {level}: did not compress"),
            }
        }
    }

    #[test]
    fn round_trips_smooth_constant_and_random_data() {
        let n = 3 * CHUNK_BYTES / 8 + 123;
        let smooth: Vec<f64> = (0..n).map(|i| 1.0 + 0.25 * (i as f64 * 1e-4).sin()).collect();
        check(&smooth, true);
        check(&vec![7i64; 5000], true);
        check(&vec![0u8; 100_000], true);
        let random: Vec<u8> = homodyne_testkit::uniform(200_000, 1).iter().map(|u| (u * 256.0) as u8).collect();
        check(&random, false);
        let noisy: Vec<f32> = homodyne_testkit::uniform(100_000, 2).iter().map(|&u| u as f32).collect();
        // Uniform f32 noise shares its exponent bytes: shuffled, it compresses a little.
        let compressed = compress(&noisy, 1);
        if let Some(compressed) = compressed {
            assert_eq!(decompress::<f32>(&compressed, noisy.len()), Some(noisy.clone()));
        }
    }

    /// The fast shuffle equals the definition, byte `b` of element `i` at `b * n + i`.
    #[test]
    fn shuffle_matches_its_definition_and_inverts() {
        fn naive<T: Element>(elements: &[T]) -> Vec<u8> {
            let size = T::DTYPE.size();
            let mut plain = vec![0u8; elements.len() * size];
            T::write_le(elements, &mut plain);
            let mut out = vec![0u8; plain.len()];
            for (element, bytes) in plain.chunks_exact(size).enumerate() {
                for (plane, &byte) in bytes.iter().enumerate() {
                    out[plane * elements.len() + element] = byte;
                }
            }
            out
        }
        fn check<T: Element + PartialEq + std::fmt::Debug>(elements: &[T]) {
            let mut out = Vec::new();
            encode(elements, true, &mut out);
            assert_eq!(out, naive(elements));
            let mut back = vec![T::default(); elements.len()];
            decode(&out, true, &mut back);
            assert_eq!(back, elements);
        }
        let u = homodyne_testkit::uniform(1003, 9);
        for n in [0, 1, 7, 8, 9, 64, 1003] {
            check(&u[..n]);
            check(&u[..n].iter().map(|&v| (v * 1e15) as i64).collect::<Vec<_>>());
            check(&u[..n].iter().map(|&v| v as f32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn damaged_payloads_are_rejected_not_misread() {
        let smooth: Vec<f64> = (0..50_000).map(|i| (f64::from(i) * 1e-3).cos()).collect();
        let compressed = compress(&smooth, 1).unwrap();
        let mut truncated = compressed.clone();
        truncated.payload.truncate(truncated.payload.len() / 2);
        assert_eq!(decompress::<f64>(&truncated, smooth.len()), None);
        assert_eq!(decompress::<f64>(&compressed, smooth.len() - 1), None);
        let mut extended = compressed.clone();
        extended.payload.push(0);
        assert_eq!(decompress::<f64>(&extended, smooth.len()), None);
        // The same bytes read as another dtype of the same width: refused.
        assert_eq!(decompress::<i64>(&compressed, smooth.len()), None);
    }
}
