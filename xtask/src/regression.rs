//! `cargo xtask regression` and `cargo xtask baseline-update`: run the
//! bench suite as separate processes, store the samples as a baseline keyed
//! to the commit (merging into what is stored), compare with a base through
//! `homodyne-perf`, and run undecided benchmarks again until they are decided.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use homodyne_perf::git::{self, GitState};
use homodyne_perf::{
    BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Comparison, Direction, Machine, Outcome, Sampling, Severity,
    Update, Verdict, compare_baselines, file_exists,
};

use crate::flags::Args;
use crate::format::{format_ns, median, short_id, write_text};
use crate::instructions;
use crate::suite::{self, BenchBinary, Plan, Samples, Selection};

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
const MAX_LOOKS: u32 = 6;

/// The share of the family-wise α spent at look `look` (1-based): 1/2, 1/4,
/// 1/8, 1/16, 1/32, 1/32. Testing the same benchmarks again after more runs
/// gives false alarms more chances; spending α across looks keeps the total
/// at α. (Deciding "unchanged" spends none: it is no alarm.)
fn alpha_share(look: u32) -> f64 {
    0.5f64.powi(look.clamp(1, MAX_LOOKS - 1).cast_signed())
}

/// Where things live; the directories can be moved (tests do).
struct Layout {
    root: PathBuf,
    baselines_dir: PathBuf,
    out_dir: PathBuf,
}

impl Layout {
    fn from_args(args: &mut Args) -> Result<Layout> {
        let root = args.value("--root")?.map_or_else(crate::flags::workspace_root, PathBuf::from);
        let baselines_dir = args.value("--baselines-dir")?.map_or_else(|| root.join("baselines"), PathBuf::from);
        let out_dir = args.value("--out-dir")?.map_or_else(|| root.join("target").join("perf"), PathBuf::from);
        Ok(Layout { root, baselines_dir, out_dir })
    }
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The options shared by both commands.
struct RunOptions {
    runs: usize,
    /// `--noise PERCENT`: the noise threshold of every benchmark.
    noise: Option<f64>,
    filter: Option<String>,
    quick: bool,
    bench: Option<String>,
    /// `--instructions`: count the instruction suite under Callgrind too.
    instructions: bool,
}

impl RunOptions {
    fn from_args(args: &mut Args, quick: bool) -> Result<RunOptions> {
        let default_runs = if quick {
            1
        } else if is_ci() {
            10
        } else {
            5
        };
        let runs = match args.value("--runs")? {
            Some(text) => text.parse::<usize>().ok().filter(|runs| *runs > 0).with_context(|| {
                format!("--runs takes a positive number of process runs per bench binary, not {text:?}")
            })?,
            None => default_runs,
        };
        let noise = match args.value("--noise")? {
            Some(text) => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|percent| percent.is_finite() && *percent > 0.0)
                    .with_context(|| format!("--noise takes a positive percentage, not {text:?}"))?
                    / 100.0,
            ),
            None => None,
        };
        Ok(RunOptions {
            runs,
            noise,
            filter: args.value("--filter")?,
            quick,
            bench: args.value("--bench")?,
            instructions: args.flag("--instructions"),
        })
    }

    fn selection(&self) -> Selection {
        Selection { filters: self.filter.iter().cloned().collect(), quick: self.quick }
    }

    fn partial(&self) -> bool {
        self.filter.is_some() || self.bench.is_some()
    }

    /// The command line that produced the samples, for the baseline's updates.
    fn describe(&self, command: &str) -> String {
        let mut text = format!("cargo xtask {command} --runs {}", self.runs);
        if let Some(filter) = &self.filter {
            let _ = write!(text, " --filter {filter}");
        }
        if let Some(bench) = &self.bench {
            let _ = write!(text, " --bench {bench}");
        }
        if self.quick {
            text.push_str(" --quick");
        }
        if self.instructions {
            text.push_str(" --instructions");
        }
        text
    }
}

