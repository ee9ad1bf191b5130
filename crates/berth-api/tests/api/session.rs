//! Sessions on the real engine: one action at a time, cancel that kills compose, orphans left
//! alone unless asked, a frozen daemon said within seconds, and the endpoint shown.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_api::{Action, ErrorCode, ErrorDetail, OpenStack, StackRequest};
use berth_testkit::{docker, exclusive, freeze_dockerd, require_engine, shared};

fn env() -> HashMap<String, String> {
    std::env::vars().collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write compose file");
}

fn open(dir: &Path, project: &str, files: &[&str]) -> OpenStack {
    let req = StackRequest {
        dir: Some(dir.to_path_buf()),
        files: files.iter().map(|f| dir.join(f)).collect(),
        project_name: Some(project.to_owned()),
        ..Default::default()
    };
    OpenStack::open(&req, env()).expect("loads")
}

/// Every container of the project, by label.
fn containers(project: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Runs one action to its end, with no output and no outside cancel.
async fn run(
    stack: &OpenStack,
    action: Action,
) -> Result<berth_api::ActionOutcome, berth_api::ApiError> {
    stack
        .run_action(
            action,
            &[],
            Duration::from_secs(60),
            |_| {},
            std::future::pending(),
        )
        .await
}

fn down(remove_orphans: bool) -> Action {
    Action::Down {
        volumes: false,
        remove_orphans,
    }
}

/// Removes the project's containers even when the test fails half way.
struct Gone(String);

impl Drop for Gone {
    fn drop(&mut self) {
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.0),
        ]);
        for id in ids.split_whitespace() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", id])
                .output();
        }
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &format!("{}_default", self.0)])
            .output();
    }
}

