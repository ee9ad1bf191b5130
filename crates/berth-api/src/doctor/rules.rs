//! Diagnoses as rules over facts already gathered (inspect fields, exit codes, probe output, the
//! last log lines, the graph): pure, so each rule is tested on the facts that make it fire, and
//! on the real engine by a fixture that reproduces it.

use berth_compose::model::DependencyCondition;
use berth_compose::{EdgeKind, Graph, Role};
use berth_engine::model::RunState;

use super::{Diagnosis, Evidence, EvidenceKind, FixView};

/// What Berth knows of one service's (first) container when it diagnoses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub service: String,
    pub state: Option<RunState>,
    pub exit_code: Option<i64>,
    pub restarts: i64,
    pub oom_killed: bool,
    /// `HostConfig.Memory` in bytes (0: no limit).
    pub memory_limit: i64,
    pub health_output: Option<String>,
    pub health_exit: Option<i64>,
    /// Unix seconds, with the fraction (a recreate can follow a start within the second).
    pub started_at: Option<f64>,
    /// The last lines of its log, masked.
    pub logs: Vec<String>,
    /// `State.Error`: why the engine could not start it (its logs are empty then).
    pub state_error: Option<String>,
    /// The service bind-mounts host folders.
    pub has_binds: bool,
    /// The service has a health check in the compose files.
    pub has_healthcheck: bool,
}

fn log_evidence(lines: &[&String]) -> Vec<Evidence> {
    lines
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|l| Evidence {
            kind: EvidenceKind::Log,
            text: (*l).clone(),
        })
        .collect()
}

fn matching<'a>(f: &'a Facts, needles: &[&str]) -> Vec<&'a String> {
    f.logs
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            needles.iter().any(|n| l.contains(n))
        })
        .collect()
}

fn ev(kind: EvidenceKind, text: impl Into<String>) -> Evidence {
    Evidence {
        kind,
        text: text.into(),
    }
}

