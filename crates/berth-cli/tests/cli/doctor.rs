//! `berth doctor` on the real engine: each diagnosis made to happen by a fixture
//! (`tests/fixtures/doctor/`), found with its evidence, fixed by its fix where it has one, and
//! the stack checked green again.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{repo_root, stderr, stdout, FixtureCopy};

struct Stack(FixtureCopy);

impl std::ops::Deref for Stack {
    type Target = FixtureCopy;
    fn deref(&self) -> &FixtureCopy {
        &self.0
    }
}

impl Stack {
    fn copy(fixture: &str, project: &str) -> Stack {
        Stack(FixtureCopy::new(
            &repo_root().join("tests/fixtures/doctor").join(fixture),
            project,
        ))
    }

    fn doctor(&self) -> (Value, Option<i32>) {
        let o = self.berth(&["doctor", ".", "--json"]);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("doctor JSON ({e}): {} {}", stdout(&o), stderr(&o)));
        (v, o.status.code())
    }

    /// Runs doctor until `found` holds (events take a moment to show), or fails saying what
    /// doctor last said.
    fn doctor_until(&self, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (v, _) = self.doctor();
            if found(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "doctor never found {what}: {v:#}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {v:#}"))
}

fn diagnosis<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["diagnoses"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == id))
}

#[test]
fn a_missing_env_is_created_from_its_example_then_everything_is_green() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("env", "berthdoc-env");
    let (v, code) = s.doctor();
    assert_eq!(code, Some(7), "a failing checklist exits 7: {v:#}");
    let vars = check(&v, "variables");
    assert_eq!(vars["status"], "fail");
    assert!(
        vars["detail"]
            .as_str()
            .is_some_and(|d| d.contains("APP_GREETING")),
        "the variable is named: {vars}"
    );
    assert_eq!(
        vars["fix"]["id"], "create-env",
        "the fix is offered: {vars}"
    );
    assert_eq!(check(&v, "env")["status"], "fail");

    let o = s.berth(&["doctor", ".", "--fix", "create-env"]);
    assert!(o.status.success(), "the fix: {}", stderr(&o));
    assert!(
        std::fs::read_to_string(s.dir.join(".env"))
            .is_ok_and(|t| t.contains("APP_GREETING=hello from the example")),
        ".env holds the example's values"
    );
    let (v, code) = s.doctor();
    assert_eq!(code, Some(0), "green before Up: {v:#}");
    assert_eq!(check(&v, "running")["status"], "skip", "not up yet: {v:#}");
    let o = s.berth(&["up", ".", "--timeout", "60"]);
    assert!(o.status.success(), "up: {}", stderr(&o));
    let (v, code) = s.doctor();
    assert_eq!(code, Some(0), "green after Up: {v:#}");
    assert_eq!(check(&v, "running")["status"], "ok");
}

#[test]
fn an_oom_kill_a_restart_loop_and_a_missing_probe_program_are_each_diagnosed() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("crashes", "berthdoc-crashes");
    let o = s.compose(&["up", "-d"]);
    assert!(
        o.status.success(),
        "up: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = s.doctor_until("the three diagnoses", |v| {
        diagnosis(v, "oom:hog").is_some()
            && diagnosis(v, "restart-loop:looper").is_some()
            && diagnosis(v, "healthcheck-missing:api").is_some()
    });
    let oom = diagnosis(&v, "oom:hog").expect("oom");
    assert!(
        oom["sentence"]
            .as_str()
            .is_some_and(|t| t.contains("16 MiB")),
        "the limit is named: {oom}"
    );
    // The engine's OOMKilled flag is racy under cgroup v1 (set or not for the same kill); exit
    // 137 under the limit is the evidence either way.
    let evidence = oom["evidence"].to_string();
    assert!(
        evidence.contains("ExitCode=137") && evidence.contains("HostConfig.Memory=16777216"),
        "the inspect fields are the evidence: {oom}"
    );
    let looped = diagnosis(&v, "restart-loop:looper").expect("loop");
    assert!(
        looped["evidence"]
            .to_string()
            .contains("fatal: no queue configured"),
        "its last line is shown: {looped}"
    );
    assert!(looped["sentence"]
        .as_str()
        .is_some_and(|t| t.contains("code 3")));
    let probe = diagnosis(&v, "healthcheck-missing:api").expect("probe");
    assert!(
        probe["evidence"].to_string().contains("curl"),
        "the probe's own output is the evidence: {probe}"
    );
    assert_eq!(check(&v, "running")["status"], "fail", "{v:#}");
    let o = s.berth(&["doctor", "."]);
    assert_eq!(o.status.code(), Some(7));
    assert!(
        stdout(&o).contains("restart loop"),
        "the text report: {}",
        stdout(&o)
    );
}

