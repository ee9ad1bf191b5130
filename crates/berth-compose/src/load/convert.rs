//! From merged, normalised YAML nodes to the typed model: services (image, build, command,
//! ports, volumes, networks, `depends_on`, links, environment, healthcheck, replicas, profiles,
//! labels) and the top-level networks and volumes. Keys Berth does not model are accepted
//! silently when the specification knows them, and warned about when it does not.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::Loader;
use crate::error::LoadError;
use crate::model::*;
use crate::shape::{bool_of, map_of, scalar_of, seq_of};
use crate::yaml::{MergeTag, Node, Pos, Value};

impl Loader {
    pub(super) fn convert_networks(
        &mut self,
        root: &Node,
    ) -> Result<IndexMap<String, Network>, LoadError> {
        let mut out = IndexMap::new();
        let Some(nets) = root.get("networks") else {
            return Ok(out);
        };
        if nets.is_null() {
            return Ok(out);
        }
        let Some(map) = nets.as_map() else {
            return Err(LoadError::ty(&nets.pos, "networks", "expected a mapping"));
        };
        for (k, v) in map {
            let name = k.as_scalar().unwrap_or_default().to_owned();
            let mut n = Network::default();
            if let Some(m) = v.as_map() {
                for (kk, vv) in m {
                    match kk.as_scalar().unwrap_or_default() {
                        "driver" => n.driver = vv.as_scalar().map(str::to_owned),
                        "internal" => {
                            n.internal = bool_of(vv, &format!("networks.{name}.internal"))?
                        }
                        "external" => {
                            n.external = match &vv.value {
                                Value::Map(_) => true,
                                _ => bool_of(vv, &format!("networks.{name}.external"))?,
                            }
                        }
                        "name" => n.name = vv.as_scalar().map(str::to_owned),
                        _ => {}
                    }
                }
            } else if !v.is_null() {
                return Err(LoadError::ty(
                    &v.pos,
                    &format!("networks.{name}"),
                    "expected a mapping",
                ));
            }
            out.insert(name, n);
        }
        Ok(out)
    }

    pub(super) fn convert_volumes(
        &mut self,
        root: &Node,
    ) -> Result<IndexMap<String, NamedVolume>, LoadError> {
        let mut out = IndexMap::new();
        let Some(vols) = root.get("volumes") else {
            return Ok(out);
        };
        if vols.is_null() {
            return Ok(out);
        }
        let Some(map) = vols.as_map() else {
            return Err(LoadError::ty(&vols.pos, "volumes", "expected a mapping"));
        };
        for (k, v) in map {
            let name = k.as_scalar().unwrap_or_default().to_owned();
            let mut vol = NamedVolume::default();
            if let Some(m) = v.as_map() {
                for (kk, vv) in m {
                    match kk.as_scalar().unwrap_or_default() {
                        "driver" => vol.driver = vv.as_scalar().map(str::to_owned),
                        "external" => {
                            vol.external = match &vv.value {
                                Value::Map(_) => true,
                                _ => bool_of(vv, &format!("volumes.{name}.external"))?,
                            }
                        }
                        "name" => vol.name = vv.as_scalar().map(str::to_owned),
                        _ => {}
                    }
                }
            } else if !v.is_null() {
                return Err(LoadError::ty(
                    &v.pos,
                    &format!("volumes.{name}"),
                    "expected a mapping",
                ));
            }
            out.insert(name, vol);
        }
        Ok(out)
    }

