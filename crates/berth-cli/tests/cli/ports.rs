//! `berth ports` and the check `berth up` runs first, against real sockets: listeners this test
//! starts (TCP on 127.0.0.1, TCP on ::1 only, UDP), containers of another compose project, a
//! stack that collides with itself, a remap used by a real `up`, and a root listener seen by a
//! user who cannot see root's processes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use berth_testkit::{docker, free_local_port, require_engine};
use serde_json::Value;

use crate::{stderr, stdout, ComposeDown};

/// A socket held by a Python process until the value is dropped.
struct Held(Child);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const LISTEN: &str = r#"
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind((host, port))
if proto == "tcp":
    s.listen()
print("ready", flush=True)
sys.stdin.read()
"#;

fn hold(proto: &str, host: &str, port: u16) -> Held {
    let mut child = Command::new("python3")
        .args([
            "-c",
            LISTEN,
            proto,
            host,
            &port.to_string(),
            "berth-test-listener",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(
        line.trim(),
        "ready",
        "the listener on {host}:{port}/{proto} did not start"
    );
    Held(child)
}

fn berth_as(args: &[&str], dir: &Path, data: &Path) -> Output {
    crate::berth_with(args, dir, Some(data))
}

fn port_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "berth ports printed no JSON ({e}): {}{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// The entry of `service` for host port `port` (and container port `target`).
fn entry<'a>(v: &'a Value, service: &str, target: u64) -> &'a Value {
    v["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["service"] == service && p["container_port"] == target)
        .unwrap_or_else(|| panic!("no {service}→{target} in {v:#}"))
}

#[test]
fn host_listeners_are_named_by_process_with_the_kernels_address_rules() {
    let (p1, p2, p3, p4, p5) = (
        free_local_port(),
        free_local_port(),
        free_local_port(),
        free_local_port(),
        free_local_port(),
    );
    let any = hold("tcp", "127.0.0.1", p1);
    // `::` with IPV6_V6ONLY (the listener script sets it on every IPv6 socket): all of IPv6,
    // none of IPv4.
    let _v6only = hold("tcp", "::", p5);
    let _v6 = hold("tcp", "::1", p2);
    let _udp = hold("udp", "127.0.0.1", p3);
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  web:\n    image: berth-fixture/busybox:1\n    ports:\n      - \"{p1}:80\"\n      - \"127.0.0.1:{p2}:81\"\n      - \"[::1]:{p2}:82\"\n      - \"127.0.0.1:{p3}:53/udp\"\n      - \"127.0.0.1:{p3}:54\"\n      - \"127.0.0.1:{p5}:83\"\n      - \"[::1]:{p5}:84\"\n      - \"90\"\n  a:\n    image: berth-fixture/busybox:1\n    ports: [\"127.0.0.1:{p4}:80\"]\n  b:\n    image: berth-fixture/busybox:1\n    ports: [\"{p4}:80\"]\n"
        ),
    )
    .expect("write");
    let o = berth_as(&["ports", "--json"], dir.path(), data.path());
    assert_eq!(o.status.code(), Some(6), "conflicts exit 6: {}", stderr(&o));
    let v = port_json(&o);
    assert!(
        v["project"].as_str().is_some_and(|p| !p.is_empty()),
        "the project is named: {v:#}"
    );
    assert_eq!(
        v["ports"].as_array().unwrap().len(),
        9,
        "every fixed port, the ephemeral one left out: {v:#}"
    );

    let web80 = entry(&v, "web", 80);
    assert_eq!(
        web80["status"], "conflict",
        "no host_ip means 0.0.0.0, which 127.0.0.1 blocks"
    );
    assert_eq!(web80["host_ip"], "0.0.0.0");
    assert_eq!(web80["owner"]["kind"], "process");
    assert_eq!(
        web80["owner"]["pid"],
        any.0.id(),
        "the PID of the process that listens"
    );
    assert_eq!(web80["owner"]["name"], "python3");
    assert_eq!(web80["owner"]["user"], "root");
    assert!(
        web80["owner"]["command"]
            .as_str()
            .unwrap()
            .contains("berth-test-listener"),
        "{web80:#}"
    );
    let suggested = web80["suggestion"]["host_port"]
        .as_u64()
        .expect("a suggestion") as u16;
    assert!(
        suggested != p1 && std::net::TcpListener::bind(("0.0.0.0", suggested)).is_ok(),
        "the suggestion is free: {suggested}"
    );

    assert_eq!(
        entry(&v, "web", 81)["status"],
        "free",
        "::1 does not block 127.0.0.1"
    );
    assert_eq!(
        entry(&v, "web", 82)["status"],
        "conflict",
        "but it blocks ::1"
    );
    assert_eq!(
        entry(&v, "web", 53)["status"],
        "conflict",
        "a bound UDP socket blocks UDP"
    );
    assert_eq!(entry(&v, "web", 53)["protocol"], "udp");
    assert_eq!(
        entry(&v, "web", 83)["status"],
        "free",
        "a v6-only :: listener leaves 127.0.0.1 free (the kernel says IPV6_V6ONLY)"
    );
    assert_eq!(entry(&v, "web", 84)["status"], "conflict", "and takes ::1");
    assert_eq!(
        entry(&v, "web", 54)["status"],
        "free",
        "and leaves TCP alone"
    );
    assert_eq!(
        entry(&v, "a", 80)["owner"],
        serde_json::json!({"kind": "stack", "service": "b"})
    );
    assert_eq!(
        entry(&v, "b", 80)["owner"],
        serde_json::json!({"kind": "stack", "service": "a"})
    );

    let human = berth_as(&["ports"], dir.path(), data.path());
    assert_eq!(human.status.code(), Some(6));
    assert!(
        stdout(&human).contains(&format!(
            "host port {p1} (web) is held by python3 (PID {}",
            any.0.id()
        )),
        "the sentence names the owner: {}",
        stdout(&human)
    );
}

