//! The architecture graph: what each service is, and who talks to whom, with the evidence for
//! every connection. No edge is drawn without a line in a file that shows it.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::{DependencyCondition, Project, Service};
use crate::paths::display_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    ReverseProxy,
    App,
    Database,
    Cache,
    QueueWorker,
    Scheduler,
    FrontendDevServer,
    AdminTool,
    Broker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReverseProxy => "reverse_proxy",
            Role::App => "app",
            Role::Database => "database",
            Role::Cache => "cache",
            Role::QueueWorker => "queue_worker",
            Role::Scheduler => "scheduler",
            Role::FrontendDevServer => "frontend_dev_server",
            Role::AdminTool => "admin_tool",
            Role::Broker => "broker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    DependsOn,
    Link,
    NetworkMode,
    VolumesFrom,
    EnvUrl,
    EnvHost,
    ProxyPass,
    FastcgiPass,
    Upstream,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::DependsOn => "depends_on",
            EdgeKind::Link => "links",
            EdgeKind::NetworkMode => "network_mode",
            EdgeKind::VolumesFrom => "volumes_from",
            EdgeKind::EnvUrl => "env_url",
            EdgeKind::EnvHost => "env_host",
            EdgeKind::ProxyPass => "proxy_pass",
            EdgeKind::FastcgiPass => "fastcgi_pass",
            EdgeKind::Upstream => "upstream",
        }
    }
}

/// A connection from a consumer to the service it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// `file:line` that shows the connection.
    pub evidence: String,
    /// The text at that line, e.g. `REDIS_URL=redis://redis:6379/0`. Not masked here: the
    /// presentation layer masks it.
    pub detail: String,
    /// For `depends_on`, the condition.
    pub condition: Option<DependencyCondition>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub roles: HashMap<String, Role>,
    pub edges: Vec<Edge>,
    pub warnings: Vec<String>,
}

fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// Infers a service's role from its command first (a worker runs the app's image), then its image
/// or build, then its name.
pub fn infer_role(svc: &Service) -> Role {
    let cmd = format!(
        "{} {}",
        svc.command.as_deref().unwrap_or_default(),
        svc.entrypoint.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    let name = svc.name.to_lowercase();
    if contains_any(
        &cmd,
        &[
            "queue:work",
            "queue:listen",
            "horizon",
            "celery worker",
            "celery -a",
            "sidekiq",
            "rq worker",
            "messenger:consume",
            "worker",
        ],
    ) && !cmd.contains("beat")
    {
        return Role::QueueWorker;
    }
    if contains_any(
        &cmd,
        &[
            "schedule:run",
            "schedule:work",
            "crond",
            "cron ",
            "celery beat",
            "supercronic",
        ],
    ) || cmd.trim_end().ends_with("cron")
    {
        return Role::Scheduler;
    }
    let image = svc.image.as_deref().unwrap_or_default().to_lowercase();
    let build = svc
        .build
        .as_ref()
        .map(|b| {
            format!(
                "{} {}",
                b.context,
                b.dockerfile.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_default()
        .to_lowercase();
    let repo = image.rsplit('/').next().unwrap_or_default();
    let repo = repo.split([':', '@']).next().unwrap_or_default();
    let by_image = |s: &str| -> Option<Role> {
        if contains_any(
            s,
            &[
                "phpmyadmin",
                "adminer",
                "pgadmin",
                "redis-commander",
                "redisinsight",
                "mongo-express",
                "mailhog",
                "mailpit",
                "portainer",
            ],
        ) {
            Some(Role::AdminTool)
        } else if contains_any(
            s,
            &[
                "nginx",
                "traefik",
                "caddy",
                "haproxy",
                "envoy",
                "openresty",
                "httpd",
                "apache",
            ],
        ) {
            Some(Role::ReverseProxy)
        } else if contains_any(
            s,
            &[
                "postgres",
                "postgis",
                "timescale",
                "mysql",
                "mariadb",
                "percona",
                "mongo",
                "cockroach",
                "mssql",
                "sqlserver",
                "clickhouse",
                "couchdb",
                "cassandra",
            ],
        ) {
            Some(Role::Database)
        } else if contains_any(s, &["redis", "memcached", "valkey", "keydb", "dragonfly"]) {
            Some(Role::Cache)
        } else if contains_any(s, &["rabbitmq", "kafka", "nats", "activemq", "mosquitto"]) {
            Some(Role::Broker)
        } else {
            None
        }
    };
    if let Some(r) = by_image(repo) {
        return r;
    }
    let dev_server = contains_any(
        &cmd,
        &[
            "vite",
            "npm run dev",
            "yarn dev",
            "pnpm dev",
            "npm start",
            "next dev",
            "ng serve",
            "webpack serve",
        ],
    ) || svc
        .ports
        .iter()
        .any(|p| matches!(p.container_port, 5173 | 4200 | 3000) && repo.starts_with("node"));
    if dev_server
        || (repo.starts_with("node") && contains_any(&name, &["frontend", "node", "vite", "web"]))
    {
        return Role::FrontendDevServer;
    }
    if image.is_empty() {
        if let Some(r) = by_image(&build) {
            return r;
        }
    }
    match name.as_str() {
        n if contains_any(n, &["nginx", "proxy", "traefik", "caddy"]) => Role::ReverseProxy,
        n if contains_any(n, &["postgres", "mysql", "mariadb", "mongo"])
            || n == "db"
            || n == "database" =>
        {
            Role::Database
        }
        n if contains_any(n, &["redis", "memcache", "cache"]) => Role::Cache,
        n if contains_any(n, &["worker", "queue"]) => Role::QueueWorker,
        n if contains_any(n, &["scheduler", "cron"]) => Role::Scheduler,
        n if contains_any(n, &["frontend", "vite"]) => Role::FrontendDevServer,
        _ => Role::App,
    }
}

/// Resolves a host name seen in configuration to the service that answers it.
struct HostTable {
    names: HashMap<String, String>,
    project: String,
}

impl HostTable {
    fn new(project: &Project) -> Self {
        let mut names = HashMap::new();
        for (name, svc) in &project.services {
            for net in svc.networks.values() {
                for a in &net.aliases {
                    names.insert(a.to_lowercase(), name.clone());
                }
            }
            if let Some(c) = &svc.container_name {
                names.insert(c.to_lowercase(), name.clone());
            }
        }
        // Aliases given through `links: [svc:alias]` resolve only for the linking service, but
        // an alias is still evidence of intent, so they count here too.
        for svc in project.services.values() {
            for l in &svc.links {
                names
                    .entry(l.value.to_lowercase())
                    .or_insert(l.value.clone());
            }
        }
        // Service names win over any alias.
        for name in project.services.keys() {
            names.insert(name.to_lowercase(), name.clone());
        }
        names.retain(|_, svc| project.services.contains_key(svc));
        HostTable {
            names,
            project: project.name.to_lowercase(),
        }
    }

    fn resolve(&self, host: &str) -> Option<&str> {
        let host = host.trim().trim_matches(['[', ']']).to_lowercase();
        if let Some(s) = self.names.get(&host) {
            return Some(s);
        }
        // Container names Compose generates: `project-service-1` (v2), `project_service_1` (v1),
        // and the `service-1` shorthand people write in nginx upstreams.
        let (stem, number) = host.rsplit_once(['-', '_'])?;
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if let Some(s) = self.names.get(stem) {
            return Some(s);
        }
        let unprefixed = stem
            .strip_prefix(&format!("{}-", self.project))
            .or_else(|| stem.strip_prefix(&format!("{}_", self.project)))?;
        self.names.get(unprefixed).map(String::as_str)
    }
}

static URL_HOST: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, exercised by every graph test
    Regex::new(r"[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/\s,;]*@)?(\[[^\]\s]*\]|[^:/?#\s,;@]+)").unwrap()
});

fn is_host_style_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "HOST", "HOSTNAME", "HOSTS", "SERVER", "SERVERS", "ADDR", "ADDRESS",
    ]
    .iter()
    .any(|suffix| k == *suffix || k.ends_with(&format!("_{suffix}")))
}

