//! The report of one comparison: Markdown, JSON, and the Bencher Metric Format.

use std::fmt::Write as _;

use crate::Baseline;
use crate::baseline::short;
use crate::compare::{Comparison, Outcome, Severity, Verdict};

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Regression(Severity::Fail) => "FAIL regression",
        Outcome::Regression(Severity::Warn) => "regression",
        Outcome::Improvement => "improvement",
        Outcome::Unchanged => "unchanged",
        Outcome::Undecided => "undecided",
        Outcome::New => "new",
        Outcome::Missing => "missing",
        Outcome::Invalid => "invalid samples",
    }
}

impl Comparison {
    /// Whether any benchmark other than a canary regressed (with the given
    /// severity or worse).
    pub fn has_regression(&self, at_least: Severity) -> bool {
        self.regressions().any(|v| matches!(v.outcome, Outcome::Regression(severity) if severity >= at_least))
    }

    /// The regressions, canaries excluded.
    pub fn regressions(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.canary && matches!(v.outcome, Outcome::Regression(_)))
    }

    /// The benchmarks (canaries excluded) that are still undecided.
    pub fn undecided(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.canary && v.outcome == Outcome::Undecided)
    }

    /// Why the comparison cannot be trusted, if the canaries disagree.
    pub fn inconclusive(&self) -> Option<&str> {
        self.speed.as_ref().and_then(|speed| speed.inconclusive.as_deref())
    }

    /// The report as Markdown: a provenance header and one table row per benchmark.
    pub fn to_markdown(&self) -> String {
        let p = &self.provenance;
        let mut out = String::new();
        out.push_str("## Benchmark comparison\n\n");
        let _ = write!(
            out,
            "base `{}` ({} runs) → head `{}` ({} runs) on {}{}\n\n",
            short(&p.base_commit),
            p.base_runs.map_or_else(|| "-".to_owned(), |runs| runs.to_string()),
            short(&p.head_commit),
            p.head_runs,
            p.machine,
            if p.machine_mismatch { " — **machines differ: compare with care**" } else { "" },
        );
        if let Some(speed) = &self.speed {
            let canaries = speed
                .canaries
                .iter()
                .map(|(name, ratio, p)| format!("`{name}` ×{ratio:.3} (p = {p:.1e})"))
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(reason) = &speed.inconclusive {
                let _ = write!(out, "**Inconclusive: {reason}.** Verdicts below are shown, not gated.\n\n");
            } else if speed.normalised {
                let _ = write!(
                    out,
                    "**The machine ran ×{:.3} as long during head as during base** (canaries: {canaries}): \
                     verdicts on head samples divided by that factor.\n\n",
                    speed.factor
                );
            } else {
                let _ = write!(out, "Machine speed steady (canaries: {canaries}).\n\n");
            }
        }
        let _ = write!(
            out,
            "Rule: permutation test of the trimmed log times, family-wise α = {} over both directions of every \
             benchmark (Holm), and a change beyond ±{:.0}%; unchanged when the 90% interval lies within ±{:.0}% \
             (or the 90% interval of each side's fastest runs does, shown in brackets where all runs' interval \
             reaches beyond); fail above ×{}.\n\n",
            p.alpha,
            p.noise * 100.0,
            p.noise * 100.0,
            p.regression_threshold
        );
        out.push_str("| benchmark | verdict | head/base | 95% CI | p (Holm) | detectable | runs |\n|---|---|---|---|---|---|---|\n");
        for v in &self.verdicts {
            let ratio = v.ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
            let mut ci = v.ratio_ci.map_or_else(|| "-".to_owned(), |(low, high)| format!("{low:.3}–{high:.3}"));
            // Say which interval decided "unchanged" when the one of all runs did not.
            if let (Outcome::Unchanged, Some((all_low, all_high)), Some((low, high))) =
                (v.outcome, v.ratio_ci, v.fastest_ratio_ci)
                && (all_low < 1.0 / (1.0 + v.noise_threshold) || all_high > 1.0 + v.noise_threshold)
            {
                let _ = write!(ci, " (fastest runs {low:.3}–{high:.3})");
            }
            let p_value = match v.outcome {
                Outcome::Improvement => v.p_improvement,
                _ => v.p_regression,
            };
            let p_value = p_value.map_or_else(|| "-".to_owned(), |p| format!("{p:.2e}"));
            let detectable = v.min_detectable_change.map_or_else(
                || "-".to_owned(),
                |d| if d.is_finite() { format!("±{:.1}%", d * 100.0) } else { "none (too few runs)".to_owned() },
            );
            let _ = writeln!(
                out,
                "| {}{} | {} | {ratio} | {ci} | {p_value} | {detectable} | {}/{} |",
                v.name,
                if v.canary { " (canary)" } else { "" },
                label(v.outcome),
                v.base_samples,
                v.head_samples
            );
        }
        out
    }

    /// Both lenses side by side, for every benchmark measured both ways
    /// (`<name>/time` and `<name>/instructions`): the wall-time verdict and
    /// ratio beside the instruction-count verdict and ratio, with the code
    /// path that was counted (`paths`, by `<name>`: under Valgrind the
    /// run-time dispatch takes AVX2 or the portable path, never AVX-512).
    /// `None` when no benchmark has an instruction count.
    pub fn lenses_markdown(&self, paths: &std::collections::BTreeMap<String, String>) -> Option<String> {
        let find = |name: &str| self.verdicts.iter().find(|verdict| verdict.name == name);
        let mut rows = String::new();
        for counted in self.verdicts.iter().filter(|verdict| verdict.name.ends_with("/instructions")) {
            let name = counted.name.trim_end_matches("/instructions");
            let ratio = |verdict: Option<&Verdict>| {
                verdict.and_then(|v| v.ratio).map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.4}"))
            };
            let time = find(&format!("{name}/time"));
            let _ = writeln!(
                rows,
                "| {name} | {} | {} | {} | {} | {} |",
                time.map_or("not measured", |verdict| label(verdict.outcome)),
                ratio(time),
                label(counted.outcome),
                ratio(Some(counted)),
                paths.get(name).map_or("-", String::as_str),
            );
        }
        if rows.is_empty() {
            return None;
        }
        let mut out = String::from(
            "### Two lenses: wall time and instructions\n\nInstructions are counted once under Valgrind's Callgrind \
             (deterministic: a change beyond the count threshold decides). Valgrind does not run AVX-512, so the \
             counted path is AVX2 or portable (last column); wall time remains the lens for the AVX-512 kernels. \
             \"Slower, same instructions\" points at memory or scheduling; \"more instructions, not slower yet\" \
             at a change the timer cannot see.\n\n\
             | benchmark | wall time | head/base | instructions | head/base | counted path |\n\
             |---|---|---|---|---|---|\n",
        );
        out.push_str(&rows);
        Some(out)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    }
}

