//! The session's rules on the in-memory engine: readiness, typed failures, log de-duplication,
//! a frozen engine, one session per stack, and reloads when the files change.

use std::collections::HashMap;
use std::time::Duration;

use berth_engine::fake::FakeEngine;
use berth_engine::model::{
    ContainerInfo, Health, HealthState, LogChunk, LogRequest, LogStream, RunState,
};

use super::OpenStack;
use crate::connect::FakeConnector;
use crate::error::{ErrorCode, ErrorDetail};
use crate::inspect::StackRequest;
use crate::Sessions;

const COMPOSE: &str = "services:
  web:
    image: busybox
    healthcheck:
      test: [\"CMD\", \"true\"]
  db:
    image: busybox
";

fn project(dir: &std::path::Path, text: &str) -> StackRequest {
    std::fs::write(dir.join("compose.yaml"), text).expect("write compose.yaml");
    StackRequest {
        dir: Some(dir.to_path_buf()),
        project_name: Some("p".into()),
        ..Default::default()
    }
}

fn open(dir: &std::path::Path, engine: &FakeEngine) -> OpenStack<FakeConnector> {
    OpenStack::open_with(
        &project(dir, COMPOSE),
        HashMap::new(),
        FakeConnector {
            engine: engine.clone(),
        },
    )
    .expect("loads")
}

fn container(
    id: &str,
    service: &str,
    state: RunState,
    health: Option<HealthState>,
) -> ContainerInfo {
    let mut c = ContainerInfo::for_test(id, service, 1, state);
    c.health = health.map(|status| Health {
        status,
        failing_streak: 0,
        last_output: Some(format!("probe of {service}")),
        last_exit_code: Some(0),
    });
    c
}

#[tokio::test]
async fn ready_means_healthy_where_checked_and_running_elsewhere() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    engine.upsert(
        container("w", "web", RunState::Running, Some(HealthState::Starting)),
        "start",
    );
    engine.upsert(container("d", "db", RunState::Running, None), "start");
    let e2 = engine.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        e2.upsert(
            container("w", "web", RunState::Running, Some(HealthState::Healthy)),
            "health_status: healthy",
        );
    });
    let view = stack
        .wait_ready(
            &[],
            Duration::from_secs(5),
            &mut std::pin::pin!(std::future::pending()),
        )
        .await
        .expect("ready once web is healthy");
    assert!(view.services.iter().all(|s| s.state == RunState::Running));
}

#[tokio::test]
async fn an_unhealthy_service_fails_the_wait_with_its_probe_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    engine.upsert(
        container("w", "web", RunState::Running, Some(HealthState::Unhealthy)),
        "start",
    );
    engine.upsert(container("d", "db", RunState::Running, None), "start");
    let e = stack
        .wait_ready(
            &[],
            Duration::from_secs(5),
            &mut std::pin::pin!(std::future::pending()),
        )
        .await
        .expect_err("unhealthy");
    assert_eq!(
        e.detail,
        Some(ErrorDetail::Unhealthy {
            service: "web".into(),
            output: Some("probe of web".into())
        }),
        "the UI branches on this, never on the message"
    );
}

#[tokio::test]
async fn a_wait_that_runs_out_names_what_it_waited_for() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    engine.upsert(
        container("w", "web", RunState::Running, Some(HealthState::Starting)),
        "start",
    );
    engine.upsert(container("d", "db", RunState::Running, None), "start");
    let e = stack
        .wait_ready(
            &[],
            Duration::from_millis(300),
            &mut std::pin::pin!(std::future::pending()),
        )
        .await
        .expect_err("times out");
    assert_eq!(e.code, ErrorCode::TimedOut);
    assert_eq!(
        e.detail,
        Some(ErrorDetail::TimedOut {
            waiting: vec!["web (running, starting)".into()]
        }),
        "only the service still starting, not db which runs"
    );
}

#[tokio::test]
async fn history_and_follow_of_several_containers_show_each_line_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    engine.upsert(container("w", "web", RunState::Running, None), "start");
    engine.upsert(container("d", "db", RunState::Running, None), "start");
    let chunk = |text: &str| LogChunk {
        stream: LogStream::Stdout,
        bytes: text.as_bytes().to_vec(),
    };
    // The fake hands the same history to the first read and to the follow: what the engine
    // does for lines written in the second the follow starts from.
    engine.set_logs(
        "w",
        vec![chunk(
            "2026-11-23T10:00:01Z web one\n2026-11-23T10:00:03Z web two\n",
        )],
    );
    engine.set_logs("d", vec![chunk("2026-11-23T10:00:02Z db one\n")]);
    let mut seen = Vec::new();
    stack
        .follow_logs(
            &[],
            &LogRequest {
                follow: true,
                tail: Some(100),
                since: None,
                timestamps: false,
            },
            |l| seen.push(l.text),
            tokio::time::sleep(Duration::from_millis(400)),
        )
        .await
        .expect("follows");
    assert_eq!(
        seen,
        vec!["web one", "db one", "web two"],
        "merged by time, and nothing shown twice"
    );
}

#[tokio::test]
async fn a_frozen_engine_is_said_within_seconds() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    engine.set_frozen(true);
    let stack = open(dir.path(), &engine);
    let e = stack.status().await.expect_err("no answer");
    assert_eq!(e.code, ErrorCode::EngineUnavailable);
    assert!(
        matches!(e.detail, Some(ErrorDetail::DaemonNotResponding { .. })),
        "{e:?}"
    );
    assert!(e.message.contains("not responding"), "{}", e.message);
}

