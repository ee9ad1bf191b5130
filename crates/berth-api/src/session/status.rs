//! Status of an opened stack: now, and live from the shared watch.

use std::future::Future;

use berth_engine::model::ContainerInfo;
use berth_engine::status::{aggregate, DeclaredService, ServiceStatus, Summary};
use berth_engine::watch::{Connection, Snapshot};
use berth_engine::Engine;
use serde::Serialize;

use super::{now_unix, EndpointView, OpenStack};
use crate::connect::Connector;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EngineView {
    pub connected: bool,
    pub host: Option<String>,
    pub version: Option<String>,
    /// When not connected: what was tried and what to do.
    pub message: Option<String>,
    /// The engine the stack is on (known after the first connection).
    pub endpoint: Option<EndpointView>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StatusView {
    pub project: String,
    pub engine: EngineView,
    pub services: Vec<ServiceStatus>,
    /// Counts and their sentence, computed here so the window and the CLI agree.
    pub summary: Summary,
}

impl<C: Connector> OpenStack<C> {
    fn declared(&self) -> Vec<DeclaredService> {
        self.loaded()
            .project
            .services
            .values()
            .map(|s| DeclaredService {
                name: s.name.clone(),
                replicas: s.replicas,
            })
            .collect()
    }

    pub(crate) fn view(&self, connection: &Connection, containers: &[ContainerInfo]) -> StatusView {
        let endpoint = self.endpoint().as_ref().map(EndpointView::from);
        let engine = match connection {
            Connection::Connected(i) => EngineView {
                connected: true,
                host: Some(i.host.clone()),
                version: Some(i.version.clone()),
                message: None,
                endpoint,
            },
            Connection::Connecting => EngineView {
                connected: false,
                host: None,
                version: None,
                message: Some("connecting to the Docker engine".into()),
                endpoint,
            },
            Connection::Disconnected(m) => EngineView {
                connected: false,
                host: None,
                version: None,
                message: Some(m.clone()),
                endpoint,
            },
        };
        let loaded = self.loaded();
        let mut services = aggregate(&self.declared(), containers, now_unix());
        for s in &mut services {
            if let Some(o) = &s.health_output {
                s.health_output = Some(loaded.secrets.mask(o));
            }
        }
        StatusView {
            project: loaded.project.name.clone(),
            engine,
            summary: Summary::of(&services),
            services,
        }
    }

    pub(crate) fn view_of_snapshot(&self, snap: &Snapshot) -> StatusView {
        self.view(&snap.connection, &snap.containers)
    }

    /// Status now. While the session's watch runs, its snapshot is the answer (no request at
    /// all); otherwise one list of the project's containers.
    pub async fn status(&self) -> Result<StatusView, ApiError> {
        let live = self
            .watch
            .lock()
            .ok()
            .and_then(|w| w.as_ref().map(|w| w.updates.borrow().clone()));
        if let Some(snap) = live.filter(|s| matches!(s.connection, Connection::Connected(_))) {
            return Ok(self.view_of_snapshot(&snap));
        }
        let engine = self.engine().await?;
        let name = self.project_name();
        let (info, containers) =
            tokio::join!(engine.info(), engine.project_containers(Some(&name)));
        let info = info.map_err(|e| self.broken(e))?;
        let containers = containers.map_err(|e| self.broken(e))?;
        Ok(self.view(&Connection::Connected(info), &containers))
    }

    /// Calls `on_update` with a fresh status on every change the engine reports, and with a
    /// disconnected status while the engine is away, until `stop` resolves.
    pub async fn watch_status<F, S>(&self, mut on_update: F, stop: S)
    where
        F: FnMut(StatusView),
        S: Future<Output = ()>,
    {
        let mut updates = self.subscribe();
        tokio::pin!(stop);
        loop {
            let snap: Snapshot = updates.borrow_and_update().clone();
            if snap.generation > 0 {
                on_update(self.view_of_snapshot(&snap));
            }
            tokio::select! {
                _ = &mut stop => return,
                r = updates.changed() => if r.is_err() { return },
            }
        }
    }
}

/// The compact sentence of a service's state for a timeout message: "db (running, starting)".
pub(crate) fn waiting_label(s: &ServiceStatus) -> String {
    match s.health {
        Some(h) => format!("{} ({}, {})", s.name, s.state.as_str(), h.as_str()),
        None => format!("{} ({})", s.name, s.state.as_str()),
    }
}
