//! The `berth` binary, run as a user runs it: real files, real process, exit codes and output.

mod diagram;
mod differential;
mod doctor;
mod errors;
mod ports;
mod seeds;
mod seeds_up;
mod snapshots;
mod tls;

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

/// Runs `berth` as the live tests need it: a clean environment with the caller's HOME (compose
/// reads its config there) and, when given, Berth's data folder, so remaps stay in the test.
pub fn berth_with(args: &[&str], cwd: &Path, data: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        );
    if let Some(d) = data {
        c.env("BERTH_DATA_DIR", d);
    }
    c.output().expect("run berth")
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

/// Takes compose projects down (`-p NAME --project-directory DIR`) whatever happens to the test.
pub struct ComposeDown(pub Vec<(String, std::path::PathBuf)>);

impl Drop for ComposeDown {
    fn drop(&mut self) {
        for (p, d) in &self.0 {
            let _ = Command::new("docker")
                .args(["compose", "-p", p, "--project-directory"])
                .arg(d)
                .args(["down", "-v", "-t", "0"])
                .output();
        }
    }
}

/// Whether the tests run as root (CI does): some stores need it.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A copy of a fixture folder under its own compose project name and Berth data folder, taken
/// down (volumes too) whatever happens to the test.
pub struct FixtureCopy {
    _tmp: tempfile::TempDir,
    pub dir: std::path::PathBuf,
    pub data: std::path::PathBuf,
    pub project: String,
    _down: ComposeDown,
}

impl FixtureCopy {
    pub fn new(fixture: &Path, project: &str) -> FixtureCopy {
        berth_testkit::require_engine();
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join(project);
        berth_testkit::copy_dir(fixture, &dir);
        let data = tmp.path().join("data");
        FixtureCopy {
            _down: ComposeDown(vec![(project.to_owned(), dir.clone())]),
            _tmp: tmp,
            dir,
            data,
            project: project.to_owned(),
        }
    }

    /// `berth ARGS… -p PROJECT` in the copy, with its own data folder.
    pub fn berth(&self, args: &[&str]) -> Output {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["-p", &self.project]);
        berth_with(&a, &self.dir, Some(&self.data))
    }

    /// `docker compose -p PROJECT ARGS…` in the copy.
    pub fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["compose", "-p", &self.project])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("docker compose")
    }

    /// `docker compose exec -T SERVICE ARGS…`, its stdout; fails the test when it fails.
    pub fn exec(&self, service: &str, args: &[&str]) -> String {
        let mut a = vec!["exec", "-T", service];
        a.extend_from_slice(args);
        let o = self.compose(&a);
        assert!(
            o.status.success(),
            "{service} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }
}
