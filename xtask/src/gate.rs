//! The statistical gate of `regression`: run both sides, compare through
//! `homodyne-perf`, run the undecided benchmarks again (alpha spent across
//! the looks), report, and the exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use homodyne_perf::{Baseline, BenchmarkRecord, Comparison, Outcome, Severity, Verdict, compare_baselines};

use crate::dashboard::Run;
use crate::instructions;
use crate::live::Live;
use crate::options::{Layout, RunOptions, publish, results_markdown, time_records};
use crate::suite::{self, BenchBinary, Plan, Samples, Selection, Unobserved};

/// Exit code: the command ran and found no regression.
pub(crate) const EXIT_OK: u8 = 0;

/// Exit code: at least one benchmark regressed.
pub(crate) const EXIT_REGRESSION: u8 = 3;

/// Exit code: the canaries say the machine's speed changed unevenly between
/// base and head, so the verdicts cannot be trusted (run again, or use
/// `--base`, which interleaves the two sides).
pub(crate) const EXIT_INCONCLUSIVE: u8 = 4;

/// Looks at the data, the first after the initial runs; each later one
/// after another `--runs` runs of the benchmarks still undecided.
pub(crate) const MAX_LOOKS: u32 = 6;

/// The share of the family-wise α spent at look `look` (1-based): 1/2, 1/4,
/// 1/8, 1/16, 1/32, 1/32. Testing the same benchmarks again after more runs
/// gives false alarms more chances; spending α across looks keeps the total
/// at α. (Deciding "unchanged" spends none: it is no alarm.)
pub(crate) fn alpha_share(look: u32) -> f64 {
    0.5f64.powi(look.clamp(1, MAX_LOOKS - 1).cast_signed())
}

/// Instruction counts of the head and, when it is measured now, of the base.
pub(crate) struct Lens {
    pub(crate) head: Vec<instructions::Counted>,
    pub(crate) base: Option<Vec<instructions::Counted>>,
}

/// Runs, compares, reruns the undecided, reports; returns the exit code.
#[expect(clippy::too_many_arguments, reason = "the two ways in (measured or stored base) meet here")]
pub(crate) fn gate(
    layout: &Layout,
    options: &RunOptions,
    budget: Duration,
    head_binaries: &[BenchBinary],
    base_binaries: Option<&[BenchBinary]>,
    head_template: Baseline,
    base_template: Option<Baseline>,
    stored: Option<Baseline>,
    self_check: bool,
    lens: Option<Lens>,
    live: Option<Live>,
) -> Result<u8> {
    let mut groups: Vec<&[BenchBinary]> = Vec::new();
    if let Some(base) = base_binaries {
        groups.push(base);
    }
    groups.push(head_binaries);
    let paths = lens.as_ref().map(|lens| instructions::paths(&lens.head)).unwrap_or_default();
    let mut sides = Sides {
        options,
        head_template,
        base_template,
        samples: vec![Samples::new(); groups.len()],
        head_counts: lens.as_ref().map(|lens| instructions::records(&lens.head)).unwrap_or_default(),
        base_counts: lens.as_ref().and_then(|lens| lens.base.as_deref()).map(instructions::records).unwrap_or_default(),
        live,
    };
    if let Some(live) = &mut sides.live {
        live.counts(&sides.head_counts, &sides.base_counts);
    }
    let plan = suite::whole(&groups, &options.selection());
    run_observed(&plan, options.runs, None, &mut sides.samples, &mut sides.live)?;
    if sides.head_samples().is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let head = sides.head();
    head.save(&layout.out_dir.join("runs"))?;
    let measured = stored.is_none();
    let Some(base) = stored.or_else(|| sides.measured_base(&head)) else {
        let mut markdown = results_markdown(&head);
        if let Some(limits) = homodyne_perf::limits_markdown(None, &head) {
            let _ = write!(markdown, "\n{limits}");
        }
        let _ = write!(
            markdown,
            "\nNo baseline to compare with: none in `{}` for HEAD or its ancestors. Record one with \
             `cargo xtask baseline-update` (or compare with a commit: `cargo xtask regression --base <REF>`).\n",
            layout.baselines_dir.display()
        );
        println!("{markdown}");
        publish(layout, &markdown, None)?;
        sides.conclude(layout, &head, None, None, &[], "The run ended: no baseline to compare with.")?;
        return Ok(EXIT_OK);
    };
    let started = Instant::now();
    let (comparison, looks) = decide(&groups, &mut sides, base.clone(), started + budget)?;
    let head = sides.head();
    head.save(&layout.out_dir.join("runs"))?;
    let mut markdown = comparison.to_markdown();
    if let Some(lenses) = comparison.lenses_markdown(&paths) {
        let _ = write!(markdown, "\n{lenses}");
    }
    if let Some(limits) = homodyne_perf::limits_markdown(Some(&base), &head) {
        let _ = write!(markdown, "\n{limits}");
    }
    let undecided = comparison.undecided().count();
    let _ = writeln!(
        markdown,
        "\n{looks} look(s) in {:.0} s; family-wise α {} spent over the looks (1/2, 1/4, …, 1/32); {undecided} \
         benchmark(s) still undecided{}.",
        started.elapsed().as_secs_f64(),
        suite::thresholds().alpha,
        if undecided > 0 { " (more runs, or a larger --budget, would decide them)" } else { "" }
    );
    let regressed: Vec<&str> = comparison.regressions().map(|verdict| verdict.name.as_str()).collect();
    // Counting the same build twice must give the same instructions, reads
    // and writes: anything else means the counts depend on something besides
    // the code. (Simulated cache misses depend on where the allocator and
    // ASLR put the data, so they may move by a fraction of a percent; the
    // count threshold absorbs that.)
    let exact =
        |name: &str| sides.head_counts.get(name).is_some_and(|record| instructions::is_exact_per_run(&record.unit));
    let drifting: Vec<String> = comparison
        .verdicts
        .iter()
        .filter(|verdict| self_check && exact(&verdict.name) && verdict.ratio != Some(1.0))
        .map(|verdict| format!("{} (×{:.6})", verdict.name, verdict.ratio.unwrap_or(f64::NAN)))
        .collect();
    if self_check {
        let _ = write!(
            markdown,
            "\nSelf-check (A/A, the same build against itself, {} runs each to start): {}.\n",
            options.runs,
            if regressed.is_empty() {
                "nothing flagged".to_owned()
            } else {
                format!("{} flagged: {}", regressed.len(), regressed.join(", "))
            }
        );
    }
    if options.quick {
        markdown.push_str("\nQuick mode (few samples, one run): this report informs, it does not gate.\n");
    }
    println!("{markdown}");
    publish(layout, &markdown, Some(&comparison.to_json()))?;
    let (code, message) = exit_code(&comparison, options.quick, &regressed, &drifting);
    let base_side = if measured { sides.measured_base(&head) } else { None };
    let ended = format!("The run ended after {looks} look(s): {message}.");
    sides.conclude(layout, &head, base_side.as_ref(), Some(&base.commit), &comparison.verdicts, &ended)?;
    let Some(code) = code else { bail!("{message}") };
    if code == EXIT_REGRESSION || code == EXIT_INCONCLUSIVE {
        eprintln!("{message}");
    }
    Ok(code)
}

