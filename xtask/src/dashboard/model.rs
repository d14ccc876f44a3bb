//! The dashboard's data: every stored baseline (and optionally the last
//! `regression` run) as one JSON document that the page renders. No IO:
//! the static page embeds it, the live server sends parts of it as they
//! change, both made by the functions here, so the two cannot disagree.
//!
//! Shape (`version` 1):
//! - `commits`: the points of the x axis in order (git order of the stored
//!   baselines, then the run's measured base and head), each with its
//!   machine (an index into `machines`), toolchain, runs and kind.
//! - `benchmarks`: by benchmark (a row's name without its metric), the
//!   bench target, the crate that owns it, the read-limit benchmark when the
//!   suite has one, and a series per metric (`time`, `instructions`, …):
//!   the unit and one point per commit that measured it (median, fastest,
//!   slowest, sample count) with the verdict against the commit before.
//!
//! A point's verdict compares it with the latest earlier baseline that
//! measured the same row (every sample of both, the gate's rule, Holm's
//! correction over the rows of that baseline). The run's head carries the
//! gate's own verdicts, against the base the gate used.

use std::collections::BTreeMap;

use homodyne_perf::{Baseline, Machine, Severity, Verdict, compare_baselines, read_limit_of, time_factor};
use serde_json::{Map, Value, json};

use crate::format::{median, short_id, utc_date};

/// Length of the short commit ids shown on the page.
pub(crate) const SHORT: usize = 10;

/// What a commit on the x axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A stored baseline that is HEAD or one of its ancestors.
    Ancestor,
    /// A stored baseline outside HEAD's history (placed by timestamp after the ancestors).
    Elsewhere,
    /// The base of the run, measured in that run (`--base`, `--self-check`).
    RunBase,
    /// The head of the run.
    RunHead,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ancestor => "baseline",
            Kind::Elsewhere => "baseline outside HEAD's history",
            Kind::RunBase => "run base",
            Kind::RunHead => "run head",
        }
    }
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) commit: usize,
    pub(crate) median: f64,
    pub(crate) fastest: f64,
    pub(crate) slowest: f64,
    pub(crate) samples: usize,
    /// The verdict against the earlier commit (its short id).
    pub(crate) verdict: Option<(Verdict, String)>,
}

/// One metric of one benchmark over the commits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) row: String,
    pub(crate) unit: String,
    pub(crate) points: Vec<Point>,
}

/// The dashboard's model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    commits: Vec<Value>,
    machines: Vec<Machine>,
    /// Benchmark id → metric → series.
    benchmarks: BTreeMap<String, BTreeMap<String, Series>>,
    /// Bench target → package, from `cargo metadata`.
    crates: BTreeMap<String, String>,
    order: String,
}

/// A benchmark row's id (its name without the metric) and metric.
pub(crate) fn split_row(row: &str) -> (&str, &str) {
    row.rsplit_once('/').unwrap_or((row, "value"))
}

/// The unit a series is shown in: times in ns, anything else as stored.
fn display_unit(unit: &str) -> (&str, f64) {
    match time_factor(unit, "ns") {
        Some(factor) => ("ns", factor),
        None => (unit, 1.0),
    }
}

/// Median, fastest and slowest of positive finite samples (`None` if there are none).
pub(crate) fn summary(samples: &[f64]) -> Option<(f64, f64, f64, usize)> {
    let kept: Vec<f64> = samples.iter().copied().filter(|value| value.is_finite()).collect();
    let middle = median(&kept)?;
    let fastest = kept.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = kept.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((middle, fastest, slowest, kept.len()))
}

/// A verdict as the page shows it; `against` is the short id of the other side.
pub(crate) fn verdict_json(verdict: &Verdict, against: &str) -> Value {
    json!({
        "outcome": verdict.outcome.name(),
        "severity": verdict.outcome.severity().map(Severity::name),
        "ratio": verdict.ratio,
        "low": verdict.ratio_ci.map(|(low, _)| low),
        "high": verdict.ratio_ci.map(|(_, high)| high),
        "p_regression": verdict.p_regression,
        "p_improvement": verdict.p_improvement,
        "mdc": verdict.min_detectable_change,
        "noise": verdict.noise_threshold,
        "base_n": verdict.base_samples,
        "head_n": verdict.head_samples,
        "against": against,
        "machine_mismatch": verdict.machine_mismatch,
    })
}

