//! Benchmark: from a click on an action to its compose child starting, with a session (the
//! stack loaded and connected once) against the old way (every command loaded the compose files
//! and connected to Docker again). Run by `bench/actions.sh` on the real engine.
//!
//! The compose child is a stand-in `docker` first on PATH that only writes the moment it
//! started (`$EPOCHREALTIME`, no extra process) and exits, so the figure is Berth's own work
//! plus the child's exec, the same in both arms.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_api::{Action, OpenStack, StackRequest};

const RUNS: usize = 30;

fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e6)
        .unwrap_or(0.0)
}

fn last_start_us(log: &Path) -> f64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .last()
        .and_then(|l| l.trim().parse::<f64>().ok())
        .map(|s| s * 1e6)
        .unwrap_or(f64::NAN)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = dir.path().join("starts.log");
    let fake = bin.join("docker");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/bash\necho $EPOCHREALTIME >> {}\n[ \"$2\" = version ] && echo 2.99.0\nexit 0\n",
            log.display()
        ),
    )
    .expect("write fake docker");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", &path);
    // A stack the size of the seeds: seven services with environment and an nginx config.
    let stack = dir.path().join("stack");
    std::fs::create_dir_all(&stack).expect("mkdir");
    let mut compose = String::from("services:\n");
    for s in ["nginx", "app", "worker", "scheduler", "db", "redis", "vite"] {
        compose.push_str(&format!(
            "  {s}:\n    image: berth-fixture/busybox:1\n    environment:\n      DB_HOST: db\n      REDIS_URL: redis://redis:6379/0\n      SECRET_KEY: s3cret\n"
        ));
    }
    std::fs::write(stack.join("compose.yaml"), compose).expect("write");
    let req = StackRequest {
        dir: Some(stack.clone()),
        project_name: Some("benchspawn".into()),
        ..Default::default()
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let services = vec!["app".to_owned()];

    // Before: each click loaded the files, connected anew the way Berth did then (bollard's
    // version negotiation, which asks `/version`, then a ping), and ran compose.
    let mut before = Vec::new();
    for _ in 0..RUNS {
        let t0 = now_us();
        let open = OpenStack::open(&req, env.clone()).expect("loads");
        let old = bollard::Docker::connect_with_unix(
            "unix:///var/run/docker.sock",
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("client")
        .negotiate_version()
        .await
        .expect("negotiate");
        old.ping().await.expect("ping");
        open.run_action(
            Action::Stop,
            &services,
            Duration::from_secs(10),
            |_| {},
            std::future::pending(),
        )
        .await
        .expect("stop");
        before.push((last_start_us(&log) - t0) / 1000.0);
    }
    // After: one session; a click only runs compose.
    let session = OpenStack::open(&req, env.clone()).expect("loads");
    session.engine().await.expect("connects");
    let mut after = Vec::new();
    for _ in 0..RUNS {
        let t0 = now_us();
        session
            .run_action(
                Action::Stop,
                &services,
                Duration::from_secs(10),
                |_| {},
                std::future::pending(),
            )
            .await
            .expect("stop");
        after.push((last_start_us(&log) - t0) / 1000.0);
    }
    let (b, a) = (median(before), median(after));
    println!("## click -> compose child started (median of {RUNS}, 7-service stack)");
    println!(
        "reload + reconnect per click (before)  {b:6.2} ms\nsession (now)                          {a:6.2} ms   ({:.1}x faster)",
        b / a
    );
}