/// Runs `plan` into `samples`, followed by the live dashboard if there is one.
fn run_observed(
    plan: &Plan<'_>,
    runs: usize,
    deadline: Option<Instant>,
    samples: &mut [Samples],
    live: &mut Option<Live>,
) -> Result<usize> {
    match live {
        Some(live) => suite::run_plan(plan, runs, deadline, samples, live),
        None => suite::run_plan(plan, runs, deadline, samples, &mut Unobserved),
    }
}

/// The exit code (`None`: an error) and what it means, in a sentence.
fn exit_code(comparison: &Comparison, quick: bool, regressed: &[&str], drifting: &[String]) -> (Option<u8>, String) {
    if !drifting.is_empty() {
        (None, format!("instruction counts differ between two runs of the same build: {}", drifting.join(", ")))
    } else if quick {
        (Some(EXIT_OK), "quick mode: this run reports, it does not gate".to_owned())
    } else if let Some(reason) = comparison.inconclusive() {
        (Some(EXIT_INCONCLUSIVE), format!("inconclusive: {reason}"))
    } else if regressed.is_empty() {
        (Some(EXIT_OK), "no regression".to_owned())
    } else {
        let fails = comparison.has_regression(Severity::Fail);
        let beyond = if fails { " (beyond the fail threshold)" } else { "" };
        (Some(EXIT_REGRESSION), format!("regression{beyond}: {}", regressed.join(", ")))
    }
}

/// The samples of the sides being compared (the base first when it is
/// measured now, the head last).
pub(crate) struct Sides<'a> {
    pub(crate) options: &'a RunOptions,
    /// The head's baseline before any sample (commit, machine, toolchain,
    /// the run's time), made once.
    pub(crate) head_template: Baseline,
    /// The same of the base when it is measured now.
    pub(crate) base_template: Option<Baseline>,
    pub(crate) samples: Vec<Samples>,
    /// Instruction counts (`--instructions`), as baseline rows.
    pub(crate) head_counts: BTreeMap<String, BenchmarkRecord>,
    pub(crate) base_counts: BTreeMap<String, BenchmarkRecord>,
    /// The live dashboard (`--serve`).
    pub(crate) live: Option<Live>,
}

