//! The generic kernel of the derivative passes (AVX2 and portable, and
//! AVX-512 through the same generic code): for one angle and one block row,
//! the theory's derivatives with respect to the physical parameters, summed
//! against the residuals (the gradient) and, for Gauss-Newton, against
//! themselves, the theory and one (the normal equations).
//!
//! Per element of the strict upper triangle (`i < j`) the theory is
//! `T = sinc(d)^4 g^2` with `g = exp(-k (C_j - C_i))` and `d = theta_j -
//! theta_i`, so
//!
//! ```text
//! dT/dp = -2 k T (dC_j - dC_i)/dp + 4 sinc^3 sinc'(d) g^2 (dtheta_j - dtheta_i)/dp
//! ```
//!
//! with the per-frame derivatives `dC/dp` (cumulative sums of `dD/dp`) and
//! `dtheta/dp` computed once per evaluation. The mirror element `(j, i)` has
//! the same theory and derivatives, so one evaluation serves both: the
//! residuals enter as the pair `r_ij + r_ji`, the other sums are doubled.

use crate::simd::{Isa, mul_add, multiversion};

use super::block::{
    BLOCK, BlockContext, HALF, SERIES_LIMIT, ShearFactors, block_underflows, half, load_block, sinc_series,
};

/// Parameters of the laminar-flow model; the static model uses the first 3.
pub(super) const MAX_PARAMS: usize = 7;

/// Up to this many frames the gradient reads the data in blocks with their
/// mirror (each pair's theory computed once); beyond, in whole rows (each
/// computed twice, but the data stream in order). Measured (kernels bench,
/// `objective_gradient`): 200 frames 1.46 ms blocked vs 1.85 ms streamed;
/// 1000 frames 42 ms blocked vs 39 ms streamed.
pub(super) const BLOCKED_GRADIENT_MAX_FRAMES: usize = 512;

/// Entries of the upper triangle of a `MAX_PARAMS` square matrix.
pub(super) const MAX_PAIRS: usize = MAX_PARAMS * (MAX_PARAMS + 1) / 2;

/// Per-frame derivatives: of the cumulative diffusion integral with respect
/// to `(D0, alpha, D_offset)`, and of the angle's theta with respect to
/// `(gamma0, beta, gamma_offset, phi0)`; each padded to a multiple of `BLOCK`.
#[derive(Clone, Copy)]
pub(super) struct FrameDerivatives<'s> {
    pub(super) diffusion: [&'s [f64]; 3],
    pub(super) theta: [&'s [f64]; 4],
}

/// One work item: one block row of one angle's data, at that angle's contrast and offset.
#[derive(Clone, Copy)]
pub(super) struct DerivativeTask<'s> {
    pub(super) context: &'s BlockContext<'s>,
    pub(super) shear: &'s ShearFactors<'s>,
    pub(super) frames: FrameDerivatives<'s>,
    /// The angle's `(N, N)` data, row-major.
    pub(super) data: &'s [f64],
    pub(super) block_row: usize,
    pub(super) contrast: f64,
    pub(super) offset: f64,
}

/// Sums over every element of one block row (both triangles), unweighted:
/// `sum r dT/dp` with `r = E - contrast T - offset`, and for the normal
/// equations `sum T dT/dp`, `sum dT/dp` and `sum dT/dp dT/dq` (upper triangle
/// of the matrix, row by row).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DerivativeSums {
    pub(super) residual: [f64; MAX_PARAMS],
    pub(super) theory: [f64; MAX_PARAMS],
    pub(super) one: [f64; MAX_PARAMS],
    pub(super) products: [f64; MAX_PAIRS],
}

impl DerivativeSums {
    /// `self + other`, entry by entry.
    pub(super) fn add(&mut self, other: &DerivativeSums) {
        let pairs = self
            .residual
            .iter_mut()
            .zip(&other.residual)
            .chain(self.theory.iter_mut().zip(&other.theory))
            .chain(self.one.iter_mut().zip(&other.one))
            .chain(self.products.iter_mut().zip(&other.products));
        for (sum, &value) in pairs {
            *sum += value;
        }
    }
}