fn rustc_facts() -> (String, String) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc).arg("-vV").output().ok().filter(|output| output.status.success());
    let text = output.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map_or_else(|| "unknown".to_owned(), |value| value.trim().to_owned())
    };
    (format!("rustc {}", field("release:")), field("host:"))
}

/// A baseline describing one side's samples (divan's medians, in ns),
/// measured here and now.
fn make_baseline(
    commit: &str,
    git_state: Option<&GitState>,
    options: &RunOptions,
    command: &str,
    samples: &Samples,
) -> Baseline {
    let (rustc, target) = rustc_facts();
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let benchmarks = samples
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| {
            let record = BenchmarkRecord {
                unit: "ns".to_owned(),
                direction: Direction::LowerIsBetter,
                samples: values.clone(),
                update: 0,
            };
            (format!("{name}/time"), record)
        })
        .collect();
    Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        commit: commit.to_owned(),
        branch: git_state.and_then(|state| state.branch.clone()),
        tags: Vec::new(),
        dirty: git_state.is_some_and(|state| state.dirty),
        timestamp,
        rustc,
        target,
        profile: "bench".to_owned(),
        machine: Machine::current(),
        sampling: Sampling { runs: options.runs, sample: "median of one divan process run, ns".to_owned() },
        updates: vec![Update {
            timestamp,
            runs: options.runs,
            command: options.describe(command),
            partial: options.partial(),
            quick: options.quick,
        }],
        benchmarks,
    }
}

/// Checks out `commit` in a git worktree under the output directory (made
/// afresh each time, so that it is exactly that commit).
fn base_worktree(layout: &Layout, commit: &str) -> Result<PathBuf> {
    let worktree = layout.out_dir.join("base-worktree");
    let git = |args: &[&str]| -> Result<()> {
        let output = Command::new("git")
            .current_dir(&layout.root)
            .args(args)
            .output()
            .context("running git (needed to check out the base in a worktree)")?;
        if !output.status.success() {
            bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    };
    if worktree.exists() {
        let path = worktree.to_string_lossy().into_owned();
        // It may be a stale worktree or a plain directory: try both ways.
        let _ = git(&["worktree", "remove", "--force", &path]);
        if worktree.exists() {
            std::fs::remove_dir_all(&worktree).with_context(|| format!("removing {}", worktree.display()))?;
        }
    }
    git(&["worktree", "prune"])?;
    std::fs::create_dir_all(&layout.out_dir).with_context(|| format!("creating {}", layout.out_dir.display()))?;
    git(&["worktree", "add", "--detach", "--force", &worktree.to_string_lossy(), commit])?;
    Ok(worktree)
}

/// The results of one side, when there is nothing to compare with.
fn results_markdown(head: &Baseline) -> String {
    let mut out = String::from("## Benchmark results\n\n");
    let _ = writeln!(
        out,
        "head `{}` ({} runs) on {} ({} cores)\n",
        short_id(&head.commit, 12),
        head.sampling.runs,
        head.machine.cpu,
        head.machine.cores
    );
    out.push_str("| benchmark | median | fastest run | slowest run |\n|---|---|---|---|\n");
    for (name, record) in &head.benchmarks {
        let to_ns = homodyne_perf::time_factor(&record.unit, "ns").unwrap_or(1.0);
        let fastest = record.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let slowest = record.samples.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            format_ns(median(&record.samples).unwrap_or(f64::NAN) * to_ns),
            format_ns(fastest * to_ns),
            format_ns(slowest * to_ns)
        );
    }
    out
}

