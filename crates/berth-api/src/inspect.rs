use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_compose::diagram::{self, DiagramFormat};
use berth_compose::mask::Secrets;
use berth_compose::model::{MountKind, Project};
use berth_compose::{build_graph, Graph, LoadOptions};
use serde::Serialize;

use crate::error::ApiError;

/// How the user opened a stack: the compose CLI's own options.
#[derive(Debug, Clone, Default)]
pub struct StackRequest {
    pub dir: Option<PathBuf>,
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub profiles: Vec<String>,
    pub env_files: Vec<PathBuf>,
}

impl StackRequest {
    pub(crate) fn load_options(&self, env: HashMap<String, String>) -> LoadOptions {
        LoadOptions {
            dir: self.dir.clone(),
            files: self.files.clone(),
            project_name: self.project_name.clone(),
            profiles: self.profiles.clone(),
            env_files: self.env_files.clone(),
            env,
        }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct InspectView {
    pub project: String,
    pub working_dir: String,
    pub files: Vec<String>,
    pub services: Vec<ServiceView>,
    pub inactive_services: Vec<String>,
    pub networks: Vec<NetworkView>,
    pub volumes: Vec<VolumeView>,
    pub edges: Vec<EdgeView>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ServiceView {
    pub name: String,
    pub image: Option<String>,
    pub build: bool,
    pub role: &'static str,
    pub container_name: Option<String>,
    pub command: Option<String>,
    pub ports: Vec<PortView>,
    pub networks: Vec<String>,
    pub volumes: Vec<MountView>,
    /// dependency -> condition
    pub depends_on: serde_json::Map<String, serde_json::Value>,
    /// Masked unless secrets were asked for.
    pub environment: serde_json::Map<String, serde_json::Value>,
    pub healthcheck: bool,
    /// The probe as written (durations as written), or `null` when the file sets none.
    pub healthcheck_detail: Option<HealthcheckView>,
    pub profiles: Vec<String>,
    pub restart: Option<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HealthcheckView {
    /// As Docker receives it: `["CMD-SHELL", "pg_isready"]`; empty when disabled.
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PortView {
    /// `null` means every interface.
    pub host_ip: Option<String>,
    /// `null` when Docker picks the host port.
    pub host_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port_range: Option<[u16; 2]>,
    pub container_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MountView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct NetworkView {
    pub name: String,
    pub internal: bool,
    pub external: bool,
    pub driver: Option<String>,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VolumeView {
    pub name: String,
    pub external: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EdgeView {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub evidence: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<&'static str>,
}

/// A host path as the compose file would write it: relative to the project folder (`./x`,
/// `../x`) when it is near it, absolute otherwise.
fn shown_path(working_dir: &Path, p: &str) -> String {
    let path = Path::new(p);
    if let Ok(rel) = path.strip_prefix(working_dir) {
        return if rel.as_os_str().is_empty() {
            ".".into()
        } else {
            format!("./{}", rel.to_string_lossy())
        };
    }
    // Climb at most two levels, as in `../backend`; beyond that an absolute path reads better.
    let mut base = working_dir;
    for ups in 1..=2 {
        let Some(parent) = base.parent() else { break };
        base = parent;
        if parent.parent().is_none() {
            break;
        }
        if let Ok(rel) = path.strip_prefix(base) {
            return format!("{}{}", "../".repeat(ups), rel.to_string_lossy());
        }
    }
    p.to_owned()
}

fn view(project: &Project, graph: &Graph, show_secrets: bool) -> InspectView {
    let secrets = Secrets::from_project(project);
    let mask = |s: &str| {
        if show_secrets {
            s.to_owned()
        } else {
            secrets.mask(s)
        }
    };
    let wd = &project.working_dir;
    let services = project
        .services
        .values()
        .map(|s| ServiceView {
            name: s.name.clone(),
            image: s.image.clone(),
            build: s.build.is_some(),
            role: graph
                .roles
                .get(&s.name)
                .map(|r| r.as_str())
                .unwrap_or("app"),
            container_name: s.container_name.clone(),
            command: s.command.as_deref().map(mask),
            ports: s
                .ports
                .iter()
                .map(|p| PortView {
                    host_ip: p.host_ip.clone(),
                    host_port: p.host_port,
                    host_port_range: p.host_port_range.map(|(a, b)| [a, b]),
                    container_port: p.container_port,
                    protocol: p.protocol.clone(),
                })
                .collect(),
            networks: s.networks.keys().cloned().collect(),
            volumes: s
                .volumes
                .iter()
                .map(|m| MountView {
                    kind: m.kind.as_str(),
                    source: m.source.as_deref().map(|src| {
                        if m.kind == MountKind::Bind {
                            shown_path(wd, src)
                        } else {
                            src.to_owned()
                        }
                    }),
                    target: m.target.clone(),
                    read_only: m.read_only,
                })
                .collect(),
            depends_on: s
                .depends_on
                .iter()
                .map(|(k, d)| (k.clone(), d.condition.as_str().into()))
                .collect(),
            environment: s
                .environment
                .iter()
                .map(|(k, v)| {
                    let shown = if show_secrets {
                        v.value.clone()
                    } else {
                        secrets.mask_var(k, &v.value)
                    };
                    (k.clone(), shown.into())
                })
                .collect(),
            healthcheck: s.healthcheck.as_ref().is_some_and(|h| !h.disabled),
            healthcheck_detail: s.healthcheck.as_ref().map(|h| HealthcheckView {
                test: h.test.iter().map(|t| mask(t)).collect(),
                interval: h.interval.clone(),
                timeout: h.timeout.clone(),
                retries: h.retries,
                start_period: h.start_period.clone(),
                disabled: h.disabled,
            }),
            profiles: s.profiles.clone(),
            restart: s.restart.clone(),
        })
        .collect();
    let networks = project
        .networks
        .iter()
        .map(|(n, net)| NetworkView {
            name: n.clone(),
            internal: net.internal,
            external: net.external,
            driver: net.driver.clone(),
            services: project
                .services
                .values()
                .filter(|s| s.networks.contains_key(n))
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect();
    let volumes = project
        .volumes
        .iter()
        .map(|(n, v)| VolumeView {
            name: n.clone(),
            external: v.external,
            services: project
                .services
                .values()
                .filter(|s| {
                    s.volumes
                        .iter()
                        .any(|m| m.kind == MountKind::Volume && m.source.as_deref() == Some(n))
                })
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect();
    let edges = graph
        .edges
        .iter()
        .map(|e| EdgeView {
            from: e.from.clone(),
            to: e.to.clone(),
            kind: e.kind.as_str(),
            evidence: e.evidence.clone(),
            detail: mask(&e.detail),
            condition: e.condition.map(|c| c.as_str()),
        })
        .collect();
    let mut warnings = project.warnings.clone();
    warnings.extend(graph.warnings.iter().cloned());
    InspectView {
        project: project.name.clone(),
        working_dir: wd.to_string_lossy().into_owned(),
        files: project
            .files
            .iter()
            .map(|f| shown_path(wd, &f.to_string_lossy()))
            .collect(),
        services,
        inactive_services: project.inactive_services.clone(),
        networks,
        volumes,
        edges,
        warnings,
    }
}

/// The diagram as the window draws it: groups, nodes and one edge per service pair, computed in
/// Rust from the same model the Mermaid and DOT exports use.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DiagramView {
    pub groups: Vec<GroupView>,
    pub services: Vec<NodeView>,
    pub ports: Vec<PortNodeView>,
    pub volumes: Vec<VolumeNodeView>,
    pub edges: Vec<PairView>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct GroupView {
    pub name: String,
    pub label: String,
    pub internal: bool,
    /// Drawn inside the group (their home network).
    pub members: Vec<String>,
    /// On this network too, drawn in another group with this network as a mark.
    pub joined_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct NodeView {
    pub name: String,
    pub role: &'static str,
    pub sublabel: String,
    pub group: Option<String>,
    pub networks: Vec<String>,
    /// Its networks besides its group's, drawn as marks on the node.
    pub also_on: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PortNodeView {
    pub service: String,
    pub index: u32,
    pub label: String,
    /// The fixed host port, to show the port check's result on this entry point.
    pub host_port: Option<u16>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VolumeNodeView {
    pub name: String,
    pub label: String,
    pub users: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PairView {
    pub from: String,
    pub to: String,
    pub kinds: Vec<&'static str>,
    /// "depends_on, env_url": the edge's label in text exports.
    pub label: String,
    /// One small badge per kind, drawn on the edge: "depends: healthy", "env url", "proxy".
    pub badges: Vec<String>,
    /// One line per piece of evidence ("env_url: compose.yaml:19 — DATABASE_URL=…"), masked.
    pub evidence: Vec<String>,
}

/// The masked view and the diagram of a loaded project, from one graph.
pub(crate) fn views_of(project: &Project) -> (InspectView, DiagramView) {
    let graph = build_graph(project);
    (view(project, &graph, false), diagram_of(project, &graph))
}

fn diagram_of(project: &Project, graph: &Graph) -> DiagramView {
    let secrets = Secrets::from_project(project);
    let m = diagram::model(project, graph, &|d| secrets.mask(d));
    DiagramView {
        groups: m
            .groups
            .into_iter()
            .map(|g| GroupView {
                name: g.name,
                label: g.label,
                internal: g.internal,
                members: g.members,
                joined_by: g.joined_by,
            })
            .collect(),
        services: m
            .services
            .into_iter()
            .map(|s| NodeView {
                name: s.name,
                role: s.role,
                sublabel: s.sublabel,
                group: s.group,
                networks: s.networks,
                also_on: s.also_on,
            })
            .collect(),
        ports: m
            .ports
            .into_iter()
            .map(|p| PortNodeView {
                service: p.service,
                index: p.index as u32,
                label: p.label,
                host_port: p.host_port,
            })
            .collect(),
        volumes: m
            .volumes
            .into_iter()
            .map(|v| VolumeNodeView {
                label: format!("volume {}", v.name),
                name: v.name,
                users: v.users,
            })
            .collect(),
        edges: m
            .edges
            .into_iter()
            .map(|e| PairView {
                label: e.kinds.join(", "),
                evidence: e
                    .evidence
                    .iter()
                    .map(|x| format!("{}: {} — {}", x.kind, x.place, x.detail))
                    .collect(),
                badges: e.badges,
                from: e.from,
                to: e.to,
                kinds: e.kinds,
            })
            .collect(),
    }
}

/// The view of an already loaded project.
pub(crate) fn view_of(project: &Project, show_secrets: bool) -> InspectView {
    let graph = build_graph(project);
    view(project, &graph, show_secrets)
}

/// Opens a stack and describes it: services, ports, networks, volumes, and the connections
/// between services with their evidence. Works with Docker stopped.
pub fn inspect(
    req: &StackRequest,
    env: HashMap<String, String>,
    show_secrets: bool,
) -> Result<InspectView, ApiError> {
    let project = crate::remap::load_with_override(req, &env)?;
    let graph = build_graph(&project);
    Ok(view(&project, &graph, show_secrets))
}

/// The stack's architecture as Mermaid or DOT text.
pub fn diagram(
    req: &StackRequest,
    env: HashMap<String, String>,
    format: DiagramFormat,
) -> Result<String, ApiError> {
    let project = crate::remap::load_with_override(req, &env)?;
    let graph = build_graph(&project);
    Ok(diagram::render(&project, &graph, format))
}

#[cfg(test)]
mod tests {
    use super::shown_path;
    use std::path::Path;

    #[test]
    fn host_paths_are_shown_as_the_compose_file_would_write_them() {
        let wd = Path::new("/home/dev/shop/infra");
        assert_eq!(shown_path(wd, "/home/dev/shop/infra"), ".");
        assert_eq!(
            shown_path(wd, "/home/dev/shop/infra/nginx/conf.d"),
            "./nginx/conf.d"
        );
        assert_eq!(shown_path(wd, "/home/dev/shop/backend"), "../backend");
        assert_eq!(shown_path(wd, "/home/dev/other/x"), "../../other/x");
        assert_eq!(
            shown_path(wd, "/etc/ssl/certs"),
            "/etc/ssl/certs",
            "far away stays absolute"
        );
    }
}
