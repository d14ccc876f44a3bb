//! Two-sample statistics for benchmark timings: the classic tests (checked
//! against scipy), the slow-side trimmed summary (a single new value is
//! judged against it), and the rank-sum permutation test the verdicts use.
//!
//! Timing noise only adds time and is often bimodal: a run is either normal
//! or, now and then, much slower (allocator, scheduler, frequency). The
//! comparison therefore works on the logarithm of each sample (ratios, not
//! differences). [`trim_slow_side`] keeps the fastest 65% of a side (a
//! lower-trimmed mean with the winsorised variance: Yuen's statistic,
//! trimmed on the slow side only). [`rank_sum_test`] needs no trimming:
//! ranks cap the weight of a slow run, and runs far above the rest score as
//! neither fast nor slow.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The fraction of each side (the fastest samples) that the robust
/// comparison keeps.
pub const KEEP_FRACTION: f64 = 0.65;

/// A t statistic with its degrees of freedom and one-sided p-values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// The statistic, positive when the second sample is larger.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// `P(T >= t)`: evidence that the second sample is larger.
    pub p_greater: f64,
    /// `P(T <= t)`: evidence that the second sample is smaller.
    pub p_less: f64,
    /// Standard error of the difference.
    pub std_error: f64,
    /// The estimated difference (second minus first).
    pub difference: f64,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Samples kept on a side of `n` by [`trim_slow_side`] (the fastest
/// [`KEEP_FRACTION`], at least 2).
fn kept_count(n: usize) -> usize {
    ((KEEP_FRACTION * n as f64).ceil() as usize).clamp(n.min(2), n)
}

fn sample_variance(values: &[f64]) -> f64 {
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() as f64 - 1.0)
}

/// The Student t distribution's survival function `P(T >= t)`, 0.5 at t = 0.
pub fn t_sf(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(distribution) => distribution.sf(t),
        Err(_) => f64::NAN,
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |distribution| distribution.inverse_cdf(p))
}

fn t_test(difference: f64, parts: [(f64, f64); 2]) -> TTest {
    // parts: (variance of the mean, degrees of freedom) per side.
    let [(first_var, first_df), (second_var, second_df)] = parts;
    let std_error = (first_var + second_var).sqrt();
    let df = (first_var + second_var).powi(2) / (first_var.powi(2) / first_df + second_var.powi(2) / second_df);
    let t = difference / std_error;
    TTest { t, df, p_greater: t_sf(t, df), p_less: t_sf(-t, df), std_error, difference }
}

/// Welch's t-test of `second` against `first` (scipy's
/// `ttest_ind(second, first, equal_var=False)`), or `None` with fewer than
/// two values on a side.
pub fn welch_t(first: &[f64], second: &[f64]) -> Option<TTest> {
    if first.len() < 2 || second.len() < 2 {
        return None;
    }
    let parts = [first, second].map(|side| (sample_variance(side) / side.len() as f64, side.len() as f64 - 1.0));
    Some(t_test(mean(second) - mean(first), parts))
}

/// The slow-side-trimmed summary of one side: the fastest
/// `ceil(KEEP_FRACTION * n)` values (at least 2), their mean, and Yuen's
/// variance of that mean from the winsorised sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trimmed {
    /// Samples on this side.
    pub n: usize,
    /// Samples kept.
    pub kept: usize,
    /// Mean of the kept values.
    pub mean: f64,
    /// Yuen's variance of the trimmed mean.
    pub mean_variance: f64,
    /// Standard deviation of the winsorised sample.
    pub spread: f64,
}

/// Trims `values` on the slow (high) side; `None` for an empty side.
pub fn trim_slow_side(values: &[f64]) -> Option<Trimmed> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let kept = kept_count(n);
    let mean = mean(&sorted[..kept]);
    if n < 2 {
        return Some(Trimmed { n, kept, mean, mean_variance: f64::NAN, spread: f64::NAN });
    }
    let ceiling = sorted[kept - 1];
    let winsorized: Vec<f64> = sorted.iter().map(|&v| v.min(ceiling)).collect();
    let variance = sample_variance(&winsorized);
    let mean_variance = (n as f64 - 1.0) * variance / (kept as f64 * (kept as f64 - 1.0));
    Some(Trimmed { n, kept, mean, mean_variance, spread: variance.sqrt() })
}

