//! `cargo xtask <command>`: project automation that needs more than Cargo.
//!
//! Commands:
//! - `calibrate`: measure where the angle-filter strategies cross over on this
//!   machine and print the thresholds to use in `AngleFilterConfig`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use homodyne_angles::{Strategy, calibrate};

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("calibrate") => {
            print_calibration();
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            println!(
                "usage: cargo xtask <command>\n\ncommands:\n  calibrate   time the angle-filter strategies and print the thresholds"
            );
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}` (try `cargo xtask help`)"),
    }
}

fn print_calibration() {
    let calibration = calibrate();
    println!("{:>10}  {:>12}  {:>12}  {:>12}", "angles", "scalar", "vectorized", "parallel");
    for point in &calibration.points {
        print!("{:>10}", point.n_angles);
        for strategy in Strategy::ALL {
            print!("  {:>12.1?}", point.time(strategy));
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
