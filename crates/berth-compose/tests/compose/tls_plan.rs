use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_compose::tls_plan::{mount_override, terminators, Placement, Terminator, TerminatorKind};
use berth_compose::{load, LoadOptions, Project};

use crate::Fixture;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A folder of the repository loaded as the app loads it, with an empty shell environment so
/// every `${VAR:-default}` takes its default.
fn load_dir(dir: &Path, env: &[(&str, &str)]) -> Project {
    let opts = LoadOptions {
        dir: Some(dir.to_path_buf()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    };
    load(&opts).unwrap_or_else(|e| panic!("{} should load: {e}", dir.display()))
}

fn host(path: PathBuf, ro: bool) -> Placement {
    Placement::Host {
        path,
        mount_readonly: ro,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn only(ts: &[Terminator]) -> &Terminator {
    assert_eq!(ts.len(), 1, "one terminator: {ts:#?}");
    &ts[0]
}

#[test]
fn the_demo_stack_terminates_tls_in_nginx_on_8443() {
    let demo = repo().join("demo");
    let p = load_dir(&demo, &[]);
    let ts = terminators(&p);
    let t = only(&ts);
    assert_eq!(t.service, "nginx");
    assert_eq!(t.kind, TerminatorKind::Nginx);
    assert_eq!(t.evidence, "nginx/conf.d/default.conf:2");
    assert_eq!(t.listen_port, 443);
    assert_eq!(t.host_ports, vec![("127.0.0.1".to_owned(), 8443)]);
    assert_eq!(t.server_names, strings(&["localhost"]));
    assert_eq!(t.cert, host(demo.join("nginx/ssl/localhost.crt"), true));
    assert_eq!(t.key, host(demo.join("nginx/ssl/localhost.key"), true));
    assert_eq!(t.names, strings(&["localhost", "127.0.0.1", "::1"]));
    assert!(t.skipped_names.is_empty(), "{:?}", t.skipped_names);

    let moved = load_dir(&demo, &[("DEMO_HTTPS_PORT", "9443")]);
    assert_eq!(
        terminators(&moved)[0].host_ports,
        vec![("127.0.0.1".to_owned(), 9443)],
        "the published port follows the variable"
    );
}

#[test]
fn the_luminai_seed_terminates_tls_for_localhost_and_its_subdomains() {
    let dir = repo().join("tests/fixtures/luminai");
    let p = load_dir(&dir, &[]);
    let ts = terminators(&p);
    let t = only(&ts);
    assert_eq!(t.service, "nginx");
    assert_eq!(
        t.evidence, "nginx/conf/default.conf:8",
        "the port-80 redirect server is not one"
    );
    assert_eq!(t.listen_port, 443);
    assert_eq!(
        t.host_ports,
        vec![(String::new(), 443)],
        "published on every address"
    );
    assert_eq!(t.server_names, strings(&["localhost", "*.localhost"]));
    assert_eq!(t.cert, host(dir.join("nginx/ssl/localhost.crt"), true));
    assert_eq!(t.key, host(dir.join("nginx/ssl/localhost.key"), true));
    assert_eq!(
        t.names,
        strings(&[
            "localhost",
            "127.0.0.1",
            "::1",
            "luminai.localhost",
            "*.luminai.localhost"
        ]),
        "browsers refuse `*.localhost`: the project's subdomain instead"
    );
}

const PORTS_STACK: &str = r#"services:
  proxy:
    image: nginx:alpine
    ports:
      - "443:443"
      - "127.0.0.1:8443:443"
      - "[::1]:8443:443"
      - "443:443/udp"
      - "127.0.0.1::443"
      - "9443-9445:443"
      - "8080:80"
      - "4443:4443"
    volumes:
      - ./proxy:/etc/nginx/conf.d:ro
      - ./certs:/etc/nginx/ssl
  inner:
    image: nginx:alpine
    ports:
      - "7443:7443"
    volumes:
      - ./inner:/etc/nginx/conf.d
  sidecar:
    image: nginx:alpine
    network_mode: "service:proxy"
    volumes:
      - ./sidecar:/etc/nginx/conf.d
  hostnet:
    image: nginx:alpine
    network_mode: host
    volumes:
      - ./hostnet:/etc/nginx/conf.d
  hidden:
    image: nginx:alpine
    volumes:
      - ./hidden:/etc/nginx/conf.d
"#;

#[test]
fn host_ports_are_the_published_ports_that_reach_the_listener() {
    let f = Fixture::new(&[
        ("compose.yaml", PORTS_STACK),
        (
            "proxy/site.conf",
            "server {\n  listen 80;\n}\nserver {\n  listen 443 ssl;\n  server_name shop.test example.com _;\n  ssl_certificate ssl/site.crt;\n  ssl_certificate_key /etc/nginx/ssl/site.key;\n}\n",
        ),
        ("inner/site.conf", "server { listen 127.0.0.1:7443 ssl; }\n"),
        ("sidecar/site.conf", "server { listen 4443 ssl; }\n"),
        ("hostnet/site.conf", "server { listen 127.0.0.1:9443 ssl; }\n"),
        ("hidden/site.conf", "server { listen 443 ssl; }\n"),
    ]);
    let p = f.ok();
    let ts = terminators(&p);
    let by = |svc: &str| -> &Terminator {
        ts.iter()
            .find(|t| t.service == svc)
            .unwrap_or_else(|| panic!("{svc} terminates TLS: {ts:#?}"))
    };
    assert_eq!(ts.len(), 5, "{ts:#?}");
    let proxy = by("proxy");
    assert_eq!(
        proxy.host_ports,
        vec![
            (String::new(), 443),
            ("127.0.0.1".to_owned(), 8443),
            ("::1".to_owned(), 8443)
        ],
        "UDP, ephemeral and ranged ports cannot be checked"
    );
    assert_eq!(proxy.evidence, "proxy/site.conf:5");
    assert_eq!(proxy.cert, host(f.dir.path().join("certs/site.crt"), false));
    assert_eq!(proxy.key, host(f.dir.path().join("certs/site.key"), false));
    assert_eq!(
        proxy.names,
        strings(&["localhost", "127.0.0.1", "::1", "shop.test"])
    );
    let skipped: Vec<&str> = proxy
        .skipped_names
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(skipped, vec!["example.com", "_"]);
    assert!(
        by("inner").host_ports.is_empty(),
        "the container's loopback is out of reach of published ports"
    );
    assert_eq!(
        by("sidecar").host_ports,
        vec![(String::new(), 4443)],
        "published by the service whose network it shares"
    );
    assert_eq!(
        by("hostnet").host_ports,
        vec![("127.0.0.1".to_owned(), 9443)],
        "on the host's network the listener is the host port"
    );
    let hidden = by("hidden");
    assert!(
        hidden.host_ports.is_empty(),
        "still listed when unpublished"
    );
    assert_eq!(hidden.cert, Placement::Unresolved { written: None });
}

#[test]
fn the_mount_override_puts_an_unmounted_certificate_on_the_host() {
    let compose = r#"services:
  web:
    image: nginx:alpine
    ports:
      - "127.0.0.1:8443:443"
    volumes:
      - ./conf.d:/etc/nginx/conf.d:ro
"#;
    let conf = "server {\n  listen 443 ssl;\n  ssl_certificate /etc/nginx/certs/site.crt;\n  ssl_certificate_key /etc/nginx/certs/site.key;\n}\n";
    let f = Fixture::new(&[("compose.yaml", compose), ("conf.d/site.conf", conf)]);
    let before = terminators(&f.ok());
    let t = only(&before);
    let Placement::NotMounted {
        container_path,
        suggested_mount_dir,
        hides_image_files,
    } = &t.cert
    else {
        panic!("nothing mounts the certificate: {:?}", t.cert);
    };
    assert_eq!(container_path, "/etc/nginx/certs/site.crt");
    assert_eq!(suggested_mount_dir, "/etc/nginx/certs");
    assert!(!hides_image_files);

    let certs = f.dir.path().join("berth certs: \"web\"");
    let text = mount_override("web", suggested_mount_dir, &certs.to_string_lossy());
    std::fs::write(f.dir.path().join("berth.override.yaml"), text).expect("write override");
    let p = f.files(&["compose.yaml", "berth.override.yaml"]).ok();
    let m = p.services["web"]
        .volumes
        .iter()
        .find(|m| m.target == "/etc/nginx/certs")
        .expect("the override adds the mount");
    assert_eq!(m.source.as_deref(), Some(certs.to_string_lossy().as_ref()));
    assert!(m.read_only);
    let after = terminators(&p);
    let t = only(&after);
    assert_eq!(t.cert, host(certs.join("site.crt"), true));
    assert_eq!(t.key, host(certs.join("site.key"), true));
}