/// Writes the report files and appends to the GitHub job summary.
fn publish(layout: &Layout, markdown: &str, json: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(&layout.out_dir).with_context(|| format!("creating {}", layout.out_dir.display()))?;
    let report = layout.out_dir.join("report.md");
    write_text(&report, markdown)?;
    let json_path = layout.out_dir.join("report.json");
    match json {
        Some(json) => write_text(&json_path, json)?,
        // No comparison, so no verdicts: a stale file would mislead.
        None => match std::fs::remove_file(&json_path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).with_context(|| format!("removing {}", json_path.display())),
        },
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| format!("opening the job summary {}", summary.to_string_lossy()))?;
        writeln!(file, "{markdown}").context("appending to the job summary")?;
    }
    eprintln!("report written to {}", report.display());
    Ok(())
}

/// The stored baseline to compare HEAD with (tag, else ancestor), if any.
fn stored_base(layout: &Layout) -> Result<Option<Baseline>> {
    let found = git::find_base(&layout.root, &layout.baselines_dir, None)?;
    Ok(found.map(|(_, path)| Baseline::load(&path)).transpose()?)
}

/// `cargo xtask regression`.
pub(crate) fn regression(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let quick = args.flag("--quick");
    let self_check = args.flag("--self-check");
    let base_ref = args.value("--base")?;
    let budget = match args.value("--budget")? {
        Some(text) => Duration::from_secs(text.parse::<u64>().with_context(|| {
            format!("--budget takes whole seconds for the runs of undecided benchmarks, not {text:?}")
        })?),
        None => Duration::from_secs(if is_ci() { 600 } else { 300 }),
    };
    let options = RunOptions::from_args(&mut args, quick)?;
    args.finish()?;

    // Any git failure is an error: "no baseline" must mean there is none.
    let head_state = git::git_state(&layout.root)?;
    if options.instructions {
        instructions::require_valgrind()?;
    }
    eprintln!("building the benches…");
    let bins = layout.out_dir.join("bins");
    let head_binaries = suite::build(&layout.root, None, options.bench.as_deref(), &bins.join("head"))?;
    let head_suite =
        options.instructions.then(|| instructions::build(&layout.root, None, &bins.join("head"))).transpose()?;

    // The base side: measured now (interleaved) or read from a stored baseline.
    let mut base_suite = None;
    let (base_binaries, head_binaries, base_commit, stored) = match (&base_ref, self_check) {
        (Some(base_ref), _) => {
            let commit = git::resolve(&layout.root, base_ref)?;
            let worktree = base_worktree(&layout, &commit)?;
            eprintln!("building the benches of the base {base_ref} ({})…", short_id(&commit, 12));
            // The shared target directory reuses every dependency already built.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|dir| !dir.is_empty())
                .map_or_else(|| layout.root.join("target"), PathBuf::from);
            let built = suite::build(&worktree, Some(&target), options.bench.as_deref(), &bins.join("base"))?;
            if options.instructions {
                base_suite = Some(instructions::build(&worktree, Some(&target), &bins.join("base"))?);
            }
            // A self-check with a base runs the base's build against itself.
            let head = if self_check { built.clone() } else { head_binaries };
            (Some(built), head, Some(commit), None)
        }
        (None, true) => {
            base_suite.clone_from(&head_suite);
            (Some(head_binaries.clone()), head_binaries, Some(head_state.commit.clone()), None)
        }
        (None, false) => (None, head_binaries, None, stored_base(&layout)?),
    };
    // The instruction lens: exact counts, one Callgrind run per benchmark and side.
    let lens = match &head_suite {
        Some(head_suite) => {
            let filter = options.filter.as_deref();
            let callgrind = layout.out_dir.join("callgrind");
            // A self-check with a base counts the base's build on both sides,
            // as its wall-time half does; any self-check is the determinism check.
            let head_suite = if self_check { base_suite.as_ref().unwrap_or(head_suite) } else { head_suite };
            let head = instructions::run(head_suite, filter, &callgrind.join("head"))?;
            let base =
                base_suite.as_ref().map(|base| instructions::run(base, filter, &callgrind.join("base"))).transpose()?;
            Some(Lens { head, base })
        }
        None => None,
    };
    gate(
        &layout,
        &options,
        budget,
        &head_binaries,
        base_binaries.as_deref(),
        base_commit,
        stored,
        &head_state,
        self_check,
        lens,
    )
}

