//! Every seed stack up and green on the real engine under Compose v2, through the CLI a user
//! types: `berth up` (which waits for health checks), `berth status --json`, `berth logs`, then
//! `berth down -v`. Their Dockerfiles build FROM the local fixture images
//! (`scripts/fixture-images.sh`), so nothing is pulled.
//!
//! The seeds publish the same host ports (80, 3306, 5173, 6379, 8080…) and two use fixed
//! container or volume names, so they run one at a time. Each runs on a copy of its folder:
//! some write into it (logs, node_modules).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::repo_root;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "expected" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let ty = entry.file_type().expect("file type");
        if ty.is_dir() {
            copy_dir(&src, &dst);
        } else if ty.is_file() {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

fn berth_in(args: &[&str], dir: &Path) -> Output {
    crate::berth_with(args, dir, None)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Brings the stack down whatever happens to the test.
struct Down {
    dir: PathBuf,
    args: Vec<String>,
}

impl Drop for Down {
    fn drop(&mut self) {
        let mut args: Vec<&str> = vec!["down"];
        args.extend(self.args.iter().map(String::as_str));
        args.extend(["-v", "--remove-orphans"]);
        let _ = berth_in(&args, &self.dir);
    }
}

struct Seed {
    fixture: &'static str,
    /// Extra stack options (`--profile dev`).
    options: &'static [&'static str],
    /// A line each service prints once it serves.
    lines: &'static [(&'static str, &'static str)],
    prepare: fn(&Path),
    /// A check of the running stack, given the fixture's folder and the `-p` name.
    after_up: fn(&Path, &str),
}

fn no_check(_: &Path, _: &str) {}

fn no_preparation(_: &Path) {}

/// Luminai's nginx serves TLS from `nginx/ssl/localhost.{crt,key}`, which its README has a
/// script make with openssl; Berth's `tls issue` writes them instead, from a CA in a data folder
/// beside the copy (never the user's own).
fn luminai_certificate(dir: &Path) {
    let data = tls_data(dir);
    let o = crate::berth_with(&["tls", "issue"], dir, Some(&data));
    assert!(o.status.success(), "berth tls issue: {}", text(&o));
    assert!(dir.join("nginx/ssl/localhost.crt").is_file());
}

fn tls_data(dir: &Path) -> PathBuf {
    dir.parent().unwrap_or(dir).join("berth-tls-data")
}

/// curl with Berth's CA as its only root: the TLS handshake and the certificate check pass
/// (whatever the page answers).
fn curl_with_ca(ca: &Path, url: &str) -> Output {
    let mut last = None;
    // nginx may still be starting after a restart: a refused or reset connection is asked again.
    for _ in 0..40 {
        let o = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "--max-time", "10", "--cacert"])
            .arg(ca)
            .arg(url)
            .output()
            .expect("curl");
        if !matches!(o.status.code(), Some(7 | 35 | 56)) {
            return o;
        }
        last = Some(o);
        std::thread::sleep(Duration::from_millis(250));
    }
    last.expect("curl ran")
}

