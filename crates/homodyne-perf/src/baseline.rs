//! Baseline files: one TOML file per commit in `baselines/`, every raw
//! observation kept, written atomically, versioned.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Direction, PerfError};

/// The format version this build writes and reads.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// The machine a baseline was measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
}

impl Machine {
    /// This machine, through `sysinfo`.
    pub fn current() -> Machine {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        system.refresh_cpu_all();
        let cpu = system.cpus().first().map_or_else(|| "unknown".to_owned(), |cpu| cpu.brand().trim().to_owned());
        Machine { cpu, cores: system.cpus().len(), memory_bytes: system.total_memory() }
    }
}

/// How the samples were taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampling {
    /// Process runs per benchmark (one sample each).
    pub runs: usize,
    /// What one sample is, e.g. "median of a divan run".
    pub sample: String,
}

/// Every observation of one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRecord {
    /// Unit of the samples, e.g. "ns".
    pub unit: String,
    /// Which way is better.
    pub direction: Direction,
    /// One value per process run.
    pub samples: Vec<f64>,
}

/// A baseline: the benchmarks of one commit and where they ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_FORMAT_VERSION`].
    pub format_version: u32,
    /// Full commit id.
    pub commit: String,
    /// Branch name, if HEAD was on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tags pointing at the commit.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the working tree had uncommitted changes.
    pub dirty: bool,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    /// `rustc --version`.
    pub rustc: String,
    /// Target triple.
    pub target: String,
    /// Cargo profile of the benches.
    pub profile: String,
    /// Where it ran.
    pub machine: Machine,
    /// How it was sampled.
    pub sampling: Sampling,
    /// Observations by benchmark name.
    pub benchmarks: BTreeMap<String, BenchmarkRecord>,
}

/// Only the version, read first so that a newer format is reported as such
/// rather than as a parse error.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<toml::Value>,
}

impl Baseline {
    /// The file of `commit` in `dir`.
    pub fn path_in(dir: &Path, commit: &str) -> PathBuf {
        dir.join(format!("{commit}.toml"))
    }

    /// Writes this baseline to `dir/<commit>.toml`, atomically.
    ///
    /// # Errors
    /// [`PerfError::Io`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, PerfError> {
        fs::create_dir_all(dir).map_err(|source| PerfError::Io { path: dir.to_path_buf(), source })?;
        let path = Baseline::path_in(dir, &self.commit);
        let text = toml::to_string_pretty(self).map_err(|error| PerfError::Invalid { what: error.to_string() })?;
        write_atomically(&path, |file| file.write_all(text.as_bytes()))?;
        Ok(path)
    }

    /// Reads a baseline file.
    ///
    /// # Errors
    /// [`PerfError::Io`], [`PerfError::UnsupportedVersion`], or
    /// [`PerfError::Corrupt`] naming the file and the bad or missing field.
    pub fn load(path: &Path) -> Result<Baseline, PerfError> {
        let text = fs::read_to_string(path).map_err(|source| PerfError::Io { path: path.to_path_buf(), source })?;
        let corrupt = |reason: String| PerfError::Corrupt { path: path.to_path_buf(), reason };
        let probe: VersionProbe = toml::from_str(&text).map_err(|error| corrupt(error.to_string()))?;
        match probe.format_version {
            Some(toml::Value::Integer(version)) if version == i64::from(BASELINE_FORMAT_VERSION) => {}
            Some(toml::Value::Integer(version)) => {
                return Err(PerfError::UnsupportedVersion { path: path.to_path_buf(), version });
            }
            Some(_) => return Err(corrupt("format_version is not an integer".to_owned())),
            None => return Err(corrupt("missing field `format_version`".to_owned())),
        }
        toml::from_str(&text).map_err(|error| corrupt(error.to_string()))
    }
}

/// Writes `path` through a temporary file in the same directory, synced and
/// renamed over the target: a crash at any point leaves either the old file
/// or the new one, never a mix.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), PerfError> {
    let io = |source| PerfError::Io { path: path.to_path_buf(), source };
    let file_name = path.file_name().map_or_else(|| "baseline".into(), |name| name.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        write(&mut file)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_mid_write_leaves_the_old_file() {
        let dir = std::env::temp_dir().join(format!("homodyne-perf-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file.toml");
        write_atomically(&path, |file| file.write_all(b"old = 1\n")).unwrap();
        let failed = write_atomically(&path, |file| {
            file.write_all(b"new = ")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(matches!(failed, Err(PerfError::Io { .. })));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old = 1\n");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
        fs::remove_dir_all(&dir).unwrap();
    }
}
