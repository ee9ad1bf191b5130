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
        let engine = self.engine().await.ok();
        let containers = match &engine {
            Some(e) => e.project_containers(None).await.unwrap_or_default(),
            None => Vec::new(),
        };
        // A remote engine (tcp://, ssh://) publishes on its own machine: this host's sockets
        // say nothing about it, so only its containers are compared.
        let local = self
            .endpoint()
            .is_none_or(|e| e.host.starts_with("unix://") || e.host.starts_with("npipe://"));
        let (procfs, remote_probe) = (ProcFs::default(), |_, _, _| Probe::Free);
        // A rootless engine cannot publish low ports; asked (`docker info`) only when the stack
        // wants one, since the answer costs a request.
        let start = berth_host::unprivileged_port_start();
        let unprivileged_start = match &engine {
            Some(e) if local && planned.iter().any(|p| p.host_port < start) => {
                e.rootless().await.unwrap_or(false).then_some(start)
            }
            _ => None,
        };
        let facts = Facts {
            host: if local { &procfs } else { &NoHost },
            containers: &containers,
            probe: if local { &bind_probe } else { &remote_probe },
            unprivileged_start,
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

impl OpenStack<crate::connect::DockerConnector> {
    /// Stops the container of another compose stack that holds `service`'s host port
    /// `host_port`, through that stack's own lifecycle (`compose stop SERVICE` in its folder,
    /// with its files and project name), so it can be started again from there or from Berth.
    /// Only a compose container whose folder is known is stopped; a host process never is.
    pub async fn stop_port_holder<F>(
        &self,
        service: &str,
        host_port: u16,
        on_line: F,
    ) -> Result<String, ApiError>
    where
        F: FnMut(berth_engine::OutputLine),
    {
        use crate::ports::{PortOwner, PortStatus};
        let view = self.check_ports(&[service.to_owned()]).await;
        let held = view
            .ports
            .iter()
            .find(|p| {
                p.service == service && p.host_port == host_port && p.status == PortStatus::Conflict
            })
            .ok_or_else(|| {
                ApiError::invalid_input(format!(
                    "host port {host_port} of {service} is not taken any more: nothing to stop"
                ))
            })?;
        let Some(PortOwner::Container {
            container,
            project: Some(project),
            service: Some(theirs),
            stack_dir: Some(stack_dir),
        }) = &held.owner
        else {
            return Err(ApiError::invalid_input(format!(
                "{}: Berth stops only a container of another compose stack; stop this one yourself",
                held.message
            )));
        };
        if *project == self.project_name() {
            return Err(ApiError::invalid_input(format!(
                "{container} belongs to this stack ({project}); stop it from here instead"
            )));
        }
        // The holder's own files, as compose recorded them when it created the container, so
        // the stop acts on exactly that project.
        let engine = self.engine().await?;
        let files: Vec<std::path::PathBuf> = engine
            .inspect(container)
            .await
            .ok()
            .flatten()
            .and_then(|c| {
                c.labels
                    .get("com.docker.compose.project.config_files")
                    .cloned()
            })
            .map(|list| {
                list.split(',')
                    .map(std::path::PathBuf::from)
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        let req = crate::inspect::StackRequest {
            dir: Some(stack_dir.into()),
            files,
            project_name: Some(project.clone()),
            profiles: Vec::new(),
            env_files: Vec::new(),
        };
        let holder = OpenStack::open(&req, self.env.clone()).map_err(|e| {
            ApiError::new(
                e.code,
                format!(
                    "{project}'s files at {stack_dir} could not be read, so it was not stopped: {}",
                    e.message
                ),
            )
        })?;
        holder
            .act(crate::Action::Stop, std::slice::from_ref(theirs), on_line)
            .await?;
        // `compose stop` does not stop a `compose run` container of that service: the check
        // says whether the port really is free now.
        let after = self.check_ports(&[service.to_owned()]).await;
        if let Some(still) = after.ports.iter().find(|p| {
            p.service == service && p.host_port == host_port && p.status == PortStatus::Conflict
        }) {
            return Err(ApiError::new(
                ErrorCode::PortConflict,
                format!("{theirs} of {project} was stopped, but {}", still.message),
            ));
        }
        Ok(format!(
            "Stopped {theirs} of {project}: host port {host_port} is free for {service}"
        ))
    }
}
