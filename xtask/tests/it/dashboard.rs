//! `cargo xtask dashboard` in a real browser: a fixture of 5 baselines on 5
//! commits of a temporary repository (timestamps out of git order, one
//! benchmark twice as slow from the third commit, the last commit on
//! another machine), rendered in headless Chromium from `file://`; and the
//! load time of 100 baselines × 100 benchmarks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use homodyne_perf::{BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Direction, Machine, Sampling};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::end_to_end::{git, workspace};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-dashboard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Ten samples around `center`, deterministic.
fn around(center: f64, seed: usize) -> Vec<f64> {
    (0..10).map(|i| center * (1.0 + 0.004 * (((i * 7 + seed * 3) % 11) as f64 / 10.0 - 0.5))).collect()
}

fn baseline(commit: &str, timestamp: u64, cpu: &str, rows: Vec<(String, &str, Vec<f64>)>) -> Baseline {
    Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        commit: commit.to_owned(),
        branch: Some("main".to_owned()),
        tags: Vec::new(),
        dirty: false,
        timestamp,
        rustc: "rustc 1.95.0".to_owned(),
        target: "x86_64-unknown-linux-gnu".to_owned(),
        profile: "bench".to_owned(),
        machine: Machine { cpu: cpu.to_owned(), cores: 2, memory_bytes: 24 << 30 },
        sampling: Sampling { runs: 10, sample: "median of one divan process run, ns".to_owned() },
        updates: Vec::new(),
        benchmarks: rows
            .into_iter()
            .map(|(name, unit, samples)| {
                let record =
                    BenchmarkRecord { unit: unit.to_owned(), direction: Direction::LowerIsBetter, samples, update: 0 };
                (name, record)
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

fn dashboard(root: &Path, baselines: &Path, out: &Path) -> PathBuf {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dashboard", "--root"])
        .arg(root)
        .arg("--baselines-dir")
        .arg(baselines)
        .arg("--out")
        .arg(out)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    out.join("index.html")
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The fixture: 5 commits, a baseline each; returns the repository, the
/// commits in git order and the baselines directory.
fn fixture(name: &str) -> (PathBuf, Vec<String>, PathBuf) {
    let repo = fresh_dir(name);
    git(&repo, &["init", "-q", "-b", "main"]);
    let mut commits = Vec::new();
    for index in 0..5 {
        std::fs::write(repo.join("file.txt"), format!("{index}")).unwrap();
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", &format!("commit {index}")]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    let baselines = repo.join("baselines");
    // Timestamps deliberately out of git order: the page must follow git.
    let timestamps = [1_790_000_000, 1_790_400_000, 1_790_100_000, 1_790_300_000, 1_790_200_000];
    for (index, commit) in commits.iter().enumerate() {
        let step = if index >= 2 { 2.0 } else { 1.0 };
        let rows = vec![
            ("alpha/steady/1000/time".to_owned(), "ns", around(1_000.0, index)),
            ("alpha/step/1000/time".to_owned(), "ns", around(1_000.0 * step, index + 1)),
            ("alpha/read_limit/1000/time".to_owned(), "ns", around(300.0, index + 2)),
            ("beta/objective/(23, 200)/time".to_owned(), "ns", around(1.2e6, index + 3)),
            ("beta/objective/(23, 200)/instructions".to_owned(), "Ir", vec![4.2e7]),
            ("canary/steady/time".to_owned(), "ns", around(5e5, index + 4)),
        ];
        let cpu = if index == 4 { "Other CPU" } else { "Fixture CPU" };
        baseline(commit, timestamps[index], cpu, rows).save(&baselines).unwrap();
    }
    (repo, commits, baselines)
}

/// The model the page embeds.
fn embedded_model(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let start = html.find(r#"<script type="application/json" id="model">"#).unwrap();
    let json = &html[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap()
}

/// Without a browser: the page's data follows git and marks the step.
#[test]
fn the_page_holds_the_baselines_in_git_order_with_the_step_on_its_commit() {
    let (repo, commits, baselines) = fixture("model");
    let page = dashboard(&repo, &baselines, &repo.join("dashboard"));
    let model = embedded_model(&page);
    let ids: Vec<&str> = model["commits"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, commits, "git order, not the timestamps'");
    assert_eq!(model["order"], "git order (HEAD's history, oldest first)");
    let mut steps = Vec::new();
    for bench in model["benchmarks"].as_array().unwrap() {
        for (metric, series) in bench["series"].as_object().unwrap() {
            for point in series["points"].as_array().unwrap() {
                let outcome = point["verdict"]["outcome"].as_str().unwrap_or("first");
                if outcome != "unchanged" && outcome != "first" {
                    steps.push((
                        bench["id"].as_str().unwrap().to_owned(),
                        metric.clone(),
                        point["c"].clone(),
                        outcome.to_owned(),
                    ));
                }
            }
        }
    }
    assert_eq!(steps, [("alpha/step/1000".to_owned(), "time".to_owned(), json!(2), "regression".to_owned())]);
    assert_eq!(model["machines"].as_array().unwrap().len(), 2);
    // A commit outside HEAD's history goes after it, and says so.
    git(&repo, &["checkout", "-q", "-b", "side", &commits[3]]);
    let page = dashboard(&repo, &baselines, &repo.join("dashboard-side"));
    let model = embedded_model(&page);
    let kinds: Vec<&str> = model["commits"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["baseline", "baseline", "baseline", "baseline", "baseline outside HEAD's history"]);
    std::fs::remove_dir_all(&repo).unwrap();
}

#[test]
fn every_benchmark_has_a_chart_the_step_is_marked_filters_work_and_nothing_leaves_the_page() {
    let Some(browser) = Browser::start("static") else { return };
    let (repo, commits, baselines) = fixture("browser");
    let page = dashboard(&repo, &baselines, &repo.join("dashboard"));
    let url = file_url(&page);
    browser.open(&url);
    browser.wait_for(
        "return window.dashboard !== undefined && window.dashboard.renderedAt !== null;",
        Duration::from_secs(10),
    );

    // Commits in git order, whatever the timestamps say.
    let ids = browser.run("return window.dashboard.model.commits.map(c => c.id);", &[]);
    assert_eq!(ids, json!(commits));

    // Every benchmark has its chart; the instruction counts have theirs.
    let charts = browser.run(
        "return Array.from(document.querySelectorAll('section.bench')).map(s => \
           [s.dataset.bench, Array.from(s.querySelectorAll('svg.chart')).map(svg => svg.dataset.lens)]);",
        &[],
    );
    assert_eq!(
        charts,
        json!([
            ["alpha/read_limit/1000", ["time"]],
            ["alpha/steady/1000", ["time"]],
            ["alpha/step/1000", ["time"]],
            ["beta/objective/(23, 200)", ["time", "instructions"]],
            ["canary/steady", ["time"]],
        ])
    );

    // The 2× step, marked once, on the third commit, as a regression.
    let steps = browser.run(
        "return Array.from(document.querySelectorAll('.step')).map(g => \
           [g.closest('section').dataset.bench, g.dataset.commit, g.dataset.outcome, g.textContent]);",
        &[],
    );
    let short = &commits[2][..10];
    assert_eq!(steps.as_array().unwrap().len(), 1, "{steps}");
    assert_eq!(steps[0][0], "alpha/step/1000");
    assert_eq!(steps[0][1], short.to_owned());
    assert_eq!(steps[0][2], "regression");
    let label = steps[0][3].as_str().unwrap();
    assert!(label.starts_with("×2") || label.starts_with("×1.99"), "{label}");
    // The read limit is drawn where the suite has one; the machine change is marked.
    let limits = browser.run(
        "return Array.from(document.querySelectorAll('section.bench')).filter(s => s.querySelector('.limit')).map(s => s.dataset.bench);",
        &[],
    );
    assert_eq!(limits, json!(["alpha/steady/1000", "alpha/step/1000"]));
    assert_eq!(
        browser
            .run("return document.querySelectorAll('section.bench')[0].querySelectorAll('line.machine').length;", &[]),
        1
    );

    // Filters: the search box and the crate selector hide the others.
    let visible = "return Array.from(document.querySelectorAll('section.bench')).filter(s => !s.hidden).map(s => s.dataset.bench);";
    browser.run(
        "const s = document.getElementById('search'); s.value = 'objective'; s.dispatchEvent(new Event('input'));",
        &[],
    );
    assert_eq!(browser.run(visible, &[]), json!(["beta/objective/(23, 200)"]));
    browser.run("const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'));", &[]);
    browser.run(
        "const c = document.getElementById('crate'); c.value = 'alpha'; c.dispatchEvent(new Event('change'));",
        &[],
    );
    assert_eq!(browser.run(visible, &[]), json!(["alpha/read_limit/1000", "alpha/steady/1000", "alpha/step/1000"]));
    browser.run("const c = document.getElementById('changes'); c.click();", &[]);
    assert_eq!(browser.run(visible, &[]), json!(["alpha/step/1000"]));
    assert_eq!(
        browser.run("return document.getElementById('shown').textContent;", &[]),
        "Showing 1 of 5 benchmark(s)."
    );
    browser.run("document.getElementById('changes').click(); const c = document.getElementById('crate'); c.value = ''; c.dispatchEvent(new Event('change'));", &[]);
    assert_eq!(browser.run(visible, &[]).as_array().unwrap().len(), 5);

    // The table view: every point, with the step's statistics.
    let rows = browser.run(
        "const d = document.querySelector('section[data-bench=\"alpha/step/1000\"] details.table'); \
         d.open = true; d.dispatchEvent(new Event('toggle')); \
         return Array.from(d.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent));",
        &[],
    );
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows[2][0].as_str().unwrap().starts_with(short));
    assert_eq!(rows[2][7], "regression (fail)");
    assert_eq!(rows[2][11], commits[1][..10].to_owned(), "against the commit before it");
    assert!(rows[2][4].as_str().unwrap().ends_with("µs"), "{:?}", rows[2]);
    // Keyboard: every control and every table toggle can take the focus.
    let focusable = browser.run(
        "const all = Array.from(document.querySelectorAll('select, input, summary')); \
         return all.every(e => { e.focus(); return document.activeElement === e; }) && all.length;",
        &[],
    );
    assert!(focusable.as_u64().unwrap() >= 3 + 6, "{focusable}");

    // Nothing in the console; no request but the page itself.
    let console = browser.console();
    assert!(console.iter().all(|(level, _)| level != "SEVERE" && level != "WARNING"), "{console:?}");
    let requests: Vec<String> = browser.requests().into_iter().filter(|request| *request != url).collect();
    assert!(requests.is_empty(), "the page made requests: {requests:?}");
    assert_eq!(browser.run("return performance.getEntriesByType('resource').length;", &[]), 0);

    // Screenshots at two widths (the README shows them).
    let shots = workspace().join("target").join("dashboard");
    browser.screenshot(1280, 2400, &shots.join("dashboard-wide.png"));
    browser.screenshot(420, 2400, &shots.join("dashboard-narrow.png"));
    // Narrow: the two lenses stack, nothing overflows the page sideways.
    let overflow = browser.run("return document.documentElement.scrollWidth <= window.innerWidth;", &[]);
    assert_eq!(overflow, true);
    eprintln!("screenshots in {}", shots.display());
    std::fs::remove_dir_all(&repo).unwrap();
}

#[test]
fn a_hundred_baselines_of_a_hundred_benchmarks_load_within_a_second() {
    let Some(browser) = Browser::start("load") else { return };
    // Timed: not beside the end-to-end tests' builds.
    let _alone = crate::end_to_end::ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = fresh_dir("load");
    let baselines = dir.join("baselines");
    for index in 0..100u64 {
        let commit = format!("{index:040x}");
        let rows = (0..100)
            .map(|bench| {
                let center = 1_000.0 * f64::from(bench + 1) * if index >= 50 && bench % 10 == 0 { 1.5 } else { 1.0 };
                (
                    format!("crate{}/bench{bench:03}/{}/time", bench % 5, bench * 10),
                    "ns",
                    around(center, index as usize + bench as usize),
                )
            })
            .collect();
        baseline(&commit, 1_790_000_000 + index * 3600, "CPU", rows).save(&baselines).unwrap();
    }
    let started = Instant::now();
    // Not a git repository: the order falls back to the timestamps.
    let page = dashboard(&dir, &baselines, &dir.join("dashboard"));
    let generated = started.elapsed();
    let size = std::fs::metadata(&page).unwrap().len();
    let mut loads = Vec::new();
    for _ in 0..3 {
        browser.open(&file_url(&page));
        browser.wait_for(
            "return window.dashboard !== undefined && window.dashboard.renderedAt !== null;",
            Duration::from_secs(30),
        );
        let timing = browser.run(
            "const n = performance.getEntriesByType('navigation')[0]; \
             return [window.dashboard.renderedAt, n.domContentLoadedEventEnd, n.loadEventEnd, document.querySelectorAll('svg.chart').length];",
            &[],
        );
        assert_eq!(timing[3], 100, "a chart per benchmark");
        let rendered = timing[0].as_f64().unwrap();
        let loaded = timing[2].as_f64().unwrap();
        loads.push(rendered.max(loaded));
    }
    let slowest = loads.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "100 baselines × 100 benchmarks: page {:.1} MB, written in {:.2} s; loaded and drawn in {:.0}, {:.0}, {:.0} ms",
        size as f64 / 1e6,
        generated.as_secs_f64(),
        loads[0],
        loads[1],
        loads[2]
    );
    assert!(slowest < 1000.0, "page load took {slowest:.0} ms");
    let model: Value = browser.run("return window.dashboard.model.order;", &[]);
    assert!(model.as_str().unwrap().starts_with("by timestamp"), "{model}");
    let console = browser.console();
    assert!(console.iter().all(|(level, _)| level != "SEVERE"), "{console:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
