//! Stops dockerd while a status watch runs, then starts it again: the watch says disconnected,
//! then recovers by itself. Holds the engine lock exclusively.

use std::time::Duration;

use berth_testkit::{start_dockerd, stop_dockerd};

use crate::{exclusive, svc, LiveStack};
use berth_api::RunState;

#[tokio::test(flavor = "multi_thread")]
async fn status_says_disconnected_and_recovers_when_docker_returns() {
    let _g = exclusive();
    let stack = LiveStack::new("live-mix", "reconnect");
    stack.compose(&["up", "-d", "web"]).await;
    stack
        .until(30, "web running", |v| {
            svc(v, "web").state == RunState::Running
        })
        .await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = async {
        stack
            .open
            .watch_status(
                move |v| {
                    let _ = tx.send(v);
                },
                async {
                    let _ = stop_rx.await;
                },
            )
            .await;
    };
    let script = async {
        let mut seen = Vec::new();
        // Connected first.
        loop {
            let v = rx.recv().await.expect("updates");
            if v.engine.connected {
                break;
            }
        }
        tokio::task::spawn_blocking(stop_dockerd)
            .await
            .expect("stop");
        let down = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let v = rx.recv().await.expect("updates");
                if !v.engine.connected {
                    return v;
                }
                seen.push(v);
            }
        })
        .await
        .expect("a disconnected status while dockerd is down");
        let msg = down.engine.message.clone().unwrap_or_default();
        tokio::task::spawn_blocking(start_dockerd)
            .await
            .expect("start");
        let back = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let v = rx.recv().await.expect("updates");
                if v.engine.connected {
                    return v;
                }
            }
        })
        .await
        .expect("the watch reconnects by itself");
        let _ = stop_tx.send(());
        (msg, back)
    };
    let ((), (msg, back)) = tokio::join!(watcher, script);
    assert!(
        msg.contains("Docker") || msg.contains("engine"),
        "the disconnected status says why: {msg}"
    );
    // Without live-restore, stopping the daemon stops the containers: the recovered status
    // must show the truth, not the stale "running".
    let fresh = stack.open.status().await.expect("status after restart");
    assert_eq!(
        svc(&back, "web").state,
        svc(&fresh, "web").state,
        "the recovered watch matches a fresh look"
    );
}
