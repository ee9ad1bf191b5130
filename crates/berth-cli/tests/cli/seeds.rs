//! The five stacks from shared/seeds, reproduced under tests/fixtures, compared with their checked
//! in expected models, plus the facts each seed document states, asserted one by one so that a
//! wrong golden file cannot hide a wrong graph.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::{berth, fixture, json, stdout};

/// Seeds as (fixture folder, project folder inside it, extra args, golden name).
const SEEDS: &[(&str, &str, &[&str], &str)] = &[
    ("luminai", ".", &[], "inspect"),
    ("functionalfit", "infra", &[], "inspect"),
    (
        "functionalfit",
        "infra",
        &["--profile", "dev"],
        "inspect-dev",
    ),
    ("primehub", ".", &[], "inspect"),
    ("orchesity", ".", &[], "inspect"),
    (
        "orchesity",
        ".",
        &["-f", "docker-compose.yml", "-f", "docker-compose.scale.yml"],
        "inspect-scale",
    ),
    ("fintrack", ".", &[], "inspect"),
];

fn without_machine_paths(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("working_dir".into(), Value::String("<working_dir>".into()));
    }
    v
}

#[test]
fn seed_models_match_their_expected_files() {
    let bless = std::env::var_os("BERTH_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, sub, extra, golden) in SEEDS {
        let dir = fixture(name).join(sub);
        let mut args = vec!["inspect", "--json"];
        args.extend_from_slice(extra);
        let got = without_machine_paths(json(&berth(&args, &dir)));
        let path = fixture(name)
            .join("expected")
            .join(format!("{golden}.json"));
        let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
        if bless {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &text).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("missing {}; run with BERTH_BLESS=1", path.display()));
        if want != text {
            failures.push(format!(
                "{name} {golden}: output differs from {}\n{}",
                path.display(),
                first_difference(&want, &text)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  expected: {w}\n  got:      {g}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        want.lines().count(),
        got.lines().count()
    )
}

fn inspect(name: &str, sub: &str, extra: &[&str]) -> Value {
    let mut args = vec!["inspect", "--json"];
    args.extend_from_slice(extra);
    json(&berth(&args, &fixture(name).join(sub)))
}

fn edge_set(v: &Value) -> BTreeSet<(String, String, String)> {
    v["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap_or_default().to_owned(),
                e["to"].as_str().unwrap_or_default().to_owned(),
                e["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn edge(from: &str, to: &str, kind: &str) -> (String, String, String) {
    (from.into(), to.into(), kind.into())
}

fn service<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("service {name} missing"))
}

fn names(v: &Value) -> Vec<String> {
    v["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn luminai_nginx_tls_app_postgres_redis() {
    let v = inspect("luminai", ".", &[]);
    assert_eq!(v["project"], "luminai");
    assert_eq!(names(&v), vec!["nginx", "app", "database", "redis"]);
    let e = edge_set(&v);
    for want in [
        edge("nginx", "app", "proxy_pass"),
        edge("nginx", "app", "depends_on"),
        edge("app", "database", "env_url"),
        edge("app", "redis", "env_url"),
    ] {
        assert!(e.contains(&want), "{want:?} missing from {e:?}");
    }
    let proxy = v["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|x| x["kind"] == "proxy_pass")
        .expect("proxy edge");
    assert_eq!(
        proxy["evidence"], "nginx/conf/default.conf:16",
        "evidence points at the proxy_pass line"
    );
    let roles: Vec<&str> = ["nginx", "app", "database", "redis"]
        .iter()
        .map(|n| service(&v, n)["role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(roles, vec!["reverse_proxy", "app", "database", "cache"]);
    let ports: Vec<u64> = service(&v, "nginx")["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["host_port"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(ports, vec![80, 443]);
    let db_env = &service(&v, "database")["environment"];
    assert_eq!(
        db_env["POSTGRES_PASSWORD"], "********",
        "passwords are masked"
    );
    assert_eq!(
        db_env["POSTGRES_USER"], "luminai_user",
        "other values are shown"
    );
    let app_env = &service(&v, "app")["environment"];
    assert_eq!(
        app_env["DATABASE_URL"],
        "postgresql://luminai_user:********@database:5432/luminai_db"
    );
    let text = serde_json::to_string(&v).expect("json");
    assert!(
        !text.contains("LuminaiSecure2025!"),
        "the password appears nowhere in the output"
    );
}

#[test]
fn functionalfit_three_networks_and_dev_profile() {
    let v = inspect("functionalfit", "infra", &[]);
    assert_eq!(
        v["project"], "functionalfit",
        "COMPOSE_PROJECT_NAME from infra/.env"
    );
    assert_eq!(
        names(&v),
        vec![
            "nginx",
            "php-fpm",
            "queue-worker",
            "scheduler",
            "mysql",
            "redis"
        ]
    );
    assert_eq!(v["inactive_services"], serde_json::json!(["frontend-dev"]));
    let nets = v["networks"].as_array().expect("networks");
    let net = |n: &str| {
        nets.iter()
            .find(|x| x["name"] == n)
            .unwrap_or_else(|| panic!("network {n}"))
    };
    assert_eq!(
        net("frontend-network")["services"],
        serde_json::json!(["nginx"])
    );
    assert_eq!(
        net("backend-network")["services"],
        serde_json::json!(["nginx", "php-fpm", "queue-worker", "scheduler"])
    );
    assert_eq!(
        net("data-network")["services"],
        serde_json::json!(["php-fpm", "queue-worker", "scheduler", "mysql", "redis"])
    );
    assert_eq!(net("data-network")["internal"], true);
    assert_eq!(
        service(&v, "nginx")["networks"],
        serde_json::json!(["frontend-network", "backend-network"]),
        "a service on two networks lists both"
    );
    let roles: Vec<&str> = names(&v)
        .iter()
        .map(|n| service(&v, n)["role"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        roles,
        vec![
            "reverse_proxy",
            "app",
            "queue_worker",
            "scheduler",
            "database",
            "cache"
        ]
    );
    let e = edge_set(&v);
    assert!(
        e.contains(&edge("nginx", "php-fpm", "fastcgi_pass")),
        "{e:?}"
    );
    assert!(
        e.contains(&edge("queue-worker", "mysql", "env_host")),
        "{e:?}"
    );
    assert!(
        !e.iter().any(|(_, to, _)| to == "frontend-dev"),
        "no edge to a service outside the active profiles"
    );

    let dev = inspect("functionalfit", "infra", &["--profile", "dev"]);
    assert!(names(&dev).contains(&"frontend-dev".to_string()));
    assert_eq!(service(&dev, "frontend-dev")["role"], "frontend_dev_server");
    assert!(edge_set(&dev).contains(&edge("nginx", "frontend-dev", "proxy_pass")));
    let php_env = &service(&v, "php-fpm")["environment"];
    assert_eq!(php_env["DB_PASSWORD"], "********");
    assert_eq!(php_env["APP_KEY"], "********");
    assert_eq!(
        php_env["DB_DATABASE"], "functionalfit_db",
        "interpolated from infra/.env"
    );
}

#[test]
fn primehub_nginx_app_node_and_queue_from_one_anchor() {
    let v = inspect("primehub", ".", &[]);
    let e = edge_set(&v);
    for want in [
        edge("nginx", "app", "fastcgi_pass"),
        edge("nginx", "node", "proxy_pass"),
        edge("app", "db", "env_host"),
        edge("app", "redis", "env_host"),
        edge("queue", "db", "env_host"),
        edge("queue", "redis", "depends_on"),
    ] {
        assert!(e.contains(&want), "{want:?} missing from {e:?}");
    }
    assert_eq!(service(&v, "queue")["role"], "queue_worker");
    assert_eq!(service(&v, "node")["role"], "frontend_dev_server");
    let host_ports: BTreeSet<u64> = v["services"]
        .as_array()
        .expect("s")
        .iter()
        .flat_map(|s| s["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["host_port"].as_u64())
        .collect();
    assert_eq!(
        host_ports,
        [80, 443, 3306, 5173, 6379].into_iter().collect(),
        "the document's external ports"
    );
}

#[test]
fn orchesity_health_gated_and_scaled_behind_nginx() {
    let v = inspect("orchesity", ".", &[]);
    let deps = &service(&v, "orchesity-api")["depends_on"];
    assert_eq!(deps["postgres"], "service_healthy");
    assert_eq!(deps["redis"], "service_healthy");
    let env = &service(&v, "orchesity-api")["environment"];
    for k in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
    ] {
        assert_eq!(env[k], "********", "{k} is masked");
    }
    assert_eq!(env["LOG_LEVEL"], "INFO");

    let s = inspect(
        "orchesity",
        ".",
        &["-f", "docker-compose.yml", "-f", "docker-compose.scale.yml"],
    );
    let api_ports = service(&s, "orchesity-api")["ports"]
        .as_array()
        .cloned()
        .expect("ports");
    assert_eq!(api_ports.len(), 1, "!override replaced the single port");
    assert_eq!(
        api_ports[0]["host_port_range"],
        serde_json::json!([8000, 8002])
    );
    assert!(
        edge_set(&s).contains(&edge("nginx", "orchesity-api", "upstream")),
        "upstream servers resolve to the scaled service"
    );
}

#[test]
fn fintrack_container_names_and_dot_env() {
    let v = inspect("fintrack", ".", &[]);
    assert_eq!(service(&v, "mysql")["container_name"], "fintrack_mysql");
    let e = edge_set(&v);
    for want in [
        edge("nginx", "php", "fastcgi_pass"),
        edge("phpmyadmin", "mysql", "env_host"),
        edge("php", "mysql", "env_host"),
        edge("php", "redis", "depends_on"),
    ] {
        assert!(e.contains(&want), "{want:?} missing from {e:?}");
    }
    assert_eq!(service(&v, "phpmyadmin")["role"], "admin_tool");
    assert_eq!(
        service(&v, "mysql")["environment"]["MYSQL_DATABASE"],
        "financial_tracker"
    );
    let text = serde_json::to_string(&v).expect("json");
    assert!(
        !text.contains("fintrack-root-pw"),
        ".env password appears nowhere, healthcheck included"
    );

    let shown = json(&berth(
        &["inspect", "--json", "--show-secrets"],
        &fixture("fintrack"),
    ));
    assert_eq!(
        service(&shown, "mysql")["environment"]["MYSQL_ROOT_PASSWORD"],
        "fintrack-root-pw",
        "--show-secrets reveals"
    );
}

#[test]
fn human_output_lists_services_ports_networks_and_edges() {
    let o = berth(&["inspect"], &fixture("luminai"));
    assert!(o.status.success());
    let out = stdout(&o);
    for needle in [
        "project luminai",
        "nginx",
        "port *:443 -> 443/tcp",
        "networks",
        "nginx -> app  [proxy_pass]  nginx/conf/default.conf:16",
    ] {
        assert!(out.contains(needle), "{needle:?} in:\n{out}");
    }
    assert!(
        !out.contains("LuminaiSecure2025!"),
        "masked in human output too"
    );
}

#[test]
fn every_seed_fixture_has_its_expected_file() {
    for (name, ..) in SEEDS {
        assert!(
            Path::new(&fixture(name).join("expected")).is_dir(),
            "{name}/expected"
        );
    }
}
