use std::collections::HashMap;

use berth_api::Action;

use crate::{shared, svc, LiveStack};
use berth_api::RunState;

fn started(v: &berth_api::StatusView) -> HashMap<String, (String, Option<String>)> {
    v.services
        .iter()
        .filter_map(|s| {
            s.containers
                .first()
                .map(|c| (s.name.clone(), (c.id.clone(), c.started_at.clone())))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_stop_restart_and_rebuild_touch_only_the_named_service() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "life");
    stack
        .compose(&["up", "-d", "--build", "web", "talker"])
        .await;
    let before = stack
        .until(30, "web healthy and talker running", |v| {
            svc(v, "web").health == Some(berth_api::HealthState::Healthy)
                && svc(v, "talker").state == RunState::Running
        })
        .await;
    let b = started(&before);

    stack
        .open
        .act(Action::Stop, &["talker".to_owned()], |_| {})
        .await
        .expect("stop");
    let v = stack.open.status().await.expect("status");
    assert_eq!(svc(&v, "talker").state, RunState::Exited);
    assert_eq!(
        started(&v)["web"],
        b["web"],
        "web untouched by stopping talker"
    );

    stack
        .open
        .act(Action::Start, &["talker".to_owned()], |_| {})
        .await
        .expect("start");
    // Running again, and with its new start time: the start event can arrive before the
    // container's inspect shows the new start, and comparing a stale time later would blame
    // the restart of web.
    stack
        .until(20, "talker running again with its new start time", |v| {
            svc(v, "talker").state == RunState::Running
                && started(v).get("talker").map(|t| &t.1) != Some(&b["talker"].1)
        })
        .await;

    let v = stack.open.status().await.expect("status");
    let mid = started(&v);
    stack
        .open
        .act(Action::Restart, &["web".to_owned()], |_| {})
        .await
        .expect("restart");
    let v = stack.open.status().await.expect("status");
    let after = started(&v);
    assert_eq!(after["web"].0, mid["web"].0, "restart keeps the container");
    assert_ne!(after["web"].1, mid["web"].1, "but starts it again");
    assert_eq!(
        after["talker"], mid["talker"],
        "talker untouched by restarting web"
    );

    let mut output = Vec::new();
    stack
        .open
        .rebuild(&["talker".to_owned()], |l| output.push(l.text))
        .await
        .expect("rebuild");
    let v = stack.open.status().await.expect("status");
    let rebuilt = started(&v);
    assert_ne!(
        rebuilt["talker"].0, after["talker"].0,
        "rebuild recreates talker"
    );
    assert_eq!(rebuilt["web"], after["web"], "and leaves web alone");
    assert!(!output.is_empty(), "progress lines were streamed");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_service_is_a_clear_error() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "unknown");
    let e = stack
        .open
        .act(Action::Stop, &["nope".to_owned()], |_| {})
        .await
        .expect_err("no such service");
    assert!(
        e.message.contains("\"nope\"") && e.message.contains("web"),
        "{}",
        e.message
    );
}