/// Yuen's trimmed t-test of `second` against `first`, both trimmed on the slow side.
pub fn yuen_t(first: &Trimmed, second: &Trimmed) -> TTest {
    let parts = [first, second].map(|side| (side.mean_variance, side.kept as f64 - 1.0));
    t_test(second.mean - first.mean, parts)
}

/// The Mann–Whitney U test (normal approximation with tie and continuity
/// corrections, as scipy's `mannwhitneyu(second, first, method="asymptotic")`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the second sample.
    pub u: f64,
    /// `P` that the second sample is stochastically greater.
    pub p_greater: f64,
    /// `P` that it is stochastically smaller.
    pub p_less: f64,
}

/// See [`MannWhitney`]; `None` for an empty side.
pub fn mann_whitney_u(first: &[f64], second: &[f64]) -> Option<MannWhitney> {
    if first.is_empty() || second.is_empty() {
        return None;
    }
    let (n1, n2) = (second.len() as f64, first.len() as f64);
    let mut all: Vec<(f64, bool)> =
        second.iter().map(|&v| (v, true)).chain(first.iter().map(|&v| (v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_sum, mut tie_term, mut start) = (0.0, 0.0, 0);
    while start < n {
        let mut end = start + 1;
        while end < n && all[end].0 == all[start].0 {
            end += 1;
        }
        // Average rank of the tie group (ranks are 1-based).
        let average = (start + end + 1) as f64 / 2.0;
        rank_sum += all[start..end].iter().filter(|(_, is_second)| *is_second).count() as f64 * average;
        let ties = (end - start) as f64;
        tie_term += ties.powi(3) - ties;
        start = end;
    }
    let u = rank_sum - n1 * (n1 + 1.0) / 2.0;
    let total = n1 + n2;
    let mu = n1 * n2 / 2.0;
    let sigma = (n1 * n2 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)))).sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    let p_greater = if sigma > 0.0 { normal.sf((u - mu - 0.5) / sigma) } else { 1.0 };
    let p_less = if sigma > 0.0 { normal.cdf((u - mu + 0.5) / sigma) } else { 1.0 };
    Some(MannWhitney { u, p_greater: p_greater.min(1.0), p_less: p_less.min(1.0) })
}

/// The noncentrality at which a one-sided t-test with critical value
/// `critical` and `df` degrees of freedom has the given power, accounting for
/// the randomness of the estimated standard error:
/// `power = E_V[Phi(ncp - critical * sqrt(V / df))]` with `V ~ chi2(df)`,
/// by quadrature over 64 quantiles of `V`, solved by bisection.
///
/// The result is in units of the *true* standard error; the caller, who has
/// only an estimate, divides by [`median_error_scale`] so that the stated
/// change is reached when the estimate is typical.
pub fn required_noncentrality(critical: f64, df: f64, power: f64) -> f64 {
    const NODES: usize = 64;
    let (Ok(chi2), Ok(normal)) = (statrs::distribution::ChiSquared::new(df), Normal::new(0.0, 1.0)) else {
        return f64::NAN;
    };
    let scales: Vec<f64> =
        (0..NODES).map(|k| (chi2.inverse_cdf((k as f64 + 0.5) / NODES as f64) / df).sqrt()).collect();
    let power_at = |ncp: f64| scales.iter().map(|scale| normal.cdf(ncp - critical * scale)).sum::<f64>() / NODES as f64;
    let (mut low, mut high) = (0.0, 1.0);
    while power_at(high) < power && high < 1e6 {
        high *= 2.0;
    }
    for _ in 0..100 {
        let middle = 0.5 * (low + high);
        if power_at(middle) < power { low = middle } else { high = middle }
    }
    high
}

