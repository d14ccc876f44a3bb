//! Validated angle ranges, the two angle conventions, and the merged interval
//! form that the fast strategies search.

use std::fmt;

use crate::AngleError;

/// An inclusive range of scattering angles `[min_deg, max_deg]`, in degrees.
///
/// Both bounds are finite and `min_deg <= max_deg`; [`AngleRange::new`] checks
/// this once so that no filter ever has to. (v1 silently matched nothing with an
/// inverted range or a NaN bound; here that is an error at construction.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AngleRange {
    min_deg: f64,
    max_deg: f64,
}

impl AngleRange {
    /// The two ranges that v1 filters by default: `[-10, 10]` and `[170, 190]`.
    pub const DEFAULT_RANGES: [AngleRange; 2] =
        [AngleRange { min_deg: -10.0, max_deg: 10.0 }, AngleRange { min_deg: 170.0, max_deg: 190.0 }];

    /// The anisotropic template's ranges: the defaults plus `[80, 100]` and `[260, 280]`.
    pub const ANISOTROPIC_RANGES: [AngleRange; 4] = [
        AngleRange { min_deg: -10.0, max_deg: 10.0 },
        AngleRange { min_deg: 80.0, max_deg: 100.0 },
        AngleRange { min_deg: 170.0, max_deg: 190.0 },
        AngleRange { min_deg: 260.0, max_deg: 280.0 },
    ];

    /// Builds the inclusive range `[min_deg, max_deg]`.
    ///
    /// # Errors
    /// [`AngleError::NonFiniteBound`] if a bound is NaN or infinite,
    /// [`AngleError::InvertedRange`] if `min_deg > max_deg`.
    pub fn new(min_deg: f64, max_deg: f64) -> Result<AngleRange, AngleError> {
        if !min_deg.is_finite() || !max_deg.is_finite() {
            return Err(AngleError::NonFiniteBound { min_deg, max_deg });
        }
        if min_deg > max_deg {
            return Err(AngleError::InvertedRange { min_deg, max_deg });
        }
        Ok(AngleRange { min_deg, max_deg })
    }

    /// The lower bound, in degrees.
    pub fn min_deg(&self) -> f64 {
        self.min_deg
    }

    /// The upper bound, in degrees.
    pub fn max_deg(&self) -> f64 {
        self.max_deg
    }

    /// Whether `angle_deg` lies in this range under the given convention.
    ///
    /// This is the per-angle reference that the scalar strategy uses; NaN is never contained.
    pub fn contains(&self, angle_deg: f64, wrap: WrapMode) -> bool {
        match wrap {
            WrapMode::Off => angle_deg >= self.min_deg && angle_deg <= self.max_deg,
            WrapMode::Periodic => {
                if self.max_deg - self.min_deg >= 360.0 {
                    return !angle_deg.is_nan();
                }
                let angle = normalize_deg(angle_deg);
                let lo = normalize_deg(self.min_deg);
                let hi = normalize_deg(self.max_deg);
                if lo <= hi { angle >= lo && angle <= hi } else { angle >= lo || angle <= hi }
            }
        }
    }
}

impl fmt::Display for AngleRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.min_deg, self.max_deg)
    }
}

/// How angles and ranges are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WrapMode {
    /// v1 semantics: plain comparison on the real line, no folding
    /// (350 does not match `[-10, 10]`).
    #[default]
    Off,
    /// v2 semantics: angles and bounds are folded into `(-180, 180]` by
    /// [`normalize_deg`]; a folded range whose lower bound lies above its upper
    /// bound wraps across ±180. A range spanning 360 degrees or more matches
    /// every angle (v2 folded `[-180, 180]` to `[180, 180]`, a bug fixed here).
    Periodic,
}

/// Folds an angle in degrees into `(-180, 180]` exactly as v2 does:
/// Python's `a % 360` (sign of the divisor), then minus 360 above 180.
///
/// The operations are the same as v2's, including its rounding, so results
/// agree bit for bit (for example `-1e-20` folds to `0.0`).
pub fn normalize_deg(angle_deg: f64) -> f64 {
    // Python's float modulo: fmod (exact), then shifted into the divisor's sign.
    let mut folded = angle_deg % 360.0;
    if folded != 0.0 && folded < 0.0 {
        folded += 360.0;
    }
    if folded > 180.0 { folded - 360.0 } else { folded }
}

