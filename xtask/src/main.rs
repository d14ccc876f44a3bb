//! `cargo xtask <command>`: project automation that needs more than Cargo.
//!
//! Commands (`cargo xtask help` prints the options):
//! - `regression`: run the bench suite and compare it with a base; exit 0
//!   (no regression), 3 (regression) or 1 (error).
//! - `baseline-update`: run the suite and store the result as HEAD's baseline.
//! - `report`: the history of the stored baselines, with charts.
//! - `compare`: homodyne-rs side by side with numpy, numba and the v1
//!   pipeline, on identical inputs, with peak memory.
//! - `calibrate`: measure where the angle-filter strategies cross over on this
//!   machine and print the thresholds to use in `AngleFilterConfig`.

mod compare;
mod divan;
mod format;
mod history;
mod instructions;
mod regression;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use homodyne_angles::{Strategy, calibrate};

const HELP: &str = "\
usage: cargo xtask <command> [options]

commands:
  regression        run the benches and compare them with a base
      --base REF        build REF in a worktree under target/perf and run it interleaved
                        with HEAD (otherwise: the newest perf-baseline/* tag reachable
                        from HEAD, else the nearest ancestor with a file in baselines/)
      --runs K          process runs per bench binary (default 5; 10 when CI is set; 1 with --quick)
      --filter PATTERN  only the benchmarks whose path matches (divan's filter)
      --bench NAME      only the bench target NAME (e.g. kernels)
      --quick           few samples per benchmark: reports, never gates
      --self-check      A/A: compare the build (or the base) with itself
      --budget SECONDS  time for running undecided benchmarks again (default 300; 600 when CI is set)
      --noise PERCENT   the noise threshold: smaller changes are never flagged (default 5)
      --instructions    also count instructions under Valgrind's Callgrind (the suite in
                        crates/homodyne/benches/instructions.rs; a change beyond 1% decides),
                        reported beside the wall-time verdicts
  baseline-update   run the benches and write baselines/<HEAD commit>.toml; an existing file of
                    that commit is merged into (rows measured again are replaced unless the stored
                    ones have more samples; the others are kept)
      --name NAME       tag perf-baseline/NAME (default: the short commit id)
      --allow-dirty     record even with uncommitted changes
      --no-tag          do not create the tag
      --force           replace stored rows that have more samples, merge across machines,
                        move an existing tag
      --runs, --filter, --bench, --quick, --instructions as above
  report            Markdown history of the baselines with SVG charts
      --last N          the last N baselines (default 10)
  compare           homodyne-rs side by side with numpy, numba and the v1 pipeline
                    (a venv in target/peers/; writes target/perf/compare.md)
      --quick           the smallest size of each workload
      --workload NAME   one workload (angles, correlation, chi2, batch_chi2, objective, cache)
  calibrate         time the angle-filter strategies and print the thresholds

common options: --root DIR (the workspace to measure; default this one), --baselines-dir DIR
(default baselines/), --out-dir DIR (default target/perf/)
exit codes: 0 no regression, 3 regression, 4 inconclusive (the canaries say the machine's speed
changed unevenly between base and head), 1 error (never a silent pass: a git or file error stops)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut arguments: Vec<String>) -> Result<u8> {
    if arguments.is_empty() {
        println!("{HELP}");
        return Ok(0);
    }
    let command = arguments.remove(0);
    let args = Args { rest: arguments };
    match command.as_str() {
        "regression" => regression::regression(args),
        "baseline-update" => regression::baseline_update(args),
        "report" => history::report(args),
        "compare" => compare::compare(args),
        "calibrate" => {
            args.finish()?;
            print_calibration();
            Ok(0)
        }
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(0)
        }
        other => bail!("unknown command `{other}` (try `cargo xtask help`)"),
    }
}

/// The workspace root: xtask lives one level below it.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or(manifest_dir.clone(), std::path::Path::to_path_buf)
}

/// The arguments of one command, taken option by option; what is left over
/// is an error, so that a typo never silently changes what runs.
pub(crate) struct Args {
    rest: Vec<String>,
}

impl Args {
    /// Whether the flag `name` was given (and takes it).
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        let found = self.rest.iter().position(|argument| argument == name);
        found.map(|index| self.rest.remove(index)).is_some()
    }

    /// The value of `--name VALUE` or `--name=VALUE`, if given.
    pub(crate) fn value(&mut self, name: &str) -> Result<Option<String>> {
        let prefix = format!("{name}=");
        if let Some(index) = self.rest.iter().position(|argument| argument.starts_with(&prefix)) {
            return Ok(Some(self.rest.remove(index)[prefix.len()..].to_owned()));
        }
        let Some(index) = self.rest.iter().position(|argument| argument == name) else { return Ok(None) };
        self.rest.remove(index);
        if index >= self.rest.len() || self.rest[index].starts_with("--") {
            bail!("{name} needs a value");
        }
        Ok(Some(self.rest.remove(index)))
    }

    /// Fails on anything not taken.
    pub(crate) fn finish(self) -> Result<()> {
        if let Some(first) = self.rest.first() {
            return Err(anyhow::anyhow!("unexpected argument `{first}`")).context("try `cargo xtask help`");
        }
        Ok(())
    }
}

fn print_calibration() {
    let calibration = calibrate();
    println!("{:>10}  {:>12}  {:>12}  {:>12}", "angles", "scalar", "vectorized", "parallel");
    for point in &calibration.points {
        print!("{:>10}", point.n_angles);
        for strategy in Strategy::ALL {
            // `-`: the parallel strategy cannot run at this size (one chunk).
            let time = point.time(strategy).map_or_else(|| "-".to_owned(), |time| format!("{time:.1?}"));
            print!("  {time:>12}");
        }
        println!();
    }
    let show = |threshold: usize| if threshold == usize::MAX { "never".to_owned() } else { threshold.to_string() };
    println!(
        "\nsmall_threshold = {}, large_threshold = {}",
        show(calibration.small_threshold),
        show(calibration.large_threshold)
    );
}
