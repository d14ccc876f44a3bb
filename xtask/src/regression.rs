//! `cargo xtask regression` and `cargo xtask baseline-update`: run the
//! bench suite as separate processes, store the samples as a baseline keyed
//! to the commit, compare with a base through `homodyne-perf`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use homodyne_perf::git::{self, GitState};
use homodyne_perf::{
    BASELINE_FORMAT_VERSION, Baseline, Comparison, Machine, Metric, Outcome, PerformanceRecorder, Sampling, Severity,
};

use crate::Args;
use crate::history::{format_ns, median};
use crate::suite::{self, BenchBinary, RunOptions, Samples};

/// Exit code: the command ran and found no regression.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: at least one benchmark regressed.
pub(crate) const EXIT_REGRESSION: u8 = 3;

/// Where things live; the directories can be moved (tests do).
struct Layout {
    root: PathBuf,
    baselines_dir: PathBuf,
    out_dir: PathBuf,
}

impl Layout {
    fn from_args(args: &mut Args) -> Result<Layout> {
        let root = crate::workspace_root();
        let baselines_dir = args.value("--baselines-dir")?.map_or_else(|| root.join("baselines"), PathBuf::from);
        let out_dir = args.value("--out-dir")?.map_or_else(|| root.join("target").join("perf"), PathBuf::from);
        Ok(Layout { root, baselines_dir, out_dir })
    }
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The options shared by both commands.
fn run_options(args: &mut Args, quick: bool) -> Result<RunOptions> {
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
    Ok(RunOptions { runs, filter: args.value("--filter")?, quick, bench: args.value("--bench")? })
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

/// A baseline describing one side's samples, measured here and now.
fn make_baseline(commit: &str, git_state: Option<&GitState>, runs: usize, samples: &Samples) -> Result<Baseline> {
    let mut recorder = PerformanceRecorder::default();
    for (name, values) in samples {
        for value in values {
            recorder.record_metric(name, Metric::Time, *value)?;
        }
    }
    let (rustc, target) = rustc_facts();
    Ok(Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        commit: commit.to_owned(),
        branch: git_state.and_then(|state| state.branch.clone()),
        tags: Vec::new(),
        dirty: git_state.is_some_and(|state| state.dirty),
        timestamp: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()),
        rustc,
        target,
        profile: "bench".to_owned(),
        machine: Machine::current(),
        sampling: Sampling { runs, sample: "median of one divan process run, ns".to_owned() },
        benchmarks: recorder.samples().clone(),
    })
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
        &head.commit[..head.commit.len().min(12)],
        head.sampling.runs,
        head.machine.cpu,
        head.machine.cores
    );
    out.push_str("| benchmark | median | fastest run | slowest run |\n|---|---|---|---|\n");
    for (name, record) in &head.benchmarks {
        let fastest = record.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let slowest = record.samples.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            format_ns(median(&record.samples).unwrap_or(f64::NAN)),
            format_ns(fastest),
            format_ns(slowest)
        );
    }
    out
}

