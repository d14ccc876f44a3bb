//! The three strategies, each writing into a caller's buffer.
//!
//! The fast strategies make one pass over the angles that writes a 64-bit hit
//! mask per block of 64 angles and counts the hits, size the output once, and
//! compact the masks into indices. Their only allocations besides the output
//! are the masks (one word per 64 angles, 1/64 of the input's size) and, in
//! parallel, one count per chunk. Each strategy reports what ran: the
//! parallel one runs the vectorised one where the pool cannot help.

use rayon::prelude::*;

use crate::simd::{BLOCK, Isa, Prepared, compact, hit_masks, n_mask_words};
use crate::{AngleError, AngleRange, WrapMode};

fn non_finite(angles: &[f64], index: usize) -> AngleError {
    AngleError::NonFiniteAngle { index, value: angles[index] }
}

/// The plain loop: every angle against every range, as v1 wrote it.
pub(crate) fn filter_scalar(
    angles: &[f64],
    ranges: &[AngleRange],
    wrap: WrapMode,
    out: &mut Vec<usize>,
) -> Result<(), AngleError> {
    out.clear();
    for (angle_idx, &angle) in angles.iter().enumerate() {
        if !angle.is_finite() {
            out.clear();
            return Err(non_finite(angles, angle_idx));
        }
        if ranges.iter().any(|range| range.contains(angle, wrap)) {
            out.push(angle_idx);
        }
    }
    Ok(())
}

/// One pass to masks and a count, one exact allocation, one compaction.
pub(crate) fn filter_vectorized(
    angles: &[f64],
    prepared: &Prepared,
    isa: Isa,
    out: &mut Vec<usize>,
) -> Result<(), AngleError> {
    out.clear();
    let mut masks = vec![0u64; n_mask_words(angles.len())];
    let n_matches = hit_masks(angles, prepared, &mut masks, isa).map_err(|index| non_finite(angles, index))?;
    out.resize(n_matches, 0);
    compact(&masks, 0, out, isa);
    Ok(())
}

/// Angles per parallel task at most: 256 KiB of input, a multiple of the
/// 64-angle block, small enough for work stealing to even out a busy core.
const MAX_PARALLEL_CHUNK: usize = 32 * 1024;

/// Angles per parallel task at least (32 KiB of input): below this the
/// hand-off to a worker costs more than the task.
const MIN_PARALLEL_CHUNK: usize = 4 * 1024;

/// The chunk length the parallel strategy uses for `n_angles` angles on
/// `n_threads` threads, or `None` when it cannot run in parallel (one
/// thread, or too few angles for two chunks): it then runs the vectorised
/// strategy on the calling thread and reports that.
pub(crate) fn parallel_chunk(n_angles: usize, n_threads: usize) -> Option<usize> {
    if n_threads < 2 || n_angles < 2 * MIN_PARALLEL_CHUNK {
        return None;
    }
    // About two tasks per thread, in whole blocks, within the bounds.
    let chunk = n_angles.div_ceil(2 * n_threads).next_multiple_of(BLOCK);
    Some(chunk.clamp(MIN_PARALLEL_CHUNK, MAX_PARALLEL_CHUNK))
}

/// As [`filter_vectorized`], with chunks on the rayon pool: each chunk writes
/// its own masks and count, then its own disjoint slice of the output, so the
/// indices are written once, in order. Where [`parallel_chunk`] says the
/// pool cannot help, this is [`filter_vectorized`] (the caller reports it so).
pub(crate) fn filter_parallel(
    angles: &[f64],
    prepared: &Prepared,
    isa: Isa,
    out: &mut Vec<usize>,
) -> Result<(), AngleError> {
    let Some(chunk) = parallel_chunk(angles.len(), rayon::current_num_threads()) else {
        return filter_vectorized(angles, prepared, isa, out);
    };
    let words_per_chunk = chunk / BLOCK;
    out.clear();
    let mut masks = vec![0u64; n_mask_words(angles.len())];
    let chunk_counts: Vec<Result<usize, usize>> = angles
        .par_chunks(chunk)
        .zip(masks.par_chunks_mut(words_per_chunk))
        .map(|(chunk_angles, chunk_masks)| hit_masks(chunk_angles, prepared, chunk_masks, isa))
        .collect();
    let mut n_matches = 0;
    for (chunk_idx, count) in chunk_counts.iter().enumerate() {
        match count {
            Ok(count) => n_matches += count,
            Err(local_idx) => return Err(non_finite(angles, chunk_idx * chunk + local_idx)),
        }
    }
    out.resize(n_matches, 0);
    let mut chunk_outputs: Vec<&mut [usize]> = Vec::with_capacity(chunk_counts.len());
    let mut rest = out.as_mut_slice();
    for count in chunk_counts.iter().flatten() {
        let (head, tail) = rest.split_at_mut(*count);
        chunk_outputs.push(head);
        rest = tail;
    }
    masks.par_chunks(words_per_chunk).zip(chunk_outputs).enumerate().for_each(
        |(chunk_idx, (chunk_masks, chunk_out))| {
            compact(chunk_masks, chunk_idx * chunk, chunk_out, isa);
        },
    );
    Ok(())
}
