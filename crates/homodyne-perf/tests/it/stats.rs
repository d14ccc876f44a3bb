//! The classic tests against scipy's results, and Holm against R's `p.adjust`.

use homodyne_perf::stats::{fastest_runs_shift, holm, mann_whitney_u, t_quantile, trim_slow_side, welch_t};

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

/// The fastest-runs interval against a naive inversion of the precedence
/// test: for shifts on a fine grid, the probability (by enumerating every
/// assignment of the pooled runs) that the runs at least as fast as the
/// `r`-th fastest of one side all come from that side, with `r` the
/// smallest count that makes it at most 5%; a shift is inside the interval
/// exactly when neither side's test rejects it.
#[test]
fn the_fastest_runs_interval_inverts_the_precedence_tests() {
    // P(the r fastest of the pooled n1 + n2 runs all from the side of n1), by enumeration.
    fn all_from_one_side(n1: usize, n2: usize, r: usize) -> f64 {
        let n = n1 + n2;
        let (mut hits, mut total) = (0u64, 0u64);
        for mask in 0u32..(1 << n) {
            // Bit i set: the i-th fastest run belongs to the side of n1.
            if mask.count_ones() as usize != n1 {
                continue;
            }
            total += 1;
            hits += u64::from((0..r).all(|i| mask >> i & 1 == 1));
        }
        hits as f64 / total as f64
    }
    let depth = |n1: usize, n2: usize| (1..=n1).find(|&r| all_from_one_side(n1, n2, r) <= 0.05);
    let u = homodyne_testkit::uniform(400, 91);
    for (case, (n1, n2)) in [(5, 5), (4, 7), (7, 4), (6, 6), (8, 5)].into_iter().enumerate() {
        let first: Vec<f64> = (0..n1).map(|i| u[case * 20 + i]).collect();
        let second: Vec<f64> = (0..n2).map(|i| u[case * 20 + 10 + i] + 0.25).collect();
        let got = fastest_runs_shift(&first, &second, 0.05);
        let (Some(r), Some(s)) = (depth(n1, n2), depth(n2, n1)) else {
            assert_eq!(got, None, "{n1} vs {n2}");
            continue;
        };
        let (low, high) = got.expect("both depths exist");
        let sorted = |values: &[f64]| {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted
        };
        let accepted = |shift: f64| {
            let shifted: Vec<f64> = second.iter().map(|value| value - shift).collect();
            let (first_sorted, shifted_sorted) = (sorted(&first), sorted(&shifted));
            // Too small a shift: the r fastest pooled runs all from `first`.
            let too_small = shifted_sorted[0] > first_sorted[r - 1];
            // Too large: the s fastest all from `second - shift`.
            let too_large = first_sorted[0] > shifted_sorted[s - 1];
            !too_small && !too_large
        };
        for step in -400..=800 {
            let shift = f64::from(step) * 0.001;
            let inside = low < shift && shift < high;
            let outside = shift < low || shift > high;
            if inside {
                assert!(accepted(shift), "{n1} vs {n2}: {shift} inside [{low}, {high}] but rejected");
            }
            if outside {
                assert!(!accepted(shift), "{n1} vs {n2}: {shift} outside [{low}, {high}] but accepted");
            }
        }
    }
    // Too few runs for a 5% bound: with 2 against 2, the fastest run is on
    // either side with probability 1/2 at best.
    assert_eq!(fastest_runs_shift(&[1.0, 2.0], &[1.5, 2.5], 0.05), None);
}

/// On runs that are each either at full speed or, with probability 0.6,
/// 20–60% slower (the noise of a shared machine), the interval covers the
/// true shift at least 90% of the time and is far narrower than the spread.
#[test]
fn the_fastest_runs_interval_covers_the_truth_under_machine_phases() {
    let u = homodyne_testkit::uniform(2000 * 28 * 3, 78);
    let mut next = 0;
    let mut draw = || {
        next += 1;
        u[next - 1]
    };
    let mut run = |shift: f64| {
        let jitter = 0.015 * (draw() - 0.5);
        let slow = if draw() < 0.6 { (1.2 + 0.4 * draw()).ln() } else { 0.0 };
        shift + jitter + slow
    };
    let (mut covered, mut width_sum) = (0, 0.0);
    for _ in 0..2000 {
        let first: Vec<f64> = (0..14).map(|_| run(0.0)).collect();
        let second: Vec<f64> = (0..14).map(|_| run(0.1)).collect();
        let (low, high) = fastest_runs_shift(&first, &second, 0.05).expect("14 a side");
        covered += usize::from(low <= 0.1 && 0.1 <= high);
        width_sum += high - low;
    }
    assert!(covered >= 1800, "covered {covered}/2000");
    let mean_width = width_sum / 2000.0;
    assert!(mean_width < 0.1, "mean width {mean_width} (the slow runs alone spread over 0.29)");
}

/// The selection of one pairwise difference against all of them sorted:
/// random sizes and values, ties, negative values and both zeros.
#[test]
fn kth_difference_matches_the_sorted_differences() {
    use homodyne_perf::stats::kth_difference;
    let u = homodyne_testkit::uniform(40_000, 91);
    let mut at = 0;
    for trial in 0..300 {
        let (n1, n2) = (1 + trial % 17, 1 + (trial * 7) % 23);
        let mut take = |n: usize| -> Vec<f64> {
            let values: Vec<f64> = u[at..at + n]
                .iter()
                .map(|v| match trial % 4 {
                    // Ties: a few distinct values.
                    0 => (v * 4.0).floor() - 2.0,
                    1 => v * 1e-3 - 0.5e-3,
                    2 => {
                        if *v < 0.3 {
                            -0.0
                        } else if *v < 0.6 {
                            0.0
                        } else {
                            *v
                        }
                    }
                    _ => (v - 0.5) * 1e6,
                })
                .collect();
            at += n;
            values
        };
        let (mut first, mut second) = (take(n1), take(n2));
        first.sort_by(f64::total_cmp);
        second.sort_by(f64::total_cmp);
        let mut all: Vec<f64> = second.iter().flat_map(|s| first.iter().map(move |f| s - f)).collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(kth_difference(&first, &second, all.len()), None);
        for (k, &expected) in all.iter().enumerate() {
            let got = kth_difference(&first, &second, k).unwrap();
            assert!(got == expected, "trial {trial}, k = {k}: {got} vs {expected}");
        }
    }
}

/// A million samples a side: the shift and its interval without the 10^12
/// differences (8 TB). The second side is the first shifted by exactly
/// 0.25 (exact in floating point at these magnitudes), so every one of its
/// order statistics is known.
#[test]
fn the_shift_of_a_million_samples_a_side() {
    let first: Vec<f64> = homodyne_testkit::uniform(1_000_000, 5).iter().map(|v| 1.0 + v).collect();
    let second: Vec<f64> = first.iter().map(|v| v + 0.25).collect();
    let test = homodyne_perf::stats::rank_sum_test(&first, &second).unwrap();
    assert!((test.shift - 0.25).abs() < 1e-3, "{}", test.shift);
    let (low, high) = test.shift_ci;
    assert!(low < 0.25 && 0.25 < high && high - low < 0.01, "{low} {high}");
}
