//! `berth tls` on real parts: a real nginx in a container that cannot start without its
//! certificate, Berth's CA in a test data folder, real trust stores (Chromium's NSS database in
//! a test home, and as root the machine's own system store), and real clients that trust only
//! those stores: headless Chromium and curl.

use std::path::Path;
use std::process::{Command, Output};

use berth_testkit::{free_local_port, require_engine};
use serde_json::Value;

use crate::{stderr, stdout, ComposeDown};

/// `berth` with its data folder and home (the NSS database lives under it) inside the test.
fn berth_tls(args: &[&str], cwd: &Path, data: &Path, home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "berth-test")
        .env("BERTH_DATA_DIR", data)
        .output()
        .expect("run berth")
}

/// [`berth_tls`] on the compose project `name`: `-p` goes after the command's own words
/// (`berth up -p N`, `berth tls status -p N`).
fn in_project(args: &[&str], name: &str, dir: &Path, data: &Path, home: &Path) -> Output {
    let at = if args[0] == "tls" { 2 } else { 1 };
    let mut all = args[..at].to_vec();
    all.extend(["-p", name]);
    all.extend(&args[at..]);
    berth_tls(&all, dir, data, home)
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("berth printed no JSON ({e}): {}{}", stdout(o), stderr(o)))
}

/// What headless Chromium says of `url`, with the NSS database of `home` as its trust store:
/// `Ok` when it rendered the page, `Err` with its own words (`net::ERR_CERT_AUTHORITY_INVALID`)
/// when it refused the certificate. A run that did neither (a slow start on a busy machine) is
/// tried again.
fn chromium(url: &str, home: &Path) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..3 {
        let profile = tempfile::tempdir().expect("tmp");
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--timeout=30000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", url])
            .env("HOME", home)
            .output()
            .expect("chromium runs (scripts/setup.sh installs it)");
        if String::from_utf8_lossy(&out.stdout).contains(PAGE) {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(line) = err.lines().find(|l| l.contains("ERR_CERT")) {
            return Err(line.to_owned());
        }
        last = err;
    }
    panic!("Chromium neither loaded {url} nor refused its certificate: {last}")
}

const PAGE: &str = "berth-tls-page-ok";

/// A stack whose nginx serves HTTPS on `port` with the certificate from `./nginx/ssl`, for
/// `localhost` and every `*.localhost` name (the second-level wildcard Berth turns into
/// `<project>.localhost` + `*.<project>.localhost`).
fn stack(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("nginx/conf.d")).expect("mkdir");
    std::fs::create_dir_all(dir.join("nginx/ssl")).expect("mkdir");
    std::fs::write(
        dir.join("compose.yaml"),
        format!(
            "services:\n  proxy:\n    image: nginx:alpine\n    ports: [\"127.0.0.1:{port}:443\"]\n    volumes:\n      - ./nginx/conf.d:/etc/nginx/conf.d:ro\n      - ./nginx/ssl:/etc/nginx/ssl:ro\n"
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join("nginx/conf.d/default.conf"),
        format!(
            "server {{\n    listen 443 ssl;\n    server_name localhost *.localhost;\n    ssl_certificate /etc/nginx/ssl/site.crt;\n    ssl_certificate_key /etc/nginx/ssl/site.key;\n    location / {{ default_type text/html; return 200 \"<p>{PAGE}</p>\"; }}\n}}\n"
        ),
    )
    .expect("write");
}

fn endpoint(v: &Value) -> &Value {
    let list = v["endpoints"].as_array().expect("endpoints");
    assert_eq!(list.len(), 1, "one TLS endpoint: {v:#}");
    &list[0]
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

/// Untrusts whatever the test trusted, even when an assertion fails half-way.
struct Untrust<'a>(&'a Path, &'a Path, &'a Path);

impl Drop for Untrust<'_> {
    fn drop(&mut self) {
        let _ = berth_tls(&["tls", "untrust"], self.0, self.1, self.2);
    }
}

