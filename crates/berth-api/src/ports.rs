//! Host port conflicts: every port the stack will publish, checked against the host's listeners,
//! the engine's containers and the stack itself, each conflict with its owner named and a free
//! port suggested. The planning is `berth_compose::port_plan`; the facts come from
//! `berth_host` and the engine.

use std::collections::HashMap;
use std::net::IpAddr;

use berth_compose::port_plan::{self, PlannedPort, Scope};
use berth_engine::model::{ContainerInfo, RunState};
use berth_host::{HostFacts, Listener, Owner, Probe, ProcessInfo, Protocol};
use serde::Serialize;

/// The check of one stack, as `berth ports --json` prints it and the Ports view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PortsView {
    pub project: String,
    pub ports: Vec<PortCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum PortStatus {
    Free,
    /// Held by this stack's own running containers: Up will keep or recreate them.
    Ours,
    Conflict,
}

/// Who holds a port the stack wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PortOwner {
    Process {
        pid: u32,
        name: String,
        command: String,
        user: String,
        unit: Option<String>,
    },
    /// A container of another compose project (or of none).
    Container {
        container: String,
        project: Option<String>,
        service: Option<String>,
        stack_dir: Option<String>,
    },
    /// Another service of this stack wants the same host port.
    Stack {
        service: String,
    },
    Unknown {
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PortSuggestion {
    pub host_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PortCheck {
    pub service: String,
    /// As the engine will bind it: "0.0.0.0" when the file names no address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
    pub status: PortStatus,
    pub owner: Option<PortOwner>,
    pub suggestion: Option<PortSuggestion>,
    /// Who holds it, for a person: "python3 (PID 812, postgresql.service)"; empty when free.
    pub held_by: String,
    /// One sentence for a terminal: who holds it and the commands that fix it.
    pub message: String,
    /// For a host process, the command that stops it, for a person to copy (Berth never kills a
    /// host process itself).
    pub stop_command: Option<String>,
    /// For a container of another compose stack whose folder is known, what Berth can stop
    /// with one click ("nginx of luminai"), through that stack's own `compose stop`.
    pub stop_holder: Option<String>,
}

impl PortsView {
    pub fn conflicts(&self) -> impl Iterator<Item = &PortCheck> {
        self.ports
            .iter()
            .filter(|p| p.status == PortStatus::Conflict)
    }

    /// Why Up is refused, naming every owner and the fixes; `None` when nothing is in the way.
    pub fn refusal(&self) -> Option<String> {
        let parts: Vec<String> = self.conflicts().map(|p| p.message.clone()).collect();
        (!parts.is_empty()).then(|| {
            format!(
                "{} cannot start: {} (or run Up with --skip-port-check to try anyway)",
                self.project,
                parts.join("; ")
            )
        })
    }
}

/// The facts a check compares the plan with.
pub(crate) struct Facts<'a> {
    pub host: &'a dyn HostFacts,
    /// Every container the engine has (empty when it does not answer).
    pub containers: &'a [ContainerInfo],
    pub probe: &'a dyn Fn(Protocol, IpAddr, u16) -> Probe,
    /// The first host port a rootless engine may publish (the kernel's
    /// `net.ipv4.ip_unprivileged_port_start`); `None` for an engine running as root.
    pub unprivileged_start: Option<u16>,
}

pub(crate) fn check(project: &str, planned: &[PlannedPort], facts: &Facts<'_>) -> PortsView {
    let listeners = facts.host.listeners().unwrap_or_default();
    let running: Vec<&ContainerInfo> = facts
        .containers
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                RunState::Running | RunState::Restarting | RunState::Paused
            )
        })
        .collect();
    // This service's own container holds its port: ours. Any other holder (another stack, or
    // an orphan of this project whose service was renamed) wins over it, since compose will
    // fail on that one.
    let own = |c: &ContainerInfo, p: &PlannedPort| {
        c.project.as_deref() == Some(project) && c.service.as_deref() == Some(p.service.as_str())
    };
    let container_at = |p: &PlannedPort| {
        let holders: Vec<&ContainerInfo> = running
            .iter()
            .copied()
            .filter(|c| {
                c.ports.iter().any(|q| {
                    Scope::parse(Some(&q.host_ip))
                        .is_some_and(|s| p.collides(s, q.host_port, &q.protocol))
                })
            })
            .collect();
        holders
            .iter()
            .copied()
            .find(|c| !own(c, p))
            .or(holders.first().copied())
    };
    let listeners_at = |p: &PlannedPort| -> Vec<&Listener> {
        listeners
            .iter()
            .filter(|l| {
                p.collides(
                    Scope::of_listener(l.addr, l.v6only),
                    l.port,
                    l.protocol.name(),
                )
            })
            .collect()
    };
    // Owners are looked up only for the sockets in the way: walking every process's file
    // descriptors is the costly part.
    // Kernel sockets (nfsd, rpc) have inode 0 and no process: nothing to look up.
    let in_way: Vec<Listener> = planned
        .iter()
        .flat_map(listeners_at)
        .filter(|l| l.inode != 0)
        .cloned()
        .collect();
    let owners = facts.host.owners(&in_way);
    let duplicates: HashMap<usize, usize> =
        port_plan::in_stack_conflicts(planned).into_iter().collect();

    let mut out = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let mut check = PortCheck {
            service: p.service.clone(),
            host_ip: p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: p.protocol.clone(),
            status: PortStatus::Free,
            owner: None,
            suggestion: None,
            held_by: String::new(),
            message: String::new(),
            stop_command: None,
            stop_holder: None,
        };
        let container = container_at(p);
        if let Some(&j) = duplicates.get(&i) {
            check.status = PortStatus::Conflict;
            check.owner = Some(PortOwner::Stack {
                service: planned[j].service.clone(),
            });
        } else if let Some(c) = container {
            if own(c, p) {
                check.status = PortStatus::Ours;
            } else {
                check.status = PortStatus::Conflict;
                let stack_dir = c
                    .labels
                    .get("com.docker.compose.project.working_dir")
                    .cloned();
                if let (Some(theirs), Some(service), Some(_)) = (&c.project, &c.service, &stack_dir)
                {
                    if theirs != project {
                        check.stop_holder = Some(format!("{service} of {theirs}"));
                    }
                }
                check.owner = Some(PortOwner::Container {
                    container: c.name.clone(),
                    project: c.project.clone(),
                    service: c.service.clone(),
                    stack_dir,
                });
            }
        } else if let Some(start) = facts
            .unprivileged_start
            .filter(|start| p.host_port < *start)
        {
            check.status = PortStatus::Conflict;
            check.owner = Some(PortOwner::Unknown {
                detail: format!(
                    "the engine, which runs rootless: it cannot publish a host port below {start} (`sudo sysctl net.ipv4.ip_unprivileged_port_start={}` allows it)",
                    p.host_port
                ),
            });
        } else if let Some(l) = listeners_at(p)
            .into_iter()
            // docker-proxy forwards for a container; with no container found it is still the
            // owner worth naming.
            .min_by_key(|l| matches!(owners.get(&l.inode), Some(Owner::Process(pr)) if pr.name == "docker-proxy"))
        {
            check.status = PortStatus::Conflict;
            check.owner = Some(match owners.get(&l.inode) {
                // An engine's forwarder holds it for a container Berth's engine does not list
                // (another engine, a VM): named, and no stop command that would break that one.
                Some(Owner::Process(pr)) if pr.forwarder().is_some() => PortOwner::Unknown {
                    detail: if pr.name == "docker-proxy" {
                        format!(
                            "docker-proxy (PID {}) for a container outside any compose project (`docker ps` lists it)",
                            pr.pid
                        )
                    } else {
                        format!(
                            "{} ({}, PID {}): a container of another engine publishes it",
                            pr.name,
                            pr.forwarder().unwrap_or_default(),
                            pr.pid
                        )
                    },
                },
                Some(Owner::Process(pr)) => {
                    check.stop_command = Some(shell_words(&pr.stop_command()));
                    process_owner(pr)
                }
                Some(Owner::Hidden { uid, user }) => PortOwner::Unknown {
                    detail: format!(
                        "a process of user {user} (uid {uid}) that this user cannot see; run as root to name it"
                    ),
                },
                None => PortOwner::Unknown {
                    detail: "a socket with no process behind it".into(),
                },
            });
        } else {
            // The plan says free: a bind on the exact address is the final word (a forwarder in
            // another namespace, a VM's port, a socket the tables did not show).
            let protocol = Protocol::parse(&p.protocol).unwrap_or(Protocol::Tcp);
            if p.scope.probe_addrs().into_iter().any(|a| (facts.probe)(protocol, a, p.host_port) == Probe::InUse) {
                check.status = PortStatus::Conflict;
                check.owner = Some(PortOwner::Unknown {
                    detail: "something Berth cannot see holds it (a bind on the address fails)".into(),
                });
            }
        }
        out.push(check);
    }

    // Suggestions last, so none is a port another suggestion or the stack already takes.
    let mut chosen: Vec<(String, u16)> = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        if out[i].status != PortStatus::Conflict {
            continue;
        }
        // One service publishing a host port twice: a remap of that port moves both mappings,
        // so no port is offered; the file has to change.
        let twice =
            matches!(&out[i].owner, Some(PortOwner::Stack { service }) if *service == p.service);
        let protocol = Protocol::parse(&p.protocol).unwrap_or(Protocol::Tcp);
        let taken = |port: u16| {
            planned
                .iter()
                .any(|q| q.host_port == port && q.protocol == p.protocol)
                || chosen
                    .iter()
                    .any(|(proto, c)| *c == port && *proto == p.protocol)
                || listeners
                    .iter()
                    .any(|l| l.port == port && l.protocol == protocol)
                || running.iter().any(|c| {
                    c.ports
                        .iter()
                        .any(|q| q.host_port == port && q.protocol == p.protocol)
                })
                || p.scope
                    .probe_addrs()
                    .into_iter()
                    .any(|a| (facts.probe)(protocol, a, port) == Probe::InUse)
        };
        // A rootless engine's refusal of a low port: the usual high twin (80 → 8080, 443 →
        // 8443) and up, never another port it cannot publish either.
        let limit = facts.unprivileged_start.unwrap_or(0);
        let base = if p.host_port < limit {
            p.host_port.checked_add(8000).unwrap_or(limit).max(limit)
        } else {
            p.host_port
        };
        let taken = |port: u16| port < limit || taken(port);
        let pick = |taken: &dyn Fn(u16) -> bool| {
            if base != p.host_port && !taken(base) {
                Some(base)
            } else {
                port_plan::next_free(base, taken)
            }
        };
        if let Some(free) = (!twice).then(|| pick(&taken)).flatten() {
            chosen.push((p.protocol.clone(), free));
            out[i].suggestion = Some(PortSuggestion { host_port: free });
        }
        let (held_by, stop) = holder(&out[i]);
        out[i].message = sentence(&out[i], &held_by, stop);
        out[i].held_by = held_by;
    }
    PortsView {
        project: project.to_owned(),
        ports: out,
    }
}

