//! Building the bench binaries and running them as separate processes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use homodyne_perf::Thresholds;

use crate::divan;

/// The canary benchmarks (`crates/homodyne-testkit/benches/canary.rs`):
/// pure arithmetic on one core and on every core. They measure the machine,
/// never gate, and drive the speed guard.
pub(crate) const CANARIES: [&str; 2] = ["canary/steady/time", "canary/parallel/time"];

/// The decision rule of every command: the defaults of `homodyne-perf`,
/// with this suite's canaries.
pub(crate) fn thresholds() -> Thresholds {
    Thresholds { canaries: CANARIES.iter().map(|name| (*name).to_owned()).collect(), ..Thresholds::default() }
}

/// The bench target that is not a divan suite: the instruction-count suite
/// (`crates/homodyne-bench/benches/instructions.rs`), run under Callgrind by
/// [`crate::instructions`], never by the wall-time plan.
pub(crate) const INSTRUCTION_SUITE: &str = "instructions";

/// A built bench binary.
#[derive(Debug, Clone)]
pub(crate) struct BenchBinary {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// Which benchmarks one process run of a binary measures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// divan filters (regular expressions; any match runs); none: everything.
    pub(crate) filters: Vec<String>,
    /// Few samples per benchmark (`--quick`).
    pub(crate) quick: bool,
}

/// Builds every bench of the workspace at `root` (target directory
/// `target_dir` if given) and returns the executables, copied into `keep_in`.
///
/// The copy matters: cargo names a workspace member's artifacts by a hash
/// that does not depend on where the workspace is checked out, so building
/// the base in a worktree with the same target directory overwrites the
/// head's binaries (both sides would then run the base).
pub(crate) fn build(
    root: &Path,
    target_dir: Option<&Path>,
    bench: Option<&str>,
    keep_in: &Path,
) -> Result<Vec<BenchBinary>> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root).args(["bench", "--workspace", "--no-run", "--message-format=json-render-diagnostics"]);
    if let Some(bench) = bench {
        command.args(["--bench", bench]);
    }
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    // Cargo's progress and diagnostics go to the user; the JSON messages on
    // stdout name the executables.
    let output = command.stderr(std::process::Stdio::inherit()).output().context("running cargo bench --no-run")?;
    if !output.status.success() {
        bail!("building the benches failed (cargo's messages are above)");
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_bench =
            message["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"));
        if message["reason"] == "compiler-artifact"
            && is_bench
            && let (Some(name), Some(path)) = (message["target"]["name"].as_str(), message["executable"].as_str())
            && name != INSTRUCTION_SUITE
        {
            binaries.push(BenchBinary { name: name.to_owned(), path: PathBuf::from(path) });
        }
    }
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    if binaries.is_empty() {
        bail!("no bench binaries were built");
    }
    std::fs::create_dir_all(keep_in).with_context(|| format!("creating {}", keep_in.display()))?;
    for binary in &mut binaries {
        let kept = keep_in.join(&binary.name);
        std::fs::copy(&binary.path, &kept)
            .with_context(|| format!("copying {} to {}", binary.path.display(), kept.display()))?;
        binary.path = kept;
    }
    Ok(binaries)
}

/// Runs one binary once and returns its rows.
pub(crate) fn run_once(binary: &BenchBinary, selection: &Selection) -> Result<Vec<divan::Row>> {
    let mut command = Command::new(&binary.path);
    command.arg("--bench");
    if selection.quick {
        command.args(["--sample-count", "5", "--max-time", "0.2"]);
    }
    command.args(&selection.filters);
    let output = command.output().with_context(|| format!("running {}", binary.path.display()))?;
    if !output.status.success() {
        bail!("{} failed:\n{}", binary.name, String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.trim().is_empty() {
        // A filter that matches nothing in this binary.
        return Ok(Vec::new());
    }
    divan::parse(&stdout).with_context(|| format!("reading the output of {}", binary.name))
}

/// Samples per benchmark path: one median per process run.
pub(crate) type Samples = BTreeMap<String, Vec<f64>>;

/// What to run: per group (for example base and head), the binaries and
/// the selection of each.
pub(crate) type Plan<'a> = Vec<Vec<(&'a BenchBinary, Selection)>>;

/// Every binary of every group with the same selection.
pub(crate) fn whole<'a>(groups: &[&'a [BenchBinary]], selection: &Selection) -> Plan<'a> {
    groups.iter().map(|group| group.iter().map(|binary| (binary, selection.clone())).collect()).collect()
}

