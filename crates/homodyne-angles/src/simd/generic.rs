//! The portable kernel, written so that LLVM vectorises it (compiled for
//! the build target here and for AVX2 and AVX-512 in `x86.rs`): a hit mask
//! and a non-finite mask per block of 64 angles, built without branches,
//! then compacted to indices; and the ranges in the form it searches.

use crate::WrapMode;
use crate::range::{Interval, Intervals, normalize_deg};

/// Angles per block: one bit each in a `u64` mask.
pub(crate) const BLOCK: usize = 64;

/// Up to this many merged intervals the kernel compares every angle with every
/// interval (branch-free, vectorised); above it, a binary search over the
/// sorted boundaries is cheaper.
const LINEAR_MAX_INTERVALS: usize = 8;

/// The ranges in the form the kernel searches.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(super) intervals: Vec<Interval>,
    /// `(center, radius)` of every interval, if each one can be tested exactly
    /// as `|a - center| <= radius` (see [`centered`]).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) centered: Option<Vec<(f64, f64)>>,
    los: Vec<f64>,
    his: Vec<f64>,
    wrap: WrapMode,
}

impl Prepared {
    pub(crate) fn new(intervals: &Intervals) -> Prepared {
        let (los, his) = intervals.bounds();
        let centered: Option<Vec<(f64, f64)>> =
            intervals.intervals.iter().map(|interval| centered(interval.lo, interval.hi)).collect();
        Prepared { intervals: intervals.intervals.clone(), centered, los, his, wrap: intervals.wrap }
    }

    /// The v1 convention with few enough intervals to compare each one.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn is_linear(&self) -> bool {
        self.wrap == WrapMode::Off && self.intervals.len() <= LINEAR_MAX_INTERVALS
    }
}

/// The exact error of the rounded sum `sum = fl(x + y)` (Knuth's TwoSum).
fn two_sum_error(x: f64, y: f64, sum: f64) -> f64 {
    let y_virtual = sum - x;
    let x_virtual = sum - y_virtual;
    (x - x_virtual) + (y - y_virtual)
}

/// `(center, radius)` such that `|a - center| <= radius` holds for exactly
/// the same doubles `a` as `lo <= a <= hi`, or `None`.
///
/// That needs `center = (lo + hi) / 2` and `radius = (hi - lo) / 2` to be
/// exact, and `a - center` to be exact wherever the answer could change: it is
/// when `center == 0`, and otherwise for `a` within a factor of two of
/// `center` (Sterbenz's lemma); farther away `|a - center| >= |center| / 2`
/// even after rounding, so `radius < |center| / 2` keeps those angles out.
/// The test costs one compare instead of two, and compares are what limits
/// the AVX-512 kernel.
pub(super) fn centered(lo: f64, hi: f64) -> Option<(f64, f64)> {
    let sum = lo + hi;
    let difference = hi - lo;
    if two_sum_error(lo, hi, sum) != 0.0 || two_sum_error(hi, -lo, difference) != 0.0 {
        return None;
    }
    let (center, radius) = (sum * 0.5, difference * 0.5);
    if center * 2.0 != sum || radius * 2.0 != difference || !center.is_finite() || !radius.is_finite() {
        return None;
    }
    (center == 0.0 || radius < center.abs() * 0.5).then_some((center, radius))
}

/// Packs 64 booleans into a `u64`, element `i` into bit `i`.
#[inline(always)]
pub(super) fn pack_bits(flags: &[bool; BLOCK]) -> u64 {
    let mut mask = 0u64;
    for (byte_group_idx, group) in flags.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        for (byte, &flag) in bytes.iter_mut().zip(group) {
            *byte = u8::from(flag);
        }
        // Each byte is 0 or 1; the multiplication moves byte k's low bit to
        // bit 56 + k without carries, so the top byte holds the eight flags.
        let gathered = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= gathered << (8 * byte_group_idx);
    }
    mask
}

/// Folds a block into `(-180, 180]` exactly as [`normalize_deg`] does.
///
/// For `|a| < 360` the remainder is `a` itself, so the fold is two selects
/// that vectorise; other values take the exact scalar path.
#[inline(always)]
fn fold_block(block: &[f64; BLOCK]) -> [f64; BLOCK] {
    let mut folded = [0.0f64; BLOCK];
    let mut all_small = true;
    for (out, &angle) in folded.iter_mut().zip(block) {
        all_small &= angle.abs() < 360.0;
        let shifted = if angle < 0.0 { angle + 360.0 } else { angle };
        *out = if shifted > 180.0 { shifted - 360.0 } else { shifted };
    }
    if !all_small {
        for (out, &angle) in folded.iter_mut().zip(block) {
            *out = normalize_deg(angle);
        }
    }
    folded
}

