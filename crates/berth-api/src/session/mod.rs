//! An opened stack: the loaded project, one engine connection, one status watch shared by every
//! view of it, one action at a time, and (when asked) a reload whenever its files change.

mod actions;
mod drift;
mod logs;
mod ports;
mod reload;
mod snapshot;
mod stats;
mod status;
mod terminal;
#[cfg(test)]
mod tests;
mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use berth_compose::mask::Secrets;
use berth_compose::Project;
use berth_engine::watch::{watch_project, ProjectWatch, Snapshot};
use berth_engine::{ComposeTarget, Endpoint, EngineError};
use serde::Serialize;
use tokio::sync::watch;

use crate::connect::{Connector, DockerConnector};
use crate::error::{ApiError, ErrorCode};
use crate::inspect::{view_of, InspectView, StackRequest};

pub use actions::{ActionOutcome, DEFAULT_UP_TIMEOUT};
pub use reload::ModelState;
pub use stats::ServiceUsage;
pub use status::{EngineView, StatusView};
pub use terminal::{Terminal, TerminalControl, TerminalInfo, SHELLS};

/// What one load of the compose files gave: the model, the compose target, its secrets.
#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub target: ComposeTarget,
    pub secrets: Secrets,
}

impl Loaded {
    fn load(req: &StackRequest, env: &HashMap<String, String>) -> Result<Self, ApiError> {
        let project = crate::remap::load_with_override(req, env)?;
        let target = ComposeTarget {
            project: project.name.clone(),
            project_dir: project.working_dir.clone(),
            files: project.files.clone(),
            env_files: req.env_files.clone(),
            profiles: req.profiles.clone(),
        };
        let secrets = Secrets::from_project(&project);
        Ok(Loaded {
            project,
            target,
            secrets,
        })
    }
}

/// The action running on a stack, and how to cancel it.
struct Running {
    action: crate::Action,
    cancel: watch::Sender<bool>,
}

/// An opened stack (a session). Cheap to share behind an `Arc`; dropping the last handle ends
/// its watch and its file reloads.
pub struct OpenStack<C: Connector = DockerConnector> {
    request: StackRequest,
    pub(crate) env: HashMap<String, String>,
    loaded: Arc<RwLock<Arc<Loaded>>>,
    connector: Arc<C>,
    watch: Mutex<Option<ProjectWatch>>,
    action: tokio::sync::Mutex<()>,
    running: Mutex<Option<Running>>,
    model: Arc<watch::Sender<ModelState>>,
    reload: Mutex<Option<reload::FileWatch>>,
}

impl OpenStack<DockerConnector> {
    /// Loads the stack (Docker is not needed for that) and prepares its engine connection.
    pub fn open(req: &StackRequest, env: HashMap<String, String>) -> Result<Self, ApiError> {
        let connector = DockerConnector::new(env.clone());
        Self::open_with(req, env, connector)
    }
}

impl OpenStack<DockerConnector> {
    /// A handle on the same stack (same model, same endpoint) with a connection of its own,
    /// for a stream that runs on its own thread and runtime: a pooled connection must not
    /// outlive the runtime that made it, and the session's own must not die with that thread.
    pub fn with_own_connection(&self) -> Self {
        let (model, _) = watch::channel(self.model.borrow().clone());
        OpenStack {
            request: self.request.clone(),
            env: self.env.clone(),
            loaded: self.loaded.clone(),
            connector: Arc::new(DockerConnector::pinned(self.env.clone(), self.endpoint())),
            watch: Mutex::new(None),
            action: tokio::sync::Mutex::new(()),
            running: Mutex::new(None),
            model: Arc::new(model),
            reload: Mutex::new(None),
        }
    }
}

impl<C: Connector> OpenStack<C> {
    pub fn open_with(
        req: &StackRequest,
        env: HashMap<String, String>,
        connector: C,
    ) -> Result<Self, ApiError> {
        let loaded = Loaded::load(req, &env)?;
        let (model, _) = watch::channel(ModelState {
            generation: 1,
            error: None,
        });
        Ok(OpenStack {
            request: req.clone(),
            env,
            loaded: Arc::new(RwLock::new(Arc::new(loaded))),
            connector: Arc::new(connector),
            watch: Mutex::new(None),
            action: tokio::sync::Mutex::new(()),
            running: Mutex::new(None),
            model: Arc::new(model),
            reload: Mutex::new(None),
        })
    }

