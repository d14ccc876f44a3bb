//! Building the bench binaries and running them as separate processes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::divan;

/// A built bench binary.
#[derive(Debug, Clone)]
pub(crate) struct BenchBinary {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// How the binaries are run.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) runs: usize,
    pub(crate) filter: Option<String>,
    pub(crate) quick: bool,
    /// Only this bench target (e.g. `kernels`), built and run.
    pub(crate) bench: Option<String>,
}

/// Builds every bench of the workspace at `root` (target directory
/// `target_dir` if given) and returns the executables.
pub(crate) fn build(root: &Path, target_dir: Option<&Path>, bench: Option<&str>) -> Result<Vec<BenchBinary>> {
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
        {
            binaries.push(BenchBinary { name: name.to_owned(), path: PathBuf::from(path) });
        }
    }
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    if binaries.is_empty() {
        bail!("no bench binaries were built");
    }
    Ok(binaries)
}

/// Runs one binary once and returns its rows.
pub(crate) fn run_once(binary: &BenchBinary, options: &RunOptions) -> Result<Vec<divan::Row>> {
    let mut command = Command::new(&binary.path);
    command.arg("--bench");
    if options.quick {
        command.args(["--sample-count", "5", "--max-time", "0.2"]);
    }
    if let Some(filter) = &options.filter {
        command.arg(filter);
    }
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

/// Runs every binary `options.runs` times, interleaving the groups (for
/// example head and base) run by run so that slow phases of the machine hit
/// both; shows progress on a terminal.
pub(crate) fn run_groups(groups: &[&[BenchBinary]], options: &RunOptions) -> Result<Vec<Samples>> {
    let mut samples = vec![Samples::new(); groups.len()];
    let total = options.runs * groups.iter().map(|group| group.len()).sum::<usize>();
    let started = Instant::now();
    let mut done = 0;
    let interactive = std::io::stderr().is_terminal();
    for run in 0..options.runs {
        for (group_idx, group) in groups.iter().enumerate() {
            for binary in *group {
                if interactive {
                    let remaining = if done == 0 {
                        String::new()
                    } else {
                        let per = started.elapsed().as_secs_f64() / done as f64;
                        format!(", ~{:.0} s left", per * (total - done) as f64)
                    };
                    eprint!(
                        "\r\x1b[2K[{}/{total}] run {}/{} {}{remaining}",
                        done + 1,
                        run + 1,
                        options.runs,
                        binary.name
                    );
                }
                for row in run_once(binary, options)? {
                    samples[group_idx].entry(row.path).or_default().push(row.median_ns);
                }
                done += 1;
            }
        }
    }
    if interactive {
        eprintln!("\r\x1b[2K{total} bench runs in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(samples)
}
