//! Small dense linear algebra for the normal equations (at most 7 physical
//! parameters, a 2 x 2 block per angle): Cholesky solves and inverses, and
//! the symmetric eigendecomposition that names non-identifiable
//! combinations. Row-major `n x n` slices throughout; a crate such as
//! `faer` would bring far more than these three routines.

/// The Cholesky factor `L` (lower, row-major) of the symmetric matrix `a`,
/// or `None` when `a` is not positive definite (a pivot at most 0, or NaN).
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum.is_nan() || sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L L^T x = b` in place, `l` from [`cholesky`].
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * b[k];
        }
        b[i] = sum / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut sum = b[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * b[k];
        }
        b[i] = sum / l[i * n + i];
    }
}

/// The inverse of the symmetric positive definite `a`, or `None`.
pub(crate) fn inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, n)?;
    let mut out = vec![0.0; n * n];
    let mut column = vec![0.0; n];
    for j in 0..n {
        column.fill(0.0);
        column[j] = 1.0;
        cholesky_solve(&l, n, &mut column);
        for i in 0..n {
            out[i * n + j] = column[i];
        }
    }
    // Symmetric up to rounding; make it exactly so.
    for i in 0..n {
        for j in 0..i {
            let mean = 0.5 * (out[i * n + j] + out[j * n + i]);
            out[i * n + j] = mean;
            out[j * n + i] = mean;
        }
    }
    Some(out)
}

/// Eigenvalues (ascending) and unit eigenvectors (`vectors[k]` belongs to
/// `values[k]`) of the symmetric `a`, by cyclic Jacobi rotations: accurate
/// to rounding in every eigenvalue, including tiny ones, which is what
/// deciding identifiability needs.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j].powi(2))
            .sum();
        let diagonal: f64 = (0..n).map(|i| m[i * n + i].powi(2)).sum();
        if off <= 1e-32 * diagonal || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| m[x * n + x].total_cmp(&m[y * n + y]));
    let values = order.iter().map(|&k| m[k * n + k]).collect();
    let vectors = order.iter().map(|&k| (0..n).map(|i| v[i * n + k]).collect()).collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric positive definite matrix with a known inverse: the
    /// Lehmer-like `a_ij = min(i, j) + 1` (its inverse is tridiagonal).
    fn lehmer(n: usize) -> Vec<f64> {
        (0..n * n).map(|f| (f / n).min(f % n) as f64 + 1.0).collect()
    }

    #[test]
    fn cholesky_solves_and_inverts() {
        let n = 5;
        let a = lehmer(n);
        let inverse = inverse(&a, n).unwrap();
        // The inverse of min(i, j) + 1 is tridiagonal: 2 on the diagonal (1
        // in the last row), -1 beside it.
        for i in 0..n {
            for j in 0..n {
                let expected = match (i.abs_diff(j), i == n - 1) {
                    (0, false) => 2.0,
                    (0, true) => 1.0,
                    (1, _) => -1.0,
                    _ => 0.0,
                };
                assert!((inverse[i * n + j] - expected).abs() < 1e-12, "[{i}][{j}] = {}", inverse[i * n + j]);
            }
        }
        let l = cholesky(&a, n).unwrap();
        let mut b: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j] * (j as f64 - 1.5)).sum()).collect();
        cholesky_solve(&l, n, &mut b);
        for (j, &x) in b.iter().enumerate() {
            assert!((x - (j as f64 - 1.5)).abs() < 1e-12);
        }
        // Not positive definite: refused, not garbage.
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky(&[f64::NAN], 1).is_none());
    }

    #[test]
    fn jacobi_finds_eigenpairs_down_to_tiny_eigenvalues() {
        // Q diag(values) Q^T with a rotation Q: eigenvalues from 1e-14 to 3.
        let values = [3.0, 1.0, 1e-14];
        let (c, s) = (0.6f64, 0.8f64);
        let q = [
            c,
            -s,
            0.0,
            s * 0.5_f64.sqrt(),
            c * 0.5_f64.sqrt(),
            -0.5_f64.sqrt(),
            s * 0.5_f64.sqrt(),
            c * 0.5_f64.sqrt(),
            0.5_f64.sqrt(),
        ];
        let a: Vec<f64> =
            (0..9).map(|f| (0..3).map(|k| q[(f / 3) * 3 + k] * values[k] * q[(f % 3) * 3 + k]).sum()).collect();
        let (found, vectors) = symmetric_eigen(&a, 3);
        let mut expected = values.to_vec();
        expected.sort_by(f64::total_cmp);
        for (got, want) in found.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-14, "{found:?}");
        }
        // A v = lambda v for each pair, unit length.
        for (value, vector) in found.iter().zip(&vectors) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * vector[j]).sum();
                assert!((av - value * vector[i]).abs() < 1e-14);
            }
            assert!((vector.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