impl Sides<'_> {
    pub(crate) fn head_samples(&self) -> &Samples {
        &self.samples[self.samples.len() - 1]
    }

    pub(crate) fn head(&self) -> Baseline {
        let mut head = self.head_template.clone();
        head.benchmarks.extend(time_records(self.head_samples()));
        head.benchmarks.extend(self.head_counts.clone());
        head
    }

    /// Stores the run for `cargo xtask dashboard --run` and ends the live
    /// dashboard with the same sides and verdicts.
    fn conclude(
        &mut self,
        layout: &Layout,
        head: &Baseline,
        measured_base: Option<&Baseline>,
        base_commit: Option<&str>,
        verdicts: &[Verdict],
        message: &str,
    ) -> Result<()> {
        let run = Run {
            base: measured_base.cloned(),
            head: head.clone(),
            base_commit: base_commit.map(str::to_owned),
            verdicts: verdicts.to_vec(),
        };
        run.save(&layout.out_dir)?;
        if let Some(live) = self.live.take() {
            live.finish(head, measured_base, verdicts, message);
        }
        Ok(())
    }

    /// The base measured now, restricted to what the head ran when the run is partial.
    pub(crate) fn measured_base(&self, head: &Baseline) -> Option<Baseline> {
        let mut base = self.base_template.clone()?;
        base.benchmarks.extend(time_records(&self.samples[0]));
        base.benchmarks.extend(self.base_counts.clone());
        if self.options.partial() {
            base.benchmarks.retain(|name, _| head.benchmarks.contains_key(name));
        }
        Some(base)
    }
}

/// The looks: compare, keep what is decided, run the undecided benchmarks
/// again (interleaved with the base when it is measured), until nothing is
/// undecided, the looks are used up, or the deadline passes. Returns the
/// comparison with every verdict as decided at its look, and the number of looks.
pub(crate) fn decide(
    groups: &[&[BenchBinary]],
    sides: &mut Sides<'_>,
    mut base: Baseline,
    deadline: Instant,
) -> Result<(Comparison, u32)> {
    let options = sides.options;
    if options.partial() {
        // A partial run compares only what it ran: the rest is not missing.
        let head_names = sides.head().benchmarks;
        base.benchmarks.retain(|name, _| head_names.contains_key(name));
    }
    let mut decided: BTreeMap<String, Verdict> = BTreeMap::new();
    let mut looks = 0;
    loop {
        looks += 1;
        let mut thresholds = suite::thresholds();
        if let Some(noise) = options.noise {
            thresholds.noise = noise;
        }
        thresholds.alpha *= if options.quick { 1.0 } else { alpha_share(looks) };
        // Only the benchmarks not yet decided (and the canaries) form this look's family.
        let pending = |baseline: &Baseline| -> Baseline {
            let mut subset = baseline.clone();
            subset.benchmarks.retain(|name, _| !decided.contains_key(name));
            subset
        };
        let comparison = compare_baselines(Some(&pending(&base)), &pending(&sides.head()), &thresholds);
        if let Some(live) = &mut sides.live {
            live.verdicts(&comparison.verdicts);
        }
        for verdict in &comparison.verdicts {
            if !verdict.canary && verdict.outcome != Outcome::Undecided {
                decided.insert(verdict.name.clone(), verdict.clone());
            }
        }
        let undecided: Vec<String> = comparison.undecided().map(|verdict| verdict.name.clone()).collect();
        let rerun = !undecided.is_empty()
            && !options.quick
            && looks < MAX_LOOKS
            && comparison.inconclusive().is_none()
            && Instant::now() < deadline
            && rerun_undecided(groups, sides, &undecided, deadline)? > 0;
        if !rerun {
            let mut verdicts: Vec<Verdict> = decided.into_values().collect();
            verdicts.extend(
                comparison
                    .verdicts
                    .iter()
                    .filter(|verdict| verdict.canary || verdict.outcome == Outcome::Undecided)
                    .cloned(),
            );
            return Ok((Comparison::new(comparison.provenance, verdicts, comparison.speed), looks));
        }
        if sides.base_template.is_some() && sides.samples.len() > 1 {
            base = sides.measured_base(&sides.head()).unwrap_or(base);
        }
    }
}

/// Runs the binaries of `undecided` again, only those benchmarks, `--runs`
/// more times on each measured side; returns how many runs were made.
pub(crate) fn rerun_undecided(
    groups: &[&[BenchBinary]],
    sides: &mut Sides<'_>,
    undecided: &[String],
    deadline: Instant,
) -> Result<usize> {
    let mut filters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for name in undecided {
        if let Some((binary, filter)) = suite::rerun_filter(name) {
            filters.entry(binary).or_default().push(filter);
        }
    }
    let plan: Plan<'_> = groups
        .iter()
        .map(|group| {
            group
                .iter()
                .filter_map(|binary| {
                    let filters = filters.get(binary.name.as_str())?;
                    Some((binary, Selection { filters: filters.clone(), quick: false }))
                })
                .collect()
        })
        .collect();
    eprintln!(
        "{} benchmark(s) undecided: running them again ({} s of the budget left)…",
        undecided.len(),
        deadline.saturating_duration_since(Instant::now()).as_secs()
    );
    let mut more = vec![Samples::new(); plan.len()];
    let made = run_observed(&plan, sides.options.runs, Some(deadline), &mut more, &mut sides.live)?;
    for (index, group_samples) in more.into_iter().enumerate() {
        for (name, values) in group_samples {
            sides.samples[index].entry(name).or_default().extend(values);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_spent_within_the_total() {
        let total: f64 = (1..=MAX_LOOKS).map(alpha_share).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }
}
