use std::time::Duration;

use berth_api::{LogLine, LogRequest};
use berth_engine::model::LogStream;

use crate::{shared, svc, LiveStack};
use berth_api::RunState;

/// Collects followed lines until `pred` holds for the collection.
async fn follow_until(
    stack: &LiveStack,
    services: &[&str],
    secs: u64,
    pred: impl Fn(&[LogLine]) -> bool,
    during: impl std::future::Future<Output = ()>,
) -> Vec<LogLine> {
    let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let follow = stack.open.follow_logs(
        &services,
        &LogRequest {
            follow: true,
            tail: Some(0),
            since: None,
            timestamps: false,
        },
        move |l| {
            let _ = tx.send(l);
        },
        async {
            let _ = stop_rx.await;
        },
    );
    let collect = async {
        let mut lines = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(secs), async {
            tokio::pin!(during);
            let mut during_done = false;
            loop {
                tokio::select! {
                    _ = &mut during, if !during_done => during_done = true,
                    l = rx.recv() => {
                        lines.push(l.expect("follow alive"));
                        if pred(&lines) { return; }
                    }
                }
            }
        })
        .await;
        let _ = stop_tx.send(());
        let texts: Vec<String> = lines
            .iter()
            .map(|l| format!("{} | {}", l.service, l.text))
            .collect();
        assert!(
            r.is_ok(),
            "timed out; followed so far:\n{}",
            texts.join("\n")
        );
        lines
    };
    let (f, lines) = tokio::join!(follow, collect);
    f.expect("follow ends cleanly");
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_survives_a_restart_and_masks_secrets() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "logs");
    stack
        .compose(&["up", "-d", "--build", "talker", "web"])
        .await;
    stack
        .until(30, "talker running", |v| {
            svc(v, "talker").state == RunState::Running
        })
        .await;

    let boots = |lines: &[LogLine]| {
        let mut b: Vec<&str> = lines
            .iter()
            .filter(|l| l.text.starts_with("boot "))
            .map(|l| l.text.as_str())
            .collect();
        b.dedup();
        b.len()
    };
    // tail 0: only new output. Restart talker while following; its new process prints a new boot
    // line, which must arrive on the same follow without re-subscribing by hand.
    let restart = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        stack
            .open
            .act(berth_api::Action::Restart, &["talker".to_owned()], |_| {})
            .await
            .expect("restart talker");
    };
    let lines = follow_until(
        &stack,
        &["talker"],
        40,
        |ls| {
            boots(ls) >= 1
                && ls
                    .iter()
                    .rev()
                    .take_while(|l| !l.text.starts_with("boot "))
                    .count()
                    >= 3
        },
        restart,
    )
    .await;
    assert!(boots(&lines) >= 1, "a boot line after the restart");
    assert!(
        lines.iter().all(|l| l.service == "talker"),
        "only the asked service"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.text == "connecting with password ********"),
        "the password is masked in logs"
    );
    assert!(
        !lines.iter().any(|l| l.text.contains("hunter2-talker")),
        "and never shown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_logs_are_ordered_by_time_with_streams_apart() {
    let _g = shared();
    let stack = LiveStack::new("live-mix", "merge");
    stack
        .compose(&["up", "-d", "--build", "talker", "web", "once"])
        .await;
    stack
        .until(30, "talker running, once exited", |v| {
            svc(v, "talker").state == RunState::Running && svc(v, "once").state == RunState::Exited
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lines = stack
        .open
        .logs(&[], &LogRequest::default())
        .await
        .expect("logs");
    let services: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l.service.as_str()).collect();
    assert!(
        services.contains("talker") && services.contains("once"),
        "{services:?}"
    );
    assert!(
        lines.windows(2).all(|w| w[0].ts_nano <= w[1].ts_nano),
        "merged by timestamp"
    );
    assert!(
        lines.iter().any(|l| l.service == "talker"
            && l.stream == LogStream::Stderr
            && l.text.ends_with("on stderr")),
        "stderr kept apart"
    );
    assert!(
        lines.iter().any(|l| l.service == "talker"
            && l.stream == LogStream::Stdout
            && l.text.starts_with("tick ")),
        "stdout"
    );
    assert!(lines
        .iter()
        .any(|l| l.service == "once" && l.text == "finishing with code 3"));

    let tail = stack
        .open
        .logs(
            &["talker".to_owned()],
            &LogRequest {
                follow: false,
                tail: Some(2),
                since: None,
                timestamps: false,
            },
        )
        .await
        .expect("tail");
    assert_eq!(tail.len(), 2, "tail 2 of one container");
}
