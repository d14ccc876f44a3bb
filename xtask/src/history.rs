//! `cargo xtask report`: the history of the stored baselines, per benchmark
//! a trend table and an SVG chart, with change points flagged.
//!
//! Change points are found by the same rule that gates pull requests: each
//! baseline is compared with the one before it (every process-run sample on
//! both sides, Holm-corrected across the benchmarks of that pair); a step
//! that the rule calls a regression or an improvement is a change point.
//! It is deliberately simple: it finds steps between neighbours, not slow
//! drifts spread over many commits.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use homodyne_perf::{Baseline, BenchmarkSamples, Outcome, Thresholds, compare};

use crate::Args;
use crate::regression::write_atomically;

/// A duration in nanoseconds in the unit divan would use.
pub(crate) fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    format!("{value:.digits$} {unit}")
}

/// `YYYY-MM-DD` of a Unix timestamp (UTC), by the civil-from-days algorithm
/// of Howard Hinnant.
pub(crate) fn utc_date(timestamp: u64) -> String {
    let days = (timestamp / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The median, `None` for no values.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) { f64::midpoint(sorted[mid - 1], sorted[mid]) } else { sorted[mid] })
}

/// Every baseline file in `dir`, oldest first. A file that cannot be read
/// is an error naming it: a history with silent holes would mislead.
pub(crate) fn load_all(dir: &Path) -> Result<Vec<Baseline>> {
    let mut baselines = Vec::new();
    if !dir.is_dir() {
        return Ok(baselines);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        if path.extension().is_some_and(|extension| extension == "toml") {
            baselines.push(Baseline::load(&path)?);
        }
    }
    baselines.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.commit.cmp(&b.commit)));
    Ok(baselines)
}

/// One step of a benchmark's history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) commit: String,
    pub(crate) date: String,
    pub(crate) median_ns: Option<f64>,
    pub(crate) fastest_ns: Option<f64>,
    pub(crate) slowest_ns: Option<f64>,
    /// The outcome of the comparison with the previous baseline, when it is a step.
    pub(crate) change: Option<Outcome>,
}

/// Per benchmark, its points over `baselines` (oldest first).
pub(crate) fn history(baselines: &[Baseline]) -> Vec<(String, Vec<Point>)> {
    let names: BTreeSet<&String> = baselines.iter().flat_map(|baseline| baseline.benchmarks.keys()).collect();
    // The change points of each consecutive pair, all benchmarks at once so
    // that Holm's correction sees the whole family.
    let mut changes: Vec<Vec<(String, Outcome)>> = vec![Vec::new()];
    for pair in baselines.windows(2) {
        let inputs: Vec<BenchmarkSamples> = names
            .iter()
            .filter_map(|name| {
                let base = pair[0].benchmarks.get(*name)?;
                let head = pair[1].benchmarks.get(*name)?;
                Some(BenchmarkSamples {
                    name: (*name).clone(),
                    direction: head.direction,
                    base: base.samples.clone(),
                    head: head.samples.clone(),
                })
            })
            .collect();
        let mismatch = pair[0].machine != pair[1].machine;
        let verdicts = compare(&inputs, &Thresholds::default(), mismatch);
        changes.push(
            verdicts
                .into_iter()
                .filter(|verdict| matches!(verdict.outcome, Outcome::Regression(_) | Outcome::Improvement))
                .map(|verdict| (verdict.name, verdict.outcome))
                .collect(),
        );
    }
    names
        .into_iter()
        .map(|name| {
            let points = baselines
                .iter()
                .zip(&changes)
                .map(|(baseline, changed)| {
                    let samples = baseline.benchmarks.get(name).map_or(&[][..], |record| record.samples.as_slice());
                    Point {
                        commit: baseline.commit[..baseline.commit.len().min(10)].to_owned(),
                        date: utc_date(baseline.timestamp),
                        median_ns: median(samples),
                        fastest_ns: samples.iter().copied().reduce(f64::min),
                        slowest_ns: samples.iter().copied().reduce(f64::max),
                        change: changed
                            .iter()
                            .find(|(changed_name, _)| changed_name == name)
                            .map(|(_, outcome)| *outcome),
                    }
                })
                .collect();
            (name.clone(), points)
        })
        .collect()
}