/// The certificate Berth wrote is what nginx serves; a new one written while it runs is served
/// after the restart `tls issue` does.
fn luminai_https_proven(dir: &Path, project: &str) {
    let data = tls_data(dir);
    let ca = data.join("ca/ca.crt");
    let o = curl_with_ca(&ca, "https://localhost:443/");
    assert!(
        o.status.success(),
        "curl --cacert Berth's CA: {:?} {}",
        o.status,
        text(&o)
    );
    for f in ["localhost.crt", "localhost.key"] {
        std::fs::remove_file(dir.join("nginx/ssl").join(f)).expect("remove");
    }
    let o = crate::berth_with(&["tls", "issue", "-p", project, "--json"], dir, Some(&data));
    assert!(o.status.success(), "tls issue again: {}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("issue JSON");
    let steps = v["steps"].as_array().expect("steps");
    let did = |step: &str| {
        steps
            .iter()
            .any(|s| s["step"] == step && s["status"] == "ok")
    };
    assert!(
        did("write") && did("restart") && did("verify"),
        "written, nginx restarted, proven: {v:#}"
    );
    let o = curl_with_ca(&ca, "https://localhost:443/");
    assert!(o.status.success(), "curl after the restart: {}", text(&o));
}

/// A reset of the seed keeps its data in a safety snapshot: a marker table written into its
/// database is gone after `berth reset` (fresh volumes, every service green again) and back
/// after `berth restore` of the safety snapshot.
fn reset_and_restore(dir: &Path, project: &str, service: &str, client: &[&str]) {
    let data = dir.parent().unwrap_or(dir).join("berth-snapshot-data");
    let sql = |q: &str| -> Output {
        let mut c = Command::new("docker");
        c.args(["compose", "-p", project, "exec", "-T", service])
            .args(client)
            .arg(q)
            .current_dir(dir);
        c.output().expect("docker compose exec")
    };
    let o =
        sql("CREATE TABLE berth_marker (id int); INSERT INTO berth_marker VALUES (1), (2), (3);");
    assert!(o.status.success(), "marker written: {}", text(&o));
    let o = crate::berth_with(
        &[
            "reset",
            "-p",
            project,
            "--yes",
            "--no-build",
            "--json",
            "--timeout",
            "240",
        ],
        dir,
        Some(&data),
    );
    assert!(o.status.success(), "berth reset: {}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("reset JSON");
    assert_eq!(
        v["status"]["summary"]["unhealthy"], 0,
        "green after the reset: {v:#}"
    );
    let safety = v["safety"]["id"].as_str().unwrap_or_default().to_owned();
    assert!(
        v["safety"]["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i["service"] == service)),
        "the safety snapshot holds {service}'s data: {v:#}"
    );
    let o = sql("SELECT COUNT(*) FROM berth_marker");
    assert!(
        !o.status.success(),
        "the reset gave {service} a fresh volume: {}",
        text(&o)
    );
    let o = crate::berth_with(
        &["restore", "-p", project, &safety, service],
        dir,
        Some(&data),
    );
    assert!(
        o.status.success(),
        "restore of the safety snapshot: {}",
        text(&o)
    );
    let o = sql("SELECT COUNT(*) FROM berth_marker");
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains('3'),
        "the marker is back: {}",
        text(&o)
    );
}

fn luminai_https_then_reset(dir: &Path, project: &str) {
    luminai_https_proven(dir, project);
    reset_and_restore(
        dir,
        project,
        "database",
        &[
            "psql",
            "-U",
            "luminai_user",
            "-d",
            "luminai_db",
            "-AtX",
            "-c",
        ],
    );
}

fn fintrack_reset(dir: &Path, project: &str) {
    reset_and_restore(
        dir,
        project,
        "mysql",
        &["mysql", "-uroot", "-proot", "-N", "financial_tracker", "-e"],
    );
}

fn run_seed(seed: &Seed) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    berth_testkit::require_engine();
    let tmp = tempfile::tempdir().expect("tmp");
    let name = seed.fixture.split('/').next().unwrap_or(seed.fixture);
    let root = tmp.path().join(name);
    copy_dir(&repo_root().join("tests/fixtures").join(name), &root);
    let dir = root.join(
        seed.fixture
            .strip_prefix(name)
            .unwrap_or("")
            .trim_start_matches('/'),
    );
    (seed.prepare)(&root);
    let project = format!("berthseed-{name}");
    let mut opts: Vec<String> = vec!["-p".into(), project.clone()];
    opts.extend(seed.options.iter().map(|s| s.to_string()));
    // `berth CMD… -p NAME [options]` in the stack's folder.
    let run = |cmd: &[&str]| {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(opts.iter().map(String::as_str));
        berth_in(&args, &dir)
    };
    let _down = Down {
        dir: dir.clone(),
        args: opts.clone(),
    };

    let started = Instant::now();
    let o = run(&["up", "--timeout", "240"]);
    let took = started.elapsed();
    assert!(o.status.success(), "{name}: berth up failed:\n{}", text(&o));
    println!("seed {name}: up and healthy in {:.1} s", took.as_secs_f64());

    let o = run(&["status", "--json"]);
    assert!(o.status.success(), "{name}: status: {}", text(&o));
    let status: Value = serde_json::from_slice(&o.stdout).expect("status JSON");
    let inspect = run(&["inspect", "--json"]);
    let inspect: Value = serde_json::from_slice(&inspect.stdout).expect("inspect JSON");
    let declared: Vec<(&str, bool)> = inspect["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default(),
                s["healthcheck"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let services = status["services"].as_array().expect("status services");
    assert_eq!(
        services.len(),
        declared.len(),
        "{name}: status lists every service: {status}"
    );
    for (svc, checked) in &declared {
        let s = services
            .iter()
            .find(|s| s["name"] == *svc)
            .unwrap_or_else(|| panic!("{name}: {svc} in status"));
        assert_eq!(s["state"], "running", "{name}: {svc} runs: {s}");
        if *checked {
            assert_eq!(s["health"], "healthy", "{name}: {svc} is healthy: {s}");
        }
        assert_eq!(s["restarts"], 0, "{name}: {svc} never restarted: {s}");
        assert_eq!(s["tone"], "good", "{name}: {svc} shows green: {s}");
    }
    assert_eq!(
        status["summary"]["unhealthy"], 0,
        "{name}: summary {}",
        status["summary"]
    );

    // `up` returns when health checks pass; a service without one may still be starting, so
    // each line gets a few seconds to appear.
    for (svc, needle) in seed.lines {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = run(&["logs", ".", svc, "--tail", "500"]);
            let out = text(&o);
            if o.status.success() && out.contains(needle) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: `berth logs {svc}` never showed {needle:?}:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    (seed.after_up)(&dir, &project);

    let o = run(&["down", "-v"]);
    assert!(o.status.success(), "{name}: down: {}", text(&o));
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .output()
        .expect("docker ps");
    assert!(
        left.stdout.is_empty(),
        "{name}: down removed every container"
    );
}

const NGINX: &str = "Configuration complete; ready for start up";
const REDIS: &str = "Ready to accept connections";
const POSTGRES: &str = "database system is ready to accept connections";
const MARIADB: &str = "port: 3306";
const FPM: &str = "ready to handle connections";
const VITE: &str = "ready in";

#[test]
fn luminai_comes_up_green() {
    run_seed(&Seed {
        fixture: "luminai",
        options: &[],
        lines: &[
            ("nginx", NGINX),
            ("app", "Development Server (http://0.0.0.0:8000) started"),
            ("database", POSTGRES),
            ("redis", REDIS),
        ],
        prepare: luminai_certificate,
        after_up: luminai_https_then_reset,
    });
}

#[test]
fn orchesity_comes_up_green() {
    run_seed(&Seed {
        fixture: "orchesity",
        options: &[],
        lines: &[
            ("orchesity-api", "Uvicorn running on http://0.0.0.0:8000"),
            ("postgres", POSTGRES),
            ("redis", REDIS),
        ],
        prepare: no_preparation,
        after_up: no_check,
    });
}

#[test]
fn primehub_comes_up_green() {
    run_seed(&Seed {
        fixture: "primehub",
        options: &[],
        lines: &[
            ("nginx", NGINX),
            ("app", FPM),
            ("node", VITE),
            ("db", MARIADB),
            ("redis", REDIS),
            ("queue", "Processing jobs from the ["),
        ],
        prepare: no_preparation,
        after_up: no_check,
    });
}

#[test]
fn fintrack_comes_up_green() {
    run_seed(&Seed {
        fixture: "fintrack",
        options: &[],
        lines: &[
            ("php", FPM),
            ("nginx", NGINX),
            ("mysql", MARIADB),
            ("redis", REDIS),
            ("phpmyadmin", "phpMyAdmin stand-in: serving"),
            ("node", VITE),
        ],
        prepare: no_preparation,
        after_up: fintrack_reset,
    });
}

/// FunctionalFit's nginx proxies to `frontend-dev`, which only the `dev` profile starts, as its
/// README runs it.
#[test]
fn functionalfit_comes_up_green_with_the_dev_profile() {
    run_seed(&Seed {
        fixture: "functionalfit/infra",
        options: &["--profile", "dev"],
        lines: &[
            ("nginx", NGINX),
            ("php-fpm", FPM),
            ("queue-worker", "Processing jobs from the ["),
            ("mysql", MARIADB),
            ("redis", REDIS),
            ("frontend-dev", VITE),
        ],
        prepare: no_preparation,
        after_up: no_check,
    });
}

/// Luminai and PrimeHub both publish 80, 443 and 6379: with Luminai up, PrimeHub's `up` is
/// refused naming Luminai; each conflict remapped to the port `berth ports` suggests, PrimeHub
/// comes up green beside it.
#[test]
fn primehub_beside_luminai_is_refused_naming_it_then_remapped_and_green() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    berth_testkit::require_engine();
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let (lum, prime) = (tmp.path().join("luminai"), tmp.path().join("primehub"));
    copy_dir(&repo_root().join("tests/fixtures/luminai"), &lum);
    copy_dir(&repo_root().join("tests/fixtures/primehub"), &prime);
    luminai_certificate(&lum);
    let run = |dir: &Path, project: &str, cmd: &[&str]| {
        let mut args = cmd.to_vec();
        args.extend(["-p", project]);
        crate::berth_with(&args, dir, Some(&data))
    };
    let _down = [
        Down {
            dir: lum.clone(),
            args: vec!["-p".into(), "berthpair-luminai".into()],
        },
        Down {
            dir: prime.clone(),
            args: vec!["-p".into(), "berthpair-primehub".into()],
        },
    ];
    let o = run(&lum, "berthpair-luminai", &["up", "--timeout", "240"]);
    assert!(o.status.success(), "luminai up: {}", text(&o));

    let refused = run(&prime, "berthpair-primehub", &["up", "--timeout", "240"]);
    assert_eq!(
        refused.status.code(),
        Some(6),
        "primehub is refused: {}",
        text(&refused)
    );
    let said = text(&refused);
    assert!(
        said.contains("stack berthpair-luminai"),
        "the sentence names Luminai: {said}"
    );

    let check = run(&prime, "berthpair-primehub", &["ports", "--json"]);
    assert_eq!(check.status.code(), Some(6));
    let v: Value = serde_json::from_slice(&check.stdout).expect("ports JSON");
    let conflicts: Vec<&Value> = v["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter(|p| p["status"] == "conflict")
        .collect();
    let mut taken: Vec<u64> = conflicts
        .iter()
        .filter_map(|p| p["host_port"].as_u64())
        .collect();
    taken.sort_unstable();
    assert_eq!(
        taken,
        [80, 443, 6379],
        "the ports the two seeds share: {v:#}"
    );
    for p in &conflicts {
        assert_eq!(p["owner"]["project"], "berthpair-luminai", "{p:#}");
        let spec = format!(
            "{}:{}={}",
            p["service"].as_str().unwrap(),
            p["host_port"],
            p["suggestion"]["host_port"]
        );
        let o = run(&prime, "berthpair-primehub", &["ports", "--remap", &spec]);
        assert!(o.status.success(), "remap {spec}: {}", text(&o));
    }
    let o = run(&prime, "berthpair-primehub", &["up", "--timeout", "240"]);
    assert!(
        o.status.success(),
        "primehub up with its remaps: {}",
        text(&o)
    );
    let status: Value =
        serde_json::from_slice(&run(&prime, "berthpair-primehub", &["status", "--json"]).stdout)
            .expect("status");
    for s in status["services"].as_array().expect("services") {
        assert_eq!(
            s["tone"], "good",
            "primehub's {} is green beside luminai: {s}",
            s["name"]
        );
    }
    let o = run(&lum, "berthpair-luminai", &["status", "--json"]);
    let lum_status: Value = serde_json::from_slice(&o.stdout).expect("status");
    assert_eq!(
        lum_status["summary"]["unhealthy"], 0,
        "luminai is untouched: {lum_status}"
    );
}
