use berth_api::HealthState;

use crate::{docker, shared, svc, LiveStack};
use berth_api::RunState;

#[tokio::test(flavor = "multi_thread")]
async fn every_state_is_right_and_follows_events() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "status");
    stack.compose(&["up", "-d", "--build"]).await;

    let v = stack
        .until(
            90,
            "healthy, unhealthy, exited(3), crash-looping and running",
            |v| {
                svc(v, "web").health == Some(HealthState::Healthy)
                    && svc(v, "sick").health == Some(HealthState::Unhealthy)
                    && svc(v, "once").state == RunState::Exited
                    && svc(v, "crashy").restarts >= 1
                    && svc(v, "talker").state == RunState::Running
            },
        )
        .await;
    assert!(v.engine.connected);
    let sick = svc(&v, "sick");
    assert_eq!(
        sick.state,
        RunState::Running,
        "an unhealthy container still runs"
    );
    assert!(
        sick.health_output
            .as_deref()
            .unwrap_or_default()
            .contains("probe failed: backend on :9999 refused"),
        "the last probe's output is shown: {:?}",
        sick.health_output
    );
    assert!(sick.failing_streak >= 2);
    assert_eq!(svc(&v, "once").exit_code, Some(3));
    assert_eq!(svc(&v, "web").replicas.running, 1);
    assert_eq!(svc(&v, "web").replicas.declared, 1);
    assert!(svc(&v, "web").uptime_s.is_some());
    let uptime = svc(&v, "web").uptime.clone().unwrap_or_default();
    assert!(
        uptime.ends_with(" s") || uptime.ends_with(" min"),
        "a container started moments ago reads in seconds or minutes: {uptime:?}"
    );

    // A kill is seen through the event stream: the status that carries it is already right.
    let web_id = svc(&v, "web").containers[0].id.clone();
    docker(&["kill", &web_id]);
    let v = stack
        .until(10, "web exited after docker kill", |v| {
            svc(v, "web").state == RunState::Exited
        })
        .await;
    assert_eq!(svc(&v, "web").exit_code, Some(137), "SIGKILL");
    assert_eq!(svc(&v, "web").replicas.running, 0);

    // The one-shot status agrees with the watched one.
    let once = stack.open.status().await.expect("status");
    assert_eq!(svc(&once, "web").state, RunState::Exited);
    assert_eq!(svc(&once, "once").exit_code, Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn up_waits_and_names_the_unhealthy_service_with_its_probe_output() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "upwait");
    let err = stack
        .open
        .up(
            &["sick".to_owned()],
            |_| {},
            std::time::Duration::from_secs(60),
        )
        .await
        .expect_err("sick never becomes healthy");
    assert!(
        err.message.contains("sick")
            && err
                .message
                .contains("probe failed: backend on :9999 refused"),
        "{}",
        err.message
    );

    let ok = stack
        .open
        .up(
            &["web".to_owned()],
            |_| {},
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("web becomes healthy");
    assert_eq!(
        svc(&ok, "web").health,
        Some(HealthState::Healthy),
        "up returns once web is healthy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_stacks_with_the_same_service_names_stay_apart() {
    let _g = shared();
    let a = LiveStack::new("live-mix", "twina");
    let b = LiveStack::new("live-mix", "twinb");
    a.compose(&["up", "-d", "web"]).await;
    b.compose(&["up", "-d", "web"]).await;
    let va = a
        .until(30, "a's web running", |v| {
            svc(v, "web").state == RunState::Running
        })
        .await;
    let vb = b
        .until(30, "b's web running", |v| {
            svc(v, "web").state == RunState::Running
        })
        .await;
    let ida = &svc(&va, "web").containers[0].id;
    let idb = &svc(&vb, "web").containers[0].id;
    assert_ne!(ida, idb, "each stack sees its own container");
    assert_eq!(svc(&va, "web").containers.len(), 1, "and only its own");
    a.open
        .act(berth_api::Action::Stop, &["web".to_owned()], |_| {})
        .await
        .expect("stop a's web");
    let va = a.open.status().await.expect("status a");
    let vb = b.open.status().await.expect("status b");
    assert_eq!(svc(&va, "web").state, RunState::Exited);
    assert_eq!(
        svc(&vb, "web").state,
        RunState::Running,
        "stopping a's web leaves b's alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_stream_for_the_watched_service_only_and_stop_when_asked() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "stats");
    stack
        .compose(&["up", "-d", "--build", "web", "talker"])
        .await;
    stack
        .until(30, "web and talker running", |v| {
            svc(v, "web").state == RunState::Running && svc(v, "talker").state == RunState::Running
        })
        .await;
    let mut samples = Vec::new();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut stop_tx = Some(stop_tx);
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stack.open.watch_stats(
            &["talker".to_owned()],
            |s| {
                samples.push(s);
                if samples.len() >= 3 {
                    if let Some(tx) = stop_tx.take() {
                        let _ = tx.send(());
                    }
                }
            },
            async {
                let _ = stop_rx.await;
            },
        ),
    )
    .await
    .expect("three samples, then the watch returns when stopped")
    .expect("stats");
    assert_eq!(samples.len(), 3, "no sample after stop");
    assert!(
        samples
            .iter()
            .all(|s| s.service.as_deref() == Some("talker")),
        "only the watched service is sampled"
    );
    assert!(
        samples
            .iter()
            .all(|s| s.mem_used > 0 && s.mem_limit >= s.mem_used),
        "memory is reported"
    );
    assert!(
        samples.iter().any(|s| s.cpu_percent > 0.0),
        "talker prints five lines a second, so it uses some CPU: {samples:?}"
    );
}
