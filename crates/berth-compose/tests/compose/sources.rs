//! What a load read (so a session can watch it), and inputs that once panicked.

use crate::Fixture;

#[test]
fn an_empty_compose_file_list_is_discovery_not_a_panic() {
    for list in [":", "::", ""] {
        let p = Fixture::new(&[("compose.yaml", "services:\n  web:\n    image: nginx\n")])
            .env("COMPOSE_FILE", list)
            .ok();
        assert!(
            p.services.contains_key("web"),
            "COMPOSE_FILE={list:?} names no file: the folder's compose.yaml is used"
        );
    }
}

#[test]
fn every_file_read_is_listed_for_watching() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: nginx\n    env_file:\n      - web.env\n      - path: optional.env\n        required: false\n    volumes:\n      - ./nginx/conf.d:/etc/nginx/conf.d:ro\n  app:\n    extends:\n      file: base.yaml\n      service: base\n",
        ),
        ("compose.override.yaml", "services:\n  web:\n    restart: always\n"),
        ("base.yaml", "services:\n  base:\n    image: busybox\n"),
        ("web.env", "A=1\n"),
        (".env", "TAG=1\n"),
        (
            "nginx/conf.d/default.conf",
            "server { location / { proxy_pass http://app:8000; } }\n",
        ),
    ]);
    let p = f.ok();
    let dir = f
        .dir
        .path()
        .canonicalize()
        .unwrap_or(f.dir.path().to_path_buf());
    let names: Vec<String> = p
        .sources
        .iter()
        .map(|s| {
            s.strip_prefix(&dir)
                .or_else(|_| s.strip_prefix(f.dir.path()))
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_else(|_| s.to_string_lossy().into_owned())
        })
        .collect();
    for want in [
        ".env",
        "compose.yaml",
        "compose.override.yaml",
        "base.yaml",
        "web.env",
        "optional.env",
        "nginx/conf.d/default.conf",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} is watched (a missing optional env file too: creating it changes the model): {names:?}"
        );
    }
    assert!(
        p.configs.get("web").is_some_and(|c| c.len() == 1),
        "the mounted nginx config is read while loading, so the graph stays pure"
    );
    assert!(
        p.watch_dirs.iter().any(|d| d.ends_with("conf.d")),
        "a new config file in the mounted folder is noticed: {:?}",
        p.watch_dirs
    );
}
