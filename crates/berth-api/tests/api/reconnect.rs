//! Stops dockerd while a status watch runs, then starts it again: the watch says disconnected,
//! then recovers by itself. Holds the engine lock exclusively.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{exclusive, svc, LiveStack};
use berth_api::RunState;

fn engine_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn wait(secs: u64, what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn stop_dockerd() {
    let pid = std::fs::read_to_string("/var/run/docker.pid")
        .expect("dockerd writes /var/run/docker.pid (the test setup starts it)");
    let pid = pid.trim().to_owned();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "signal dockerd");
    wait(40, "dockerd to stop answering", || !engine_answers());
    // The API goes quiet before the process has let go of its pid file and containerd: a new
    // daemon started before then refuses to run.
    let gone = || {
        !Command::new("kill")
            .args(["-0", &pid])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    wait(40, "the dockerd process to exit", gone);
}

fn start_dockerd() {
    // The same command line scripts/setup.sh uses.
    Command::new("sh")
        .args(["-c", "dockerd >>/tmp/berth-dockerd.log 2>&1 &"])
        .status()
        .expect("start dockerd");
    wait(60, "dockerd to answer again", engine_answers);
}

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
