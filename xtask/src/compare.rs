//! `cargo xtask compare`: homodyne-rs side by side with numpy, numba and
//! the v1 homodyne pipeline, on identical inputs, each workload in its own
//! process on both sides (time and peak resident memory), results checked.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::flags::Args;
use crate::format::{format_ns, write_text};

/// The Python packages, pinned: the versions the README's tables were made with.
const PYTHON_PACKAGES: [&str; 5] =
    ["numpy==2.4.6", "numba==0.68.1", "cachetools==8.0.2", "lz4==4.4.5", "scipy==1.17.1"];

/// The column of the homodyne_rs package called from Python (bench/peers/compare.py).
const FROM_PYTHON: &str = "homodyne-rs from Python";

/// One measured implementation of one workload at one size.
#[derive(Debug, Clone)]
struct Measurement {
    implementation: String,
    /// What exactly was timed, when the worker says.
    detail: Option<String>,
    /// The compression ratio, for the cache workload.
    ratio: Option<f64>,
    /// The input bytes one call reads, for a bandwidth figure.
    bytes: Option<f64>,
    /// Seconds to read those bytes once (homodyne-rs's worker measures it
    /// in the same process): the limit the figure is shown beside.
    read_limit_s: Option<f64>,
    median_s: Option<f64>,
    peak_rss_bytes: Option<u64>,
    check: String,
}

fn run_json(command: &mut Command, what: &str) -> Result<Value> {
    let output = command.stderr(Stdio::piped()).output().with_context(|| format!("starting {what}"))?;
    if !output.status.success() {
        bail!("{what} failed:\n{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|line| line.trim_start().starts_with(['{', '['])).unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("reading the output of {what}: {stdout}"))
}

/// Creates (or reuses) the virtual environment and installs the pinned packages.
fn python_environment(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .context("python3 is needed for the comparison, and it was not found on PATH")?;
        if !status.success() {
            bail!("python3 -m venv {} failed (is the venv module installed?)", venv.display());
        }
    }
    eprintln!("installing {} into {}…", PYTHON_PACKAGES.join(" "), venv.display());
    let output = Command::new(&python)
        // Few retries and a short timeout: without network, say so in
        // seconds rather than after minutes of retrying.
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1", "--timeout", "15"])
        .args(PYTHON_PACKAGES)
        .output()
        .context("running pip")?;
    if !output.status.success() {
        bail!(
            "could not install {} from the package index (no network access?): {}",
            PYTHON_PACKAGES.join(" "),
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("pip failed")
        );
    }
    Ok(python)
}

/// Builds and installs the homodyne_rs package (crates/homodyne-py, through
/// maturin) into the venv, for the "homodyne-rs from Python" column.
fn install_homodyne_rs(python: &Path, root: &Path) -> Result<()> {
    eprintln!("building and installing homodyne_rs (crates/homodyne-py) into the venv…");
    let status = Command::new(python)
        .current_dir(root)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "./crates/homodyne-py"])
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("pip install ./crates/homodyne-py failed (its messages are above)");
    }
    Ok(())
}

/// A Python >= 3.12 with the real v1 package (homodyne-analysis 1.0.1, the
/// versions its test vectors were made with), for the "v1 class" column of
/// the objective; `None`, with a note, when no such Python can be made.
fn v1_environment(root: &Path) -> Option<PathBuf> {
    let venv = root.join("target").join("v1-venv");
    let python = venv.join("bin").join("python");
    let packages = ["homodyne-analysis==1.0.1", "numba==0.68.1", "numpy==2.4.6"];
    if !python.exists() {
        let pyenv_root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")));
        let mut candidates = vec![PathBuf::from("python3.13"), PathBuf::from("python3.12")];
        if let Some(versions) = pyenv_root.map(|root| root.join("versions")) {
            let mut found: Vec<PathBuf> = std::fs::read_dir(versions)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("3.12")))
                .map(|path| path.join("bin").join("python"))
                .collect();
            found.sort();
            candidates.extend(found);
        }
        let made = candidates.iter().any(|interpreter| {
            Command::new(interpreter).args(["-m", "venv"]).arg(&venv).status().is_ok_and(|status| status.success())
        });
        if !made {
            eprintln!("note: no Python >= 3.12 found: the objective table has no column for the real v1 class");
            return None;
        }
    }
    eprintln!("installing {} into {}…", packages.join(" "), venv.display());
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1", "--timeout", "15"])
        .args(packages)
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        eprintln!(
            "note: could not install homodyne-analysis 1.0.1: the objective table has no column for the real v1 class"
        );
        return None;
    }
    Some(python)
}

fn build_worker(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "--package", "homodyne-bench", "--example", "peers"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the peers example failed (cargo's messages are above)");
    }
    Ok(root.join("target").join("release").join("examples").join("peers"))
}

fn format_bytes(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / f64::from(1 << 20))
}

