//! What every test binary of Berth needs and used to copy: where the repository is, a real
//! Docker engine (required, never skipped), `docker` as a user types it, and control of the
//! daemon for the tests that stop or freeze it. Dev-only: no crate depends on it outside tests.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("repo root")
        .to_path_buf()
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

pub fn engine_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Fails loudly when no engine answers: these tests must never pass by skipping.
pub fn require_engine() {
    assert!(
        engine_answers(),
        "no Docker engine answers; run ./scripts/test.sh, which installs and starts one"
    );
}

/// `docker ARGS…`, which must succeed; its stdout, trimmed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Waits until `f` holds, polling every 200 ms; fails with `what` after `secs`.
pub fn wait(secs: u64, what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Tests that stop or freeze dockerd take this lock exclusively; every other test of the same
/// binary shares it, so nothing else runs while the daemon is away.
static ENGINE: RwLock<()> = RwLock::new(());

pub fn shared() -> RwLockReadGuard<'static, ()> {
    ENGINE.read().unwrap_or_else(|e| e.into_inner())
}

pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ENGINE.write().unwrap_or_else(|e| e.into_inner())
}

fn dockerd_pid() -> String {
    std::fs::read_to_string("/var/run/docker.pid")
        .expect("dockerd writes /var/run/docker.pid (the test setup starts it)")
        .trim()
        .to_owned()
}

fn signal(sig: &str, pid: &str) -> bool {
    Command::new("kill")
        .args([sig, pid])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Stops dockerd and waits until its process is gone.
pub fn stop_dockerd() {
    let pid = dockerd_pid();
    assert!(signal("-TERM", &pid), "signal dockerd");
    wait(40, "dockerd to stop answering", || !engine_answers());
    // The API goes quiet before the process has let go of its pid file and containerd: a new
    // daemon started before then refuses to run.
    wait(40, "the dockerd process to exit", || !signal("-0", &pid));
}

/// Starts dockerd the way scripts/setup.sh does and waits until it answers.
pub fn start_dockerd() {
    Command::new("sh")
        .args(["-c", "dockerd >>/tmp/berth-dockerd.log 2>&1 &"])
        .status()
        .expect("start dockerd");
    wait(60, "dockerd to answer again", engine_answers);
}

/// Freezes dockerd (`kill -STOP`): its socket still accepts connections, nothing answers.
/// The returned guard thaws it when dropped, even when the test fails half way.
pub fn freeze_dockerd() -> Frozen {
    let pid = dockerd_pid();
    assert!(signal("-STOP", &pid), "freeze dockerd");
    Frozen(pid)
}

pub struct Frozen(String);

impl Drop for Frozen {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
        wait(30, "dockerd to answer after thawing", engine_answers);
    }
}

/// Copies a fixture folder so a test can write into it without touching the repository.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let ft = entry.file_type().expect("file type");
        if ft.is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn free_local_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
