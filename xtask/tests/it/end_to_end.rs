//! The regression commands end to end, on real code changes: a temporary
//! git repository holds a small crate with a divan bench (and this
//! workspace's canary bench); a commit makes one benchmarked function do its
//! work twice. The gate must name that benchmark and only it, through a
//! stored baseline and through `--base`, and pass a commit that changes
//! nothing measured. The same repository then checks the failure paths:
//! a broken repository or baselines directory is an error, never "no
//! baseline"; partial updates merge into a stored baseline; tags move only
//! with `--force`.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::Browser;

/// The end-to-end tests measure: one at a time, or they would slow each
/// other down (the dashboard's load-time test takes it too).
pub(crate) static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The probe crate: `work` is what the test slows down, `steady` never changes.
const LIB: &str = r"//! The probe.

/// A dependent multiply-add chain of `steps` steps.
pub fn chain(steps: u64) -> u64 {
    let mut state = std::hint::black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..steps {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    }
    state
}

/// The benchmarked function that changes.
pub fn work(steps: u64) -> u64 {
    chain(steps)
}
";

const BENCH: &str = r"use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 40, sample_size = 50)]
fn slowed(bencher: Bencher<'_, '_>) {
    bencher.bench(|| probe::work(black_box(10_000)));
}

#[divan::bench(sample_count = 40, sample_size = 50)]
fn steady(bencher: Bencher<'_, '_>) {
    bencher.bench(|| probe::chain(black_box(10_000)));
}
";

/// The probe's instruction suite: the protocol of
/// `crates/homodyne-bench/benches/instructions.rs` (`--list`, `run NAME`, the
/// counted function `instructions::measured`).
const INSTRUCTIONS: &str = r##"use std::hint::black_box;

#[inline(never)]
fn measured(work: &dyn Fn()) {
    work();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names = ["probe/slowed", "probe/steady"];
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--list"] => names.iter().for_each(|name| println!("{name}")),
        ["run", name] => {
            let work: Box<dyn Fn()> = match *name {
                "probe/slowed" => Box::new(|| {
                    black_box(probe::work(black_box(10_000)));
                }),
                _ => Box::new(|| {
                    black_box(probe::chain(black_box(10_000)));
                }),
            };
            measured(&*work);
            println!(r#"{{"name": {name:?}, "path": "scalar"}}"#);
        }
        _ => {}
    }
}
"##;

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// This workspace's root (xtask's parent).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The probe repository, committed once.
fn probe_repository(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-end-to-end-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("benches")).unwrap();
    let testkit = workspace().join("crates").join("homodyne-testkit");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "probe"
version = "0.1.0"
edition = "2024"
publish = false

[dev-dependencies]
divan = "=0.1.21"
homodyne-testkit = {{ path = "{}" }}
rayon = "1.12"

[[bench]]
name = "probe"
harness = false

[[bench]]
name = "canary"
harness = false

[[bench]]
name = "instructions"
harness = false

[profile.bench]
debug = "line-tables-only"

[workspace]
"#,
            testkit.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src").join("lib.rs"), LIB).unwrap();
    std::fs::write(dir.join("benches").join("probe.rs"), BENCH).unwrap();
    std::fs::write(dir.join("benches").join("instructions.rs"), INSTRUCTIONS).unwrap();
    std::fs::copy(testkit.join("benches").join("canary.rs"), dir.join("benches").join("canary.rs")).unwrap();
    std::fs::write(dir.join(".gitignore"), "target/\nperf/\n").unwrap();
    // The lock file of this workspace pins the same versions; cargo trims it.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "probe"]);
    dir
}

fn xtask(repo: &Path, args: &[&str]) -> Output {
    xtask_command(repo, args).output().expect("the xtask binary runs")
}

fn xtask_command(repo: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .arg("--root")
        .arg(repo)
        .arg("--baselines-dir")
        .arg(repo.join("baselines"))
        .arg("--out-dir")
        .arg(repo.join("perf"))
        // Builds share one target directory across runs of this test; no network.
        .env("CARGO_TARGET_DIR", workspace().join("target").join("end-to-end"))
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI");
    command
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn regressed(repo: &Path) -> Vec<String> {
    let json = std::fs::read_to_string(repo.join("perf").join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|verdict| verdict["outcome"]["kind"] == "regression" && verdict["canary"] == false)
        .map(|verdict| verdict["name"].as_str().unwrap().to_owned())
        .collect()
}

fn expect(repo: &Path, args: &[&str], code: i32, flagged: &[&str]) -> String {
    let output = xtask(repo, args);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}\n{printed}");
    if code != 1 {
        assert_eq!(regressed(repo), flagged, "{args:?}\n{printed}");
    }
    printed
}

