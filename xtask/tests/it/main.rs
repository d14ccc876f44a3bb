//! xtask's tests: the divan parser on golden files, the regression
//! commands end to end, the dashboard in a real browser, and the tidy
//! checks of the workspace.

#[path = "../../src/divan.rs"]
mod divan;

mod browser;
mod dashboard;
mod end_to_end;
mod golden;
mod tidy;