/// The median of an estimated standard error relative to the true one:
/// `sqrt(median(chi2(df)) / df)`, well below 1 for few degrees of freedom.
pub fn median_error_scale(df: f64) -> f64 {
    statrs::distribution::ChiSquared::new(df).map_or(1.0, |chi2| (chi2.inverse_cdf(0.5) / df).sqrt())
}

/// Holm–Bonferroni adjusted p-values, in the input order.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &index) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[index]).min(1.0));
        adjusted[index] = running;
    }
    adjusted
}

/// Samples in all up to which [`rank_sum_test`] uses the exact null
/// distribution; beyond, its normal approximation (with the tie
/// correction), which is then accurate far into the tails.
pub const EXACT_RANK_SAMPLES: usize = 80;

/// A capped rank-sum test of `second` against `first`, as a permutation
/// test: under "no change" every assignment of the pooled samples to the
/// two sides is equally likely, whatever the shape of the noise, so its
/// p-values are exact (ties, as from a coarse timer, get mid-ranks and the
/// exact distribution given the ties).
///
/// Scores are the pooled (mid-)ranks, with the outliers among the pooled
/// runs (far above the rest: spikes, a slow mode) sharing one score (see
/// `score_cap`). Plain ranks already cap a spike's weight at "slowest";
/// capping them too keeps a side that happened to get more spikes (a 15%
/// chance of 1.5-3x per run) from looking slower, which cost plain ranks a
/// quarter of their power on 10% slowdowns. Without outliers the test is
/// the plain Wilcoxon rank-sum test, which keeps 95% of the t-test's
/// efficiency under normal noise; a fixed cap at 65% (the robust
/// counterpart of a slow-side trimmed mean) found 935 of 1000 10%
/// slowdowns at 5% noise where the adaptive cap finds more.
///
/// With the test come the Hodges–Lehmann estimate of the shift (the median
/// of all differences `second[j] - first[i]`) and its distribution-free
/// (Moses) 95% interval. On log timings the shift is a log ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSumTest {
    /// The Hodges–Lehmann shift estimate, second minus first.
    pub shift: f64,
    /// Its 95% (Moses) confidence interval.
    pub shift_ci: (f64, f64),
    /// Its 90% interval: the one of an equivalence test (two one-sided tests
    /// at 5%) that the change lies within given bounds.
    pub shift_ci_90: (f64, f64),
    /// `P(S >= observed)` under no change: evidence that `second` is larger.
    pub p_greater: f64,
    /// `P(S <= observed)` under no change: evidence that `second` is smaller.
    pub p_less: f64,
    /// The number of equally likely assignments, `C(n1 + n2, n2)`.
    pub arrangements: f64,
    /// Whether the p-values come from the exact distribution.
    pub exact: bool,
}

/// Doubled mid-ranks (integers 2..=2n) of `pooled`, and whether any tie occurred.
fn doubled_mid_ranks(pooled: &[f64]) -> (Vec<usize>, bool) {
    let mut order: Vec<usize> = (0..pooled.len()).collect();
    order.sort_by(|&a, &b| pooled[a].total_cmp(&pooled[b]));
    let mut ranks = vec![0; pooled.len()];
    let mut tied = false;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && pooled[order[end]] == pooled[order[start]] {
            end += 1;
        }
        tied |= end - start > 1;
        // Ranks start+1..=end share their mean (start + 1 + end) / 2; doubled: start + 1 + end.
        for &index in &order[start..end] {
            ranks[index] = start + 1 + end;
        }
        start = end;
    }
    (ranks, tied)
}

