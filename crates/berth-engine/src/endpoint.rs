//! Which engine a stack is on. The endpoint is resolved once per session and handed, unchanged,
//! to bollard and to every compose child, so Stop always acts on the engine the diagram shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where the endpoint came from, for the UI's "on engine …" line and for error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndpointSource {
    /// `DOCKER_HOST` in the environment.
    DockerHost,
    /// A Docker context (`DOCKER_CONTEXT` or `currentContext` in ~/.docker/config.json).
    Context { name: String },
    /// One of the well-known sockets (Docker Engine, Docker Desktop, Colima, OrbStack, Podman).
    Socket { product: String },
}

/// Client certificates for a TCP+TLS endpoint: a folder with `ca.pem`, `cert.pem`, `key.pem`,
/// the layout `DOCKER_CERT_PATH` and Docker contexts both use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFiles {
    pub dir: PathBuf,
    /// Whether the server's certificate is checked against `ca.pem`.
    pub verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `unix:///…`, `tcp://host:port`, `npipe:////./pipe/…` or `ssh://…`.
    pub host: String,
    pub source: EndpointSource,
    pub tls: Option<TlsFiles>,
}

impl Endpoint {
    /// A short name for the UI: "Docker Engine (unix:///var/run/docker.sock)", "context remote".
    pub fn label(&self) -> String {
        match &self.source {
            EndpointSource::DockerHost => format!("DOCKER_HOST {}", self.host),
            EndpointSource::Context { name } => format!("context {name} ({})", self.host),
            EndpointSource::Socket { product } => format!("{product} ({})", self.host),
        }
    }

    /// The environment a compose child needs to reach exactly this endpoint. The context
    /// variable is removed (see [`Endpoint::removed_env`]): with `DOCKER_HOST` set, the CLI
    /// would otherwise complain about both or pick the context.
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut v = vec![("DOCKER_HOST".to_owned(), self.host.clone())];
        if let Some(t) = &self.tls {
            v.push((
                "DOCKER_CERT_PATH".to_owned(),
                t.dir.to_string_lossy().into_owned(),
            ));
            if t.verify {
                v.push(("DOCKER_TLS_VERIFY".to_owned(), "1".to_owned()));
            }
        }
        v
    }

    /// Variables a compose child must not inherit, because they would point it elsewhere.
    pub fn removed_env(&self) -> Vec<&'static str> {
        let mut v = vec!["DOCKER_CONTEXT"];
        if self.tls.is_none() {
            v.push("DOCKER_CERT_PATH");
            v.push("DOCKER_TLS_VERIFY");
        } else if !self.tls.as_ref().is_some_and(|t| t.verify) {
            v.push("DOCKER_TLS_VERIFY");
        }
        v
    }
}

fn home(env: &HashMap<String, String>) -> Option<PathBuf> {
    env.get("HOME")
        .or_else(|| env.get("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Where to look for an engine, in order: `DOCKER_HOST`, the current Docker context, then the
/// usual sockets. The first two are the user's explicit choice: when set, nothing else is tried.
pub fn candidate_endpoints(env: &HashMap<String, String>) -> Vec<Endpoint> {
    let home = home(env);
    if let Some(h) = env.get("DOCKER_HOST").filter(|h| !h.is_empty()) {
        let tls = (h.starts_with("tcp://") || h.starts_with("https://"))
            .then(|| {
                let verify = truthy(env.get("DOCKER_TLS_VERIFY"));
                let dir = env
                    .get("DOCKER_CERT_PATH")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".docker")));
                match dir {
                    Some(dir) if verify || env.contains_key("DOCKER_CERT_PATH") => {
                        Some(TlsFiles { dir, verify })
                    }
                    _ => None,
                }
            })
            .flatten();
        return vec![Endpoint {
            host: h.clone(),
            source: EndpointSource::DockerHost,
            tls,
        }];
    }
    if let Some(home) = &home {
        if let Some(e) = context_endpoint(home, env.get("DOCKER_CONTEXT").map(String::as_str)) {
            return vec![e];
        }
    }
    let socket = |host: String, product: &str| Endpoint {
        host,
        source: EndpointSource::Socket {
            product: product.to_owned(),
        },
        tls: None,
    };
    let mut out = Vec::new();
    if cfg!(windows) {
        out.push(socket(
            "npipe:////./pipe/docker_engine".into(),
            "Docker Desktop",
        ));
        out.push(socket(
            "npipe:////./pipe/podman-machine-default".into(),
            "Podman",
        ));
        return out;
    }
    out.push(socket(
        "unix:///var/run/docker.sock".into(),
        "Docker Engine",
    ));
    if let Some(home) = &home {
        let h = home.display();
        out.push(socket(
            format!("unix://{h}/.docker/run/docker.sock"),
            "Docker Desktop",
        ));
        out.push(socket(
            format!("unix://{h}/.docker/desktop/docker.sock"),
            "Docker Desktop",
        ));
        out.push(socket(
            format!("unix://{h}/.orbstack/run/docker.sock"),
            "OrbStack",
        ));
        out.push(socket(
            format!("unix://{h}/.colima/default/docker.sock"),
            "Colima",
        ));
    }
    if let Some(xdg) = env.get("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        out.push(socket(
            format!("unix://{xdg}/docker.sock"),
            "rootless Docker",
        ));
        out.push(socket(format!("unix://{xdg}/podman/podman.sock"), "Podman"));
    }
    out.push(socket("unix:///run/podman/podman.sock".into(), "Podman"));
    out
}

