//! Git integration on a temporary repository made with the git command.

use std::path::{Path, PathBuf};
use std::process::Command;

use homodyne_perf::git::{
    find_base, git_state, history_positions, nearest_baseline, newest_baseline_tag, resolve, tag_baseline,
};

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn repository(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homodyne-perf-git-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    dir
}

fn commit(dir: &Path, file: &str, content: &str) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", file]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn head_branch_dirty_ancestors_and_tags() {
    let dir = repository("all");
    let first = commit(&dir, "a.txt", "1");
    let second = commit(&dir, "b.txt", "2");

    let state = git_state(&dir).unwrap();
    assert_eq!((state.commit.as_str(), state.branch.as_deref(), state.dirty), (second.as_str(), Some("main"), false));
    std::fs::write(dir.join("a.txt"), "changed").unwrap();
    assert!(git_state(&dir).unwrap().dirty, "a modified tracked file makes the tree dirty");
    git(&dir, &["checkout", "-q", "--", "a.txt"]);
    assert!(!git_state(&dir).unwrap().dirty);

    // The nearest ancestor with a baseline file; a baselines "directory"
    // that cannot be read is an error, not "no baseline".
    let baselines = dir.join("baselines");
    std::fs::write(&baselines, "not a directory").unwrap();
    assert!(nearest_baseline(&dir, &baselines).is_err());
    assert!(find_base(&dir, &baselines, None).is_err());
    std::fs::remove_file(&baselines).unwrap();
    std::fs::create_dir_all(&baselines).unwrap();
    assert_eq!(nearest_baseline(&dir, &baselines).unwrap(), None);
    std::fs::write(baselines.join(format!("{first}.toml")), "").unwrap();
    let (found, path) = nearest_baseline(&dir, &baselines).unwrap().unwrap();
    assert_eq!(found, first);
    assert!(path.ends_with(format!("{first}.toml")));

    // Tags, and resolving names to commits.
    let tag = tag_baseline(&dir, "v1", &first, false).unwrap();
    assert_eq!(tag, "perf-baseline/v1");
    // Tagging the same commit again is fine; moving the tag needs force.
    assert_eq!(tag_baseline(&dir, "v1", &first, false).unwrap(), tag);
    let error = tag_baseline(&dir, "v1", &second, false).unwrap_err();
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(git(&dir, &["rev-parse", "perf-baseline/v1"]), first, "the tag did not move");
    tag_baseline(&dir, "v1", &second, true).unwrap();
    assert_eq!(git(&dir, &["rev-parse", "perf-baseline/v1"]), second);
    tag_baseline(&dir, "v1", &first, true).unwrap();
    assert_eq!(git(&dir, &["rev-parse", "perf-baseline/v1"]), first);
    assert_eq!(resolve(&dir, "perf-baseline/v1").unwrap(), first);
    assert_eq!(resolve(&dir, "main").unwrap(), second);
    assert_eq!(resolve(&dir, "HEAD~1").unwrap(), first);
    assert!(resolve(&dir, "no-such-ref").is_err());

    // A named base: found through the tag, or an error naming what is missing.
    assert_eq!(find_base(&dir, &baselines, Some("perf-baseline/v1")).unwrap().unwrap().0, first);
    assert_eq!(find_base(&dir, &baselines, None).unwrap().unwrap().0, first);
    let error = find_base(&dir, &baselines, Some("main")).unwrap_err();
    assert!(error.to_string().contains("no file in"), "{error}");

    // A tagged baseline wins over a newer untagged one; without tags the
    // nearest ancestor is used.
    let third = commit(&dir, "c.txt", "3");
    std::fs::write(baselines.join(format!("{second}.toml")), "").unwrap();
    assert_eq!(find_base(&dir, &baselines, None).unwrap().unwrap().0, first, "the tag is preferred");
    let (tagged, tag_name, _) = newest_baseline_tag(&dir, &baselines).unwrap().unwrap();
    assert_eq!((tagged.as_str(), tag_name.as_str()), (first.as_str(), "perf-baseline/v1"));
    tag_baseline(&dir, "v2", &third, false).unwrap();
    assert_eq!(
        newest_baseline_tag(&dir, &baselines).unwrap().unwrap().0,
        first,
        "a tag on a commit without a baseline file is passed over"
    );
    git(&dir, &["tag", "-d", "perf-baseline/v1", "perf-baseline/v2"]);
    assert_eq!(newest_baseline_tag(&dir, &baselines).unwrap(), None);
    assert_eq!(find_base(&dir, &baselines, None).unwrap().unwrap().0, second, "the nearest ancestor with a file");

    // Detached HEAD has no branch.
    git(&dir, &["checkout", "-q", &first]);
    assert_eq!(git_state(&dir).unwrap().branch, None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn history_positions_follow_git_rev_list() {
    let dir = repository("positions");
    let first = commit(&dir, "a.txt", "1");
    let second = commit(&dir, "b.txt", "2");
    git(&dir, &["checkout", "-q", "-b", "side"]);
    let elsewhere = commit(&dir, "side.txt", "s");
    git(&dir, &["checkout", "-q", "main"]);
    let third = commit(&dir, "c.txt", "3");
    let fourth = commit(&dir, "d.txt", "4");
    let order: Vec<String> = git(&dir, &["rev-list", "HEAD"]).lines().map(str::to_owned).collect();
    let commits = [second.as_str(), fourth.as_str(), elsewhere.as_str(), first.as_str(), third.as_str(), "0000"];
    let positions = history_positions(&dir, &commits).unwrap();
    for (commit, position) in commits.iter().zip(&positions) {
        let expected = order.iter().position(|listed| listed == commit);
        assert_eq!(*position, expected, "{commit}");
    }
    assert_eq!(positions[1], Some(0), "HEAD first");
    assert_eq!(positions[2], None, "a commit on another branch is not in HEAD's history");
    assert_eq!(history_positions(&dir, &[]).unwrap(), Vec::<Option<usize>>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn outside_a_repository_is_a_typed_error() {
    let dir = std::env::temp_dir().join(format!("homodyne-perf-no-git-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The temporary directory is not inside a repository on CI or here.
    if let Err(error) = git_state(&dir) {
        assert!(error.to_string().starts_with("git: "), "{error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