    pub(super) fn convert_service(
        &mut self,
        name: &str,
        node: &Node,
    ) -> Result<Service, LoadError> {
        let path = |k: &str| format!("services.{name}.{k}");
        let mut svc = Service {
            name: name.to_owned(),
            pos: node.pos.clone(),
            image: None,
            build: None,
            command: None,
            entrypoint: None,
            container_name: None,
            ports: Vec::new(),
            volumes: Vec::new(),
            networks: IndexMap::new(),
            network_mode: None,
            depends_on: IndexMap::new(),
            links: Vec::new(),
            volumes_from: Vec::new(),
            environment: IndexMap::new(),
            healthcheck: None,
            profiles: Vec::new(),
            restart: None,
            labels: IndexMap::new(),
            init: false,
            replicas: 1,
        };
        let mut env_files: Vec<(PathBuf, bool, Pos)> = Vec::new();
        let mut declared_env: Vec<(String, Option<String>, Pos)> = Vec::new();
        let mut has_networks_key = false;
        let mut shares: Vec<(&'static str, String, Pos)> = Vec::new();
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.as_scalar().unwrap_or_default();
            if v.tag == MergeTag::Reset {
                continue;
            }
            match key {
                "image" => svc.image = Some(scalar_of(v, &path(key))?),
                "container_name" => svc.container_name = Some(scalar_of(v, &path(key))?),
                "restart" => svc.restart = Some(scalar_of(v, &path(key))?),
                "init" => svc.init = bool_of(v, &path(key))?,
                "command" => svc.command = command_of(v, &path(key))?,
                "entrypoint" => svc.entrypoint = command_of(v, &path(key))?,
                "build" => svc.build = Some(build_of(v, &path(key))?),
                "ports" => {
                    for item in seq_of(v, &path(key))? {
                        svc.ports
                            .extend(crate::ports::parse_port(item, &path(key))?);
                    }
                }
                "volumes" => {
                    for item in seq_of(v, &path(key))? {
                        svc.volumes.push(mount_of(item, &path(key))?);
                    }
                }
                "networks" => {
                    has_networks_key = true;
                    for (nk, nv) in map_of(v, &path(key))? {
                        let net = nk.as_scalar().unwrap_or_default().to_owned();
                        let mut sn = ServiceNetwork::default();
                        if let Some(m) = nv.as_map() {
                            for (ak, av) in m {
                                match ak.as_scalar().unwrap_or_default() {
                                    "aliases" => {
                                        for a in seq_of(av, &path("networks.aliases"))? {
                                            sn.aliases
                                                .push(scalar_of(a, &path("networks.aliases"))?);
                                        }
                                    }
                                    "ipv4_address" => {
                                        sn.ipv4_address = av.as_scalar().map(str::to_owned)
                                    }
                                    _ => {}
                                }
                            }
                        }
                        svc.networks.insert(net, sn);
                    }
                }
                "network_mode" => {
                    svc.network_mode = Some(Located {
                        value: scalar_of(v, &path(key))?,
                        pos: v.pos.clone(),
                    })
                }
                "depends_on" => {
                    for (dk, dv) in map_of(v, &path(key))? {
                        let dep = dk.as_scalar().unwrap_or_default().to_owned();
                        let mut condition = DependencyCondition::Started;
                        let mut required = true;
                        let mut restart = false;
                        if let Some(m) = dv.as_map() {
                            for (ck, cv) in m {
                                match ck.as_scalar().unwrap_or_default() {
                                    "condition" => {
                                        condition = match cv.as_scalar().unwrap_or_default() {
                                            "service_started" => DependencyCondition::Started,
                                            "service_healthy" => DependencyCondition::Healthy,
                                            "service_completed_successfully" => {
                                                DependencyCondition::CompletedSuccessfully
                                            }
                                            other => {
                                                return Err(LoadError::ty(
                                                    &cv.pos,
                                                    &path("depends_on.condition"),
                                                    format!("unknown condition {other:?}; expected service_started, service_healthy or service_completed_successfully"),
                                                ))
                                            }
                                        }
                                    }
                                    "required" => required = bool_of(cv, &path("depends_on.required"))?,
                                    "restart" => restart = bool_of(cv, &path("depends_on.restart"))?,
                                    _ => {}
                                }
                            }
                        }
                        svc.depends_on.insert(
                            dep,
                            Dependency {
                                condition,
                                required,
                                restart,
                                implied_by: None,
                                pos: dk.pos.clone(),
                            },
                        );
                    }
                }
                "links" => {
                    for item in seq_of(v, &path(key))? {
                        let text = scalar_of(item, &path(key))?;
                        let target = text.split(':').next().unwrap_or_default().to_owned();
                        svc.links.push(Located {
                            value: target,
                            pos: item.pos.clone(),
                        });
                    }
                }
                "ipc" | "pid" | "uts" | "cgroup" => {
                    if let Some(text) = v.as_scalar() {
                        if let Some(other) = text.strip_prefix("service:") {
                            let by = match key {
                                "ipc" => "ipc",
                                "pid" => "pid",
                                "uts" => "uts",
                                _ => "cgroup",
                            };
                            shares.push((by, other.to_owned(), v.pos.clone()));
                        }
                    }
                }
                "volumes_from" => {
                    for item in seq_of(v, &path(key))? {
                        let text = scalar_of(item, &path(key))?;
                        svc.volumes_from.push(Located {
                            value: text,
                            pos: item.pos.clone(),
                        });
                    }
                }
                "environment" => {
                    for (ek, ev) in map_of(v, &path(key))? {
                        let name = ek.as_scalar().unwrap_or_default().to_owned();
                        let value = match &ev.value {
                            Value::Null => None,
                            Value::Scalar { text, .. } => Some(text.clone()),
                            _ => {
                                return Err(LoadError::ty(
                                    &ev.pos,
                                    &path("environment"),
                                    format!("{name} must be a string, number, boolean or null"),
                                ))
                            }
                        };
                        declared_env.push((name, value, ek.pos.clone()));
                    }
                }
                "env_file" => {
                    for item in seq_of(v, &path(key))? {
                        let p = item.get("path").and_then(Node::as_scalar).ok_or_else(|| {
                            LoadError::ty(&item.pos, &path(key), "expected a path")
                        })?;
                        let required = match item.get("required") {
                            Some(r) => bool_of(r, &path("env_file.required"))?,
                            None => true,
                        };
                        env_files.push((PathBuf::from(p), required, item.pos.clone()));
                    }
                }
                "healthcheck" => svc.healthcheck = Some(healthcheck_of(v, &path(key))?),
                "scale" => svc.replicas = replicas_of(v, &path(key))?,
                "deploy" => {
                    if let Some(r) = v.get("replicas") {
                        svc.replicas = replicas_of(r, &path("deploy.replicas"))?;
                    }
                }
                "profiles" => {
                    for item in seq_of(v, &path(key))? {
                        svc.profiles.push(scalar_of(item, &path(key))?);
                    }
                }
                "labels" => {
                    for (lk, lv) in map_of(v, &path(key))? {
                        svc.labels.insert(
                            lk.as_scalar().unwrap_or_default().to_owned(),
                            lv.as_scalar().unwrap_or_default().to_owned(),
                        );
                    }
                }
                // The schema has refused unknown keys; the rest do not change the model.
                _ => {}
            }
        }
        if svc.image.is_none() && svc.build.is_none() {
            return Err(LoadError::NoImage {
                pos: node.pos.clone(),
                service: name.to_owned(),
            });
        }
        if !has_networks_key && svc.network_mode.is_none() {
            svc.networks
                .insert("default".into(), ServiceNetwork::default());
        }
        implied_dependencies(&mut svc, shares);
        check_build_platform(node, name)?;

        self.service_environment(&mut svc, env_files, declared_env)?;
        Ok(svc)
    }
}

