//! `berth doctor`: the readiness checklist that gets a stack to green, and diagnoses of what
//! went wrong with their evidence and, where one exists, a fix Berth applies.

mod probe;
mod rules;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_engine::model::{ContainerInfo, LogRequest, RunState};
use berth_engine::{ComposeCli, ComposeFlavor, Engine};
use serde::Serialize;

use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode};
use crate::inspect::StackRequest;
use crate::OpenStack;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// A fix Berth can apply (`berth doctor --fix ID`, or a button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FixView {
    pub id: String,
    pub label: String,
}

impl FixView {
    pub(crate) fn new(id: &str, label: &str) -> Self {
        FixView {
            id: id.to_owned(),
            label: label.to_owned(),
        }
    }
}

/// One item of the readiness checklist.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CheckView {
    /// Stable: `engine`, `compose`, `files`, `env`, `ports`, `certificates`, `images`, `disk`,
    /// `running`, `drift`.
    pub id: String,
    pub status: CheckStatus,
    pub title: String,
    pub detail: String,
    pub fix: Option<FixView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Log,
    ExitCode,
    Inspect,
    Probe,
    Config,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub text: String,
}

/// What Berth found wrong, with what shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Diagnosis {
    /// `rule:service[:other]`, e.g. `oom:worker`, `nginx-stale-upstream:web:app`.
    pub id: String,
    pub service: Option<String>,
    pub sentence: String,
    pub evidence: Vec<Evidence>,
    pub fix: Option<FixView>,
}

/// The answer of one connection probe (filled in by the probes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ProbeResult {
    Ok,
    Refused,
    Timeout,
    Nxdomain,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProbeView {
    pub from: String,
    pub to: String,
    pub host: String,
    pub port: u16,
    pub result: ProbeResult,
    pub ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DoctorView {
    pub project: String,
    pub checks: Vec<CheckView>,
    pub diagnoses: Vec<Diagnosis>,
    pub probes: Vec<ProbeView>,
}

impl DoctorView {
    /// Whether anything failed (`berth doctor` exits 7 then).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Fail) || !self.diagnoses.is_empty()
    }
}

fn check(id: &str, status: CheckStatus, title: &str, detail: impl Into<String>) -> CheckView {
    CheckView {
        id: id.to_owned(),
        status,
        title: title.to_owned(),
        detail: detail.into(),
        fix: None,
    }
}

/// The example files a project may ship its `.env` as.
const ENV_EXAMPLES: [&str; 4] = [".env.example", ".env.dist", ".env.sample", ".env.template"];

