//! The generic block kernel of the fused pass (AVX2 and portable): for
//! one angle and one block row, the theory of each 16 x 16 block computed
//! once for the block and its mirror, with exact sums; and the inputs both
//! kernels (this one and `avx512.rs`) share.

use crate::simd::multiversion;
use crate::simd::{Isa, mul_add};
use crate::sum::{CompensatedLanes, DoubleDouble, two_product_with, two_sum};

/// Side of the square blocks the data are read in, and the lane count of the
/// block kernel.
pub(super) const BLOCK: usize = 16;

/// `exp(-746)` rounds to zero: a block whose smallest exponent exceeds this
/// contributes nothing.
pub(super) const UNDERFLOW_EXPONENT: f64 = 746.0;

/// Below this `|theta_j - theta_i|` the series of `sin(d) / d` replaces the
/// quotient; its truncation error there is below 1e-27.
pub(super) const SERIES_LIMIT: f64 = 1e-2;

/// Angle-independent inputs of the block kernel.
pub(super) struct BlockContext<'s> {
    pub(super) n_frames: usize,
    /// `a_j * b_i` (true) or one `exp` per element from the cumulative sums (false).
    pub(super) factorised: bool,
    pub(super) shear: bool,
    pub(super) decay: f64,
    pub(super) column_factor: &'s [f64],
    pub(super) row_factor: &'s [f64],
}

/// Per-angle shear inputs: theta and its sine and cosine per frame.
pub(super) struct ShearFactors<'s> {
    pub(super) theta: &'s [f64],
    pub(super) sin_theta: &'s [f64],
    pub(super) cos_theta: &'s [f64],
}

/// One work item of the fused pass: one block row of one angle's data.
#[derive(Clone, Copy)]
pub(super) struct RowTask<'s> {
    pub(super) context: &'s BlockContext<'s>,
    pub(super) shear: &'s ShearFactors<'s>,
    /// The angle's `(N, N)` data, row-major.
    pub(super) data: &'s [f64],
    pub(super) block_row: usize,
}

/// Off-diagonal sums of one block row of one angle, from its strict upper
/// triangle: `sum T`, `sum T^2` (each twice the triangle's) and
/// `sum T (E_ij + E_ji)`.
pub(super) fn block_row_sums(isa: Isa, task: &RowTask<'_>) -> [DoubleDouble; 3] {
    let RowTask { context, shear, data, block_row } = *task;
    let n = context.n_frames;
    let n_blocks = n.div_ceil(BLOCK);
    let row_start = block_row * BLOCK;
    let valid_rows = n.saturating_sub(row_start).min(BLOCK);
    // Fixed-size blocks of the padded per-frame arrays: with the length in the
    // type, the kernel has no bounds checks and vectorises.
    let column_factor = context.column_factor.as_chunks::<BLOCK>().0;
    let row_factor = context.row_factor.as_chunks::<BLOCK>().0;
    let theta = shear.theta.as_chunks::<BLOCK>().0;
    let sin_theta = shear.sin_theta.as_chunks::<BLOCK>().0;
    let cos_theta = shear.cos_theta.as_chunks::<BLOCK>().0;
    let mut lanes = [CompensatedLanes::default(); 3];
    let mut upper = [[0.0; BLOCK]; BLOCK];
    let mut lower_transposed = [[0.0; BLOCK]; BLOCK];
    for block_col in block_row..n_blocks {
        let col_start = block_col * BLOCK;
        // Skip blocks where every element's exponent underflows.
        if block_underflows(context, block_row, block_col, valid_rows) {
            break;
        }
        let valid_cols = (n - col_start).min(BLOCK);
        let factors = BlockFactors {
            column_factor: &column_factor[block_col],
            row_factor: &row_factor[block_row],
            column_theta: &theta[block_col],
            column_sin: &sin_theta[block_col],
            column_cos: &cos_theta[block_col],
            row_theta: &theta[block_row],
            row_sin: &sin_theta[block_row],
            row_cos: &cos_theta[block_row],
            diagonal_block: block_col == block_row,
            valid_rows,
        };
        load_block(data, n, (row_start, valid_rows), (col_start, valid_cols), &mut upper, &mut lower_transposed);
        block_sums(
            isa,
            &mut lanes,
            context.factorised,
            context.shear,
            context.decay,
            &BlockInputs { factors, upper: &upper, lower_transposed: &lower_transposed },
        );
    }
    let two = DoubleDouble::from_f64(2.0);
    let [sum_t, sum_tt, sum_te] = lanes.map(|lane| lane.total());
    [sum_t.mul(two), sum_tt.mul(two), sum_te]
}

