//! Streams that outlive the engine: a followed log resumes after dockerd restarts, from the
//! last line it showed (nothing lost, nothing twice), and stats re-attach to a restarted
//! container by themselves.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use berth_api::{LogRequest, OpenStack, StackRequest};
use berth_testkit::{docker, exclusive, require_engine, shared, start_dockerd, stop_dockerd};

const COUNTER: &str = "services:
  counter:
    image: berth-fixture/busybox:1
    init: true
    restart: always
    # Each start of the process is one boot; lines count up within it.
    command: [\"sh\", \"-c\", \"b=$$(cat /proc/sys/kernel/random/uuid); i=0; while true; do echo boot=$$b n=$$i; i=$$((i+1)); sleep 0.1; done\"]
";

fn open(dir: &std::path::Path, project: &str) -> OpenStack {
    std::fs::write(dir.join("compose.yaml"), COUNTER).expect("write");
    let req = StackRequest {
        dir: Some(dir.to_path_buf()),
        project_name: Some(project.to_owned()),
        ..Default::default()
    };
    OpenStack::open(&req, std::env::vars().collect()).expect("loads")
}

struct Down<'a>(&'a OpenStack);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let loaded = self.0.loaded();
        if let Ok(cli) = berth_engine::ComposeCli::detect() {
            let _ = cli
                .command(
                    &loaded.target,
                    &berth_engine::ComposeArgs::words(&["down", "--timeout", "1"]),
                    None,
                )
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_followed_log_resumes_after_dockerd_restarts_without_losing_or_repeating_a_line() {
    let _g = exclusive();
    require_engine();
    let dir = tempfile::tempdir().expect("tmp");
    let stack = open(dir.path(), &format!("berthresume{}", std::process::id()));
    let _down = Down(&stack);
    stack
        .compose(&["up", "-d"], |_| {}, std::future::pending())
        .await
        .expect("up");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let follow = stack.follow_logs(
        &[],
        &LogRequest {
            follow: true,
            tail: Some(0),
            since: None,
            timestamps: false,
        },
        move |l| {
            let _ = tx.send(l.text);
        },
        async {
            let _ = stop_rx.await;
        },
    );
    let script = async {
        let mut lines: Vec<String> = Vec::new();
        tokio::time::timeout(Duration::from_secs(90), async {
            while lines.len() < 10 {
                lines.push(rx.recv().await.expect("follow alive"));
            }
        })
        .await
        .expect("lines before the restart");
        tokio::task::spawn_blocking(|| {
            stop_dockerd();
            start_dockerd();
        })
        .await
        .expect("restart dockerd");
        // `restart: always` brings the counter back with the daemon; the follow reconnects.
        let first_boot = lines[0]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let got = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("lines after the restart")
                .expect("follow alive");
            lines.push(got);
            let later: Vec<&String> = lines
                .iter()
                .filter(|l| !l.starts_with(&first_boot))
                .collect();
            if later.len() >= 5 {
                break;
            }
        }
        let _ = stop_tx.send(());
        lines
    };
    let (result, lines) = tokio::join!(follow, script);
    result.expect("the follow never gave up");
    let mut seen = HashSet::new();
    for l in &lines {
        assert!(
            seen.insert(l),
            "shown twice after the reconnect: {l}\n{lines:#?}"
        );
    }
    // Within each boot the counter has no gap: every line the container wrote while the follow
    // was reconnecting arrived.
    let mut by_boot: HashMap<&str, Vec<u64>> = HashMap::new();
    for l in &lines {
        let mut parts = l.split_whitespace();
        let (Some(boot), Some(n)) = (parts.next(), parts.next()) else {
            continue;
        };
        let n = n.trim_start_matches("n=").parse::<u64>().expect("a count");
        by_boot.entry(boot).or_default().push(n);
    }
    assert!(
        by_boot.len() >= 2,
        "lines from before and after the restart: {lines:#?}"
    );
    for (boot, ns) in &by_boot {
        for w in ns.windows(2) {
            assert_eq!(w[1], w[0] + 1, "no line of {boot} is lost: {ns:?}");
        }
    }
    let first_boot = lines[0].split_whitespace().next().unwrap_or_default();
    let later = by_boot
        .iter()
        .find(|(b, _)| **b != first_boot)
        .map(|(_, ns)| ns[0]);
    assert_eq!(
        later,
        Some(0),
        "the restarted container's first line, written before the follow was back, is shown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_reattach_to_a_restarted_container_by_themselves() {
    let _g = shared();
    require_engine();
    let dir = tempfile::tempdir().expect("tmp");
    let project = format!("berthstats{}", std::process::id());
    let stack = open(dir.path(), &project);
    let _down = Down(&stack);
    stack
        .compose(&["up", "-d"], |_| {}, std::future::pending())
        .await
        .expect("up");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let services = ["counter".to_owned()];
    let watch = stack.watch_stats(
        &services,
        move |s| {
            let _ = tx.send(s);
        },
        async {
            let _ = stop_rx.await;
        },
    );
    let script = async {
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("a sample before")
            .expect("alive");
        let id = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
        ]);
        docker(&["stop", "-t", "1", &id]);
        docker(&["start", &id]);
        // Samples queued before the stop may still be in the channel: drain, then wait for new.
        tokio::time::sleep(Duration::from_millis(500)).await;
        while rx.try_recv().is_ok() {}
        let after = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
        let _ = stop_tx.send(());
        after
    };
    let (result, after) = tokio::join!(watch, script);
    result.expect("stats end cleanly when stopped");
    assert!(
        matches!(after, Ok(Some(_))),
        "samples come again after the container restarted, without re-opening the panel"
    );
}