/// Who follows a run as it goes (the live dashboard); the terminal's
/// progress line is printed by [`run_plan`] itself.
pub(crate) trait Observer {
    /// `done` of `total` process runs made; what runs now.
    fn progress(&mut self, done: usize, total: usize, message: &str);
    /// The rows of one process run of group `group` (of `groups`).
    fn rows(&mut self, group: usize, groups: usize, rows: &[divan::Row]);
}

/// Nobody follows.
pub(crate) struct Unobserved;

impl Observer for Unobserved {
    fn progress(&mut self, _done: usize, _total: usize, _message: &str) {}
    fn rows(&mut self, _group: usize, _groups: usize, _rows: &[divan::Row]) {}
}

/// Runs the plan `runs` times, interleaving the groups run by run so that
/// slow phases of the machine hit both; adds one sample per benchmark and
/// run to `samples` (one map per group). Stops between runs once `deadline`
/// has passed (returns how many runs were made). Shows progress on a terminal.
pub(crate) fn run_plan(
    plan: &Plan<'_>,
    runs: usize,
    deadline: Option<Instant>,
    samples: &mut [Samples],
    observer: &mut dyn Observer,
) -> Result<usize> {
    let total = runs * plan.iter().map(Vec::len).sum::<usize>();
    let started = Instant::now();
    let mut done = 0;
    let interactive = std::io::stderr().is_terminal();
    for run in 0..runs {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            if interactive {
                eprintln!("\r\x1b[2Kstopped after {run} runs: the time budget is spent");
            }
            return Ok(run);
        }
        for (group_idx, group) in plan.iter().enumerate() {
            for (binary, selection) in group {
                let remaining = if done == 0 {
                    String::new()
                } else {
                    let per = started.elapsed().as_secs_f64() / done as f64;
                    format!(", ~{:.0} s left", per * (total - done) as f64)
                };
                let message = format!("[{}/{total}] run {}/{runs} {}{remaining}", done + 1, run + 1, binary.name);
                if interactive {
                    eprint!("\r\x1b[2K{message}");
                }
                observer.progress(done, total, &message);
                let rows = run_once(binary, selection)?;
                observer.rows(group_idx, plan.len(), &rows);
                for row in rows {
                    samples[group_idx].entry(row.path).or_default().push(row.median_ns);
                }
                done += 1;
            }
        }
    }
    let message = format!("{total} bench runs in {:.0} s", started.elapsed().as_secs_f64());
    if interactive {
        eprintln!("\r\x1b[2K{message}");
    }
    observer.progress(total, total, &message);
    Ok(runs)
}

/// The bench binary and the divan filter that run one benchmark again, from
/// its row name (`<binary>/<group>/.../<name or argument>/<metric>`).
///
/// divan matches filters against `binary::group::name` and, for benchmarks
/// with arguments, `binary::group::name::argument`; rows of thread counts
/// (`t=2`) sit under a name without arguments. The filter accepts the row's
/// own path or its parent's, anchored, so that it selects that benchmark and
/// no other.
pub(crate) fn rerun_filter(row: &str) -> Option<(&str, String)> {
    let (binary, rest) = row.split_once('/')?;
    let path = row.rsplit_once('/').map_or(row, |(path, _metric)| path);
    if rest.is_empty() || !path.contains('/') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let own = parts.join("::");
    let parent = parts[..parts.len().saturating_sub(1)].join("::");
    let escape = |text: &str| -> String {
        text.chars().fold(String::new(), |mut out, c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    let pattern = if parent.is_empty() {
        format!("^{}$", escape(&own))
    } else {
        format!("^({}|{})$", escape(&own), escape(&parent))
    };
    Some((binary, pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rerun_filters_name_one_benchmark() {
        assert_eq!(
            rerun_filter("kernels/objective/(23, 1000)/time").unwrap(),
            ("kernels", r"^(kernels::objective::\(23, 1000\)|kernels::objective)$".to_owned())
        );
        assert_eq!(rerun_filter("canary/steady/time").unwrap(), ("canary", "^(canary::steady|canary)$".to_owned()));
        assert_eq!(
            rerun_filter("cache/mixed/homodyne_cache/t=2/time").unwrap(),
            ("cache", "^(cache::mixed::homodyne_cache::t=2|cache::mixed::homodyne_cache)$".to_owned())
        );
        assert_eq!(rerun_filter("nothing"), None);
        assert_eq!(rerun_filter("binary/time"), None);
    }
}
