//! Correlation, chi-squared and accurate summation against naive references,
//! on random and adversarial data.

use homodyne_kernels::{
    accurate_sum, chi_squared_batch, chi_squared_batch_into, chi_squared_weighted, chi_squared_weighted_with_dof,
    correlation_matrix, fast_chi_squared, fast_correlation,
};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

use crate::{check_close, uniform};

/// Two-pass Pearson with exactly computed means (the independent reference).
fn naive_correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean_x = accurate_sum(x) / n;
    let mean_y = accurate_sum(y) / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mean_x, b - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

fn naive_pearson(observed: &[f64], expected: &[f64]) -> f64 {
    observed.iter().zip(expected).map(|(o, e)| (o - e) * (o - e) / e).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn correlation_equals_the_two_pass_reference(
        pairs in prop::collection::vec((-1e3..1e3f64, -1e3..1e3f64), 2..500),
        offset in prop_oneof![Just(0.0), Just(1e9), Just(-1e6), -1e4..1e4f64],
        slope in -3.0..3.0f64,
    ) {
        let x: Vec<f64> = pairs.iter().map(|(a, _)| a + offset).collect();
        let y: Vec<f64> = pairs.iter().map(|(a, b)| slope * a + b).collect();
        let reference = naive_correlation(&x, &y);
        prop_assume!(reference.is_finite());
        let got = fast_correlation(&x, &y).unwrap();
        prop_assert!((got - reference).abs() <= 1e-11 * reference.abs().max(1e-3), "{got} vs {reference}");
    }

    #[test]
    fn chi_squared_equals_the_plain_loop(
        pairs in prop::collection::vec((0.0..10.0f64, 1e-3..10.0f64), 1..2000),
    ) {
        let (observed, expected): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let got = fast_chi_squared(&observed, &expected).unwrap();
        let reference = naive_pearson(&observed, &expected);
        prop_assert!((got - reference).abs() <= 1e-12 * reference.max(1e-300), "{got} vs {reference}");
    }
}

#[test]
fn correlation_is_exact_far_from_zero() {
    // Mean 1e9 and unit variance: the one-pass textbook formula returns noise here.
    let n = 100_000;
    let u = uniform(n, 7);
    let v = uniform(n, 8);
    let x: Vec<f64> = u.iter().map(|u| 1e9 + 3.4641 * (u - 0.5)).collect();
    let y: Vec<f64> = x.iter().zip(&v).map(|(x, v)| 0.7 * (x - 1e9) + (v - 0.5) + 1e9).collect();
    // x - 1e9 is exact, so the reference on centred data is accurate.
    let centred_x: Vec<f64> = x.iter().map(|x| x - 1e9).collect();
    let centred_y: Vec<f64> = y.iter().map(|y| y - 1e9).collect();
    check_close("r at mean 1e9", fast_correlation(&x, &y).unwrap(), naive_correlation(&centred_x, &centred_y), 1e-10);
    // Sorted data: the first points are far from the mean, which forces the second pass.
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let r_sorted = fast_correlation(&sorted, &sorted.iter().map(|s| 2.0 * s).collect::<Vec<_>>()).unwrap();
    check_close("r of sorted data with itself", r_sorted, 1.0, 1e-14);
}

#[test]
fn correlation_is_exact_for_near_zero_variance() {
    // A spread of 1e-12 around 1: a few thousand representable values.
    let u = uniform(10_000, 21);
    let v = uniform(10_000, 22);
    let x: Vec<f64> = u.iter().map(|u| 1.0 + 1e-12 * u).collect();
    let y: Vec<f64> = u.iter().zip(&v).map(|(u, v)| 1.0 + 1e-12 * (u + 0.3 * v)).collect();
    // x - 1 and y - 1 are exact, so the reference on them is accurate.
    let centred_x: Vec<f64> = x.iter().map(|x| x - 1.0).collect();
    let centred_y: Vec<f64> = y.iter().map(|y| y - 1.0).collect();
    check_close(
        "r at variance 1e-25",
        fast_correlation(&x, &y).unwrap(),
        naive_correlation(&centred_x, &centred_y),
        1e-12,
    );
}

