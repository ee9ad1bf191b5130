//! Trusted HTTPS for an opened stack: its certificates' state, and "make HTTPS trusted".

use std::time::SystemTime;

use berth_engine::model::RunState;
use berth_engine::Engine;

use super::OpenStack;
use crate::connect::Connector;
use crate::error::ApiError;
use crate::tls::{self, StepStatus, TlsIssueView, TlsStep, TlsView};

impl<C: Connector> OpenStack<C> {
    /// Each TLS endpoint's state, proven by a handshake where it is published on loopback.
    pub async fn tls_status(&self) -> Result<TlsView, ApiError> {
        let project = self.loaded().project.clone();
        let env = self.env.clone();
        tokio::task::spawn_blocking(move || tls::status(&project, &env, SystemTime::now()))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
    }

    /// Every step of trusted HTTPS but the trust stores (which need consent, and root for the
    /// system one): the CA, a certificate per terminator written where it reads it, a restart
    /// of only the terminators whose files changed (through the stack's own lifecycle), and the
    /// proof by handshake. Each step is reported as it ends; a failed one ends the run, and the
    /// view names it.
    pub async fn tls_issue<F>(&self, mut on_step: F) -> Result<TlsIssueView, ApiError>
    where
        F: FnMut(&TlsStep),
    {
        let mut project = self.loaded().project.clone();
        let env = self.env.clone();
        // A certificate folder no mount holds gets one through Berth's override first; the
        // session reloads with it, so the certificate is then written into that folder.
        let mut steps = Vec::new();
        let mounted = match tls::mount_missing(&project, &env, &mut steps) {
            Ok(m) => m,
            Err(e) => {
                // A refusal has its `place` step already; an I/O failure gets one here.
                if !steps.iter().any(|s| s.status == StepStatus::Fail) {
                    steps.push(TlsStep::new("place", StepStatus::Fail, e.message));
                }
                Vec::new()
            }
        };
        let placing_failed = steps.iter().any(|s| s.status == StepStatus::Fail);
        if !mounted.is_empty() {
            self.reload_now()?;
            project = self.loaded().project.clone();
        }
        let written = if placing_failed {
            None
        } else {
            let (p, e) = (project.clone(), env.clone());
            let (written, more) = tokio::task::spawn_blocking(move || {
                let mut steps = Vec::new();
                let r = tls::write_certificates(&p, &e, SystemTime::now(), &mut steps);
                (r.ok(), steps)
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
            steps.extend(more);
            written
        };
        steps.iter().for_each(&mut on_step);
        if let Some((ca, restart)) = written {
            // A terminator with a container is restarted even when it exited (nginx stops at
            // once without its certificate): `compose restart` starts it again. One given a new
            // mount needs a new container instead.
            let containers = match self.engine().await {
                Ok(engine) => engine
                    .project_containers(Some(&project.name))
                    .await
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            let created: Vec<String> = containers
                .iter()
                .filter(|c| !c.oneoff)
                .filter_map(|c| c.service.clone())
                .collect();
            let mut running: Vec<String> = containers
                .iter()
                .filter(|c| !c.oneoff && c.state == RunState::Running)
                .filter_map(|c| c.service.clone())
                .collect();
            let mut restarted_all = true;
            for service in &restart {
                let (action, did) = if mounted.contains(service) {
                    (
                        crate::Action::Recreate,
                        "recreated with its certificate folder",
                    )
                } else {
                    (
                        crate::Action::Restart,
                        "restarted to load its new certificate",
                    )
                };
                let step = if created.contains(service) {
                    match self
                        .act(action, std::slice::from_ref(service), |_| {})
                        .await
                    {
                        Ok(()) => {
                            running.push(service.clone());
                            TlsStep::new("restart", StepStatus::Ok, format!("{service} {did}"))
                        }
                        Err(e) => {
                            restarted_all = false;
                            TlsStep::new(
                                "restart",
                                StepStatus::Fail,
                                format!("{service} did not restart: {}", e.message),
                            )
                        }
                    }
                } else {
                    TlsStep::new("restart", StepStatus::Skip, format!(
                            "{service} has no container yet: it reads the certificate when it starts"
                        ))
                };
                on_step(&step);
                steps.push(step);
            }
            if restarted_all {
                let before = steps.len();
                let p = project.clone();
                let verified = tokio::task::spawn_blocking(move || {
                    let mut v = Vec::new();
                    tls::verify_all(&p, &ca, &running, &mut v);
                    v
                })
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
                steps.extend(verified);
                steps[before..].iter().for_each(&mut on_step);
            }
        }
        let view = self.tls_status().await?;
        Ok(TlsIssueView { view, steps })
    }
}
