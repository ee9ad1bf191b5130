//! Connection probes: for each edge of the graph that names a host and a port, whether the name
//! resolves and the port accepts a TCP connection, asked from inside the consumer's own
//! container (its network namespace, its resolver), so the host never sends traffic to a
//! container address. The consumer's own tools are used (bash's `/dev/tcp`, python3, wget); a
//! consumer with none of them is said so, never probed from somewhere else.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use berth_compose::snapshot_plan::{database_of, DataKind};
use berth_compose::{EdgeKind, Graph, Project};
use berth_engine::model::{ContainerInfo, RunState};
use berth_engine::Engine;

use super::{ProbeResult, ProbeView};
use crate::snapshot::stream::capture;

/// Probes in flight at once.
const PROBES_AT_ONCE: usize = 3;

/// How long one probe may take before it counts as a timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// An address a consumer uses: the name as it writes it, and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub from: String,
    pub to: String,
    pub host: String,
    pub port: u16,
}

fn scheme_port(scheme: &str) -> Option<u16> {
    Some(match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "pgsql" => 5432,
        "mysql" | "mariadb" | "mysql2" => 3306,
        "redis" | "rediss" => 6379,
        "amqp" => 5672,
        "mongodb" => 27017,
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "memcached" => 11211,
        "nats" => 4222,
        _ => return None,
    })
}

fn kind_port(project: &Project, service: &str) -> Option<u16> {
    let svc = project.services.get(service)?;
    Some(match database_of(svc)?.kind {
        DataKind::Postgres => 5432,
        DataKind::Mysql | DataKind::Mariadb => 3306,
        DataKind::Redis => 6379,
        DataKind::Volume => return None,
    })
}

/// The names `service` answers to on its networks.
fn names_of(project: &Project, service: &str) -> Vec<String> {
    let mut names = vec![service.to_owned()];
    if let Some(s) = project.services.get(service) {
        if let Some(c) = &s.container_name {
            names.push(c.clone());
        }
        for n in s.networks.values() {
            names.extend(n.aliases.iter().cloned());
        }
    }
    names
}

/// `host:port` pairs written in a line: `postgres://u:p@db:5432/x`, `proxy_pass http://app:8000`,
/// `fastcgi_pass php:9000`, `server app:8000;`.
fn written_addresses(text: &str) -> Vec<(String, Option<u16>, Option<String>)> {
    let mut out = Vec::new();
    let re = regex::Regex::new(
        r"(?:([A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/\s]*@)?)?([A-Za-z0-9_.-]+)(?::(\d{1,5}))?",
    )
    .ok();
    let Some(re) = re else { return out };
    for cap in re.captures_iter(text) {
        let host = cap
            .get(2)
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let port = cap.get(3).and_then(|m| m.as_str().parse::<u16>().ok());
        let scheme = cap.get(1).map(|m| m.as_str().to_owned());
        out.push((host, port, scheme));
    }
    out
}

