//! `cargo xtask dashboard`: the history of every stored baseline as one
//! self-contained HTML page (no network: the data, the script and the
//! styles are inline, and the page's Content-Security-Policy forbids any
//! request), per crate and benchmark the trend of wall time and
//! instruction counts across commits in git order, with the verdict of
//! each step. The same page, served by `cargo xtask regression --serve`,
//! follows a run live (see `crate::live`).
//!
//! The data model is in `dashboard/model.rs`; the page (HTML, CSS and the
//! script that draws the charts as SVG) in `dashboard/page.*`, embedded at
//! build time.

pub(crate) mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use homodyne_perf::{Baseline, Verdict};
use serde_json::{Value, json};

use crate::flags::Args;
use crate::format::write_text;
use crate::history::{in_git_order, load_all};
use crate::options::Layout;
use model::{Kind, Model};

const PAGE: &str = include_str!("dashboard/page.html");
const STYLE: &str = include_str!("dashboard/page.css");
const SCRIPT: &str = include_str!("dashboard/page.js");

/// What the last `regression` run stored for the dashboard
/// (`<out-dir>/run.json`): both sides and the gate's verdicts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// The base when it was measured in the run (`--base`, `--self-check`).
    pub(crate) base: Option<Baseline>,
    pub(crate) head: Baseline,
    /// The commit compared with (measured or stored), if any.
    pub(crate) base_commit: Option<String>,
    /// The verdicts as the gate decided them (empty without a base).
    pub(crate) verdicts: Vec<Verdict>,
}

impl Run {
    fn path(out_dir: &Path) -> PathBuf {
        out_dir.join("run.json")
    }

    /// Writes `<out_dir>/run.json` atomically.
    pub(crate) fn save(&self, out_dir: &Path) -> Result<()> {
        let json = json!({
            "base": self.base,
            "head": self.head,
            "base_commit": self.base_commit,
            "verdicts": self.verdicts,
        });
        std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
        write_text(&Run::path(out_dir), &serde_json::to_string(&json)?)
    }

    /// Reads `<out_dir>/run.json`.
    pub(crate) fn load(out_dir: &Path) -> Result<Run> {
        let path = Run::path(out_dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (run `cargo xtask regression` first)", path.display()))?;
        let mut json: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut take = |key: &str| json.get_mut(key).map_or(Value::Null, Value::take);
        let (base, head, base_commit, verdicts) = (take("base"), take("head"), take("base_commit"), take("verdicts"));
        let parsed = (|| -> serde_json::Result<Run> {
            Ok(Run {
                base: serde_json::from_value(base)?,
                head: serde_json::from_value(head)?,
                base_commit: serde_json::from_value(base_commit)?,
                verdicts: serde_json::from_value(verdicts)?,
            })
        })();
        parsed.with_context(|| format!("reading {}: not a run record of this version", path.display()))
    }
}

/// Bench target → the package that owns it, from `cargo metadata` (empty
/// when `root` is not a Cargo workspace: the page then names the target).
pub(crate) fn crates_of_targets(root: &Path) -> BTreeMap<String, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .output();
    let Ok(output) = output else { return BTreeMap::new() };
    let Ok(metadata) = serde_json::from_slice::<Value>(&output.stdout) else { return BTreeMap::new() };
    let mut crates = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(package_name) = package["name"].as_str() else { continue };
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bench = target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"));
            if let (true, Some(name)) = (is_bench, target["name"].as_str()) {
                crates.insert(name.to_owned(), package_name.to_owned());
            }
        }
    }
    crates
}

/// The model of the stored baselines (the last `last`, in git order).
pub(crate) fn history_model(layout: &Layout, last: Option<usize>) -> Result<Model> {
    let (mut ordered, order) = in_git_order(&layout.root, load_all(&layout.baselines_dir)?);
    if let Some(last) = last {
        let skip = ordered.len().saturating_sub(last);
        ordered.drain(..skip);
    }
    let baselines: Vec<(Baseline, Kind)> = ordered
        .into_iter()
        .map(|(baseline, ancestor)| (baseline, if ancestor { Kind::Ancestor } else { Kind::Elsewhere }))
        .collect();
    let borrowed: Vec<(&Baseline, Kind)> = baselines.iter().map(|(baseline, kind)| (baseline, *kind)).collect();
    Ok(Model::new(&borrowed, &order, crates_of_targets(&layout.root)))
}

/// The page showing `model`; `live` is the path of the event stream when
/// served by a run.
pub(crate) fn page(model: &Value, title: &str, live: Option<&str>) -> String {
    // Inside <script>, `</` would end the element: JSON escapes every `<`.
    let embed = |value: &Value| value.to_string().replace('<', "\\u003c");
    let config = json!({ "live": live, "title": title });
    let connect = if live.is_some() { "'self'" } else { "'none'" };
    PAGE.replace("{{CONNECT}}", connect)
        .replace("{{TITLE}}", &title.replace('&', "&amp;").replace('<', "&lt;"))
        .replace("{{STYLE}}", STYLE)
        .replace("{{CONFIG}}", &embed(&config))
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{MODEL}}", &embed(model))
}

/// `cargo xtask dashboard`.
pub(crate) fn dashboard(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let out = args.value("--out")?.map_or_else(|| layout.out_dir.join("dashboard"), PathBuf::from);
    let with_run = args.flag("--run");
    let last = args
        .value("--last")?
        .map(|text| {
            text.parse::<usize>()
                .ok()
                .filter(|last| *last > 0)
                .with_context(|| format!("--last takes a positive number of baselines, not {text:?}"))
        })
        .transpose()?;
    args.finish()?;

    let mut model = history_model(&layout, last)?;
    if with_run {
        let run = Run::load(&layout.out_dir)?;
        model.add_run(run.base.as_ref(), &run.head, &run.verdicts, run.base_commit.as_deref());
    }
    let json = model.to_json();
    let commits = json["commits"].as_array().map_or(0, Vec::len);
    let benchmarks = json["benchmarks"].as_array().map_or(0, Vec::len);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("index.html");
    write_text(&path, &page(&json, "homodyne-rs performance", None))?;
    println!("dashboard of {benchmarks} benchmark(s) over {commits} commit(s) written to {}", path.display());
    if commits == 0 {
        println!("No baselines in {}: record one with `cargo xtask baseline-update`.", layout.baselines_dir.display());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_embeds_the_model_safely_and_allows_no_request() {
        let model = json!({ "benchmarks": [{ "id": "</script><script>alert(1)</script>" }] });
        let html = page(&model, "a <title>", None);
        assert_eq!(html.matches("</script>").count(), html.matches("<script").count(), "no early end of a script");
        assert!(html.contains("connect-src 'none'"), "the static page connects nowhere");
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("a &lt;title>"));
        let live = page(&model, "t", Some("/events"));
        assert!(live.contains("connect-src 'self'"));
        for placeholder in ["{{STYLE}}", "{{SCRIPT}}", "{{MODEL}}", "{{CONFIG}}", "{{CONNECT}}", "{{TITLE}}"] {
            assert!(!html.contains(placeholder), "{placeholder}");
        }
    }
}
