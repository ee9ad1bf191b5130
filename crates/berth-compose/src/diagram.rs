//! Text diagrams (Mermaid, Graphviz DOT) of a project's graph.
//!
//! A service on exactly one network is drawn inside that network's group. A service on several
//! networks is drawn outside them, joined to each by a dotted line, so the picture never claims
//! it lives in only one tier.

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

struct Layout {
    /// network -> services drawn inside it
    inside: BTreeMap<String, Vec<String>>,
    /// services drawn outside any group, with the networks they join
    outside: Vec<(String, Vec<String>)>,
    /// pair -> kinds
    edges: Vec<((String, String), Vec<&'static str>)>,
}

fn layout(project: &Project, graph: &Graph) -> Layout {
    let mut inside: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in project.networks.keys() {
        inside.entry(n.clone()).or_default();
    }
    let mut outside = Vec::new();
    for (name, svc) in &project.services {
        let nets: Vec<String> = svc.networks.keys().cloned().collect();
        if nets.len() == 1 {
            inside
                .entry(nets[0].clone())
                .or_default()
                .push(name.clone());
        } else {
            outside.push((name.clone(), nets));
        }
    }
    let mut edges: Vec<((String, String), Vec<&'static str>)> = Vec::new();
    for e in &graph.edges {
        let key = (e.from.clone(), e.to.clone());
        match edges.iter_mut().find(|(k, _)| *k == key) {
            Some((_, kinds)) => {
                if !kinds.contains(&e.kind.as_str()) {
                    kinds.push(e.kind.as_str());
                }
            }
            None => edges.push((key, vec![e.kind.as_str()])),
        }
    }
    Layout {
        inside,
        outside,
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
    let l = layout(project, graph);
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
    for (net, members) in &l.inside {
        let internal = project
            .networks
            .get(net)
            .map(|n| n.internal)
            .unwrap_or(false);
        let title = if internal {
            format!("network: {net} (internal)")
        } else {
            format!("network: {net}")
        };
        let _ = writeln!(out, "  subgraph {}[\"{title}\"]", ident("net", net));
        for m in members {
            node(&mut out, "    ", m);
        }
        let _ = writeln!(out, "  end");
    }
    for (name, nets) in &l.outside {
        node(&mut out, "  ", name);
        for n in nets {
            let _ = writeln!(out, "  {} -.- {}", ident("svc", name), ident("net", n));
        }
    }
    for (name, svc) in &project.services {
        for (i, p) in svc.ports.iter().enumerate() {
            let id = ident("port", &format!("{name}_{i}"));
            let _ = writeln!(
                out,
                "  {id}([\"{}\"]) --> {}",
                port_label(p),
                ident("svc", name)
            );
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
    for ((from, to), kinds) in &l.edges {
        let _ = writeln!(
            out,
            "  {} -->|{}| {}",
            ident("svc", from),
            kinds.join(", "),
            ident("svc", to)
        );
    }
    out
}

fn dot(project: &Project, graph: &Graph) -> String {
    let l = layout(project, graph);
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
    for (net, members) in &l.inside {
        let internal = project
            .networks
            .get(net)
            .map(|n| n.internal)
            .unwrap_or(false);
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
    for (name, nets) in &l.outside {
        node(&mut out, "  ", name);
        for n in nets {
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
    for ((from, to), kinds) in &l.edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"];",
            ident("svc", from),
            ident("svc", to),
            kinds.join(", ")
        );
    }
    out.push_str("}\n");
    out
}