impl Model {
    /// The model of `baselines` (in the order to show, each with its kind),
    /// ordered as `order` says (a sentence for the page).
    pub(crate) fn new(baselines: &[(&Baseline, Kind)], order: &str, crates: BTreeMap<String, String>) -> Model {
        let mut model = Model {
            commits: Vec::new(),
            machines: Vec::new(),
            benchmarks: BTreeMap::new(),
            crates,
            order: order.into(),
        };
        // The latest record of each row so far, and the commit that measured it.
        let mut latest: BTreeMap<&str, (usize, &homodyne_perf::BenchmarkRecord)> = BTreeMap::new();
        let thresholds = crate::suite::thresholds();
        for (index, (baseline, kind)) in baselines.iter().enumerate() {
            model.push_commit(baseline, *kind);
            let verdicts = if latest.is_empty() {
                BTreeMap::new()
            } else {
                // The previous side: each row as last measured before this baseline.
                let mut previous = baselines[index - 1].0.clone();
                previous.benchmarks =
                    latest.iter().map(|(row, (_, record))| ((*row).to_owned(), (*record).clone())).collect();
                let comparison = compare_baselines(Some(&previous), baseline, &thresholds);
                comparison
                    .verdicts
                    .into_iter()
                    .filter_map(|verdict| {
                        let (from, _) = latest.get(verdict.name.as_str())?;
                        let against = short_id(&baselines[*from].0.commit, SHORT).to_owned();
                        Some((verdict.name.clone(), (verdict, against)))
                    })
                    .collect()
            };
            model.add_points(index, baseline, &verdicts);
            for (row, record) in &baseline.benchmarks {
                latest.insert(row, (index, record));
            }
        }
        model
    }

    fn push_commit(&mut self, baseline: &Baseline, kind: Kind) {
        let machine = if let Some(found) = self.machines.iter().position(|known| *known == baseline.machine) {
            found
        } else {
            self.machines.push(baseline.machine.clone());
            self.machines.len() - 1
        };
        self.commits.push(json!({
            "id": baseline.commit,
            "short": short_id(&baseline.commit, SHORT),
            "date": utc_date(baseline.timestamp),
            "timestamp": baseline.timestamp,
            "kind": kind.name(),
            "machine": machine,
            "rustc": baseline.rustc,
            "target": baseline.target,
            "branch": baseline.branch,
            "tags": baseline.tags,
            "dirty": baseline.dirty,
            "runs": baseline.sampling.runs,
            "quick": baseline.updates.iter().any(|update| update.quick),
        }));
    }

    /// The points of `baseline` (commit `index`), with verdicts by row.
    fn add_points(&mut self, index: usize, baseline: &Baseline, verdicts: &BTreeMap<String, (Verdict, String)>) {
        for (row, record) in &baseline.benchmarks {
            let (unit, factor) = display_unit(&record.unit);
            let scaled: Vec<f64> = record.samples.iter().map(|value| value * factor).collect();
            let Some((middle, fastest, slowest, samples)) = summary(&scaled) else { continue };
            let (id, metric) = split_row(row);
            let series = self
                .benchmarks
                .entry(id.to_owned())
                .or_default()
                .entry(metric.to_owned())
                .or_insert_with(|| Series { row: row.clone(), unit: unit.to_owned(), points: Vec::new() });
            series.points.push(Point {
                commit: index,
                median: middle,
                fastest,
                slowest,
                samples,
                verdict: verdicts.get(row).cloned(),
            });
        }
    }

