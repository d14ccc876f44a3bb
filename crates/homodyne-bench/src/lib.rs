//! The measuring tools of homodyne-rs, kept out of the published crates so
//! that a user of the facade compiles none of them:
//!
//! - `examples/peers.rs`: the Rust side of `cargo xtask compare` (writes the
//!   shared inputs as `.npy`, times one workload at one size per process);
//! - `benches/instructions.rs`: the instruction-count suite that
//!   `cargo xtask regression --instructions` runs under Callgrind;
//! - the README's Rust examples, compiled and run as this crate's doctests.
//!
//! Beside `bench/peers/`, the Python side of the comparison.
//!
//! # Crate features
//!
//! None. Not published.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