/// The `depends_on` entries Compose v2 adds on its own (compose-go `Normalize`): a service it
/// links to, shares a namespace with (`network_mode`/`ipc`/`pid`/`uts`/`cgroup: service:x`) or
/// takes volumes from must start first. A written entry wins.
fn implied_dependencies(svc: &mut Service, shares: Vec<(&'static str, String, Pos)>) {
    let mut implied: Vec<(&'static str, String, Pos, bool)> = Vec::new();
    for l in &svc.links {
        implied.push(("links", l.value.clone(), l.pos.clone(), true));
    }
    if let Some(nm) = &svc.network_mode {
        if let Some(other) = nm.value.strip_prefix("service:") {
            implied.push(("network_mode", other.to_owned(), nm.pos.clone(), true));
        }
    }
    for (key, other, pos) in shares {
        implied.push((key, other, pos, true));
    }
    for vf in &svc.volumes_from {
        if vf.value.starts_with("container:") {
            continue;
        }
        let other = vf.value.split(':').next().unwrap_or_default().to_owned();
        implied.push(("volumes_from", other, vf.pos.clone(), false));
    }
    for (by, other, pos, restart) in implied {
        if other.is_empty() || svc.depends_on.contains_key(&other) {
            continue;
        }
        svc.depends_on.insert(
            other,
            Dependency {
                condition: DependencyCondition::Started,
                required: true,
                restart,
                implied_by: Some(by),
                pos,
            },
        );
    }
}

fn replicas_of(n: &Node, path: &str) -> Result<u32, LoadError> {
    let s = scalar_of(n, path)?;
    s.parse().map_err(|_| {
        LoadError::ty(
            &n.pos,
            path,
            format!("expected a whole number of replicas, found {s:?}"),
        )
    })
}

fn command_of(n: &Node, path: &str) -> Result<Option<String>, LoadError> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Scalar { text, .. } => Ok(Some(text.clone())),
        Value::Seq(items) => {
            let parts: Result<Vec<String>, _> = items.iter().map(|i| scalar_of(i, path)).collect();
            Ok(Some(parts?.join(" ")))
        }
        Value::Map(_) => Err(LoadError::ty(&n.pos, path, "expected a string or a list")),
    }
}

