//! Configuration: the size thresholds, the instruction-set ceiling, the angle
//! convention, and the names of the strategies.

use crate::{SimdLevel, WrapMode};

/// How angles are filtered. Every strategy returns exactly the same indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// The plain loop over angles and ranges: the reference, and the fastest
    /// choice only for tiny inputs.
    Scalar,
    /// Branch-free masks over blocks of 64 angles, compiled for the best
    /// instruction set the CPU offers, compacted to indices.
    Vectorized,
    /// The vectorised kernel on independent chunks on the rayon pool, written
    /// straight into the output in order.
    Parallel,
}

impl Strategy {
    /// All strategies, in order of increasing set-up cost.
    pub const ALL: [Strategy; 3] = [Strategy::Scalar, Strategy::Vectorized, Strategy::Parallel];

    /// A short lower-case name, used in benchmark and calibration output.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Scalar => "scalar",
            Strategy::Vectorized => "vectorized",
            Strategy::Parallel => "parallel",
        }
    }
}

/// Settings of an [`AngleFilterOptimizer`](crate::AngleFilterOptimizer).
///
/// The defaults: `small_threshold = 128`, `large_threshold = 1_000_000`,
/// `enable_simd = true`, `parallel = true`, the v1 convention
/// ([`WrapMode::Off`]) and the best instruction set of the CPU. The
/// thresholds are where the strategies crossed over on a 2-core AMD EPYC
/// (AVX-512), called from a thread outside the rayon pool as Python and
/// most callers do: the vectorised strategy beat the scalar loop from 128
/// angles (160 against 230 ns; 64 angles: 150 against 120 ns), the parallel
/// one beat the vectorised one at 1M angles (135 against 186 µs, `cargo run
/// --release -p homodyne-angles --example angles`) but not at 500K. The
/// design document's 5,000 and 50,000 were numba's.
/// [`calibrate`](crate::calibrate) measures the thresholds for the machine at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AngleFilterConfig {
    /// Below this many angles the hybrid runs the scalar loop.
    pub small_threshold: usize,
    /// From this many angles on the hybrid runs the parallel strategy (if `parallel`).
    pub large_threshold: usize,
    /// `false` forces the scalar reference path in the hybrid (the design
    /// document's `enable_numba`).
    pub enable_simd: bool,
    /// `false` keeps the hybrid on the calling thread.
    pub parallel: bool,
    /// How angles are compared with ranges (v1 linear or v2 periodic).
    pub wrap: WrapMode,
    /// The widest instruction set the vectorised kernels may use.
    pub simd_level: SimdLevel,
}

impl Default for AngleFilterConfig {
    fn default() -> Self {
        AngleFilterConfig {
            small_threshold: 128,
            large_threshold: 1_000_000,
            enable_simd: true,
            parallel: true,
            wrap: WrapMode::Off,
            simd_level: SimdLevel::Auto,
        }
    }
}

/// What [`select_optimization_angles`](crate::AngleFilterOptimizer::select_optimization_angles)
/// does when no angle lies in any range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// Use every angle (v1's `fallback_to_all_angles = True`).
    #[default]
    AllAngles,
    /// Return [`AngleError::NoAnglesInRanges`](crate::AngleError::NoAnglesInRanges).
    Error,
}
