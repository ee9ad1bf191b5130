//! The bollard implementation of [`Engine`]. This is the only module that sees bollard types.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::models::ContainerStatsResponse;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::{
    EventsOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    LogsOptionsBuilder, StatsOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::endpoint::{candidate_endpoints, Endpoint};
use crate::engine::{BoxStream, Engine};
use crate::error::EngineError;
use crate::model::*;

/// How long a connection attempt may take before the engine counts as "not responding": a
/// frozen daemon (`kill -STOP`) accepts the socket and never answers, and bollard alone would
/// wait two minutes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Every later request's wait for the engine's response headers. Streams (events, logs, stats)
/// send headers at once, so this bounds only requests that hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Endpoint,
    info: EngineInfo,
}

fn map_err(host: &str, e: bollard::errors::Error) -> EngineError {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => EngineError::Api {
            status: status_code,
            message,
        },
        bollard::errors::Error::RequestTimeoutError => EngineError::NotResponding {
            host: host.to_owned(),
        },
        other => EngineError::Disconnected {
            host: host.to_owned(),
            message: other.to_string(),
        },
    }
}

impl DockerEngine {
    /// Connects to the first engine that answers among [`candidate_endpoints`].
    pub async fn connect(env: &HashMap<String, String>) -> Result<Self, EngineError> {
        let candidates = candidate_endpoints(env);
        let tried: Vec<String> = candidates.iter().map(|e| e.host.clone()).collect();
        let mut frozen = None;
        for endpoint in candidates {
            if let Some(path) = endpoint.host.strip_prefix("unix://") {
                if !Path::new(path).exists() {
                    continue;
                }
            }
            match Self::connect_to(&endpoint).await {
                Ok(e) => return Ok(e),
                Err(e @ EngineError::NotResponding { .. }) => frozen = Some(e),
                Err(_) => {}
            }
        }
        Err(frozen.unwrap_or(EngineError::Unreachable { tried }))
    }

    /// Connects to exactly this endpoint, negotiating the API version down to what the daemon
    /// speaks (Docker 20.10 speaks 1.41), within [`CONNECT_TIMEOUT`].
    pub async fn connect_to(endpoint: &Endpoint) -> Result<Self, EngineError> {
        let host = endpoint.host.clone();
        let unreachable = || EngineError::Unreachable {
            tried: vec![host.clone()],
        };
        let docker = client_for(endpoint).map_err(|_| unreachable())?;
        let attempt = async {
            let docker = docker.negotiate_version().await?;
            let v = docker.version().await?;
            Ok::<_, bollard::errors::Error>((docker, v))
        };
        let (docker, v) = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Err(_) => return Err(EngineError::NotResponding { host }),
            Ok(Err(bollard::errors::Error::RequestTimeoutError)) => {
                return Err(EngineError::NotResponding { host })
            }
            Ok(Err(_)) => return Err(unreachable()),
            Ok(Ok(ok)) => ok,
        };
        Ok(DockerEngine {
            docker: docker.with_timeout(REQUEST_TIMEOUT),
            info: EngineInfo {
                host: host.clone(),
                version: v.version.unwrap_or_default(),
                api_version: v.api_version.unwrap_or_default(),
            },
            endpoint: endpoint.clone(),
        })
    }

    pub fn host(&self) -> &str {
        &self.endpoint.host
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// A bollard client for one endpoint, with its TLS material when it has some; no environment
/// is read here, so bollard reaches the same engine as the compose child.
fn client_for(endpoint: &Endpoint) -> Result<Docker, bollard::errors::Error> {
    let secs = CONNECT_TIMEOUT.as_secs();
    let version = bollard::API_DEFAULT_VERSION;
    let host = endpoint.host.as_str();
    if let Some(tls) = &endpoint.tls {
        let (key, cert, ca) = (
            tls.dir.join("key.pem"),
            tls.dir.join("cert.pem"),
            tls.dir.join("ca.pem"),
        );
        return Docker::connect_with_ssl(host, &key, &cert, &ca, secs, version);
    }
    #[cfg(unix)]
    if host.starts_with("unix://") {
        return Docker::connect_with_unix(host, secs, version);
    }
    #[cfg(windows)]
    if host.starts_with("npipe://") {
        return Docker::connect_with_named_pipe(host, secs, version);
    }
    if host.starts_with("tcp://") || host.starts_with("http://") {
        return Docker::connect_with_http(host, secs, version);
    }
    Err(bollard::errors::Error::UnsupportedURISchemeError {
        uri: host.to_owned(),
    })
}

fn state_of(s: Option<ContainerStateStatusEnum>) -> RunState {
    match s {
        Some(ContainerStateStatusEnum::RUNNING) => RunState::Running,
        Some(ContainerStateStatusEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerStateStatusEnum::PAUSED) => RunState::Paused,
        Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::STOPPING) => {
            RunState::Exited
        }
        Some(ContainerStateStatusEnum::DEAD) => RunState::Dead,
        Some(ContainerStateStatusEnum::REMOVING) => RunState::Removing,
        _ => RunState::Created,
    }
}

fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let labels = r
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    let state = r.state.clone().unwrap_or_default();
    let health = state.health.as_ref().and_then(|h| {
        let status = match h.status {
            Some(HealthStatusEnum::STARTING) => HealthState::Starting,
            Some(HealthStatusEnum::HEALTHY) => HealthState::Healthy,
            Some(HealthStatusEnum::UNHEALTHY) => HealthState::Unhealthy,
            _ => return None,
        };
        let last = h.log.as_ref().and_then(|l| l.last());
        Some(Health {
            status,
            failing_streak: h.failing_streak.unwrap_or(0),
            last_output: last
                .and_then(|l| l.output.clone())
                .map(|o| o.trim_end().to_owned())
                .filter(|o| !o.is_empty()),
            last_exit_code: last.and_then(|l| l.exit_code),
        })
    });
    let run_state = state_of(state.status);
    let mut ports = Vec::new();
    if let Some(map) = r.network_settings.as_ref().and_then(|n| n.ports.as_ref()) {
        for (key, bindings) in map {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for b in bindings.iter().flatten() {
                if let Some(hp) = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()) {
                    ports.push(PublishedPort {
                        host_ip: b.host_ip.clone().unwrap_or_default(),
                        host_port: hp,
                        container_port,
                        protocol: proto.to_owned(),
                    });
                }
            }
        }
    }
    ports.sort_by(|a, b| (a.container_port, &a.host_ip).cmp(&(b.container_port, &b.host_ip)));
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: r
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        project: labels
            .get(LABEL_PROJECT)
            .or_else(|| labels.get(LABEL_PODMAN_PROJECT))
            .cloned(),
        service: labels.get(LABEL_SERVICE).cloned(),
        number: labels.get(LABEL_NUMBER).and_then(|n| n.parse().ok()),
        oneoff: labels
            .get(LABEL_ONEOFF)
            .map(|v| v == "True" || v == "true")
            .unwrap_or(false),
        config_hash: labels.get(LABEL_CONFIG_HASH).cloned(),
        image: r
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        state: run_state,
        exit_code: match run_state {
            RunState::Exited | RunState::Dead | RunState::Restarting => state.exit_code,
            _ => None,
        },
        health,
        restart_count: r.restart_count.unwrap_or(0),
        started_at: state.started_at.filter(|s| !s.starts_with("0001-")),
        ports,
        tty: r.config.as_ref().and_then(|c| c.tty).unwrap_or(false),
        labels,
    }
}

/// `docker stats` arithmetic: CPU delta over system delta times CPUs; memory without cache.
pub(crate) fn sample_of(c: &ContainerInfo, r: &ContainerStatsResponse) -> StatsSample {
    let cpu = r.cpu_stats.clone().unwrap_or_default();
    let pre = r.precpu_stats.clone().unwrap_or_default();
    let total = |s: &bollard::models::ContainerCpuStats| {
        s.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let sys_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let cpus = cpu.online_cpus.unwrap_or(1).max(1) as f64;
    let cpu_percent = if sys_delta > 0.0 {
        cpu_delta / sys_delta * cpus * 100.0
    } else {
        0.0
    };
    let mem = r.memory_stats.clone().unwrap_or_default();
    let cache = mem
        .stats
        .as_ref()
        .and_then(|s| {
            s.get("inactive_file")
                .or_else(|| s.get("total_inactive_file"))
                .or_else(|| s.get("cache"))
        })
        .copied()
        .unwrap_or(0);
    let (mut rx, mut tx) = (0, 0);
    for n in r
        .networks
        .as_ref()
        .map(|m| m.values())
        .into_iter()
        .flatten()
    {
        rx += n.rx_bytes.unwrap_or(0);
        tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut read, mut write) = (0, 0);
    let entries = r
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.clone())
        .unwrap_or_default();
    for e in entries {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += e.value.unwrap_or(0),
            Some("write") => write += e.value.unwrap_or(0),
            _ => {}
        }
    }
    StatsSample {
        container: c.name.clone(),
        service: c.service.clone(),
        cpu_percent,
        mem_used: mem.usage.unwrap_or(0).saturating_sub(cache),
        mem_limit: mem.limit.unwrap_or(0),
        net_rx: rx,
        net_tx: tx,
        blk_read: read,
        blk_write: write,
    }
}