/// The cap on doubled ranks: the pooled runs more than four robust
/// standard deviations (from the fast side, at least 0.01 in log units)
/// above the pooled median are outliers. Chosen
/// from the pooled values alone, which do not depend on which run came from
/// which side, so the test stays exact.
fn score_cap(pooled: &[f64]) -> usize {
    let mut sorted = pooled.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = |values: &[f64]| {
        let mid = values.len() / 2;
        if values.len() % 2 == 1 { values[mid] } else { f64::midpoint(values[mid - 1], values[mid]) }
    };
    let center = median(&sorted);
    // The spread from the fast side only (median to 10th percentile, as a
    // normal's): timing noise adds time, so that side is clean even when a
    // fifth of the runs are slow.
    let tenth = sorted[(sorted.len() - 1) / 10];
    let sigma = ((center - tenth) / 1.281_551_566).max(0.01);
    let outliers = sorted.iter().filter(|&&value| value > center + 4.0 * sigma).count();
    2 * (sorted.len() - outliers)
}

/// `counts[s]`: how many `k`-subsets of `values` sum to `s` (f64: exact up
/// to 2^53, relative error 1e-16 beyond, ample for p-values).
fn subset_sum_counts(values: &[usize], k: usize) -> Vec<f64> {
    let total: usize = values.iter().sum();
    let mut counts = vec![vec![0.0f64; total + 1]; k + 1];
    counts[0][0] = 1.0;
    let mut reach = 0;
    for (seen, &value) in values.iter().enumerate() {
        reach += value;
        for size in (1..=k.min(seen + 1)).rev() {
            let (lower, upper) = counts.split_at_mut(size);
            let (from, to) = (&lower[size - 1], &mut upper[0]);
            for sum in value..=reach {
                to[sum] += from[sum - value];
            }
        }
    }
    counts.swap_remove(k)
}

/// Null distributions already computed, by their scores and side size:
/// without ties they depend only on the sample sizes, so a comparison of
/// many benchmarks (or a simulation of many suites) computes each once.
/// Bounded: cleared when it holds 256 tables.
static TABLES: std::sync::Mutex<Option<Tables>> = std::sync::Mutex::new(None);

/// Probability tables by (sorted scores, sample size).
type Tables = std::collections::HashMap<(Vec<usize>, usize), std::sync::Arc<Vec<f64>>>;

fn null_distribution(scores: &[usize], k: usize, cacheable: bool) -> std::sync::Arc<Vec<f64>> {
    let compute = || {
        let counts = subset_sum_counts(scores, k);
        let total: f64 = counts.iter().sum();
        std::sync::Arc::new(counts.into_iter().map(|count| count / total).collect::<Vec<f64>>())
    };
    if !cacheable {
        return compute();
    }
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let key = (sorted, k);
    let mut guard = TABLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tables = guard.get_or_insert_with(std::collections::HashMap::new);
    if let Some(table) = tables.get(&key) {
        return std::sync::Arc::clone(table);
    }
    if tables.len() >= 256 {
        tables.clear();
    }
    let table = compute();
    tables.insert(key, std::sync::Arc::clone(&table));
    table
}