/// The sums of one block row: with `normal`, every sum (the Jacobian row
/// per element of the upper triangle and its products); without, only the
/// residuals' (the gradient), streaming whole rows, with `columns` as
/// scratch (`2 x` the padded frame count). The shear's four parameters are
/// included only when the model has a shear term (their derivatives are 0
/// otherwise).
pub(super) fn derivative_row_sums(
    isa: Isa,
    task: &DerivativeTask<'_>,
    normal: bool,
    columns: &mut [f64],
) -> DerivativeSums {
    match (task.context.shear, normal) {
        (true, true) => row_sums_laminar_normal(isa, task),
        (true, false) => row_sums_laminar_gradient(isa, task, columns),
        (false, true) => row_sums_static_normal(isa, task),
        (false, false) => row_sums_static_gradient(isa, task, columns),
    }
}

multiversion! {
    fn row_sums_laminar_normal(task: &DerivativeTask<'_>) -> DerivativeSums {
        block_row_sums::<FMA, 7, true>(task)
    }
}

multiversion! {
    fn row_sums_laminar_gradient(task: &DerivativeTask<'_>, columns: &mut [f64]) -> DerivativeSums {
        if task.context.n_frames <= BLOCKED_GRADIENT_MAX_FRAMES {
            block_row_sums::<FMA, 7, false>(task)
        } else {
            gradient_row_sums::<FMA, 7>(task, columns)
        }
    }
}

multiversion! {
    fn row_sums_static_normal(task: &DerivativeTask<'_>) -> DerivativeSums {
        block_row_sums::<FMA, 3, true>(task)
    }
}

multiversion! {
    fn row_sums_static_gradient(task: &DerivativeTask<'_>, columns: &mut [f64]) -> DerivativeSums {
        if task.context.n_frames <= BLOCKED_GRADIENT_MAX_FRAMES {
            block_row_sums::<FMA, 3, false>(task)
        } else {
            gradient_row_sums::<FMA, 3>(task, columns)
        }
    }
}

/// The block row, block by block (each with its mirror block, as the
/// objective's generic kernel reads them).
#[inline(always)]
fn block_row_sums<const FMA: bool, const P: usize, const NORMAL: bool>(task: &DerivativeTask<'_>) -> DerivativeSums {
    let DerivativeTask { context, data, block_row, frames, .. } = *task;
    let n = context.n_frames;
    let n_blocks = n.div_ceil(BLOCK);
    let row_start = block_row * BLOCK;
    let valid_rows = n.saturating_sub(row_start).min(BLOCK);
    let mut lanes = LaneSums::<P>::default();
    let mut upper = [[0.0; BLOCK]; BLOCK];
    let mut lower_transposed = [[0.0; BLOCK]; BLOCK];
    for block_col in block_row..n_blocks {
        if block_underflows(context, block_row, block_col, valid_rows) {
            break;
        }
        let col_start = block_col * BLOCK;
        let valid_cols = (n - col_start).min(BLOCK);
        load_block(data, n, (row_start, valid_rows), (col_start, valid_cols), &mut upper, &mut lower_transposed);
        for offset in [0, HALF] {
            let inputs =
                HalfBlock { task, block_col, offset, valid_rows, upper: &upper, lower_transposed: &lower_transposed };
            if NORMAL {
                normal_half::<FMA, P>(&inputs, &mut lanes);
            } else {
                gradient_half::<FMA, P>(&inputs, &mut lanes);
            }
        }
    }
    if NORMAL {
        return lanes.total();
    }
    // The rows' part of `sum w (h_j - h_i)`: `- h_i sum_j w_ij`.
    let mut out = DerivativeSums::default();
    for row in 0..valid_rows {
        let frame = row_start + row;
        let (by_integral, by_d) = (lanes.row_integral[row].iter().sum::<f64>(), lanes.row_d[row].iter().sum::<f64>());
        for k in 0..3 {
            out.residual[k] -= frames.diffusion[k][frame] * by_integral;
        }
        for k in 3..P {
            out.residual[k] -= frames.theta[k - 3][frame] * by_d;
        }
    }
    for k in 0..P {
        out.residual[k] += lanes.residual[k].iter().sum::<f64>();
    }
    out
}

