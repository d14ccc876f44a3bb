//! The test vectors computed with the real `homodyne-analysis` 1.0.1 package.

use homodyne_angles::{AngleError, AngleFilterOptimizer, AngleRange, Fallback, WrapMode};
use serde_json::Value;

use crate::check;

fn number(value: &Value) -> f64 {
    match value {
        Value::String(text) => match text.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("unexpected number string {other}"),
        },
        other => other.as_f64().expect("a number"),
    }
}

fn indices(value: &Value) -> Option<Vec<usize>> {
    value.as_array().map(|list| list.iter().map(|index| index.as_u64().unwrap() as usize).collect())
}

fn cases() -> Vec<Value> {
    let text = include_str!("../data/angles.json");
    let document: Value = serde_json::from_str(text).unwrap();
    document["cases"].as_array().unwrap().clone()
}

/// v1 silently matched nothing with a NaN bound or an inverted range; here
/// such a range is an error at construction, and the rest of the ranges give
/// v1's answer.
fn ranges_of(case: &Value) -> Vec<AngleRange> {
    let mut ranges = Vec::new();
    for range in case["ranges_config"].as_array().unwrap() {
        let (Some(min), Some(max)) = (range.get("min_angle"), range.get("max_angle")) else {
            // v1 drops a range that lacks a key, with a warning.
            continue;
        };
        let (min, max) = (number(min), number(max));
        match AngleRange::new(min, max) {
            Ok(range) => ranges.push(range),
            Err(AngleError::NonFiniteBound { .. }) => assert!(!min.is_finite() || !max.is_finite()),
            Err(AngleError::InvertedRange { min_deg, max_deg }) => assert!(min_deg > max_deg),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    ranges
}

#[test]
fn v1_unit_test_selects_the_listed_angles() {
    let angles = [-25.5, -8.0, -5.0, 0.0, 5.0, 8.0, 15.0, 45.0, 90.0, 150.0, 175.0, 180.0, 185.0];
    let selected: Vec<f64> = AngleFilterOptimizer::default()
        .filter_angles_hybrid(&angles, &AngleRange::DEFAULT_RANGES)
        .unwrap()
        .into_iter()
        .map(|angle_idx| angles[angle_idx])
        .collect();
    assert_eq!(selected, vec![-8.0, -5.0, 0.0, 5.0, 8.0, 175.0, 180.0, 185.0]);
}

#[test]
fn every_vector_case_matches_v1() {
    let cases = cases();
    assert!(cases.len() >= 18, "expected the full vector file");
    let optimizer = AngleFilterOptimizer::default();
    let mut n_checked = 0;
    for case in &cases {
        let label = case["label"].as_str().unwrap();
        if case["angles_type"] == "list" {
            // v1 raised a TypeError for a Python list (it indexed the list with
            // an array); that is a quirk of Python, not of the filter.
            continue;
        }
        let angles: Vec<f64> = case["angles"].as_array().unwrap().iter().map(number).collect();
        let ranges = ranges_of(case);
        let expected = indices(&case["mask_indices"]).unwrap();

        let first_non_finite = angles.iter().position(|angle| !angle.is_finite());
        if let Some(bad_idx) = first_non_finite {
            // v1 silently dropped NaN and infinite angles; here they are an
            // error naming the index. With them replaced by an angle far from
            // every range, the result is v1's.
            let error = optimizer.filter_angles_hybrid(&angles, &ranges).unwrap_err();
            let AngleError::NonFiniteAngle { index, value } = error else { panic!("{label}: {error}") };
            assert_eq!((index, value.to_bits()), (bad_idx, angles[bad_idx].to_bits()), "{label}");
            let cleaned: Vec<f64> = angles.iter().map(|&angle| if angle.is_finite() { angle } else { 1e300 }).collect();
            check(&cleaned, &ranges, WrapMode::Off, &expected);
            n_checked += 1;
            continue;
        }
        check(&angles, &ranges, WrapMode::Off, &expected);

        let with_fallback = optimizer.select_optimization_angles(&angles, &ranges, Fallback::AllAngles).unwrap();
        assert_eq!(Some(with_fallback), indices(&case["returned_fallback_true"]), "{label}");
        let without_fallback = optimizer.select_optimization_angles(&angles, &ranges, Fallback::Error);
        if let Some(expected) = indices(&case["returned_fallback_false"]) {
            assert_eq!(without_fallback.unwrap(), expected, "{label}");
        } else {
            assert_eq!(case["returned_fallback_false"]["error"], "ValueError", "{label}");
            let error = without_fallback.unwrap_err();
            assert!(matches!(error, AngleError::NoAnglesInRanges { .. }), "{label}: {error}");
        }
        n_checked += 1;
    }
    assert_eq!(n_checked, cases.len() - 1);
}
