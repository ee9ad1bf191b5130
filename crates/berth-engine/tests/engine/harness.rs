//! The harness proof: a seed-like stack (nginx with TLS -> app -> PostgreSQL + Redis, every
//! service health-gated) comes up on the real engine through the compose runner, every service
//! reaches running/healthy, the app answers through nginx over TLS, and `down -v` removes it all.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::{ComposeArgs, ComposeCli, ComposeTarget};

use crate::{copy_dir, docker, free_local_port, repo_root, require_engine};

/// Containers of one compose project, found by label (never by name): service -> (state, health).
fn project_states(project: &str) -> BTreeMap<String, (String, String)> {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return BTreeMap::new();
    }
    let mut args = vec![
        "inspect",
        "--format",
        "{{index .Config.Labels \"com.docker.compose.service\"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
    ];
    args.extend(ids);
    docker(&args)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((
                parts.next()?.to_owned(),
                (parts.next()?.to_owned(), parts.next()?.to_owned()),
            ))
        })
        .collect()
}

/// Takes the stack down even when an assertion fails half way.
struct Down<'a> {
    cli: &'a ComposeCli,
    target: &'a ComposeTarget,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self
            .cli
            .command(
                self.target,
                &ComposeArgs::words(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]),
                None,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn seed_like_stack_comes_up_healthy_with_compose_and_goes_away() {
    require_engine();
    let work = tempfile::Builder::new()
        .prefix("berth-harness")
        .tempdir()
        .expect("tmp");
    let dir = work.path().join("stack");
    copy_dir(&repo_root().join("tests/fixtures/harness-tls"), &dir);
    let cert = dir.join("nginx/ssl/localhost.crt");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(dir.join("nginx/ssl/localhost.key"))
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl made the test certificate");

    let cli = ComposeCli::detect().expect("a compose CLI is installed");
    // The suites run on Compose v2 (scripts/setup.sh installs it); the v1 compatibility set
    // asks for v1 with BERTH_COMPOSE=v1. Either way, the one asked for is the one used.
    let want_v1 = std::env::var("BERTH_COMPOSE").is_ok_and(|v| v == "v1");
    assert_eq!(
        matches!(cli.flavor, berth_engine::ComposeFlavor::V1 { .. }),
        want_v1,
        "compose in use: {:?} (BERTH_COMPOSE={:?})",
        cli.flavor,
        std::env::var("BERTH_COMPOSE").ok()
    );
    let project = format!("berthharness{}", std::process::id());
    let target = ComposeTarget {
        project: project.clone(),
        project_dir: dir.clone(),
        files: vec![dir.join("docker-compose.yml")],
        ..Default::default()
    };
    let port = free_local_port();
    let down = Down {
        cli: &cli,
        target: &target,
    };

    let started = Instant::now();
    let out = cli
        .command(&target, &ComposeArgs::words(&["up", "-d"]), None)
        .env("HARNESS_HTTPS_PORT", port.to_string())
        .output()
        .expect("run compose up");
    assert!(
        out.status.success(),
        "compose up failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let deadline = Instant::now() + Duration::from_secs(180);
    let states = loop {
        let states = project_states(&project);
        let all_healthy = states.len() == 4
            && states
                .values()
                .all(|(s, h)| s == "running" && h == "healthy");
        if all_healthy || Instant::now() > deadline {
            break states;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let expected: Vec<&str> = vec!["app", "database", "nginx", "redis"];
    assert_eq!(
        states.keys().map(String::as_str).collect::<Vec<_>>(),
        expected,
        "containers grouped by the compose service label"
    );
    for (svc, (state, health)) in &states {
        assert_eq!(
            (state.as_str(), health.as_str()),
            ("running", "healthy"),
            "{svc} should be running and healthy"
        );
    }
    eprintln!(
        "harness stack healthy after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Through nginx's published 127.0.0.1 port, over TLS verified against the test certificate.
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let curl = |path: &str| {
        Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                "--resolve",
                &format!("localhost:{port}:127.0.0.1"),
                "--cacert",
            ])
            .arg(&cert)
            .arg(url(path))
            .output()
            .expect("run curl")
    };
    let health = curl("/health");
    assert!(
        health.status.success(),
        "TLS request through nginx: {}",
        String::from_utf8_lossy(&health.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&health.stdout).trim(),
        "ok",
        "the app's /health, proxied by nginx"
    );
    let deps = String::from_utf8_lossy(&curl("/cgi-bin/deps").stdout).into_owned();
    assert!(
        deps.contains("database ok") && deps.contains("redis ok"),
        "the app reaches PostgreSQL and Redis: {deps}"
    );

    drop(down);
    let left = project_states(&project);
    assert!(
        left.is_empty(),
        "down --volumes removes every container: {left:?}"
    );
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    assert!(
        volumes.trim().is_empty(),
        "and the named volumes: {volumes}"
    );
}