    /// Adds a regression run: its measured base (if any) and its head, the
    /// head's points carrying the gate's `verdicts` against `base_commit`.
    pub(crate) fn add_run(
        &mut self,
        base: Option<&Baseline>,
        head: &Baseline,
        verdicts: &[Verdict],
        base_commit: Option<&str>,
    ) {
        if let Some(base) = base {
            let index = self.commits.len();
            self.push_commit(base, Kind::RunBase);
            self.add_points(index, base, &BTreeMap::new());
        }
        let index = self.commits.len();
        self.push_commit(head, Kind::RunHead);
        let against = base_commit.map_or("", |commit| short_id(commit, SHORT));
        let verdicts: BTreeMap<String, (Verdict, String)> =
            verdicts.iter().map(|verdict| (verdict.name.clone(), (verdict.clone(), against.to_owned()))).collect();
        self.add_points(index, head, &verdicts);
    }

    /// Every series (a row of the baselines), by benchmark and metric.
    pub(crate) fn series(&self) -> impl Iterator<Item = &Series> {
        self.benchmarks.values().flat_map(BTreeMap::values)
    }

    /// The ids of the benchmarks.
    pub(crate) fn benchmark_ids(&self) -> impl Iterator<Item = &String> {
        self.benchmarks.keys()
    }

    /// The commits and machines, as the page holds them.
    pub(crate) fn commits_json(&self) -> Value {
        json!({ "commits": self.commits, "machines": self.machines.iter().map(machine_json).collect::<Vec<_>>() })
    }

    /// One benchmark as the page holds it (`None` if there is no such benchmark).
    pub(crate) fn benchmark_json(&self, id: &str) -> Option<Value> {
        let metrics = self.benchmarks.get(id)?;
        let target = id.split('/').next().unwrap_or(id);
        let package = self.crates.get(target).map_or(target, String::as_str);
        // The read limit of the wall time, a benchmark of its own.
        let limit = metrics.get("time").and_then(|series| {
            let known = |row: &str| {
                let (other, metric) = split_row(row);
                self.benchmarks.get(other).is_some_and(|found| found.contains_key(metric))
            };
            read_limit_of(&series.row, known).map(|row| split_row(&row).0.to_owned())
        });
        let series: Map<String, Value> = metrics
            .iter()
            .map(|(metric, series)| {
                let points: Vec<Value> = series
                    .points
                    .iter()
                    .map(|point| {
                        let mut value = json!({
                            "c": point.commit,
                            "median": point.median,
                            "min": point.fastest,
                            "max": point.slowest,
                            "n": point.samples,
                        });
                        if let Some((verdict, against)) = &point.verdict {
                            value["verdict"] = verdict_json(verdict, against);
                        }
                        value
                    })
                    .collect();
                (metric.clone(), json!({ "row": series.row, "unit": series.unit, "points": points }))
            })
            .collect();
        Some(json!({ "id": id, "target": target, "crate": package, "limit": limit, "series": series }))
    }

    /// The whole model.
    pub(crate) fn to_json(&self) -> Value {
        let mut root = self.commits_json();
        root["version"] = json!(1);
        root["order"] = json!(self.order);
        root["benchmarks"] = Value::Array(self.benchmark_ids().filter_map(|id| self.benchmark_json(id)).collect());
        root
    }
}