pub fn build_graph(project: &Project) -> Graph {
    let hosts = HostTable::new(project);
    let mut edges: Vec<Edge> = Vec::new();
    let warnings = Vec::new();
    let push = |edges: &mut Vec<Edge>, e: Edge| {
        if e.from == e.to {
            return;
        }
        if !edges
            .iter()
            .any(|x| x.from == e.from && x.to == e.to && x.kind == e.kind)
        {
            edges.push(e);
        }
    };

    for (name, svc) in &project.services {
        for (dep, d) in &svc.depends_on {
            // An implied dependency is drawn as the edge that implies it (links, volumes_from…).
            if d.implied_by.is_none() && project.services.contains_key(dep) {
                push(
                    &mut edges,
                    Edge {
                        from: name.clone(),
                        to: dep.clone(),
                        kind: EdgeKind::DependsOn,
                        evidence: d.pos.short(),
                        detail: format!("depends_on: {dep} ({})", d.condition.as_str()),
                        condition: Some(d.condition),
                    },
                );
            }
        }
        for l in &svc.links {
            if let Some(to) = hosts.resolve(&l.value) {
                push(
                    &mut edges,
                    Edge {
                        from: name.clone(),
                        to: to.to_owned(),
                        kind: EdgeKind::Link,
                        evidence: l.pos.short(),
                        detail: format!("links: {}", l.value),
                        condition: None,
                    },
                );
            }
        }
        if let Some(nm) = &svc.network_mode {
            if let Some(target) = nm.value.strip_prefix("service:") {
                if project.services.contains_key(target) {
                    push(
                        &mut edges,
                        Edge {
                            from: name.clone(),
                            to: target.to_owned(),
                            kind: EdgeKind::NetworkMode,
                            evidence: nm.pos.short(),
                            detail: format!("network_mode: {}", nm.value),
                            condition: None,
                        },
                    );
                }
            }
        }
        for vf in &svc.volumes_from {
            let target = vf.value.split(':').next().unwrap_or_default();
            let target = if target == "container" {
                vf.value.split(':').nth(1).unwrap_or_default()
            } else {
                target
            };
            if let Some(to) = hosts.resolve(target) {
                push(
                    &mut edges,
                    Edge {
                        from: name.clone(),
                        to: to.to_owned(),
                        kind: EdgeKind::VolumesFrom,
                        evidence: vf.pos.short(),
                        detail: format!("volumes_from: {}", vf.value),
                        condition: None,
                    },
                );
            }
        }
        for (key, var) in &svc.environment {
            let mut via_url = false;
            for cap in URL_HOST.captures_iter(&var.value) {
                via_url = true;
                if let Some(to) = hosts.resolve(&cap[1]) {
                    push(
                        &mut edges,
                        Edge {
                            from: name.clone(),
                            to: to.to_owned(),
                            kind: EdgeKind::EnvUrl,
                            evidence: var.pos.short(),
                            detail: format!("{key}={}", var.value),
                            condition: None,
                        },
                    );
                }
            }
            if !via_url && is_host_style_key(key) {
                for item in var.value.split([',', ' ']).filter(|s| !s.is_empty()) {
                    let host = strip_port(item);
                    if let Some(to) = hosts.resolve(host) {
                        push(
                            &mut edges,
                            Edge {
                                from: name.clone(),
                                to: to.to_owned(),
                                kind: EdgeKind::EnvHost,
                                evidence: var.pos.short(),
                                detail: format!("{key}={}", var.value),
                                condition: None,
                            },
                        );
                    }
                }
            }
        }
        for conf in project.configs.get(&svc.name).into_iter().flatten() {
            let upstreams = parse_upstreams(&conf.text);
            let shown = display_path(&project.working_dir, &conf.path);
            for pass in parse_nginx(&conf.text) {
                let host = pass_host(&pass.target);
                // `proxy_pass http://backend` naming an upstream block: the servers inside it
                // are the real targets, with their own lines as evidence.
                if let Some(servers) = upstreams.get(host) {
                    for (server, sline, stext) in servers {
                        if let Some(to) = hosts.resolve(strip_port(server)) {
                            push(
                                &mut edges,
                                Edge {
                                    from: name.clone(),
                                    to: to.to_owned(),
                                    kind: EdgeKind::Upstream,
                                    evidence: format!("{shown}:{sline}"),
                                    detail: stext.clone(),
                                    condition: None,
                                },
                            );
                        }
                    }
                    continue;
                }
                if let Some(to) = hosts.resolve(host) {
                    push(
                        &mut edges,
                        Edge {
                            from: name.clone(),
                            to: to.to_owned(),
                            kind: pass.kind,
                            evidence: format!("{shown}:{}", pass.line),
                            detail: pass.text,
                            condition: None,
                        },
                    );
                }
            }
        }
    }

    let roles = project
        .services
        .iter()
        .map(|(n, s)| (n.clone(), infer_role(s)))
        .collect();
    Graph {
        roles,
        edges,
        warnings,
    }
}

fn strip_port(item: &str) -> &str {
    let item = item.trim();
    if let Some(rest) = item.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match item.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => item,
    }
}

fn pass_host(target: &str) -> &str {
    let rest = target.split_once("://").map(|(_, r)| r).unwrap_or(target);
    let hostport = rest.split(['/', '?']).next().unwrap_or_default();
    strip_port(hostport)
}

/// A `*_pass` directive: where it sends requests, and the line that says so.
struct NginxPass {
    kind: EdgeKind,
    target: String,
    line: u32,
    text: String,
}

