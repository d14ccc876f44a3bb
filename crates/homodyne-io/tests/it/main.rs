//! Atomic writes against planted links and failures; the lock against
//! concurrent read-modify-write.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use homodyne_io::{lock_dir, write_atomically, write_atomically_with_names};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homodyne-io-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_write_replaces_the_file_and_leaves_no_temporary() {
    let dir = scratch("replace");
    let path = dir.join("baseline.toml");
    fs::write(&path, "old").unwrap();
    write_atomically(&path, |file| file.write_all(b"new")).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "only the file itself is left");
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary() {
    let dir = scratch("fail");
    let path = dir.join("cache.hcache");
    fs::write(&path, "old").unwrap();
    let error = write_atomically(&path, |file| {
        file.write_all(b"half")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(error.to_string(), "disk full");
    assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn a_planted_link_is_never_followed() {
    let dir = scratch("links");
    let victim = dir.join("victim");
    fs::write(&victim, "precious").unwrap();
    let path = dir.join("cache.hcache");
    let planted = dir.join(".cache.hcache.planted.tmp");
    let dangling = dir.join(".cache.hcache.dangling.tmp");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
    let free = dir.join(".cache.hcache.free.tmp");
    write_atomically_with_names(&path, [planted.clone(), dangling.clone(), free], |file| file.write_all(b"data"))
        .unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious", "the link's target was not written");
    assert!(!dir.join("nowhere").exists(), "the dangling link created nothing");
    assert_eq!(fs::read_to_string(&path).unwrap(), "data");
    // Every name taken: an error, and nothing written anywhere.
    let error = write_atomically_with_names(&path, [planted, dangling], |file| file.write_all(b"other")).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read_to_string(&path).unwrap(), "data");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    // A link at the target itself is replaced by the file, not written through.
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    write_atomically(&path, |file| file.write_all(b"fresh")).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
}

/// Eight threads each add one to a counter file through read-modify-write
/// under the lock, 25 times: no increment is lost (`File::lock` serialises
/// threads as well as processes, since each holder opens its own file
/// description). Processes: `homodyne-perf`'s and the Python package's tests.
#[test]
fn the_lock_serialises_read_modify_write() {
    let dir = Arc::new(scratch("lock"));
    let path = Arc::new(dir.join("counter"));
    fs::write(&*path, "0").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (dir, path) = (Arc::clone(&dir), Arc::clone(&path));
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let _lock = lock_dir(&dir).unwrap();
                    let value: u64 = fs::read_to_string(&*path).unwrap().parse().unwrap();
                    std::thread::yield_now();
                    write_atomically(&path, |file| write!(file, "{}", value + 1)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(fs::read_to_string(&*path).unwrap(), "200");
}