#[test]
fn make_https_trusted_issues_places_and_proves_then_real_browsers_trust_it_until_untrusted() {
    require_engine();
    let _engine = berth_testkit::shared();
    let port = free_local_port();
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    let home = tempfile::tempdir().expect("tmp");
    stack(dir.path(), port);
    let name = format!("berthtls{}", std::process::id());
    let _down = ComposeDown(vec![(name.clone(), dir.path().to_path_buf())]);
    let b = |args: &[&str]| in_project(args, &name, dir.path(), data.path(), home.path());

    // Before: no file where nginx reads it (nginx cannot even start), and no CA yet.
    let before = b(&["tls", "status", "--json"]);
    assert!(before.status.success(), "{}", stderr(&before));
    let v = json_of(&before);
    assert!(v["ca"].is_null(), "no CA is made by looking: {v:#}");
    let e = endpoint(&v);
    assert_eq!(e["state"], "missing");
    assert_eq!(e["service"], "proxy");
    assert_eq!(e["host_port"], port);
    let names: Vec<&str> = e["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let project_name = format!("{name}.localhost");
    let wildcard = format!("*.{name}.localhost");
    assert_eq!(
        names,
        [
            "localhost",
            "127.0.0.1",
            "::1",
            project_name.as_str(),
            wildcard.as_str()
        ],
        "loopback names, and *.localhost as the project's own names"
    );

    // Issue while it is down: written, nothing to restart, nothing to prove yet.
    let issued = b(&["tls", "issue", "--json"]);
    assert!(
        issued.status.success(),
        "issue: {}{}",
        stdout(&issued),
        stderr(&issued)
    );
    let iv = json_of(&issued);
    let steps: Vec<(String, String)> = iv["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_owned(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let has = |step: &str, status: &str| steps.iter().any(|(a, b)| a == step && b == status);
    assert!(
        has("ca", "ok") && has("find", "ok") && has("write", "ok") && has("restart", "skip"),
        "every step reported: {steps:?}"
    );
    let crt = dir.path().join("nginx/ssl/site.crt");
    let key = dir.path().join("nginx/ssl/site.key");
    #[cfg(unix)]
    {
        assert_eq!(mode(&key), 0o600, "the private key is the user's only");
        assert_eq!(mode(&data.path().join("ca")), 0o700, "the CA folder too");
        assert_eq!(mode(&data.path().join("ca/ca.key")), 0o600);
    }
    let written = std::fs::read_to_string(&crt).expect("the certificate is where nginx reads it");
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));

    // Up now works, and the status proves what nginx serves with a handshake.
    let up = b(&["up"]);
    assert!(up.status.success(), "up: {}{}", stdout(&up), stderr(&up));
    // nginx has no health check here: under load it may take a moment after `up` to answer.
    let mut v = json_of(&b(&["tls", "status", "--json"]));
    for _ in 0..40 {
        if endpoint(&v)["verified"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        v = json_of(&b(&["tls", "status", "--json"]));
    }
    let e = endpoint(&v);
    assert_eq!(
        e["verified"], true,
        "served = written, chain from Berth's CA, every name: {e:#}"
    );
    assert_eq!(
        e["state"], "untrusted",
        "Berth's CA is in no store yet: browsers still warn"
    );
    let url = format!("https://localhost:{port}/");
    let refused = chromium(&url, home.path()).expect_err("refused before the CA is trusted");
    assert!(
        refused.contains("ERR_CERT_AUTHORITY_INVALID"),
        "Chromium refuses an unknown CA: {refused}"
    );

    // Trust in Chromium's database (created in the test home): Chromium loads the page.
    let _untrust = Untrust(dir.path(), data.path(), home.path());
    let trusted = berth_tls(
        &["tls", "trust", "--store", "nss"],
        dir.path(),
        data.path(),
        home.path(),
    );
    assert!(
        trusted.status.success(),
        "trust: {}{}",
        stdout(&trusted),
        stderr(&trusted)
    );
    let v = json_of(&b(&["tls", "status", "--json"]));
    assert_eq!(endpoint(&v)["state"], "trusted", "{v:#}");
    assert!(
        v["ca"]["trusted_by"].as_array().is_some_and(|t| t
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.contains("Chromium")))),
        "the store that trusts it is named: {v:#}"
    );
    chromium(&url, home.path()).expect("a real browser trusts the page now");
    chromium(
        &format!("https://app.{name}.localhost:{port}/"),
        home.path(),
    )
    .expect("and a name under the project's wildcard");

    // A second issue keeps the good certificate: nginx is not restarted for nothing.
    let again = json_of(&b(&["tls", "issue", "--json"]));
    let again_steps = again["steps"].as_array().expect("steps");
    assert!(
        again_steps
            .iter()
            .any(|s| s["step"] == "write" && s["status"] == "skip")
            && again_steps
                .iter()
                .any(|s| s["step"] == "verify" && s["status"] == "ok"),
        "kept and proven again: {again:#}"
    );
    assert_eq!(
        std::fs::read_to_string(&crt).expect("read"),
        written,
        "the file is unchanged"
    );

    // Untrust: the browser refuses it again.
    let un = berth_tls(&["tls", "untrust"], dir.path(), data.path(), home.path());
    assert!(un.status.success(), "untrust: {}", stderr(&un));
    let v = json_of(&b(&["tls", "status", "--json"]));
    assert_eq!(endpoint(&v)["state"], "untrusted", "{v:#}");
    let refused = chromium(&url, home.path()).expect_err("refused once untrusted");
    assert!(refused.contains("ERR_CERT_AUTHORITY_INVALID"), "{refused}");
}