/// Hit mask and non-finite mask of one block.
#[inline(always)]
fn block_masks(block: &[f64; BLOCK], prepared: &Prepared) -> (u64, u64) {
    let mut non_finite = [false; BLOCK];
    for (flag, &angle) in non_finite.iter_mut().zip(block) {
        *flag = !angle.is_finite();
    }
    let folded;
    let values = match prepared.wrap {
        WrapMode::Off => block,
        WrapMode::Periodic => {
            folded = fold_block(block);
            &folded
        }
    };
    let mut hits = [false; BLOCK];
    if prepared.intervals.len() <= LINEAR_MAX_INTERVALS {
        for interval in &prepared.intervals {
            let (lo, hi) = (interval.lo, interval.hi);
            for (hit, &value) in hits.iter_mut().zip(values) {
                // `&` rather than `&&`: no branch, so the loop vectorises.
                #[expect(clippy::needless_bitwise_bool, reason = "no branch, so the loop vectorises")]
                let inside = (value >= lo) & (value <= hi);
                *hit |= inside;
            }
        }
    } else {
        for (hit, &value) in hits.iter_mut().zip(values) {
            let above = prepared.los.partition_point(|&lo| lo <= value);
            *hit = above > 0 && value <= prepared.his[above - 1];
        }
    }
    (pack_bits(&hits), pack_bits(&non_finite))
}

/// Writes the hit mask of every block of `angles` into `masks` (one word per
/// block, the last one padded) and returns the number of hits, or the index of
/// the first non-finite angle. `full_block_masks` computes the hit mask of a
/// full block and whether all its angles are finite.
#[inline(always)]
pub(super) fn masks_with(
    angles: &[f64],
    prepared: &Prepared,
    masks: &mut [u64],
    mut full_block_masks: impl FnMut(&[f64; BLOCK]) -> (u64, bool),
) -> Result<usize, usize> {
    let (blocks, tail) = angles.as_chunks::<BLOCK>();
    let mut n_hits = 0usize;
    for ((block_idx, block), mask) in blocks.iter().enumerate().zip(masks.iter_mut()) {
        let (mut hits, all_finite) = full_block_masks(block);
        if !all_finite {
            // Rare: the generic kernel names the exact index, or, if a fast
            // kernel's check only overflowed on huge finite angles, gives the hits.
            let (generic_hits, non_finite) = block_masks(block, prepared);
            if non_finite != 0 {
                return Err(block_idx * BLOCK + non_finite.trailing_zeros() as usize);
            }
            hits = generic_hits;
        }
        *mask = hits;
        n_hits += hits.count_ones() as usize;
    }
    if !tail.is_empty() {
        let mut padded = [0.0f64; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        let valid = (1u64 << tail.len()) - 1;
        let (hits, non_finite) = block_masks(&padded, prepared);
        if non_finite & valid != 0 {
            return Err(blocks.len() * BLOCK + non_finite.trailing_zeros() as usize);
        }
        if let Some(mask) = masks.get_mut(blocks.len()) {
            *mask = hits & valid;
            n_hits += (hits & valid).count_ones() as usize;
        }
    }
    Ok(n_hits)
}

#[inline(always)]
pub(super) fn masks_generic(angles: &[f64], prepared: &Prepared, masks: &mut [u64]) -> Result<usize, usize> {
    masks_with(angles, prepared, masks, |block| {
        let (hits, non_finite) = block_masks(block, prepared);
        (hits, non_finite == 0)
    })
}

/// Writes the indices of the set bits of `masks` (bit `i` of word `w` is
/// index `index_offset + 64 w + i`) into `out`, which holds exactly as many
/// slots as there are set bits.
#[inline(always)]
pub(super) fn compact_generic(masks: &[u64], index_offset: usize, out: &mut [usize]) {
    let mut position = 0usize;
    for (block_idx, &hits) in masks.iter().enumerate() {
        let n_hits = hits.count_ones() as usize;
        let first_index = index_offset + block_idx * BLOCK;
        let mut remaining = hits;
        if let Some(window) = out.get_mut(position..position + BLOCK) {
            // Fast path: write eight indices at a time without testing each
            // bit, so that the loop rarely mispredicts. Slots past this block's
            // hits get a junk value that the following blocks overwrite, which
            // is why a full block of room is required.
            let mut n_written = 0;
            while n_written < n_hits {
                for slot in &mut window[n_written..n_written + 8] {
                    *slot = first_index + remaining.trailing_zeros() as usize;
                    remaining &= remaining.wrapping_sub(1);
                }
                n_written += 8;
            }
        } else {
            for slot in out.iter_mut().skip(position).take(n_hits) {
                *slot = first_index + remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
            }
        }
        position += n_hits;
    }
}
