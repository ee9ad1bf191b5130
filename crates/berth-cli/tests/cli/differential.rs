//! The differential test: `berth inspect --json --show-secrets` against Compose v2's own
//! `docker compose config --format json`, on the same files with the same environment.
//!
//! The corpus is every fixture in the repository, the hand-written cases under
//! `tests/differential/cases/` (the compose spec feature by feature), and mutations generated
//! from v2's own output of each accepted case (its canonical form fed back as a compose file,
//! then with an unknown key, a wrong type, a missing dependency, an extension field, a list-form
//! environment, a bad condition, a missing image). Both tools must accept or refuse alike, and
//! for accepted projects agree field by field: project name, services, image, container_name,
//! ports, networks, depends_on with condition, environment after env_file, volumes, healthcheck
//! and profiles. A disagreement fails the test unless the README lists it with its reason
//! (between the `differential:known` markers).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::repo_root;

struct Case {
    name: String,
    dir: PathBuf,
    files: Vec<String>,
    env: Vec<(String, String)>,
    /// What v2 was seen to do when the case was written (`expect`), checked too.
    expect: Option<bool>,
    /// Keeps a generated case's folder alive.
    _tmp: Option<tempfile::TempDir>,
}

#[derive(Debug)]
enum Outcome {
    Accepted(Value),
    Refused(String),
}

fn case_env(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("shell.env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Every fixture folder with a compose file, and the file combinations their tests use.
fn fixture_cases() -> Vec<Case> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut add = |name: &str, dir: PathBuf, files: &[&str]| {
        out.push(Case {
            name: format!("fixture:{name}"),
            dir,
            files: files.iter().map(|f| f.to_string()).collect(),
            env: Vec::new(),
            expect: Some(true),
            _tmp: None,
        })
    };
    let fixtures = root.join("tests/fixtures");
    for entry in
        std::fs::read_dir(&fixtures).unwrap_or_else(|e| panic!("{}: {e}", fixtures.display()))
    {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .expect("a folder name")
            .to_string_lossy()
            .into_owned();
        for sub in [".", "infra"] {
            let d = dir.join(sub);
            if ["docker-compose.yml", "compose.yaml"]
                .iter()
                .any(|f| d.join(f).is_file())
            {
                add(&format!("{name}/{sub}"), d, &[]);
            }
        }
    }
    let orchesity = root.join("tests/fixtures/orchesity");
    add(
        "orchesity+dev",
        orchesity.clone(),
        &["docker-compose.yml", "docker-compose.dev.yml"],
    );
    add(
        "orchesity+scale",
        orchesity,
        &["docker-compose.yml", "docker-compose.scale.yml"],
    );
    add("demo", root.join("demo"), &[]);
    out
}

fn hand_cases() -> Vec<Case> {
    let dir = repo_root().join("tests/differential/cases");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/differential/cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|d| Case {
            name: d
                .file_name()
                .expect("a folder name")
                .to_string_lossy()
                .into_owned(),
            env: case_env(&d),
            expect: std::fs::read_to_string(d.join("expect"))
                .ok()
                .map(|s| s.trim() == "accept"),
            files: Vec::new(),
            dir: d,
            _tmp: None,
        })
        .collect()
}

