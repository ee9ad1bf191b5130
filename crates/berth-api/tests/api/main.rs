//! The facade against the real Docker engine and compose v1: status from events, logs, lifecycle,
//! reconnection, and stacks kept apart. `scripts/test.sh` starts dockerd and builds the images.

// Each test holds the engine lock (berth_testkit::shared/exclusive) for its whole body, awaits
// included, on purpose: the reconnect and freeze tests must not stop dockerd under another
// test. Every test has its own runtime, so nothing deadlocks.
#![allow(clippy::await_holding_lock)]

mod drift;
mod lifecycle;
mod logs;
mod reconnect;
mod resume;
mod session;
mod status;
mod terminal;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use berth_api::{OpenStack, StackRequest, StatusView};
use berth_engine::status::ServiceStatus;

pub use berth_testkit::{docker, exclusive, repo_root, require_engine, shared};

/// A fixture stack brought up under its own project name, taken down (with volumes) on drop.
pub struct LiveStack {
    pub open: OpenStack,
    pub project: String,
}

impl LiveStack {
    pub fn new(fixture: &str, tag: &str) -> Self {
        Self::at(&repo_root().join("tests/fixtures").join(fixture), tag)
    }

    /// A stack in any folder (a test's own copy it may edit).
    pub fn at(dir: &std::path::Path, tag: &str) -> Self {
        require_engine();
        let project = format!("berth{tag}{}", std::process::id());
        let req = StackRequest {
            dir: Some(dir.to_path_buf()),
            project_name: Some(project.clone()),
            ..Default::default()
        };
        let env: HashMap<String, String> = std::env::vars().collect();
        let open = OpenStack::open(&req, env).expect("fixture loads");
        LiveStack { open, project }
    }

    pub async fn compose(&self, args: &[&str]) {
        let mut out = String::new();
        let r = self
            .open
            .compose(
                args,
                |l| {
                    out.push_str(&l.text);
                    out.push('\n');
                },
                std::future::pending(),
            )
            .await;
        if let Err(e) = r {
            panic!("compose {args:?} failed: {}\n{out}", e.message);
        }
    }

    /// Waits (event-driven) until `pred` holds for the stack's status; panics with the last
    /// status after `secs`.
    pub async fn until(
        &self,
        secs: u64,
        what: &str,
        pred: impl Fn(&StatusView) -> bool,
    ) -> StatusView {
        let mut last: Option<StatusView> = None;
        let found = tokio::time::timeout(Duration::from_secs(secs), async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let watch = self.open.watch_status(
                move |v| {
                    let _ = tx.send(v);
                },
                std::future::pending(),
            );
            tokio::pin!(watch);
            loop {
                tokio::select! {
                    _ = &mut watch => unreachable!("the watch runs until stopped"),
                    v = rx.recv() => {
                        let v = v.expect("status updates");
                        if pred(&v) { return v; }
                        last = Some(v);
                    }
                }
            }
        })
        .await;
        match found {
            Ok(v) => v,
            Err(_) => panic!(
                "timed out waiting for {what}; last status: {}",
                serde_json::to_string_pretty(&last).unwrap_or_default()
            ),
        }
    }
}

impl Drop for LiveStack {
    fn drop(&mut self) {
        if let Ok(cli) = berth_engine::ComposeCli::detect() {
            let _ = cli
                .command(
                    &self.open.loaded().target,
                    &berth_engine::ComposeArgs::words(&[
                        "down",
                        "--volumes",
                        "--remove-orphans",
                        "--timeout",
                        "2",
                    ]),
                    self.open.endpoint().as_ref(),
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn svc<'a>(v: &'a StatusView, name: &str) -> &'a ServiceStatus {
    v.services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("service {name} in status"))
}