/// An inclusive interval on the (possibly folded) angle axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}

/// The ranges rewritten as sorted, disjoint, inclusive intervals, in the axis
/// the angles are compared on (raw degrees, or folded degrees in periodic mode).
///
/// Merging is exact: two inclusive intervals are merged only when they overlap
/// or touch, so the union matches exactly the same floats.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Intervals {
    pub(crate) intervals: Vec<Interval>,
    pub(crate) wrap: WrapMode,
}

impl Intervals {
    pub(crate) fn prepare(ranges: &[AngleRange], wrap: WrapMode) -> Intervals {
        let mut intervals = Vec::with_capacity(ranges.len() + 1);
        for range in ranges {
            match wrap {
                WrapMode::Off => intervals.push(Interval { lo: range.min_deg, hi: range.max_deg }),
                WrapMode::Periodic => {
                    if range.max_deg - range.min_deg >= 360.0 {
                        intervals.push(Interval { lo: f64::NEG_INFINITY, hi: f64::INFINITY });
                        continue;
                    }
                    let lo = normalize_deg(range.min_deg);
                    let hi = normalize_deg(range.max_deg);
                    if lo <= hi {
                        intervals.push(Interval { lo, hi });
                    } else {
                        // Folded angles never exceed 180 nor go below -180, so the
                        // two halves of a wrapping range can extend to infinity.
                        intervals.push(Interval { lo, hi: f64::INFINITY });
                        intervals.push(Interval { lo: f64::NEG_INFINITY, hi });
                    }
                }
            }
        }
        intervals.sort_by(|left, right| left.lo.total_cmp(&right.lo));
        let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
        for interval in intervals {
            match merged.last_mut() {
                Some(last) if interval.lo <= last.hi => last.hi = last.hi.max(interval.hi),
                _ => merged.push(interval),
            }
        }
        Intervals { intervals: merged, wrap }
    }

    /// The sorted lower bounds and upper bounds, for the boundary search.
    pub(crate) fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        self.intervals.iter().map(|interval| (interval.lo, interval.hi)).unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_normalize(angle: f64, expected: f64) {
        let got = normalize_deg(angle);
        assert!(got.to_bits() == expected.to_bits(), "normalize_deg({angle}) = {got}, expected {expected}");
    }

    #[test]
    fn normalize_matches_python_modulo() {
        // Expected values are Python's `a % 360` followed by `- 360 if > 180`.
        check_normalize(0.0, 0.0);
        check_normalize(-0.0, -0.0);
        check_normalize(180.0, 180.0);
        check_normalize(-180.0, 180.0);
        check_normalize(190.0, -170.0);
        check_normalize(350.0, -10.0);
        check_normalize(-170.0, -170.0);
        check_normalize(540.0, 180.0);
        check_normalize(720.5, 0.5);
        check_normalize(-1e-20, 0.0);
        check_normalize(-190.0, 170.0);
    }

    #[test]
    fn merge_joins_overlapping_and_nested_ranges() {
        let ranges = [
            AngleRange::new(5.0, 20.0).unwrap(),
            AngleRange::new(-10.0, 10.0).unwrap(),
            AngleRange::new(0.0, 0.0).unwrap(),
            AngleRange::new(20.0, 30.0).unwrap(),
            AngleRange::new(40.0, 50.0).unwrap(),
        ];
        let prepared = Intervals::prepare(&ranges, WrapMode::Off);
        assert_eq!(prepared.intervals, vec![Interval { lo: -10.0, hi: 30.0 }, Interval { lo: 40.0, hi: 50.0 }]);
    }

    #[test]
    fn periodic_wrapping_range_splits_in_two() {
        let prepared = Intervals::prepare(&[AngleRange::new(170.0, 190.0).unwrap()], WrapMode::Periodic);
        assert_eq!(
            prepared.intervals,
            vec![Interval { lo: f64::NEG_INFINITY, hi: -170.0 }, Interval { lo: 170.0, hi: f64::INFINITY }]
        );
    }
}
