//! The decision rule, by simulation: seeded suites of 20 benchmarks.

use homodyne_perf::{BenchmarkSamples, Direction, Outcome, Thresholds, compare};

/// Standard normal deviates (Box–Muller on the testkit's uniform numbers).
struct Normal {
    uniform: Vec<f64>,
    next: usize,
}

impl Normal {
    fn new(seed: u64) -> Normal {
        Normal { uniform: homodyne_testkit::uniform(1 << 20, seed), next: 0 }
    }

    fn uniform(&mut self) -> f64 {
        let value = self.uniform[self.next % self.uniform.len()];
        self.next += 1;
        value
    }

    fn sample(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Log-normal timings with coefficient of variation `cv`.
fn lognormal(rng: &mut Normal, n: usize, scale: f64, cv: f64) -> Vec<f64> {
    let sigma = (1.0 + cv * cv).ln().sqrt();
    (0..n).map(|_| scale * (sigma * rng.sample()).exp()).collect()
}

/// The noise measured here: each run, with probability 0.2, 40-80% slower;
/// otherwise log-normal with 2% CV.
fn bimodal(rng: &mut Normal, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let base = lognormal(rng, 1, scale, 0.02)[0];
            if rng.uniform() < 0.2 { base * (1.4 + 0.4 * rng.uniform()) } else { base }
        })
        .collect()
}

/// Outcomes of `n_suites` suites of 20 benchmarks where benchmark 0's head is
/// scaled by `change`, the others unchanged.
fn run(
    n_suites: usize,
    n_samples: usize,
    change: f64,
    seed: u64,
    noise: impl Fn(&mut Normal, usize, f64) -> Vec<f64>,
) -> Vec<Vec<homodyne_perf::Verdict>> {
    let mut rng = Normal::new(seed);
    (0..n_suites)
        .map(|_| {
            let benchmarks: Vec<BenchmarkSamples> = (0..20)
                .map(|bench| {
                    let scale = 1e-3 * (1.0 + f64::from(bench));
                    BenchmarkSamples {
                        name: format!("bench{bench}"),
                        direction: Direction::LowerIsBetter,
                        base: noise(&mut rng, n_samples, scale),
                        head: noise(&mut rng, n_samples, if bench == 0 { scale * change } else { scale }),
                    }
                })
                .collect();
            compare(&benchmarks, &Thresholds::default(), false)
        })
        .collect()
}

fn count(suites: &[Vec<homodyne_perf::Verdict>], pick: impl Fn(&[homodyne_perf::Verdict]) -> bool) -> usize {
    suites.iter().filter(|suite| pick(suite)).count()
}

fn is_regression(verdict: &homodyne_perf::Verdict) -> bool {
    matches!(verdict.outcome, Outcome::Regression(_))
}

#[test]
fn lognormal_noise_rates() {
    let cv = |rng: &mut Normal, n, scale| lognormal(rng, n, scale, 0.05);
    let unchanged = run(100, 20, 1.0, 1, cv);
    let false_alarms = count(&unchanged, |suite| suite.iter().any(is_regression));
    assert!(false_alarms <= 1, "{false_alarms} suites with a false regression");

    let slower = run(100, 20, 1.10, 2, cv);
    let detected = count(&slower, |suite| is_regression(&suite[0]));
    let others = count(&slower, |suite| suite[1..].iter().any(|v| v.outcome != Outcome::Unchanged));
    assert!(detected >= 95, "10% slowdown detected in {detected} suites");
    assert!(others == 0, "{others} suites flagged another benchmark");

    let slightly = run(100, 20, 1.03, 3, cv);
    let flagged = count(&slightly, |suite| is_regression(&suite[0]));
    assert!(flagged <= 10, "3% slowdown called a regression in {flagged} suites");

    let faster = run(100, 20, 1.0 / 1.10, 4, cv);
    let improved = count(&faster, |suite| suite[0].outcome == Outcome::Improvement);
    assert!(improved.abs_diff(detected) <= 5, "improvements {improved} vs regressions {detected}");
    eprintln!(
        "lognormal 5%: false alarms {false_alarms}/100, 10% slower detected {detected}/100, 3% flagged {flagged}/100, 10% faster detected {improved}/100"
    );
}

#[test]
fn five_samples_detect_less_and_say_so() {
    let cv = |rng: &mut Normal, n, scale| lognormal(rng, n, scale, 0.05);
    let median_mde = |suites: &[Vec<homodyne_perf::Verdict>]| {
        let mut values: Vec<f64> = suites.iter().map(|suite| suite[1].min_detectable_change.unwrap()).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let mde_20 = median_mde(&run(50, 20, 1.0, 5, cv));
    let mde_5 = median_mde(&run(50, 5, 1.0, 6, cv));
    assert!(mde_5 > mde_20 * 1.5, "5 samples: {mde_5}, 20 samples: {mde_20}");
    // A change of the stated size is found about 80% of the time; half of it rarely.
    let at_mde = count(&run(100, 5, 1.0 + mde_5, 7, cv), |suite| is_regression(&suite[0]));
    let at_half = count(&run(100, 5, 1.0 + mde_5 / 2.0, 8, cv), |suite| is_regression(&suite[0]));
    assert!((65..=95).contains(&at_mde), "change of the detectable size found in {at_mde}/100");
    assert!(at_half < 40, "half the detectable change found in {at_half}/100");
    eprintln!(
        "minimal detectable change: 20 samples {mde_20:.3}, 5 samples {mde_5:.3}; found at it {at_mde}/100, at half {at_half}/100"
    );
}

#[test]
fn bimodal_noise_rates() {
    let unchanged = run(100, 20, 1.0, 9, bimodal);
    let false_alarms = count(&unchanged, |suite| suite.iter().any(is_regression));
    assert!(false_alarms <= 1, "{false_alarms} suites with a false regression under bimodal noise");
    let slower = run(100, 20, 1.10, 10, bimodal);
    let detected = count(&slower, |suite| is_regression(&suite[0]));
    assert!(detected >= 90, "10% slowdown under bimodal noise detected in {detected} suites");
    eprintln!("bimodal: false alarms {false_alarms}/100, 10% slower detected {detected}/100");
}
