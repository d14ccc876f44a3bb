//! `cargo xtask report`: the history of the stored baselines, per benchmark
//! a trend table and an SVG chart, with change points flagged.
//!
//! Change points are found by the same rule that gates pull requests: each
//! baseline is compared with the one before it (every process-run sample on
//! both sides, Holm-corrected across the benchmarks of that pair); a step
//! that the rule calls a regression or an improvement is a change point.
//! It is deliberately simple: it finds steps between neighbours, not slow
//! drifts spread over many commits.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use homodyne_perf::{Baseline, Outcome};

use crate::dashboard::model::{Kind, Model};
use crate::flags::Args;
use crate::format::{format_ns, short_id, utc_date};

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

/// The baselines in git order: HEAD's ancestors oldest first (as `git
/// log` walks them, reversed), then baselines of commits outside HEAD's
/// history by timestamp, flagged `false`. Outside a git repository, or if
/// the history cannot be read, all by timestamp, and the sentence that
/// describes the order says why.
pub(crate) fn in_git_order(root: &Path, mut baselines: Vec<Baseline>) -> (Vec<(Baseline, bool)>, String) {
    let commits: Vec<&str> = baselines.iter().map(|baseline| baseline.commit.as_str()).collect();
    let positions = match homodyne_perf::git::history_positions(root, &commits) {
        Ok(positions) => positions,
        Err(error) => {
            let order = format!("by timestamp: the git history could not be read ({error})");
            return (baselines.into_iter().map(|baseline| (baseline, true)).collect(), order);
        }
    };
    let mut keyed: Vec<(Option<usize>, Baseline)> = positions.into_iter().zip(baselines.drain(..)).collect();
    // Ancestors: larger positions are older. Then the rest, as loaded (by timestamp).
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some(a), Some(b)) => b.cmp(a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let outside = keyed.iter().filter(|(position, _)| position.is_none()).count();
    let order = if outside == 0 {
        "git order (HEAD's history, oldest first)".to_owned()
    } else {
        format!("git order (HEAD's history, oldest first), then {outside} baseline(s) outside it by timestamp")
    };
    (keyed.into_iter().map(|(position, baseline)| (baseline, position.is_some())).collect(), order)
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

/// Per benchmark row, its points over `baselines` (oldest first), by the
/// dashboard's model: the same summaries, and the same change points (a
/// regression or an improvement against the last baseline that measured the
/// row; canaries measure the machine and are never change points).
pub(crate) fn history(baselines: &[Baseline]) -> Vec<(String, Vec<Point>)> {
    let ordered: Vec<(&Baseline, Kind)> = baselines.iter().map(|baseline| (baseline, Kind::Ancestor)).collect();
    let model = Model::new(&ordered, "", std::collections::BTreeMap::new());
    let canaries = crate::suite::thresholds().canaries;
    let mut histories: Vec<(String, Vec<Point>)> = model
        .series()
        .map(|series| {
            let points = baselines
                .iter()
                .enumerate()
                .map(|(index, baseline)| {
                    let found = series.points.iter().find(|point| point.commit == index);
                    let change = found
                        .and_then(|point| point.verdict.as_ref())
                        .map(|(verdict, _)| verdict.outcome)
                        .filter(|outcome| matches!(outcome, Outcome::Regression(_) | Outcome::Improvement))
                        .filter(|_| !canaries.contains(&series.row));
                    Point {
                        commit: short_id(&baseline.commit, 10).to_owned(),
                        date: utc_date(baseline.timestamp),
                        median_ns: found.map(|point| point.median),
                        fastest_ns: found.map(|point| point.fastest),
                        slowest_ns: found.map(|point| point.slowest),
                        change,
                    }
                })
                .collect();
            (series.row.clone(), points)
        })
        .collect();
    histories.sort_by(|a, b| a.0.cmp(&b.0));
    histories
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
            escape(short_id(&point.commit, 7))
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
        "{} baselines, {} to {}. Change points: a step that the regression rule (permutation test of the \
         trimmed log times, Holm-corrected, beyond the noise threshold) finds between a baseline and the one \
         before it.\n",
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
    let crate::options::Layout { root, baselines_dir, out_dir } = crate::options::Layout::from_args(&mut args)?;
    let last = match args.value("--last")? {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|last| *last > 0)
            .with_context(|| format!("--last takes a positive number of baselines, not {text:?}"))?,
        None => 10,
    };
    args.finish()?;

    let (ordered, order) = in_git_order(&root, load_all(&baselines_dir)?);
    let mut baselines: Vec<Baseline> = ordered.into_iter().map(|(baseline, _)| baseline).collect();
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
        crate::format::write_text(&charts_dir.join(chart_file(name)), &svg_chart(name, points))?;
    }
    let text = markdown(&baselines, &histories, "history");
    let text = format!("{text}\nBaselines in {order}.\n");
    let path = out_dir.join("history.md");
    crate::format::write_text(&path, &text)?;
    println!("{text}");
    eprintln!("history written to {} (charts in {})", path.display(), charts_dir.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{around, baseline};

    #[test]
    fn a_step_is_a_change_point_and_flat_history_is_not() {
        let baselines = [
            baseline("aaaaaaaaaaaa", 100, &[("flat", "ns", around(100.0)), ("step", "ns", around(100.0))]),
            baseline("bbbbbbbbbbbb", 200, &[("flat", "ns", around(100.0)), ("step", "ns", around(100.0))]),
            baseline("cccccccccccc", 300, &[("flat", "ns", around(100.0)), ("step", "ns", around(150.0))]),
            baseline("dddddddddddd", 400, &[("flat", "ns", around(100.0)), ("step", "ns", around(100.0))]),
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