/// Accumulators, one per lane (column of a half block).
struct LaneSums<const P: usize> {
    residual: [[f64; HALF]; P],
    theory: [[f64; HALF]; P],
    one: [[f64; HALF]; P],
    products: [[f64; HALF]; MAX_PAIRS],
    /// The gradient's row sums of `dT/d(C_j - C_i) r` and `dT/dd r`, per row of the block row.
    row_integral: [[f64; HALF]; BLOCK],
    row_d: [[f64; HALF]; BLOCK],
}

impl<const P: usize> Default for LaneSums<P> {
    fn default() -> Self {
        LaneSums {
            residual: [[0.0; HALF]; P],
            theory: [[0.0; HALF]; P],
            one: [[0.0; HALF]; P],
            products: [[0.0; HALF]; MAX_PAIRS],
            row_integral: [[0.0; HALF]; BLOCK],
            row_d: [[0.0; HALF]; BLOCK],
        }
    }
}

impl<const P: usize> LaneSums<P> {
    /// The lanes summed; the sums other than the residuals' taken over one
    /// triangle, doubled for both.
    fn total(&self) -> DerivativeSums {
        let lane_sum = |lanes: &[f64; HALF]| lanes.iter().sum::<f64>();
        let mut out = DerivativeSums::default();
        for k in 0..P {
            out.residual[k] = lane_sum(&self.residual[k]);
            out.theory[k] = 2.0 * lane_sum(&self.theory[k]);
            out.one[k] = 2.0 * lane_sum(&self.one[k]);
        }
        // The pairs (k, l), k <= l, of P parameters in row order, into
        // the same positions of the MAX_PARAMS layout.
        let mut source = 0;
        for k in 0..P {
            for l in k..P {
                out.products[pair_index(k, l)] = 2.0 * lane_sum(&self.products[source]);
                source += 1;
            }
        }
        out
    }
}

/// The position of `(k, l)`, `k <= l < MAX_PARAMS`, in the row-by-row upper triangle.
pub(super) const fn pair_index(k: usize, l: usize) -> usize {
    k * MAX_PARAMS - k * (k + 1) / 2 + l
}

/// Half a block (8 columns from `offset`) of a loaded block and its mirror.
struct HalfBlock<'s> {
    task: &'s DerivativeTask<'s>,
    block_col: usize,
    offset: usize,
    valid_rows: usize,
    upper: &'s [[f64; BLOCK]; BLOCK],
    lower_transposed: &'s [[f64; BLOCK]; BLOCK],
}

/// The per-frame inputs of the half block's 8 columns.
struct Columns {
    factor: [f64; HALF],
    theta: [f64; HALF],
    sin: [f64; HALF],
    cos: [f64; HALF],
}