/// Writes the report files and appends to the GitHub job summary.
fn publish(layout: &Layout, markdown: &str, json: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(&layout.out_dir).with_context(|| format!("creating {}", layout.out_dir.display()))?;
    let report = layout.out_dir.join("report.md");
    write_atomically(&report, markdown)?;
    let json_path = layout.out_dir.join("report.json");
    match json {
        Some(json) => write_atomically(&json_path, json)?,
        // No comparison, so no verdicts: a stale file would mislead.
        None if json_path.exists() => {
            std::fs::remove_file(&json_path).with_context(|| format!("removing {}", json_path.display()))?;
        }
        None => {}
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

/// Writes `text` to `path` through a temporary file and a rename.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))
}

fn flagged(comparison: &Comparison) -> Vec<&str> {
    comparison
        .verdicts
        .iter()
        .filter(|verdict| matches!(verdict.outcome, Outcome::Regression(_)))
        .map(|verdict| verdict.name.as_str())
        .collect()
}

/// `cargo xtask regression`.
pub(crate) fn regression(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let quick = args.flag("--quick");
    let self_check = args.flag("--self-check");
    let base_ref = args.value("--base")?;
    let options = run_options(&mut args, quick)?;
    args.finish()?;

    let head_state = git::git_state(&layout.root).ok();
    let head_commit = head_state.as_ref().map_or_else(|| "working-tree".to_owned(), |state| state.commit.clone());
    eprintln!("building the benches…");
    let head_binaries = suite::build(&layout.root, None, options.bench.as_deref())?;

    // The base side: measured now (interleaved) or read from a stored baseline.
    let (base, head_samples) = if let Some(base_ref) = &base_ref {
        let base_commit = git::resolve(&layout.root, base_ref)?;
        let worktree = base_worktree(&layout, &base_commit)?;
        eprintln!("building the benches of the base {base_ref} ({})…", &base_commit[..12]);
        // The shared target directory reuses every dependency already built.
        let base_binaries = suite::build(&worktree, Some(&layout.root.join("target")), options.bench.as_deref())?;
        let (base_binaries, head_binaries): (&[BenchBinary], &[BenchBinary]) =
            if self_check { (&base_binaries, &base_binaries) } else { (&base_binaries, &head_binaries) };
        let mut samples = suite::run_groups(&[base_binaries, head_binaries], &options)?.into_iter();
        let (base_samples, head_samples) = (samples.next().unwrap_or_default(), samples.next().unwrap_or_default());
        (Some(make_baseline(&base_commit, None, options.runs, &base_samples)?), head_samples)
    } else if self_check {
        let mut samples = suite::run_groups(&[&head_binaries, &head_binaries], &options)?.into_iter();
        let (base_samples, head_samples) = (samples.next().unwrap_or_default(), samples.next().unwrap_or_default());
        (Some(make_baseline(&head_commit, head_state.as_ref(), options.runs, &base_samples)?), head_samples)
    } else {
        let found = match &head_state {
            Some(_) => git::find_base(&layout.root, &layout.baselines_dir, None)?,
            None => None,
        };
        let base = found.map(|(_, path)| Baseline::load(&path)).transpose()?;
        let samples = suite::run_groups(&[&head_binaries], &options)?.into_iter().next().unwrap_or_default();
        (base, samples)
    };
    if head_samples.is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let head = make_baseline(&head_commit, head_state.as_ref(), options.runs, &head_samples)?;
    head.save(&layout.out_dir.join("runs"))?;

    let Some(mut base) = base else {
        let mut markdown = results_markdown(&head);
        let _ = write!(
            markdown,
            "\nNo baseline to compare with: none in `{}` for HEAD or its ancestors. Record one with \
             `cargo xtask baseline-update` (or compare with a commit: `cargo xtask regression --base <REF>`).\n",
            layout.baselines_dir.display()
        );
        println!("{markdown}");
        publish(&layout, &markdown, None)?;
        return Ok(EXIT_OK);
    };
    if options.filter.is_some() || options.bench.is_some() {
        // A partial run compares only what it ran: the rest is not missing.
        base.benchmarks.retain(|name, _| head.benchmarks.contains_key(name));
    }
    let comparison = PerformanceRecorder::with_baseline(base).compare(&head);
    let mut markdown = comparison.to_markdown();
    let regressed = flagged(&comparison);
    if self_check {
        let _ = write!(
            markdown,
            "\nSelf-check (A/A, the same build against itself, {} runs each): {}.\n",
            options.runs,
            if regressed.is_empty() {
                "nothing flagged".to_owned()
            } else {
                format!("{} flagged: {}", regressed.len(), regressed.join(", "))
            }
        );
    }
    if quick {
        markdown.push_str("\nQuick mode (few samples, one run): this report informs, it does not gate.\n");
    }
    println!("{markdown}");
    publish(&layout, &markdown, Some(&comparison.to_json()))?;
    if quick || regressed.is_empty() {
        Ok(EXIT_OK)
    } else {
        let fails = comparison.has_regression(Severity::Fail);
        eprintln!("regression{}: {}", if fails { " (beyond the fail threshold)" } else { "" }, regressed.join(", "));
        Ok(EXIT_REGRESSION)
    }
}

/// `cargo xtask baseline-update`.
pub(crate) fn baseline_update(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let name = args.value("--name")?;
    let allow_dirty = args.flag("--allow-dirty");
    let no_tag = args.flag("--no-tag");
    let quick = args.flag("--quick");
    let options = run_options(&mut args, quick)?;
    args.finish()?;

    let state = git::git_state(&layout.root)?;
    if state.dirty && !allow_dirty {
        bail!(
            "the working tree has uncommitted changes, so a baseline would not describe commit {}: \
             commit or stash them, or pass --allow-dirty",
            &state.commit[..12]
        );
    }
    eprintln!("building the benches…");
    let binaries = suite::build(&layout.root, None, options.bench.as_deref())?;
    let samples = suite::run_groups(&[&binaries], &options)?.into_iter().next().unwrap_or_default();
    if samples.is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let mut baseline = make_baseline(&state.commit, Some(&state), options.runs, &samples)?;
    let tag_name = name.unwrap_or_else(|| state.commit[..12].to_owned());
    if !no_tag {
        baseline.tags.push(format!("{}{tag_name}", git::BASELINE_TAG_PREFIX));
    }
    let path = baseline.save(&layout.baselines_dir)?;
    println!("{}", results_markdown(&baseline));
    println!("baseline written to {}", path.display());
    if !no_tag {
        let tag = git::tag_baseline(&layout.root, &tag_name, &state.commit)?;
        println!("tagged {} as {tag} (share it with `git push origin {tag}`)", &state.commit[..12]);
    }
    Ok(EXIT_OK)
}
