//! The instruction lens: the suite of `crates/homodyne-bench/benches/instructions.rs`
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

/// The Callgrind events recorded per benchmark: (metric name, unit, the
/// events summed into it). Cache misses come from Callgrind's simulation of
/// a fixed cache (deterministic too); instruction-cache misses are left out
/// (a few per benchmark, they say nothing).
const METRICS: [(&str, &str, &[&str]); 5] = [
    ("instructions", INSTRUCTIONS, &["Ir"]),
    ("data_reads", "Dr", &["Dr"]),
    ("data_writes", "Dw", &["Dw"]),
    ("l1_data_misses", "D1m", &["D1mr", "D1mw"]),
    ("ll_data_misses", "DLm", &["DLmr", "DLmw"]),
];

/// Whether a recorded unit is the same on every run of one build: the
/// counts of executed instructions, reads and writes are; simulated cache
/// misses are not quite (they depend on where the allocator and ASLR put
/// the data), so the count threshold absorbs their jitter.
pub(crate) fn is_exact_per_run(unit: &str) -> bool {
    matches!(unit, INSTRUCTIONS | "Dr" | "Dw")
}

/// One benchmark's counts and the code path it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) name: String,
    /// Per metric of [`METRICS`]: (unit, count).
    pub(crate) metrics: BTreeMap<&'static str, (&'static str, u64)>,
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

/// The events of a Callgrind output file with their `summary:` (or
/// `totals:`) counts, by event name.
pub(crate) fn parse_callgrind(text: &str) -> Option<BTreeMap<String, u64>> {
    let events: Vec<&str> = text.lines().find_map(|line| line.strip_prefix("events:"))?.split_whitespace().collect();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .or_else(|| text.lines().find_map(|line| line.strip_prefix("totals:")))?;
    let counts: Vec<u64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    // Trailing zero counts may be left out of the line.
    if events.is_empty() || counts.is_empty() || counts.len() > events.len() {
        return None;
    }
    let count = |index: usize| counts.get(index).copied().unwrap_or(0);
    Some(events.iter().enumerate().map(|(index, event)| ((*event).to_owned(), count(index))).collect())
}

/// The recorded metrics of one Callgrind file's events.
fn metrics(events: &BTreeMap<String, u64>) -> Option<BTreeMap<&'static str, (&'static str, u64)>> {
    METRICS
        .iter()
        .map(|&(metric, unit, parts)| {
            let total = parts.iter().map(|part| events.get(*part).copied()).sum::<Option<u64>>()?;
            Some((metric, (unit, total)))
        })
        .collect()
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
            .args(["--tool=callgrind", "--collect-atstart=no", "--cache-sim=yes"])
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
        let events = parse_callgrind(&text).with_context(|| format!("no counts in {}", out_file.display()))?;
        let metrics = metrics(&events).with_context(|| format!("missing events in {}", out_file.display()))?;
        if metrics["instructions"].1 == 0 {
            bail!("{name}: Callgrind counted nothing inside {COUNTED} (was the function inlined or renamed?)");
        }
        let line = String::from_utf8_lossy(&output.stdout);
        let path = serde_json::from_str::<serde_json::Value>(line.trim())
            .ok()
            .and_then(|value| value["path"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        counted.push(Counted { name: name.clone(), metrics, path });
    }
    Ok(counted)
}

/// The counts as baseline rows `<name>/<metric>` (unit `Ir`, `Dr`, `Dw`,
/// `D1m`, `DLm`; one sample each; fewer is better).
pub(crate) fn records(counted: &[Counted]) -> BTreeMap<String, BenchmarkRecord> {
    counted
        .iter()
        .flat_map(|count| {
            count.metrics.iter().map(|(metric, (unit, value))| {
                let record = BenchmarkRecord {
                    unit: (*unit).to_owned(),
                    direction: Direction::LowerIsBetter,
                    samples: vec![*value as f64],
                    update: 0,
                };
                (format!("{}/{metric}", count.name), record)
            })
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
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n\n\
                    fn=(1) main\n1 5\nsummary: 42758 9000 800 10 40 2 10 30\n\ntotals: 42758 9000 800 10 40 2 10 30\n";
        let events = parse_callgrind(text).unwrap();
        assert_eq!((events["Ir"], events["Dr"], events["D1mw"], events["DLmw"]), (42_758, 9_000, 2, 0));
        let recorded = metrics(&events).unwrap();
        assert_eq!(recorded["instructions"], ("Ir", 42_758));
        assert_eq!(recorded["l1_data_misses"], ("D1m", 42));
        assert_eq!(recorded["ll_data_misses"], ("DLm", 30));
        assert_eq!(parse_callgrind("events: Ir\ntotals: 17\n").unwrap()["Ir"], 17);
        assert_eq!(parse_callgrind("events: Ir\n"), None);
        assert_eq!(parse_callgrind("events: Ir\nsummary: many\n"), None);
        assert_eq!(parse_callgrind("events: Ir\nsummary: 1 2\n"), None, "more counts than events");
        assert_eq!(metrics(&parse_callgrind("events: Ir\nsummary: 5\n").unwrap()), None, "no cache simulation");
    }

    #[test]
    fn counts_become_rows_of_their_own_unit() {
        let metrics = METRICS.iter().map(|&(metric, unit, _)| (metric, (unit, 12))).collect();
        let counted = vec![Counted { name: "a/b".to_owned(), metrics, path: "avx2".to_owned() }];
        let rows = records(&counted);
        assert_eq!(rows.len(), METRICS.len());
        assert_eq!(rows["a/b/instructions"].unit, "Ir");
        assert_eq!(rows["a/b/instructions"].samples, vec![12.0]);
        assert_eq!(rows["a/b/ll_data_misses"].unit, "DLm");
        assert!(rows.values().all(|row| homodyne_perf::is_exact_count(&row.unit)));
        assert!(is_exact_per_run("Ir") && is_exact_per_run("Dw") && !is_exact_per_run("D1m"));
        assert_eq!(paths(&counted)["a/b"], "avx2");
    }
}