/// The hosts of [`candidate_endpoints`].
#[cfg(test)]
fn candidate_hosts(env: &HashMap<String, String>) -> Vec<String> {
    candidate_endpoints(env)
        .into_iter()
        .map(|e| e.host)
        .collect()
}

/// The endpoint of the current Docker context (`DOCKER_CONTEXT` or `currentContext` in
/// ~/.docker/config.json), unless it is `default`, with its TLS material when the context has
/// some (`~/.docker/contexts/tls/<same id>/docker/`).
fn context_endpoint(home: &Path, explicit: Option<&str>) -> Option<Endpoint> {
    let name = match explicit {
        Some(n) => n.to_owned(),
        None => {
            let cfg = std::fs::read_to_string(home.join(".docker/config.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&cfg).ok()?;
            v.get("currentContext")?.as_str()?.to_owned()
        }
    };
    if name.is_empty() || name == "default" {
        return None;
    }
    let contexts = home.join(".docker/contexts");
    for entry in std::fs::read_dir(contexts.join("meta")).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if v.get("Name").and_then(|n| n.as_str()) != Some(name.as_str()) {
            continue;
        }
        let host = v.pointer("/Endpoints/docker/Host")?.as_str()?.to_owned();
        let skip_verify = v
            .pointer("/Endpoints/docker/SkipTLSVerify")
            .and_then(|s| s.as_bool())
            .unwrap_or(false);
        let tls_dir = contexts.join("tls").join(entry.file_name()).join("docker");
        let tls = tls_dir.join("ca.pem").exists().then_some(TlsFiles {
            dir: tls_dir,
            verify: !skip_verify,
        });
        return Some(Endpoint {
            host,
            source: EndpointSource::Context { name },
            tls,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn docker_host_wins_then_defaults_in_order() {
        let e = candidate_endpoints(&env(&[("DOCKER_HOST", "tcp://10.0.0.5:2375")]));
        assert_eq!(e.len(), 1, "an explicit DOCKER_HOST is the only candidate");
        assert_eq!(e[0].host, "tcp://10.0.0.5:2375");
        assert_eq!(e[0].tls, None, "no TLS unless asked for");
        let hosts = candidate_hosts(&env(&[
            ("HOME", "/nonexistent-home"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ]));
        if !cfg!(windows) {
            assert_eq!(hosts[0], "unix:///var/run/docker.sock");
            for want in [
                "unix:///nonexistent-home/.docker/run/docker.sock",
                "unix:///nonexistent-home/.orbstack/run/docker.sock",
                "unix:///nonexistent-home/.colima/default/docker.sock",
                "unix:///run/user/1000/podman/podman.sock",
            ] {
                assert!(hosts.contains(&want.to_owned()), "{want} in {hosts:?}");
            }
        }
    }

    #[test]
    fn docker_host_with_tls_hands_the_same_material_to_compose() {
        let e = candidate_endpoints(&env(&[
            ("DOCKER_HOST", "tcp://build:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs"),
            ("HOME", "/h"),
        ]));
        let tls = e[0].tls.clone().expect("TLS from DOCKER_TLS_VERIFY");
        assert_eq!(tls.dir, PathBuf::from("/certs"));
        assert!(tls.verify);
        let child = e[0].child_env();
        assert!(child.contains(&("DOCKER_HOST".into(), "tcp://build:2376".into())));
        assert!(child.contains(&("DOCKER_CERT_PATH".into(), "/certs".into())));
        assert!(child.contains(&("DOCKER_TLS_VERIFY".into(), "1".into())));
        assert!(e[0].removed_env().contains(&"DOCKER_CONTEXT"));
        // Verify on, no cert path: ~/.docker, as the docker CLI does.
        let e = candidate_endpoints(&env(&[
            ("DOCKER_HOST", "tcp://build:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("HOME", "/h"),
        ]));
        assert_eq!(
            e[0].tls.as_ref().map(|t| t.dir.clone()),
            Some(PathBuf::from("/h/.docker"))
        );
    }

    #[test]
    fn current_context_endpoint_and_its_tls_material_are_used() {
        let home = tempfile::tempdir().expect("tmp");
        let h = home.path();
        std::fs::create_dir_all(h.join(".docker/contexts/meta/abc")).expect("mkdir");
        std::fs::create_dir_all(h.join(".docker/contexts/tls/abc/docker")).expect("mkdir");
        std::fs::write(h.join(".docker/contexts/tls/abc/docker/ca.pem"), "x").expect("write");
        std::fs::write(
            h.join(".docker/config.json"),
            r#"{"currentContext":"remote"}"#,
        )
        .expect("write");
        std::fs::write(
            h.join(".docker/contexts/meta/abc/meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://build-box:2376","SkipTLSVerify":false}}}"#,
        )
        .expect("write");
        let e = candidate_endpoints(&env(&[("HOME", &h.to_string_lossy())]));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].host, "tcp://build-box:2376");
        assert_eq!(
            e[0].source,
            EndpointSource::Context {
                name: "remote".into()
            }
        );
        let tls = e[0].tls.clone().expect("the context's TLS folder");
        assert_eq!(tls.dir, h.join(".docker/contexts/tls/abc/docker"));
        assert!(tls.verify);
        // `default` means the usual sockets.
        let e = candidate_endpoints(&env(&[
            ("HOME", &h.to_string_lossy()),
            ("DOCKER_CONTEXT", "default"),
        ]));
        assert!(e.len() > 1);
    }
}
