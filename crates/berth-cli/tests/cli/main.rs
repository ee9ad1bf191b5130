//! The `berth` binary, run as a user runs it: real files, real process, exit codes and output.

mod diagram;
mod differential;
mod errors;
mod ports;
mod seeds;
mod seeds_up;

use std::path::Path;
use std::process::{Command, Output};

pub use berth_testkit::{fixture, repo_root};

/// Runs `berth` with a clean environment, so the developer's shell cannot change results.
pub fn berth(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run berth")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "berth failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("valid JSON on stdout")
}
