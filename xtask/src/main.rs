//! `cargo xtask <command>`: project automation that needs more than Cargo.
//!
//! Commands (`cargo xtask help` prints the options):
//! - `regression`: run the bench suite and compare it with a base; exit 0
//!   (no regression), 3 (regression) or 1 (error).
//! - `baseline-update`: run the suite and store the result as HEAD's baseline.
//! - `report`: the history of the stored baselines, with charts.
//! - `dashboard`: that history as one self-contained HTML page; with
//!   `regression --serve`, the same page follows a run live.
//! - `compare`: homodyne-rs side by side with numpy, numba and the v1
//!   pipeline, on identical inputs, with peak memory.
//! - `calibrate`: measure where the angle-filter strategies cross over on this
//!   machine and print the thresholds to use in `AngleFilterConfig`.

mod compare;
mod dashboard;
mod divan;
mod flags;
mod format;
mod gate;
mod history;
mod instructions;
mod live;
mod options;
mod regression;
mod suite;
#[cfg(test)]
mod testing;

use std::process::ExitCode;

use anyhow::{Result, bail};
use homodyne_angles::{Strategy, calibrate};

use flags::{Args, HELP};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut arguments: Vec<String>) -> Result<u8> {
    if arguments.is_empty() {
        println!("{HELP}");
        return Ok(0);
    }
    let command = arguments.remove(0);
    let args = Args::new(arguments);
    match command.as_str() {
        "regression" => regression::regression(args),
        "baseline-update" => regression::baseline_update(args),
        "report" => history::report(args),
        "dashboard" => dashboard::dashboard(args),
        "compare" => compare::compare(args),
        "calibrate" => {
            args.finish()?;
            print_calibration();
            Ok(0)
        }
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(0)
        }
        other => bail!("unknown command `{other}` (try `cargo xtask help`)"),
    }
}

fn print_calibration() {
    let calibration = calibrate();
    println!("{:>10}  {:>12}  {:>12}  {:>12}", "angles", "scalar", "vectorized", "parallel");
    for point in &calibration.points {
        print!("{:>10}", point.n_angles);
        for strategy in Strategy::ALL {
            // `-`: the parallel strategy cannot run at this size (one chunk).
            let time = point.time(strategy).map_or_else(|| "-".to_owned(), |time| format!("{time:.1?}"));
            print!("  {time:>12}");
        }
        println!();
    }
    let show = |threshold: usize| if threshold == usize::MAX { "never".to_owned() } else { threshold.to_string() };
    println!(
        "\nsmall_threshold = {}, large_threshold = {}",
        show(calibration.small_threshold),
        show(calibration.large_threshold)
    );
}