/// See [`RankSumTest`]; `None` with fewer than two values on a side or a
/// value that is not finite.
pub fn rank_sum_test(first: &[f64], second: &[f64]) -> Option<RankSumTest> {
    let (n1, n2) = (first.len(), second.len());
    if n1 < 2 || n2 < 2 || first.iter().chain(second).any(|value| !value.is_finite()) {
        return None;
    }
    let pooled: Vec<f64> = first.iter().chain(second).copied().collect();
    let n = n1 + n2;
    let (ranks, tied) = doubled_mid_ranks(&pooled);
    let cap = score_cap(&pooled);
    // Outliers score the mean (doubled) rank, n + 1: they say nothing about
    // the shift, and a side that happened to get more of them gains nothing.
    let scores: Vec<usize> = ranks.iter().map(|&rank| if rank > cap { n + 1 } else { rank }).collect();
    let observed: usize = scores[n1..].iter().sum();
    let arrangements = (0..n2).fold(1.0f64, |product, i| product * (n - i) as f64 / (i + 1) as f64);
    let (p_greater, p_less, exact) = if n <= EXACT_RANK_SAMPLES {
        let probabilities = null_distribution(&scores, n2, !tied);
        let at_least: f64 = probabilities[observed..].iter().sum();
        let at_most: f64 = probabilities[..=observed].iter().sum();
        (at_least.min(1.0), at_most.min(1.0), true)
    } else {
        // Normal approximation of a linear rank statistic: mean and
        // variance of a sample of n2 drawn without replacement from the scores.
        let scores_f: Vec<f64> = scores.iter().map(|&score| score as f64).collect();
        let mean_score = scores_f.iter().sum::<f64>() / n as f64;
        let population_variance = scores_f.iter().map(|score| (score - mean_score).powi(2)).sum::<f64>() / n as f64;
        let mean = n2 as f64 * mean_score;
        let variance = n2 as f64 * population_variance * (n - n2) as f64 / (n as f64 - 1.0);
        let normal = Normal::new(0.0, 1.0).ok()?;
        let sd = variance.sqrt();
        if sd > 0.0 {
            let (z_up, z_down) = ((observed as f64 - mean - 1.0) / sd, (observed as f64 - mean + 1.0) / sd);
            (normal.sf(z_up).min(1.0), normal.cdf(z_down).min(1.0), false)
        } else {
            (1.0, 1.0, false)
        }
    };
    let (shift, shift_ci, shift_ci_90) = hodges_lehmann(first, second);
    Some(RankSumTest { shift, shift_ci, shift_ci_90, p_greater, p_less, arrangements, exact })
}

/// The Hodges–Lehmann shift (median of the n1 * n2 differences) and its
/// Moses 95% and 90% intervals: the order statistics of the differences at
/// the 2.5% and 5% quantiles of the Mann–Whitney U distribution. Each order
/// statistic is selected without forming the differences
/// ([`kth_difference`]): memory O(n1 + n2), so a million samples a side
/// work (the n1 n2 differences would take 8 TB).
fn hodges_lehmann(first: &[f64], second: &[f64]) -> (f64, (f64, f64), (f64, f64)) {
    let (n1, n2) = (first.len(), second.len());
    let n = n1 + n2;
    let mut first_sorted = first.to_vec();
    let mut second_sorted = second.to_vec();
    first_sorted.sort_by(f64::total_cmp);
    second_sorted.sort_by(f64::total_cmp);
    let m = n1 * n2;
    // Every k below is below n1 n2 (both sides have at least two values).
    let at = |k: usize| kth_difference(&first_sorted, &second_sorted, k).unwrap_or(f64::NAN);
    let shift = if m % 2 == 1 { at(m / 2) } else { f64::midpoint(at(m / 2 - 1), at(m / 2)) };
    // The largest k with P(U <= k - 1) <= tail; the interval is
    // [d_(k), d_(m - k + 1)] (1-based order statistics).
    let count_at = |tail: f64| -> usize {
        let k = if n <= EXACT_RANK_SAMPLES {
            let plain: Vec<usize> = (1..=n).collect();
            let probabilities = null_distribution(&plain, n2, true);
            let offset = n2 * (n2 + 1) / 2;
            let mut cumulative = 0.0;
            let mut k = 0;
            for u in 0..=m {
                cumulative += probabilities.get(u + offset).copied().unwrap_or(0.0);
                if cumulative > tail {
                    break;
                }
                k = u + 1;
            }
            k
        } else {
            let z = Normal::new(0.0, 1.0).map_or(1.96, |normal| normal.inverse_cdf(1.0 - tail));
            let mean = (n1 * n2) as f64 / 2.0;
            // In floating point: n1 n2 (n + 1) overflows usize near two million runs a side.
            let sd = (n1 as f64 * n2 as f64 * (n + 1) as f64 / 12.0).sqrt();
            (mean - z * sd).floor().max(0.0) as usize
        };
        k.clamp(1, m.div_ceil(2))
    };
    let interval = |k: usize| (at(k - 1), at(m - k));
    (shift, interval(count_at(0.025)), interval(count_at(0.05)))
}

