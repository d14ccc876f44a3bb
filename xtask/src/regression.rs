//! `cargo xtask regression` and `cargo xtask baseline-update`: run the
//! bench suite as separate processes, store the samples as a baseline keyed
//! to the commit (merging into what is stored), compare with a base through
//! `homodyne-perf`, and run undecided benchmarks again until they are decided.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use homodyne_perf::git;
use homodyne_perf::{Baseline, file_exists};

use crate::dashboard;
use crate::flags::Args;
use crate::format::short_id;
use crate::gate::{EXIT_OK, Lens, gate};
use crate::instructions;
use crate::live::{self, Live};
use crate::options::{Layout, RunOptions, base_worktree, is_ci, make_baseline, results_markdown, stored_base};
use crate::suite::{self, Samples, Unobserved};

/// `cargo xtask regression`.
pub(crate) fn regression(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let quick = args.flag("--quick");
    let self_check = args.flag("--self-check");
    let base_ref = args.value("--base")?;
    let budget = match args.value("--budget")? {
        Some(text) => Duration::from_secs(text.parse::<u64>().with_context(|| {
            format!("--budget takes whole seconds for the runs of undecided benchmarks, not {text:?}")
        })?),
        None => Duration::from_secs(if is_ci() { 600 } else { 300 }),
    };
    let serve = args.optional_value("--serve");
    let options = RunOptions::from_args(&mut args, quick)?;
    args.finish()?;

    // Any git failure is an error: "no baseline" must mean there is none.
    let head_state = git::git_state(&layout.root)?;
    if options.instructions {
        instructions::require_valgrind()?;
    }
    // The base measured in this run (`--base`, or the build itself for a self-check).
    let base_commit = base_ref.as_deref().map(|base_ref| git::resolve(&layout.root, base_ref)).transpose()?;
    let measured = base_commit.or_else(|| self_check.then(|| head_state.commit.clone()));
    let stored = if measured.is_none() { stored_base(&layout)? } else { None };
    // Each side's baseline before any sample: made once (it asks rustc and the machine).
    let head_template = make_baseline(&head_state.commit, Some(&head_state), &options, "regression", &Samples::new());
    let base_template =
        measured.as_deref().map(|commit| make_baseline(commit, None, &options, "regression", &Samples::new()));
    let live = match serve {
        Some(address) => {
            let address = live::address(Some(&address))?;
            let history = dashboard::history_model(&layout, None)?;
            let compared = measured.clone().or_else(|| stored.as_ref().map(|stored| stored.commit.clone()));
            Some(Live::start(address, history, head_template.clone(), base_template.clone(), compared)?)
        }
        None => None,
    };
    eprintln!("building the benches…");
    let bins = layout.out_dir.join("bins");
    let head_binaries = suite::build(&layout.root, None, options.bench.as_deref(), &bins.join("head"))?;
    let head_suite =
        options.instructions.then(|| instructions::build(&layout.root, None, &bins.join("head"))).transpose()?;

    // The base side: measured now (interleaved) or read from a stored baseline.
    let mut base_suite = None;
    let (base_binaries, head_binaries) = match (&base_ref, &measured) {
        (Some(base_ref), Some(commit)) => {
            let worktree = base_worktree(&layout, commit)?;
            eprintln!("building the benches of the base {base_ref} ({})…", short_id(commit, 12));
            // The shared target directory reuses every dependency already built.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|dir| !dir.is_empty())
                .map_or_else(|| layout.root.join("target"), PathBuf::from);
            let built = suite::build(&worktree, Some(&target), options.bench.as_deref(), &bins.join("base"))?;
            if options.instructions {
                base_suite = Some(instructions::build(&worktree, Some(&target), &bins.join("base"))?);
            }
            // A self-check with a base runs the base's build against itself.
            let head = if self_check { built.clone() } else { head_binaries };
            (Some(built), head)
        }
        (_, Some(_)) => {
            base_suite.clone_from(&head_suite);
            (Some(head_binaries.clone()), head_binaries)
        }
        (_, None) => (None, head_binaries),
    };
    // The instruction lens: exact counts, one Callgrind run per benchmark and side.
    let lens = match &head_suite {
        Some(head_suite) => {
            let filter = options.filter.as_deref();
            let callgrind = layout.out_dir.join("callgrind");
            // A self-check with a base counts the base's build on both sides,
            // as its wall-time half does; any self-check is the determinism check.
            let head_suite = if self_check { base_suite.as_ref().unwrap_or(head_suite) } else { head_suite };
            let head = instructions::run(head_suite, filter, &callgrind.join("head"))?;
            let base =
                base_suite.as_ref().map(|base| instructions::run(base, filter, &callgrind.join("base"))).transpose()?;
            Some(Lens { head, base })
        }
        None => None,
    };
    gate(
        &layout,
        &options,
        budget,
        &head_binaries,
        base_binaries.as_deref(),
        head_template,
        base_template,
        stored,
        self_check,
        lens,
        live,
    )
}