fn process_owner(p: &ProcessInfo) -> PortOwner {
    PortOwner::Process {
        pid: p.pid,
        name: p.name.clone(),
        command: p.command.clone(),
        user: p.user.clone(),
        unit: p.unit.clone(),
    }
}

/// An argument vector as a person would type it (for Copy; Berth itself never runs it).
fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./@:=".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "host port 5432 (database) is held by postgres (PID 812, postgresql.service): stop it with
/// `sudo systemctl stop postgresql.service`, or move it with `berth ports --remap database:5432=5433`".
fn sentence(c: &PortCheck, who: &str, stop: Option<String>) -> String {
    let at = format!(
        "host port {} ({}{})",
        c.host_port,
        c.service,
        if c.protocol == "tcp" {
            String::new()
        } else {
            format!(", {}", c.protocol)
        }
    );
    let mut s = format!("{at} is held by {who}");
    let mut fixes: Vec<String> = stop.into_iter().collect();
    if let Some(sug) = &c.suggestion {
        fixes.push(format!(
            "move it with `berth ports --remap {}:{}={}`",
            c.service, c.host_port, sug.host_port
        ));
    }
    if !fixes.is_empty() {
        s.push_str(": ");
        s.push_str(&fixes.join(", or "));
    }
    s
}

/// Who holds the port, and the way to stop it in a terminal.
fn holder(c: &PortCheck) -> (String, Option<String>) {
    match &c.owner {
        Some(PortOwner::Process {
            pid, name, unit, ..
        }) => (
            format!(
                "{name} (PID {pid}{})",
                unit.as_deref()
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ),
            c.stop_command
                .as_ref()
                .map(|s| format!("stop it with `{s}`")),
        ),
        Some(PortOwner::Container {
            container,
            project,
            service,
            ..
        }) => (
            match (project, service) {
                (Some(p), Some(s)) => format!("container {container} (service {s} of stack {p})"),
                _ => format!("container {container}"),
            },
            Some(match (project, &c.stop_holder) {
                (Some(_), Some(_)) => format!(
                    "stop it with `berth ports --stop-holder {}:{}`",
                    c.service, c.host_port
                ),
                (Some(p), None) => format!("stop stack {p} (`berth down` in its folder)"),
                (None, _) => format!("stop it with `docker stop {container}`"),
            }),
        ),
        Some(PortOwner::Stack { service }) if *service == c.service => {
            ("this service twice".to_string(), None)
        }
        Some(PortOwner::Stack { service }) => {
            (format!("service {service} of this stack too"), None)
        }
        Some(PortOwner::Unknown { detail }) => (detail.clone(), None),
        None => ("nothing".into(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::model::PublishedPort;
    use std::net::Ipv4Addr;

    struct Table(Vec<(Listener, Owner)>);
    impl HostFacts for Table {
        fn listeners(&self) -> std::io::Result<Vec<Listener>> {
            Ok(self.0.iter().map(|(l, _)| l.clone()).collect())
        }
        fn owners(&self, of: &[Listener]) -> HashMap<u64, Owner> {
            self.0
                .iter()
                .filter(|(l, _)| of.contains(l))
                .map(|(l, o)| (l.inode, o.clone()))
                .collect()
        }
    }

    fn planned(service: &str, ip: Option<&str>, port: u16) -> PlannedPort {
        PlannedPort {
            service: service.into(),
            host_ip: ip.map(Into::into),
            scope: Scope::parse(ip).expect("address"),
            host_port: port,
            container_port: port,
            protocol: "tcp".into(),
        }
    }

    fn postgres() -> (Listener, Owner) {
        (
            Listener {
                protocol: Protocol::Tcp,
                addr: Ipv4Addr::LOCALHOST.into(),
                port: 5432,
                uid: 108,
                inode: 7,
                v6only: false,
            },
            Owner::Process(ProcessInfo {
                pid: 812,
                name: "postgres".into(),
                command: "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"
                    .into(),
                user: "postgres".into(),
                unit: Some("postgresql.service".into()),
                user_unit: false,
            }),
        )
    }

    #[test]
    fn a_rootless_engine_refuses_low_ports_and_the_high_twin_is_offered() {
        let host = Table(vec![]);
        let free = |_: Protocol, _: IpAddr, _: u16| Probe::Free;
        let view = check(
            "demo",
            &[planned("web", None, 80), planned("api", None, 8000)],
            &Facts {
                host: &host,
                containers: &[],
                probe: &free,
                unprivileged_start: Some(1024),
            },
        );
        let web = &view.ports[0];
        assert_eq!(
            web.status,
            PortStatus::Conflict,
            "80 < 1024 on a rootless engine"
        );
        assert!(
            web.message.contains("rootless")
                && web.message.contains("ip_unprivileged_port_start=80"),
            "{}",
            web.message
        );
        assert_eq!(
            web.suggestion,
            Some(PortSuggestion { host_port: 8080 }),
            "the usual high twin, which a rootless engine can publish"
        );
        assert_eq!(view.ports[1].status, PortStatus::Free, "8000 is fine");
        let rootful = check(
            "demo",
            &[planned("web", None, 80)],
            &Facts {
                host: &host,
                containers: &[],
                probe: &free,
                unprivileged_start: None,
            },
        );
        assert_eq!(
            rootful.ports[0].status,
            PortStatus::Free,
            "an engine running as root publishes 80"
        );
    }

    #[test]
    fn a_host_process_is_named_with_its_unit_and_a_free_port_suggested() {
        let host = Table(vec![postgres()]);
        let free = |_: Protocol, _: IpAddr, _: u16| Probe::Free;
        let view = check(
            "demo",
            &[
                planned("db", Some("0.0.0.0"), 5432),
                planned("web", Some("::1"), 5432),
            ],
            &Facts {
                host: &host,
                containers: &[],
                probe: &free,
                unprivileged_start: None,
            },
        );
        let db = &view.ports[0];
        assert_eq!(
            db.status,
            PortStatus::Conflict,
            "0.0.0.0 collides with 127.0.0.1"
        );
        assert!(
            matches!(&db.owner, Some(PortOwner::Process { pid: 812, unit: Some(u), .. }) if u == "postgresql.service")
        );
        assert_eq!(db.suggestion, Some(PortSuggestion { host_port: 5433 }));
        assert_eq!(
            db.stop_command.as_deref(),
            Some("sudo systemctl stop postgresql.service")
        );
        assert!(
            db.message
                .contains("postgres (PID 812, postgresql.service)"),
            "{}",
            db.message
        );
        assert_eq!(
            view.ports[1].status,
            PortStatus::Free,
            "::1 is not 127.0.0.1"
        );
        assert!(view
            .refusal()
            .expect("refused")
            .contains("--remap db:5432=5433"));
    }

    #[test]
    fn containers_are_ours_or_another_stacks_and_the_stack_can_collide_with_itself() {
        let host = Table(vec![]);
        let free = |_: Protocol, _: IpAddr, _: u16| Probe::Free;
        let mut mine = ContainerInfo::for_test("a1", "web", 1, RunState::Running);
        mine.project = Some("demo".into());
        mine.ports = vec![PublishedPort::new("0.0.0.0", 8080, 80, "tcp")];
        let mut theirs = ContainerInfo::for_test("b1", "nginx", 1, RunState::Running);
        theirs.project = Some("luminai".into());
        theirs.ports = vec![PublishedPort::new("0.0.0.0", 80, 80, "tcp")];
        let view = check(
            "demo",
            &[
                planned("web", None, 8080),
                planned("proxy", None, 80),
                planned("a", None, 9000),
                planned("b", Some("127.0.0.1"), 9000),
            ],
            &Facts {
                host: &host,
                containers: &[mine, theirs],
                probe: &free,
                unprivileged_start: None,
            },
        );
        let status: Vec<PortStatus> = view.ports.iter().map(|p| p.status).collect();
        assert_eq!(
            status,
            [
                PortStatus::Ours,
                PortStatus::Conflict,
                PortStatus::Conflict,
                PortStatus::Conflict
            ]
        );
        assert!(
            matches!(&view.ports[1].owner, Some(PortOwner::Container { project: Some(p), .. }) if p == "luminai")
        );
        assert_eq!(
            view.ports[2].owner,
            Some(PortOwner::Stack {
                service: "b".into()
            })
        );
        let (s2, s3) = (
            view.ports[2].suggestion.clone(),
            view.ports[3].suggestion.clone(),
        );
        assert_ne!(s2, s3, "two suggestions never pick the same port");
    }

    #[test]
    fn an_orphan_of_a_renamed_service_is_no_ours_and_a_port_twice_in_one_service_gets_no_remap() {
        let host = Table(vec![]);
        let free = |_: Protocol, _: IpAddr, _: u16| Probe::Free;
        let mut orphan = ContainerInfo::for_test("o1", "web", 1, RunState::Running);
        orphan.project = Some("demo".into());
        orphan.ports = vec![PublishedPort::new("0.0.0.0", 8080, 80, "tcp")];
        let view = check(
            "demo",
            &[
                planned("api", None, 8080),
                planned("db", None, 9000),
                planned("db", None, 9000),
            ],
            &Facts {
                host: &host,
                containers: &[orphan],
                probe: &free,
                unprivileged_start: None,
            },
        );
        assert_eq!(
            view.ports[0].status,
            PortStatus::Conflict,
            "web was renamed to api: its old container still holds 8080"
        );
        assert_eq!(
            view.ports[1].owner,
            Some(PortOwner::Stack {
                service: "db".into()
            })
        );
        assert_eq!(
            view.ports[1].suggestion, None,
            "a remap of 9000 would move both mappings"
        );
    }

    #[test]
    fn an_engines_forwarder_is_not_offered_as_a_process_to_kill() {
        let (l, Owner::Process(mut p)) = postgres() else {
            unreachable!()
        };
        p.name = "gvproxy".into();
        let host = Table(vec![(l, Owner::Process(p))]);
        let free = |_: Protocol, _: IpAddr, _: u16| Probe::Free;
        let view = check(
            "demo",
            &[planned("db", None, 5432)],
            &Facts {
                host: &host,
                containers: &[],
                probe: &free,
                unprivileged_start: None,
            },
        );
        assert_eq!(view.ports[0].status, PortStatus::Conflict);
        assert_eq!(
            view.ports[0].stop_command, None,
            "stopping Podman's forwarder breaks Podman"
        );
        assert!(
            matches!(&view.ports[0].owner, Some(PortOwner::Unknown { detail }) if detail.contains("Podman"))
        );
    }

    #[test]
    fn a_failed_bind_is_the_final_word_when_the_tables_show_nothing() {
        let host = Table(vec![]);
        let taken = |_: Protocol, _: IpAddr, port: u16| {
            if port == 443 {
                Probe::InUse
            } else {
                Probe::Free
            }
        };
        let view = check(
            "demo",
            &[planned("web", Some("127.0.0.1"), 443)],
            &Facts {
                host: &host,
                containers: &[],
                probe: &taken,
                unprivileged_start: None,
            },
        );
        assert_eq!(view.ports[0].status, PortStatus::Conflict);
        assert!(matches!(
            view.ports[0].owner,
            Some(PortOwner::Unknown { .. })
        ));
        assert_eq!(
            view.ports[0].suggestion,
            Some(PortSuggestion { host_port: 444 })
        );
    }
}