#[test]
fn a_container_of_another_stack_is_named_and_up_is_refused_then_a_remap_brings_it_up() {
    require_engine();
    let _engine = berth_testkit::shared();
    let port = free_local_port();
    let other = tempfile::tempdir().expect("tmp");
    let mine = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    let stack = |ports: &str| {
        format!("services:\n  web:\n    image: berth-fixture/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n    ports: [{ports}]\n")
    };
    std::fs::write(
        other.path().join("compose.yaml"),
        stack(&format!("\"127.0.0.1:{port}:80\"")),
    )
    .expect("write");
    std::fs::write(
        mine.path().join("compose.yaml"),
        stack(&format!("\"127.0.0.1:{port}:80\"")),
    )
    .expect("write");
    let other_name = format!("berthportsother{}", std::process::id());
    let mine_name = format!("berthportsmine{}", std::process::id());
    let _down = ComposeDown(vec![
        (other_name.clone(), other.path().to_path_buf()),
        (mine_name.clone(), mine.path().to_path_buf()),
    ]);
    // `berth ports -p MINE …` in mine's folder, the command most of this test runs.
    let mine_ports = |extra: &[&str]| {
        let mut args = vec!["ports", "-p", mine_name.as_str()];
        args.extend_from_slice(extra);
        berth_as(&args, mine.path(), data.path())
    };
    let up_other = berth_as(&["up", "-p", &other_name], other.path(), data.path());
    assert!(
        up_other.status.success(),
        "the other stack comes up: {}",
        stderr(&up_other)
    );

    // Its own ports are its own.
    let own = berth_as(
        &["ports", "-p", &other_name, "--json"],
        other.path(),
        data.path(),
    );
    assert_eq!(
        own.status.code(),
        Some(0),
        "held by the stack itself is not a conflict: {}",
        stdout(&own)
    );
    assert_eq!(entry(&port_json(&own), "web", 80)["status"], "ours");

    let o = mine_ports(&["--json"]);
    assert_eq!(o.status.code(), Some(6));
    let v = port_json(&o);
    let owner = &entry(&v, "web", 80)["owner"];
    assert_eq!(
        owner["kind"], "container",
        "docker-proxy is named as the container behind it: {owner:#}"
    );
    assert_eq!(owner["project"], other_name.as_str());
    assert_eq!(owner["service"], "web");
    assert_eq!(
        owner["stack_dir"]
            .as_str()
            .map(|d| Path::new(d).canonicalize().ok()),
        Some(other.path().canonicalize().ok()),
        "the other stack's folder"
    );
    let suggested = entry(&v, "web", 80)["suggestion"]["host_port"]
        .as_u64()
        .expect("suggestion");

    let refused = berth_as(&["up", "-p", &mine_name], mine.path(), data.path());
    assert_eq!(
        refused.status.code(),
        Some(6),
        "up refuses: {}",
        stderr(&refused)
    );
    let said = stderr(&refused);
    assert!(
        said.contains(&other_name) && said.contains(&format!("--remap web:{port}={suggested}")),
        "one sentence names the owner and the fix: {said}"
    );
    assert!(
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={mine_name}")
        ])
        .is_empty(),
        "nothing was started"
    );

    let remap = mine_ports(&["--remap", &format!("web:{port}={suggested}"), "--json"]);
    assert!(remap.status.success(), "remap: {}", stderr(&remap));
    let rv = port_json(&remap);
    let override_file = rv["override_file"].as_str().expect("file").to_owned();
    assert!(
        override_file.starts_with(&*data.path().to_string_lossy()),
        "kept in Berth's data folder: {override_file}"
    );
    assert!(
        std::fs::read_to_string(mine.path().join("compose.yaml"))
            .unwrap()
            .contains(&port.to_string()),
        "the project's file is untouched"
    );

    let up = berth_as(&["up", "-p", &mine_name], mine.path(), data.path());
    assert!(
        up.status.success(),
        "up with the remap: {}{}",
        stdout(&up),
        stderr(&up)
    );
    let bound = docker(&[
        "compose",
        "-p",
        &mine_name,
        "--project-directory",
        &mine.path().to_string_lossy(),
        "port",
        "web",
        "80",
    ]);
    assert_eq!(
        bound,
        format!("127.0.0.1:{suggested}"),
        "compose used the override as the last -f"
    );
    let after = mine_ports(&["--json"]);
    assert_eq!(after.status.code(), Some(0), "{}", stdout(&after));
    let e = entry(&port_json(&after), "web", 80).clone();
    assert_eq!(
        (e["host_port"].as_u64(), e["status"].as_str()),
        (Some(suggested), Some("ours"))
    );

    let undo = mine_ports(&["--unremap", &format!("web:{port}")]);
    assert!(undo.status.success(), "unremap: {}", stderr(&undo));
    assert!(
        !Path::new(&override_file).exists(),
        "undo removes the override"
    );
    let back = port_json(&mine_ports(&["--json"]));
    assert_eq!(
        entry(&back, "web", 80)["host_port"].as_u64(),
        Some(u64::from(port)),
        "the file's port again"
    );

    // The override written into the project: compose reads it there, Berth's copy is dropped.
    let again = mine_ports(&["--remap", &format!("web:{port}={suggested}")]);
    assert!(again.status.success(), "remap: {}", stderr(&again));
    let written = mine_ports(&["--write-override"]);
    assert!(written.status.success(), "write: {}", stderr(&written));
    let project_override = mine.path().join("compose.override.yaml");
    let text = std::fs::read_to_string(&project_override).expect("the project's override file");
    assert!(
        text.contains(&format!("published: \"{suggested}\"")) && text.contains("!override"),
        "the remap, as Berth kept it: {text}"
    );
    assert!(
        !Path::new(&override_file).exists(),
        "Berth's own copy is dropped once the project holds it"
    );
    let read = port_json(&mine_ports(&["--json"]));
    assert_eq!(
        entry(&read, "web", 80)["host_port"].as_u64(),
        Some(suggested),
        "the project's override is read like any compose override: {read:#}"
    );
    let twice = mine_ports(&["--write-override"]);
    assert!(
        !twice.status.success() && stderr(&twice).contains("no host port"),
        "nothing left to write: {}",
        stderr(&twice)
    );
    std::fs::remove_file(&project_override).expect("remove");

    // The other stack in the way, stopped with one command through its own compose stop.
    let taken = port_json(&mine_ports(&["--json"]));
    assert_eq!(
        entry(&taken, "web", 80)["stop_holder"],
        format!("web of {other_name}").as_str(),
        "Berth offers to stop the other stack's service: {taken:#}"
    );
    let stopped = mine_ports(&["--stop-holder", &format!("web:{port}")]);
    assert!(stopped.status.success(), "stop: {}", stderr(&stopped));
    assert!(
        stdout(&stopped).contains(&format!("Stopped web of {other_name}")),
        "{}",
        stdout(&stopped)
    );
    assert!(
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={other_name}")
        ])
        .is_empty(),
        "the other stack's container is stopped"
    );
    assert!(
        !docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={other_name}")
        ])
        .is_empty(),
        "stopped, not removed: it can be started again"
    );
    let free = mine_ports(&["--json"]);
    assert_eq!(
        free.status.code(),
        Some(0),
        "the port is free: {}",
        stdout(&free)
    );
    let refused_stop = mine_ports(&["--stop-holder", &format!("web:{port}")]);
    assert!(
        !refused_stop.status.success(),
        "nothing to stop once the port is free"
    );
}