/// Instruction counts of the head and, when it is measured now, of the base.
struct Lens {
    head: Vec<instructions::Counted>,
    base: Option<Vec<instructions::Counted>>,
}

/// Runs, compares, reruns the undecided, reports; returns the exit code.
#[expect(clippy::too_many_arguments, reason = "the two ways in (measured or stored base) meet here")]
fn gate(
    layout: &Layout,
    options: &RunOptions,
    budget: Duration,
    head_binaries: &[BenchBinary],
    base_binaries: Option<&[BenchBinary]>,
    base_commit: Option<String>,
    stored: Option<Baseline>,
    head_state: &GitState,
    self_check: bool,
    lens: Option<Lens>,
) -> Result<u8> {
    let mut groups: Vec<&[BenchBinary]> = Vec::new();
    if let Some(base) = base_binaries {
        groups.push(base);
    }
    groups.push(head_binaries);
    let paths = lens.as_ref().map(|lens| instructions::paths(&lens.head)).unwrap_or_default();
    let mut sides = Sides {
        options,
        head_state,
        base_commit,
        samples: vec![Samples::new(); groups.len()],
        head_counts: lens.as_ref().map(|lens| instructions::records(&lens.head)).unwrap_or_default(),
        base_counts: lens.as_ref().and_then(|lens| lens.base.as_deref()).map(instructions::records).unwrap_or_default(),
    };
    suite::run_plan(&suite::whole(&groups, &options.selection()), options.runs, None, &mut sides.samples)?;
    if sides.head_samples().is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let head = sides.head();
    head.save(&layout.out_dir.join("runs"))?;
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
    if !drifting.is_empty() {
        bail!("instruction counts differ between two runs of the same build: {}", drifting.join(", "));
    }
    if options.quick {
        return Ok(EXIT_OK);
    }
    if let Some(reason) = comparison.inconclusive() {
        eprintln!("inconclusive: {reason}");
        return Ok(EXIT_INCONCLUSIVE);
    }
    if regressed.is_empty() {
        return Ok(EXIT_OK);
    }
    let fails = comparison.has_regression(Severity::Fail);
    eprintln!("regression{}: {}", if fails { " (beyond the fail threshold)" } else { "" }, regressed.join(", "));
    Ok(EXIT_REGRESSION)
}

/// The samples of the sides being compared (the base first when it is
/// measured now, the head last).
struct Sides<'a> {
    options: &'a RunOptions,
    head_state: &'a GitState,
    base_commit: Option<String>,
    samples: Vec<Samples>,
    /// Instruction counts (`--instructions`), as baseline rows.
    head_counts: BTreeMap<String, BenchmarkRecord>,
    base_counts: BTreeMap<String, BenchmarkRecord>,
}

impl Sides<'_> {
    fn head_samples(&self) -> &Samples {
        &self.samples[self.samples.len() - 1]
    }

    fn head(&self) -> Baseline {
        let mut head = make_baseline(
            &self.head_state.commit,
            Some(self.head_state),
            self.options,
            "regression",
            self.head_samples(),
        );
        head.benchmarks.extend(self.head_counts.clone());
        head
    }

    /// The base measured now, restricted to what the head ran when the run is partial.
    fn measured_base(&self, head: &Baseline) -> Option<Baseline> {
        let commit = self.base_commit.as_ref()?;
        let mut base = make_baseline(commit, None, self.options, "regression", &self.samples[0]);
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
fn decide(
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
        if sides.base_commit.is_some() && sides.samples.len() > 1 {
            base = sides.measured_base(&sides.head()).unwrap_or(base);
        }
    }
}

