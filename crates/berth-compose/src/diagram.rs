//! Text diagrams (Mermaid, Graphviz DOT) of a project's graph.
//!
//! Networks are tiers: every service is drawn inside one network's group, its *home*, and a
//! service on several networks carries the others as marks (dotted links in the text formats),
//! so the picture never claims it lives in only one tier. The home is the most specific of its
//! networks, the one with the fewest services: a reverse proxy on `frontend` and `backend` sits
//! in the frontend tier, a worker on `backend` and `data` in the backend tier, and FunctionalFit's
//! three networks read as three tiers instead of two empty boxes and a crowd outside them.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::graph::Graph;
use crate::model::{MountKind, Project};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagramFormat {
    Mermaid,
    Dot,
}

fn ident(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}")
}

fn port_label(p: &crate::model::PortMapping) -> String {
    let ip = p.host_ip.as_deref().unwrap_or("0.0.0.0");
    let ip = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    };
    let host = match (p.host_port, p.host_port_range) {
        (Some(h), _) => h.to_string(),
        (None, Some((a, b))) => format!("{a}-{b}"),
        (None, None) => "ephemeral".into(),
    };
    let proto = if p.protocol == "tcp" {
        String::new()
    } else {
        format!("/{}", p.protocol)
    };
    format!("{ip}:{host}→{}{proto}", p.container_port)
}