#[test]
fn a_root_listener_seen_by_another_user_is_said_to_be_hidden() {
    let port = free_local_port();
    let _root = hold("tcp", "127.0.0.1", port);
    // A copy of berth and a stack that user nobody can read.
    let bin = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    use std::os::unix::fs::PermissionsExt;
    for d in [bin.path(), dir.path(), data.path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    let berth = bin.path().join("berth");
    std::fs::copy(env!("CARGO_BIN_EXE_berth"), &berth).expect("copy");
    std::fs::set_permissions(&berth, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  web:\n    image: x\n    ports: [\"{port}:80\"]\n"),
    )
    .expect("write");
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&berth)
        .args(["ports", "--json"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BERTH_DATA_DIR", data.path())
        .output()
        .expect("setpriv");
    assert_eq!(o.status.code(), Some(6), "{}{}", stdout(&o), stderr(&o));
    let v = port_json(&o);
    let owner = &entry(&v, "web", 80)["owner"];
    assert_eq!(
        owner["kind"], "unknown",
        "nobody cannot see root's process: {owner:#}"
    );
    let detail = owner["detail"].as_str().unwrap();
    assert!(
        detail.contains("root") && detail.contains("uid 0"),
        "the user is still named: {detail}"
    );
}

#[test]
fn a_port_taken_behind_the_checks_back_comes_back_with_its_owner_named() {
    require_engine();
    let _engine = berth_testkit::shared();
    let port = free_local_port();
    let holder = hold("tcp", "127.0.0.1", port);
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  web:\n    image: berth-fixture/busybox:1\n    command: [\"sleep\", \"600\"]\n    init: true\n    ports: [\"127.0.0.1:{port}:80\"]\n"),
    )
    .expect("write");
    let project = format!("berthportsrace{}", std::process::id());
    let _down = ComposeDown(vec![(project.clone(), dir.path().to_path_buf())]);
    // Skipping the check stands for a port taken between the check and compose binding it.
    let o = berth_as(
        &["up", "-p", &project, "--skip-port-check"],
        dir.path(),
        data.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(6),
        "compose's bind failure is the typed port conflict: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&format!("held by python3 (PID {})", holder.0.id())),
        "with the owner filled in: {}",
        stderr(&o)
    );
}

#[test]
fn a_remap_follows_later_edits_of_the_files_and_an_override_others_could_write_is_ignored() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("compose.yaml");
    let (a, b, c) = (free_local_port(), free_local_port(), free_local_port());
    std::fs::write(
        &file,
        format!("services:\n  web:\n    image: x\n    ports: [\"127.0.0.1:{a}:80\"]\n"),
    )
    .expect("write");
    let remap = berth_as(
        &["ports", "--remap", &format!("web:{a}={b}"), "--json"],
        dir.path(),
        data.path(),
    );
    assert!(remap.status.success(), "{}", stderr(&remap));
    let override_file = port_json(&remap)["override_file"]
        .as_str()
        .expect("file")
        .to_owned();
    let published = || -> Vec<u64> {
        let o = berth_as(&["inspect", "--json"], dir.path(), data.path());
        let v: Value = serde_json::from_slice(&o.stdout).expect("inspect JSON");
        v["services"][0]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .filter_map(|p| p["host_port"].as_u64())
            .collect()
    };
    assert_eq!(
        published(),
        [u64::from(b)],
        "inspect shows the remapped port"
    );
    // A port added to the file after the remap is not hidden by the override's old list.
    std::fs::write(&file, format!("services:\n  web:\n    image: x\n    ports: [\"127.0.0.1:{a}:80\", \"127.0.0.1:{c}:81\"]\n")).expect("write");
    assert_eq!(
        published(),
        [u64::from(b), u64::from(c)],
        "the override is made again from the files as they are"
    );
    // A stack folder other users can write to: its override is not passed to compose.
    use std::os::unix::fs::PermissionsExt;
    let stack_dir = Path::new(&override_file).parent().expect("dir");
    std::fs::set_permissions(stack_dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert_eq!(
        published(),
        [u64::from(a), u64::from(c)],
        "an override that others could have written is ignored"
    );
}
