//! Two-sample statistics for benchmark timings: the classic tests (checked
//! against scipy), and the robust comparison the verdicts use.
//!
//! Timing noise only adds time and is often bimodal: a run is either normal
//! or, now and then, much slower (allocator, scheduler, frequency). The
//! comparison therefore works on the logarithm of each sample (ratios, not
//! differences) and keeps the fastest 65% of each side: a lower-trimmed mean
//! with the winsorised variance (Yuen's trimmed t-test, trimmed on the slow
//! side only). With 20 samples per side (13 kept) and one run in five slowed
//! down, the kept part holds no slow run in 97% of samples; keeping less costs
//! power on ordinary noise, keeping more lets slow runs in (at 70% the
//! detection rate under bimodal noise fell to 88%). The simulations in the
//! tests check the rates.

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
    let kept = ((KEEP_FRACTION * n as f64).ceil() as usize).clamp(n.min(2), n);
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