/// Copies the data of one 16 x 16 block, rows `row_start..` and columns
/// `col_start..` (`valid` of each inside the matrix), into `upper`, and of
/// its mirror block transposed into `lower_transposed`, so that both read
/// `[row][column]` of the upper block; zeros outside the matrix.
pub(super) fn load_block(
    data: &[f64],
    n: usize,
    (row_start, valid_rows): (usize, usize),
    (col_start, valid_cols): (usize, usize),
    upper: &mut [[f64; BLOCK]; BLOCK],
    lower_transposed: &mut [[f64; BLOCK]; BLOCK],
) {
    if valid_rows == BLOCK && valid_cols == BLOCK {
        // Interior block: E[rows][cols] row by row, E[cols][rows] through a
        // transpose of fixed-size arrays (no bounds checks, no zero fill).
        let mut lower = [[0.0; BLOCK]; BLOCK];
        for (offset, (upper_row, lower_row)) in upper.iter_mut().zip(&mut lower).enumerate() {
            let upper_start = (row_start + offset) * n + col_start;
            upper_row.copy_from_slice(&data[upper_start..upper_start + BLOCK]);
            let lower_start = (col_start + offset) * n + row_start;
            lower_row.copy_from_slice(&data[lower_start..lower_start + BLOCK]);
        }
        for (row, transposed_row) in lower_transposed.iter_mut().enumerate() {
            for (col, value) in transposed_row.iter_mut().enumerate() {
                *value = lower[col][row];
            }
        }
    } else {
        // Edge block: zeros outside the matrix.
        for (row, upper_row) in upper.iter_mut().enumerate() {
            upper_row.fill(0.0);
            if row < valid_rows {
                let start = (row_start + row) * n + col_start;
                upper_row[..valid_cols].copy_from_slice(&data[start..start + valid_cols]);
            }
        }
        for row in lower_transposed.iter_mut() {
            row.fill(0.0);
        }
        for col in 0..valid_cols {
            let start = (col_start + col) * n + row_start;
            for (transposed_row, &value) in lower_transposed.iter_mut().zip(&data[start..start + valid_rows]) {
                transposed_row[col] = value;
            }
        }
    }
}

/// Whether every element of the block (`block_row`, `block_col`) underflows
/// to zero when the factors are not factorised (`factors` hold the
/// cumulative sums): then so does every block further right.
pub(super) fn block_underflows(
    context: &BlockContext<'_>,
    block_row: usize,
    block_col: usize,
    valid_rows: usize,
) -> bool {
    let nearest_col = context.column_factor[block_col * BLOCK];
    let farthest_row = context.row_factor[block_row * BLOCK + valid_rows - 1];
    !context.factorised && context.decay * (nearest_col - farthest_row) > UNDERFLOW_EXPONENT
}

/// Per-frame inputs of one 16 x 16 block.
#[derive(Clone, Copy)]
struct BlockFactors<'s> {
    column_factor: &'s [f64; BLOCK],
    row_factor: &'s [f64; BLOCK],
    column_theta: &'s [f64; BLOCK],
    column_sin: &'s [f64; BLOCK],
    column_cos: &'s [f64; BLOCK],
    row_theta: &'s [f64; BLOCK],
    row_sin: &'s [f64; BLOCK],
    row_cos: &'s [f64; BLOCK],
    diagonal_block: bool,
    valid_rows: usize,
}

/// Inputs of one 16 x 16 block, with its data copied (and transposed) into buffers.
#[derive(Clone, Copy)]
struct BlockInputs<'s> {
    factors: BlockFactors<'s>,
    upper: &'s [[f64; BLOCK]; BLOCK],
    lower_transposed: &'s [[f64; BLOCK]; BLOCK],
}

/// `sinc(d) = sin(d) / d` from its series, for `|d| < SERIES_LIMIT`.
#[inline(always)]
pub(super) fn sinc_series<const FMA: bool>(d: f64) -> f64 {
    let d2 = d * d;
    // 1 - d^2/6 + d^4/120 - d^6/5040 + d^8/362880
    let poly = mul_add::<FMA>(d2, 1.0 / 362_880.0, -1.0 / 5040.0);
    let poly = mul_add::<FMA>(d2, poly, 1.0 / 120.0);
    let poly = mul_add::<FMA>(d2, poly, -1.0 / 6.0);
    mul_add::<FMA>(d2, poly, 1.0)
}