const SLOW: &str = "services:
  slow:
    image: berth-fixture/busybox:1
    init: true
    command: [\"sleep\", \"3600\"]
    healthcheck:
      # Stays `starting` for a minute: Up waits on it.
      test: [\"CMD\", \"false\"]
      interval: 60s
      start_period: 120s
";

#[tokio::test(flavor = "multi_thread")]
async fn a_second_action_is_refused_while_one_runs_and_cancel_stops_it() {
    let _g = shared();
    require_engine();
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "compose.yaml", SLOW);
    let project = format!("berthbusy{}", std::process::id());
    let _gone = Gone(project.clone());
    let stack = open(dir.path(), &project, &[]);
    let up = stack.run_action(
        Action::Up {
            remove_orphans: false,
            skip_port_check: false,
        },
        &[],
        Duration::from_secs(120),
        |_| {},
        std::future::pending(),
    );
    let meanwhile = async {
        // Once Up runs, Down on the same stack is refused, not run alongside.
        let deadline = Instant::now() + Duration::from_secs(30);
        while stack.running_action().is_none() {
            assert!(Instant::now() < deadline, "Up never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let refused = run(&stack, down(false))
            .await
            .expect_err("refused while Up runs");
        // Wait until Up is waiting on the health check (its container exists), then cancel.
        let deadline = Instant::now() + Duration::from_secs(60);
        while containers(&project).is_empty() {
            assert!(Instant::now() < deadline, "Up never created the container");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(stack.cancel_action(), "an action was running");
        (refused, Instant::now())
    };
    let (result, (refused, cancelled_at)) = tokio::join!(up, meanwhile);
    assert_eq!(refused.code, ErrorCode::Busy, "{refused:?}");
    assert_eq!(
        refused.detail,
        Some(ErrorDetail::Busy {
            running: "Up".into()
        })
    );
    assert!(
        refused.message.contains("Up is still running"),
        "the sentence says what runs: {}",
        refused.message
    );
    let e = result.expect_err("Up was cancelled");
    assert_eq!(e.code, ErrorCode::Cancelled, "{e:?}");
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(5),
        "cancel ends the action at once, not when the health check would"
    );
    assert!(stack.running_action().is_none());
    // And the stack takes actions again.
    run(&stack, down(false))
        .await
        .expect("down after the cancel");
    assert!(containers(&project).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_another_file_set_made_are_kept_unless_asked() {
    let _g = shared();
    require_engine();
    let dir = tempfile::tempdir().expect("tmp");
    let svc = |name: &str| {
        format!(
            "services:\n  {name}:\n    image: berth-fixture/busybox:1\n    init: true\n    command: [\"sleep\", \"3600\"]\n"
        )
    };
    write(dir.path(), "a.yml", &svc("one"));
    write(dir.path(), "b.yml", &svc("two"));
    let project = format!("berthorphan{}", std::process::id());
    let _gone = Gone(project.clone());
    let a = open(dir.path(), &project, &["a.yml"]);
    let b = open(dir.path(), &project, &["b.yml"]);
    let up = Action::Up {
        remove_orphans: false,
        skip_port_check: false,
    };
    run(&a, up).await.expect("up a");
    run(&b, up).await.expect("up b");
    let all = containers(&project);
    assert!(
        all.iter().any(|c| c.contains("one")),
        "Up of b.yml left a.yml's container alone: {all:?}"
    );
    let kept = run(&b, down(false)).await;
    // Compose cannot remove the network the kept container still uses: that is said as such.
    if let Err(e) = &kept {
        assert!(
            matches!(&e.detail, Some(ErrorDetail::NetworkInUse { network }) if network.ends_with("_default")),
            "down b: {e:?}"
        );
    }
    let all = containers(&project);
    assert!(
        all.iter().any(|c| c.contains("one")) && !all.iter().any(|c| c.contains("two")),
        "Down of b.yml removed only its own: {all:?}"
    );
    run(&b, down(true)).await.expect("down b with orphans");
    assert!(containers(&project).is_empty(), "asked for, orphans go too");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_daemon_is_said_within_seconds_and_the_watch_recovers() {
    let _g = exclusive();
    require_engine();
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  web:\n    image: berth-fixture/busybox:1\n",
    );
    let stack = open(dir.path(), "berthfrozen", &[]);
    let watching = open(dir.path(), "berthfrozen", &[]);
    let mut updates = watching.subscribe();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(
            updates.borrow_and_update().connection,
            berth_engine::watch::Connection::Connected(_)
        ) {
            updates.changed().await.expect("watch");
        }
    })
    .await
    .expect("the watch connects");
    let connected = watching.status().await.expect("status");
    let label = connected
        .engine
        .endpoint
        .as_ref()
        .map(|e| e.label.clone())
        .unwrap_or_default();
    assert!(
        label.contains("docker.sock"),
        "the status says which engine the stack is on: {label}"
    );

    let frozen = freeze_dockerd();
    let asked = Instant::now();
    let e = stack
        .status()
        .await
        .expect_err("a frozen daemon answers nothing");
    let took = asked.elapsed();
    assert_eq!(e.code, ErrorCode::EngineUnavailable);
    assert!(
        matches!(e.detail, Some(ErrorDetail::DaemonNotResponding { .. })),
        "{e:?}"
    );
    assert!(
        took < Duration::from_secs(8),
        "said within seconds, not bollard's two minutes: {took:?}"
    );
    // The running watch finds out through its liveness ping.
    tokio::time::timeout(Duration::from_secs(30), async {
        while matches!(
            updates.borrow_and_update().connection,
            berth_engine::watch::Connection::Connected(_)
        ) {
            updates.changed().await.expect("watch");
        }
    })
    .await
    .expect("the watch stops showing the old state as live");
    drop(frozen);
    tokio::time::timeout(Duration::from_secs(30), async {
        while !matches!(
            updates.borrow_and_update().connection,
            berth_engine::watch::Connection::Connected(_)
        ) {
            updates.changed().await.expect("watch");
        }
    })
    .await
    .expect("and reconnects by itself once dockerd is thawed");
    stack.status().await.expect("status works again");
}
