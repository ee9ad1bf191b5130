use berth_compose::{build_graph, EdgeKind, Role};

use crate::Fixture;

fn edges(g: &berth_compose::Graph) -> Vec<(String, String, &'static str, String)> {
    g.edges
        .iter()
        .map(|e| {
            (
                e.from.clone(),
                e.to.clone(),
                e.kind.as_str(),
                e.evidence.clone(),
            )
        })
        .collect()
}

fn has(g: &berth_compose::Graph, from: &str, to: &str, kind: EdgeKind) -> bool {
    g.edges
        .iter()
        .any(|e| e.from == from && e.to == to && e.kind == kind)
}

const STACK: &str = r#"services:
  proxy:
    image: traefik:v3
    links:
      - "web:frontend"
  web:
    image: node:20
    command: npm run dev
    environment:
      API_URL: http://backend:8080/api
      CDN_URL: https://cdn.example.com/assets
  api:
    build: ./api
    networks:
      default:
        aliases: [backend]
    environment:
      DATABASE_URL: postgresql://u:p4ssw0rd@pg:5432/app
      CACHE_HOST: "kv:6379"
      SEARCH_HOSTS: es-1,elsewhere
      NOT_A_HOST_KEY: pg
    volumes_from:
      - files
  worker:
    build: ./api
    command: php artisan queue:work
    network_mode: "service:api"
  cron:
    build: ./api
    command: php artisan schedule:work
  pg:
    image: postgres:16
  kv:
    image: redis:7
    container_name: cache-box
  es:
    image: elasticsearch:8
  files:
    image: busybox
  admin:
    image: phpmyadmin
    environment:
      PMA_HOST: cache-box
"#;

#[test]
fn roles_come_from_command_image_and_name() {
    let f = Fixture::new(&[
        ("compose.yaml", STACK),
        ("api/Dockerfile", "FROM scratch\n"),
    ]);
    let p = f.ok();
    let g = build_graph(&p);
    let role = |s: &str| g.roles[s];
    assert_eq!(role("proxy"), Role::ReverseProxy);
    assert_eq!(role("web"), Role::FrontendDevServer);
    assert_eq!(role("api"), Role::App);
    assert_eq!(
        role("worker"),
        Role::QueueWorker,
        "the command beats the shared image"
    );
    assert_eq!(role("cron"), Role::Scheduler);
    assert_eq!(role("pg"), Role::Database);
    assert_eq!(role("kv"), Role::Cache);
    assert_eq!(role("admin"), Role::AdminTool);
}

#[test]
fn every_edge_kind_with_its_evidence() {
    let f = Fixture::new(&[
        ("compose.yaml", STACK),
        ("api/Dockerfile", "FROM scratch\n"),
    ]);
    let p = f.ok();
    let g = build_graph(&p);
    let all = edges(&g);
    assert!(has(&g, "proxy", "web", EdgeKind::Link), "{all:?}");
    assert!(
        has(&g, "web", "api", EdgeKind::EnvUrl),
        "a network alias resolves to its service: {all:?}"
    );
    assert!(has(&g, "api", "pg", EdgeKind::EnvUrl), "{all:?}");
    assert!(
        has(&g, "api", "kv", EdgeKind::EnvHost),
        "*_HOST with host:port: {all:?}"
    );
    assert!(has(&g, "api", "files", EdgeKind::VolumesFrom), "{all:?}");
    assert!(has(&g, "worker", "api", EdgeKind::NetworkMode), "{all:?}");
    assert!(
        has(&g, "admin", "kv", EdgeKind::EnvHost),
        "container_name resolves to its service: {all:?}"
    );
    let db = g
        .edges
        .iter()
        .find(|e| e.from == "api" && e.to == "pg")
        .expect("api -> pg");
    assert_eq!(
        db.evidence, "compose.yaml:18",
        "evidence is the line of the variable"
    );
    assert!(
        !has(&g, "api", "pg", EdgeKind::EnvHost),
        "NOT_A_HOST_KEY=pg is not evidence"
    );
    assert!(
        has(&g, "api", "es", EdgeKind::EnvHost),
        "es-1 is compose's name for the first es container: {all:?}"
    );
    assert_eq!(
        g.edges.iter().filter(|e| e.to == "es").count(),
        1,
        "`elsewhere` resolves to nothing: {all:?}"
    );
    assert!(
        !g.edges.iter().any(|e| e.detail.contains("cdn.example.com")),
        "external hosts make no edge"
    );
}

#[test]
fn nginx_configs_mounted_from_the_project_give_edges() {
    // The fixture must outlive `build_graph`, which reads the mounted nginx files.
    let f = Fixture::new(&[
        (
            "compose.yaml",
            r#"services:
  nginx:
    image: nginx:alpine
    volumes:
      - ./nginx/conf.d:/etc/nginx/conf.d:ro
      - ./nginx/main.conf:/etc/nginx/nginx.conf:ro
      - /etc/outside:/etc/nginx/extra:ro
  app:
    image: php:fpm
  api-1:
    image: api
  vite:
    image: node
"#,
        ),
        (
            "nginx/conf.d/site.conf",
            "server {\n  location ~ \\.php$ {\n    fastcgi_pass app:9000;\n  }\n  location /dev { proxy_pass http://vite:5173; }\n  # proxy_pass http://ghost:1;\n}\n",
        ),
        (
            "nginx/main.conf",
            "events {}\nhttp {\n  upstream pool {\n    server api-1:8000;\n  }\n  server { location /api { proxy_pass http://pool/; } }\n  include /etc/nginx/conf.d/*.conf;\n}\n",
        ),
    ]);
    let p = f.ok();
    let g = build_graph(&p);
    let all = edges(&g);
    assert!(
        all.contains(&(
            "nginx".into(),
            "app".into(),
            "fastcgi_pass",
            "nginx/conf.d/site.conf:3".into()
        )),
        "{all:?}"
    );
    assert!(
        all.contains(&(
            "nginx".into(),
            "vite".into(),
            "proxy_pass",
            "nginx/conf.d/site.conf:5".into()
        )),
        "{all:?}"
    );
    assert!(
        all.contains(&(
            "nginx".into(),
            "api-1".into(),
            "upstream",
            "nginx/main.conf:4".into()
        )),
        "{all:?}"
    );
    assert_eq!(
        all.len(),
        3,
        "comments and missing hosts make no edge: {all:?}"
    );
}

#[test]
fn depends_on_edges_carry_their_condition() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: postgres\n",
    )])
    .ok();
    let g = build_graph(&p);
    let e = &g.edges[0];
    assert_eq!(
        (e.from.as_str(), e.to.as_str(), e.kind),
        ("app", "db", EdgeKind::DependsOn)
    );
    assert_eq!(e.condition.map(|c| c.as_str()), Some("service_healthy"));
    assert_eq!(e.evidence, "compose.yaml:5");
}
