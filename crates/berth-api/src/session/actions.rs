//! Lifecycle actions: one at a time per stack, cancellable, through the one compose runner with
//! the session's endpoint.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::model::HealthState;
use berth_engine::status::ServiceStatus;
use berth_engine::watch::Connection;
use berth_engine::{ComposeArgs, ComposeCli, OutputLine, RunOptions};
use serde::Serialize;
use tokio::sync::watch;

use super::status::waiting_label;
use super::{OpenStack, Running, StatusView};
use crate::action::compose_args;
use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode, ErrorDetail};
use crate::Action;

/// How long Up waits for health checks unless told otherwise.
pub const DEFAULT_UP_TIMEOUT: Duration = Duration::from_secs(180);
/// The longest a compose child may run: builds and pulls can be slow, but never endless.
const BUILD_TIMEOUT: Duration = Duration::from_secs(45 * 60);
const ACTION_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What an action left behind.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ActionOutcome {
    pub action: Action,
    /// After Up: the status once every service was ready.
    pub status: Option<StatusView>,
}

impl<C: Connector> OpenStack<C> {
    /// Runs one action on this stack. A second action while one runs is refused with a
    /// sentence (never run alongside); [`OpenStack::cancel_action`] or `cancel` stops it, the
    /// compose child and its process group included. `on_line` hears compose's output (secrets
    /// masked) and Berth's own progress lines.
    pub async fn run_action<F, X>(
        &self,
        action: Action,
        services: &[String],
        up_timeout: Duration,
        mut on_line: F,
        cancel: X,
    ) -> Result<ActionOutcome, ApiError>
    where
        F: FnMut(OutputLine),
        X: Future<Output = ()>,
    {
        self.check_services(services)?;
        let plan = compose_args(&action, services)?;
        let claim = self.claim(action)?;
        let mut cancel_rx = claim.cancelled.clone();
        let cancelled = async move {
            let _ = cancel_rx.wait_for(|c| *c).await;
        };
        tokio::pin!(cancel, cancelled);
        let stop = async {
            tokio::select! {
                _ = &mut cancel => {}
                _ = &mut cancelled => {}
            }
        };
        tokio::pin!(stop);
        let result: Result<ActionOutcome, ApiError> = async {
            // Connecting first says "Docker is not running" in seconds, and fixes the endpoint
            // every compose child is then given.
            self.engine().await?;
            if let Action::Up {
                skip_port_check: false,
                ..
            } = action
            {
                self.refuse_port_conflicts(services).await?;
            }
            for args in &plan {
                if let Err(e) = self
                    .compose_args_run(args, action, &mut on_line, &mut stop)
                    .await
                {
                    // A port taken after the check (or with it skipped): compose names only the
                    // address, the check names who holds it.
                    if matches!(e.detail, Some(ErrorDetail::PortInUse { .. })) {
                        self.refuse_port_conflicts(services).await?;
                    }
                    return Err(e);
                }
            }
            let status = match action {
                Action::Up { .. } => {
                    on_line(OutputLine {
                        stderr: false,
                        text: "waiting for health checks".into(),
                    });
                    Some(self.wait_ready(services, up_timeout, &mut stop).await?)
                }
                _ => None,
            };
            Ok(ActionOutcome { action, status })
        }
        .await;
        drop(claim);
        match result {
            Err(e) if matches!(e.detail, Some(ErrorDetail::Unhealthy { .. })) => {
                Err(self.enrich_unhealthy(e).await)
            }
            other => other,
        }
    }

