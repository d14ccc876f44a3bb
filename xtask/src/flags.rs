//! The command line: the help text and the arguments of one command, taken
//! option by option (what is left over is an error); and the workspace the
//! commands run in by default. Every command module takes its options from
//! here; nothing here knows the commands.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

pub(crate) const HELP: &str = "\
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
      --serve [ADDR]    follow the run in a browser: serves the dashboard with the run's events live
                        (default 127.0.0.1 on a free port, printed at start; stops when the run ends)
      --instructions    also count instructions under Valgrind's Callgrind (the suite in
                        crates/homodyne-bench/benches/instructions.rs; a change beyond 1% decides),
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
  dashboard         the history of every baseline as one self-contained HTML page (no network):
                    wall time and instruction counts per benchmark across commits in git order,
                    verdicts, change points, read limits, machines; filters and tables
      --out DIR         where to write index.html (default target/perf/dashboard)
      --run             add the last `regression` run (target/perf/run.json) after the baselines
      --last N          the last N baselines (default all)
  compare           homodyne-rs side by side with numpy, numba and the v1 pipeline
                    (a venv in target/peers/; writes target/perf/compare.md)
      --quick           the smallest size of each workload
      --workload NAME   one workload (angles, correlation, chi2, batch_chi2, objective, cache)
  calibrate         time the angle-filter strategies and print the thresholds

common options: --root DIR (the workspace to measure; default this one), --baselines-dir DIR
(default baselines/), --out-dir DIR (default target/perf/)
exit codes: 0 no regression, 3 regression, 4 inconclusive (the canaries say the machine's speed
changed unevenly between base and head), 1 error (never a silent pass: a git or file error stops)";

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
        match self.optional_value(name) {
            Some(value) if value.is_empty() => bail!("{name} needs a value"),
            value => Ok(value),
        }
    }

    /// `--name`, `--name VALUE` or `--name=VALUE`: `None` if absent, an
    /// empty value when given without one (the next argument is another option).
    pub(crate) fn optional_value(&mut self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        if let Some(index) = self.rest.iter().position(|argument| argument.starts_with(&prefix)) {
            return Some(self.rest.remove(index)[prefix.len()..].to_owned());
        }
        let index = self.rest.iter().position(|argument| argument == name)?;
        self.rest.remove(index);
        if index < self.rest.len() && !self.rest[index].starts_with("--") {
            return Some(self.rest.remove(index));
        }
        Some(String::new())
    }

    /// Fails on anything not taken.
    pub(crate) fn finish(self) -> Result<()> {
        if let Some(first) = self.rest.first() {
            return Err(anyhow::anyhow!("unexpected argument `{first}`")).context("try `cargo xtask help`");
        }
        Ok(())
    }
}

impl Args {
    /// The arguments after the command's name.
    pub(crate) fn new(rest: Vec<String>) -> Args {
        Args { rest }
    }
}

/// The workspace root: xtask lives one level below it.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or(manifest_dir.clone(), std::path::Path::to_path_buf)
}
