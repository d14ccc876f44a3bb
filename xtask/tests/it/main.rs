//! xtask's tests: the divan parser on golden files, and the regression
//! commands end to end.

#[path = "../../src/divan.rs"]
mod divan;

mod end_to_end;
mod golden;
mod tidy;
