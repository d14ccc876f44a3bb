//! Integration tests of `homodyne-kernels`: the v1 test vectors, property
//! tests against naive references, adversarial accuracy, errors, allocations.

mod derivatives;
mod errors;
mod objective;
mod stats;
mod vectors;

use ndarray::{Array2, Array3};
use serde_json::Value;

/// Whether `got` is within `rel` of `expected`, relative to `max(|expected|, scale)`.
pub(crate) fn close(got: f64, expected: f64, rel: f64, scale: f64) -> bool {
    (got - expected).abs() <= rel * expected.abs().max(scale) || (got.is_nan() && expected.is_nan())
}

pub(crate) fn check_close(what: &str, got: f64, expected: f64, rel: f64) {
    assert!(close(got, expected, rel, 0.0), "{what}: got {got:e}, expected {expected:e} (relative tolerance {rel:e})");
}

pub(crate) fn number(value: &Value) -> f64 {
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

pub(crate) fn numbers(value: &Value) -> Vec<f64> {
    value.as_array().expect("a list").iter().map(number).collect()
}

pub(crate) fn matrix(value: &Value) -> Array2<f64> {
    let shape: Vec<usize> = value["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    Array2::from_shape_vec((shape[0], shape[1]), numbers(&value["data"])).unwrap()
}

pub(crate) fn cube(value: &Value) -> Array3<f64> {
    let shape: Vec<usize> = value["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    Array3::from_shape_vec((shape[0], shape[1], shape[2]), numbers(&value["data"])).unwrap()
}

pub(crate) use homodyne_testkit::uniform;
