//! Per-service status from containers: pure functions, so the rules are tested without an engine.

use serde::Serialize;

use crate::model::{ContainerInfo, HealthState, PublishedPort, RunState};

/// A service as the compose files declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredService {
    pub name: String,
    pub replicas: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Replicas {
    pub running: u32,
    pub declared: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ContainerBrief {
    pub id: String,
    pub name: String,
    pub state: RunState,
    pub health: Option<HealthState>,
    pub exit_code: Option<i64>,
    pub restarts: i64,
    pub started_at: Option<String>,
}

/// How a service's state reads at a glance: the colour of its node and pill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Idle,
}

impl Tone {
    fn of(state: RunState, health: Option<HealthState>) -> Tone {
        match (state, health) {
            (RunState::Running, Some(HealthState::Unhealthy)) => Tone::Bad,
            (RunState::Running, Some(HealthState::Starting)) => Tone::Warn,
            (RunState::Running, _) => Tone::Good,
            (RunState::Restarting, _) => Tone::Warn,
            // A service that is down is red, whatever its exit code: the stack is not whole.
            (RunState::Exited | RunState::Dead, _) => Tone::Bad,
            _ => Tone::Idle,
        }
    }
}

/// The stack in one line: "4 running · 1 unhealthy · 0 exited".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Summary {
    pub running: u32,
    pub unhealthy: u32,
    pub exited: u32,
    pub not_created: u32,
    pub text: String,
}

impl Summary {
    pub fn of(services: &[ServiceStatus]) -> Summary {
        let count =
            |f: &dyn Fn(&ServiceStatus) -> bool| services.iter().filter(|s| f(s)).count() as u32;
        let running = count(&|s| s.state == RunState::Running);
        let unhealthy = count(&|s| s.health == Some(HealthState::Unhealthy));
        let exited = count(&|s| s.state == RunState::Exited);
        let not_created = count(&|s| s.state == RunState::NotCreated);
        let mut text = format!("{running} running · {unhealthy} unhealthy · {exited} exited");
        // A stack nobody started yet reads as such, not as "0 running".
        if not_created > 0 {
            text.push_str(&format!(" · {not_created} not created"));
        }
        Summary {
            running,
            unhealthy,
            exited,
            not_created,
            text,
        }
    }
}

/// Why running containers no longer match what `up` would make now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// The service's settings in the files changed (its config hash differs).
    Config,
    /// The image was rebuilt or pulled under the same name (the local image id differs).
    Image,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ServiceStatus {
    pub name: String,
    pub state: RunState,
    pub tone: Tone,
    pub health: Option<HealthState>,
    /// Output of the last health probe of the least healthy container.
    pub health_output: Option<String>,
    pub failing_streak: i64,
    pub exit_code: Option<i64>,
    pub replicas: Replicas,
    pub restarts: i64,
    pub uptime_s: Option<u64>,
    /// `uptime_s` as people read it: "45 s", "12 min", "3 h 12 min", "2 days 4 h".
    pub uptime: Option<String>,
    pub image: Option<String>,
    pub ports: Vec<PublishedPort>,
    /// False when a container was made from other compose settings than the files hold now.
    pub declared: bool,
    /// Whether the containers no longer match the files (`config`) or the local image
    /// (`image`): they need a recreate. `None` when they match or when it was not checked.
    pub drift: Option<Drift>,
    pub containers: Vec<ContainerBrief>,
}

