//! The variable-projection normal equations of the physical parameters,
//! from the objective's per-angle sums (see `homodyne-kernels`'
//! `NormalEquations` for the matrix they form), and the covariance of every
//! fitted quantity.
//!
//! The fit minimises `S = sum over angles a and points of ((E - c_a T - o_a) / s_a)^2`,
//! the sum of the angles' chi-squared. Its Jacobian with respect to
//! `(p, c_a, o_a)` gives the Gauss-Newton matrix
//!
//! ```text
//! [ H_pp   B_a ]     H_pp = sum_a c_a^2 sum dT dT^T / s_a^2,  B_a = [c_a sum T dT, c_a sum dT] / s_a^2,
//! [ B_a^T  C_a ]     C_a  = [[sum T^2, sum T], [sum T, P]] / s_a^2,
//! ```
//!
//! and because `(c_a, o_a)` are solved exactly at every `p`, the gradient
//! with respect to them is 0: the Gauss-Newton step of `p` alone uses the
//! Schur complement `H = H_pp - sum_a B_a C_a^-1 B_a^T` (Kaufman's variable
//! projection), which is also the inverse of the `p` block of the full
//! inverse: the covariance of `p` with the scaling fitted too.

use homodyne_kernels::NormalEquations;

use crate::linalg;

/// The reduced (Schur complement) system at one evaluation.
#[derive(Debug, Clone)]
pub(crate) struct Reduced {
    /// Number of physical parameters.
    pub(crate) n: usize,
    /// `H`, row-major `n x n`.
    pub(crate) matrix: Vec<f64>,
    /// `J^T rho`, half the gradient of `S` (length `n`).
    pub(crate) gradient: Vec<f64>,
    /// `S`, the sum of the angles' chi-squared.
    pub(crate) chi2: f64,
    angles: Vec<AngleBlock>,
}

/// One angle's scaling block: `C_a` (`[cc, co, oo]`), its inverse, and `B_a` (`n` rows of 2).
#[derive(Debug, Clone)]
struct AngleBlock {
    inverse: Option<[f64; 3]>,
    coupling: Vec<[f64; 2]>,
}

impl Reduced {
    /// The system from the sums of every selected angle, `n_frames^2` points each.
    pub(crate) fn new(normal: &NormalEquations, n: usize, n_points: f64) -> Reduced {
        let mut matrix = vec![0.0; n * n];
        let mut gradient = vec![0.0; n];
        let mut chi2 = 0.0;
        let mut angles = Vec::with_capacity(normal.angles.len());
        for angle in &normal.angles {
            let fit = &angle.fit;
            let (c, weight) = (fit.contrast, 1.0 / (fit.sigma * fit.sigma));
            chi2 += fit.chi2;
            let block = [weight * fit.theory_square_sum, weight * fit.theory_sum, weight * n_points];
            let det = block[0] * block[2] - block[1] * block[1];
            // Where the objective kept contrast 1, offset 0 (a nearly constant
            // theory: its decision, in double-double), so does the projection.
            let inverse = (fit.scaling_fitted && det > 0.0).then(|| [block[2] / det, -block[1] / det, block[0] / det]);
            let coupling: Vec<[f64; 2]> =
                (0..n).map(|k| [c * weight * angle.theory[k], c * weight * angle.one[k]]).collect();
            for k in 0..n {
                gradient[k] -= c * weight * angle.residual[k];
                for l in 0..n {
                    let mut value = c * c * weight * angle.products[k * n + l];
                    if let Some([icc, ico, ioo]) = inverse {
                        let ([bk0, bk1], [bl0, bl1]) = (coupling[k], coupling[l]);
                        value -= bk0 * (icc * bl0 + ico * bl1) + bk1 * (ico * bl0 + ioo * bl1);
                    }
                    matrix[k * n + l] += value;
                }
            }
            angles.push(AngleBlock { inverse, coupling });
        }
        // Exactly symmetric (the Schur subtraction rounds differently per side).
        for k in 0..n {
            for l in 0..k {
                let mean = 0.5 * (matrix[k * n + l] + matrix[l * n + k]);
                matrix[k * n + l] = mean;
                matrix[l * n + k] = mean;
            }
        }
        Reduced { n, matrix, gradient, chi2, angles }
    }

    /// The matrix restricted to the indices `free`, row-major.
    pub(crate) fn submatrix(&self, free: &[usize]) -> Vec<f64> {
        free.iter().flat_map(|&k| free.iter().map(move |&l| self.matrix[k * self.n + l])).collect()
    }
}

/// Covariances at the optimum, scaled by the reduced chi-squared.
#[derive(Debug, Clone)]
pub(crate) struct Covariance {
    /// Of the physical parameters, `n x n` (zero rows and columns for the fixed ones).
    pub(crate) params: Vec<f64>,
    /// Per angle, the variances of contrast and offset and their covariance.
    pub(crate) scaling: Vec<[f64; 3]>,
}

/// Why a covariance could not be computed: the free parameters (by
/// position in `free`) that a singular matrix involves.
#[derive(Debug, Clone)]
pub(crate) struct Singular {
    pub(crate) involved: Vec<usize>,
}