impl HalfBlock<'_> {
    fn first_column(&self) -> usize {
        self.block_col * BLOCK + self.offset
    }

    /// `values[column]` for the half block's columns.
    #[inline(always)]
    fn column(&self, values: &[f64]) -> [f64; HALF] {
        let start = self.first_column();
        std::array::from_fn(|lane| values[start + lane])
    }

    #[inline(always)]
    fn columns(&self) -> Columns {
        let DerivativeTask { context, shear, .. } = *self.task;
        Columns {
            factor: self.column(context.column_factor),
            theta: self.column(shear.theta),
            sin: self.column(shear.sin_theta),
            cos: self.column(shear.cos_theta),
        }
    }

    /// Per lane of `row`: the theory `T`, `dT/d(C_j - C_i)` and `dT/dd`
    /// (zero outside the strict upper triangle and the matrix), and the
    /// residual pair `r_ij + r_ji`.
    #[inline(always)]
    #[expect(clippy::needless_range_loop, reason = "lane loops over several arrays, written to vectorise")]
    fn row_terms<const FMA: bool, const P: usize>(
        &self,
        columns: &Columns,
        row: usize,
    ) -> ([f64; HALF], [f64; HALF], [f64; HALF], [f64; HALF]) {
        let DerivativeTask { context, shear, block_row, contrast, offset: scaling_offset, .. } = *self.task;
        let frame = block_row * BLOCK + row;
        let row_factor = context.row_factor[frame];
        let diagonal_block = self.block_col == block_row;
        let decay = context.decay;
        let mut g1 = [0.0; HALF];
        for lane in 0..HALF {
            g1[lane] = if context.factorised {
                columns.factor[lane] * row_factor
            } else {
                // Padding columns hold 0 here; their data are 0 too.
                let exponent = decay * (columns.factor[lane] - row_factor);
                if exponent >= 0.0 { (-exponent).exp() } else { 0.0 }
            };
            // Strict upper triangle only: the diagonal's theory is 1 whatever the parameters.
            if diagonal_block && self.offset + lane <= row {
                g1[lane] = 0.0;
            }
        }
        let (theta_i, sin_i, cos_i) = (shear.theta[frame], shear.sin_theta[frame], shear.cos_theta[frame]);
        let upper = half(&self.upper[row], self.offset);
        let lower = half(&self.lower_transposed[row], self.offset);
        let (mut theory, mut by_integral, mut by_d, mut residual_pair) =
            ([0.0; HALF], [0.0; HALF], [0.0; HALF], [0.0; HALF]);
        if P > 3 {
            let (sinc, slope) =
                sinc_lanes::<FMA>((&columns.theta, &columns.sin, &columns.cos), (theta_i, sin_i, cos_i));
            for lane in 0..HALF {
                let (sinc, g1) = (sinc[lane], g1[lane]);
                let damped = sinc * sinc * g1;
                theory[lane] = damped * damped;
                by_d[lane] = 4.0 * sinc * sinc * sinc * slope[lane] * g1 * g1;
            }
        } else {
            for lane in 0..HALF {
                theory[lane] = g1[lane] * g1[lane];
            }
        }
        for lane in 0..HALF {
            by_integral[lane] = -2.0 * decay * theory[lane];
            let fitted = mul_add::<FMA>(contrast, theory[lane], scaling_offset);
            residual_pair[lane] = (upper[lane] + lower[lane]) - 2.0 * fitted;
        }
        (theory, by_integral, by_d, residual_pair)
    }
}

/// The gradient's sums of a half block: `sum_ij w_ij (h_j - h_i)` splits into
/// column sums of `w` times `h_j` (here, per column) and row sums times
/// `h_i` (per row, at the end of the block row), so each element costs two
/// products and four additions whatever the number of parameters.
#[inline(always)]
fn gradient_half<const FMA: bool, const P: usize>(inputs: &HalfBlock<'_>, lanes: &mut LaneSums<P>) {
    let columns = inputs.columns();
    let (mut column_integral, mut column_d) = ([0.0; HALF], [0.0; HALF]);
    for row in 0..inputs.valid_rows.min(BLOCK) {
        let (_, by_integral, by_d, residual_pair) = inputs.row_terms::<FMA, P>(&columns, row);
        let mut w_integral = [0.0; HALF];
        let mut w_d = [0.0; HALF];
        for lane in 0..HALF {
            w_integral[lane] = by_integral[lane] * residual_pair[lane];
            w_d[lane] = by_d[lane] * residual_pair[lane];
        }
        add_lanes(&mut column_integral, &w_integral);
        add_lanes(&mut lanes.row_integral[row], &w_integral);
        if P > 3 {
            add_lanes(&mut column_d, &w_d);
            add_lanes(&mut lanes.row_d[row], &w_d);
        }
    }
    let frames = inputs.task.frames;
    for k in 0..P {
        let (h, w) = if k < 3 {
            (inputs.column(frames.diffusion[k]), &column_integral)
        } else {
            (inputs.column(frames.theta[k - 3]), &column_d)
        };
        for lane in 0..HALF {
            lanes.residual[k][lane] = mul_add::<FMA>(h[lane], w[lane], lanes.residual[k][lane]);
        }
    }
}