fn machine_json(machine: &Machine) -> Value {
    let gib = machine.memory_bytes as f64 / f64::from(1u32 << 30);
    json!({
        "cpu": machine.cpu,
        "cores": machine.cores,
        "memory_bytes": machine.memory_bytes,
        "label": format!("{} · {} cores · {gib:.0} GiB", machine.cpu, machine.cores),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{around, baseline};

    fn outcomes(model: &Value, id: &str, metric: &str) -> Vec<Option<String>> {
        let bench = model["benchmarks"].as_array().unwrap().iter().find(|bench| bench["id"] == id).unwrap();
        bench["series"][metric]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| point["verdict"]["outcome"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn verdicts_compare_with_the_last_baseline_that_measured_the_row() {
        let baselines = [
            (
                baseline(
                    "a".repeat(40).as_str(),
                    1,
                    &[("k/step/time", "ns", around(100.0)), ("k/flat/time", "us", around(1.0))],
                ),
                Kind::Ancestor,
            ),
            // A partial update: only `flat` measured.
            (baseline("b".repeat(40).as_str(), 2, &[("k/flat/time", "ns", around(1000.0))]), Kind::Ancestor),
            (
                baseline(
                    "c".repeat(40).as_str(),
                    3,
                    &[("k/step/time", "ns", around(200.0)), ("k/flat/time", "ns", around(1000.0))],
                ),
                Kind::Ancestor,
            ),
        ];
        let baselines: Vec<(&Baseline, Kind)> = baselines.iter().map(|(baseline, kind)| (baseline, *kind)).collect();
        let model =
            Model::new(&baselines, "git", BTreeMap::from([("k".to_owned(), "homodyne-k".to_owned())])).to_json();
        let s = |text: &str| Some(text.to_owned());
        assert_eq!(outcomes(&model, "k/step", "time"), [None, s("regression")]);
        assert_eq!(outcomes(&model, "k/flat", "time"), [None, s("unchanged"), s("unchanged")], "µs and ns compare");
        let step = model["benchmarks"].as_array().unwrap().iter().find(|bench| bench["id"] == "k/step").unwrap();
        let points = step["series"]["time"]["points"].as_array().unwrap();
        assert_eq!(points[1]["c"], 2);
        assert_eq!(points[1]["verdict"]["against"], "a".repeat(10), "against the last baseline that measured it");
        assert!((points[1]["verdict"]["ratio"].as_f64().unwrap() - 2.0).abs() < 0.01);
        assert_eq!(step["crate"], "homodyne-k");
        let flat = model["benchmarks"].as_array().unwrap().iter().find(|bench| bench["id"] == "k/flat").unwrap();
        let first = &flat["series"]["time"]["points"][0];
        // 1 µs samples shown in ns; the median of the eight offsets is +0.05%.
        assert!((first["median"].as_f64().unwrap() - 1000.5).abs() < 1e-9, "{first}");
        assert!((first["min"].as_f64().unwrap() - 997.0).abs() < 1e-9, "{first}");
        assert_eq!(flat["series"]["time"]["unit"], "ns");
        assert_eq!(model["commits"][1]["short"], "b".repeat(10));
    }

    #[test]
    fn read_limits_machines_and_runs() {
        let mut other = baseline(
            &"e".repeat(40),
            5,
            &[("k/sum/10/time", "ns", around(50.0)), ("k/sum_read_limit/10/time", "ns", around(10.0))],
        );
        other.machine.cpu = "other".to_owned();
        let baselines = [
            (
                baseline(
                    &"d".repeat(40),
                    4,
                    &[("k/sum/10/time", "ns", around(50.0)), ("k/sum/10/instructions", "Ir", vec![1e6])],
                ),
                Kind::Ancestor,
            ),
            (other, Kind::Elsewhere),
        ];
        let borrowed: Vec<(&Baseline, Kind)> = baselines.iter().map(|(baseline, kind)| (baseline, *kind)).collect();
        let mut model = Model::new(&borrowed, "git", BTreeMap::new());
        let head = baseline(&"f".repeat(40), 6, &[("k/sum/10/time", "ns", around(25.0))]);
        let verdicts = compare_baselines(Some(&baselines[1].0), &head, &crate::suite::thresholds()).verdicts;
        model.add_run(None, &head, &verdicts, Some(&baselines[1].0.commit));
        let json = model.to_json();
        let sum = json["benchmarks"].as_array().unwrap().iter().find(|bench| bench["id"] == "k/sum/10").unwrap();
        assert_eq!(sum["limit"], "k/sum_read_limit/10");
        assert_eq!(sum["crate"], "k", "no package known: the bench target");
        assert_eq!(sum["series"]["instructions"]["unit"], "Ir");
        assert_eq!(json["machines"].as_array().unwrap().len(), 2);
        assert_eq!(json["commits"][1]["machine"], 1);
        assert_eq!(json["commits"][2]["kind"], "run head");
        let last = &sum["series"]["time"]["points"][2];
        assert_eq!(last["verdict"]["outcome"], "improvement");
        assert_eq!(last["verdict"]["against"], "e".repeat(10));
        assert_eq!(sum["series"]["time"]["points"][1]["verdict"]["machine_mismatch"], true);
    }
}
