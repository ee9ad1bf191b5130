//! The port check of an opened stack, on this host and the session's engine.

use berth_compose::port_plan::planned_ports;
use berth_engine::Engine;
use berth_host::{bind_probe, HostFacts, Listener, Owner, Probe, ProcFs};

use super::OpenStack;
use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode, ErrorDetail};
use crate::ports::{check, Facts, PortsView};

/// No host facts: for an engine on another machine.
struct NoHost;

impl HostFacts for NoHost {
    fn listeners(&self) -> std::io::Result<Vec<Listener>> {
        Ok(Vec::new())
    }
    fn owners(&self, _: &[Listener]) -> std::collections::HashMap<u64, Owner> {
        Default::default()
    }
}

impl<C: Connector> OpenStack<C> {
    /// Every host port the stack publishes (those of `services` when some are named), checked
    /// against the host's listeners, every container on the engine and the stack itself.
    /// Works with Docker stopped: then only the host is asked.
    pub async fn check_ports(&self, services: &[String]) -> PortsView {
        let loaded = self.loaded();
        let mut planned = planned_ports(&loaded.project);
        if !services.is_empty() {
            planned.retain(|p| services.contains(&p.service));
        }
        let containers = match self.engine().await {
            Ok(e) => e.project_containers(None).await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        // A remote engine (tcp://, ssh://) publishes on its own machine: this host's sockets
        // say nothing about it, so only its containers are compared.
        let local = self
            .endpoint()
            .is_none_or(|e| e.host.starts_with("unix://") || e.host.starts_with("npipe://"));
        let (procfs, remote_probe) = (ProcFs::default(), |_, _, _| Probe::Free);
        let facts = Facts {
            host: if local { &procfs } else { &NoHost },
            containers: &containers,
            probe: if local { &bind_probe } else { &remote_probe },
        };
        check(&loaded.project.name, &planned, &facts)
    }

    /// The check Up runs first: a refusal naming each owner and the fixes.
    pub(crate) async fn refuse_port_conflicts(&self, services: &[String]) -> Result<(), ApiError> {
        let view = self.check_ports(services).await;
        match view.refusal() {
            None => Ok(()),
            Some(sentence) => Err(ApiError::new(ErrorCode::PortConflict, sentence)
                .with_detail(ErrorDetail::PortConflicts { check: view })),
        }
    }
}
