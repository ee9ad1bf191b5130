use berth_compose::model::MountKind;

use crate::{env_of, Fixture};

const BASE: &str = r#"services:
  web:
    image: nginx:1.24
    command: ["nginx", "-g", "daemon off;"]
    ports:
      - "8080:80"
    environment:
      - MODE=base
      - KEEP=yes
    labels:
      tier: front
    volumes:
      - ./conf:/etc/nginx/conf.d:ro
      - logs:/var/log/nginx
    networks:
      - front
    depends_on:
      - api
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
  api:
    image: api:1
networks:
  front:
volumes:
  logs:
"#;

const OVERRIDE: &str = r#"services:
  web:
    image: nginx:1.25
    command: nginx-debug -g "daemon off;"
    ports:
      - "8443:443"
    environment:
      MODE: override
    labels:
      - debug=true
    volumes:
      - ./conf-dev:/etc/nginx/conf.d
    networks:
      back:
        aliases: [www]
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      interval: 1s
  db:
    image: postgres
networks:
  back:
"#;

#[test]
fn override_file_is_found_and_merged_by_the_spec_rules() {
    let f = Fixture::new(&[("compose.yaml", BASE), ("compose.override.yaml", OVERRIDE)]);
    let p = f.ok();
    assert_eq!(
        p.files.len(),
        2,
        "compose.override.yaml is picked up automatically"
    );
    let web = &p.services["web"];
    assert_eq!(
        web.image.as_deref(),
        Some("nginx:1.25"),
        "scalars are replaced"
    );
    assert_eq!(
        web.command.as_deref(),
        Some("nginx-debug -g \"daemon off;\""),
        "command is replaced, not appended"
    );
    let ports: Vec<u16> = web.ports.iter().filter_map(|p| p.host_port).collect();
    assert_eq!(ports, vec![8080, 8443], "ports are appended");
    assert_eq!(
        env_of(&p, "web", "MODE").as_deref(),
        Some("override"),
        "environment merges by key"
    );
    assert_eq!(
        env_of(&p, "web", "KEEP").as_deref(),
        Some("yes"),
        "untouched keys stay"
    );
    assert_eq!(web.labels.get("tier").map(String::as_str), Some("front"));
    assert_eq!(
        web.labels.get("debug").map(String::as_str),
        Some("true"),
        "list labels merge into map labels"
    );
    let conf: Vec<_> = web
        .volumes
        .iter()
        .filter(|m| m.target == "/etc/nginx/conf.d")
        .collect();
    assert_eq!(conf.len(), 1, "volumes merge by target");
    assert!(conf[0]
        .source
        .as_deref()
        .unwrap_or_default()
        .ends_with("conf-dev"));
    assert!(
        !conf[0].read_only,
        "the override's mount replaces the base mount whole"
    );
    assert!(web
        .volumes
        .iter()
        .any(|m| m.kind == MountKind::Volume && m.source.as_deref() == Some("logs")));
    let nets: Vec<&str> = web.networks.keys().map(String::as_str).collect();
    assert_eq!(nets, vec!["front", "back"], "networks merge");
    assert_eq!(web.networks["back"].aliases, vec!["www".to_string()]);
    let deps: Vec<&str> = web.depends_on.keys().map(String::as_str).collect();
    assert_eq!(deps, vec!["api", "db"], "depends_on merges");
    let hc = web.healthcheck.as_ref().expect("healthcheck");
    assert_eq!(
        hc.interval.as_deref(),
        Some("1s"),
        "healthcheck merges field by field"
    );
    assert_eq!(
        hc.test,
        vec!["CMD".to_string(), "true".into()],
        "and keeps the base test"
    );
    assert!(
        p.services.contains_key("db"),
        "services only in the override are added"
    );
    assert!(p.networks.contains_key("front") && p.networks.contains_key("back"));
}

#[test]
fn explicit_file_list_is_merged_in_order_without_the_automatic_override() {
    let f = Fixture::new(&[
        ("compose.yaml", BASE),
        ("compose.override.yaml", OVERRIDE),
        ("prod.yaml", "services:\n  web:\n    image: nginx:prod\n"),
    ])
    .files(&["compose.yaml", "prod.yaml"]);
    let p = f.ok();
    assert_eq!(p.services["web"].image.as_deref(), Some("nginx:prod"));
    assert!(
        !p.services.contains_key("db"),
        "-f disables the automatic override file"
    );
}

#[test]
fn reset_and_override_tags() {
    let f = Fixture::new(&[
        ("compose.yaml", BASE),
        (
            "compose.override.yaml",
            "services:\n  web:\n    ports: !override\n      - \"9090:80\"\n    depends_on: !reset []\n",
        ),
    ]);
    let p = f.ok();
    let web = &p.services["web"];
    let ports: Vec<u16> = web.ports.iter().filter_map(|p| p.host_port).collect();
    assert_eq!(ports, vec![9090], "!override replaces the list");
    assert!(
        web.depends_on.is_empty(),
        "!reset removes the inherited value"
    );
}

#[test]
fn discovery_prefers_compose_yaml_and_searches_parents() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            "services:\n  a:\n    image: from-compose-yaml\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  a:\n    image: from-docker-compose\n",
        ),
        ("sub/dir/readme.txt", "nothing here"),
    ]);
    let mut opts = f.opts.clone();
    opts.dir = Some(f.dir.path().join("sub/dir"));
    opts.dir = None;
    let files =
        berth_compose::load::discover(&f.dir.path().join("sub/dir")).expect("found in a parent");
    assert_eq!(files, vec![f.dir.path().join("compose.yaml")]);
    assert_eq!(
        f.ok().services["a"].image.as_deref(),
        Some("from-compose-yaml")
    );
}

#[test]
fn docker_compose_yml_with_its_override() {
    let f = Fixture::new(&[
        ("docker-compose.yml", "services:\n  a:\n    image: base\n"),
        (
            "docker-compose.override.yml",
            "services:\n  a:\n    image: overridden\n",
        ),
    ]);
    assert_eq!(f.ok().services["a"].image.as_deref(), Some("overridden"));
}

#[test]
fn compose_file_variable_lists_files() {
    let f = Fixture::new(&[
        ("one.yml", "services:\n  a:\n    image: one\n"),
        (
            "two.yml",
            "services:\n  a:\n    image: two\n  b:\n    image: bee\n",
        ),
    ]);
    let f = f.env("COMPOSE_FILE", "one.yml:two.yml");
    let p = f.ok();
    assert_eq!(p.services["a"].image.as_deref(), Some("two"));
    assert!(p.services.contains_key("b"));
}
