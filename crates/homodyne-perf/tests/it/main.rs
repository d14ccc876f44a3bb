//! Integration tests of `homodyne-perf`.

mod baseline;
mod git;
mod recorder;
mod simulation;
mod stats;
