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
use crate::engine::{BoxStream, Engine, ExecStream, ExecTty};
use crate::error::EngineError;
use crate::model::*;

/// How long a connection attempt may take before the engine counts as "not responding": a
/// frozen daemon (`kill -STOP`) accepts the socket and never answers, and bollard alone would
/// wait two minutes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Every later request's wait for the engine's response headers. Streams (events, logs, stats)
/// send headers at once, so this bounds only requests that hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The bound of one archive upload, answered only once the engine extracted all of it.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);

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

    /// Connects to exactly this endpoint within [`CONNECT_TIMEOUT`], speaking the API version
    /// the daemon offers (Docker 20.10 speaks 1.41) or bollard's newest, whichever is older.
    pub async fn connect_to(endpoint: &Endpoint) -> Result<Self, EngineError> {
        let host = endpoint.host.clone();
        let unreachable = || EngineError::Unreachable {
            tried: vec![host.clone()],
        };
        let attempt = async {
            // On a local socket one `/_ping` says everything needed: its headers carry the API
            // and server versions. `/version` (what bollard's negotiation asks) makes Docker
            // 20.10 run `runc --version` and `docker-init --version`: 6-9 ms, twice per connect.
            #[cfg(unix)]
            if let Some(path) = host.strip_prefix("unix://") {
                let ping = unix_ping(path).await.map_err(|_| None)?;
                let version = client_version(&ping.api_version);
                let docker = client_for(endpoint, &version).map_err(|_| None)?;
                return Ok((
                    docker,
                    EngineInfo {
                        host: host.clone(),
                        version: ping.server_version,
                        api_version: ping.api_version,
                    },
                ));
            }
            let docker = client_for(endpoint, bollard::API_DEFAULT_VERSION).map_err(|_| None)?;
            let docker = docker.negotiate_version().await.map_err(Some)?;
            let v = docker.version().await.map_err(Some)?;
            Ok::<_, Option<bollard::errors::Error>>((
                docker,
                EngineInfo {
                    host: host.clone(),
                    version: v.version.unwrap_or_default(),
                    api_version: v.api_version.unwrap_or_default(),
                },
            ))
        };
        let (docker, info) = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Err(_) | Ok(Err(Some(bollard::errors::Error::RequestTimeoutError))) => {
                return Err(EngineError::NotResponding { host })
            }
            Ok(Err(_)) => return Err(unreachable()),
            Ok(Ok(ok)) => ok,
        };
        Ok(DockerEngine {
            docker: docker.with_timeout(REQUEST_TIMEOUT),
            info,
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
fn client_for(
    endpoint: &Endpoint,
    version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let secs = CONNECT_TIMEOUT.as_secs();
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

/// What a daemon's `/_ping` headers say.
#[derive(Debug, PartialEq, Eq)]
struct Ping {
    api_version: String,
    server_version: String,
}

/// `GET /_ping` over a Unix socket, by hand: one request, headers only.
#[cfg(unix)]
async fn unix_ping(path: &str) -> std::io::Result<Ping> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(path).await?;
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // The headers are a few hundred bytes; a daemon that sends more is not one to trust.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_ping(&String::from_utf8_lossy(&buf)).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a Docker API ping answer",
        )
    })
}

fn parse_ping(text: &str) -> Option<Ping> {
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    if !status.starts_with("HTTP/1.") || !status.contains(" 200") {
        return None;
    }
    let (mut api, mut server) = (None, None);
    for l in lines.take_while(|l| !l.is_empty()) {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("api-version") {
            api = Some(v.to_owned());
        } else if k.eq_ignore_ascii_case("server") {
            // "Docker/20.10.24+dfsg1 (linux)", "Libpod/5.2.0 (linux)"
            server = v
                .split_once('/')
                .map(|(_, r)| r.split_whitespace().next().unwrap_or_default().to_owned());
        }
    }
    Some(Ping {
        api_version: api?,
        server_version: server.unwrap_or_default(),
    })
}

