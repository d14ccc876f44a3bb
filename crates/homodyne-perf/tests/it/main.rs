//! Integration tests of `homodyne-perf`.

mod baseline;
mod counts;
mod git;
mod recorder;
mod simulation;
mod stats;
