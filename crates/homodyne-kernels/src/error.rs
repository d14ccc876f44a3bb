//! The one error type of this crate.

use std::fmt;

/// Everything that can go wrong in a kernel. Every variant names the offending
/// input, index or value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum KernelError {
    /// Two inputs that must have the same length or shape do not.
    LengthMismatch {
        /// What was compared, e.g. `"x and y"`.
        what: &'static str,
        /// Length or shape of the first input.
        left: Vec<usize>,
        /// Length or shape of the second input.
        right: Vec<usize>,
    },
    /// Too few data points for the statistic.
    TooFewPoints {
        /// Which input.
        what: &'static str,
        /// The minimum.
        needed: usize,
        /// What was given.
        got: usize,
    },
    /// A NaN or infinite value in an input.
    NonFinite {
        /// Which input, e.g. `"x"`, `"c2_exp"`.
        what: &'static str,
        /// Position of the first such value (flat index, or row-major indices).
        index: Vec<usize>,
        /// The value.
        value: f64,
    },
    /// An input with zero variance, where the statistic divides by it.
    ZeroVariance {
        /// Which input, e.g. `"x"`, `"row 3 of a"`.
        what: String,
    },
    /// An expected value that is zero or negative, where it divides.
    NonPositiveExpected {
        /// Position of the first such value (flat index, or row, column).
        index: Vec<usize>,
        /// The value.
        value: f64,
    },
    /// A model parameter vector of the wrong length.
    ParameterCount {
        /// How many the mode needs.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// A model parameter or constant that is NaN, infinite or out of its domain.
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// An array too large to allocate (its size overflows, or the allocation failed).
    TooLarge {
        /// What was to be allocated.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// An angle index that does not exist.
    AngleIndexOutOfRange {
        /// The index.
        index: usize,
        /// The number of angles.
        n_angles: usize,
    },
}

fn write_index(f: &mut fmt::Formatter<'_>, index: &[usize]) -> fmt::Result {
    match index {
        [single] => write!(f, "{single}"),
        many => write!(f, "{many:?}"),
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::LengthMismatch { what, left, right } => {
                write!(f, "{what} must have the same shape, got {left:?} and {right:?}")
            }
            KernelError::TooFewPoints { what, needed, got } => {
                write!(f, "{what} needs at least {needed} points, got {got}")
            }
            KernelError::NonFinite { what, index, value } => {
                write!(f, "{what} at index ")?;
                write_index(f, index)?;
                write!(f, " is not finite ({value})")
            }
            KernelError::ZeroVariance { what } => write!(f, "{what} has zero variance"),
            KernelError::NonPositiveExpected { index, value } => {
                write!(f, "expected value at index ")?;
                write_index(f, index)?;
                write!(f, " must be positive, got {value}")
            }
            KernelError::ParameterCount { expected, got } => {
                write!(f, "the model takes {expected} parameters, got {got}")
            }
            KernelError::InvalidParameter { name, value, requirement } => {
                write!(f, "parameter {name} = {value} is invalid: it must be {requirement}")
            }
            KernelError::TooLarge { what, shape } => {
                write!(f, "{what} of shape {shape:?} is too large to allocate")
            }
            KernelError::AngleIndexOutOfRange { index, n_angles } => {
                write!(f, "angle index {index} is out of range for {n_angles} angles")
            }
        }
    }
}

impl std::error::Error for KernelError {}

/// The one shape check of the crate: `Ok` when `left == right`, else
/// [`KernelError::LengthMismatch`] with both (lengths are shapes of one axis).
pub(crate) fn same_shape(what: &'static str, left: &[usize], right: &[usize]) -> Result<(), KernelError> {
    if left == right {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch { what, left: left.to_vec(), right: right.to_vec() })
    }
}