fn project_dir(req: &StackRequest) -> PathBuf {
    req.dir
        .clone()
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

/// `.env` present, or an example to make it from.
fn env_check(dir: &Path, uses_env_file: bool) -> CheckView {
    if uses_env_file || dir.join(".env").is_file() {
        return check("env", CheckStatus::Ok, ".env present", ".env is there");
    }
    match ENV_EXAMPLES.iter().find(|e| dir.join(e).is_file()) {
        Some(example) => CheckView {
            fix: Some(FixView::new(
                "create-env",
                &format!("Create .env from {example}"),
            )),
            ..check(
                "env",
                CheckStatus::Fail,
                ".env present",
                format!("there is no .env; {example} shows what it holds"),
            )
        },
        None => check(
            "env",
            CheckStatus::Skip,
            ".env present",
            "the project has no .env and no example of one: none is needed",
        ),
    }
}

/// The checklist of a stack whose files do not load: what is wrong with them, and `.env`.
fn unloadable(req: &StackRequest, e: &ApiError) -> DoctorView {
    let dir = project_dir(req);
    let env = env_check(&dir, !req.env_files.is_empty());
    let mut checks = vec![env.clone()];
    let (id, title) = match e.code {
        ErrorCode::MissingVariable => ("variables", "every required variable set"),
        _ => ("files", "compose files valid"),
    };
    let mut c = check(id, CheckStatus::Fail, title, e.message.clone());
    if e.code == ErrorCode::MissingVariable && env.fix.is_some() {
        c.fix = env.fix.clone();
    }
    checks.push(c);
    DoctorView {
        project: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        checks,
        diagnoses: Vec::new(),
        probes: Vec::new(),
    }
}

/// The checklist and diagnoses of the stack `req`. Never fails: what cannot be checked is a
/// failed or skipped item with its sentence.
pub async fn doctor(req: &StackRequest, env: HashMap<String, String>) -> DoctorView {
    match OpenStack::open(req, env) {
        Ok(open) => open.doctor().await,
        Err(e) => unloadable(req, &e),
    }
}

/// Applies the fix `id` that [`doctor`] offered, and says what it did.
pub async fn apply_fix(
    req: &StackRequest,
    env: HashMap<String, String>,
    id: &str,
) -> Result<String, ApiError> {
    if id == "create-env" {
        let dir = project_dir(req);
        let Some(example) = ENV_EXAMPLES.iter().find(|e| dir.join(e).is_file()) else {
            return Err(ApiError::invalid_input(
                "there is no .env example to create .env from",
            ));
        };
        let text = std::fs::read_to_string(dir.join(example))
            .map_err(|e| ApiError::internal(format!("cannot read {example}: {e}")))?;
        // Never over a .env that appeared meanwhile: the user's file wins.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(".env"))
            .map_err(|e| ApiError::invalid_input(format!("cannot create .env: {e}")))?;
        f.write_all(text.as_bytes())
            .map_err(|e| ApiError::internal(format!("cannot write .env: {e}")))?;
        return Ok(format!("created .env from {example}\n"));
    }
    let open = OpenStack::open(req, env)?;
    open.apply_fix(id).await
}

impl<C: Connector> OpenStack<C> {
    pub async fn doctor(&self) -> DoctorView {
        let loaded = self.loaded();
        let project = &loaded.project;
        let mut checks = vec![
            check(
                "files",
                CheckStatus::Ok,
                "compose files valid",
                format!(
                    "{} service{} from {}",
                    project.services.len(),
                    if project.services.len() == 1 { "" } else { "s" },
                    project
                        .files
                        .iter()
                        .filter_map(|f| f.file_name())
                        .map(|f| f.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            env_check(&project.working_dir, !self.request().env_files.is_empty()),
        ];
        // Asking compose its version starts two processes (~50 ms): it runs beside the
        // engine's checks instead of before them, and takes its place in the list after.
        let compose = tokio::task::spawn_blocking(ComposeCli::detect);
        let engine = match self.engine().await {
            Ok(engine) => {
                let info = engine.info().await.ok();
                checks.push(check(
                    "engine",
                    CheckStatus::Ok,
                    "Docker reachable",
                    match (&info, self.endpoint()) {
                        (Some(i), Some(e)) => {
                            format!(
                                "Docker {} (API {}) at {}",
                                i.version,
                                i.api_version,
                                e.label()
                            )
                        }
                        _ => "the engine answers".into(),
                    },
                ));
                Some(engine)
            }
            Err(e) => {
                checks.push(check(
                    "engine",
                    CheckStatus::Fail,
                    "Docker reachable",
                    e.message,
                ));
                None
            }
        };
        let Some(engine) = engine else {
            checks.insert(2, compose_check(compose).await);
            return DoctorView {
                project: project.name.clone(),
                checks,
                diagnoses: Vec::new(),
                probes: Vec::new(),
            };
        };
        checks.push(self.ports_check().await);
        checks.push(self.certificates_check().await);
        checks.push(self.images_check(&engine).await);
        checks.push(disk_check());
        let status = self.status().await.ok();
        let graph = berth_compose::build_graph(project);
        let mut diagnoses = Vec::new();
        let mut probes = Vec::new();
        match &status {
            Some(st)
                if st
                    .services
                    .iter()
                    .all(|s| s.state == RunState::Created || s.containers.is_empty()) =>
            {
                checks.push(check(
                    "running",
                    CheckStatus::Skip,
                    "every service running and healthy",
                    "the stack is not up yet",
                ));
            }
            Some(st) => {
                let bad: Vec<String> = st
                    .services
                    .iter()
                    .filter(|s| s.declared && s.tone != berth_engine::status::Tone::Good)
                    .map(|s| {
                        format!(
                            "{} {}",
                            s.name,
                            s.health
                                .map(|h| format!("{h:?}").to_lowercase())
                                .unwrap_or_else(|| format!("{:?}", s.state).to_lowercase())
                        )
                    })
                    .collect();
                checks.push(if bad.is_empty() {
                    check(
                        "running",
                        CheckStatus::Ok,
                        "every service running and healthy",
                        st.summary.text.clone(),
                    )
                } else {
                    check(
                        "running",
                        CheckStatus::Fail,
                        "every service running and healthy",
                        bad.join(", "),
                    )
                });
                let drifted: Vec<String> = st
                    .services
                    .iter()
                    .filter(|s| s.drift.is_some())
                    .map(|s| s.name.clone())
                    .collect();
                checks.push(if drifted.is_empty() {
                    check(
                        "drift",
                        CheckStatus::Ok,
                        "containers match the files",
                        "no drift",
                    )
                } else {
                    CheckView {
                        fix: Some(FixView::new("recreate", "Recreate them")),
                        ..check(
                            "drift",
                            CheckStatus::Warn,
                            "containers match the files",
                            format!("{} run from older files", drifted.join(", ")),
                        )
                    }
                });
                // One list of the containers for the diagnoses and the probes.
                let containers = engine
                    .project_containers(Some(&project.name))
                    .await
                    .unwrap_or_default();
                let facts = self.facts(&engine, st, &containers).await;
                diagnoses = rules::diagnose(&facts, &graph);
                let targets = probe::targets(project, &graph);
                if !targets.is_empty() {
                    let (found, unprobed) = probe::run(&engine, &containers, &targets).await;
                    checks.push(probes_check(&found, &unprobed));
                    probes = found;
                }
            }
            None => {}
        }
        checks.insert(2, compose_check(compose).await);
        DoctorView {
            project: project.name.clone(),
            checks,
            diagnoses,
            probes,
        }
    }

    async fn ports_check(&self) -> CheckView {
        let view = self.check_ports(&[]).await;
        let taken: Vec<&crate::PortCheck> = view
            .ports
            .iter()
            .filter(|p| p.status == crate::PortStatus::Conflict)
            .collect();
        if taken.is_empty() {
            return check(
                "ports",
                CheckStatus::Ok,
                "host ports free",
                format!(
                    "{} published ports, none taken by something else",
                    view.ports.len()
                ),
            );
        }
        let fix = taken.iter().find_map(|p| {
            p.suggestion.as_ref().map(|s| {
                FixView::new(
                    &format!("remap:{}:{}={}", p.service, p.host_port, s.host_port),
                    &format!("Use {} for {}", s.host_port, p.service),
                )
            })
        });
        CheckView {
            fix,
            ..check(
                "ports",
                CheckStatus::Fail,
                "host ports free",
                taken
                    .iter()
                    .map(|p| p.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
    }

    async fn certificates_check(&self) -> CheckView {
        let Ok(view) = self.tls_status().await else {
            return check(
                "certificates",
                CheckStatus::Skip,
                "certificates present and trusted",
                "could not be read",
            );
        };
        if view.endpoints.is_empty() {
            return check(
                "certificates",
                CheckStatus::Skip,
                "certificates present and trusted",
                "the stack serves no HTTPS",
            );
        }
        use crate::tls::TlsState;
        let bad: Vec<String> = view
            .endpoints
            .iter()
            .filter(|e| e.state != TlsState::Trusted)
            .map(|e| format!("{} {:?}", e.service, e.state).to_lowercase())
            .collect();
        if bad.is_empty() {
            return check(
                "certificates",
                CheckStatus::Ok,
                "certificates present and trusted",
                format!("{} HTTPS endpoints trusted", view.endpoints.len()),
            );
        }
        CheckView {
            fix: Some(FixView::new("tls-issue", "Make HTTPS trusted")),
            ..check(
                "certificates",
                CheckStatus::Warn,
                "certificates present and trusted",
                bad.join(", "),
            )
        }
    }

    async fn images_check(&self, engine: &C::Engine) -> CheckView {
        let loaded = self.loaded();
        let mut missing = Vec::new();
        let mut bases_missing = Vec::new();
        for s in loaded.project.services.values() {
            match (&s.image, &s.build) {
                (_, Some(b)) => {
                    let dockerfile =
                        Path::new(&b.context).join(b.dockerfile.as_deref().unwrap_or("Dockerfile"));
                    let dockerfile = if dockerfile.is_absolute() {
                        dockerfile
                    } else {
                        loaded.project.working_dir.join(dockerfile)
                    };
                    for base in base_images(&dockerfile) {
                        if engine.image_id(&base).await.ok().flatten().is_none() {
                            bases_missing.push(format!("{base} (for {})", s.name));
                        }
                    }
                }
                (Some(i), None) => {
                    if engine.image_id(i).await.ok().flatten().is_none() {
                        missing.push(format!("{i} ({})", s.name));
                    }
                }
                (None, None) => {}
            }
        }
        if missing.is_empty() && bases_missing.is_empty() {
            return check(
                "images",
                CheckStatus::Ok,
                "images present or buildable",
                "every image, and every base image to build from, is on this machine",
            );
        }
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!(
                "not on this machine: {} (Up pulls them; a machine without a registry cannot)",
                missing.join(", ")
            ));
        }
        if !bases_missing.is_empty() {
            parts.push(format!(
                "base images to pull for a build: {}",
                bases_missing.join(", ")
            ));
        }
        check(
            "images",
            CheckStatus::Warn,
            "images present or buildable",
            parts.join("; "),
        )
    }

    /// Facts of each service's first container: inspect fields, probe output, last lines.
    async fn facts(
        &self,
        engine: &C::Engine,
        status: &crate::StatusView,
        containers: &[ContainerInfo],
    ) -> Vec<rules::Facts> {
        let loaded = self.loaded();
        let mut out = Vec::new();
        for s in &status.services {
            let Some(c) = containers
                .iter()
                .find(|c| c.service.as_deref() == Some(s.name.as_str()) && !c.oneoff)
            else {
                continue;
            };
            let raw = engine.inspect_raw(&c.id).await.ok().flatten();
            let get = |path: &[&str]| {
                let mut v = raw.as_ref()?;
                for p in path {
                    v = v.get(*p)?;
                }
                Some(v.clone())
            };
            let mut logs = Vec::new();
            // Only what this run of the container wrote: a restart keeps the old lines, and a
            // fixed problem must not be diagnosed again from them. Each line carries the
            // engine's timestamp so the cut is exact.
            let started = c.started_at.as_deref().and_then(precise_time);
            let finished =
                get(&["State", "FinishedAt"]).and_then(|v| v.as_str().and_then(precise_time));
            let cutoff = log_cut(finished, started, c.state == RunState::Running);
            let req = LogRequest {
                tail: Some(60),
                timestamps: true,
                since: c
                    .started_at
                    .as_deref()
                    .and_then(berth_engine::status::parse_rfc3339)
                    .map(|t| t - 1),
                ..Default::default()
            };
            let mut stream = engine.logs(&c.id, &req);
            let mut bytes = 0usize;
            use futures_util::StreamExt;
            while let Some(Ok(chunk)) = stream.next().await {
                bytes += chunk.bytes.len();
                for line in String::from_utf8_lossy(&chunk.bytes).lines() {
                    let (stamp, text) = line.split_once(' ').unwrap_or(("", line));
                    if let (Some(at), Some(cut)) = (precise_time(stamp), cutoff) {
                        if at <= cut {
                            continue;
                        }
                    }
                    logs.push(loaded.secrets.mask(text));
                }
                // Bounded: a container that logs megabytes per line is read no further.
                if bytes > 256 * 1024 {
                    break;
                }
            }
            let svc = loaded.project.services.get(&s.name);
            out.push(rules::Facts {
                service: s.name.clone(),
                state: Some(c.state),
                exit_code: c.exit_code,
                restarts: c.restart_count,
                oom_killed: get(&["State", "OOMKilled"])
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                memory_limit: get(&["HostConfig", "Memory"])
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0),
                health_output: c.health.as_ref().and_then(|h| h.last_output.clone()),
                health_exit: c.health.as_ref().and_then(|h| h.last_exit_code),
                started_at: c.started_at.as_deref().and_then(precise_time),
                logs,
                state_error: get(&["State", "Error"])
                    .and_then(|v| v.as_str().map(|e| loaded.secrets.mask(e)))
                    .filter(|e| !e.is_empty()),
                has_binds: svc.is_some_and(|s| {
                    s.volumes
                        .iter()
                        .any(|m| m.kind == berth_compose::model::MountKind::Bind)
                }),
                has_healthcheck: svc
                    .and_then(|s| s.healthcheck.as_ref())
                    .is_some_and(|h| !h.disabled),
            });
        }
        out
    }

    /// Applies a fix [`OpenStack::doctor`] offered.
    pub async fn apply_fix(&self, id: &str) -> Result<String, ApiError> {
        if let Some(service) = id.strip_prefix("restart:") {
            let services = [service.to_owned()];
            self.act(crate::Action::Restart, &services, |_| {}).await?;
            return Ok(format!("restarted {service}\n"));
        }
        if let Some(pair) = id.strip_prefix("wait-healthy:") {
            let Some((service, dependency)) = pair.split_once(':') else {
                return Err(ApiError::invalid_input(format!("no fix {id:?}")));
            };
            self.check_services(&[service.to_owned(), dependency.to_owned()])?;
            crate::remap::add_wait(
                &self.env,
                &self.loaded().project,
                crate::remap::WaitEntry {
                    service: service.to_owned(),
                    dependency: dependency.to_owned(),
                },
            )?;
            self.reload_now()?;
            // Up of that service alone: compose waits for the dependency's health, then starts it.
            self.up(
                &[service.to_owned()],
                |_| {},
                crate::session::DEFAULT_UP_TIMEOUT,
            )
            .await?;
            return Ok(format!(
                "{service} now waits for {dependency} to be healthy (Berth's override), and runs\n"
            ));
        }
        if let Some(spec) = id.strip_prefix("remap:") {
            // `remap:SERVICE:HOST_PORT=NEW`, as the ports check offered it.
            let parsed = spec.split_once(':').and_then(|(svc, rest)| {
                let (from, to) = rest.split_once('=')?;
                Some((svc, from.parse::<u16>().ok()?, to.parse::<u16>().ok()?))
            });
            let Some((service, from, to)) = parsed else {
                return Err(ApiError::invalid_input(format!("no fix {id:?}")));
            };
            crate::remap::remap(self.request(), self.env.clone(), service, from, to)?;
            self.reload_now()?;
            return Ok(format!("{service} publishes {to} instead of {from}\n"));
        }
        match id {
            "tls-issue" => {
                let view = self.tls_issue(|_| {}).await?;
                Ok(format!("{} HTTPS endpoints\n", view.view.endpoints.len()))
            }
            "reset" => {
                let store = crate::snapshot::open_catalog(&self.env).await?;
                let view = self
                    .reset_stack(
                        &store,
                        false,
                        crate::session::DEFAULT_UP_TIMEOUT,
                        |_| {},
                        |_| {},
                        std::future::pending(),
                    )
                    .await?;
                Ok(format!(
                    "reset: {}; the old data is in safety snapshot {} (`berth restore {}`)\n",
                    view.status.summary.text, view.safety.id, view.safety.id
                ))
            }
            "recreate" => {
                self.act(crate::Action::Recreate, &[], |_| {}).await?;
                Ok("recreated the drifted services\n".into())
            }
            _ => Err(ApiError::invalid_input(format!(
                "no fix {id:?} (`berth doctor` lists the fixes it offers)"
            ))),
        }
    }
}

async fn compose_check(
    task: tokio::task::JoinHandle<Result<ComposeCli, berth_engine::EngineError>>,
) -> CheckView {
    let detected = match task.await {
        Ok(r) => r,
        Err(e) => Err(berth_engine::EngineError::Wait {
            message: e.to_string(),
        }),
    };
    match detected {
        Ok(cli) => check(
            "compose",
            CheckStatus::Ok,
            "Docker Compose available",
            match &cli.flavor {
                ComposeFlavor::V2 { version, .. } => format!("Compose v2 {version}"),
                ComposeFlavor::V1 { version, .. } => {
                    format!("Compose v1 {version} (v2 is the reference; v1 works)")
                }
            },
        ),
        Err(e) => check(
            "compose",
            CheckStatus::Fail,
            "Docker Compose available",
            e.to_string(),
        ),
    }
}

/// The probes as one checklist item: every connection answered, or which did not and how.
fn probes_check(probes: &[ProbeView], unprobed: &[String]) -> CheckView {
    let bad: Vec<String> = probes
        .iter()
        .filter(|p| p.result != ProbeResult::Ok)
        .map(|p| {
            format!(
                "{} → {}:{} {}",
                p.from,
                p.host,
                p.port,
                serde_json::to_value(p.result)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .collect();
    let mut detail = if bad.is_empty() {
        format!(
            "{} connections answer from inside their consumers",
            probes.len()
        )
    } else {
        bad.join(", ")
    };
    if !unprobed.is_empty() {
        detail.push_str(&format!("; not probed: {}", unprobed.join(", ")));
    }
    let status = if !bad.is_empty() {
        CheckStatus::Fail
    } else if probes.is_empty() {
        CheckStatus::Skip
    } else {
        CheckStatus::Ok
    };
    check(
        "probes",
        status,
        "connections between services answer",
        detail,
    )
}

/// An RFC 3339 time with its fraction of a second, as Unix seconds.
/// Where the lines of the run before end, in seconds since the epoch: lines stamped at or before
/// it are not this run's. `None` when there is no run before to cut.
///
/// Neither recorded time is the edge itself. The engine stamps a line when its log copier reads
/// it, which can be a little after it recorded the process's end, so the last lines of the run
/// before can carry stamps after `FinishedAt` (seen: an nginx that failed on its certificate,
/// fixed and started again, was diagnosed again from its old line). And a process writes its
/// first lines before the engine records its start, so this run's first lines can carry stamps
/// before `StartedAt`. The cut is therefore between the two: a second after the end, or halfway
/// to the start when that is nearer.
fn log_cut(finished: Option<f64>, started: Option<f64>, running: bool) -> Option<f64> {
    match (finished, started) {
        // Only while it runs again: a process that dies at once can have its end recorded a
        // moment before its start, and then there is no run before to cut.
        (Some(f), Some(s)) if f < s && running => Some(f + ((s - f) / 2.0).min(1.0)),
        _ => None,
    }
}

fn precise_time(t: &str) -> Option<f64> {
    let secs = berth_engine::status::parse_rfc3339(t)?;
    let fraction = t
        .split_once('.')
        .map(|(_, rest)| {
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            format!("0.{digits}").parse::<f64>().unwrap_or(0.0)
        })
        .unwrap_or(0.0);
    Some(secs as f64 + fraction)
}

/// The `FROM` images of a Dockerfile (stage names excluded), when it can be read.
fn base_images(dockerfile: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dockerfile) else {
        return Vec::new();
    };
    let mut stages = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            let image = words
                .iter()
                .skip(1)
                .find(|w| !w.starts_with("--"))
                .copied()
                .unwrap_or("");
            if let Some(pos) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
                if let Some(name) = words.get(pos + 1) {
                    stages.push(name.to_string());
                }
            }
            if !image.is_empty()
                && image != "scratch"
                && !image.contains('$')
                && !stages.iter().any(|s| s == image)
                && !out.iter().any(|o| o == image)
            {
                out.push(image.to_owned());
            }
        }
    }
    out
}

/// Free space where Docker keeps images and volumes (a local engine's default folder).
fn disk_check() -> CheckView {
    let root = Path::new("/var/lib/docker");
    let target = if root.exists() { root } else { Path::new("/") };
    match berth_host::free_space(target) {
        Some(free) => {
            let gb = free as f64 / 1e9;
            let status = if free < 500_000_000 {
                CheckStatus::Fail
            } else if free < 2_000_000_000 {
                CheckStatus::Warn
            } else {
                CheckStatus::Ok
            };
            check(
                "disk",
                status,
                "disk space for images and volumes",
                format!("{gb:.1} GB free at {}", target.display()),
            )
        }
        None => check(
            "disk",
            CheckStatus::Skip,
            "disk space for images and volumes",
            "could not be read on this system",
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cut_between_runs_takes_the_late_lines_of_the_last_run_and_none_of_this_one() {
        // Ended at 100, started again at 110: a line stamped 100.4 (read after the end was
        // recorded) is the old run's; one at 109.99 (written before the start was recorded)
        // is this run's.
        let cut = super::log_cut(Some(100.0), Some(110.0), true).expect("a run before");
        assert!((100.4..109.99).contains(&cut), "{cut}");
        // Restarted fast: halfway, so neither side loses its lines.
        let cut = super::log_cut(Some(100.0), Some(100.2), true).expect("a run before");
        assert!((cut - 100.1).abs() < 1e-9, "{cut}");
        // Not running again, or the end recorded after the start: nothing to cut.
        assert_eq!(super::log_cut(Some(100.0), Some(110.0), false), None);
        assert_eq!(super::log_cut(Some(100.3), Some(100.0), true), None);
        assert_eq!(super::log_cut(None, Some(100.0), true), None);
    }

    #[test]
    fn a_start_time_keeps_its_fraction() {
        let t = super::precise_time("2026-12-04T02:10:56.25Z").expect("time");
        let u = super::precise_time("2026-12-04T02:10:56.5Z").expect("time");
        assert!(u - t > 0.2 && u - t < 0.3, "{t} {u}");
    }

    #[test]
    fn base_images_skip_stages_scratch_and_variables() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("Dockerfile");
        std::fs::write(
            &f,
            "FROM --platform=linux/amd64 node:20 AS build\nRUN x\nFROM build AS test\nFROM nginx:alpine\nFROM scratch\nFROM ${BASE}\n",
        )
        .expect("write");
        assert_eq!(super::base_images(&f), vec!["node:20", "nginx:alpine"]);
    }
}