/// Seconds since the Unix epoch of an RFC 3339 time as Docker writes it
/// (`2026-11-23T16:30:00.123456789Z`, or with an offset).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // `get`, not slicing: byte 19 may sit inside a multibyte character of a bad input.
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(|c| c.is_ascii_digit()).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            sign * (r.get(1..3)?.parse::<i64>().ok()? * 3600
                + r.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = if y2 >= 0 { y2 } else { y2 - 399 } / 400;
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

fn state_rank(s: RunState) -> u8 {
    // The state that best describes a service with several containers: any running replica
    // makes it running; otherwise the most active state wins.
    match s {
        RunState::Running => 0,
        RunState::Restarting => 1,
        RunState::Paused => 2,
        RunState::Removing => 3,
        RunState::Exited => 4,
        RunState::Dead => 5,
        RunState::Created => 6,
        RunState::NotCreated => 7,
    }
}

fn health_rank(h: HealthState) -> u8 {
    match h {
        HealthState::Unhealthy => 0,
        HealthState::Starting => 1,
        HealthState::Healthy => 2,
    }
}

/// Status of every declared service (in declaration order), then of services that only exist as
/// containers (say, removed from the files but still running). One-off `run` containers are left
/// out. `now_unix` is injected so uptime is testable.
pub fn aggregate(
    declared: &[DeclaredService],
    containers: &[ContainerInfo],
    now_unix: i64,
) -> Vec<ServiceStatus> {
    let mut names: Vec<(String, u32, bool)> = declared
        .iter()
        .map(|d| (d.name.clone(), d.replicas, true))
        .collect();
    for c in containers {
        if let Some(s) = &c.service {
            if !c.oneoff && !names.iter().any(|(n, ..)| n == s) {
                names.push((s.clone(), 0, false));
            }
        }
    }
    names
        .into_iter()
        .map(|(name, replicas, is_declared)| {
            let mine: Vec<&ContainerInfo> = containers
                .iter()
                .filter(|c| !c.oneoff && c.service.as_deref() == Some(name.as_str()))
                .collect();
            service_status(name, replicas, is_declared, &mine, now_unix)
        })
        .collect()
}

fn service_status(
    name: String,
    declared: u32,
    is_declared: bool,
    mine: &[&ContainerInfo],
    now_unix: i64,
) -> ServiceStatus {
    let state = mine
        .iter()
        .map(|c| c.state)
        .min_by_key(|s| state_rank(*s))
        .unwrap_or(RunState::NotCreated);
    let least_healthy = mine
        .iter()
        .filter(|c| c.state == RunState::Running || c.state == RunState::Restarting)
        .filter_map(|c| c.health.as_ref())
        .min_by_key(|h| health_rank(h.status));
    let running = mine.iter().filter(|c| c.state == RunState::Running).count() as u32;
    let uptime_s = mine
        .iter()
        .filter(|c| c.state == RunState::Running)
        .filter_map(|c| c.started_at.as_deref().and_then(parse_rfc3339))
        .min()
        .map(|t| (now_unix - t).max(0) as u64);
    let exit_code = if matches!(
        state,
        RunState::Exited | RunState::Dead | RunState::Restarting
    ) {
        mine.iter()
            .find(|c| c.state == state)
            .and_then(|c| c.exit_code)
    } else {
        None
    };
    let mut ports: Vec<_> = mine.iter().flat_map(|c| c.ports.iter().cloned()).collect();
    ports.dedup();
    let health = least_healthy.map(|h| h.status);
    ServiceStatus {
        name,
        state,
        tone: Tone::of(state, health),
        health,
        health_output: least_healthy.and_then(|h| h.last_output.clone()),
        failing_streak: least_healthy.map(|h| h.failing_streak).unwrap_or(0),
        exit_code,
        replicas: Replicas { running, declared },
        restarts: mine.iter().map(|c| c.restart_count).sum(),
        uptime_s,
        uptime: uptime_s.map(readable_duration),
        image: mine.first().map(|c| c.image.clone()),
        ports,
        declared: is_declared,
        drift: None,
        containers: mine
            .iter()
            .map(|c| ContainerBrief {
                id: c.id.chars().take(12).collect(),
                name: c.name.clone(),
                state: c.state,
                health: c.health.as_ref().map(|h| h.status),
                exit_code: c.exit_code,
                restarts: c.restart_count,
                started_at: c.started_at.clone(),
            })
            .collect(),
    }
}

/// A duration in its two largest units, as a status column or panel shows it.
pub fn readable_duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Health;

    fn c(service: &str, n: u32, state: RunState) -> ContainerInfo {
        ContainerInfo::for_test(&format!("{service}{n}0000000000000"), service, n, state)
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        for (secs, shown) in [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (3599, "59 min"),
            (3600, "1 h"),
            (3 * 3600 + 12 * 60 + 5, "3 h 12 min"),
            (86_400 + 59, "1 day"),
            (86_400 + 2 * 3600, "1 day 2 h"),
            (9 * 86_400, "9 days"),
            (2 * 86_400 + 4 * 3600 + 30, "2 days 4 h"),
        ] {
            assert_eq!(readable_duration(secs), shown, "{secs} s");
        }
    }

    #[test]
    fn rfc3339_as_docker_writes_it() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-23T10:00:00.123456789Z"),
            Some(1_795_428_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-23T12:00:00+02:00"),
            Some(1_795_428_000)
        );
        assert_eq!(
            parse_rfc3339("0001-01-01T00:00:00Z").map(|v| v < 0),
            Some(true)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(
            parse_rfc3339("2026-11-23T10:00:0é"),
            None,
            "a multibyte character at byte 19 is an error, not a panic"
        );
        assert_eq!(parse_rfc3339("2026-11-23T10:00:00.éZ"), None);
        assert_eq!(parse_rfc3339("2026-11-23T10:00:00+1éxy"), None);
    }

    #[test]
    fn service_state_health_replicas_and_uptime() {
        let decl = vec![
            DeclaredService {
                name: "web".into(),
                replicas: 2,
            },
            DeclaredService {
                name: "db".into(),
                replicas: 1,
            },
            DeclaredService {
                name: "job".into(),
                replicas: 1,
            },
            DeclaredService {
                name: "new".into(),
                replicas: 1,
            },
        ];
        let mut web1 = c("web", 1, RunState::Running);
        web1.health = Some(Health {
            status: HealthState::Healthy,
            failing_streak: 0,
            last_output: Some("ok".into()),
            last_exit_code: Some(0),
        });
        let mut web2 = c("web", 2, RunState::Running);
        web2.health = Some(Health {
            status: HealthState::Unhealthy,
            failing_streak: 4,
            last_output: Some("connection refused".into()),
            last_exit_code: Some(1),
        });
        web2.restart_count = 2;
        let mut job = c("job", 1, RunState::Exited);
        job.exit_code = Some(3);
        let mut oneoff = c("db", 9, RunState::Running);
        oneoff.oneoff = true;
        let orphan = c("legacy", 1, RunState::Running);
        let all = vec![web1, web2, job, oneoff, orphan];
        let now = parse_rfc3339("2026-11-23T10:01:40Z").unwrap();
        let s = aggregate(&decl, &all, now);
        let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["web", "db", "job", "new", "legacy"]);
        assert_eq!(s[0].state, RunState::Running);
        assert_eq!(
            s[0].health,
            Some(HealthState::Unhealthy),
            "the least healthy replica decides"
        );
        assert_eq!(s[0].health_output.as_deref(), Some("connection refused"));
        assert_eq!(
            s[0].replicas,
            Replicas {
                running: 2,
                declared: 2
            }
        );
        assert_eq!(s[0].restarts, 2);
        assert_eq!(
            s[0].uptime_s,
            Some(100),
            "whole seconds since the oldest running replica started"
        );
        assert_eq!(
            s[1].state,
            RunState::NotCreated,
            "a one-off run container is not the service"
        );
        assert_eq!((s[2].state, s[2].exit_code), (RunState::Exited, Some(3)));
        assert_eq!(s[3].state, RunState::NotCreated);
        assert!(!s[4].declared, "a container whose service left the files");
        assert_eq!(
            s.iter().map(|x| x.tone).collect::<Vec<_>>(),
            vec![Tone::Bad, Tone::Idle, Tone::Bad, Tone::Idle, Tone::Good],
            "an unhealthy replica makes the service red; a job that exited too"
        );
        assert_eq!(
            Summary::of(&s).text,
            "2 running · 1 unhealthy · 1 exited · 2 not created"
        );
    }
}
