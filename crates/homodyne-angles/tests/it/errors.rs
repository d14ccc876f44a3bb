//! Every error path: the variant, and a message that names the bad value.

use homodyne_angles::{AngleError, AngleFilterOptimizer, AngleRange, Fallback, Strategy};

fn check(error: &AngleError, expected_variant: fn(&AngleError) -> bool, expected_message: &str) {
    assert!(expected_variant(error), "unexpected variant {error:?}");
    assert_eq!(error.to_string(), expected_message);
    let _: &dyn std::error::Error = error;
}

#[test]
fn non_finite_bounds_are_rejected() {
    check(
        &AngleRange::new(f64::NAN, 10.0).unwrap_err(),
        |error| matches!(error, AngleError::NonFiniteBound { .. }),
        "angle range bounds must be finite, got min = NaN deg, max = 10 deg",
    );
    check(
        &AngleRange::new(-10.0, f64::INFINITY).unwrap_err(),
        |error| matches!(error, AngleError::NonFiniteBound { .. }),
        "angle range bounds must be finite, got min = -10 deg, max = inf deg",
    );
}

#[test]
fn inverted_ranges_are_rejected() {
    check(
        &AngleRange::new(10.0, -10.0).unwrap_err(),
        |error| matches!(error, AngleError::InvertedRange { min_deg, max_deg } if *min_deg == 10.0 && *max_deg == -10.0),
        "inverted angle range: min = 10 deg is above max = -10 deg",
    );
    // A point range is valid.
    assert_eq!(AngleRange::new(5.0, 5.0).unwrap().min_deg(), 5.0);
}

#[test]
fn non_finite_angles_are_named_by_index() {
    let optimizer = AngleFilterOptimizer::default();
    for strategy in Strategy::ALL {
        check(
            &optimizer
                .filter_angles_with(strategy, &[1.0, 2.0, f64::NEG_INFINITY], &AngleRange::DEFAULT_RANGES)
                .unwrap_err(),
            |error| matches!(error, AngleError::NonFiniteAngle { index: 2, .. }),
            "angle at index 2 is not finite (-inf)",
        );
    }
    let mut out = vec![7];
    let error = optimizer.filter_angles_hybrid_into(&[f64::NAN], &AngleRange::DEFAULT_RANGES, &mut out).unwrap_err();
    assert!(matches!(error, AngleError::NonFiniteAngle { index: 0, .. }));
    assert!(out.is_empty(), "the buffer is left empty on error");
}

#[test]
fn no_match_without_fallback_names_the_ranges() {
    let optimizer = AngleFilterOptimizer::default();
    let angles = [45.0, 135.0];
    check(
        &optimizer.select_optimization_angles(&angles, &AngleRange::DEFAULT_RANGES, Fallback::Error).unwrap_err(),
        |error| matches!(error, AngleError::NoAnglesInRanges { n_angles: 2, .. }),
        "no angles found in target ranges [(-10, 10), (170, 190)] among 2 angles and the fallback is disabled",
    );
    assert_eq!(
        optimizer.select_optimization_angles(&angles, &AngleRange::DEFAULT_RANGES, Fallback::AllAngles).unwrap(),
        vec![0, 1]
    );
    // v1: an empty input with the fallback gives no indices, without it an error.
    assert_eq!(
        optimizer.select_optimization_angles(&[], &AngleRange::DEFAULT_RANGES, Fallback::default()).unwrap(),
        Vec::<usize>::new()
    );
    assert!(optimizer.select_optimization_angles(&[], &[], Fallback::Error).is_err());
}
