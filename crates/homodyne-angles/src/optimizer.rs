//! The hybrid filter: chooses a strategy by input size and counts what ran.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::filter::{filter_parallel, filter_scalar, filter_vectorized, parallel_chunk};
use crate::range::Intervals;
use crate::simd::{Isa, Prepared};
use crate::{AngleError, AngleFilterConfig, AngleRange, Fallback, SimdLevel, Strategy};

/// How many times each strategy has run on one optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StrategyCounts {
    /// Runs of [`Strategy::Scalar`].
    pub scalar: u64,
    /// Runs of [`Strategy::Vectorized`].
    pub vectorized: u64,
    /// Runs of [`Strategy::Parallel`].
    pub parallel: u64,
}

impl StrategyCounts {
    /// Runs of one strategy.
    pub fn get(&self, strategy: Strategy) -> u64 {
        match strategy {
            Strategy::Scalar => self.scalar,
            Strategy::Vectorized => self.vectorized,
            Strategy::Parallel => self.parallel,
        }
    }
}

/// Filters scattering angles against target ranges, choosing the algorithm by
/// input size (the design document's `AngleFilterOptimizer`).
///
/// It is `Send + Sync`: one optimizer can serve many threads, and its run
/// counters are atomic.
#[derive(Debug)]
pub struct AngleFilterOptimizer {
    config: AngleFilterConfig,
    isa: Isa,
    runs: [AtomicU64; 3],
}

impl Default for AngleFilterOptimizer {
    fn default() -> Self {
        AngleFilterOptimizer::new(AngleFilterConfig::default())
    }
}

impl AngleFilterOptimizer {
    /// An optimizer with the given settings. Every configuration is valid: the
    /// thresholds are checked in order (parallel, then vectorised, then scalar).
    pub fn new(config: AngleFilterConfig) -> AngleFilterOptimizer {
        AngleFilterOptimizer {
            isa: Isa::new(config.simd_level),
            config,
            runs: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &AngleFilterConfig {
        &self.config
    }

    /// The instruction set the vectorised kernels really use on this CPU.
    pub fn simd_level(&self) -> SimdLevel {
        self.isa.level()
    }

    /// The strategy the hybrid runs for `n_angles` angles (on the current
    /// rayon pool): what the thresholds choose, except that the parallel
    /// strategy needs two threads and two chunks of angles (8,192) and is
    /// otherwise reported, and run, as the vectorised one.
    pub fn choose_strategy(&self, n_angles: usize) -> Strategy {
        let config = &self.config;
        if !config.enable_simd {
            Strategy::Scalar
        } else if config.parallel
            && n_angles >= config.large_threshold
            && parallel_chunk(n_angles, rayon::current_num_threads()).is_some()
        {
            Strategy::Parallel
        } else if n_angles >= config.small_threshold {
            Strategy::Vectorized
        } else {
            Strategy::Scalar
        }
    }

    /// Indices of the angles (degrees) that lie in any of `ranges`, ascending
    /// and unique, with the strategy chosen by [`choose_strategy`](Self::choose_strategy).
    ///
    /// # Errors
    /// [`AngleError::NonFiniteAngle`] naming the first NaN or infinite angle.
    pub fn filter_angles_hybrid(&self, angles: &[f64], ranges: &[AngleRange]) -> Result<Vec<usize>, AngleError> {
        let mut out = Vec::new();
        self.filter_angles_hybrid_into(angles, ranges, &mut out)?;
        Ok(out)
    }

    /// [`filter_angles_hybrid`](Self::filter_angles_hybrid) into the caller's
    /// buffer, which is cleared first and keeps its capacity. Returns the
    /// strategy that ran. On error the buffer is left empty.
    pub fn filter_angles_hybrid_into(
        &self,
        angles: &[f64],
        ranges: &[AngleRange],
        out: &mut Vec<usize>,
    ) -> Result<Strategy, AngleError> {
        self.filter_angles_with_into(self.choose_strategy(angles.len()), angles, ranges, out)
    }

    /// Like [`filter_angles_hybrid`](Self::filter_angles_hybrid) with one
    /// strategy forced; every strategy returns the same indices. A forced
    /// `Parallel` runs the vectorised strategy where the pool cannot help
    /// (see [`choose_strategy`](Self::choose_strategy)), and is counted as such.
    pub fn filter_angles_with(
        &self,
        strategy: Strategy,
        angles: &[f64],
        ranges: &[AngleRange],
    ) -> Result<Vec<usize>, AngleError> {
        let mut out = Vec::new();
        self.filter_angles_with_into(strategy, angles, ranges, &mut out)?;
        Ok(out)
    }

    /// [`filter_angles_with`](Self::filter_angles_with) into the caller's
    /// buffer. Returns the strategy that ran.
    pub fn filter_angles_with_into(
        &self,
        strategy: Strategy,
        angles: &[f64],
        ranges: &[AngleRange],
        out: &mut Vec<usize>,
    ) -> Result<Strategy, AngleError> {
        let strategy = match strategy {
            Strategy::Parallel if parallel_chunk(angles.len(), rayon::current_num_threads()).is_none() => {
                Strategy::Vectorized
            }
            strategy => strategy,
        };
        self.runs[strategy as usize].fetch_add(1, Ordering::Relaxed);
        let wrap = self.config.wrap;
        match strategy {
            Strategy::Scalar => filter_scalar(angles, ranges, wrap, out)?,
            Strategy::Vectorized => {
                let prepared = Prepared::new(&Intervals::prepare(ranges, wrap));
                filter_vectorized(angles, &prepared, self.isa, out)?;
            }
            Strategy::Parallel => {
                let prepared = Prepared::new(&Intervals::prepare(ranges, wrap));
                filter_parallel(angles, &prepared, self.isa, out)?;
            }
        }
        Ok(strategy)
    }

    /// The v1 analysis pipeline's selection: the filtered indices, or, when no
    /// angle matches, every index ([`Fallback::AllAngles`]) or an error
    /// ([`Fallback::Error`]). An empty input with the fallback gives no indices, as in v1.
    ///
    /// # Errors
    /// [`AngleError::NonFiniteAngle`], or [`AngleError::NoAnglesInRanges`] with
    /// [`Fallback::Error`].
    pub fn select_optimization_angles(
        &self,
        angles: &[f64],
        ranges: &[AngleRange],
        fallback: Fallback,
    ) -> Result<Vec<usize>, AngleError> {
        let indices = self.filter_angles_hybrid(angles, ranges)?;
        if !indices.is_empty() {
            return Ok(indices);
        }
        match fallback {
            Fallback::AllAngles => Ok((0..angles.len()).collect()),
            Fallback::Error => Err(AngleError::NoAnglesInRanges {
                n_angles: angles.len(),
                ranges: ranges.iter().map(|range| (range.min_deg(), range.max_deg())).collect(),
            }),
        }
    }

    /// How often each strategy has run on this optimizer, forced or chosen.
    pub fn strategy_counts(&self) -> StrategyCounts {
        StrategyCounts {
            scalar: self.runs[Strategy::Scalar as usize].load(Ordering::Relaxed),
            vectorized: self.runs[Strategy::Vectorized as usize].load(Ordering::Relaxed),
            parallel: self.runs[Strategy::Parallel as usize].load(Ordering::Relaxed),
        }
    }
}
