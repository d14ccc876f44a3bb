//! The classic tests against scipy's results, and Holm against R's `p.adjust`.

use homodyne_perf::stats::{holm, mann_whitney_u, t_quantile, trim_slow_side, welch_t};

fn close(got: f64, expected: f64, tolerance: f64) {
    assert!((got - expected).abs() <= tolerance * expected.abs().max(1e-300), "got {got}, expected {expected}");
}

#[test]
fn welch_t_matches_scipy() {
    // scipy.stats.ttest_ind(b, a, equal_var=False, alternative="greater")
    let a = [10.1, 10.3, 9.8, 10.0, 10.4, 10.2, 9.9];
    let b = [10.6, 10.9, 10.4, 11.2, 10.7, 10.5];
    let test = welch_t(&a, &b).unwrap();
    close(test.t, 4.261_044_317_270_135, 1e-12);
    close(test.df, 9.105_113_454_368_412, 1e-12);
    close(test.p_greater, 0.001_026_493_430_596_214, 1e-8);
    close(test.p_less, 0.998_973_506_569_403_8, 1e-10);
    close(t_quantile(0.975, 10.0), 2.228_138_851_986_274, 1e-10);
}

#[test]
fn mann_whitney_matches_scipy() {
    // scipy.stats.mannwhitneyu(b, a, alternative="greater", method="asymptotic")
    let a = [10.1, 10.3, 9.8, 10.0, 10.4, 10.2, 9.9];
    let b = [10.6, 10.9, 10.4, 11.2, 10.7, 10.5];
    let test = mann_whitney_u(&a, &b).unwrap();
    close(test.u, 41.5, 1e-15);
    close(test.p_greater, 0.002_111_031_740_255_382, 1e-8);
    close(test.p_less, 0.998_668_289_854_602_8, 1e-8);
    // With ties.
    let x = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0];
    let y = [2.0, 3.0, 4.0, 4.0, 5.0, 5.0];
    let test = mann_whitney_u(&x, &y).unwrap();
    close(test.u, 33.5, 1e-15);
    close(test.p_greater, 0.039_131_214_738_573_09, 1e-8);
}

#[test]
fn holm_matches_r() {
    // p.adjust(c(0.01, 0.04, 0.03, 0.005), method = "holm")
    let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
    for (got, expected) in adjusted.iter().zip([0.03, 0.06, 0.06, 0.02]) {
        close(*got, expected, 1e-12);
    }
    assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
    assert!(holm(&[]).is_empty());
}

#[test]
fn trimming_drops_the_slow_side_only() {
    // 10 values, keep the fastest 7 (65%, rounded up); the winsorised sample caps the rest at the 7th.
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 200.0, 300.0, 400.0];
    let trimmed = trim_slow_side(&values).unwrap();
    assert_eq!((trimmed.n, trimmed.kept), (10, 7));
    close(trimmed.mean, 4.0, 1e-15);
    let winsorized = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 7.0, 7.0, 7.0];
    let mean = winsorized.iter().sum::<f64>() / 10.0;
    let variance = winsorized.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 9.0;
    close(trimmed.mean_variance, 9.0 * variance / (7.0 * 6.0), 1e-12);
}
