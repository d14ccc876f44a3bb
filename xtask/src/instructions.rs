//! The instruction lens: the suite of `crates/homodyne/benches/instructions.rs`
//! run once per benchmark under Valgrind's Callgrind, counting only the
//! measured call (`--toggle-collect`). Counts are exact: the same build on
//! the same input gives the same number on every run, whatever else the
//! machine does, so a change beyond a small threshold decides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use homodyne_perf::{BenchmarkRecord, Direction, INSTRUCTIONS};

use crate::suite::INSTRUCTION_SUITE;

/// The function whose calls are counted (see the suite's docs).
const COUNTED: &str = "instructions::measured";

/// One benchmark's count and the code path it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) name: String,
    pub(crate) instructions: u64,
    /// The run-time dispatch's choice under Valgrind: `avx2`, `portable` or `scalar`.
    pub(crate) path: String,
}

/// Fails with a clear message when Valgrind is missing.
pub(crate) fn require_valgrind() -> Result<()> {
    let found = Command::new("valgrind").arg("--version").output().is_ok_and(|output| output.status.success());
    if !found {
        bail!("--instructions needs Valgrind (apt install valgrind); it was not found on PATH");
    }
    Ok(())
}

/// Builds the instruction suite of the workspace at `root` (the bench target
/// named `instructions`, in whichever package has it) and copies it to
/// `keep_in/instructions`.
pub(crate) fn build(root: &Path, target_dir: Option<&Path>, keep_in: &Path) -> Result<PathBuf> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(root)
        .args(["bench", "--workspace", "--bench", INSTRUCTION_SUITE, "--no-run"])
        .arg("--message-format=json-render-diagnostics");
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let output = command.stderr(std::process::Stdio::inherit()).output().context("running cargo bench --no-run")?;
    if !output.status.success() {
        bail!("building the instruction suite failed (cargo's messages are above)");
    }
    let executable = String::from_utf8_lossy(&output.stdout).lines().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        (message["reason"] == "compiler-artifact" && message["target"]["name"] == INSTRUCTION_SUITE)
            .then(|| message["executable"].as_str().map(PathBuf::from))
            .flatten()
    });
    let executable = executable.context("cargo built no executable for the instruction suite")?;
    std::fs::create_dir_all(keep_in).with_context(|| format!("creating {}", keep_in.display()))?;
    let kept = keep_in.join(INSTRUCTION_SUITE);
    std::fs::copy(&executable, &kept).with_context(|| format!("copying {}", executable.display()))?;
    Ok(kept)
}

/// The `summary:` (or `totals:`) count of a Callgrind output file.
pub(crate) fn parse_callgrind(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|line| line.starts_with("summary:"))
        .or_else(|| text.lines().find(|line| line.starts_with("totals:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Counts every benchmark of the suite at `binary` whose name matches `filter`
/// (a substring), writing Callgrind's files into `out_dir`.
pub(crate) fn run(binary: &Path, filter: Option<&str>, out_dir: &Path) -> Result<Vec<Counted>> {
    let list = Command::new(binary).arg("--list").output().with_context(|| format!("running {}", binary.display()))?;
    if !list.status.success() {
        bail!("{} --list failed", binary.display());
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|name| filter.is_none_or(|filter| name.contains(filter)))
        .map(str::to_owned)
        .collect();
    let mut counted = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        eprintln!("[{}/{}] counting {name} under Callgrind…", index + 1, names.len());
        let out_file = out_dir.join(format!("callgrind.{index}.out"));
        let output = Command::new("valgrind")
            .args(["--tool=callgrind", "--collect-atstart=no"])
            .arg(format!("--toggle-collect={COUNTED}"))
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(binary)
            .args(["run", name])
            .output()
            .context("running valgrind")?;
        if !output.status.success() {
            bail!("callgrind on {name} failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        let text = std::fs::read_to_string(&out_file).with_context(|| format!("reading {}", out_file.display()))?;
        let instructions = parse_callgrind(&text).with_context(|| format!("no count in {}", out_file.display()))?;
        if instructions == 0 {
            bail!("{name}: Callgrind counted nothing inside {COUNTED} (was the function inlined or renamed?)");
        }
        let line = String::from_utf8_lossy(&output.stdout);
        let path = serde_json::from_str::<serde_json::Value>(line.trim())
            .ok()
            .and_then(|value| value["path"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        counted.push(Counted { name: name.clone(), instructions, path });
    }
    Ok(counted)
}

/// The counts as baseline rows `<name>/instructions` (unit `Ir`, one sample).
pub(crate) fn records(counted: &[Counted]) -> BTreeMap<String, BenchmarkRecord> {
    counted
        .iter()
        .map(|count| {
            let record = BenchmarkRecord {
                unit: INSTRUCTIONS.to_owned(),
                direction: Direction::LowerIsBetter,
                samples: vec![count.instructions as f64],
                update: 0,
            };
            (format!("{}/instructions", count.name), record)
        })
        .collect()
}

/// The counted path of each benchmark, by name.
pub(crate) fn paths(counted: &[Counted]) -> BTreeMap<String, String> {
    counted.iter().map(|count| (count.name.clone(), count.path.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_files_give_their_summary() {
        let text =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\n\nfn=(1) main\n1 5\nsummary: 42758\n\ntotals: 42758\n";
        assert_eq!(parse_callgrind(text), Some(42_758));
        assert_eq!(parse_callgrind("events: Ir\ntotals: 17\n"), Some(17));
        assert_eq!(parse_callgrind("events: Ir\n"), None);
        assert_eq!(parse_callgrind("summary: many\n"), None);
    }

    #[test]
    fn counts_become_rows_of_their_own_unit() {
        let counted = vec![Counted { name: "a/b".to_owned(), instructions: 12, path: "avx2".to_owned() }];
        let rows = records(&counted);
        assert_eq!(rows["a/b/instructions"].unit, "Ir");
        assert_eq!(rows["a/b/instructions"].samples, vec![12.0]);
        assert_eq!(paths(&counted)["a/b"], "avx2");
    }
}