/// The head samples in the Bencher Metric Format
/// (`{"name": {"latency": {"value", "lower_value", "upper_value"}}}`), for
/// `bencher run --adapter json`. Lower-is-better metrics are "latency" (in
/// the baseline's unit), higher-is-better ones "throughput".
pub fn bencher_metric_format(head: &Baseline) -> String {
    let mut root = serde_json::Map::new();
    for (name, record) in &head.benchmarks {
        let mut samples = record.samples.clone();
        samples.sort_by(f64::total_cmp);
        let Some((&low, &high)) = samples.first().zip(samples.last()) else { continue };
        let median = samples[samples.len() / 2];
        let measure = match record.direction {
            crate::units::Direction::LowerIsBetter => "latency",
            crate::units::Direction::HigherIsBetter => "throughput",
        };
        let metric = serde_json::json!({ measure: { "value": median, "lower_value": low, "upper_value": high } });
        root.insert(name.clone(), metric);
    }
    serde_json::to_string_pretty(&serde_json::Value::Object(root)).unwrap_or_default()
}

/// The read-limit row of benchmark `name` among `names`: the row of the
/// same benchmark function with `_read_limit` appended
/// (`kernels/correlation/10000/time` → `kernels/correlation_read_limit/10000/time`),
/// else the binary's `read_limit` row at the same argument
/// (`angles/vectorized/100000/time` → `angles/read_limit/100000/time`).
/// Read-limit rows themselves have none.
pub fn read_limit_of(name: &str, names: impl Fn(&str) -> bool) -> Option<String> {
    let segments: Vec<&str> = name.split('/').collect();
    if segments.len() < 3 || name.contains("read_limit") {
        return None;
    }
    let metric_at = segments.len() - 1;
    for position in (1..metric_at).rev() {
        let mut candidate: Vec<String> = segments.iter().map(|&segment| segment.to_owned()).collect();
        candidate[position].push_str("_read_limit");
        let candidate = candidate.join("/");
        if names(&candidate) {
            return Some(candidate);
        }
    }
    let shared = format!("{}/read_limit/{}/{}", segments[0], segments[metric_at - 1], segments[metric_at]);
    names(&shared).then_some(shared)
}

/// "Distance to the read limit": for every timed benchmark with a read-limit
/// row (see [`read_limit_of`]), its median over the limit's, at head and at
/// base, and how that distance changed. `None` when no benchmark has a limit.
pub fn limits_markdown(base: Option<&Baseline>, head: &Baseline) -> Option<String> {
    fn median_ns(baseline: &Baseline, name: &str) -> Option<f64> {
        let record = baseline.benchmarks.get(name)?;
        let mut samples = record.samples.clone();
        samples.sort_by(f64::total_cmp);
        let median = *samples.get(samples.len() / 2)?;
        Some(median * crate::units::time_factor(&record.unit, "ns")?)
    }
    fn distance(baseline: &Baseline, name: &str, limit: &str) -> Option<f64> {
        Some(median_ns(baseline, name)? / median_ns(baseline, limit)?).filter(|ratio| ratio.is_finite())
    }
    let mut rows = String::new();
    for name in head.benchmarks.keys() {
        let Some(limit) = read_limit_of(name, |candidate| head.benchmarks.contains_key(candidate)) else { continue };
        let Some(at_head) = distance(head, name, &limit) else { continue };
        let at_base = base.and_then(|base| distance(base, name, &limit));
        let _ = writeln!(
            rows,
            "| {name} | {at_head:.2}× | {} | {} |",
            at_base.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}×")),
            at_base.map_or_else(|| "-".to_owned(), |ratio| format!("{:.3}", at_head / ratio)),
        );
    }
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from(
        "### Distance to the read limit\n\nEach benchmark's median over the median of reading its input once (its \
         `read_limit` row, same run): 1× is the limit, and a rise at head is a step away from it.\n\n\
         | benchmark | × read limit (head) | × read limit (base) | head/base |\n|---|---|---|---|\n",
    );
    out.push_str(&rows);
    Some(out)
}
