//! Berth's own view of what the engine reports. Bollard types stop at `docker.rs`.

use std::collections::HashMap;

use serde::Serialize;

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_PODMAN_PROJECT: &str = "io.podman.compose.project";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Restarting,
    Paused,
    Exited,
    Created,
    Dead,
    Removing,
    NotCreated,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Restarting => "restarting",
            RunState::Paused => "paused",
            RunState::Exited => "exited",
            RunState::Created => "created",
            RunState::Dead => "dead",
            RunState::Removing => "removing",
            RunState::NotCreated => "not_created",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Starting => "starting",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub status: HealthState,
    pub failing_streak: i64,
    /// Output of the most recent probe.
    pub last_output: Option<String>,
    pub last_exit_code: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
    /// "127.0.0.1:8080→80", "[::]:8080→80", "0.0.0.0:53→53/udp": as the diagram labels ports.
    pub label: String,
}

impl PublishedPort {
    pub fn new(host_ip: &str, host_port: u16, container_port: u16, protocol: &str) -> Self {
        let ip = if host_ip.is_empty() {
            "0.0.0.0"
        } else {
            host_ip
        };
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_owned()
        };
        let proto = if protocol == "tcp" {
            String::new()
        } else {
            format!("/{protocol}")
        };
        PublishedPort {
            host_ip: host_ip.to_owned(),
            host_port,
            container_port,
            protocol: protocol.to_owned(),
            label: format!("{ip}:{host_port}→{container_port}{proto}"),
        }
    }
}

/// One container as Berth needs it, from an inspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    pub service: Option<String>,
    pub number: Option<u32>,
    pub oneoff: bool,
    pub config_hash: Option<String>,
    pub image: String,
    /// The id of the image the container was made from (`sha256:…`).
    pub image_id: Option<String>,
    pub state: RunState,
    pub exit_code: Option<i64>,
    pub health: Option<Health>,
    pub restart_count: i64,
    /// RFC 3339, as the engine reports it.
    pub started_at: Option<String>,
    pub ports: Vec<PublishedPort>,
    pub tty: bool,
    #[serde(skip)]
    pub labels: HashMap<String, String>,
}

impl ContainerInfo {
    /// A container of project `p` for unit tests (here and in the crates above, with the fake).
    #[doc(hidden)]
    pub fn for_test(id: &str, service: &str, number: u32, state: RunState) -> Self {
        ContainerInfo {
            id: id.into(),
            name: format!("p_{service}_{number}"),
            project: Some("p".into()),
            service: Some(service.into()),
            number: Some(number),
            oneoff: false,
            config_hash: None,
            image: "img".into(),
            image_id: None,
            state,
            exit_code: None,
            health: None,
            restart_count: 0,
            started_at: Some("2026-11-23T10:00:00.5Z".into()),
            ports: vec![],
            tty: false,
            labels: Default::default(),
        }
    }
}

/// A container event from the engine's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub action: String,
    pub id: String,
    pub project: Option<String>,
    pub service: Option<String>,
    pub time_nano: i64,
    /// `exitCode` of a `die` event.
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// A chunk of container output as the engine delivers it (one or more lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub stream: LogStream,
    pub bytes: Vec<u8>,
}

/// Which container output to read.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub follow: bool,
    /// `None` for everything.
    pub tail: Option<u64>,
    /// Unix seconds.
    pub since: Option<i64>,
    /// Ask the engine to stamp each line. Merging several containers turns it on by itself.
    pub timestamps: bool,
}

/// Who we reached and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    pub host: String,
    pub version: String,
    pub api_version: String,
}

/// One resource sample of a container, computed the way `docker stats` does.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct StatsSample {
    pub container: String,
    pub service: Option<String>,
    /// Percent of one CPU times the number of CPUs, as `docker stats` shows it.
    pub cpu_percent: f64,
    /// Used memory without the page cache.
    pub mem_used: u64,
    pub mem_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub blk_read: u64,
    pub blk_write: u64,
}

/// A named volume as the engine keeps it: enough to make it again with the same name, driver
/// and labels (compose recognises its volumes by their labels).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeInfo {
    pub name: String,
    pub driver: String,
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The label every container and volume Berth makes for its own work carries, so one left by
/// a crash is found and removed on the next run.
pub const LABEL_BERTH_ROLE: &str = "dev.berth.role";
