//! The Python package in `python/` (the `probeshare` pyOCD plugin), checked
//! in the end-to-end tests' venv, where it is installed as
//! `pip install ./python` installs it (tests/e2e/venv.rs): its pytest suite
//! and mypy's strict check. The pytest suite starts the real server binary
//! (`PROBESHARE_BIN`) for the tests that need one.

mod common;
mod e2e;

use e2e::process::{Finished, Spawned};
use e2e::venv::{package_dir, venv};

/// pytest's and mypy's runs take seconds; a loaded machine gets room.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

fn run_in_package(name: &str, args: &[&str]) -> Finished {
    let finished = Spawned::start(
        name,
        venv()
            .python(&package_dir())
            .args(args)
            .env("PROBESHARE_BIN", env!("CARGO_BIN_EXE_probeshare")),
    )
    .within(TIMEOUT)
    .finish();
    // pytest's closing line, shown with --nocapture.
    eprintln!(
        "[python] {name}: {}",
        finished.stdout.lines().last().unwrap_or("")
    );
    finished
}

#[test]
fn pytest_suite_of_the_python_package_passes() {
    let finished = run_in_package(
        "pytest",
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
    );
    finished.assert_success();
}

#[test]
fn python_package_is_clean_under_mypy_strict() {
    let finished = run_in_package(
        "mypy",
        &["-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"],
    );
    finished.assert_success();
}
