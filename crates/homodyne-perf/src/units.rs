//! Units of stored samples: which can be converted into which, and which
//! scale with the machine's speed; the direction in which a metric is better.

use serde::{Deserialize, Serialize};

/// Nanoseconds per unit of time, for the units benchmarks are stored in.
fn nanoseconds_per(unit: &str) -> Option<f64> {
    match unit {
        "s" => Some(1e9),
        "ms" => Some(1e6),
        "µs" | "μs" | "us" => Some(1e3),
        "ns" => Some(1.0),
        _ => None,
    }
}

/// The factor that converts a value in `from` into `to`, when both are
/// units of time (`s`, `ms`, `µs`/`us`, `ns`); `Some(1.0)` for equal units,
/// `None` otherwise.
///
/// ```
/// assert_eq!(homodyne_perf::time_factor("ms", "ns"), Some(1e6));
/// assert_eq!(homodyne_perf::time_factor("B", "ns"), None);
/// ```
pub fn time_factor(from: &str, to: &str) -> Option<f64> {
    if from == to {
        return Some(1.0);
    }
    Some(nanoseconds_per(from)? / nanoseconds_per(to)?)
}

/// The unit of instruction counts (Callgrind's `Ir` event).
pub const INSTRUCTIONS: &str = "Ir";

/// Whether samples in `unit` are exact counts (Callgrind events: the same
/// binary and input give the same number on every run and machine), judged
/// by a threshold alone instead of statistics.
pub fn is_exact_count(unit: &str) -> bool {
    matches!(unit, INSTRUCTIONS | "Dr" | "Dw" | "D1m" | "DLm" | "I1mr" | "D1mr" | "D1mw" | "ILmr" | "DLmr" | "DLmw")
}

/// Whether a metric in `unit` changes with the machine's speed (times and
/// rates do; instruction counts and bytes do not).
pub(crate) fn is_speed_dependent(unit: &str) -> bool {
    nanoseconds_per(unit).is_some() || unit.ends_with("/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_convert_and_other_units_do_not() {
        assert_eq!(time_factor("s", "ns"), Some(1e9));
        assert_eq!(time_factor("ns", "µs"), Some(1e-3));
        assert_eq!(time_factor("us", "µs"), Some(1.0));
        assert_eq!(time_factor("B", "B"), Some(1.0));
        assert_eq!(time_factor("B", "ns"), None);
        assert!(is_speed_dependent("ns") && is_speed_dependent("1/s") && is_speed_dependent("GB/s"));
        assert!(!is_speed_dependent("instructions") && !is_speed_dependent("B"));
        assert!(is_exact_count(INSTRUCTIONS) && is_exact_count("D1mr") && !is_exact_count("ns"));
        assert!(!is_speed_dependent(INSTRUCTIONS));
    }
}

/// Whether larger values of a metric are worse (time, memory) or better (throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Time, memory: a larger value is a regression.
    #[default]
    LowerIsBetter,
    /// Throughput: a smaller value is a regression.
    HigherIsBetter,
}