impl Engine for DockerEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        // Asked once while connecting; the version of a daemon does not change under a
        // connection (a restarted daemon drops it, and the reconnect asks again).
        Ok(self.info.clone())
    }

    async fn ping(&self) -> Result<(), EngineError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(bollard::errors::Error::RequestTimeoutError)) | Err(_) => {
                Err(EngineError::NotResponding {
                    host: self.endpoint.host.clone(),
                })
            }
            Ok(Err(e)) => Err(map_err(self.host(), e)),
        }
    }

    async fn project_containers(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let label = match project {
            Some(p) => format!("{LABEL_PROJECT}={p}"),
            None => LABEL_PROJECT.to_owned(),
        };
        let filters: HashMap<&str, Vec<String>> = HashMap::from([("label", vec![label])]);
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| map_err(self.host(), e))?;
        let ids: Vec<String> = list.into_iter().filter_map(|c| c.id).collect();
        // Inspect them concurrently: a summary lacks health, restarts and exit codes.
        let inspected = futures_util::future::join_all(ids.iter().map(|id| self.inspect(id))).await;
        let mut out = Vec::with_capacity(ids.len());
        for r in inspected {
            if let Some(c) = r? {
                out.push(c);
            }
        }
        out.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
        Ok(out)
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, EngineError> {
        match self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(r) => Ok(Some(container_info(r))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(map_err(self.host(), e)),
        }
    }

    fn events(&self, project: Option<&str>, since_unix: i64) -> BoxStream<EngineEvent> {
        let mut filters: HashMap<&str, Vec<String>> =
            HashMap::from([("type", vec!["container".to_owned()])]);
        if let Some(p) = project {
            filters.insert("label", vec![format!("{LABEL_PROJECT}={p}")]);
        }
        let opts = EventsOptionsBuilder::new()
            .since(&since_unix.to_string())
            .filters(&filters)
            .build();
        let host = self.endpoint.host.clone();
        let stream = self.docker.events(Some(opts)).map(move |r| {
            let m = r.map_err(|e| map_err(&host, e))?;
            let actor = m.actor.unwrap_or_default();
            let attrs = actor.attributes.unwrap_or_default();
            Ok(EngineEvent {
                action: m.action.unwrap_or_default(),
                id: actor.id.unwrap_or_default(),
                project: attrs.get(LABEL_PROJECT).cloned(),
                service: attrs.get(LABEL_SERVICE).cloned(),
                time_nano: m.time_nano.unwrap_or(0),
                exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
            })
        });
        Box::pin(stream)
    }

    fn logs(&self, id: &str, request: &LogRequest) -> BoxStream<LogChunk> {
        let tail = request
            .tail
            .map(|t| t.to_string())
            .unwrap_or_else(|| "all".into());
        let mut b = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(request.follow)
            .timestamps(request.timestamps)
            .tail(&tail);
        if let Some(s) = request.since {
            b = b.since(i32::try_from(s).unwrap_or(i32::MAX));
        }
        let host = self.endpoint.host.clone();
        let stream = self.docker.logs(id, Some(b.build())).map(move |r| {
            use bollard::container::LogOutput;
            let out = r.map_err(|e| map_err(&host, e))?;
            Ok(match out {
                LogOutput::StdErr { message } => LogChunk {
                    stream: LogStream::Stderr,
                    bytes: message.to_vec(),
                },
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message } => LogChunk {
                    stream: LogStream::Stdout,
                    bytes: message.to_vec(),
                },
            })
        });
        Box::pin(stream)
    }

    fn stats(&self, container: &ContainerInfo) -> BoxStream<StatsSample> {
        self.stats_stream(container)
    }
}

impl DockerEngine {
    fn stats_stream(&self, container: &ContainerInfo) -> BoxStream<StatsSample> {
        let host = self.endpoint.host.clone();
        let c = container.clone();
        let opts = StatsOptionsBuilder::new()
            .stream(true)
            .one_shot(false)
            .build();
        Box::pin(
            self.docker
                .stats(&container.id, Some(opts))
                .map(move |r| r.map(|r| sample_of(&c, &r)).map_err(|e| map_err(&host, e))),
        )
    }
}