#[test]
fn correlation_spans_1e_minus_300_to_1e300() {
    let u = uniform(1000, 9);
    let v = uniform(1000, 10);
    let reference = naive_correlation(&u, &v);
    for scale in [1e-300, 1e-150, 1.0, 1e150, 1e300] {
        let x: Vec<f64> = u.iter().map(|u| u * scale).collect();
        let y: Vec<f64> = v.iter().map(|v| v * scale).collect();
        check_close(&format!("r at scale {scale:e}"), fast_correlation(&x, &y).unwrap(), reference, 1e-12);
    }
}

#[test]
fn correlation_does_not_depend_on_the_number_of_threads() {
    let n = 3_000_000;
    let x = uniform(n, 11);
    let y: Vec<f64> = x.iter().zip(uniform(n, 12)).map(|(x, e)| x + 0.1 * e).collect();
    let results: Vec<f64> = [1, 2, 3]
        .into_iter()
        .map(|n_threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n_threads).build().unwrap();
            pool.install(|| fast_correlation(&x, &y).unwrap())
        })
        .collect();
    assert!(results.iter().all(|r| r.to_bits() == results[0].to_bits()), "{results:?}");
    check_close("r at 3M points", results[0], naive_correlation(&x, &y), 1e-12);
}

#[test]
fn correlation_matrix_equals_pairwise_correlations() {
    let a = Array2::from_shape_vec((5, 300), uniform(1500, 13)).unwrap();
    let b_values: Vec<f64> = uniform(900, 14).iter().zip(a.iter()).map(|(u, a)| 0.3 * u + a + 1e6).collect();
    let b = Array2::from_shape_vec((3, 300), b_values).unwrap();
    let got = correlation_matrix(a.view(), b.view()).unwrap();
    assert_eq!(got.shape(), [5, 3]);
    for ((row, col), &value) in got.indexed_iter() {
        let reference = naive_correlation(a.row(row).as_slice().unwrap(), b.row(col).as_slice().unwrap());
        check_close(&format!("r[{row}][{col}]"), value, reference, 1e-12);
    }
}

#[test]
fn chi_squared_batch_equals_rows_and_fills_the_callers_buffer() {
    let observed = Array2::from_shape_vec((7, 1000), uniform(7000, 15)).unwrap();
    let expected = Array2::from_shape_vec((7, 1000), uniform(7000, 16).iter().map(|u| 0.5 + u).collect()).unwrap();
    let batch = chi_squared_batch(observed.view(), expected.view()).unwrap();
    let mut out = Array1::from_elem(7, f64::NAN);
    chi_squared_batch_into(observed.view(), expected.view(), out.view_mut()).unwrap();
    for row in 0..7 {
        let reference = naive_pearson(observed.row(row).as_slice().unwrap(), expected.row(row).as_slice().unwrap());
        check_close(&format!("row {row}"), batch[row], reference, 1e-12);
        assert_eq!(out[row], batch[row]);
    }
    // A transposed (non-contiguous) view gives the same rows.
    let observed_t = observed.t().to_owned();
    let expected_t = expected.t().to_owned();
    let from_columns = chi_squared_batch(observed_t.t(), expected_t.t()).unwrap();
    assert_eq!(from_columns, batch);
}