/// Every address the graph's edges name, with its port (written, from the scheme, from a
/// `*_PORT` beside a `*_HOST`, or the database's own), one per consumer, name and port.
pub(crate) fn targets(project: &Project, graph: &Graph) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for e in &graph.edges {
        if !matches!(
            e.kind,
            EdgeKind::EnvUrl
                | EdgeKind::EnvHost
                | EdgeKind::ProxyPass
                | EdgeKind::FastcgiPass
                | EdgeKind::Upstream
        ) {
            continue;
        }
        let names = names_of(project, &e.to);
        let value = match e.detail.split_once('=') {
            Some((_, v)) if matches!(e.kind, EdgeKind::EnvUrl | EdgeKind::EnvHost) => v,
            _ => e.detail.as_str(),
        };
        let found: Vec<(String, Option<u16>, Option<String>)> = if e.kind == EdgeKind::EnvHost {
            value
                .split([',', ' '])
                .filter(|v| !v.is_empty())
                .map(|item| match item.rsplit_once(':') {
                    Some((h, p)) => (h.to_owned(), p.parse().ok(), None),
                    None => (item.to_owned(), None, None),
                })
                .collect()
        } else {
            // Only an address with a scheme or a port: a path segment (`/app`) is not one.
            written_addresses(value)
                .into_iter()
                .filter(|(_, port, scheme)| port.is_some() || scheme.is_some())
                .collect()
        };
        for (host, port, scheme) in found {
            if !names.contains(&host) {
                continue;
            }
            let sibling_port = || {
                let key = e.detail.split_once('=')?.0;
                let prefix = key.strip_suffix("HOST")?;
                let svc = project.services.get(&e.from)?;
                ["PORT", "_PORT"].iter().find_map(|p| {
                    svc.environment
                        .get(&format!("{}{p}", prefix.trim_end_matches('_')))
                        .or_else(|| svc.environment.get(&format!("{prefix}{p}")))
                        .and_then(|v| v.value.trim().parse::<u16>().ok())
                })
            };
            let port = port
                .or_else(|| scheme.as_deref().and_then(scheme_port))
                .or_else(|| {
                    if e.kind == EdgeKind::EnvHost {
                        sibling_port()
                    } else {
                        None
                    }
                })
                .or_else(|| kind_port(project, &e.to));
            let Some(port) = port else { continue };
            let t = Target {
                from: e.from.clone(),
                to: e.to.clone(),
                host,
                port,
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The tool a consumer's container has to probe with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Bash,
    Python,
    Wget,
}

const PY_PROBE: &str = "import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close(); print('ok')\nexcept socket.gaierror: print('nxdomain')\nexcept socket.timeout: print('timeout')\nexcept OSError as e: print('refused', e)\n";

async fn tool_of<E: Engine>(engine: &E, id: &str) -> Option<Tool> {
    let has = |code: Option<i64>| code.is_some_and(|c| c != 126 && c != 127 && c >= 0);
    if has(engine
        .exec_status(id, &["bash", "-c", "exit 0"])
        .await
        .ok()?)
    {
        return Some(Tool::Bash);
    }
    if has(engine
        .exec_status(id, &["python3", "-c", "pass"])
        .await
        .ok()?)
    {
        return Some(Tool::Python);
    }
    if has(engine.exec_status(id, &["wget", "--help"]).await.ok()?) {
        return Some(Tool::Wget);
    }
    None
}

/// What a tool's output says about one connection attempt.
fn classify(tool: Tool, exit: Option<i64>, stdout: &str, stderr: &str) -> ProbeResult {
    let text = format!("{stdout} {stderr}").to_ascii_lowercase();
    if tool == Tool::Python {
        return match stdout.split_whitespace().next() {
            Some("ok") => ProbeResult::Ok,
            Some("nxdomain") => ProbeResult::Nxdomain,
            Some("timeout") => ProbeResult::Timeout,
            _ => ProbeResult::Refused,
        };
    }
    if tool == Tool::Bash && exit == Some(0) {
        return ProbeResult::Ok;
    }
    if text.contains("name or service not known")
        || text.contains("bad address")
        || text.contains("unable to resolve")
        || text.contains("no address associated")
        || text.contains("temporary failure in name resolution")
        || text.contains("unknown host")
    {
        return ProbeResult::Nxdomain;
    }
    if text.contains("timed out") || text.contains("timeout") {
        return ProbeResult::Timeout;
    }
    if text.contains("connection refused") || text.contains("no route to host") {
        return ProbeResult::Refused;
    }
    match tool {
        // wget reached the port when it got any answer, an HTTP error or a non-HTTP reply.
        Tool::Wget => ProbeResult::Ok,
        _ => ProbeResult::Refused,
    }
}

/// Probes every target from its consumer's running container; consumers without a container or
/// a tool are listed in the second part, with why.
pub(crate) async fn run<E: Engine>(
    engine: &E,
    containers: &[ContainerInfo],
    targets: &[Target],
) -> (Vec<ProbeView>, Vec<String>) {
    use futures_util::future::join_all;
    // Each consumer's tool, asked of all consumers at once: every exec waits on the engine,
    // not on this machine, so they overlap.
    let mut consumers: Vec<&str> = Vec::new();
    for t in targets {
        if !consumers.contains(&t.from.as_str()) {
            consumers.push(&t.from);
        }
    }
    let found = join_all(consumers.iter().map(|from| async move {
        let c = containers
            .iter()
            .find(|c| c.service.as_deref() == Some(*from) && c.state == RunState::Running);
        let tool = match c {
            Some(c) => tool_of(engine, &c.id).await.map(|t| (c.id.clone(), t)),
            None => None,
        };
        (*from, c.is_some(), tool)
    }))
    .await;
    let mut tools: HashMap<&str, (String, Tool)> = HashMap::new();
    let mut unprobed = Vec::new();
    for (from, running, tool) in found {
        match tool {
            Some(t) => {
                tools.insert(from, t);
            }
            None if running => unprobed.push(format!(
                "{from} has no tool to probe with (bash, python3, wget)"
            )),
            None => unprobed.push(format!("{from} is not running")),
        }
    }
    // A few at a time: the engine serialises much of an exec's setup, so more at once only
    // makes each one slower (8 at once took 130 ms each here, 3 at once about 50 ms).
    use futures_util::StreamExt;
    // Collected first: a stream over the mapping closure itself is not `Send` for every lifetime
    // (rustc's higher-ranked closure limit), and a Tauri command's future must be.
    let pending: Vec<_> = targets
        .iter()
        .map(|t| {
            let tool = tools.get(t.from.as_str()).cloned();
            async move {
                let (id, tool) = tool?;
                probe(engine, &id, tool, t).await
            }
        })
        .collect();
    let probes: Vec<Option<ProbeView>> = futures_util::stream::iter(pending)
        .buffered(PROBES_AT_ONCE)
        .collect()
        .await;
    (probes.into_iter().flatten().collect(), unprobed)
}

/// One connection attempt from container `id` to the target, timed.
async fn probe<E: Engine>(engine: &E, id: &str, tool: Tool, t: &Target) -> Option<ProbeView> {
    let port = t.port.to_string();
    let url = format!("http://{}:{port}/", t.host);
    let cmd: Vec<&str> = match tool {
        Tool::Bash => vec![
            "bash",
            "-c",
            "exec 3<>\"/dev/tcp/$1/$2\"",
            "probe",
            &t.host,
            &port,
        ],
        Tool::Python => vec!["python3", "-c", PY_PROBE, &t.host, &port],
        Tool::Wget => vec!["wget", "-q", "-O", "/dev/null", "-T", "3", &url],
    };
    let started = Instant::now();
    let result = match tokio::time::timeout(PROBE_TIMEOUT, capture(engine, id, &cmd, &[])).await {
        Ok(Ok(ran)) => classify(tool, ran.exit, &ran.stdout, &ran.stderr),
        Ok(Err(_)) => return None,
        Err(_) => ProbeResult::Timeout,
    };
    Some(ProbeView {
        from: t.from.clone(),
        to: t.to.clone(),
        host: t.host.clone(),
        port: t.port,
        result,
        ms: Some(started.elapsed().as_secs_f64() * 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_urls_passes_and_hosts() {
        let a = written_addresses("postgresql://u:p%40ss@database:5432/app");
        assert!(
            a.contains(&("database".into(), Some(5432), Some("postgresql".into()))),
            "{a:?}"
        );
        let a = written_addresses("proxy_pass http://app:8000");
        assert!(
            a.iter().any(|(h, p, _)| h == "app" && *p == Some(8000)),
            "{a:?}"
        );
        let a = written_addresses("redis://cache/0");
        assert!(
            a.contains(&("cache".into(), None, Some("redis".into()))),
            "{a:?}"
        );
    }

    #[test]
    fn each_tools_answer_is_read() {
        assert_eq!(classify(Tool::Bash, Some(0), "", ""), ProbeResult::Ok);
        assert_eq!(
            classify(Tool::Bash, Some(1), "", "bash: connect: Connection refused"),
            ProbeResult::Refused
        );
        assert_eq!(
            classify(
                Tool::Bash,
                Some(1),
                "",
                "bash: app: Name or service not known"
            ),
            ProbeResult::Nxdomain
        );
        assert_eq!(
            classify(Tool::Wget, Some(1), "", "wget: bad address 'app:8000'"),
            ProbeResult::Nxdomain
        );
        assert_eq!(
            classify(
                Tool::Wget,
                Some(8),
                "",
                "wget: server returned error: HTTP/1.1 404"
            ),
            ProbeResult::Ok
        );
        assert_eq!(
            classify(Tool::Python, Some(0), "timeout\n", ""),
            ProbeResult::Timeout
        );
    }
}
