//! `berth ports`: the port check, and remaps into Berth's override file.

use std::collections::HashMap;
use std::fmt::Write as _;

use berth_api::{ApiError, OpenStack, PortOwner, PortStatus, PortsView, RemapView};

use crate::StackArgs;

/// What `berth ports` does besides checking.
pub enum Fix {
    None,
    Remap(String),
    Unremap(String),
    StopHolder(String),
    WriteOverride,
}

/// What to print and the exit code: 0 when every port is free or the stack's own, 6 when any
/// is taken by something else.
pub async fn run(
    stack: StackArgs,
    json: bool,
    fix: Fix,
    env: HashMap<String, String>,
) -> Result<(String, u8), ApiError> {
    let req = stack.request();
    match fix {
        Fix::None => {}
        Fix::Remap(spec) => {
            let (service, from, to) = parse_remap(&spec)?;
            let v = berth_api::remap(&req, env, &service, from, to)?;
            return Ok((remap_text(&v, json), 0));
        }
        Fix::Unremap(spec) => {
            let (service, port) = parse_port_of(&spec, "--unremap", "SERVICE:HOST_PORT")?;
            let v = berth_api::unremap(&req, env, &service, port)?;
            return Ok((remap_text(&v, json), 0));
        }
        Fix::WriteOverride => {
            let written = berth_api::write_override_to_project(&req, env)?;
            let text = if json {
                serde_json::to_string_pretty(&written).unwrap_or_default() + "\n"
            } else {
                format!("{}\n", written.message)
            };
            return Ok((text, 0));
        }
        Fix::StopHolder(spec) => {
            let (service, port) = parse_port_of(&spec, "--stop-holder", "SERVICE:HOST_PORT")?;
            let open = OpenStack::open(&req, env)?;
            let said = open
                .stop_port_holder(&service, port, |l| eprintln!("{}", l.text))
                .await?;
            return Ok((format!("{said}\n"), 0));
        }
    }
    let open = OpenStack::open(&req, env)?;
    let view = open.check_ports(&[]).await;
    let code = if view.conflicts().next().is_some() {
        crate::PORTS_TAKEN
    } else {
        0
    };
    let text = if json {
        serde_json::to_string_pretty(&view).unwrap_or_default() + "\n"
    } else {
        table(&view)
    };
    Ok((text, code))
}

fn parse_port_of(spec: &str, flag: &str, form: &str) -> Result<(String, u16), ApiError> {
    let bad = || ApiError::invalid_input(format!("{flag} takes {form}, not {spec:?}"));
    let (service, port) = spec.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    if service.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((service.to_owned(), port))
}

fn parse_remap(spec: &str) -> Result<(String, u16, u16), ApiError> {
    let form = "SERVICE:HOST_PORT=NEW";
    let bad = || ApiError::invalid_input(format!("--remap takes {form}, not {spec:?}"));
    let (left, to) = spec.split_once('=').ok_or_else(bad)?;
    let (service, from) = parse_port_of(left, "--remap", form)?;
    let to: u16 = to.trim().parse().map_err(|_| bad())?;
    if to == 0 {
        return Err(bad());
    }
    Ok((service, from, to))
}

fn remap_text(v: &RemapView, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    }
    let mut o = String::new();
    if v.remaps.is_empty() {
        let _ = writeln!(
            o,
            "no remapped ports: the stack publishes what its files say"
        );
    } else {
        for r in &v.remaps {
            let _ = writeln!(
                o,
                "{}: host port {} is published as {}",
                r.service, r.from, r.to
            );
        }
        let _ = writeln!(o, "\n{}:\n{}", v.override_file, v.content);
    }
    for r in &v.references {
        let _ = writeln!(o, "warning: {r}");
    }
    o
}

fn table(v: &PortsView) -> String {
    let mut o = String::new();
    if v.ports.is_empty() {
        let _ = writeln!(o, "{} publishes no fixed host port", v.project);
        return o;
    }
    for p in &v.ports {
        let status = match p.status {
            PortStatus::Free => "free",
            PortStatus::Ours => "ours",
            PortStatus::Conflict => "CONFLICT",
        };
        let at = format!("{}:{}/{}", p.host_ip, p.host_port, p.protocol);
        let owner = match &p.owner {
            None => String::new(),
            Some(PortOwner::Process {
                pid,
                name,
                user,
                unit,
                ..
            }) => format!(
                "{name} (PID {pid}, user {user}{})",
                unit.as_deref()
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ),
            Some(PortOwner::Container {
                container, project, ..
            }) => format!(
                "container {container}{}",
                project
                    .as_deref()
                    .map(|p| format!(" (stack {p})"))
                    .unwrap_or_default()
            ),
            Some(PortOwner::Stack { service }) => format!("service {service} of this stack"),
            Some(PortOwner::Unknown { detail }) => detail.clone(),
        };
        let _ = writeln!(o, "{:<16} {:<24} {:<9} {owner}", p.service, at, status);
    }
    let conflicts: Vec<_> = v.conflicts().collect();
    if !conflicts.is_empty() {
        let _ = writeln!(o);
        for p in conflicts {
            let _ = writeln!(o, "{}", p.message);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_specs_are_read_or_refused_with_their_form() {
        assert_eq!(
            parse_remap("db:5432=5433").expect("ok"),
            ("db".into(), 5432, 5433)
        );
        for bad in [
            "db:5432",
            "db=5433",
            ":5432=1",
            "db:x=1",
            "db:5432=0",
            "db:70000=1",
        ] {
            let e = parse_remap(bad).expect_err(bad);
            assert!(e.message.contains("SERVICE:HOST_PORT=NEW"), "{}", e.message);
        }
        assert_eq!(
            parse_port_of("web:80", "--unremap", "").expect("ok"),
            ("web".into(), 80)
        );
    }
}
