//! Live actions: status, logs and lifecycle of an opened stack, on the real engine.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_compose::mask::Secrets;
use berth_compose::{load, Project};
use berth_engine::logs::{self, LogLine};
use berth_engine::model::{ContainerInfo, HealthState, LogRequest, StatsSample};
use berth_engine::status::{aggregate, DeclaredService, ServiceStatus};
use berth_engine::watch::{watch_project, Connection, Snapshot};
use berth_engine::{ComposeCli, ComposeTarget, DockerEngine, Engine, EngineError, OutputLine};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use crate::inspect::StackRequest;

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = if e.is_connection() {
            ErrorCode::EngineUnavailable
        } else {
            ErrorCode::EngineFailed
        };
        ApiError {
            code,
            message: e.to_string(),
        }
    }
}

/// The lifecycle verbs that map one to one onto compose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Pull,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Pull => "pull",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EngineView {
    pub connected: bool,
    pub host: Option<String>,
    pub version: Option<String>,
    /// When not connected: what was tried and what to do.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub project: String,
    pub engine: EngineView,
    pub services: Vec<ServiceStatus>,
}

/// An opened stack: its model plus what the compose CLI needs to act on it.
pub struct OpenStack {
    pub project: Project,
    pub target: ComposeTarget,
    pub secrets: Secrets,
    env: HashMap<String, String>,
}

impl OpenStack {
    pub fn open(req: &StackRequest, env: HashMap<String, String>) -> Result<Self, ApiError> {
        let project = load(&req.load_options(env.clone()))?;
        let target = ComposeTarget {
            project: project.name.clone(),
            project_dir: project.working_dir.clone(),
            files: project.files.clone(),
            env_files: req.env_files.clone(),
            profiles: req.profiles.clone(),
        };
        let secrets = Secrets::from_project(&project);
        Ok(OpenStack {
            project,
            target,
            secrets,
            env,
        })
    }

    fn declared(&self) -> Vec<DeclaredService> {
        self.project
            .services
            .values()
            .map(|s| DeclaredService {
                name: s.name.clone(),
                replicas: s.replicas,
            })
            .collect()
    }

    pub async fn engine(&self) -> Result<DockerEngine, ApiError> {
        Ok(DockerEngine::connect(&self.env).await?)
    }

    fn view(&self, connection: &Connection, containers: &[ContainerInfo]) -> StatusView {
        let engine = match connection {
            Connection::Connected(i) => EngineView {
                connected: true,
                host: Some(i.host.clone()),
                version: Some(i.version.clone()),
                message: None,
            },
            Connection::Connecting => EngineView {
                connected: false,
                host: None,
                version: None,
                message: Some("connecting to the Docker engine".into()),
            },
            Connection::Disconnected(m) => EngineView {
                connected: false,
                host: None,
                version: None,
                message: Some(m.clone()),
            },
        };
        let mut services = aggregate(&self.declared(), containers, now_unix());
        for s in &mut services {
            if let Some(o) = &s.health_output {
                s.health_output = Some(self.secrets.mask(o));
            }
        }
        StatusView {
            project: self.project.name.clone(),
            engine,
            services,
        }
    }

    /// Status now, from one list of the project's containers.
    pub async fn status(&self) -> Result<StatusView, ApiError> {
        let engine = self.engine().await?;
        let (info, containers) = tokio::join!(
            engine.info(),
            engine.project_containers(Some(&self.project.name))
        );
        Ok(self.view(&Connection::Connected(info?), &containers?))
    }

    /// Calls `on_update` with a fresh status on every change the engine reports, and with a
    /// disconnected status while the engine is away, until `stop` resolves.
    pub async fn watch_status<F, S>(&self, mut on_update: F, stop: S)
    where
        F: FnMut(StatusView),
        S: Future<Output = ()>,
    {
        let mut w = self.start_watch();
        tokio::pin!(stop);
        loop {
            let snap: Snapshot = w.updates.borrow_and_update().clone();
            if snap.generation > 0 {
                on_update(self.view(&snap.connection, &snap.containers));
            }
            tokio::select! {
                _ = &mut stop => return,
                r = w.updates.changed() => if r.is_err() { return },
            }
        }
    }