fn build_of(n: &Node, path: &str) -> Result<Build, LoadError> {
    let mut b = Build {
        context: ".".into(),
        dockerfile: None,
        target: None,
        args: IndexMap::new(),
    };
    let Some(m) = n.as_map() else {
        return Err(LoadError::ty(&n.pos, path, "expected a path or a mapping"));
    };
    for (k, v) in m {
        match k.as_scalar().unwrap_or_default() {
            "context" => b.context = scalar_of(v, path)?,
            "dockerfile" => b.dockerfile = Some(scalar_of(v, path)?),
            "target" => b.target = Some(scalar_of(v, path)?),
            "args" => {
                if let Some(am) = v.as_map() {
                    for (ak, av) in am {
                        b.args.insert(
                            ak.as_scalar().unwrap_or_default().to_owned(),
                            av.as_scalar().unwrap_or_default().to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(b)
}

fn mount_of(n: &Node, path: &str) -> Result<Mount, LoadError> {
    // `normalize_service` has already turned short syntax into the long form.
    let kind = match n.get("type").and_then(Node::as_scalar) {
        Some("bind") => MountKind::Bind,
        Some("volume") => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        Some("anonymous") => MountKind::Anonymous,
        Some("npipe" | "cluster" | "image") => MountKind::Bind,
        Some(other) => {
            return Err(LoadError::ty(
                &n.pos,
                path,
                format!("unknown volume type {other:?}"),
            ))
        }
        None => return Err(LoadError::ty(&n.pos, path, "a volume needs a `type`")),
    };
    let target = n
        .get("target")
        .and_then(Node::as_scalar)
        .ok_or_else(|| LoadError::ty(&n.pos, path, "a volume needs a `target`"))?
        .to_owned();
    let read_only = match n.get("read_only") {
        Some(r) => bool_of(r, path)?,
        None => false,
    };
    let kind = if kind == MountKind::Volume && n.get("source").is_none() {
        MountKind::Anonymous
    } else {
        kind
    };
    Ok(Mount {
        kind,
        source: n.get("source").and_then(Node::as_scalar).map(str::to_owned),
        target,
        read_only,
        pos: n.pos.clone(),
    })
}

/// Compose v2 refuses a `platform` that the service's own `build.platforms` does not list.
fn check_build_platform(node: &Node, name: &str) -> Result<(), LoadError> {
    let (Some(platform), Some(platforms)) = (
        node.get("platform").and_then(Node::as_scalar),
        node.get("build")
            .and_then(|b| b.get("platforms"))
            .and_then(Node::as_seq),
    ) else {
        return Ok(());
    };
    if platforms.is_empty() || platforms.iter().any(|p| p.as_scalar() == Some(platform)) {
        return Ok(());
    }
    let listed: Vec<&str> = platforms.iter().filter_map(Node::as_scalar).collect();
    Err(LoadError::ty(
        &node.get("platform").map_or(&node.pos, |p| &p.pos).clone(),
        &format!("services.{name}.platform"),
        format!(
            "{platform:?} is not among build.platforms ({}); the image could not run here",
            listed.join(", ")
        ),
    ))
}

fn healthcheck_of(n: &Node, path: &str) -> Result<Healthcheck, LoadError> {
    let mut h = Healthcheck {
        test: Vec::new(),
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        disabled: false,
    };
    let Some(m) = n.as_map() else {
        return Err(LoadError::ty(&n.pos, path, "expected a mapping"));
    };
    for (k, v) in m {
        match k.as_scalar().unwrap_or_default() {
            "test" => {
                h.test = match &v.value {
                    Value::Scalar { text, .. } => vec!["CMD-SHELL".into(), text.clone()],
                    Value::Seq(items) => items
                        .iter()
                        .map(|i| scalar_of(i, path))
                        .collect::<Result<_, _>>()?,
                    _ => {
                        return Err(LoadError::ty(
                            &v.pos,
                            path,
                            "test must be a string or a list",
                        ))
                    }
                }
            }
            "interval" => h.interval = v.as_scalar().map(str::to_owned),
            "timeout" => h.timeout = v.as_scalar().map(str::to_owned),
            "start_period" => h.start_period = v.as_scalar().map(str::to_owned),
            "retries" => {
                let s = scalar_of(v, path)?;
                h.retries = Some(s.parse().map_err(|_| {
                    LoadError::ty(
                        &v.pos,
                        path,
                        format!("retries must be a whole number, found {s:?}"),
                    )
                })?)
            }
            "disable" => h.disabled = bool_of(v, path)?,
            _ => {}
        }
    }
    if h.test.first().map(String::as_str) == Some("NONE") {
        h.disabled = true;
    }
    Ok(h)
}
