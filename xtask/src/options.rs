//! What `regression` and `baseline-update` measure and where: the layout
//! of directories, the run options from the command line, the base's
//! worktree, the baseline made of the samples, and the reports written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use homodyne_perf::git::{self, GitState};
use homodyne_perf::{BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Direction, Machine, Sampling, Update};

use crate::flags::Args;
use crate::format::{format_ns, median, short_id, write_text};
use crate::suite::{Samples, Selection};

/// Where things live; the directories can be moved (tests do).
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) baselines_dir: PathBuf,
    pub(crate) out_dir: PathBuf,
}

impl Layout {
    pub(crate) fn from_args(args: &mut Args) -> Result<Layout> {
        let root = args.value("--root")?.map_or_else(crate::flags::workspace_root, PathBuf::from);
        let baselines_dir = args.value("--baselines-dir")?.map_or_else(|| root.join("baselines"), PathBuf::from);
        let out_dir = args.value("--out-dir")?.map_or_else(|| root.join("target").join("perf"), PathBuf::from);
        Ok(Layout { root, baselines_dir, out_dir })
    }
}

pub(crate) fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The options shared by both commands.
pub(crate) struct RunOptions {
    pub(crate) runs: usize,
    /// `--noise PERCENT`: the noise threshold of every benchmark.
    pub(crate) noise: Option<f64>,
    pub(crate) filter: Option<String>,
    pub(crate) quick: bool,
    pub(crate) bench: Option<String>,
    /// `--instructions`: count the instruction suite under Callgrind too.
    pub(crate) instructions: bool,
}

impl RunOptions {
    pub(crate) fn from_args(args: &mut Args, quick: bool) -> Result<RunOptions> {
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

    pub(crate) fn selection(&self) -> Selection {
        Selection { filters: self.filter.iter().cloned().collect(), quick: self.quick }
    }

    pub(crate) fn partial(&self) -> bool {
        self.filter.is_some() || self.bench.is_some()
    }

    /// The command line that produced the samples, for the baseline's updates.
    pub(crate) fn describe(&self, command: &str) -> String {
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

pub(crate) fn rustc_facts() -> (String, String) {
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
pub(crate) fn make_baseline(
    commit: &str,
    git_state: Option<&GitState>,
    options: &RunOptions,
    command: &str,
    samples: &Samples,
) -> Baseline {
    let (rustc, target) = rustc_facts();
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
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
        benchmarks: time_records(samples),
    }
}

/// The samples of each divan row as the baseline row `<row>/time`.
pub(crate) fn time_records(samples: &Samples) -> BTreeMap<String, BenchmarkRecord> {
    samples
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
        .collect()
}

/// Checks out `commit` in a git worktree under the output directory (made
/// afresh each time, so that it is exactly that commit).
pub(crate) fn base_worktree(layout: &Layout, commit: &str) -> Result<PathBuf> {
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
pub(crate) fn results_markdown(head: &Baseline) -> String {
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
pub(crate) fn publish(layout: &Layout, markdown: &str, json: Option<&str>) -> Result<()> {
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
pub(crate) fn stored_base(layout: &Layout) -> Result<Option<Baseline>> {
    let found = git::find_base(&layout.root, &layout.baselines_dir, None)?;
    Ok(found.map(|(_, path)| Baseline::load(&path)).transpose()?)
}
