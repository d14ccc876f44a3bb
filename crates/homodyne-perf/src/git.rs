//! Git integration through `gix`: where HEAD is, whether the tree is dirty,
//! which baseline to compare with, and tags for baselines.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::PerfError;
use crate::baseline::{Baseline, file_exists};

/// The prefix of the lightweight tags that mark baselines.
pub const BASELINE_TAG_PREFIX: &str = "perf-baseline/";

/// HEAD of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitState {
    /// Full commit id of HEAD.
    pub commit: String,
    /// The branch HEAD is on, if any.
    pub branch: Option<String>,
    /// Whether tracked files differ from HEAD (index or working tree).
    pub dirty: bool,
}

fn git_error(action: &str) -> impl FnOnce(String) -> PerfError + '_ {
    move |reason| PerfError::Git { action: action.to_owned(), reason }
}

fn open(repo_dir: &Path) -> Result<gix::Repository, PerfError> {
    gix::discover(repo_dir).map_err(|error| git_error("open repository")(format!("{}: {error}", repo_dir.display())))
}

/// HEAD's commit, branch and dirty state.
///
/// # Errors
/// [`PerfError::Git`] naming what failed (no repository, no commit yet).
pub fn git_state(repo_dir: &Path) -> Result<GitState, PerfError> {
    let repo = open(repo_dir)?;
    let commit = repo.head_id().map_err(|error| git_error("read HEAD")(error.to_string()))?.to_string();
    let branch = repo
        .head_name()
        .map_err(|error| git_error("read HEAD")(error.to_string()))?
        .map(|name| name.shorten().to_string());
    let dirty = repo.is_dirty().map_err(|error| git_error("check the working tree")(error.to_string()))?;
    Ok(GitState { commit, branch, dirty })
}

/// The commit a reference, tag or revision names.
///
/// # Errors
/// [`PerfError::Git`] if it does not resolve.
pub fn resolve(repo_dir: &Path, revision: &str) -> Result<String, PerfError> {
    let repo = open(repo_dir)?;
    let id = repo
        .rev_parse_single(revision)
        .map_err(|error| git_error("resolve a revision")(format!("{revision}: {error}")))?;
    let commit = id
        .object()
        .map_err(|error| error.to_string())
        .and_then(|object| object.peel_to_commit().map_err(|error| error.to_string()));
    commit
        .map(|commit| commit.id.to_string())
        .map_err(|error| git_error("resolve a revision")(format!("{revision}: {error}")))
}

/// The nearest commit, from HEAD back through its ancestors (HEAD first), that
/// has a baseline file in `baselines_dir`.
///
/// # Errors
/// [`PerfError::Git`] if the history cannot be walked.
pub fn nearest_baseline(repo_dir: &Path, baselines_dir: &Path) -> Result<Option<(String, PathBuf)>, PerfError> {
    let repo = open(repo_dir)?;
    first_ancestor_with_baseline(&repo, baselines_dir, |_| true)
}

