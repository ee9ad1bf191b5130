//! The typed compose model that the rest of Berth reads. Everything here is already interpolated,
//! merged across files, extended, and filtered by the active profiles.

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::yaml::Pos;

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub working_dir: PathBuf,
    /// The compose files in the order they were merged.
    pub files: Vec<PathBuf>,
    /// Services active under the chosen profiles, in file order.
    pub services: IndexMap<String, Service>,
    /// Services that exist but whose profiles are not active.
    pub inactive_services: Vec<String>,
    pub networks: IndexMap<String, Network>,
    pub volumes: IndexMap<String, NamedVolume>,
    pub warnings: Vec<String>,
    /// nginx configs each service bind-mounts from the project, by service.
    pub configs: IndexMap<String, Vec<ConfFile>>,
    /// Every file the load read or looked for (compose files, `extends` files, env files,
    /// mounted configs), and the folders whose new config files would change the picture: what
    /// a session watches to reload by itself.
    pub sources: Vec<PathBuf>,
    pub watch_dirs: Vec<PathBuf>,
}

/// A config file read from the host side of a bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub pos: Pos,
    pub image: Option<String>,
    pub build: Option<Build>,
    /// The command as one display string (list forms are joined with spaces).
    pub command: Option<String>,
    pub entrypoint: Option<String>,
    pub container_name: Option<String>,
    pub ports: Vec<PortMapping>,
    pub volumes: Vec<Mount>,
    pub networks: IndexMap<String, ServiceNetwork>,
    pub network_mode: Option<Located<String>>,
    pub depends_on: IndexMap<String, Dependency>,
    pub links: Vec<Located<String>>,
    pub volumes_from: Vec<Located<String>>,
    /// Final environment: env_file values first, `environment` on top. Variables listed without
    /// a value and absent from the shell are left out, as Compose does.
    pub environment: IndexMap<String, EnvVar>,
    pub healthcheck: Option<Healthcheck>,
    pub profiles: Vec<String>,
    pub restart: Option<String>,
    pub labels: IndexMap<String, String>,
    pub init: bool,
    /// `scale` or `deploy.replicas`; 1 when neither is set.
    pub replicas: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Build {
    pub context: String,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// `None` means every interface (Docker binds 0.0.0.0 and ::).
    pub host_ip: Option<String>,
    /// `None` when Docker picks an ephemeral host port (or one from `host_port_range`).
    pub host_port: Option<u16>,
    /// A published range with a single container port: Docker picks one port in it.
    pub host_port_range: Option<(u16, u16)>,
    pub container_port: u16,
    pub protocol: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
    /// A volume with no source: Docker creates an anonymous one.
    Anonymous,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mount {
    pub kind: MountKind,
    /// Absolute host path for binds, the volume's key for named volumes.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Dependency {
    pub condition: DependencyCondition,
    pub required: bool,
    /// `restart: true`: Compose restarts this service when the dependency is restarted.
    pub restart: bool,
    /// Added by Compose, not written: what implies it (`links`, `network_mode`, `ipc`, `pid`,
    /// `uts`, `cgroup`, `volumes_from`). The graph draws those as their own edges.
    pub implied_by: Option<&'static str>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyCondition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl DependencyCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyCondition::Started => "service_started",
            DependencyCondition::Healthy => "service_healthy",
            DependencyCondition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnvVar {
    pub value: String,
    /// Where the value was set: the `environment` entry or the env file line.
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Healthcheck {
    /// The probe as Docker receives it, e.g. `["CMD-SHELL", "pg_isready"]`; empty when disabled.
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Network {
    pub driver: Option<String>,
    pub internal: bool,
    pub external: bool,
    /// The engine-side name when it is set explicitly.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NamedVolume {
    pub driver: Option<String>,
    pub external: bool,
    pub name: Option<String>,
}