    /// What the stack was opened with: commands about it are built from this, never from a
    /// folder the caller names again.
    pub fn request(&self) -> &StackRequest {
        &self.request
    }

    /// The last good load of the compose files.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn project_name(&self) -> String {
        self.loaded().project.name.clone()
    }

    /// The stack as the diagram and the panels show it.
    pub fn inspect(&self, show_secrets: bool) -> InspectView {
        view_of(&self.loaded().project, show_secrets)
    }

    /// The inspect documents of a service's containers, as `docker inspect` prints them, with
    /// every secret masked (environment values by name, and secret values wherever they appear)
    /// unless `reveal`.
    pub async fn inspect_service(
        &self,
        service: &str,
        reveal: bool,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        use berth_engine::Engine;
        let services = [service.to_owned()];
        let engine = self.engine().await?;
        let containers = self.selected_containers(&engine, &services).await?;
        let loaded = self.loaded();
        let mut out = Vec::new();
        for c in containers {
            if let Some(mut doc) = engine
                .inspect_raw(&c.id)
                .await
                .map_err(|e| self.broken(e))?
            {
                if !reveal {
                    mask_json(&mut doc, &loaded.secrets);
                }
                out.push(doc);
            }
        }
        Ok(out)
    }

    /// The stack as the window shows it (secrets masked) and the diagram it draws, from the
    /// current model and one graph.
    pub fn views(&self) -> (InspectView, crate::inspect::DiagramView) {
        crate::inspect::views_of(&self.loaded().project)
    }

    /// The stack's architecture as Mermaid or DOT text, from the current model.
    pub fn diagram(&self, format: berth_compose::diagram::DiagramFormat) -> String {
        let loaded = self.loaded();
        let graph = berth_compose::build_graph(&loaded.project);
        berth_compose::diagram::render(&loaded.project, &graph, format)
    }

    /// The endpoint this session is on, once a connection resolved it.
    pub fn endpoint(&self) -> Option<Endpoint> {
        self.connector.endpoint()
    }

    /// The session's engine connection (made once, shared).
    pub async fn engine(&self) -> Result<C::Engine, ApiError> {
        self.connector.connect().await.map_err(ApiError::from)
    }

    /// Forgets a connection that just failed, so the next call reconnects.
    fn broken(&self, e: EngineError) -> ApiError {
        if e.is_connection() {
            self.connector.forget();
        }
        e.into()
    }

    /// The session's status watch, started on first use and shared by every caller.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        let mut slot = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = slot.as_ref() {
            return w.updates.clone();
        }
        let connector = self.connector.clone();
        let first = Arc::new(AtomicBool::new(true));
        let w = watch_project(self.project_name(), move || {
            let (connector, first) = (connector.clone(), first.clone());
            async move {
                // The first attempt shares the session's connection; every later one follows a
                // failure, so it replaces the broken connection for everyone.
                if first.swap(false, Ordering::SeqCst) {
                    connector.connect().await
                } else {
                    connector.reconnect().await
                }
            }
        });
        let rx = w.updates.clone();
        *slot = Some(w);
        rx
    }

    pub(crate) fn check_services(&self, services: &[String]) -> Result<(), ApiError> {
        crate::action::check_names(services)?;
        let loaded = self.loaded();
        let project = &loaded.project;
        for s in services {
            if !project.services.contains_key(s) {
                return Err(ApiError::new(
                    ErrorCode::UnknownService,
                    format!(
                        "no service {s:?} in {}; services: {}",
                        project.name,
                        project
                            .services
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A stack's engine as the UI shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EndpointView {
    pub host: String,
    /// "Docker Engine (unix:///var/run/docker.sock)", "context remote (tcp://…)".
    pub label: String,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            host: e.host.clone(),
            label: e.label(),
        }
    }
}

/// Masks an inspect document in place: `KEY=value` environment entries by the key's name, and
/// every known secret value in any string.
fn mask_json(v: &mut serde_json::Value, secrets: &Secrets) {
    match v {
        serde_json::Value::String(s) => {
            let masked = match s.split_once('=') {
                Some((k, val)) if !k.is_empty() && !k.contains(' ') => {
                    format!("{k}={}", secrets.mask_var(k, val))
                }
                _ => secrets.mask(s),
            };
            *s = masked;
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| mask_json(x, secrets)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| mask_json(x, secrets)),
        _ => {}
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