#[tokio::test]
async fn a_service_name_that_could_be_a_flag_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    let e = stack
        .run_action(
            crate::Action::Rebuild,
            &["--push".to_owned()],
            Duration::from_secs(1),
            |_| {},
            std::future::pending(),
        )
        .await
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::UnknownService);
}

#[test]
fn one_session_per_stack() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let sessions: Sessions<FakeConnector> = Sessions::default();
    let req = project(dir.path(), COMPOSE);
    let mk = || {
        OpenStack::open_with(
            &req,
            HashMap::new(),
            FakeConnector {
                engine: engine.clone(),
            },
        )
    };
    let (a, sa) = sessions.open(&req, mk).expect("open");
    let (b, sb) = sessions.open(&req, mk).expect("open again");
    assert_eq!(a, b, "the same folder is the same session");
    assert!(std::sync::Arc::ptr_eq(&sa, &sb));
    assert!(sessions.close(a));
    let e = sessions.get(a).err().expect("closed");
    assert_eq!(e.code, ErrorCode::UnknownSession);
}

#[tokio::test]
async fn an_edit_reloads_the_model_and_a_broken_edit_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    stack.watch_files().expect("watch");
    let mut updates = stack.model_updates();
    updates.borrow_and_update();
    // Give inotify its watches before editing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("{COMPOSE}  cache:\n    image: redis\n"),
    )
    .expect("edit");
    tokio::time::timeout(Duration::from_secs(5), updates.changed())
        .await
        .expect("a reload within seconds")
        .expect("alive");
    let state = updates.borrow_and_update().clone();
    assert_eq!(state.generation, 2);
    assert!(state.error.is_none());
    assert!(
        stack.loaded().project.services.contains_key("cache"),
        "the new service is in"
    );

    std::fs::write(dir.path().join("compose.yaml"), "services:\n  web: [oops\n").expect("break");
    tokio::time::timeout(Duration::from_secs(5), updates.changed())
        .await
        .expect("the broken edit is reported")
        .expect("alive");
    let state = updates.borrow_and_update().clone();
    let e = state.error.expect("an error");
    assert!(
        matches!(&e.detail, Some(ErrorDetail::Position { file, line, .. }) if file == "compose.yaml" && *line >= 2),
        "file, line and column of the break: {e:?}"
    );
    assert!(
        stack.loaded().project.services.contains_key("cache"),
        "the last good model stays"
    );
}

#[test]
fn an_inspect_document_is_masked_by_name_and_by_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let req = project(
        dir.path(),
        "services:\n  db:\n    image: postgres\n    environment:\n      DB_PASSWORD: hunter2\n      PLAIN: visible\n",
    );
    let stack =
        OpenStack::open_with(&req, HashMap::new(), FakeConnector::default()).expect("loads");
    let mut doc = serde_json::json!({
        "Config": {"Env": ["DB_PASSWORD=hunter2", "PLAIN=visible", "URL=postgres://u:hunter2@db/x"]},
        "Args": ["--password", "hunter2"],
    });
    super::mask_json(&mut doc, &stack.loaded().secrets);
    let text = doc.to_string();
    assert!(
        !text.contains("hunter2"),
        "no secret survives anywhere: {text}"
    );
    assert!(
        text.contains("PLAIN=visible"),
        "what is not secret stays readable: {text}"
    );
}

#[tokio::test]
async fn a_terminal_uses_the_first_shell_the_image_has_and_carries_keys_and_sizes() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().expect("tmp");
    let engine = FakeEngine::new();
    let stack = open(dir.path(), &engine);
    engine.upsert(container("w", "web", RunState::Running, None), "start");

    engine.set_programs(&["sh", "bash"]);
    let t = stack
        .open_terminal("web", None, 80, 24)
        .await
        .expect("opens");
    assert_eq!(
        t.info.shell, "bash",
        "bash comes before sh when the image has both"
    );
    engine.set_programs(&["sh"]);
    let mut t = stack
        .open_terminal("web", None, 100, 30)
        .await
        .expect("opens");
    assert_eq!(t.info.shell, "sh", "sh when the image has no bash");
    assert!(
        engine
            .resizes()
            .iter()
            .any(|(_, c, r)| (*c, *r) == (100, 30)),
        "the terminal starts at the window's size: {:?}",
        engine.resizes()
    );
    t.control.send(b"echo hi\r").await.expect("typed");
    let echoed = t.output.next().await.expect("output").expect("bytes");
    assert_eq!(
        echoed, b"echo hi\r",
        "what is typed reaches the exec's input"
    );
    t.control.resize(132, 43).await.expect("resize");
    assert!(
        engine
            .resizes()
            .iter()
            .any(|(_, c, r)| (*c, *r) == (132, 43)),
        "a resize reaches the engine"
    );

    engine.set_programs(&["python3"]);
    let err = stack
        .open_terminal("web", None, 80, 24)
        .await
        .err()
        .expect("no shell");
    assert!(
        matches!(&err.detail, Some(ErrorDetail::NoShell { tried, .. }) if tried == &["bash", "sh"]),
        "an image without a shell says so with what was tried: {err:?}"
    );
    assert!(err.message.contains("no shell"), "{}", err.message);

    let err = stack
        .open_terminal("db", None, 80, 24)
        .await
        .err()
        .expect("not running");
    assert!(
        matches!(&err.detail, Some(ErrorDetail::NotRunning { service }) if service == "db"),
        "a service without a running container says so: {err:?}"
    );
}