/// The first commit from HEAD back through its ancestors (HEAD first) that
/// `wanted` accepts and that has a baseline file in `baselines_dir`: the
/// one history walk of both ways of finding a base.
fn first_ancestor_with_baseline(
    repo: &gix::Repository,
    baselines_dir: &Path,
    wanted: impl Fn(&str) -> bool,
) -> Result<Option<(String, PathBuf)>, PerfError> {
    let mut found = None;
    walk_from_head(repo, |_, commit| {
        if !wanted(&commit) {
            return Ok(ControlFlow::Continue(()));
        }
        let path = Baseline::path_in(baselines_dir, &commit);
        if file_exists(&path)? {
            found = Some((commit, path));
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(found)
}

/// The one history walk: each commit from HEAD back through its ancestors
/// (HEAD first, as `git rev-list HEAD` lists them) with its position,
/// until `visit` breaks.
fn walk_from_head(
    repo: &gix::Repository,
    mut visit: impl FnMut(usize, String) -> Result<ControlFlow<()>, PerfError>,
) -> Result<(), PerfError> {
    let head = repo.head_id().map_err(|error| git_error("read HEAD")(error.to_string()))?;
    let walk =
        repo.rev_walk([head.detach()]).all().map_err(|error| git_error("walk the history")(error.to_string()))?;
    for (position, info) in walk.enumerate() {
        let info = info.map_err(|error| git_error("walk the history")(error.to_string()))?;
        if visit(position, info.id.to_string())?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Where each of `commits` sits in HEAD's history: its position in the
/// walk from HEAD (0 is HEAD, larger is older), or `None` for a commit that
/// is not HEAD or one of its ancestors (another branch, another
/// repository). The walk stops once every commit is placed.
///
/// # Errors
/// [`PerfError::Git`] if the repository or its history cannot be read.
pub fn history_positions(repo_dir: &Path, commits: &[&str]) -> Result<Vec<Option<usize>>, PerfError> {
    let repo = open(repo_dir)?;
    let mut positions = vec![None; commits.len()];
    let mut left = commits.len();
    if left > 0 {
        walk_from_head(&repo, |position, id| {
            for (slot, commit) in positions.iter_mut().zip(commits) {
                if slot.is_none() && *commit == id {
                    *slot = Some(position);
                    left -= 1;
                }
            }
            Ok(if left == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
    }
    Ok(positions)
}

/// Creates the lightweight tag `perf-baseline/<name>` at `commit`. An
/// existing tag at the same commit is left as it is; one at another commit
/// is moved only with `force`.
///
/// # Errors
/// [`PerfError::Git`] for an invalid name or commit, or a tag that exists
/// elsewhere without `force` (naming where it points).
pub fn tag_baseline(repo_dir: &Path, name: &str, commit: &str, force: bool) -> Result<String, PerfError> {
    let repo = open(repo_dir)?;
    let id = gix::ObjectId::from_hex(commit.as_bytes())
        .map_err(|error| git_error("parse a commit id")(format!("{commit}: {error}")))?;
    let tag = format!("{BASELINE_TAG_PREFIX}{name}");
    let existing = repo
        .try_find_reference(format!("refs/tags/{tag}").as_str())
        .map_err(|error| git_error("read a tag")(format!("{tag}: {error}")))?;
    if let Some(mut existing) = existing {
        let points_at =
            existing.peel_to_id().map_err(|error| git_error("peel a tag")(format!("{tag}: {error}")))?.detach();
        if points_at == id {
            return Ok(tag);
        }
        if !force {
            return Err(git_error("create a tag")(format!(
                "{tag} already points at {points_at}; pass --force to move it to {commit}"
            )));
        }
    }
    repo.tag_reference(tag.as_str(), id, gix::refs::transaction::PreviousValue::Any)
        .map_err(|error| git_error("create a tag")(format!("{tag}: {error}")))?;
    Ok(tag)
}

/// The newest commit reachable from HEAD (HEAD included, newest first in
/// the history walk) that a `perf-baseline/*` tag points at and that has a
/// baseline file in `baselines_dir`, with the tag's name.
///
/// # Errors
/// [`PerfError::Git`] if the references or the history cannot be read.
pub fn newest_baseline_tag(
    repo_dir: &Path,
    baselines_dir: &Path,
) -> Result<Option<(String, String, PathBuf)>, PerfError> {
    let repo = open(repo_dir)?;
    let mut tagged: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let references = repo.references().map_err(|error| git_error("list the tags")(error.to_string()))?;
    let prefix = format!("refs/tags/{BASELINE_TAG_PREFIX}");
    let tags = references.prefixed(prefix.as_str()).map_err(|error| git_error("list the tags")(error.to_string()))?;
    for reference in tags {
        let mut reference = reference.map_err(|error| git_error("list the tags")(error.to_string()))?;
        let name = reference.name().shorten().to_string();
        let id = reference.peel_to_id().map_err(|error| git_error("peel a tag")(format!("{name}: {error}")))?;
        tagged.insert(id.to_string(), name);
    }
    if tagged.is_empty() {
        return Ok(None);
    }
    let found = first_ancestor_with_baseline(&repo, baselines_dir, |commit| tagged.contains_key(commit))?;
    Ok(found.map(|(commit, path)| {
        let tag = tagged[&commit].clone();
        (commit, tag, path)
    }))
}

/// The baseline to compare HEAD with: the baseline file of `named` (a
/// branch, tag or revision) if given, else the newest `perf-baseline/*` tag
/// reachable from HEAD that has a file, else the nearest ancestor of HEAD
/// (HEAD included) that has one; `None` when there is none.
///
/// # Errors
/// [`PerfError::Git`] if `named` does not resolve, or resolves to a commit
/// without a baseline file (named explicitly, its absence is an error).
pub fn find_base(
    repo_dir: &Path,
    baselines_dir: &Path,
    named: Option<&str>,
) -> Result<Option<(String, PathBuf)>, PerfError> {
    let Some(named) = named else {
        if let Some((commit, _tag, path)) = newest_baseline_tag(repo_dir, baselines_dir)? {
            return Ok(Some((commit, path)));
        }
        return nearest_baseline(repo_dir, baselines_dir);
    };
    let commit = resolve(repo_dir, named)?;
    let path = Baseline::path_in(baselines_dir, &commit);
    if file_exists(&path)? {
        Ok(Some((commit, path)))
    } else {
        Err(PerfError::Git {
            action: "find the baseline".to_owned(),
            reason: format!("{named} is commit {commit}, which has no file in {}", baselines_dir.display()),
        })
    }
}