/// Every diagnosis the facts support, at most one per rule and service.
pub(crate) fn diagnose(facts: &[Facts], graph: &Graph) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let by_name = |n: &str| facts.iter().find(|f| f.service == n);
    for f in facts {
        let s = &f.service;
        // Killed by the kernel for its memory limit.
        if f.oom_killed
            || (f.exit_code == Some(137) && f.memory_limit > 0 && f.state == Some(RunState::Exited))
        {
            let mut evidence = vec![ev(
                EvidenceKind::Inspect,
                format!(
                    "State.OOMKilled={} ExitCode={}",
                    f.oom_killed,
                    f.exit_code.unwrap_or(137)
                ),
            )];
            if f.memory_limit > 0 {
                evidence.push(ev(
                    EvidenceKind::Inspect,
                    format!(
                        "HostConfig.Memory={} ({} MiB)",
                        f.memory_limit,
                        f.memory_limit / (1024 * 1024)
                    ),
                ));
            }
            out.push(Diagnosis {
                id: format!("oom:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} was killed for using more memory than its limit{} (exit 137{}): raise `mem_limit`/`deploy.resources.limits.memory`, or find what grows",
                    if f.memory_limit > 0 {
                        format!(" of {} MiB", f.memory_limit / (1024 * 1024))
                    } else {
                        String::new()
                    },
                    if f.oom_killed { ", OOMKilled" } else { " under its memory limit" }
                ),
                evidence,
                fix: None,
            });
        }
        // Restarting again and again with the same exit code.
        if f.restarts >= 3 && !f.oom_killed {
            let mut evidence = vec![ev(
                EvidenceKind::ExitCode,
                format!(
                    "restarted {} times, last exit code {}",
                    f.restarts,
                    f.exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "?".into())
                ),
            )];
            let last: Vec<&String> = f.logs.iter().collect();
            evidence.extend(log_evidence(&last));
            out.push(Diagnosis {
                id: format!("restart-loop:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} is in a restart loop: it exits with code {} and its restart policy starts it again ({} restarts); its last lines say why",
                    f.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                    f.restarts
                ),
                evidence,
                fix: None,
            });
        }
        // The health check's program is not in the image.
        if let Some(out_text) = &f.health_output {
            let lower = out_text.to_ascii_lowercase();
            if f.health_exit == Some(127)
                || lower.contains("executable file not found")
                || lower.contains("not found in $path")
                || lower.contains(": not found")
            {
                out.push(Diagnosis {
                    id: format!("healthcheck-missing:{s}"),
                    service: Some(s.clone()),
                    sentence: format!(
                        "{s}'s health check runs a program its image does not have, so it can never turn healthy: use one the image has (`wget`, `pg_isready`, `redis-cli`), or install it in the image"
                    ),
                    evidence: vec![
                        ev(EvidenceKind::Probe, out_text.trim().to_owned()),
                        ev(
                            EvidenceKind::ExitCode,
                            format!("probe exit code {}", f.health_exit.unwrap_or(127)),
                        ),
                    ],
                    fix: None,
                });
            }
        }
        let hit = matching(f, &["exec format error"]);
        let start_error = f
            .state_error
            .as_ref()
            .filter(|e| e.to_ascii_lowercase().contains("exec format error"));
        if !hit.is_empty() || start_error.is_some() {
            let mut evidence = log_evidence(&hit);
            if let Some(e) = start_error {
                evidence.push(ev(EvidenceKind::Inspect, format!("State.Error: {e}")));
            }
            out.push(Diagnosis {
                id: format!("exec-format:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s}'s image was built for another processor architecture than this machine's: rebuild it here, or set `platform:` to this machine's"
                ),
                evidence,
                fix: None,
            });
        }
        let hit = matching(
            f,
            &[
                "password authentication failed for user",
                "access denied for user",
            ],
        );
        if !hit.is_empty() {
            out.push(Diagnosis {
                id: format!("db-auth:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} cannot log in to its database: the database's volume was initialised with another password than the one the files give now (a database sets its password only on first start). Put the old password back, or reset the database's volume (Berth takes a safety snapshot first: `berth reset`)"
                ),
                evidence: log_evidence(&hit),
                fix: Some(FixView::new("reset", "Reset the stack (after a safety snapshot)")),
            });
        }
        let hit = matching(f, &["no space left on device"]);
        if !hit.is_empty() {
            out.push(Diagnosis {
                id: format!("disk-full:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} ran out of space: a file system it writes to is full (its lines name the file). Free space there; for Docker's own disk, `docker system df` shows what images, containers and volumes take, and the disk check above how much is left"
                ),
                evidence: log_evidence(&hit),
                fix: None,
            });
        }
        let hit = matching(f, &["permission denied"]);
        if !hit.is_empty() && f.has_binds {
            out.push(Diagnosis {
                id: format!("bind-permission:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} is denied access to a folder it bind-mounts from this machine: the process inside runs as another user id than the folder's owner. Give the folder to that id (`chown`), or run the service as yours (`user:`)"
                ),
                evidence: log_evidence(&hit),
                fix: None,
            });
        }
        let hit = matching(
            f,
            &[
                "cannot load certificate",
                "ssl_certificate",
                "no such file or directory:fopen",
            ],
        );
        if graph.roles.get(s) == Some(&Role::ReverseProxy)
            && hit
                .iter()
                .any(|l| l.to_ascii_lowercase().contains("certificate"))
        {
            out.push(Diagnosis {
                id: format!("nginx-certificate:{s}"),
                service: Some(s.clone()),
                sentence: format!(
                    "{s} cannot load its TLS certificate: Berth can write one from its local CA where {s} reads it"
                ),
                evidence: log_evidence(&hit),
                fix: Some(FixView::new("tls-issue", "Make HTTPS trusted")),
            });
        }
        // A dependency refused the connection: started but not ready.
        // Refused, or (started a moment before its name was on the network) not found.
        let refused = matching(
            f,
            &[
                "connection refused",
                "econnrefused",
                "bad address",
                "name or service not known",
                "temporary failure in name resolution",
            ],
        );
        if !refused.is_empty() {
            for e in graph.edges.iter().filter(|e| {
                e.from == *s
                    && e.kind == EdgeKind::DependsOn
                    && e.condition != Some(DependencyCondition::Healthy)
            }) {
                let Some(dep) = by_name(&e.to) else { continue };
                if !dep.has_healthcheck {
                    continue;
                }
                out.push(Diagnosis {
                    id: format!("not-ready:{s}:{}", e.to),
                    service: Some(s.clone()),
                    sentence: format!(
                        "{s} connected to {} before it was ready: `depends_on` waits only until {} starts. Make it wait for the health check (`condition: service_healthy`)",
                        e.to, e.to
                    ),
                    evidence: {
                        let mut v = log_evidence(&refused);
                        v.push(ev(EvidenceKind::Config, format!("{} ({})", e.detail, e.evidence)));
                        v
                    },
                    fix: Some(FixView::new(
                        &format!("wait-healthy:{s}:{}", e.to),
                        &format!("Make {s} wait for {} to be healthy", e.to),
                    )),
                });
            }
        }
    }
    // nginx resolved an upstream's address when it started; the upstream was recreated since.
    for e in graph.edges.iter().filter(|e| {
        matches!(
            e.kind,
            EdgeKind::ProxyPass | EdgeKind::Upstream | EdgeKind::FastcgiPass
        )
    }) {
        let (Some(proxy), Some(up)) = (by_name(&e.from), by_name(&e.to)) else {
            continue;
        };
        let (Some(p_start), Some(u_start)) = (proxy.started_at, up.started_at) else {
            continue;
        };
        if proxy.state != Some(RunState::Running) || u_start <= p_start {
            continue;
        }
        let failed = matching(
            proxy,
            &[
                "connect() failed",
                "no route to host",
                "upstream timed out",
                "host is unreachable",
            ],
        );
        if failed.is_empty() {
            continue;
        }
        let mut evidence = log_evidence(&failed);
        evidence.push(ev(
            EvidenceKind::Inspect,
            format!(
                "{} started at {}, {} started at {} (recreated after)",
                e.from,
                crate::snapshot::rfc3339(p_start as i64),
                e.to,
                crate::snapshot::rfc3339(u_start as i64)
            ),
        ));
        out.push(Diagnosis {
            id: format!("nginx-stale-upstream:{}:{}", e.from, e.to),
            service: Some(e.from.clone()),
            sentence: format!(
                "{} answers 502: it resolved {}'s address when it started, and {} was recreated since with a new one. Restart {} (lasting fix: a `resolver 127.0.0.11 valid=10s;` with the upstream in a variable, so nginx looks it up again)",
                e.from, e.to, e.to, e.from
            ),
            evidence,
            fix: Some(FixView::new(&format!("restart:{}", e.from), &format!("Restart {}", e.from))),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        Graph {
            roles: [("web".to_owned(), Role::ReverseProxy)]
                .into_iter()
                .collect(),
            edges: vec![berth_compose::Edge {
                from: "web".into(),
                to: "app".into(),
                kind: EdgeKind::ProxyPass,
                evidence: "nginx.conf:9".into(),
                detail: "proxy_pass http://app:8000".into(),
                condition: None,
            }],
            warnings: vec![],
        }
    }

    #[test]
    fn an_oom_kill_is_named_with_its_limit() {
        let f = Facts {
            service: "job".into(),
            state: Some(RunState::Exited),
            exit_code: Some(137),
            oom_killed: true,
            memory_limit: 8 * 1024 * 1024,
            ..Default::default()
        };
        let d = diagnose(&[f], &graph());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].id, "oom:job");
        assert!(d[0].sentence.contains("8 MiB"), "{}", d[0].sentence);
    }

    #[test]
    fn a_stale_upstream_needs_both_the_log_and_the_later_start() {
        let web = |logs: Vec<&str>| Facts {
            service: "web".into(),
            state: Some(RunState::Running),
            started_at: Some(100.0),
            logs: logs.into_iter().map(str::to_owned).collect(),
            ..Default::default()
        };
        let app = |start| Facts {
            service: "app".into(),
            state: Some(RunState::Running),
            started_at: Some(start),
            ..Default::default()
        };
        let err = "connect() failed (113: No route to host) while connecting to upstream";
        let found = diagnose(&[web(vec![err]), app(100.4)], &graph());
        assert_eq!(found[0].id, "nginx-stale-upstream:web:app");
        assert_eq!(
            found[0].fix.as_ref().map(|f| f.id.as_str()),
            Some("restart:web")
        );
        assert!(
            diagnose(&[web(vec![err]), app(50.0)], &graph()).is_empty(),
            "app started first"
        );
        assert!(
            diagnose(&[web(vec!["GET / 200"]), app(200.0)], &graph()).is_empty(),
            "no failure logged"
        );
    }

    #[test]
    fn a_missing_probe_program_and_a_restart_loop_are_told_apart() {
        let f = Facts {
            service: "api".into(),
            state: Some(RunState::Running),
            health_output: Some(
                "OCI runtime exec failed: exec: \"curl\": executable file not found in $PATH"
                    .into(),
            ),
            health_exit: Some(127),
            ..Default::default()
        };
        let d = diagnose(&[f], &graph());
        assert_eq!(
            d.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            vec!["healthcheck-missing:api"]
        );
        let f = Facts {
            service: "worker".into(),
            restarts: 5,
            exit_code: Some(1),
            logs: vec!["boot".into(), "fatal: no queue".into()],
            ..Default::default()
        };
        let d = diagnose(&[f], &graph());
        assert_eq!(d[0].id, "restart-loop:worker");
        assert_eq!(
            d[0].evidence.last().map(|e| e.text.as_str()),
            Some("fatal: no queue")
        );
    }
}