/// `cargo xtask baseline-update`.
pub(crate) fn baseline_update(mut args: Args) -> Result<u8> {
    let layout = Layout::from_args(&mut args)?;
    let name = args.value("--name")?;
    let allow_dirty = args.flag("--allow-dirty");
    let no_tag = args.flag("--no-tag");
    let force = args.flag("--force");
    let quick = args.flag("--quick");
    let options = RunOptions::from_args(&mut args, quick)?;
    args.finish()?;

    let state = git::git_state(&layout.root)?;
    if state.dirty && !allow_dirty {
        bail!(
            "the working tree has uncommitted changes, so a baseline would not describe commit {}: \
             commit or stash them, or pass --allow-dirty",
            short_id(&state.commit, 12)
        );
    }
    let tag_name = name.unwrap_or_else(|| short_id(&state.commit, 12).to_owned());
    if !no_tag && !force {
        // Refuse before measuring: a tag of that name elsewhere moves only with --force.
        let tag = format!("{}{tag_name}", git::BASELINE_TAG_PREFIX);
        if let Ok(points_at) = git::resolve(&layout.root, &tag)
            && points_at != state.commit
        {
            bail!("{tag} already points at {}; pass --force to move it", short_id(&points_at, 12));
        }
    }
    let path = Baseline::path_in(&layout.baselines_dir, &state.commit);
    // Read what is stored first: a file that cannot be read is never replaced.
    let existing = if file_exists(&path)? {
        Some(Baseline::load(&path).with_context(|| {
            format!("{} is stored but cannot be read; move it away to record a new baseline", path.display())
        })?)
    } else {
        None
    };
    if options.instructions {
        instructions::require_valgrind()?;
    }
    eprintln!("building the benches…");
    let binaries =
        suite::build(&layout.root, None, options.bench.as_deref(), &layout.out_dir.join("bins").join("head"))?;
    let counts = if options.instructions {
        let suite_binary = instructions::build(&layout.root, None, &layout.out_dir.join("bins").join("head"))?;
        instructions::run(&suite_binary, options.filter.as_deref(), &layout.out_dir.join("callgrind").join("head"))?
    } else {
        Vec::new()
    };
    let mut samples = vec![Samples::new()];
    suite::run_plan(
        &suite::whole(&[&binaries], &options.selection()),
        options.runs,
        None,
        &mut samples,
        &mut Unobserved,
    )?;
    if samples[0].is_empty() {
        bail!("no benchmark ran (does --filter match anything?)");
    }
    let mut baseline = make_baseline(&state.commit, Some(&state), &options, "baseline-update", &samples[0]);
    baseline.benchmarks.extend(instructions::records(&counts));
    if !no_tag {
        baseline.tags.push(format!("{}{tag_name}", git::BASELINE_TAG_PREFIX));
    }
    println!("{}", results_markdown(&baseline));
    // What was read above may have changed meanwhile (another process
    // saving the same commit): merged again under the directory's lock.
    drop(existing);
    let (path, merged, report) = baseline.save_merged(&layout.baselines_dir, force)?;
    if let Some(report) = report {
        println!(
            "merged into the stored baseline of {}: {} row(s) replaced, {} added, {} kept from before{}",
            short_id(&state.commit, 12),
            report.replaced.len(),
            report.added.len(),
            merged.benchmarks.len() - report.replaced.len() - report.added.len(),
            if report.kept.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} stored row(s) have more samples than this run and were kept (--force replaces them): {}",
                    report.kept.len(),
                    report.kept.join(", ")
                )
            }
        );
    }
    println!("baseline written to {}", path.display());
    if !no_tag {
        let tag = git::tag_baseline(&layout.root, &tag_name, &state.commit, force)?;
        println!("tagged {} as {tag} (share it with `git push origin {tag}`)", short_id(&state.commit, 12));
    }
    Ok(EXIT_OK)
}
