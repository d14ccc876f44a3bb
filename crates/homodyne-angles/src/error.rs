//! The one error type of this crate.

use std::fmt;

/// Everything that can go wrong when building ranges or filtering angles.
///
/// Every variant carries the offending values so that the message names them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AngleError {
    /// A range bound is NaN or infinite.
    NonFiniteBound {
        /// The requested lower bound, in degrees.
        min_deg: f64,
        /// The requested upper bound, in degrees.
        max_deg: f64,
    },
    /// A range whose lower bound is above its upper bound.
    InvertedRange {
        /// The requested lower bound, in degrees.
        min_deg: f64,
        /// The requested upper bound, in degrees.
        max_deg: f64,
    },
    /// An input angle is NaN or infinite.
    NonFiniteAngle {
        /// Position of the first non-finite angle in the input slice.
        index: usize,
        /// The angle itself.
        value: f64,
    },
    /// No angle lies in any range and the caller asked for an error instead of a fallback.
    NoAnglesInRanges {
        /// How many angles were searched.
        n_angles: usize,
        /// The ranges that matched nothing, as `(min_deg, max_deg)` (the
        /// error is the crate's bottom module: it names no other type).
        ranges: Vec<(f64, f64)>,
    },
}

impl fmt::Display for AngleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AngleError::NonFiniteBound { min_deg, max_deg } => {
                write!(f, "angle range bounds must be finite, got min = {min_deg} deg, max = {max_deg} deg")
            }
            AngleError::InvertedRange { min_deg, max_deg } => {
                write!(f, "inverted angle range: min = {min_deg} deg is above max = {max_deg} deg")
            }
            AngleError::NonFiniteAngle { index, value } => {
                write!(f, "angle at index {index} is not finite ({value})")
            }
            AngleError::NoAnglesInRanges { n_angles, ranges } => {
                write!(f, "no angles found in target ranges [")?;
                for (range_idx, (min_deg, max_deg)) in ranges.iter().enumerate() {
                    if range_idx > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "({min_deg}, {max_deg})")?;
                }
                write!(f, "] among {n_angles} angles and the fallback is disabled")
            }
        }
    }
}

impl std::error::Error for AngleError {}
