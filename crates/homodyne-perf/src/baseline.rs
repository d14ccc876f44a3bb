//! Baseline files: one TOML file per commit in `baselines/`, every raw
//! observation kept, written atomically, versioned; partial updates merge
//! into an existing file instead of replacing it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PerfError;
use crate::units::Direction;

/// The format version this build writes. It reads 1 and 2.
///
/// Version 2 records which update (run of `baseline-update` or recorder
/// save) produced each benchmark's row, and stores `cargo xtask`'s divan
/// medians as `ns`. Version 1 files written by `cargo xtask` said `unit =
/// "s"` over nanosecond values; they are read as `ns`.
pub const BASELINE_FORMAT_VERSION: u32 = 2;

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
    /// Index into [`Baseline::updates`] of the update that measured this row.
    #[serde(default)]
    pub update: usize,
}

/// One run that wrote rows into a baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    /// Process runs per benchmark.
    pub runs: usize,
    /// What ran: e.g. `cargo xtask baseline-update --filter angles`.
    pub command: String,
    /// Whether it measured only part of the suite (a filter or one bench target).
    #[serde(default)]
    pub partial: bool,
    /// Whether it was a quick run (few samples per benchmark).
    #[serde(default)]
    pub quick: bool,
}

/// What [`Baseline::merge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Rows the newer baseline added.
    pub added: Vec<String>,
    /// Rows it replaced.
    pub replaced: Vec<String>,
    /// Rows it would have replaced with fewer samples: kept as they were.
    pub kept: Vec<String>,
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
    /// How it was sampled (by the latest update).
    pub sampling: Sampling,
    /// The runs that wrote rows into this file, oldest first.
    #[serde(default)]
    pub updates: Vec<Update>,
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

    /// Writes this baseline to `dir/<commit>.toml` merged into what is
    /// stored there (as [`merge`](Self::merge), `self` the newer), under
    /// `dir`'s advisory lock: two processes saving at once both keep their
    /// rows, and a stored file with more samples is never replaced with
    /// fewer. Returns the path, the merged baseline and, if a file was
    /// there, the merge's report.
    ///
    /// # Errors
    /// [`PerfError::Io`]; a stored file that cannot be read
    /// ([`PerfError::Corrupt`], [`PerfError::UnsupportedVersion`]) is never
    /// replaced; as [`merge`](Self::merge).
    pub fn save_merged(self, dir: &Path, force: bool) -> Result<(PathBuf, Baseline, Option<MergeReport>), PerfError> {
        fs::create_dir_all(dir).map_err(|source| PerfError::Io { path: dir.to_path_buf(), source })?;
        let _lock = homodyne_io::lock_dir(dir).map_err(|source| PerfError::Io { path: dir.to_path_buf(), source })?;
        let path = Baseline::path_in(dir, &self.commit);
        let (merged, report) = if file_exists(&path)? {
            let (merged, report) = Baseline::load(&path)?.merge(self, force)?;
            (merged, Some(report))
        } else {
            (self, None)
        };
        merged.save(dir)?;
        Ok((path, merged, report))
    }

    /// Reads a baseline file (format 1 or 2).
    ///
    /// # Errors
    /// [`PerfError::Io`], [`PerfError::UnsupportedVersion`], or
    /// [`PerfError::Corrupt`] naming the file and the bad or missing field.
    pub fn load(path: &Path) -> Result<Baseline, PerfError> {
        let text = fs::read_to_string(path).map_err(|source| PerfError::Io { path: path.to_path_buf(), source })?;
        Baseline::parse(&text).map_err(|error| match error {
            PerfError::Corrupt { reason, .. } => PerfError::Corrupt { path: path.to_path_buf(), reason },
            PerfError::UnsupportedVersion { version, .. } => {
                PerfError::UnsupportedVersion { path: path.to_path_buf(), version }
            }
            other => other,
        })
    }

    /// Parses the text of a baseline file (format 1 or 2); errors name no file.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn parse(text: &str) -> Result<Baseline, PerfError> {
        let corrupt = |reason: String| PerfError::Corrupt { path: PathBuf::new(), reason };
        let probe: VersionProbe = toml::from_str(text).map_err(|error| corrupt(error.to_string()))?;
        let version = match probe.format_version {
            Some(toml::Value::Integer(version)) => version,
            Some(_) => return Err(corrupt("format_version is not an integer".to_owned())),
            None => return Err(corrupt("missing field `format_version`".to_owned())),
        };
        if !(1..=i64::from(BASELINE_FORMAT_VERSION)).contains(&version) {
            return Err(PerfError::UnsupportedVersion { path: PathBuf::new(), version });
        }
        let mut baseline: Baseline = toml::from_str(text).map_err(|error| corrupt(error.to_string()))?;
        if version == 1 {
            // Version 1 had no updates; `cargo xtask` stored divan's
            // nanosecond medians under `unit = "s"`.
            let written_by_xtask = baseline.sampling.sample.contains("divan");
            for record in baseline.benchmarks.values_mut() {
                if written_by_xtask && record.unit == "s" {
                    "ns".clone_into(&mut record.unit);
                }
                record.update = 0;
            }
            baseline.updates = vec![Update {
                timestamp: baseline.timestamp,
                runs: baseline.sampling.runs,
                command: "a format 1 baseline".to_owned(),
                partial: false,
                quick: false,
            }];
            baseline.format_version = BASELINE_FORMAT_VERSION;
        }
        if baseline.benchmarks.values().any(|record| record.update >= baseline.updates.len().max(1)) {
            return Err(corrupt("a benchmark names an update the file does not list".to_owned()));
        }
        Ok(baseline)
    }

    /// `self` (the stored file) with the rows of `newer` merged in: a row
    /// of `newer` replaces the stored one unless the stored one has more
    /// samples (then it is kept and listed, unless `force`); rows `newer`
    /// did not measure are kept. The metadata and sampling become `newer`'s,
    /// and its updates are appended.
    ///
    /// # Errors
    /// [`PerfError::Invalid`] when the two are of different commits, or were
    /// measured on different machines (their rows would not be comparable;
    /// `force` merges anyway).
    pub fn merge(mut self, newer: Baseline, force: bool) -> Result<(Baseline, MergeReport), PerfError> {
        if self.commit != newer.commit {
            return Err(PerfError::Invalid {
                what: format!("cannot merge the baseline of {} into that of {}", newer.commit, self.commit),
            });
        }
        if self.machine != newer.machine && !force {
            return Err(PerfError::Invalid {
                what: format!(
                    "the stored baseline of {} was measured on another machine ({}); pass --force to merge anyway",
                    short(&self.commit),
                    self.machine.cpu
                ),
            });
        }
        let offset = self.updates.len();
        let mut report = MergeReport::default();
        for (name, mut record) in newer.benchmarks {
            record.update += offset;
            match self.benchmarks.get(&name) {
                Some(stored) if stored.samples.len() > record.samples.len() && !force => report.kept.push(name),
                Some(_) => {
                    report.replaced.push(name.clone());
                    self.benchmarks.insert(name, record);
                }
                None => {
                    report.added.push(name.clone());
                    self.benchmarks.insert(name, record);
                }
            }
        }
        self.updates.extend(newer.updates);
        if self.updates.is_empty() {
            // Neither side listed its updates (recorder files): one for all.
            self.updates.push(Update {
                timestamp: newer.timestamp,
                runs: newer.sampling.runs,
                command: "merged".to_owned(),
                partial: false,
                quick: false,
            });
        }
        for tag in newer.tags {
            if !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
        self.branch = newer.branch.or(self.branch);
        self.dirty |= newer.dirty;
        self.timestamp = newer.timestamp;
        self.rustc = newer.rustc;
        self.target = newer.target;
        self.profile = newer.profile;
        self.machine = newer.machine;
        self.sampling = newer.sampling;
        Ok((self, report))
    }
}

/// Whether `path` is an existing file: `false` only when nothing is there;
/// any other failure to look (permissions, a file where a directory should
/// be) is an error, never "no baseline".
///
/// # Errors
/// [`PerfError::Io`] naming the path, and for a directory in the file's place.
pub fn file_exists(path: &Path) -> Result<bool, PerfError> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Ok(true),
        Ok(_) => Err(PerfError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("expected a file, found something else"),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(PerfError::Io { path: path.to_path_buf(), source }),
    }
}

/// Writes `path` atomically through `homodyne_io::write_atomically` (a
/// temporary file created exclusively under a random name in the same
/// directory, never through a planted link, synced and renamed over the
/// target, the directory synced): a crash at any point leaves either the
/// old file or the new one, never a mix, and concurrent writers each leave
/// a complete file.
///
/// # Errors
/// [`PerfError::Io`] naming the file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), PerfError> {
    homodyne_io::write_atomically(path, write).map_err(|source| PerfError::Io { path: path.to_path_buf(), source })
}

/// The first 12 characters of a commit id (whatever a file holds: never
/// slices inside a character).
pub(crate) fn short(commit: &str) -> &str {
    commit.char_indices().nth(12).map_or(commit, |(end, _)| &commit[..end])
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
