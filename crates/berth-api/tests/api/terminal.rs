use std::time::Duration;

use berth_api::{ErrorDetail, RunState, Terminal};
use berth_engine::DockerEngine;
use futures_util::StreamExt;

use crate::{docker, shared, svc, LiveStack};

/// Reads terminal output until it contains `want`; panics with what came after `secs`.
async fn read_until(t: &mut Terminal<DockerEngine>, want: &str, secs: u64) -> String {
    let mut seen = String::new();
    let r = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(chunk) = t.output.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("terminal output")));
            if seen.contains(want) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        r == Ok(true),
        "terminal never printed {want:?}; it printed: {seen:?}"
    );
    seen
}

fn shells_in(container: &str) -> usize {
    docker(&["top", container, "-o", "pid,args"])
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(" sh") || l.ends_with(" bash"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_runs_a_shell_in_the_container_with_size_input_and_exit() {
    let _g = shared();
    let stack = LiveStack::new("terminal", "term");
    stack.compose(&["up", "-d", "--build"]).await;
    stack
        .until(60, "all three running", |v| {
            ["box", "debian", "noshell"]
                .iter()
                .all(|s| svc(v, s).state == RunState::Running)
        })
        .await;

    let mut t = stack
        .open
        .open_terminal("box", None, 100, 40)
        .await
        .expect("a terminal opens in busybox");
    assert_eq!(t.info.shell, "sh", "busybox has sh and no bash");
    t.control.send(b"echo $((6*7))\r").await.expect("typed");
    let out = read_until(&mut t, "42\r\n", 10).await;
    assert!(
        out.contains("echo $((6*7))"),
        "the tty echoes what was typed: {out:?}"
    );
    t.control.send(b"stty size\r").await.expect("typed");
    read_until(&mut t, "40 100", 10).await;
    t.control.resize(132, 43).await.expect("resized");
    t.control.send(b"stty size\r").await.expect("typed");
    read_until(&mut t, "43 132", 10).await;
    let container = t.info.container.clone();
    assert_eq!(
        shells_in(&container),
        1,
        "one shell runs while the terminal is open"
    );
    t.control.send(b"exit 5\r").await.expect("typed");
    while t.output.next().await.is_some() {}
    assert_eq!(
        t.control.exit_code().await.expect("exit code"),
        Some(5),
        "the shell's exit code is reported when it ends"
    );

    // Closing a terminal with a shell still in it hangs the shell up: nothing is left behind.
    let t = stack
        .open
        .open_terminal("box", None, 80, 24)
        .await
        .expect("opens again");
    let Terminal {
        mut output,
        control,
        ..
    } = t;
    let _ = tokio::time::timeout(Duration::from_secs(2), output.next()).await;
    assert_eq!(shells_in(&container), 1, "the second terminal's shell runs");
    control.close().await;
    drop(output);
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = shells_in(&container);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left, 0,
        "a closed terminal leaves no shell running in {container}"
    );

    let t = stack
        .open
        .open_terminal("debian", None, 80, 24)
        .await
        .expect("a terminal opens in Debian");
    assert_eq!(
        t.info.shell, "bash",
        "bash is preferred where the image has it"
    );
    let debian = t.info.container.clone();
    let Terminal {
        mut output,
        mut control,
        ..
    } = t;
    // A program in the foreground too: closing must end it and then the shell.
    control.send(b"sleep 300\r").await.expect("typed");
    let _ = tokio::time::timeout(Duration::from_secs(2), output.next()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    control.close().await;
    drop(output);
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = shells_in(&debian);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left, 0,
        "closing a bash terminal with a program running leaves no shell"
    );

    let err = stack
        .open
        .open_terminal("noshell", None, 80, 24)
        .await
        .err()
        .expect("an image without a shell has no terminal");
    assert!(
        matches!(&err.detail, Some(ErrorDetail::NoShell { service, .. }) if service == "noshell"),
        "{err:?}"
    );
    assert!(
        err.message.contains("has no shell"),
        "the sentence says why: {}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_sums_cpu_and_memory_per_running_service() {
    let _g = shared();
    let stack = LiveStack::new("terminal", "usage");
    stack.compose(&["up", "-d", "box", "debian"]).await;
    stack
        .until(60, "both running", |v| {
            ["box", "debian"]
                .iter()
                .all(|s| svc(v, s).state == RunState::Running)
        })
        .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = stack.open.watch_usage(
        move |rows| {
            let _ = tx.send(rows);
        },
        std::future::pending(),
    );
    let rows = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::pin!(watch);
        loop {
            tokio::select! {
                r = &mut watch => panic!("the usage watch ended: {r:?}"),
                rows = rx.recv() => {
                    let rows = rows.expect("rows");
                    if rows.len() == 2 { return rows; }
                }
            }
        }
    })
    .await
    .expect("a row for each running service within 30 s");
    for r in &rows {
        assert!(
            r.mem_used > 0 && r.mem_text.ends_with("MiB"),
            "{} uses memory, in MiB: {r:?}",
            r.service
        );
    }
}