/// The covariance of the free parameters `free` and of every angle's
/// scaling, `(J^T J)^-1` of the full problem (`p`, every contrast and
/// offset); the caller scales it by the residual variance.
pub(crate) fn covariance(reduced: &Reduced, free: &[usize]) -> Result<Covariance, Singular> {
    let n = reduced.n;
    let m = free.len();
    let inverse = scaled_inverse(&reduced.submatrix(free), m)?;
    let mut params = vec![0.0; n * n];
    for (a, &k) in free.iter().enumerate() {
        for (b, &l) in free.iter().enumerate() {
            params[k * n + l] = inverse[a * m + b];
        }
    }
    let mut scaling = Vec::with_capacity(reduced.angles.len());
    for angle in &reduced.angles {
        let Some([icc, ico, ioo]) = angle.inverse else {
            // The scaling was not fitted (contrast 1, offset 0, fixed).
            scaling.push([0.0; 3]);
            continue;
        };
        // C^-1 + C^-1 B^T H^-1 B C^-1, with B restricted to the free rows.
        let projected: Vec<[f64; 2]> = free
            .iter()
            .map(|&k| {
                let [b0, b1] = angle.coupling[k];
                [icc * b0 + ico * b1, ico * b0 + ioo * b1]
            })
            .collect();
        let mut extra = [0.0; 3];
        for a in 0..m {
            for b in 0..m {
                let h = inverse[a * m + b];
                extra[0] += projected[a][0] * h * projected[b][0];
                extra[1] += projected[a][0] * h * projected[b][1];
                extra[2] += projected[a][1] * h * projected[b][1];
            }
        }
        scaling.push([icc + extra[0], ico + extra[1], ioo + extra[2]]);
    }
    Ok(Covariance { params, scaling })
}

/// The inverse of the symmetric `matrix` (`m x m`), computed on its unit
/// diagonal scaling (the physical parameters span 10 decades); or the
/// positions of the parameters that a (numerically) singular matrix involves.
pub(crate) fn scaled_inverse(matrix: &[f64], m: usize) -> Result<Vec<f64>, Singular> {
    let diagonal: Vec<f64> = (0..m).map(|k| matrix[k * m + k]).collect();
    let flat: Vec<usize> = (0..m).filter(|&k| diagonal[k].is_nan() || diagonal[k] <= 0.0).collect();
    if !flat.is_empty() {
        return Err(Singular { involved: flat });
    }
    let scale: Vec<f64> = diagonal.iter().map(|d| 1.0 / d.sqrt()).collect();
    let correlation: Vec<f64> = (0..m * m).map(|flat| matrix[flat] * scale[flat / m] * scale[flat % m]).collect();
    // Condition of the unit-diagonal matrix: beyond 1e12 the data do not
    // separate the parameters (a correlation of 1 - 1e-12); the smallest
    // eigenvector names the combination.
    let (values, vectors) = linalg::symmetric_eigen(&correlation, m);
    if values.first().is_some_and(|&smallest| smallest.is_nan() || smallest <= 1e-12 * values[m - 1]) {
        let direction = &vectors[0];
        let mut involved: Vec<usize> = (0..m).filter(|&k| direction[k].abs() > 0.1).collect();
        involved.sort_by(|&x, &y| direction[y].abs().total_cmp(&direction[x].abs()));
        return Err(Singular { involved });
    }
    let inverse = linalg::inverse(&correlation, m).ok_or_else(|| Singular { involved: (0..m).collect() })?;
    Ok((0..m * m).map(|flat| inverse[flat] * scale[flat / m] * scale[flat % m]).collect())
}

/// The normal equations of the independent data when every angle's data
/// are symmetric: each off-diagonal value is then one measurement counted
/// twice, so the sums over all points are halved for the off-diagonal part
/// (the diagonal's theory is 1 and its derivatives 0), and chi-squared is
/// that of the upper triangle and the diagonal. Returns them with the
/// number of independent points per angle, `N (N + 1) / 2`.
pub(crate) fn unique_pairs(
    normal: &NormalEquations,
    diagonal: &[(f64, f64)],
    n_frames: usize,
) -> (NormalEquations, f64) {
    let n = n_frames as f64;
    let mut unique = normal.clone();
    for (angle, &(sum, squares)) in unique.angles.iter_mut().zip(diagonal) {
        let fit = &mut angle.fit;
        let shift = fit.contrast + fit.offset;
        let diagonal_chi2 = (squares - 2.0 * shift * sum + n * shift * shift).max(0.0) / (fit.sigma * fit.sigma);
        fit.chi2 = 0.5 * (fit.chi2 + diagonal_chi2);
        fit.theory_sum = 0.5 * (fit.theory_sum + n);
        fit.theory_square_sum = 0.5 * (fit.theory_square_sum + n);
        for value in angle.residual.iter_mut().chain(&mut angle.theory).chain(&mut angle.one).chain(&mut angle.products)
        {
            *value *= 0.5;
        }
    }
    (unique, 0.5 * n * (n + 1.0))
}