    /// Makes `action` the one running on this stack, or says which one runs already. The claim
    /// ends when it is dropped; `cancelled` turns true when the user cancels.
    pub(crate) fn claim(&self, action: Action) -> Result<Claim<'_>, ApiError> {
        let Ok(guard) = self.action.try_lock() else {
            let running = self
                .running
                .lock()
                .ok()
                .and_then(|r| r.as_ref().map(|r| r.action.title()))
                .unwrap_or("another action");
            let name = self.project_name();
            return Err(ApiError::new(
                ErrorCode::Busy,
                format!(
                    "{running} is still running on {name}; wait for it to finish or cancel it, then try {} again",
                    action.title()
                ),
            )
            .with_detail(ErrorDetail::Busy {
                running: running.to_owned(),
            }));
        };
        let (cancel_tx, cancelled) = watch::channel(false);
        if let Ok(mut r) = self.running.lock() {
            *r = Some(Running {
                action,
                cancel: cancel_tx,
            });
        }
        Ok(Claim {
            _guard: guard,
            running: &self.running,
            cancelled,
        })
    }

    /// Cancels the action running on this stack. Returns whether one was running.
    pub fn cancel_action(&self) -> bool {
        self.running
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.cancel.send(true).is_ok()))
            .unwrap_or(false)
    }

    /// The action running now, if any.
    pub fn running_action(&self) -> Option<Action> {
        self.running
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.action))
    }

    async fn compose_args_run<F, S>(
        &self,
        args: &ComposeArgs,
        action: Action,
        on_line: &mut F,
        stop: &mut S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
        S: Future<Output = ()> + Unpin,
    {
        let timeout = match action {
            Action::Rebuild | Action::Pull | Action::Up { .. } => BUILD_TIMEOUT,
            _ => ACTION_TIMEOUT,
        };
        self.run_compose(args, Some(timeout), on_line, stop).await
    }

    /// Runs one compose command on this stack as written (tests and clean-up use it; user
    /// actions go through [`OpenStack::run_action`]).
    pub async fn compose<F, X>(
        &self,
        words: &[&str],
        mut on_line: F,
        cancel: X,
    ) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
        X: Future<Output = ()>,
    {
        tokio::pin!(cancel);
        self.engine().await?;
        self.run_compose(&ComposeArgs::words(words), None, &mut on_line, &mut cancel)
            .await
    }

    pub(crate) async fn run_compose<F, S>(
        &self,
        args: &ComposeArgs,
        timeout: Option<Duration>,
        on_line: &mut F,
        stop: &mut S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
        S: Future<Output = ()> + Unpin,
    {
        let cli = ComposeCli::detect()?;
        let loaded = self.loaded();
        let secrets = loaded.secrets.clone();
        let options = RunOptions {
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            endpoint: self.endpoint(),
            timeout,
            mask: Some(Arc::new(move |t: &str| secrets.mask(t))),
        };
        cli.run(&loaded.target, args, &options, on_line, stop)
            .await
            .map_err(ApiError::from)
    }

    /// `up -d`, then Berth's own wait (compose v1 has no `--wait`).
    pub async fn up<F>(
        &self,
        services: &[String],
        on_line: F,
        timeout: Duration,
    ) -> Result<StatusView, ApiError>
    where
        F: FnMut(OutputLine),
    {
        let outcome = self
            .run_action(
                Action::Up {
                    remove_orphans: false,
                    skip_port_check: false,
                },
                services,
                timeout,
                on_line,
                std::future::pending(),
            )
            .await?;
        outcome
            .status
            .ok_or_else(|| ApiError::internal("up finished without a status"))
    }

    /// Start, stop, restart, pull or rebuild services (all when empty).
    pub async fn act<F>(
        &self,
        action: Action,
        services: &[String],
        on_line: F,
    ) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
    {
        self.run_action(
            action,
            services,
            DEFAULT_UP_TIMEOUT,
            on_line,
            std::future::pending(),
        )
        .await
        .map(|_| ())
    }

    /// Rebuilds the services' images, then recreates only those services.
    pub async fn rebuild<F>(&self, services: &[String], on_line: F) -> Result<(), ApiError>
    where
        F: FnMut(OutputLine),
    {
        self.act(Action::Rebuild, services, on_line).await
    }

    /// Compose only knows a container id was unhealthy: the status names the service and its
    /// last probe output.
    async fn enrich_unhealthy(&self, e: ApiError) -> ApiError {
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

    /// Waits, on the shared watch, until every selected service with a health check is healthy
    /// and the rest run (or finished with code 0, like a migration job); fails at once when one
    /// turns unhealthy, and names what was still waiting when the time runs out.
    pub(crate) async fn wait_ready<S>(
        &self,
        services: &[String],
        timeout: Duration,
        stop: &mut S,
    ) -> Result<StatusView, ApiError>
    where
        S: Future<Output = ()> + Unpin,
    {
        let selected = |name: &str| services.is_empty() || services.iter().any(|s| s == name);
        let with_health: Vec<String> = self
            .loaded()
            .project
            .services
            .values()
            .filter(|s| s.healthcheck.as_ref().is_some_and(|h| !h.disabled))
            .map(|s| s.name.clone())
            .collect();
        let is_ready = |s: &ServiceStatus| {
            use berth_engine::model::RunState;
            if with_health.contains(&s.name) {
                s.health == Some(HealthState::Healthy)
            } else {
                s.state == RunState::Running
                    || (s.state == RunState::Exited && s.exit_code == Some(0))
            }
        };
        let mut updates = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snap = updates.borrow_and_update().clone();
            if let Connection::Connected(_) = snap.connection {
                let view = self.view_of_snapshot(&snap);
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
                _ = &mut *stop => return Err(ApiError::new(ErrorCode::Cancelled, "cancelled")),
                _ = tokio::time::sleep_until(deadline) => {
                    let snap = updates.borrow().clone();
                    let view = self.view_of_snapshot(&snap);
                    let waiting: Vec<String> = view.services.iter()
                        .filter(|s| s.declared && selected(&s.name))
                        .filter(|s| !is_ready(s))
                        .map(waiting_label)
                        .collect();
                    return Err(ApiError::new(
                        ErrorCode::TimedOut,
                        format!("timed out after {}s waiting for: {}", timeout.as_secs(), waiting.join(", ")),
                    ).with_detail(ErrorDetail::TimedOut { waiting }));
                }
                r = updates.changed() => if r.is_err() {
                    return Err(ApiError::internal("status watch ended"));
                },
            }
        }
    }
}

/// "service X is unhealthy; its last health check said: …"
fn unhealthy_error(what: &str, s: &ServiceStatus, code: ErrorCode) -> ApiError {
    ApiError::new(
        code,
        format!(
            "{what} {} is unhealthy{}",
            s.name,
            s.health_output
                .as_deref()
                .map(|o| format!("; its last health check said: {o}"))
                .unwrap_or_default()
        ),
    )
    .with_detail(ErrorDetail::Unhealthy {
        service: s.name.clone(),
        output: s.health_output.clone(),
    })
}

/// The one action running on a stack, held until dropped.
pub(crate) struct Claim<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    running: &'a std::sync::Mutex<Option<Running>>,
    pub cancelled: watch::Receiver<bool>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut r) = self.running.lock() {
            *r = None;
        }
    }
}