#[test]
fn nginx_answering_502_after_its_upstream_is_recreated_is_found_and_fixed_by_a_restart() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("stale", "berthdoc-stale");
    let port = berth_testkit::free_local_port();
    std::fs::write(s.dir.join(".env"), format!("STALE_PORT={port}\n")).expect(".env");
    let o = s.berth(&["up", ".", "--timeout", "60"]);
    assert!(o.status.success(), "up: {}", stderr(&o));
    let url = format!("http://127.0.0.1:{port}/");
    let get = || -> String {
        let o = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "8",
                &url,
            ])
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get() != "200" {
        assert!(Instant::now() < deadline, "nginx never answered 200");
        std::thread::sleep(Duration::from_millis(300));
    }
    // The proxy's connection, probed from inside nginx's own container.
    let (v, _) = s.doctor();
    let probe = &v["probes"][0];
    assert_eq!(
        (
            &probe["from"],
            &probe["host"],
            &probe["port"],
            &probe["result"]
        ),
        (&"web".into(), &"app".into(), &8000.into(), &"ok".into()),
        "web reaches app:8000: {v:#}"
    );
    assert!(probe["ms"].as_f64().is_some(), "with its time: {probe}");
    // The app is recreated while another container takes its old address, as a rebuild does
    // on a busy network.
    let o = s.compose(&["rm", "-s", "-f", "app"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let network = format!("{}_default", s.project);
    let filler = Command::new("docker")
        .args(["run", "-d", "--rm", "--network", &network, "--label"])
        .arg(format!("com.docker.compose.project={}-filler", s.project))
        .args(["berth-fixture/busybox:1", "sleep", "300"])
        .output()
        .expect("docker run");
    assert!(
        filler.status.success(),
        "{}",
        String::from_utf8_lossy(&filler.stderr)
    );
    let filler = String::from_utf8_lossy(&filler.stdout).trim().to_owned();
    let _filler_gone = Kill(filler);
    let o = s.compose(&["up", "-d", "--no-deps", "app"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let code = get();
        if code == "502" || code == "504" {
            break;
        }
        assert!(Instant::now() < deadline, "nginx kept answering {code}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let v = s.doctor_until("the stale upstream", |v| {
        diagnosis(v, "nginx-stale-upstream:web:app").is_some()
    });
    let d = diagnosis(&v, "nginx-stale-upstream:web:app").expect("diagnosis");
    assert_eq!(d["fix"]["id"], "restart:web", "{d}");
    assert!(
        d["evidence"]
            .to_string()
            .contains("while connecting to upstream"),
        "nginx's own error line is the evidence: {d}"
    );
    let o = s.berth(&["doctor", ".", "--fix", "restart:web"]);
    assert!(o.status.success(), "the fix: {}", stderr(&o));
    let deadline = Instant::now() + Duration::from_secs(30);
    while get() != "200" {
        assert!(
            Instant::now() < deadline,
            "nginx still fails after its restart"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (v, _) = s.doctor();
    assert!(
        diagnosis(&v, "nginx-stale-upstream:web:app").is_none(),
        "gone after the fix: {v:#}"
    );
    assert_eq!(check(&v, "running")["status"], "ok");

    // The provider stopped: its name no longer resolves inside nginx's network.
    let o = s.compose(&["stop", "app"]);
    assert!(o.status.success());
    let (v, code) = s.doctor();
    assert_eq!(v["probes"][0]["result"], "nxdomain", "{v:#}");
    assert_eq!(check(&v, "probes")["status"], "fail");
    assert_eq!(code, Some(7));
}

struct Kill(String);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

#[test]
fn a_database_initialised_with_another_password_is_found_and_fixed_by_a_reset() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("password", "berthdoc-password");
    let o = s.berth(&["up", ".", "--timeout", "90"]);
    assert!(o.status.success(), "up: {}", stderr(&o));
    std::fs::write(s.dir.join(".env"), "DB_PASSWORD=second-password\n").expect(".env");
    let o = s.compose(&["up", "-d"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = s.doctor_until("the password mismatch", |v| {
        diagnosis(v, "db-auth:client").is_some()
    });
    let d = diagnosis(&v, "db-auth:client").expect("diagnosis");
    assert!(
        d["evidence"]
            .to_string()
            .contains("password authentication failed"),
        "the server's refusal is the evidence: {d}"
    );
    assert!(
        !v.to_string().contains("second-password") && !v.to_string().contains("first-password"),
        "no password in the report"
    );
    assert_eq!(d["fix"]["id"], "reset");
    let o = s.berth(&["doctor", ".", "--fix", "reset"]);
    assert!(o.status.success(), "the fix: {}", stderr(&o));
    assert!(stdout(&o).contains("safety snapshot"), "{}", stdout(&o));
    let v = s.doctor_until("the client connected", |v| {
        diagnosis(v, "db-auth:client").is_none()
    });
    assert_eq!(check(&v, "running")["status"], "ok", "{v:#}");
}

#[test]
fn a_foreign_architecture_a_dependency_not_ready_a_bind_mount_permission_and_a_full_disk_are_diagnosed(
) {
    let _g = berth_testkit::shared();
    let s = Stack::copy("more", "berthdoc-more");
    let o = s.compose(&["up", "-d", "slowdb", "waiter", "writer", "filler"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // On its own: compose stops starting the rest once one container fails to start.
    let _ = s.compose(&["up", "-d", "--build", "--no-deps", "arch"]);
    let v = s.doctor_until("the three diagnoses", |v| {
        diagnosis(v, "exec-format:arch").is_some()
            && diagnosis(v, "not-ready:waiter:slowdb").is_some()
            && diagnosis(v, "bind-permission:writer").is_some()
            && diagnosis(v, "disk-full:filler").is_some()
    });
    let full = diagnosis(&v, "disk-full:filler").expect("filler");
    assert!(
        full["evidence"]
            .to_string()
            .contains("No space left on device"),
        "the kernel's refusal is the evidence: {full}"
    );
    let arch = diagnosis(&v, "exec-format:arch").expect("arch");
    assert!(
        arch["evidence"].to_string().contains("exec format error"),
        "{arch}"
    );
    let waiter = diagnosis(&v, "not-ready:waiter:slowdb").expect("waiter");
    assert!(
        (waiter["evidence"]
            .to_string()
            .contains("Connection refused")
            || waiter["evidence"].to_string().contains("bad address"))
            && waiter["sentence"]
                .as_str()
                .is_some_and(|t| t.contains("service_healthy")),
        "the refusal and the missing condition: {waiter}"
    );
    assert_eq!(waiter["fix"]["id"], "wait-healthy:waiter:slowdb");
    let o = s.berth(&["doctor", ".", "--fix", "wait-healthy:waiter:slowdb"]);
    assert!(o.status.success(), "the fix: {}", stderr(&o));
    let v = s.doctor_until("the waiter running", |v| {
        diagnosis(v, "not-ready:waiter:slowdb").is_none()
    });
    assert!(
        !check(&v, "running")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("waiter"),
        "the waiter runs once it waits for the health check: {v:#}"
    );
    let writer = diagnosis(&v, "bind-permission:writer").expect("writer");
    assert!(
        writer["evidence"].to_string().contains("Permission denied"),
        "{writer}"
    );
}

#[test]
fn nginx_without_its_certificate_is_fixed_by_making_https_trusted() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("tls", "berthdoc-tls");
    let port = berth_testkit::free_local_port();
    std::fs::write(s.dir.join(".env"), format!("TLS_PORT={port}\n")).expect(".env");
    let _ = s.compose(&["up", "-d"]);
    let v = s.doctor_until("nginx's certificate", |v| {
        diagnosis(v, "nginx-certificate:web").is_some()
    });
    let d = diagnosis(&v, "nginx-certificate:web").expect("diagnosis");
    assert!(
        d["evidence"]
            .to_string()
            .contains("cannot load certificate"),
        "{d}"
    );
    assert_eq!(d["fix"]["id"], "tls-issue");
    assert_eq!(check(&v, "certificates")["status"], "warn", "{v:#}");
    let o = s.berth(&["doctor", ".", "--fix", "tls-issue"]);
    assert!(o.status.success(), "the fix: {} {}", stdout(&o), stderr(&o));
    assert!(
        s.dir.join("ssl/localhost.crt").is_file(),
        "the certificate is where nginx reads it"
    );
    let v = s.doctor_until("nginx running", |v| check(v, "running")["status"] == "ok");
    assert!(diagnosis(&v, "nginx-certificate:web").is_none(), "{v:#}");
}

#[test]
fn a_port_taken_by_another_program_is_failed_with_a_remap_that_fixes_it() {
    let _g = berth_testkit::shared();
    let s = Stack::copy("stale", "berthdoc-ports");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::fs::write(s.dir.join(".env"), format!("STALE_PORT={port}\n")).expect(".env");
    let (v, code) = s.doctor();
    assert_eq!(code, Some(7), "{v:#}");
    let ports = check(&v, "ports");
    assert_eq!(ports["status"], "fail");
    assert!(
        ports["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&port.to_string())),
        "the port is named: {ports}"
    );
    let fix = ports["fix"]["id"].as_str().unwrap_or_default().to_owned();
    assert!(fix.starts_with(&format!("remap:web:{port}=")), "{ports}");
    let o = s.berth(&["doctor", ".", "--fix", &fix]);
    assert!(o.status.success(), "the fix: {}", stderr(&o));
    let (v, _) = s.doctor();
    assert_eq!(check(&v, "ports")["status"], "ok", "{v:#}");
    let o = s.berth(&["up", ".", "--timeout", "60"]);
    assert!(o.status.success(), "up on the new port: {}", stderr(&o));
    drop(listener);
}
