//! Atomic file writes and advisory directory locks: the one place where the
//! homodyne-rs crates that keep user data on disk (`homodyne-cache`'s
//! persisted caches, `homodyne-perf`'s baselines) create temporary files and
//! replace files.
//!
//! Use [`write_atomically`] to replace a file so that a crash at any moment
//! leaves either the old file or the new one, never a mix, and so that a
//! symbolic link planted next to it is never followed: the temporary file is
//! created exclusively (`O_CREAT | O_EXCL`) under a random name in the
//! target's directory, synced, and renamed over the target. Use [`lock_dir`]
//! around a read-modify-write of a file that other processes may update too
//! (two `save_baselines` merging into one file).
//!
//! # Example
//!
//! ```
//! use std::io::Write;
//!
//! # fn main() -> std::io::Result<()> {
//! let dir = std::env::temp_dir().join(format!("homodyne-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("data.toml");
//! {
//!     let _lock = homodyne_io::lock_dir(&dir)?; // other processes wait here
//!     homodyne_io::write_atomically(&path, |file| file.write_all(b"rows = 1\n"))?;
//! }
//! assert_eq!(std::fs::read_to_string(&path)?, "rows = 1\n");
//! # std::fs::remove_dir_all(&dir)
//! # }
//! ```
//!
//! # Crate features
//!
//! None. No dependencies: `std::fs::File::lock` (Rust 1.89) for the lock,
//! `std::hash::RandomState` for the temporary names.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many names a write tries before giving up (each collision is either
/// a concurrent writer or a planted file; 64 random names all taken means
/// someone is filling the directory on purpose).
const NAME_ATTEMPTS: usize = 64;

/// The name of the lock file [`lock_dir`] creates in a directory.
pub const LOCK_FILE_NAME: &str = ".homodyne.lock";

/// Replaces `path` with what `write` writes, atomically: `write` fills a
/// new temporary file in the same directory (created exclusively, under a
/// random name, never through a symbolic link), which is synced, renamed
/// over `path`, and the directory synced. On any error the temporary file
/// is removed and `path` is untouched.
///
/// # Errors
/// The first IO error (creating, writing, syncing or renaming).
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    write_atomically_with_names(path, random_names(path), write)
}

/// [`write_atomically`] with the temporary names to try, in order (tests
/// plant files and links at the names they know).
#[doc(hidden)]
pub fn write_atomically_with_names(
    path: &Path,
    names: impl IntoIterator<Item = PathBuf>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let (temporary, mut file) = create_exclusive(names)?;
    let result = (|| {
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, path)?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// The first of `names` that can be created exclusively. `create_new`
/// fails on anything already there, a symbolic link (dangling or not)
/// included, so a planted link is never written through.
fn create_exclusive(names: impl IntoIterator<Item = PathBuf>) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::new(ErrorKind::AlreadyExists, "no temporary name was free");
    for name in names.into_iter().take(NAME_ATTEMPTS) {
        match OpenOptions::new().write(true).create_new(true).open(&name) {
            Ok(file) => return Ok((name, file)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => last = error,
            Err(error) => return Err(error),
        }
    }
    Err(last)
}

/// Temporary names beside `path`: `.<file name>.<16 random hex digits>.tmp`.
fn random_names(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    // Keys random per process and per call: the names cannot be predicted
    // from outside (a planted file could only make a write fail, never
    // redirect it, but unpredictable names keep that from happening too).
    let state = RandomState::new();
    let file_name = path.file_name().map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    (0u64..).map(move |attempt| {
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let random = state.hash_one((std::process::id(), call, attempt));
        path.with_file_name(format!(".{file_name}.{random:016x}.tmp"))
    })
}

/// Syncs the directory of `path`, which makes a rename into it durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// An exclusive advisory lock on a directory, released when dropped.
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first says so.
        let _ = self.file.unlock();
    }
}

/// Waits for, then takes, the exclusive advisory lock of `dir` (a lock on
/// `dir/.homodyne.lock`, created if needed). Cooperating processes that
/// take it around a read-modify-write of a file in `dir` never lose each
/// other's changes; it does not stop a process that does not take it.
///
/// # Errors
/// Creating or locking the lock file failed.
pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    let path = dir.join(LOCK_FILE_NAME);
    // Not `create_new`: the lock file outlives its holders and is shared.
    // It is never written, so following a link there cannot damage data.
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
    file.lock()?;
    Ok(DirLock { file })
}