/// The API version to speak: the daemon's, unless bollard knows only older ones.
fn client_version(daemon: &str) -> bollard::ClientVersion {
    let newest = bollard::API_DEFAULT_VERSION;
    let parsed = daemon.split_once('.').and_then(|(a, b)| {
        Some(bollard::ClientVersion {
            major_version: a.parse().ok()?,
            minor_version: b.parse().ok()?,
        })
    });
    match parsed {
        Some(v)
            if (v.major_version, v.minor_version)
                < (newest.major_version, newest.minor_version) =>
        {
            v
        }
        _ => bollard::ClientVersion {
            major_version: newest.major_version,
            minor_version: newest.minor_version,
        },
    }
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
                    ports.push(PublishedPort::new(
                        b.host_ip.as_deref().unwrap_or_default(),
                        hp,
                        container_port,
                        proto,
                    ));
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
        image_id: r.image.clone(),
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

    async fn inspect_raw(&self, id: &str) -> Result<Option<serde_json::Value>, EngineError> {
        let r = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await;
        Ok(self.found(r)?.and_then(|r| serde_json::to_value(r).ok()))
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, EngineError> {
        let r = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await;
        Ok(self.found(r)?.map(container_info))
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

    async fn image_id(&self, name: &str) -> Result<Option<String>, EngineError> {
        Ok(self
            .found(self.docker.inspect_image(name).await)?
            .and_then(|i| i.id))
    }

    async fn rootless(&self) -> Result<bool, EngineError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| map_err(self.host(), e))?;
        Ok(info
            .security_options
            .unwrap_or_default()
            .iter()
            .any(|o| o.split(',').any(|kv| kv == "name=rootless")))
    }

    async fn exec_status(&self, id: &str, cmd: &[&str]) -> Result<Option<i64>, EngineError> {
        let mut exec = self.exec_stream(id, cmd, &[], None).await?;
        // Drained, not kept: only the exit code is wanted, and it is set once the output ends.
        while let Some(chunk) = exec.output.next().await {
            chunk?;
        }
        self.exec_exit_code(&exec.id).await
    }

    async fn exec_tty(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[&str],
        cols: u16,
        rows: u16,
    ) -> Result<ExecTty, EngineError> {
        let (exec, output, input) = self
            .start_attached(
                id,
                bollard::exec::CreateExecOptions {
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(true),
                    env: Some(env.to_vec()),
                    cmd: Some(cmd.to_vec()),
                    ..Default::default()
                },
                64 * 1024,
            )
            .await?;
        // The size is set after the start: `ConsoleSize` at create needs API 1.42, and Debian's
        // dockerd 20.10 speaks 1.41.
        let _ = self.resize_exec(&exec, cols, rows).await;
        let output = output.map(|r| r.map(|c| c.bytes));
        Ok(ExecTty {
            id: exec,
            output: Box::pin(output),
            input,
        })
    }

    async fn resize_exec(&self, exec: &str, cols: u16, rows: u16) -> Result<(), EngineError> {
        self.docker
            .resize_exec(
                exec,
                bollard::exec::ResizeExecOptions {
                    height: rows.max(1),
                    width: cols.max(1),
                },
            )
            .await
            .map_err(|e| map_err(self.host(), e))
    }

    async fn exec_exit_code(&self, exec: &str) -> Result<Option<i64>, EngineError> {
        let r = self
            .docker
            .inspect_exec(exec)
            .await
            .map_err(|e| map_err(self.host(), e))?;
        if r.running == Some(true) {
            return Ok(None);
        }
        Ok(r.exit_code)
    }

    async fn exec_stream(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[&str],
        user: Option<&str>,
    ) -> Result<ExecStream, EngineError> {
        let (exec, output, _) = self
            .start_attached(
                id,
                bollard::exec::CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    env: Some(env.to_vec()),
                    cmd: Some(cmd.to_vec()),
                    user,
                    ..Default::default()
                },
                256 * 1024,
            )
            .await?;
        Ok(ExecStream { id: exec, output })
    }

    fn download(&self, container: &str, path: &str) -> BoxStream<Vec<u8>> {
        use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
        let host = self.endpoint.host.clone();
        let opts = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        Box::pin(
            self.docker
                .download_from_container(container, Some(opts))
                .map(move |r| r.map(|b| b.to_vec()).map_err(|e| map_err(&host, e))),
        )
    }

    async fn upload(
        &self,
        container: &str,
        path: &str,
        tar: BoxStream<Vec<u8>>,
    ) -> Result<(), EngineError> {
        use bollard::query_parameters::UploadToContainerOptionsBuilder;
        let opts = UploadToContainerOptionsBuilder::new().path(path).build();
        let body = tar.map(|r| {
            r.map(bytes::Bytes::from)
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
        // The engine answers once the whole archive is extracted: minutes for a large volume,
        // so this request has its own, long, bound.
        self.docker
            .clone()
            .with_timeout(TRANSFER_TIMEOUT)
            .upload_to_container(container, Some(opts), bollard::body_try_stream(body))
            .await
            .map_err(|e| map_err(self.host(), e))
    }

    async fn create_holder(
        &self,
        image: &str,
        mounts: &[(&str, &str)],
        role: &str,
    ) -> Result<String, EngineError> {
        use bollard::models::{
            ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions,
        };
        let mounts = mounts
            .iter()
            .map(|(volume, target)| Mount {
                target: Some((*target).to_owned()),
                source: Some((*volume).to_owned()),
                typ: Some(MountType::VOLUME),
                // An empty volume must stay empty: never seeded from the image's folder.
                volume_options: Some(MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            // Never started; a command is still required by images without one.
            entrypoint: Some(vec!["/berth-holder-never-runs".into()]),
            cmd: Some(vec![]),
            network_disabled: Some(true),
            labels: Some(HashMap::from([(
                LABEL_BERTH_ROLE.to_owned(),
                role.to_owned(),
            )])),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .map_err(|e| map_err(self.host(), e))?;
        Ok(created.id)
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        use bollard::query_parameters::RemoveContainerOptionsBuilder;
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        self.found(self.docker.remove_container(id, Some(opts)).await)
            .map(|_| ())
    }

    async fn volume(&self, name: &str) -> Result<Option<VolumeInfo>, EngineError> {
        Ok(self
            .found(self.docker.inspect_volume(name).await)?
            .map(|v| VolumeInfo {
                name: v.name,
                driver: v.driver,
                labels: v.labels.into_iter().collect(),
            }))
    }

    async fn create_volume(&self, volume: &VolumeInfo) -> Result<(), EngineError> {
        let req = bollard::models::VolumeCreateRequest {
            name: Some(volume.name.clone()),
            driver: Some(volume.driver.clone()).filter(|d| !d.is_empty()),
            labels: Some(volume.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(req)
            .await
            .map(|_| ())
            .map_err(|e| map_err(self.host(), e))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let none = None::<bollard::query_parameters::RemoveVolumeOptions>;
        self.found(self.docker.remove_volume(name, none).await)
            .map(|_| ())
    }

    async fn containers_labelled(&self, label: &str) -> Result<Vec<String>, EngineError> {
        self.container_ids("label", label).await
    }

    async fn volumes_labelled(&self, label: &str) -> Result<Vec<String>, EngineError> {
        use bollard::query_parameters::ListVolumesOptionsBuilder;
        let filters: HashMap<&str, Vec<String>> =
            HashMap::from([("label", vec![label.to_owned()])]);
        let list = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| map_err(self.host(), e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    async fn volume_users(&self, name: &str) -> Result<Vec<String>, EngineError> {
        self.container_ids("volume", name).await
    }
}

type ExecInput = std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

impl DockerEngine {
    /// An answer where "no such object" (404) is `None`, not an error.
    fn found<T>(&self, r: Result<T, bollard::errors::Error>) -> Result<Option<T>, EngineError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(map_err(self.host(), e)),
        }
    }

    /// Creates an exec instance and starts it attached: its id, what it prints (stdout and
    /// stderr apart unless it has a terminal), and its input.
    async fn start_attached(
        &self,
        id: &str,
        create: bollard::exec::CreateExecOptions<&str>,
        capacity: usize,
    ) -> Result<(String, BoxStream<LogChunk>, ExecInput), EngineError> {
        use bollard::exec::{StartExecOptions, StartExecResults};
        let host = self.host().to_owned();
        let tty = create.tty.unwrap_or(false);
        let exec = self
            .docker
            .create_exec(id, create)
            .await
            .map_err(|e| map_err(&host, e))?;
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty,
                    output_capacity: Some(capacity),
                }),
            )
            .await
            .map_err(|e| map_err(&host, e))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(EngineError::Api {
                status: 500,
                message: "the engine started the command detached".into(),
            });
        };
        let output = output.map(move |r| {
            use bollard::container::LogOutput;
            Ok(match r.map_err(|e| map_err(&host, e))? {
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
        Ok((exec.id, Box::pin(output), input))
    }

    /// Ids of every container (any state) matching one list filter.
    async fn container_ids(&self, filter: &str, value: &str) -> Result<Vec<String>, EngineError> {
        let filters: HashMap<&str, Vec<String>> = HashMap::from([(filter, vec![value.to_owned()])]);
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
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_answer_gives_the_api_and_server_versions() {
        let docker = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\nContent-Length: 2\r\n\r\nOK";
        assert_eq!(
            parse_ping(docker),
            Some(Ping {
                api_version: "1.41".into(),
                server_version: "20.10.24+dfsg1".into()
            })
        );
        let podman = "HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nLibpod-Api-Version: 5.2.0\r\nServer: Libpod/5.2.0 (linux)\r\n\r\n";
        assert_eq!(
            parse_ping(podman).map(|p| p.server_version),
            Some("5.2.0".into())
        );
        assert_eq!(parse_ping("HTTP/1.1 404 Not Found\r\n\r\n"), None);
        assert_eq!(parse_ping("garbage"), None);
        assert_eq!(
            parse_ping("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"),
            None,
            "no API version"
        );
    }

    #[test]
    fn the_older_of_the_daemons_and_bollards_api_version_is_spoken() {
        let v = client_version("1.41");
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let newest = bollard::API_DEFAULT_VERSION;
        let v = client_version("9.99");
        assert_eq!(
            (v.major_version, v.minor_version),
            (newest.major_version, newest.minor_version)
        );
        let v = client_version("nonsense");
        assert_eq!(v.major_version, newest.major_version);
    }
}
