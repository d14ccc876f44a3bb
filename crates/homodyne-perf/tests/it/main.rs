//! Integration tests of `homodyne-perf`.

mod baseline;
mod counts;
mod git;
mod limits;
mod recorder;
mod simulation;
mod stats;