/// A file name for a benchmark's chart.
fn chart_file(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{stem}.svg")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A line chart of the medians with the fastest-to-slowest run range as
/// whiskers; change points in red.
pub(crate) fn svg_chart(name: &str, points: &[Point]) -> String {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 80.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 50.0;
    let values: Vec<f64> = points.iter().flat_map(|point| [point.fastest_ns, point.slowest_ns]).flatten().collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    let (low, high) = if values.is_empty() { (0.0, 1.0) } else { (low * 0.95, (high * 1.05).max(low * 0.95 + 1e-9)) };
    let x = |index: usize| {
        if points.len() <= 1 {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (WIDTH - LEFT - RIGHT) * index as f64 / (points.len() - 1) as f64
        }
    };
    let y = |value: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (value - low) / (high - low));
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="18" font-size="13">{}</text>"#, escape(name));
    let axis_bottom = HEIGHT - BOTTOM;
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{axis_bottom}" stroke="#888"/><line x1="{LEFT}" y1="{axis_bottom}" x2="{}" y2="{axis_bottom}" stroke="#888"/>"##,
        WIDTH - RIGHT
    );
    for value in [low, f64::midpoint(low, high), high] {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(value) + 4.0,
            escape(&format_ns(value))
        );
    }
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(index, point)| point.median_ns.map(|median| format!("{:.1},{:.1}", x(index), y(median))))
        .collect();
    let _ = writeln!(svg, r##"<polyline fill="none" stroke="#2060c0" stroke-width="2" points="{}"/>"##, line.join(" "));
    for (index, point) in points.iter().enumerate() {
        if let (Some(fastest), Some(slowest)) = (point.fastest_ns, point.slowest_ns) {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#99b3e0"/>"##,
                x(index),
                y(fastest),
                y(slowest)
            );
        }
        if let Some(median) = point.median_ns {
            let color = match point.change {
                Some(Outcome::Regression(_)) => "#d02020",
                Some(Outcome::Improvement) => "#20a040",
                _ => "#2060c0",
            };
            let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"/>"#, x(index), y(median));
        }
        let _ = writeln!(
            svg,
            r#"<text x="{0:.1}" y="{1:.1}" text-anchor="end" transform="rotate(-30 {0:.1} {1:.1})">{2}</text>"#,
            x(index),
            axis_bottom + 14.0,
            escape(&point.commit[..point.commit.len().min(7)])
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn change_label(change: Option<Outcome>) -> &'static str {
    match change {
        Some(Outcome::Regression(_)) => "**slower** (change point)",
        Some(Outcome::Improvement) => "**faster** (change point)",
        _ => "",
    }
}

/// The Markdown history; charts are linked as `charts_dir_name/<file>.svg`.
pub(crate) fn markdown(baselines: &[Baseline], histories: &[(String, Vec<Point>)], charts_dir_name: &str) -> String {
    let mut out = String::from("## Benchmark history\n\n");
    let _ = writeln!(
        out,
        "{} baselines, {} to {}. Change points: a step that the regression rule (trimmed one-sided t-test, \
         Holm-corrected, beyond the noise threshold) finds between a baseline and the one before it.\n",
        baselines.len(),
        baselines.first().map_or_else(String::new, |b| utc_date(b.timestamp)),
        baselines.last().map_or_else(String::new, |b| utc_date(b.timestamp)),
    );
    for (name, points) in histories {
        let _ = writeln!(out, "### {name}\n\n![{name}]({charts_dir_name}/{})\n", chart_file(name));
        out.push_str(
            "| commit | date | median | fastest–slowest run | vs previous | change |\n|---|---|---|---|---|---|\n",
        );
        let mut previous: Option<f64> = None;
        for point in points {
            let median = point.median_ns.map_or_else(|| "-".to_owned(), format_ns);
            let range = match (point.fastest_ns, point.slowest_ns) {
                (Some(fastest), Some(slowest)) => format!("{}–{}", format_ns(fastest), format_ns(slowest)),
                _ => "-".to_owned(),
            };
            let versus = match (previous, point.median_ns) {
                (Some(before), Some(now)) => format!("{:+.1}%", (now / before - 1.0) * 100.0),
                _ => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {median} | {range} | {versus} | {} |",
                point.commit,
                point.date,
                change_label(point.change)
            );
            if point.median_ns.is_some() {
                previous = point.median_ns;
            }
        }
        out.push('\n');
    }
    out
}

/// `cargo xtask report`.
pub(crate) fn report(mut args: Args) -> Result<u8> {
    let root = crate::workspace_root();
    let baselines_dir = args.value("--baselines-dir")?.map_or_else(|| root.join("baselines"), PathBuf::from);
    let out_dir = args.value("--out-dir")?.map_or_else(|| root.join("target").join("perf"), PathBuf::from);
    let last = match args.value("--last")? {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|last| *last > 0)
            .with_context(|| format!("--last takes a positive number of baselines, not {text:?}"))?,
        None => 10,
    };
    args.finish()?;

    let mut baselines = load_all(&baselines_dir)?;
    if baselines.is_empty() {
        println!("No baselines in {}: record one with `cargo xtask baseline-update`.", baselines_dir.display());
        return Ok(0);
    }
    let skip = baselines.len().saturating_sub(last);
    baselines.drain(..skip);
    let histories = history(&baselines);
    let charts_dir = out_dir.join("history");
    std::fs::create_dir_all(&charts_dir).with_context(|| format!("creating {}", charts_dir.display()))?;
    for (name, points) in &histories {
        write_atomically(&charts_dir.join(chart_file(name)), &svg_chart(name, points))?;
    }
    let text = markdown(&baselines, &histories, "history");
    let path = out_dir.join("history.md");
    write_atomically(&path, &text)?;
    println!("{text}");
    eprintln!("history written to {} (charts in {})", path.display(), charts_dir.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use homodyne_perf::{BASELINE_FORMAT_VERSION, BenchmarkRecord, Direction, Machine, Sampling};

    use super::*;

    fn check_date(timestamp: u64, expected: &str) {
        assert_eq!(utc_date(timestamp), expected, "{timestamp}");
    }

    #[test]
    fn dates_match_python_datetime() {
        // Reference: datetime.datetime.utcfromtimestamp(t).date().
        check_date(0, "1970-01-01");
        check_date(951_782_400, "2000-02-29");
        check_date(1_795_651_200, "2026-11-26");
        check_date(4_102_444_799, "2099-12-31");
    }

    #[test]
    fn durations_use_divan_units() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(1_470.0), "1.470 µs");
        assert_eq!(format_ns(15_000_000.0), "15.00 ms");
        assert_eq!(format_ns(197_000_000.0), "197.0 ms");
        assert_eq!(format_ns(2.5e9), "2.500 s");
    }

    fn baseline(commit: &str, timestamp: u64, benchmarks: &[(&str, Vec<f64>)]) -> Baseline {
        Baseline {
            format_version: BASELINE_FORMAT_VERSION,
            commit: commit.to_owned(),
            branch: None,
            tags: Vec::new(),
            dirty: false,
            timestamp,
            rustc: "rustc".to_owned(),
            target: "x86_64-unknown-linux-gnu".to_owned(),
            profile: "bench".to_owned(),
            machine: Machine { cpu: "cpu".to_owned(), cores: 2, memory_bytes: 1 << 34 },
            sampling: Sampling { runs: 8, sample: "median".to_owned() },
            benchmarks: benchmarks
                .iter()
                .map(|(name, samples)| {
                    let record = BenchmarkRecord {
                        unit: "ns".to_owned(),
                        direction: Direction::LowerIsBetter,
                        samples: samples.clone(),
                    };
                    ((*name).to_owned(), record)
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn around(center: f64) -> Vec<f64> {
        [0.0, 0.002, -0.003, 0.004, -0.001, 0.003, 0.001, -0.002].iter().map(|offset| center * (1.0 + offset)).collect()
    }

    #[test]
    fn a_step_is_a_change_point_and_flat_history_is_not() {
        let baselines = [
            baseline("aaaaaaaaaaaa", 100, &[("flat", around(100.0)), ("step", around(100.0))]),
            baseline("bbbbbbbbbbbb", 200, &[("flat", around(100.0)), ("step", around(100.0))]),
            baseline("cccccccccccc", 300, &[("flat", around(100.0)), ("step", around(150.0))]),
            baseline("dddddddddddd", 400, &[("flat", around(100.0)), ("step", around(100.0))]),
        ];
        let histories = history(&baselines);
        let changes = |name: &str| -> Vec<Option<Outcome>> {
            histories.iter().find(|(n, _)| n == name).unwrap().1.iter().map(|point| point.change).collect()
        };
        assert_eq!(changes("flat"), [None, None, None, None]);
        let step = changes("step");
        assert!(matches!(step[2], Some(Outcome::Regression(_))), "{step:?}");
        assert_eq!(step[3], Some(Outcome::Improvement));
        assert_eq!((step[0], step[1]), (None, None));

        let point = &histories[1].1[2];
        assert!((point.median_ns.unwrap() - 150.0 * 1.0005).abs() < 1e-9, "{point:?}");

        let text = markdown(&baselines, &histories, "history");
        assert!(text.contains("![step](history/step.svg)"), "{text}");
        assert!(text.contains("| +50.0% | **slower** (change point) |"), "{text}");
        let svg = svg_chart("step", &histories[1].1);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("#d02020").count(), 1, "one regression point in red");
    }
}
