//! The one error type of this crate.

use std::fmt;

use homodyne_kernels::KernelError;

/// Everything that can stop a fit. Every variant names the offending
/// parameter, option or value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FitError {
    /// The objective refused an input (non-finite data or parameters, shapes).
    Kernel(KernelError),
    /// A per-parameter input of the wrong length.
    LengthMismatch {
        /// Which input, e.g. `"bounds"`.
        what: &'static str,
        /// The number of parameters.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A parameter's bounds admit no value: `lower > upper`, or a NaN bound.
    EmptyBounds {
        /// The parameter's name.
        name: &'static str,
        /// The lower bound.
        lower: f64,
        /// The upper bound.
        upper: f64,
    },
    /// The starting point of a parameter lies outside its bounds.
    StartOutsideBounds {
        /// The parameter's name.
        name: &'static str,
        /// Its starting value.
        value: f64,
        /// The lower bound.
        lower: f64,
        /// The upper bound.
        upper: f64,
    },
    /// Multistart draws starting points inside the bounds: every free
    /// parameter needs finite bounds.
    UnboundedMultistart {
        /// The first free parameter with an infinite bound.
        name: &'static str,
    },
    /// An option outside its domain.
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// The data do not determine these parameters at the optimum: the
    /// Jacobian is singular (a parameter has no effect, or a combination of
    /// them has none). Fix some of them, or start elsewhere.
    NotIdentifiable {
        /// The parameters involved, most involved first (physical
        /// parameters by name, per-angle scaling as `contrast[a]`/`offset[a]`).
        parameters: Vec<String>,
        /// Where the fit stopped.
        params: Vec<f64>,
    },
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::Kernel(error) => write!(f, "{error}"),
            FitError::LengthMismatch { what, expected, got } => {
                write!(f, "{what} must have one entry per parameter ({expected}), got {got}")
            }
            FitError::EmptyBounds { name, lower, upper } => {
                write!(f, "the bounds of {name} admit no value: [{lower}, {upper}]")
            }
            FitError::StartOutsideBounds { name, value, lower, upper } => {
                write!(f, "the starting value of {name} = {value} is outside its bounds [{lower}, {upper}]")
            }
            FitError::UnboundedMultistart { name } => {
                write!(f, "multistart needs finite bounds for every free parameter; {name} has an infinite bound")
            }
            FitError::InvalidOption { name, value, requirement } => {
                write!(f, "option {name} = {value} is invalid: it must be {requirement}")
            }
            FitError::NotIdentifiable { parameters, params } => write!(
                f,
                "the data do not determine {} at {params:?} (singular Jacobian): fix some of them or start elsewhere",
                parameters.join(", ")
            ),
        }
    }
}

impl std::error::Error for FitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FitError::Kernel(error) => Some(error),
            _ => None,
        }
    }
}

impl From<KernelError> for FitError {
    fn from(error: KernelError) -> FitError {
        FitError::Kernel(error)
    }
}