    pub fn start_watch(&self) -> berth_engine::watch::ProjectWatch {
        let env = self.env.clone();
        watch_project(self.project.name.clone(), move || {
            let env = env.clone();
            async move { DockerEngine::connect(&env).await }
        })
    }

    /// Runs one compose command on this stack, streaming its output lines.
    pub async fn compose<F, C>(&self, args: &[&str], on_line: F, cancel: C) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
        C: Future<Output = ()>,
    {
        let cli = ComposeCli::detect()?;
        let envs: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        cli.run(&self.target, args, &envs, on_line, cancel).await?;
        Ok(())
    }

    /// `up -d`, then Berth's own wait (compose v1 has no `--wait`): every selected service with a
    /// health check healthy and the rest running, or an error that names the service and its
    /// last probe output.
    pub async fn up<F>(
        &self,
        services: &[String],
        mut on_line: F,
        timeout: Duration,
    ) -> Result<StatusView, ApiError>
    where
        F: FnMut(OutputLine),
    {
        let mut args = vec!["up", "-d", "--remove-orphans"];
        args.extend(services.iter().map(String::as_str));
        let result = self
            .compose(&args, &mut on_line, std::future::pending())
            .await;
        if let Err(e) = result {
            return Err(self.enrich_failure(e).await);
        }
        self.wait_ready(services, timeout).await
    }

    /// Start, stop or restart services (all when empty), through compose.
    pub async fn act<F>(
        &self,
        action: Action,
        services: &[String],
        on_line: F,
    ) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
    {
        self.check_services(services)?;
        let mut args = vec![action.verb()];
        args.extend(services.iter().map(String::as_str));
        self.compose(&args, on_line, std::future::pending()).await
    }

    /// Rebuilds the services' images, then recreates only those services (`--no-deps`), leaving
    /// every other container untouched.
    pub async fn rebuild<F>(&self, services: &[String], mut on_line: F) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
    {
        self.check_services(services)?;
        let names: Vec<&str> = services.iter().map(String::as_str).collect();
        let mut build = vec!["build"];
        build.extend(&names);
        self.compose(&build, &mut on_line, std::future::pending())
            .await?;
        let mut up = vec!["up", "-d", "--no-deps", "--force-recreate"];
        up.extend(&names);
        self.compose(&up, &mut on_line, std::future::pending())
            .await
    }