fn base_command(program: &str, case: &Case, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(&case.dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(case.env.iter().map(|(k, v)| (k, v)));
    c
}

fn run_v2(case: &Case, home: &Path) -> Outcome {
    let mut c = base_command("docker", case, home);
    c.args(["compose", "--project-directory", "."]);
    for f in &case.files {
        c.args(["-f", f]);
    }
    c.args(["config", "--format", "json"]);
    let o = c.output().expect("run docker compose");
    if o.status.success() {
        Outcome::Accepted(serde_json::from_slice(&o.stdout).expect("v2 prints JSON"))
    } else {
        Outcome::Refused(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

fn run_berth(case: &Case, home: &Path) -> Outcome {
    let mut c = base_command(env!("CARGO_BIN_EXE_berth"), case, home);
    c.arg("inspect");
    for f in &case.files {
        c.args(["-f", f]);
    }
    c.args(["--json", "--show-secrets"]);
    let o = c.output().expect("run berth");
    if o.status.success() {
        Outcome::Accepted(serde_json::from_slice(&o.stdout).expect("berth prints JSON"))
    } else {
        Outcome::Refused(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

/// A Go duration (`1m30s`, `1.5s`, `500ms`, `1h0m0s`) in milliseconds.
fn duration_ms(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s.trim();
    if rest == "0" {
        return Some(0.0);
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    Some(total)
}

fn dur(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str) {
        Some(s) => duration_ms(s).map_or(json!(s), |ms| json!(ms)),
        None => Value::Null,
    }
}

fn sorted_strings(items: impl IntoIterator<Item = String>) -> Value {
    let set: BTreeSet<String> = items.into_iter().collect();
    json!(set)
}

/// Lexical `..`/`.` resolution of a host path.
fn clean(p: &Path) -> String {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

/// A healthcheck as compared: `{disabled: true}`, or its test, retries and durations (as
/// durations: v2 rewrites `90s` as `1m30s`).
fn health(h: Option<&Value>, disabled: impl Fn(&Value) -> bool) -> Value {
    match h {
        None | Some(Value::Null) => Value::Null,
        Some(h) if disabled(h) => json!({"disabled": true}),
        Some(h) => json!({
            "test": h["test"],
            "interval": dur(h.get("interval")),
            "timeout": dur(h.get("timeout")),
            "retries": h["retries"],
            "start_period": dur(h.get("start_period")),
        }),
    }
}

/// The compared fields of one service, each side's values already normalised; `s` gives the
/// fields both tools print alike (image, container_name, profiles).
fn record(
    s: &Value,
    ports: impl Iterator<Item = String>,
    networks: impl Iterator<Item = String>,
    depends_on: Value,
    environment: BTreeMap<String, Value>,
    volumes: impl Iterator<Item = String>,
    healthcheck: Value,
) -> Value {
    json!({
        "image": s["image"],
        "container_name": s["container_name"],
        "ports": sorted_strings(ports),
        "networks": sorted_strings(networks),
        "depends_on": depends_on,
        "environment": environment,
        "volumes": sorted_strings(volumes),
        "healthcheck": healthcheck,
        "profiles": sorted_strings(
            s["profiles"].as_array().into_iter().flatten().filter_map(|p| p.as_str().map(str::to_owned))
        ),
    })
}

/// One comparable record per service, from v2's output.
fn project_v2(v: &Value) -> (String, BTreeMap<String, Value>) {
    let name = v["name"].as_str().unwrap_or_default().to_owned();
    let mut services = BTreeMap::new();
    for (sname, s) in v["services"].as_object().into_iter().flatten() {
        let ports = s["ports"].as_array().into_iter().flatten().map(|p| {
            format!(
                "{}|{}|{}|{}",
                p["host_ip"].as_str().unwrap_or(""),
                p["published"].as_str().unwrap_or(""),
                p["target"],
                p["protocol"].as_str().unwrap_or("tcp")
            )
        });
        let volumes = s["volumes"].as_array().into_iter().flatten().map(|m| {
            format!(
                "{}|{}|{}|{}",
                m["type"].as_str().unwrap_or(""),
                m["source"].as_str().unwrap_or(""),
                m["target"].as_str().unwrap_or(""),
                m["read_only"].as_bool().unwrap_or(false)
            )
        });
        let environment: BTreeMap<String, Value> = s["environment"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, val)| !val.is_null())
            .map(|(k, val)| {
                // `config` prints a compose file, so a literal `$` is written `$$`.
                let text = val.as_str().map_or(val.to_string(), str::to_owned);
                (k.clone(), json!(text.replace("$$", "$")))
            })
            .collect();
        let depends_on: BTreeMap<String, Value> = s["depends_on"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, d)| (k.clone(), d["condition"].clone()))
            .collect();
        // `test: ["NONE"]` is how Docker spells a disabled check.
        let disabled = |h: &Value| h["disable"].as_bool() == Some(true) || h["test"][0] == "NONE";
        let healthcheck = health(s.get("healthcheck"), disabled);
        let networks = s["networks"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone());
        services.insert(
            sname.clone(),
            record(
                s,
                ports,
                networks,
                json!(depends_on),
                environment,
                volumes,
                healthcheck,
            ),
        );
    }
    (name, services)
}

/// The same record from Berth's `inspect --json`.
fn project_berth(v: &Value) -> (String, BTreeMap<String, Value>) {
    let name = v["project"].as_str().unwrap_or_default().to_owned();
    let wd = PathBuf::from(v["working_dir"].as_str().unwrap_or_default());
    let mut services = BTreeMap::new();
    for s in v["services"].as_array().into_iter().flatten() {
        let ports = s["ports"].as_array().into_iter().flatten().map(|p| {
            let published = match (&p["host_port_range"], &p["host_port"]) {
                (Value::Array(r), _) if r.len() == 2 => format!("{}-{}", r[0], r[1]),
                (_, Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            format!(
                "{}|{}|{}|{}",
                p["host_ip"].as_str().unwrap_or(""),
                published,
                p["container_port"],
                p["protocol"].as_str().unwrap_or("tcp")
            )
        });
        let volumes = s["volumes"].as_array().into_iter().flatten().map(|m| {
            let kind = m["type"].as_str().unwrap_or("");
            let source = m["source"].as_str().unwrap_or("");
            let (kind, source) = match kind {
                "anonymous" => ("volume", String::new()),
                "bind" => ("bind", clean(&wd.join(source))),
                k => (k, source.to_owned()),
            };
            format!(
                "{kind}|{source}|{}|{}",
                m["target"].as_str().unwrap_or(""),
                m["read_only"].as_bool().unwrap_or(false)
            )
        });
        let healthcheck = health(s.get("healthcheck_detail"), |h| {
            h["disabled"].as_bool() == Some(true)
        });
        let environment: BTreeMap<String, Value> = s["environment"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let networks = s["networks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned));
        services.insert(
            s["name"].as_str().unwrap_or_default().to_owned(),
            record(
                s,
                ports,
                networks,
                s["depends_on"].clone(),
                environment,
                volumes,
                healthcheck,
            ),
        );
    }
    (name, services)
}

/// `(case, field)` pairs where the two disagree, with both sides shown.
fn compare(case: &str, berth: &Outcome, v2: &Outcome) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    match (berth, v2) {
        (Outcome::Refused(_), Outcome::Refused(_)) => {}
        (Outcome::Accepted(_), Outcome::Refused(e)) => out.push((
            case.into(),
            "accept".into(),
            format!("berth accepts; v2: {e}"),
        )),
        (Outcome::Refused(e), Outcome::Accepted(_)) => out.push((
            case.into(),
            "accept".into(),
            format!("v2 accepts; berth: {e}"),
        )),
        (Outcome::Accepted(b), Outcome::Accepted(v)) => {
            let (bn, bs) = project_berth(b);
            let (vn, vs) = project_v2(v);
            if bn != vn {
                out.push((
                    case.into(),
                    "name".into(),
                    format!("berth {bn:?}, v2 {vn:?}"),
                ));
            }
            let bk: BTreeSet<&String> = bs.keys().collect();
            let vk: BTreeSet<&String> = vs.keys().collect();
            if bk != vk {
                out.push((
                    case.into(),
                    "services".into(),
                    format!("berth {bk:?}, v2 {vk:?}"),
                ));
            }
            for (sname, bsvc) in &bs {
                let Some(vsvc) = vs.get(sname) else { continue };
                for (field, bval) in bsvc.as_object().into_iter().flatten() {
                    let vval = &vsvc[field];
                    if bval != vval {
                        out.push((
                            case.into(),
                            field.clone(),
                            format!("{sname}: berth {bval}, v2 {vval}"),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Mutations of v2's canonical output of an accepted case, each a new compose file.
fn mutations(v2: &Value) -> Vec<(&'static str, Value)> {
    let mut out = vec![("roundtrip", v2.clone())];
    let Some(first) = v2["services"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
    else {
        return out;
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = v2.clone();
        f(&mut v);
        v
    };
    out.push((
        "unknown-key",
        with(&|v| v["services"][&first]["zz_not_a_key"] = json!(1)),
    ));
    out.push((
        "wrong-type",
        with(&|v| v["services"][&first]["container_name"] = json!(["a", "list"])),
    ));
    out.push((
        "ghost-dependency",
        with(&|v| {
            let s = &mut v["services"][&first];
            if !s["depends_on"].is_object() {
                s["depends_on"] = json!({});
            }
            s["depends_on"]["ghost"] = json!({"condition": "service_started", "required": true});
        }),
    ));
    out.push((
        "extensions",
        with(&|v| {
            v["x-berth"] = json!({"any": [1, 2]});
            v["services"][&first]["x-note"] = json!("kept");
        }),
    ));
    if v2["services"][&first]["environment"].is_object() {
        out.push((
            "environment-as-list",
            with(&|v| {
                let env = v["services"][&first]["environment"].take();
                let list: Vec<Value> = env
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, val)| match val.as_str() {
                        Some(s) => json!(format!("{k}={s}")),
                        None => json!(k),
                    })
                    .collect();
                v["services"][&first]["environment"] = json!(list);
            }),
        ));
    }
    if let Some(dep) = v2["services"][&first]["depends_on"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
    {
        out.push((
            "bad-condition",
            with(&|v| {
                v["services"][&first]["depends_on"][&dep]["condition"] = json!("service_ready")
            }),
        ));
    }
    if v2["services"][&first].get("build").is_none() {
        out.push((
            "no-image",
            with(&|v| {
                if let Some(m) = v["services"][&first].as_object_mut() {
                    m.remove("image");
                }
            }),
        ));
    }
    out
}

/// The disagreements the README lists, as `case-prefix field` pairs.
fn known() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let start = "<!-- differential:known -->";
    let end = "<!-- /differential:known -->";
    let Some(block) = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(b, _)| b)
    else {
        return Vec::new();
    };
    block
        .lines()
        .filter_map(|l| {
            // | `case` | `field` | reason |
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() >= 4 && cells[1].starts_with('`')).then(|| {
                (
                    cells[1].trim_matches('`').to_owned(),
                    cells[2].trim_matches('`').to_owned(),
                )
            })
        })
        .collect()
}

/// Runs both tools on every case, two cases at a time (the machine has two cores), in order.
fn run_all<'a>(cases: &'a [Case], home: &Path) -> Vec<(&'a Case, Outcome, Outcome)> {
    let half = cases.len().div_ceil(2).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(half)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|c| (c, run_berth(c, home), run_v2(c, home)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    })
}

#[test]
fn berth_agrees_with_compose_v2_config_on_the_whole_corpus() {
    if Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .map_or(true, |o| {
            !o.status.success() || !o.stdout.starts_with(b"2.")
        })
    {
        panic!("Compose v2 (`docker compose`) is needed: scripts/setup.sh installs it");
    }
    let home = tempfile::tempdir().expect("home");
    let mut cases = fixture_cases();
    cases.extend(hand_cases());

    let mut generated = Vec::new();
    let mut results: Vec<(String, Outcome, Outcome)> = Vec::new();
    let mut expect_wrong = Vec::new();
    for (case, berth, v2) in run_all(&cases, home.path()) {
        if let Some(e) = case.expect {
            if e != matches!(v2, Outcome::Accepted(_)) {
                expect_wrong.push(format!("{}: expected {e}, v2 gave {v2:?}", case.name));
            }
        }
        if let Outcome::Accepted(v) = &v2 {
            for (m, doc) in mutations(v) {
                let tmp = tempfile::Builder::new()
                    .prefix("berth-diff")
                    .tempdir()
                    .expect("temp dir");
                std::fs::write(
                    tmp.path().join("compose.yaml"),
                    serde_json::to_string_pretty(&doc).expect("json"),
                )
                .expect("write mutation");
                generated.push(Case {
                    name: format!("{}~{m}", case.name),
                    dir: tmp.path().to_path_buf(),
                    files: Vec::new(),
                    env: Vec::new(),
                    expect: None,
                    _tmp: Some(tmp),
                });
            }
        }
        results.push((case.name.clone(), berth, v2));
    }
    for (case, berth, v2) in run_all(&generated, home.path()) {
        results.push((case.name.clone(), berth, v2));
    }

    let known = known();
    let mut unexpected = Vec::new();
    let mut listed = 0;
    let mut agreeing = 0;
    let (mut accepted, mut refused) = (0, 0);
    for (name, berth, v2) in &results {
        match v2 {
            Outcome::Accepted(_) => accepted += 1,
            Outcome::Refused(_) => refused += 1,
        }
        let diffs = compare(name, berth, v2);
        if diffs.is_empty() {
            agreeing += 1;
        }
        for (case, field, detail) in diffs {
            if known
                .iter()
                .any(|(k, f)| case.starts_with(k.as_str()) && (f == &field || f == "*"))
            {
                listed += 1;
            } else {
                unexpected.push(format!("{case} [{field}]: {detail}"));
            }
        }
    }
    println!(
        "differential: {} projects ({} fixtures and cases, {} mutations); v2 accepted {accepted}, refused {refused}; {agreeing} agree on every field; {listed} listed differences",
        results.len(),
        cases.len(),
        generated.len()
    );
    assert!(
        expect_wrong.is_empty(),
        "the corpus's `expect` files no longer match v2:\n{}",
        expect_wrong.join("\n")
    );
    assert!(
        unexpected.is_empty(),
        "{} disagreements with Compose v2 (fix them or list them in the README with the reason):\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn go_durations_convert() {
    for (s, ms) in [
        ("1m30s", 90_000.0),
        ("90s", 90_000.0),
        ("1h0m0s", 3_600_000.0),
        ("500ms", 500.0),
        ("1.5s", 1500.0),
    ] {
        assert_eq!(duration_ms(s), Some(ms), "{s}");
    }
    assert_eq!(duration_ms("soon"), None);
}