fn measurement(value: &Value, check: String) -> Measurement {
    Measurement {
        implementation: value["implementation"].as_str().unwrap_or("?").to_owned(),
        detail: value["detail"].as_str().map(str::to_owned),
        ratio: value["ratio"].as_f64(),
        bytes: value["bytes"].as_f64(),
        read_limit_s: value["read_limit_s"].as_f64(),
        median_s: value["median_s"].as_f64(),
        peak_rss_bytes: value["peak_rss_bytes"].as_u64(),
        check,
    }
}

/// The Markdown table of one workload: sizes as rows; homodyne-rs, then per
/// peer its median, homodyne-rs's speedup over it, its peak memory and the check.
fn table(workload: &str, rows: &[(String, Measurement, Vec<Measurement>)]) -> String {
    let mut out = format!("### {workload}\n\n");
    if let Some(detail) = rows.first().and_then(|(_, rust, _)| rust.detail.as_ref()) {
        let _ = writeln!(out, "homodyne-rs: `{detail}`\n");
    }
    let peers: Vec<String> =
        rows.first().map(|(_, _, peers)| peers.iter().map(|p| p.implementation.clone()).collect()).unwrap_or_default();
    out.push_str("| size | homodyne-rs | peak RSS |");
    for peer in &peers {
        let _ = write!(out, " {peer} | speedup | peak RSS |");
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|---|---|".repeat(peers.len()));
    out.push('\n');
    for (size, rust, peer_measurements) in rows {
        // The same call through the Python package: each peer's speedup over it too.
        let from_python = peer_measurements.iter().find(|m| m.implementation == FROM_PYTHON).and_then(|m| m.median_s);
        let time = |m: &Measurement| {
            let time = m.median_s.map_or_else(|| "-".to_owned(), |s| format_ns(s * 1e9));
            let limit = match (m.read_limit_s, m.median_s) {
                (Some(limit), Some(seconds)) if limit > 0.0 => format!(", {:.1}× the read limit", seconds / limit),
                _ => String::new(),
            };
            match (m.ratio, m.bytes, m.median_s) {
                (Some(ratio), _, _) => format!("{time} (ratio {ratio:.2})"),
                (None, Some(bytes), Some(seconds)) => format!("{time} ({:.1} GB/s{limit})", bytes / seconds / 1e9),
                _ => time,
            }
        };
        let memory = |m: &Measurement| m.peak_rss_bytes.map_or_else(|| "-".to_owned(), format_bytes);
        let _ = write!(out, "| {size} | {} | {} |", time(rust), memory(rust));
        for peer in peer_measurements {
            let speedup = match (peer.median_s, rust.median_s, from_python) {
                (Some(theirs), Some(ours), Some(python)) if peer.implementation != FROM_PYTHON => {
                    format!("{:.1}× ({:.1}× from Python)", theirs / ours, theirs / python)
                }
                (Some(theirs), Some(ours), _) => format!("{:.1}×", theirs / ours),
                _ => "-".to_owned(),
            };
            let flag = if peer.check == "ok" { String::new() } else { format!(" ({})", peer.check) };
            let _ = write!(out, " {}{flag} | {speedup} | {} |", time(peer), memory(peer));
        }
        out.push('\n');
    }
    out
}

/// `cargo xtask compare`.
pub(crate) fn compare(mut args: Args) -> Result<u8> {
    let root = crate::flags::workspace_root();
    let quick = args.flag("--quick");
    let only = args.value("--workload")?;
    args.finish()?;
    let started = Instant::now();

    let python = python_environment(&root.join("target").join("peers"))?;
    install_homodyne_rs(&python, &root)?;
    let v1_python = v1_environment(&root);
    let worker = build_worker(&root)?;
    let data = root.join("target").join("perf").join("compare-data");
    eprintln!("writing the inputs to {}…", data.display());
    let status = Command::new(&worker).arg("generate").arg(&data).status().context("running the peers example")?;
    if !status.success() {
        bail!("generating the inputs failed");
    }
    let plan = run_json(Command::new(&worker).arg("plan"), "peers plan")?;
    let peer_command = |args: &[&str]| {
        let mut command = Command::new(&python);
        command.arg(root.join("bench/peers/compare.py")).args(args).env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(v1) = &v1_python {
            command.env("HOMODYNE_V1_PYTHON", v1);
        }
        command
    };
    let implementations = run_json(&mut peer_command(&["list"]), "compare.py list")?;
    let mut pairs: Vec<(String, String)> = plan
        .as_array()
        .context("the plan is a list")?
        .iter()
        .filter_map(|pair| Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())))
        .filter(|(workload, _)| only.as_ref().is_none_or(|only| only == workload))
        .collect();
    if quick {
        // The smallest size of each workload.
        let mut seen = std::collections::BTreeSet::new();
        pairs.retain(|(workload, _)| seen.insert(workload.clone()));
    }
    if pairs.is_empty() {
        bail!("no workload matches");
    }

    let mut results: BTreeMap<String, Vec<(String, Measurement, Vec<Measurement>)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut mismatches = 0;
    for (pair_idx, (workload, size)) in pairs.iter().enumerate() {
        eprintln!("[{}/{}] {workload} {size}", pair_idx + 1, pairs.len());
        let rust = run_json(
            Command::new(&worker).args(["run", workload, size]).arg(&data),
            &format!("homodyne-rs {workload} {size}"),
        )?;
        let rust = measurement(&rust, "ok".to_owned());
        let mut peers = Vec::new();
        for implementation in implementations[workload.as_str()].as_array().map_or(&[][..], Vec::as_slice) {
            let implementation = implementation.as_str().unwrap_or_default();
            let data_dir = data.to_string_lossy();
            let value = run_json(
                &mut peer_command(&["run", workload, implementation, size, &data_dir]),
                &format!("{implementation} {workload} {size}"),
            )?;
            let check = value["check"].as_str().unwrap_or("no check").to_owned();
            // "note: ..." describes a peer's own answer (a fit's optimum), not a wrong result.
            if check != "ok" && !check.starts_with("note: ") {
                mismatches += 1;
                eprintln!("  {implementation}: {check}");
            }
            peers.push(measurement(&value, check));
        }
        if !results.contains_key(workload) {
            order.push(workload.clone());
        }
        results.entry(workload.clone()).or_default().push((size.clone(), rust, peers));
    }

    let machine = homodyne_perf::Machine::current();
    let mut markdown = String::from("## homodyne-rs vs numpy, numba and the v1 pipeline\n\n");
    let _ = writeln!(
        markdown,
        "{} ({} cores, {} GiB), measured by `cargo xtask compare`{}. Median time per call; speedup = \
         peer time / homodyne-rs time; peak RSS = peak resident memory of the process that ran only that \
         workload at that size (the Python figure includes the interpreter, numpy and numba, about 100 MiB). \
         Every peer's result was checked against homodyne-rs's (indices identical, floats to 1e-10).\n",
        machine.cpu,
        machine.cores,
        machine.memory_bytes >> 30,
        if quick { " --quick (smallest sizes only)" } else { "" }
    );
    for workload in &order {
        markdown.push_str(&table(workload, &results[workload]));
        markdown.push('\n');
    }
    let _ = writeln!(markdown, "Total time of the comparison: {:.0} s.", started.elapsed().as_secs_f64());
    let out = root.join("target").join("perf");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write_text(&out.join("compare.md"), &markdown)?;
    println!("{markdown}");
    eprintln!("written to {}", out.join("compare.md").display());
    if mismatches > 0 {
        bail!("{mismatches} peer results differ from homodyne-rs's (marked in the tables)");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(implementation: &str, median_s: f64, peak: u64, check: &str) -> Measurement {
        Measurement {
            implementation: implementation.to_owned(),
            detail: None,
            ratio: None,
            bytes: None,
            read_limit_s: None,
            median_s: Some(median_s),
            peak_rss_bytes: Some(peak),
            check: check.to_owned(),
        }
    }

    #[test]
    fn tables_show_speedups_memory_and_failed_checks() {
        let rows = vec![
            ("1000".to_owned(), m("homodyne-rs", 1e-6, 4 << 20, "ok"), vec![m("numpy", 5e-6, 100 << 20, "ok")]),
            (
                "10000".to_owned(),
                m("homodyne-rs", 2e-6, 4 << 20, "ok"),
                vec![m("numpy", 3e-6, 101 << 20, "differs: other indices")],
            ),
        ];
        let text = table("angles", &rows);
        let with_python = vec![(
            "1000".to_owned(),
            m("homodyne-rs", 1e-6, 4 << 20, "ok"),
            vec![m(FROM_PYTHON, 2e-6, 98 << 20, "ok"), m("numpy", 8e-6, 100 << 20, "ok")],
        )];
        let python_text = table("angles", &with_python);
        assert!(
            python_text.contains("| 2.000 µs | 2.0× | 98 MiB | 8.000 µs | 8.0× (4.0× from Python) | 100 MiB |"),
            "{python_text}"
        );
        assert!(
            text.starts_with("### angles\n\n| size | homodyne-rs | peak RSS | numpy | speedup | peak RSS |\n"),
            "{text}"
        );
        assert!(text.contains("| 1000 | 1.000 µs | 4 MiB | 5.000 µs | 5.0× | 100 MiB |"), "{text}");
        assert!(
            text.contains("| 10000 | 2.000 µs | 4 MiB | 3.000 µs (differs: other indices) | 1.5× | 101 MiB |"),
            "{text}"
        );
        // The read limit beside homodyne-rs's figure: 8 KB in 2 µs, read once in 0.5 µs.
        let mut limited = m("homodyne-rs", 2e-6, 4 << 20, "ok");
        (limited.bytes, limited.read_limit_s) = (Some(8000.0), Some(0.5e-6));
        let text = table("angles", &[("1000".to_owned(), limited, vec![m("numpy", 8e-6, 100 << 20, "ok")])]);
        assert!(text.contains("| 1000 | 2.000 µs (4.0 GB/s, 4.0× the read limit) | 4 MiB |"), "{text}");
    }
}