/// Lanes of the register-resident accumulators: one AVX-512 vector.
pub(super) const HALF: usize = BLOCK / 2;

/// A `[f64; HALF]` from `values[offset..offset + HALF]`.
#[inline(always)]
pub(super) fn half(values: &[f64; BLOCK], offset: usize) -> [f64; HALF] {
    std::array::from_fn(|lane| values[offset + lane])
}

multiversion! {
    /// Adds, per lane (column in the block), the block's strict upper triangle
    /// to `sum T`, `sum T^2` and `sum T (E_ij + E_ji)`. The products and the
    /// data sums are added with their exact rounding errors: the closed-form
    /// residual cancels by about `(signal / noise)^2`, so anything less loses
    /// digits on clean data.
    ///
    /// The block is processed as two halves of 8 columns, rows innermost, with
    /// the column inputs and the accumulators in local arrays that stay in
    /// vector registers for the whole half.
    fn block_sums_generic(
        sums: &mut [CompensatedLanes; 3],
        factorised: bool,
        shear: bool,
        decay: f64,
        inputs: BlockInputs<'_>,
    ) -> () {
        for offset in [0, HALF] {
            let column_factor = half(inputs.factors.column_factor, offset);
            let column_theta = half(inputs.factors.column_theta, offset);
            let column_sin = half(inputs.factors.column_sin, offset);
            let column_cos = half(inputs.factors.column_cos, offset);
            let mut hi = [[0.0; HALF]; 3];
            let mut lo = [[0.0; HALF]; 3];
            for row in 0..inputs.factors.valid_rows.min(BLOCK) {
                let mut g1 = [0.0; HALF];
                if factorised {
                    for lane in 0..HALF {
                        g1[lane] = column_factor[lane] * inputs.factors.row_factor[row];
                    }
                } else {
                    for lane in 0..HALF {
                        // Padding columns hold 0 here; their data are 0 too.
                        let exponent = decay * (column_factor[lane] - inputs.factors.row_factor[row]);
                        g1[lane] = if exponent >= 0.0 { (-exponent).exp() } else { 0.0 };
                    }
                }
                let (theta_i, sin_i, cos_i) = (inputs.factors.row_theta[row], inputs.factors.row_sin[row], inputs.factors.row_cos[row]);
                let upper = half(&inputs.upper[row], offset);
                let lower = half(&inputs.lower_transposed[row], offset);
                for lane in 0..HALF {
                    let theory = if shear {
                        let d = column_theta[lane] - theta_i;
                        let sine = mul_add::<FMA>(column_sin[lane], cos_i, -(column_cos[lane] * sin_i));
                        // Both forms, then a select: a branch would stop vectorisation.
                        let near = d.abs() < SERIES_LIMIT;
                        let quotient = sine / if near { 1.0 } else { d };
                        let sinc = if near { sinc_series::<FMA>(d) } else { quotient };
                        let damped = sinc * sinc * g1[lane];
                        damped * damped
                    } else {
                        g1[lane] * g1[lane]
                    };
                    // Strict upper triangle only: the diagonal is added exactly later.
                    let keep = !inputs.factors.diagonal_block || offset + lane > row;
                    let t = if keep { theory } else { 0.0 };
                    let (data_sum, data_error) = two_sum(upper[lane], lower[lane]);
                    let (product, product_error) = two_product_with::<FMA>(t, data_sum);
                    let (square, square_error) = two_product_with::<FMA>(t, t);
                    let terms = [(t, 0.0), (square, square_error), (product, mul_add::<FMA>(t, data_error, product_error))];
                    for (sum_idx, (value, error)) in terms.into_iter().enumerate() {
                        let (new_hi, rounding) = two_sum(hi[sum_idx][lane], value);
                        hi[sum_idx][lane] = new_hi;
                        lo[sum_idx][lane] += rounding + error;
                    }
                }
            }
            for (sum, (hi, lo)) in sums.iter_mut().zip(hi.iter().zip(&lo)) {
                sum.add_exact_at(offset, hi, lo);
            }
        }
    }
}

/// Runs the generic block kernel compiled for `isa`.
fn block_sums(
    isa: Isa,
    sums: &mut [CompensatedLanes; 3],
    factorised: bool,
    shear: bool,
    decay: f64,
    inputs: &BlockInputs<'_>,
) {
    block_sums_generic(isa, sums, factorised, shear, decay, *inputs);
}