/// The normal equations' sums of a half block, element by element: the
/// Jacobian row, then its products.
#[inline(always)]
fn normal_half<const FMA: bool, const P: usize>(inputs: &HalfBlock<'_>, lanes: &mut LaneSums<P>) {
    let columns = inputs.columns();
    let frames = inputs.task.frames;
    let column_diffusion = frames.diffusion.map(|values| inputs.column(values));
    let column_shear = frames.theta.map(|values| inputs.column(values));
    let row_start = inputs.task.block_row * BLOCK;
    for row in 0..inputs.valid_rows.min(BLOCK) {
        let frame = row_start + row;
        let (theory, by_integral, by_d, residual_pair) = inputs.row_terms::<FMA, P>(&columns, row);
        let row_diffusion = frames.diffusion.map(|values| values[frame]);
        let row_shear = frames.theta.map(|values| values[frame]);
        for lane in 0..HALF {
            let mut jacobian = [0.0; P];
            for k in 0..3 {
                jacobian[k] = by_integral[lane] * (column_diffusion[k][lane] - row_diffusion[k]);
            }
            for k in 3..P {
                jacobian[k] = by_d[lane] * (column_shear[k - 3][lane] - row_shear[k - 3]);
            }
            let mut pair = 0;
            for k in 0..P {
                lanes.residual[k][lane] = mul_add::<FMA>(jacobian[k], residual_pair[lane], lanes.residual[k][lane]);
                lanes.theory[k][lane] = mul_add::<FMA>(jacobian[k], theory[lane], lanes.theory[k][lane]);
                lanes.one[k][lane] += jacobian[k];
                for l in k..P {
                    lanes.products[pair][lane] = mul_add::<FMA>(jacobian[k], jacobian[l], lanes.products[pair][lane]);
                    pair += 1;
                }
            }
        }
    }
}