/// The diagram of a stack, computed once: the window draws it and the Mermaid and DOT exports
/// are written from it, so all three show the same groups, nodes and connections.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagramModel {
    /// Every declared network, by name.
    pub groups: Vec<NetworkGroup>,
    pub services: Vec<ServiceNode>,
    /// Published ports, the stack's entry points.
    pub ports: Vec<PortNode>,
    /// Named volumes mounted by at least one service.
    pub volumes: Vec<VolumeNode>,
    /// One edge per service pair, with every kind of evidence for it.
    pub edges: Vec<PairEdge>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkGroup {
    pub name: String,
    /// "backend", "data (internal)".
    pub label: String,
    pub internal: bool,
    /// Services whose home this network is: drawn inside the group.
    pub members: Vec<String>,
    /// Services on this network whose home is another one: they carry this network as a mark.
    pub joined_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNode {
    pub name: String,
    pub role: &'static str,
    /// The image, or "build" when compose builds it.
    pub image: String,
    /// The second line of the node: "web server · nginx:1.27".
    pub sublabel: String,
    /// The group it is drawn in (its home network); `None` for a service on no network
    /// (`network_mode: host`, `none`, `service:x`).
    pub group: Option<String>,
    pub networks: Vec<String>,
    /// Its other networks, drawn as marks on the node.
    pub also_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortNode {
    pub service: String,
    /// Its place among the service's ports.
    pub index: usize,
    /// "127.0.0.1:8080→80", "[::1]:5432→5432", "0.0.0.0:ephemeral→53/udp".
    pub label: String,
    /// The fixed host port (`None` for an ephemeral one): what the port check reports on.
    pub host_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeNode {
    pub name: String,
    pub users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairEdge {
    pub from: String,
    pub to: String,
    /// Kinds in the order first found: "depends_on", "env_url", "proxy_pass"…
    pub kinds: Vec<&'static str>,
    /// What the edge's small badges say, one per kind: "depends: healthy", "env url", "proxy".
    pub badges: Vec<String>,
    /// Each piece of evidence: kind, file:line, and what it says.
    pub evidence: Vec<Evidence>,
}

/// A kind as a badge reads: short, with the condition a `depends_on` waits for.
fn badge(kind: &str, condition: Option<crate::model::DependencyCondition>) -> String {
    use crate::model::DependencyCondition as C;
    match (kind, condition) {
        ("depends_on", Some(C::Healthy)) => "depends: healthy".into(),
        ("depends_on", Some(C::CompletedSuccessfully)) => "depends: completed".into(),
        ("depends_on", _) => "depends".into(),
        ("proxy_pass", _) => "proxy".into(),
        ("fastcgi_pass", _) => "fastcgi".into(),
        (k, _) => k.replace('_', " "),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub kind: &'static str,
    pub place: String,
    pub detail: String,
}

/// The model of `project`; `mask` hides secrets in evidence details (a URL's password, say).
pub fn model(project: &Project, graph: &Graph, mask: &dyn Fn(&str) -> String) -> DiagramModel {
    let mut groups: BTreeMap<String, NetworkGroup> = BTreeMap::new();
    for (n, net) in &project.networks {
        groups.insert(
            n.clone(),
            NetworkGroup {
                name: n.clone(),
                label: if net.internal {
                    format!("{n} (internal)")
                } else {
                    n.clone()
                },
                internal: net.internal,
                members: Vec::new(),
                joined_by: Vec::new(),
            },
        );
    }
    let mut services = Vec::new();
    let mut ports = Vec::new();
    let mut volumes: Vec<VolumeNode> = Vec::new();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for svc in project.services.values() {
        for n in svc.networks.keys() {
            *sizes.entry(n.as_str()).or_default() += 1;
        }
    }
    for (name, svc) in &project.services {
        let nets: Vec<String> = svc.networks.keys().cloned().collect();
        // The fewest services first, then by name: stable across loads.
        let group = nets
            .iter()
            .min_by_key(|n| (sizes.get(n.as_str()).copied().unwrap_or(0), n.as_str()))
            .cloned();
        let also_on: Vec<String> = nets
            .iter()
            .filter(|n| Some(*n) != group.as_ref())
            .cloned()
            .collect();
        for n in &nets {
            let g = groups.entry(n.clone()).or_insert_with(|| NetworkGroup {
                name: n.clone(),
                label: n.clone(),
                internal: false,
                members: Vec::new(),
                joined_by: Vec::new(),
            });
            if group.as_ref() == Some(n) {
                g.members.push(name.clone());
            } else {
                g.joined_by.push(name.clone());
            }
        }
        let role = graph.roles.get(name).map(|r| r.as_str()).unwrap_or("app");
        let image = svc.image.clone().unwrap_or_else(|| "build".into());
        services.push(ServiceNode {
            name: name.clone(),
            role,
            sublabel: format!("{} · {image}", role.replace('_', " ")),
            image,
            group,
            networks: nets,
            also_on,
        });
        for (index, p) in svc.ports.iter().enumerate() {
            ports.push(PortNode {
                service: name.clone(),
                index,
                label: port_label(p),
                host_port: p.host_port,
            });
        }
        for m in &svc.volumes {
            if m.kind != MountKind::Volume {
                continue;
            }
            let Some(src) = &m.source else { continue };
            match volumes.iter_mut().find(|v| &v.name == src) {
                Some(v) if !v.users.contains(name) => v.users.push(name.clone()),
                Some(_) => {}
                None => volumes.push(VolumeNode {
                    name: src.clone(),
                    users: vec![name.clone()],
                }),
            }
        }
    }
    let mut edges: Vec<PairEdge> = Vec::new();
    for e in &graph.edges {
        let i = match edges.iter().position(|p| p.from == e.from && p.to == e.to) {
            Some(i) => i,
            None => {
                edges.push(PairEdge {
                    from: e.from.clone(),
                    to: e.to.clone(),
                    kinds: Vec::new(),
                    badges: Vec::new(),
                    evidence: Vec::new(),
                });
                edges.len() - 1
            }
        };
        let pair = &mut edges[i];
        if !pair.kinds.contains(&e.kind.as_str()) {
            pair.kinds.push(e.kind.as_str());
            pair.badges.push(badge(e.kind.as_str(), e.condition));
        }
        pair.evidence.push(Evidence {
            kind: e.kind.as_str(),
            place: e.evidence.clone(),
            detail: mask(&e.detail),
        });
    }
    DiagramModel {
        groups: groups.into_values().collect(),
        services,
        ports,
        volumes,
        edges,
    }
}

pub fn render(project: &Project, graph: &Graph, format: DiagramFormat) -> String {
    match format {
        DiagramFormat::Mermaid => mermaid(project, graph),
        DiagramFormat::Dot => dot(project, graph),
    }
}

fn service_label(project: &Project, graph: &Graph, name: &str) -> String {
    let role = graph.roles.get(name).map(|r| r.as_str()).unwrap_or("app");
    let image = project
        .services
        .get(name)
        .and_then(|s| s.image.clone())
        .unwrap_or_else(|| "build".into());
    format!("{name}\\n{role} · {image}")
}

fn mermaid(project: &Project, graph: &Graph) -> String {
    let l = model(project, graph, &|d| d.to_owned());
    let mut out = String::from("flowchart LR\n");
    let node = |out: &mut String, indent: &str, name: &str| {
        let label = service_label(project, graph, name).replace("\\n", "<br/>");
        let _ = writeln!(
            out,
            "{indent}{}[\"{}\"]",
            ident("svc", name),
            label.replace('"', "#quot;")
        );
    };
    for g in &l.groups {
        let _ = writeln!(
            out,
            "  subgraph {}[\"network: {}\"]",
            ident("net", &g.name),
            g.label
        );
        for m in &g.members {
            node(&mut out, "    ", m);
        }
        let _ = writeln!(out, "  end");
    }
    for s in l.services.iter().filter(|s| s.group.is_none()) {
        node(&mut out, "  ", &s.name);
    }
    for s in &l.services {
        for n in &s.also_on {
            let _ = writeln!(out, "  {} -.- {}", ident("svc", &s.name), ident("net", n));
        }
    }
    for (name, svc) in &project.services {
        for p in l.ports.iter().filter(|p| &p.service == name) {
            let id = ident("port", &format!("{name}_{}", p.index));
            let _ = writeln!(out, "  {id}([\"{}\"]) --> {}", p.label, ident("svc", name));
        }
        for m in &svc.volumes {
            if m.kind == MountKind::Volume {
                if let Some(src) = &m.source {
                    let _ = writeln!(
                        out,
                        "  {} --- {}[(\"{src}\")]",
                        ident("svc", name),
                        ident("vol", src)
                    );
                }
            }
        }
    }
    for e in &l.edges {
        let _ = writeln!(
            out,
            "  {} -->|{}| {}",
            ident("svc", &e.from),
            e.kinds.join(", "),
            ident("svc", &e.to)
        );
    }
    out
}

fn dot(project: &Project, graph: &Graph) -> String {
    let l = model(project, graph, &|d| d.to_owned());
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        project.name
    );
    let node = |out: &mut String, indent: &str, name: &str| {
        let _ = writeln!(
            out,
            "{indent}{} [label=\"{}\"];",
            ident("svc", name),
            service_label(project, graph, name).replace('"', "\\\"")
        );
    };
    for g in &l.groups {
        let (net, internal, members) = (&g.name, g.internal, &g.members);
        let _ = writeln!(out, "  subgraph cluster_{} {{", ident("net", net));
        let _ = writeln!(
            out,
            "    label=\"network: {net}{}\";\n    style=dashed;",
            if internal { " (internal)" } else { "" }
        );
        // An invisible anchor lets services outside the cluster point at the network itself.
        let _ = writeln!(out, "    {} [shape=point, style=invis];", ident("net", net));
        for m in members {
            node(&mut out, "    ", m);
        }
        let _ = writeln!(out, "  }}");
    }
    for s in l.services.iter().filter(|s| s.group.is_none()) {
        node(&mut out, "  ", &s.name);
    }
    for s in &l.services {
        let name = &s.name;
        for n in &s.also_on {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dotted, arrowhead=none, lhead=cluster_{}];",
                ident("svc", name),
                ident("net", n),
                ident("net", n)
            );
        }
    }
    for (name, svc) in &project.services {
        for (i, p) in svc.ports.iter().enumerate() {
            let id = ident("port", &format!("{name}_{i}"));
            let _ = writeln!(out, "  {id} [shape=oval, label=\"{}\"];", port_label(p));
            let _ = writeln!(out, "  {id} -> {};", ident("svc", name));
        }
        for m in &svc.volumes {
            if m.kind == MountKind::Volume {
                if let Some(src) = &m.source {
                    let _ = writeln!(
                        out,
                        "  {} [shape=cylinder, label=\"{src}\"];",
                        ident("vol", src)
                    );
                    let _ = writeln!(
                        out,
                        "  {} -> {} [arrowhead=none];",
                        ident("svc", name),
                        ident("vol", src)
                    );
                }
            }
        }
    }
    for e in &l.edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"];",
            ident("svc", &e.from),
            ident("svc", &e.to),
            e.kinds.join(", ")
        );
    }
    out.push_str("}\n");
    out
}