#[test]
fn as_root_the_system_store_makes_curl_trust_it() {
    require_engine();
    if !crate::is_root() {
        eprintln!("skipped: the system store needs root (CI runs as root)");
        return;
    }
    let _engine = berth_testkit::shared();
    let port = free_local_port();
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    let home = tempfile::tempdir().expect("tmp");
    stack(dir.path(), port);
    let name = format!("berthtlssys{}", std::process::id());
    let _down = ComposeDown(vec![(name.clone(), dir.path().to_path_buf())]);
    let b = |args: &[&str]| in_project(args, &name, dir.path(), data.path(), home.path());
    assert!(b(&["tls", "issue"]).status.success());
    let up = b(&["up"]);
    assert!(up.status.success(), "up: {}", stderr(&up));
    // nginx has no health check here: while it starts, the connection fails (exit 7, 35, 56)
    // before any certificate is judged, so those are asked again.
    let curl = || {
        let mut last = None;
        for _ in 0..40 {
            let o = Command::new("curl")
                .args([
                    "-s",
                    "--max-time",
                    "10",
                    &format!("https://localhost:{port}/"),
                ])
                .output()
                .expect("curl");
            if !matches!(o.status.code(), Some(7 | 35 | 56)) {
                return o;
            }
            last = Some(o);
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        last.expect("curl ran")
    };
    let refused = curl();
    assert_eq!(
        refused.status.code(),
        Some(60),
        "curl refuses an unknown CA (exit 60)"
    );
    let _untrust = Untrust(dir.path(), data.path(), home.path());
    let t = berth_tls(
        &["tls", "trust", "--store", "system"],
        dir.path(),
        data.path(),
        home.path(),
    );
    assert!(t.status.success(), "trust: {}{}", stdout(&t), stderr(&t));
    let ok = curl();
    assert!(
        ok.status.success() && stdout(&ok).contains(PAGE),
        "curl, reading the system bundle, trusts it: {:?} {}",
        ok.status,
        stderr(&ok)
    );
    let un = berth_tls(&["tls", "untrust"], dir.path(), data.path(), home.path());
    assert!(un.status.success(), "untrust: {}", stderr(&un));
    assert_eq!(
        curl().status.code(),
        Some(60),
        "refused again once untrusted"
    );
}

#[test]
fn a_certificate_path_no_mount_holds_gets_a_folder_of_berths_mounted_through_its_override() {
    require_engine();
    let _engine = berth_testkit::shared();
    let port = free_local_port();
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("conf")).expect("mkdir");
    let compose = format!(
        "services:\n  web:\n    image: nginx:alpine\n    ports: [\"127.0.0.1:{port}:443\"]\n    volumes:\n      - ./conf:/etc/nginx/conf.d:ro\n"
    );
    std::fs::write(dir.path().join("compose.yaml"), &compose).expect("write");
    std::fs::write(
        dir.path().join("conf/site.conf"),
        format!("server {{\n  listen 443 ssl;\n  ssl_certificate /etc/ssl/private/site.crt;\n  ssl_certificate_key /etc/ssl/private/site.key;\n  location / {{ return 200 \"{PAGE}\"; }}\n}}\n"),
    )
    .expect("write");
    let name = format!("berthtlsmount{}", std::process::id());
    let _down = ComposeDown(vec![(name.clone(), dir.path().to_path_buf())]);
    let run = |args: &[&str]| in_project(args, &name, dir.path(), data.path(), data.path());
    let v = json_of(&run(&["tls", "status", "--json"]));
    let e = endpoint(&v);
    assert_eq!(e["state"], "missing");
    let problem = e["problem"].as_str().expect("a sentence");
    assert!(
        problem.contains("/etc/ssl/private/site.crt")
            && problem.contains("target: \"/etc/ssl/private\""),
        "names the path and the mount: {problem}"
    );

    let i = run(&["tls", "issue", "--json"]);
    assert!(i.status.success(), "issue: {}{}", stdout(&i), stderr(&i));
    let iv = json_of(&i);
    assert!(
        iv["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["step"] == "place" && s["status"] == "ok"),
        "the folder is mounted through Berth's override: {iv:#}"
    );
    let e = endpoint(&iv);
    let cert = e["cert_path"].as_str().expect("a host path now");
    assert!(
        cert.starts_with(&*data.path().to_string_lossy()),
        "inside Berth's data folder: {cert}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).expect("read"),
        compose,
        "the project's file is untouched"
    );
    let up = run(&["up"]);
    assert!(up.status.success(), "up with the mount: {}", stderr(&up));
    let verified = (0..40).find_map(|_| {
        let v = json_of(&run(&["tls", "status", "--json"]));
        if endpoint(&v)["verified"] == true {
            return Some(v);
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        None
    });
    assert!(
        verified.is_some(),
        "nginx serves the certificate from Berth's folder"
    );
}

#[test]
fn a_certificate_in_a_folder_the_image_fills_is_not_mounted_over() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("conf")).expect("mkdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    image: nginx:alpine\n    ports: [\"127.0.0.1:9443:443\"]\n    volumes:\n      - ./conf:/etc/nginx/conf.d:ro\n",
    )
    .expect("write");
    // Relative to nginx's prefix: /etc/nginx/site.crt, beside nginx.conf.
    std::fs::write(
        dir.path().join("conf/site.conf"),
        "server {\n  listen 443 ssl;\n  ssl_certificate site.crt;\n  ssl_certificate_key site.key;\n}\n",
    )
    .expect("write");
    let i = berth_tls(&["tls", "issue"], dir.path(), data.path(), data.path());
    assert_eq!(i.status.code(), Some(8), "issue fails: {}", stdout(&i));
    assert!(
        stdout(&i).contains("step place failed") && stdout(&i).contains("/etc/nginx/ssl/"),
        "naming the failing step and the way out: {}",
        stdout(&i)
    );
}