/// The `k`-th smallest (0-based) of the differences `second[j] - first[i]`
/// over every pair, both slices sorted ascending and finite, as computed in
/// floating point, without forming them: the smallest double `t` with at
/// least `k + 1` differences `<= t`, found by bisection over the doubles
/// in their order (at most 64 steps), each step counting the differences
/// `<= t` in one merge-like pass, O(n1 + n2). Exact: rounding is monotone,
/// so `second[j] - first[i]` grows with `j` and shrinks with `i` and the
/// count is a staircase whose steps are the differences themselves.
///
/// `None` when `k` is not below `first.len() * second.len()`.
pub fn kth_difference(first: &[f64], second: &[f64], k: usize) -> Option<f64> {
    if k >= first.len().saturating_mul(second.len()) {
        return None;
    }
    let count_at_most = |t: f64| -> usize {
        let mut count = 0;
        let mut j = 0;
        // For growing first[i], the differences shrink: j only moves forward.
        for &earlier in first {
            while j < second.len() && second[j] - earlier <= t {
                j += 1;
            }
            count += j;
        }
        count
    };
    // Doubles in order as integers: the bisection runs over these.
    // (i128: the span between two keys exceeds i64.)
    let key = |value: f64| -> i128 {
        let bits = i128::from(value.to_bits() as i64);
        if bits < 0 { i128::from(i64::MIN) - bits } else { bits }
    };
    let value = |key: i128| -> f64 {
        let bits = if key < 0 { i128::from(i64::MIN) - key } else { key };
        f64::from_bits(bits as i64 as u64)
    };
    let smallest = second[0] - first[first.len() - 1];
    let largest = second[second.len() - 1] - first[0];
    // count(lo) < k + 1 <= count(hi), lo and hi as keys; lo starts one below the smallest.
    let (mut lo, mut hi) = (key(smallest) - 1, key(largest));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if count_at_most(value(mid)) > k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // -0.0 and 0.0 are one value to subtraction: report 0.0.
    Some(value(hi) + 0.0)
}

/// A distribution-free interval for the shift (second minus first) of the
/// *fastest* runs: `[second_(1) - first_(r), second_(s) - first_(1)]` (1-based
/// order statistics), each bound one-sided at level `tail`; `None` when a
/// side has too few runs for a bound at that level.
///
/// It is the inversion of two precedence tests. A shift `d` is too small
/// when the `r` smallest of `first` and `second - d` pooled all come from
/// `first`, which under "the two sides differ by `d`" (exchangeable runs)
/// has probability `C(n1, r) / C(n1 + n2, r)`: `r` is the smallest count
/// that makes this at most `tail`. The upper bound mirrors it with `s`.
///
/// Why: on shared machines a process runs either at the machine's full
/// speed or, for its whole lifetime, 20–60% slower (another tenant on the
/// same core), so the runs form a tight fast mode and a scattered slow one
/// (A/A runs on the AMD EPYC of 2026-12-03: the fastest four of 14 runs
/// within 1–3% of each other, the median 20–50% above them). An interval
/// from every run is as wide as that scatter; this one only needs the
/// fastest few runs of each side to agree. With 5 runs a side it uses the
/// fastest and the 4th fastest (`tail` = 5%, a 90% interval); with 14 a
/// side too; with 20, the 5th.
pub fn fastest_runs_shift(first: &[f64], second: &[f64], tail: f64) -> Option<(f64, f64)> {
    if first.iter().chain(second).any(|value| !value.is_finite()) {
        return None;
    }
    let n = first.len() + second.len();
    // The smallest r with C(side, r) / C(n, r) <= tail.
    let depth = |side: usize| {
        let mut probability = 1.0;
        for r in 1..=side {
            probability *= (side + 1 - r) as f64 / (n + 1 - r) as f64;
            if probability <= tail {
                return Some(r);
            }
        }
        None
    };
    let sorted = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    };
    let (first_sorted, second_sorted) = (sorted(first), sorted(second));
    let (r, s) = (depth(first.len())?, depth(second.len())?);
    Some((second_sorted[0] - first_sorted[r - 1], second_sorted[s - 1] - first_sorted[0]))
}