/// The gradient's sums of one block row, streaming whole rows in order (the
/// mirror block's rows are a page apart: reading them cost 40% of the time
/// in the block kernel at (23, 1000), `perf record`), so each pair's theory
/// is computed twice, once from each side.
///
/// `sum_ij dT/dp r_ij` splits: with `w = dT/d|C_j - C_i| sign(j - i) r_ij`
/// (and `dT/dd r_ij` for the shear), `sum w (h_j - h_i)` is the column sums
/// of `w` against `h_j` and the row sums against `h_i`, so an element costs
/// two products and four additions whatever the number of parameters; the
/// per-frame contractions run once per block row.
#[inline(always)]
fn gradient_row_sums<const FMA: bool, const P: usize>(
    task: &DerivativeTask<'_>,
    columns: &mut [f64],
) -> DerivativeSums {
    let DerivativeTask { context, shear, frames, data, block_row, contrast, offset: scaling_offset } = *task;
    let n = context.n_frames;
    let padded = context.column_factor.len();
    let (column_integral, column_d) = columns.split_at_mut(padded);
    column_integral.fill(0.0);
    column_d.fill(0.0);
    let column_integral = column_integral.as_chunks_mut::<HALF>().0;
    let column_d = column_d.as_chunks_mut::<HALF>().0;
    let decay = context.decay;
    let (column_factor, row_factor) =
        (context.column_factor.as_chunks::<HALF>().0, context.row_factor.as_chunks::<HALF>().0);
    let (theta, sin_theta, cos_theta) = (
        shear.theta.as_chunks::<HALF>().0,
        shear.sin_theta.as_chunks::<HALF>().0,
        shear.cos_theta.as_chunks::<HALF>().0,
    );
    let mut out = DerivativeSums::default();
    for i in block_row * BLOCK..((block_row + 1) * BLOCK).min(n) {
        let data_row = &data[i * n..(i + 1) * n];
        let (a_i, b_i) = (context.column_factor[i], context.row_factor[i]);
        let (theta_i, sin_i, cos_i) = (shear.theta[i], shear.sin_theta[i], shear.cos_theta[i]);
        let (mut row_integral, mut row_d) = ([0.0; HALF], [0.0; HALF]);
        for chunk in 0..padded / HALF {
            let start = chunk * HALF;
            let values: [f64; HALF] = match data_row.get(start..start + HALF) {
                Some(values) => values.try_into().unwrap_or([0.0; HALF]),
                None => std::array::from_fn(|lane| data_row.get(start + lane).copied().unwrap_or(0.0)),
            };
            // Whole arrays per chunk: no bounds checks in the lane loops, which vectorise.
            let (a, b) = (&column_factor[chunk], &row_factor[chunk]);
            let (theta_j, sin_j, cos_j) = (&theta[chunk], &sin_theta[chunk], &cos_theta[chunk]);
            let (column_integral, column_d) = (&mut column_integral[chunk], &mut column_d[chunk]);
            let mut g1 = [0.0; HALF];
            if context.factorised {
                for lane in 0..HALF {
                    // exp(-k |C_j - C_i|) = a_j b_i right of the diagonal, b_j a_i left of it.
                    let right = a[lane] * b_i;
                    let left = b[lane] * a_i;
                    g1[lane] = if start + lane > i { right } else { left };
                }
            } else {
                for lane in 0..HALF {
                    g1[lane] = (-decay * (a[lane] - a_i).abs()).exp();
                }
            }
            // Array at a time, one small loop per step: each vectorises
            // (one loop over the whole element did not: LLVM turned the
            // series select into a branch).
            let mut theory = [0.0; HALF];
            let mut by_d = [0.0; HALF];
            let mut sign = [0.0; HALF];
            for lane in 0..HALF {
                let j = start + lane;
                // Not the diagonal, not the padding.
                #[expect(clippy::needless_bitwise_bool, reason = "no branch in a loop that must vectorise")]
                let keep = (j != i) & (j < n);
                g1[lane] = if keep { g1[lane] } else { 0.0 };
                sign[lane] = if j > i { 1.0 } else { -1.0 };
            }
            if P > 3 {
                let (sinc, slope) = sinc_lanes::<FMA>((theta_j, sin_j, cos_j), (theta_i, sin_i, cos_i));
                for lane in 0..HALF {
                    let (sinc, g1) = (sinc[lane], g1[lane]);
                    let damped = sinc * sinc * g1;
                    theory[lane] = damped * damped;
                    by_d[lane] = 4.0 * sinc * sinc * sinc * slope[lane] * g1 * g1;
                }
            } else {
                for lane in 0..HALF {
                    theory[lane] = g1[lane] * g1[lane];
                }
            }
            let mut w_integral = [0.0; HALF];
            let mut w_d = [0.0; HALF];
            for lane in 0..HALF {
                let residual = values[lane] - mul_add::<FMA>(contrast, theory[lane], scaling_offset);
                w_integral[lane] = -2.0 * decay * theory[lane] * sign[lane] * residual;
                w_d[lane] = by_d[lane] * residual;
            }
            add_lanes(&mut row_integral, &w_integral);
            add_lanes(column_integral, &w_integral);
            if P > 3 {
                add_lanes(&mut row_d, &w_d);
                add_lanes(column_d, &w_d);
            }
        }
        // The rows' part of `sum w (h_j - h_i)`: `- h_i sum_j w_ij`.
        let (row_integral, row_d) = (row_integral.iter().sum::<f64>(), row_d.iter().sum::<f64>());
        for k in 0..3 {
            out.residual[k] -= frames.diffusion[k][i] * row_integral;
        }
        for k in 3..P {
            out.residual[k] -= frames.theta[k - 3][i] * row_d;
        }
    }
    // The columns' part: `sum_j h_j sum_i w_ij`.
    for k in 0..P {
        let (h, w) = if k < 3 { (frames.diffusion[k], &*column_integral) } else { (frames.theta[k - 3], &*column_d) };
        let mut lanes = [0.0; HALF];
        for (h, w) in h.as_chunks::<HALF>().0.iter().zip(w) {
            for lane in 0..HALF {
                lanes[lane] = mul_add::<FMA>(h[lane], w[lane], lanes[lane]);
            }
        }
        out.residual[k] += lanes.iter().sum::<f64>();
    }
    out
}