#[test]
fn chi_squared_is_accurate_at_extreme_scales_and_on_large_inputs() {
    for scale in [1e-300, 1.0, 1e300] {
        let expected: Vec<f64> = uniform(1000, 17).iter().map(|u| (1.0 + u) * scale).collect();
        let observed: Vec<f64> =
            expected.iter().zip(uniform(1000, 18)).map(|(e, u)| e + 0.1 * (u - 0.5) * scale).collect();
        // Reference on unscaled data, then scaled: sum((o - e)^2 / e) is linear in the scale.
        let unscaled = naive_pearson(
            &observed.iter().map(|o| o / scale).collect::<Vec<_>>(),
            &expected.iter().map(|e| e / scale).collect::<Vec<_>>(),
        );
        check_close(
            &format!("chi2 at scale {scale:e}"),
            fast_chi_squared(&observed, &expected).unwrap(),
            unscaled * scale,
            1e-12,
        );
    }
    let n = 1_000_000;
    let expected: Vec<f64> = uniform(n, 19).iter().map(|u| 1.0 + u).collect();
    let observed: Vec<f64> = expected.iter().zip(uniform(n, 20)).map(|(e, u)| e + 0.01 * (u - 0.5)).collect();
    let exact_ish: Vec<f64> = observed.iter().zip(&expected).map(|(o, e)| (o - e) * ((o - e) / e)).collect();
    check_close("chi2 at 1M points", fast_chi_squared(&observed, &expected).unwrap(), accurate_sum(&exact_ish), 1e-14);
}

#[test]
fn weighted_chi_squared_has_the_closed_form_p_value() {
    // With 2 degrees of freedom the survival function is exp(-chi2 / 2).
    let fit = chi_squared_weighted(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.0], &[0.5, 1.0, 2.0]).unwrap();
    check_close("chi2", fit.chi2, 1.0 + 0.0 + 0.25, 1e-15);
    assert_eq!(fit.dof, 2);
    check_close("reduced", fit.reduced, 0.625, 1e-15);
    check_close("p-value", fit.p_value, (-1.25f64 / 2.0).exp(), 1e-12);
    let custom = chi_squared_weighted_with_dof(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.0], &[0.5, 1.0, 2.0], 1).unwrap();
    assert_eq!(custom.dof, 1);
    check_close("reduced with dof 1", custom.reduced, 1.25, 1e-15);
}

/// `m * 2^e` for integers, so that exact sums can be computed in `i128`.
fn exact_terms(n: usize, seed: u64, condition: f64) -> (Vec<f64>, i128) {
    let u = uniform(2 * n, seed);
    let mut terms = Vec::with_capacity(n);
    let mut exact: i128 = 0;
    // Terms are multiples of 2^-30 below 2^80; pairs nearly cancel, leaving a
    // small sum, so that sum |x| / |sum x| is about `condition`.
    let big = (condition.log2().clamp(1.0, 100.0) as i32).min(80);
    for pair in 0..n / 2 {
        let magnitude = (u[2 * pair] * 2f64.powi(big + 30)).floor() as i128;
        let small = (u[2 * pair + 1] * 2f64.powi(30)).floor() as i128;
        for value in [magnitude + small, -magnitude] {
            // Rounding to f64 loses low bits of large terms; the exact sum is
            // that of the rounded terms, which are integers times 2^-30.
            let rounded = value as f64;
            terms.push(rounded / 2f64.powi(30));
            exact += rounded as i128;
        }
    }
    (terms, exact)
}

fn ulps_apart(a: f64, b: f64) -> u64 {
    let key = |value: f64| {
        let bits = value.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    key(a).abs_diff(key(b))
}

#[test]
fn accurate_sum_is_within_a_few_ulps_of_the_exact_sum() {
    let mut worst = 0;
    for (seed, condition) in [(1, 1e3), (2, 1e8), (3, 1e12), (4, 1e16), (5, 1e20)] {
        let (terms, exact) = exact_terms(10_000, seed, condition);
        let exact_rounded = exact as f64 / 2f64.powi(30);
        let got = accurate_sum(&terms);
        let plain: f64 = terms.iter().sum();
        let distance = ulps_apart(got, exact_rounded);
        worst = worst.max(distance);
        assert!(
            distance <= 2,
            "condition {condition:e}: {distance} ulps (plain sum is {} ulps off)",
            ulps_apart(plain, exact_rounded)
        );
    }
    assert!(worst <= 2);
}
