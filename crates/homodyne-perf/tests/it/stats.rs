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

/// The capped rank-sum test against a naive enumeration of every
/// assignment of the pooled runs (mid-ranks, the same outlier rule written
/// out here), on samples with ties, outliers and neither.
#[test]
fn rank_sum_test_matches_enumeration() {
    fn naive(first: &[f64], second: &[f64]) -> (f64, f64) {
        let pooled: Vec<f64> = first.iter().chain(second).copied().collect();
        let n = pooled.len();
        let rank = |value: f64| {
            let below = pooled.iter().filter(|&&other| other < value).count() as f64;
            let equal = pooled.iter().filter(|&&other| other == value).count() as f64;
            below + f64::midpoint(equal, 1.0)
        };
        let mut sorted = pooled.clone();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 { sorted[n / 2] } else { f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]) };
        let sigma = ((median - sorted[(n - 1) / 10]) / 1.281_551_566).max(0.01);
        let score = |value: f64| if value > median + 4.0 * sigma { f64::midpoint(n as f64, 1.0) } else { rank(value) };
        let scores: Vec<f64> = pooled.iter().map(|&value| score(value)).collect();
        let observed: f64 = scores[first.len()..].iter().sum();
        let (mut greater, mut less, mut total) = (0.0, 0.0, 0.0);
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != second.len() {
                continue;
            }
            let sum: f64 = (0..n).filter(|&i| mask >> i & 1 == 1).map(|i| scores[i]).sum();
            total += 1.0;
            greater += f64::from(u8::from(sum >= observed - 1e-9));
            less += f64::from(u8::from(sum <= observed + 1e-9));
        }
        (greater / total, less / total)
    }
    let u = homodyne_testkit::uniform(200, 31);
    let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
        ((0..7).map(|i| u[i]).collect(), (7..14).map(|i| u[i] + 0.3).collect()),
        ((0..6).map(|i| (u[i] * 4.0).round()).collect(), (6..13).map(|i| (u[i] * 4.0).round()).collect()),
        (vec![0.0, 0.01, 0.02, 0.5, 0.03, -0.01], vec![0.05, 0.06, 0.9, 0.04, 0.07, 0.055, 0.065]),
        ((0..8).map(|i| u[i + 20]).collect(), (8..16).map(|i| u[i + 20] - 0.2).collect()),
    ];
    for (first, second) in cases {
        let test = homodyne_perf::stats::rank_sum_test(&first, &second).unwrap();
        let (greater, less) = naive(&first, &second);
        close(test.p_greater, greater, 1e-12);
        close(test.p_less, less, 1e-12);
        assert!(test.exact);
        // Hodges–Lehmann: the median of all differences, naively.
        let mut differences: Vec<f64> = second.iter().flat_map(|b| first.iter().map(move |a| b - a)).collect();
        differences.sort_by(f64::total_cmp);
        let m = differences.len();
        let median =
            if m % 2 == 1 { differences[m / 2] } else { f64::midpoint(differences[m / 2 - 1], differences[m / 2]) };
        close(test.shift, median, 1e-12);
        assert!(test.shift_ci.0 <= test.shift && test.shift <= test.shift_ci.1);
    }
    // Five against five, completely separated: the one extreme assignment of 252.
    let test = homodyne_perf::stats::rank_sum_test(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
    close(test.p_greater, 1.0 / 252.0, 1e-12);
    assert_eq!(test.arrangements, 252.0);
}

/// The Moses interval covers the true shift about 95% of the time.
#[test]
fn the_shift_interval_covers_the_truth() {
    let noise = homodyne_testkit::uniform(2000 * 24, 77);
    let covered = (0..2000)
        .filter(|trial| {
            let values = &noise[trial * 24..(trial + 1) * 24];
            let first: Vec<f64> = values[..12].to_vec();
            let second: Vec<f64> = values[12..].iter().map(|v| v + 0.1).collect();
            let (low, high) = homodyne_perf::stats::rank_sum_test(&first, &second).unwrap().shift_ci;
            low <= 0.1 && 0.1 <= high
        })
        .count();
    assert!((1860..=1960).contains(&covered), "covered {covered}/2000");
}