fn edit(repo: &Path, from: &str, to: &str, message: &str) {
    let path = repo.join("src").join("lib.rs");
    let source = std::fs::read_to_string(&path).unwrap();
    assert!(source.contains(from));
    std::fs::write(&path, source.replace(from, to)).unwrap();
    git(repo, &["commit", "-q", "-am", message]);
}

#[test]
fn a_real_slowdown_is_named_through_both_paths_and_an_unmeasured_change_passes() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let repo = probe_repository("time");
    // A stored baseline and a later run differ by more than timing noise:
    // the head is another build (code layout moves a tight loop by a few
    // percent) measured at another time. A 10% threshold keeps that from
    // counting while a 2x slowdown is far beyond it.
    let runs = ["--runs", "10", "--noise", "10"];

    // A baseline of the first commit.
    let update = xtask(&repo, &["baseline-update", runs[0], runs[1], "--no-tag"]);
    assert!(update.status.success(), "{}", text(&update));

    // `work` does its work twice.
    edit(&repo, "    chain(steps)\n}", "    chain(steps) ^ chain(std::hint::black_box(steps))\n}", "twice");
    expect(&repo, &["regression", runs[0], runs[1], runs[2], runs[3]], 3, &["probe/slowed/time"]);
    expect(&repo, &["regression", "--base", "HEAD~1", runs[0], runs[1], runs[2], runs[3]], 3, &["probe/slowed/time"]);

    // A commit that changes nothing measured.
    edit(&repo, "//! The probe.", "//! The probe crate.", "comment");
    expect(&repo, &["regression", "--base", "HEAD~1", runs[0], runs[1], runs[2], runs[3]], 0, &[]);
    eprintln!("end-to-end cycle: {:.0} s", started.elapsed().as_secs_f64());

    // Partial updates merge into the stored baseline of their commit; the
    // rows they did not run stay as they were.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let path = repo.join("baselines").join(format!("{head}.toml"));
    let full = xtask(&repo, &["baseline-update", "--runs", "3", "--no-tag"]);
    assert!(full.status.success(), "{}", text(&full));
    let before = homodyne_perf::Baseline::load(&path).unwrap();
    let partial = xtask(&repo, &["baseline-update", "--runs", "3", "--no-tag", "--filter", "steady"]);
    assert!(partial.status.success(), "{}", text(&partial));
    let after = homodyne_perf::Baseline::load(&path).unwrap();
    assert_eq!(after.benchmarks.len(), before.benchmarks.len(), "nothing was dropped");
    assert_eq!(after.benchmarks["probe/slowed/time"], before.benchmarks["probe/slowed/time"]);
    assert_eq!(after.benchmarks["probe/steady/time"].update, 1, "measured by the second update");
    assert_eq!(after.benchmarks["probe/slowed/time"].update, 0, "kept from the first");
    assert!(after.updates[1].partial && after.updates[1].command.contains("--filter steady"));
    // A quick run never replaces rows with more samples.
    let quick = xtask(&repo, &["baseline-update", "--quick", "--no-tag"]);
    assert!(quick.status.success(), "{}", text(&quick));
    assert!(String::from_utf8_lossy(&quick.stdout).contains("kept"), "{}", text(&quick));
    assert_eq!(homodyne_perf::Baseline::load(&path).unwrap().benchmarks["probe/slowed/time"].samples.len(), 3);

    // Tags: created, kept at the same commit, moved only with --force.
    let tagged = xtask(&repo, &["baseline-update", "--quick", "--name", "t"]);
    assert!(tagged.status.success(), "{}", text(&tagged));
    edit(&repo, "//! The probe crate.", "//! The probe crate, again.", "again");
    let moved = xtask(&repo, &["baseline-update", "--quick", "--name", "t"]);
    assert_eq!(moved.status.code(), Some(1), "{}", text(&moved));
    assert!(String::from_utf8_lossy(&moved.stderr).contains("--force"), "{}", text(&moved));
    let forced = xtask(&repo, &["baseline-update", "--quick", "--name", "t", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(git(&repo, &["rev-parse", "perf-baseline/t"]), git(&repo, &["rev-parse", "HEAD"]));

    // A stored baseline that cannot be read is never overwritten.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let path = repo.join("baselines").join(format!("{head}.toml"));
    std::fs::write(&path, "format_version = 2\ngarbage").unwrap();
    let refused = xtask(&repo, &["baseline-update", "--quick", "--no-tag"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "format_version = 2\ngarbage");

    // Errors stop the gate: a baselines "directory" that is a file, and a corrupt HEAD.
    std::fs::remove_dir_all(repo.join("baselines")).unwrap();
    std::fs::write(repo.join("baselines"), "not a directory").unwrap();
    let output = expect(&repo, &["regression", "--quick"], 1, &[]);
    assert!(output.contains("baselines"), "{output}");
    std::fs::remove_file(repo.join("baselines")).unwrap();
    std::fs::write(repo.join(".git").join("HEAD"), "ref: refs/heads/\0broken").unwrap();
    for command in ["regression", "baseline-update"] {
        let output = expect(&repo, &[command, "--quick"], 1, &[]);
        assert!(output.contains("git"), "{output}");
        assert!(!output.contains("No baseline"), "{output}");
    }
    std::fs::remove_dir_all(&repo).unwrap();
}

/// The instruction lens on real changes: counts identical run after run,
/// about 2% more instructions in one benchmarked function flagged on that
/// benchmark only (through `--base` and a stored baseline), an unchanged
/// commit flagging nothing. Quick wall time keeps it short: quick runs never
/// gate, so the report's verdicts are checked, not the exit code.
#[test]
fn instruction_counts_are_exact_and_a_two_percent_change_is_named() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("SKIPPING: valgrind is not installed, so the instruction lens cannot run here");
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let repo = probe_repository("instructions");
    let lens = ["--instructions", "--quick"];
    let counts = |repo: &Path| -> Vec<(String, f64, String)> {
        let json = std::fs::read_to_string(repo.join("perf").join("report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|verdict| verdict["name"].as_str().unwrap().ends_with("/instructions"))
            .map(|verdict| {
                let name = verdict["name"].as_str().unwrap().to_owned();
                (name, verdict["ratio"].as_f64().unwrap(), verdict["outcome"]["kind"].as_str().unwrap().to_owned())
            })
            .collect()
    };

    // Five countings of one build: a baseline, then two self-checks (each counts twice).
    let update = xtask(&repo, &["baseline-update", "--instructions", "--quick", "--no-tag"]);
    assert!(update.status.success(), "{}", text(&update));
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let stored = homodyne_perf::Baseline::load(&repo.join("baselines").join(format!("{head}.toml"))).unwrap();
    let slowed = stored.benchmarks["probe/slowed/instructions"].samples[0];
    assert!(slowed > 2_000.0, "the chain of 10,000 steps (unrolled, steps fused) is counted: {slowed}");
    for _ in 0..2 {
        expect(&repo, &["regression", "--self-check", lens[0], lens[1]], 0, &[]);
        for (name, ratio, outcome) in counts(&repo) {
            assert_eq!((ratio, outcome.as_str()), (1.0, "unchanged"), "{name}");
        }
    }
    // The stored counts equal the self-checks' (same build, same numbers).
    expect(&repo, &["regression", lens[0], lens[1]], 0, &[]);
    assert!(counts(&repo).iter().all(|(_, ratio, _)| *ratio == 1.0), "{:?}", counts(&repo));

    // About 2% more instructions in `work`: 200 more steps of the chain.
    edit(&repo, "    chain(steps)\n}", "    chain(steps) ^ chain(std::hint::black_box(steps / 50))\n}", "two percent");
    for args in [&["regression", lens[0], lens[1]][..], &["regression", "--base", "HEAD~1", lens[0], lens[1]]] {
        let output = xtask(&repo, args);
        assert_eq!(output.status.code(), Some(0), "quick runs report, never gate\n{}", text(&output));
        // Flagged: the instructions of `slowed` (and any other event of it that moved), nothing of `steady`.
        let flagged = regressed(&repo);
        assert!(flagged.contains(&"probe/slowed/instructions".to_owned()), "{flagged:?}\n{}", text(&output));
        assert!(flagged.iter().all(|name| name.starts_with("probe/slowed/")), "{flagged:?}");
        let found = counts(&repo);
        let (_, ratio, _) = found.iter().find(|(name, ..)| name == "probe/slowed/instructions").unwrap();
        assert!((1.015..1.03).contains(ratio), "{found:?}");
        let report = std::fs::read_to_string(repo.join("perf").join("report.md")).unwrap();
        assert!(report.contains("| probe/slowed |") && report.contains("| scalar |"), "{report}");
    }

    // A commit that changes nothing measured.
    edit(&repo, "//! The probe.", "//! The probe crate.", "comment");
    expect(&repo, &["regression", "--base", "HEAD~1", lens[0], lens[1]], 0, &[]);
    assert!(counts(&repo).iter().all(|(_, ratio, _)| *ratio == 1.0), "{:?}", counts(&repo));
    eprintln!("instruction lens end to end: {:.0} s", started.elapsed().as_secs_f64());
    std::fs::remove_dir_all(&repo).unwrap();
}

#[test]
fn bad_arguments_are_errors_with_exit_code_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(["regression", "--runs", "zero"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--runs takes a positive number"), "{}", text(&output));
    let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(["regression", "--frobnicate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument `--frobnicate`"));
}

/// `regression --serve` on loopback, followed by a real browser: the page
/// receives at least one event per benchmark while the run goes, and once
/// the run ends it holds exactly what the static dashboard of the stored run
/// shows (the same model, the same rendered charts).
#[test]
fn the_live_dashboard_streams_the_run_and_ends_as_the_static_dashboard_of_its_result() {
    let Some(browser) = Browser::start("live") else { return };
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let repo = probe_repository("live");
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok_and(|output| output.status.success());
    // Both lenses where Valgrind runs; a stored baseline, so that the run has verdicts.
    let lens: &[&str] = if valgrind { &["--quick", "--instructions"] } else { &["--quick"] };
    let update = xtask(&repo, &[&["baseline-update", "--no-tag"][..], lens].concat());
    assert!(update.status.success(), "{}", text(&update));

    let mut child = xtask_command(&repo, &[&["regression", "--serve"][..], lens].concat())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The address is printed before the benches are built; the rest of
    // stderr is kept for the failure message.
    let (sender, receiver) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("dashboard live at ") {
                let _ = sender.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
            }
            lines.push(line);
        }
        lines.join("\n")
    });
    let url = receiver.recv_timeout(Duration::from_secs(60)).expect("the live address is printed");
    assert!(url.starts_with("http://127.0.0.1:"), "loopback by default: {url}");
    browser.open(&url);
    browser.wait_for("return window.dashboard.ended === true;", Duration::from_secs(900));
    let live_model = browser.run("return JSON.stringify(window.dashboard.model);", &[]);
    let live_charts = browser.run("return document.getElementById('benchmarks').innerHTML;", &[]);
    let events = browser.run("return window.dashboard.events;", &[]);
    let status = browser.run("return document.getElementById('live-status').textContent;", &[]);
    let console = browser.console();
    let requests = browser.requests();
    let exit = child.wait().unwrap();
    let printed = reader.join().unwrap();
    assert_eq!(exit.code(), Some(0), "{printed}");
    assert!(status.as_str().unwrap().starts_with("The run ended"), "{status}");
    assert!(console.iter().all(|(level, _)| level != "SEVERE"), "{console:?}");
    // The page and its event stream, nothing else.
    for request in &requests {
        assert!(*request == url || *request == format!("{url}events"), "{request} in {requests:?}");
    }

    // The static dashboard of what the run stored.
    let output = xtask(&repo, &["dashboard", "--run"]);
    assert!(output.status.success(), "{}", text(&output));
    let page = repo.join("perf").join("dashboard").join("index.html");
    browser.open(&format!("file://{}", page.display()));
    browser.wait_for("return window.dashboard.renderedAt !== null;", Duration::from_secs(30));
    let static_model = browser.run("return JSON.stringify(window.dashboard.model);", &[]);
    let static_charts = browser.run("return document.getElementById('benchmarks').innerHTML;", &[]);
    let model: Value = serde_json::from_str(static_model.as_str().unwrap()).unwrap();
    assert_eq!(live_model, static_model, "the live page's final model is the stored run's");
    assert_eq!(live_charts, static_charts, "and it draws the same charts");

    // Every benchmark of the run arrived in at least one event while it ran.
    let ids: Vec<&str> =
        model["benchmarks"].as_array().unwrap().iter().map(|bench| bench["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"probe/slowed") && ids.contains(&"canary/steady"), "{ids:?}");
    for id in &ids {
        assert!(events[id].as_u64().unwrap_or(0) >= 1, "no event for {id}: {events}");
    }
    let commits = model["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 2, "the stored baseline and the run");
    assert_eq!(commits[1]["kind"], "run head");
    let slowed = model["benchmarks"].as_array().unwrap().iter().find(|bench| bench["id"] == "probe/slowed").unwrap();
    let run_point = slowed["series"]["time"]["points"].as_array().unwrap().last().unwrap();
    assert_eq!(run_point["c"], 1);
    assert!(run_point["verdict"]["outcome"].is_string(), "the gate's verdict on the run: {run_point}");
    if valgrind {
        assert_eq!(slowed["series"]["instructions"]["points"][1]["verdict"]["outcome"], "unchanged");
    }
    eprintln!("live dashboard end to end: {:.0} s, {} benchmarks", started.elapsed().as_secs_f64(), ids.len());
    std::fs::remove_dir_all(&repo).unwrap();
}