    fn check_services(&self, services: &[String]) -> Result<(), ApiError> {
        for s in services {
            if !self.project.services.contains_key(s) {
                return Err(ApiError {
                    code: ErrorCode::UnknownService,
                    message: format!(
                        "no service {s:?} in {}; services: {}",
                        self.project.name,
                        self.project
                            .services
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Adds what the engine knows to a compose failure: the unhealthy service and its probe.
    async fn enrich_failure(&self, e: ApiError) -> ApiError {
        if !e.message.contains("unhealthy") {
            return e;
        }
        let Ok(status) = self.status().await else {
            return e;
        };
        match status
            .services
            .iter()
            .find(|s| s.health == Some(HealthState::Unhealthy))
        {
            Some(s) => unhealthy_error("dependency", s, e.code),
            None => e,
        }
    }

    async fn wait_ready(
        &self,
        services: &[String],
        timeout: Duration,
    ) -> Result<StatusView, ApiError> {
        let selected = |name: &str| services.is_empty() || services.iter().any(|s| s == name);
        let with_health: Vec<String> = self
            .project
            .services
            .values()
            .filter(|s| s.healthcheck.as_ref().is_some_and(|h| !h.disabled))
            .map(|s| s.name.clone())
            .collect();
        // A service with a health check is ready when healthy; one without, when running (or
        // finished with code 0, like a migration job).
        let is_ready = |s: &ServiceStatus| {
            if with_health.contains(&s.name) {
                s.health == Some(HealthState::Healthy)
            } else {
                s.state == "running" || (s.state == "exited" && s.exit_code == Some(0))
            }
        };
        let mut w = self.start_watch();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snap = w.updates.borrow_and_update().clone();
            if let Connection::Connected(_) = snap.connection {
                let view = self.view(&snap.connection, &snap.containers);
                let relevant: Vec<&ServiceStatus> = view
                    .services
                    .iter()
                    .filter(|s| s.declared && selected(&s.name))
                    .collect();
                if let Some(bad) = relevant
                    .iter()
                    .find(|s| s.health == Some(HealthState::Unhealthy))
                {
                    return Err(unhealthy_error("service", bad, ErrorCode::EngineFailed));
                }
                if relevant.iter().all(|s| is_ready(s)) {
                    return Ok(view);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    let snap = w.updates.borrow().clone();
                    let view = self.view(&snap.connection, &snap.containers);
                    let waiting: Vec<String> = view.services.iter()
                        .filter(|s| s.declared && selected(&s.name))
                        .filter(|s| !is_ready(s))
                        .map(|s| format!("{} ({}{})", s.name, s.state, s.health.map(|h| format!(", {h:?}").to_lowercase()).unwrap_or_default()))
                        .collect();
                    return Err(ApiError {
                        code: ErrorCode::EngineFailed,
                        message: format!("timed out after {}s waiting for: {}", timeout.as_secs(), waiting.join(", ")),
                    });
                }
                r = w.updates.changed() => if r.is_err() {
                    return Err(ApiError { code: ErrorCode::Internal, message: "status watch ended".into() });
                },
            }
        }
    }

    /// Logs of the selected services (all when empty), merged by time, secrets masked.
    pub async fn logs(
        &self,
        services: &[String],
        request: &LogRequest,
    ) -> Result<Vec<LogLine>, ApiError> {
        let engine = self.engine().await?;
        let containers = self.selected_containers(&engine, services).await?;
        let mut lines = logs::read_merged(&engine, &containers, request).await?;
        for l in &mut lines {
            l.text = self.secrets.mask(&l.text);
        }
        Ok(lines)
    }

    async fn selected_containers(
        &self,
        engine: &DockerEngine,
        services: &[String],
    ) -> Result<Vec<ContainerInfo>, ApiError> {
        self.check_services(services)?;
        Ok(engine
            .project_containers(Some(&self.project.name))
            .await?
            .into_iter()
            .filter(|c| {
                !c.oneoff
                    && (services.is_empty()
                        || c.service.as_ref().is_some_and(|s| services.contains(s)))
            })
            .collect())
    }

    /// Follows logs: `on_line` gets each masked line as it is written, including from containers
    /// that start later, until `stop` resolves.
    pub async fn follow_logs<F, S>(
        &self,
        services: &[String],
        request: &LogRequest,
        mut on_line: F,
        stop: S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(LogLine),
        S: Future<Output = ()>,
    {
        let engine = Arc::new(self.engine().await?);
        let containers = self.selected_containers(&engine, services).await?;
        let mut follow_request = request.clone();
        // Several containers' history is read first and merged by time; following then starts
        // from the oldest last-line second, and lines a container already showed are skipped.
        let mut shown: HashMap<String, i128> = HashMap::new();
        if containers.len() > 1 && request.tail != Some(0) {
            let history = logs::read_merged(&*engine, &containers, request).await?;
            for mut l in history {
                shown.insert(l.container.clone(), l.ts_nano);
                l.text = self.secrets.mask(&l.text);
                on_line(l);
            }
            follow_request.timestamps = true;
            follow_request.tail = None;
            follow_request.since = shown
                .values()
                .min()
                .map(|t| (t / 1_000_000_000) as i64)
                .or(Some(now_unix()));
        }
        let mut rx = logs::follow(
            engine,
            self.project.name.clone(),
            services.to_vec(),
            containers,
            follow_request,
        );
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(()),
                batch = rx.recv() => match batch {
                    Some(Ok(lines)) => {
                        for mut l in lines {
                            if shown.get(&l.container).is_some_and(|t| l.ts_nano <= *t) {
                                continue;
                            }
                            l.text = self.secrets.mask(&l.text);
                            on_line(l)
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                },
            }
        }
    }
}

impl OpenStack {
    /// Streams resource samples of the selected services' running containers (all when empty)
    /// until `stop` resolves; then every stream is closed. Nothing is sampled for services nobody
    /// asked about.
    pub async fn watch_stats<F, S>(
        &self,
        services: &[String],
        mut on_sample: F,
        stop: S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(StatsSample),
        S: Future<Output = ()>,
    {
        let engine = Arc::new(self.engine().await?);
        let containers: Vec<ContainerInfo> = self
            .selected_containers(&engine, services)
            .await?
            .into_iter()
            .filter(|c| c.state == berth_engine::model::RunState::Running)
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let tasks = StreamTasks(
            containers
                .into_iter()
                .map(|c| {
                    let (engine, tx) = (engine.clone(), tx.clone());
                    tokio::spawn(async move {
                        use futures_util::StreamExt;
                        let mut s = engine.stats(&c);
                        while let Some(sample) = s.next().await {
                            if tx.send(sample).await.is_err() {
                                return;
                            }
                        }
                    })
                })
                .collect(),
        );
        drop(tx);
        tokio::pin!(stop);
        let result = loop {
            tokio::select! {
                _ = &mut stop => break Ok(()),
                s = rx.recv() => match s {
                    Some(Ok(sample)) => on_sample(sample),
                    Some(Err(e)) => break Err(e.into()),
                    None => break Ok(()),
                },
            }
        };
        drop(tasks);
        result
    }
}

/// A compose project found running (or stopped) on the engine, from container labels alone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiscoveredProject {
    pub name: String,
    /// The folder compose ran from, when its label says so: opening it opens the stack.
    pub working_dir: Option<String>,
    pub running: usize,
    pub containers: usize,
}

/// Every compose project that has containers on the engine, grouped by the
/// `com.docker.compose.project` label (never by container names).
pub async fn discover_projects(
    env: &HashMap<String, String>,
) -> Result<Vec<DiscoveredProject>, ApiError> {
    let engine = DockerEngine::connect(env).await?;
    let containers = engine.project_containers(None).await?;
    let mut out: Vec<DiscoveredProject> = Vec::new();
    for c in containers.iter().filter(|c| !c.oneoff) {
        let Some(name) = &c.project else { continue };
        let i = match out.iter().position(|p| &p.name == name) {
            Some(i) => i,
            None => {
                out.push(DiscoveredProject {
                    name: name.clone(),
                    working_dir: c
                        .labels
                        .get("com.docker.compose.project.working_dir")
                        .cloned(),
                    running: 0,
                    containers: 0,
                });
                out.len() - 1
            }
        };
        out[i].containers += 1;
        if c.state == berth_engine::model::RunState::Running {
            out[i].running += 1;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Aborts its tasks when dropped, so a stream stops the moment nobody watches it.
struct StreamTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for StreamTasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// "service X is unhealthy; its last health check said: …"
fn unhealthy_error(what: &str, s: &ServiceStatus, code: ErrorCode) -> ApiError {
    ApiError {
        code,
        message: format!(
            "{what} {} is unhealthy{}",
            s.name,
            s.health_output
                .as_deref()
                .map(|o| format!("; its last health check said: {o}"))
                .unwrap_or_default()
        ),
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `--since`: Unix seconds, an RFC 3339 time, or a duration back from now (`30s`, `10m`, `2h`).
pub fn parse_since(s: &str, now: i64) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Some(t) = berth_engine::status::parse_rfc3339(s) {
        return Some(t);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(now - secs)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("1700000000", 0), Some(1_700_000_000));
        assert_eq!(parse_since("10m", 1000), Some(400));
        assert_eq!(parse_since("2h", 10_000), Some(2800));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Some(60));
        assert_eq!(parse_since("soon", 0), None);
    }
}