/// Runs the binaries of `undecided` again, only those benchmarks, `--runs`
/// more times on each measured side; returns how many runs were made.
fn rerun_undecided(
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
    let made = suite::run_plan(&plan, sides.options.runs, Some(deadline), &mut more)?;
    for (index, group_samples) in more.into_iter().enumerate() {
        for (name, values) in group_samples {
            sides.samples[index].entry(name).or_default().extend(values);
        }
    }
    Ok(made)
}

/// `cargo xtask baseline-update`.
pub(crate) fn baseline_update(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let name = args.value("--name")?;
    let allow_dirty = args.flag("--allow-dirty");
    let no_tag = args.flag("--no-tag");
    let force = args.flag("--force");
    let quick = args.flag("--quick");
    let options = RunOptions::from_args(&mut args, quick)?;
    args.finish()?;

    let state = git::git_state(&layout.root)?;
    if state.dirty && !allow_dirty {
        bail!(
            "the working tree has uncommitted changes, so a baseline would not describe commit {}: \
             commit or stash them, or pass --allow-dirty",
            short_id(&state.commit, 12)
        );
    }
    let tag_name = name.unwrap_or_else(|| short_id(&state.commit, 12).to_owned());
    if !no_tag && !force {
        // Refuse before measuring: a tag of that name elsewhere moves only with --force.
        let tag = format!("{}{tag_name}", git::BASELINE_TAG_PREFIX);
        if let Ok(points_at) = git::resolve(&layout.root, &tag)
            && points_at != state.commit
        {
            bail!("{tag} already points at {}; pass --force to move it", short_id(&points_at, 12));
        }
    }
    let path = Baseline::path_in(&layout.baselines_dir, &state.commit);
    // Read what is stored first: a file that cannot be read is never replaced.
    let existing = if file_exists(&path)? {
        Some(Baseline::load(&path).with_context(|| {
            format!("{} is stored but cannot be read; move it away to record a new baseline", path.display())
        })?)
    } else {
        None
    };
    if options.instructions {
        instructions::require_valgrind()?;
    }
    eprintln!("building the benches…");
    let binaries =
        suite::build(&layout.root, None, options.bench.as_deref(), &layout.out_dir.join("bins").join("head"))?;
    let counts = if options.instructions {
        let suite_binary = instructions::build(&layout.root, None, &layout.out_dir.join("bins").join("head"))?;
        instructions::run(&suite_binary, options.filter.as_deref(), &layout.out_dir.join("callgrind").join("head"))?
    } else {
        Vec::new()
    };
    let mut samples = vec![Samples::new()];
    suite::run_plan(&suite::whole(&[&binaries], &options.selection()), options.runs, None, &mut samples)?;
    if samples[0].is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let mut baseline = make_baseline(&state.commit, Some(&state), &options, "baseline-update", &samples[0]);
    baseline.benchmarks.extend(instructions::records(&counts));
    if !no_tag {
        baseline.tags.push(format!("{}{tag_name}", git::BASELINE_TAG_PREFIX));
    }
    println!("{}", results_markdown(&baseline));
    // What was read above may have changed meanwhile (another process
    // saving the same commit): merged again under the directory's lock.
    drop(existing);
    let (path, merged, report) = baseline.save_merged(&layout.baselines_dir, force)?;
    if let Some(report) = report {
        println!(
            "merged into the stored baseline of {}: {} row(s) replaced, {} added, {} kept from before{}",
            short_id(&state.commit, 12),
            report.replaced.len(),
            report.added.len(),
            merged.benchmarks.len() - report.replaced.len() - report.added.len(),
            if report.kept.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} stored row(s) have more samples than this run and were kept (--force replaces them): {}",
                    report.kept.len(),
                    report.kept.join(", ")
                )
            }
        );
    }
    println!("baseline written to {}", path.display());
    if !no_tag {
        let tag = git::tag_baseline(&layout.root, &tag_name, &state.commit, force)?;
        println!("tagged {} as {tag} (share it with `git push origin {tag}`)", short_id(&state.commit, 12));
    }
    Ok(EXIT_OK)
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