/// Statements of an nginx config as (words, line of the first word, the `;`, `{` or `}` that
/// ends it), with comments removed. Shared with the TLS plan, which reads the same files.
pub(crate) fn nginx_statements(text: &str) -> Vec<(Vec<String>, u32, char)> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut start_line = 1u32;
    let mut line = 1u32;
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else {
                if c == '\n' {
                    line += 1;
                }
                word.push(c);
            }
            continue;
        }
        match c {
            '#' => {
                for c2 in chars.by_ref() {
                    if c2 == '\n' {
                        line += 1;
                        break;
                    }
                }
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            '"' | '\'' => quote = Some(c),
            ';' | '{' | '}' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                out.push((std::mem::take(&mut words), start_line, c));
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                if c == '\n' {
                    line += 1;
                }
            }
            _ => {
                if words.is_empty() && word.is_empty() {
                    start_line = line;
                }
                word.push(c);
            }
        }
    }
    out
}

fn parse_nginx(text: &str) -> Vec<NginxPass> {
    let mut out = Vec::new();
    for (words, line, _) in nginx_statements(text) {
        let Some(directive) = words.first() else {
            continue;
        };
        let kind = match directive.as_str() {
            "proxy_pass" | "grpc_pass" | "uwsgi_pass" | "scgi_pass" => EdgeKind::ProxyPass,
            "fastcgi_pass" => EdgeKind::FastcgiPass,
            _ => continue,
        };
        if let Some(target) = words.get(1) {
            if target.starts_with("unix:") || target.contains('$') {
                continue;
            }
            out.push(NginxPass {
                kind,
                target: target.clone(),
                line,
                text: words.join(" "),
            });
        }
    }
    out
}

/// `upstream NAME { server host:port; }` blocks: name -> [(server, line, text)].
fn parse_upstreams(text: &str) -> HashMap<String, Vec<(String, u32, String)>> {
    let mut out: HashMap<String, Vec<(String, u32, String)>> = HashMap::new();
    let mut current: Option<String> = None;
    let mut depth = 0i32;
    let mut upstream_depth = 0i32;
    for (words, line, term) in nginx_statements(text) {
        match term {
            '{' => {
                depth += 1;
                if words.first().map(String::as_str) == Some("upstream") {
                    if let Some(n) = words.get(1) {
                        current = Some(n.clone());
                        upstream_depth = depth;
                        out.entry(n.clone()).or_default();
                    }
                }
            }
            '}' => {
                if current.is_some() && depth == upstream_depth {
                    current = None;
                }
                depth -= 1;
            }
            _ => {
                if let (Some(up), Some("server")) = (&current, words.first().map(String::as_str)) {
                    if let Some(addr) = words.get(1) {
                        if let Some(list) = out.get_mut(up) {
                            list.push((addr.clone(), line, words.join(" ")));
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_directives_are_found_with_their_lines() {
        let conf = "server {\n  listen 80; # proxy_pass http://commented:1;\n  location / {\n    proxy_pass http://app:8000;\n  }\n  location ~ \\.php$ {\n    fastcgi_pass php:9000;\n  }\n  location /sock { proxy_pass unix:/tmp/x.sock; }\n}\n";
        let refs = parse_nginx(conf);
        let got: Vec<(String, u32)> = refs.iter().map(|p| (p.target.clone(), p.line)).collect();
        assert_eq!(
            got,
            vec![
                ("http://app:8000".to_string(), 4),
                ("php:9000".to_string(), 7)
            ]
        );
    }

    #[test]
    fn upstream_servers_are_listed() {
        let conf = "upstream backend {\n  server api-1:8000 weight=2;\n  server api-2:8000;\n}\nserver { location / { proxy_pass http://backend; } }\n";
        let ups = parse_upstreams(conf);
        let servers: Vec<(String, u32)> = ups["backend"]
            .iter()
            .map(|(s, l, _)| (s.clone(), *l))
            .collect();
        assert_eq!(
            servers,
            vec![("api-1:8000".to_string(), 2), ("api-2:8000".to_string(), 3)]
        );
    }

    #[test]
    fn host_style_keys() {
        for k in [
            "DB_HOST",
            "PMA_HOST",
            "REDIS_HOST",
            "HOST",
            "MEMCACHED_SERVERS",
            "KAFKA_ADDR",
        ] {
            assert!(is_host_style_key(k), "{k}");
        }
        for k in ["DB_HOSTED", "GHOST", "HOST_PORT", "DB_PORT"] {
            assert!(!is_host_style_key(k), "{k}");
        }
    }

    #[test]
    fn hosts_with_ports_and_brackets() {
        assert_eq!(strip_port("mysql:3306"), "mysql");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(pass_host("http://app:8000/api"), "app");
        assert_eq!(pass_host("php:9000"), "php");
    }
}