/// Per lane, `sinc(d)` and its slope for `d = theta_j - theta_i`, from the
/// sines and cosines of the thetas, with the series near 0. Array at a time,
/// one small loop per step: each vectorises (one loop over the whole element
/// did not, LLVM turned the series' select into a branch: 53 -> 40 ms for
/// the gradient at (23, 1000)).
#[inline(always)]
fn sinc_lanes<const FMA: bool>(
    (theta_j, sin_j, cos_j): (&[f64; HALF], &[f64; HALF], &[f64; HALF]),
    (theta_i, sin_i, cos_i): (f64, f64, f64),
) -> ([f64; HALF], [f64; HALF]) {
    let mut d = [0.0; HALF];
    let mut sine = [0.0; HALF];
    let mut cosine = [0.0; HALF];
    for lane in 0..HALF {
        d[lane] = theta_j[lane] - theta_i;
        sine[lane] = mul_add::<FMA>(sin_j[lane], cos_i, -(cos_j[lane] * sin_i));
        cosine[lane] = mul_add::<FMA>(cos_j[lane], cos_i, sin_j[lane] * sin_i);
    }
    let mut sinc = [0.0; HALF];
    let mut slope = [0.0; HALF];
    // Most chunks have no argument near 0: the series only where one has
    // (a branch per chunk, outside the lane loops).
    if d.iter().any(|d| d.abs() < SERIES_LIMIT) {
        let mut series = [0.0; HALF];
        let mut series_slope = [0.0; HALF];
        for lane in 0..HALF {
            series[lane] = sinc_series::<FMA>(d[lane]);
            series_slope[lane] = sinc_slope_series::<FMA>(d[lane]);
        }
        for lane in 0..HALF {
            let near = d[lane].abs() < SERIES_LIMIT;
            let inverse = 1.0 / if near { 1.0 } else { d[lane] };
            let quotient = sine[lane] * inverse;
            let quotient_slope = (cosine[lane] - quotient) * inverse;
            sinc[lane] = if near { series[lane] } else { quotient };
            slope[lane] = if near { series_slope[lane] } else { quotient_slope };
        }
    } else {
        for lane in 0..HALF {
            let inverse = 1.0 / d[lane];
            sinc[lane] = sine[lane] * inverse;
            slope[lane] = (cosine[lane] - sinc[lane]) * inverse;
        }
    }
    (sinc, slope)
}

/// `sums[lane] += values[lane]`.
#[inline(always)]
fn add_lanes(sums: &mut [f64; HALF], values: &[f64; HALF]) {
    for (sum, value) in sums.iter_mut().zip(values) {
        *sum += value;
    }
}

/// `d/dd (sin(d) / d) = (cos d - sinc d) / d` from its series, for `|d| < SERIES_LIMIT`,
/// where the quotient cancels: `-d/3 + d^3/30 - d^5/840 + d^7/45360`
/// (the next term, `d^9 / 3991680`, is below 1e-25 there).
#[inline(always)]
pub(super) fn sinc_slope_series<const FMA: bool>(d: f64) -> f64 {
    let d2 = d * d;
    let poly = mul_add::<FMA>(d2, 1.0 / 45_360.0, -1.0 / 840.0);
    let poly = mul_add::<FMA>(d2, poly, 1.0 / 30.0);
    let poly = mul_add::<FMA>(d2, poly, -1.0 / 3.0);
    d * poly
}
