//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong with baselines and git. Every variant names
/// the file, reference or value at fault.
#[derive(Debug)]
#[non_exhaustive]
pub enum PerfError {
    /// Reading or writing a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A baseline file that does not parse, or lacks a field.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (the parser's message names the field and line).
        reason: String,
    },
    /// A baseline file written by a newer or unknown format version.
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        version: i64,
    },
    /// A git operation failed.
    Git {
        /// What was attempted.
        action: String,
        /// The underlying message.
        reason: String,
    },
    /// A value out of its domain (a sample that is not positive, a bad name).
    Invalid {
        /// What was wrong.
        what: String,
    },
}

impl fmt::Display for PerfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PerfError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            PerfError::Corrupt { path, reason } => write!(f, "baseline file {} is corrupt: {reason}", path.display()),
            PerfError::UnsupportedVersion { path, version } => {
                write!(f, "baseline file {} has unsupported format version {version}", path.display())
            }
            PerfError::Git { action, reason } => write!(f, "git: {action}: {reason}"),
            PerfError::Invalid { what } => write!(f, "invalid input: {what}"),
        }
    }
}

impl std::error::Error for PerfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PerfError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
