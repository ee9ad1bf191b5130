//! Checks that warn or refuse (the schema has already refused unknown keys): dependencies on services that are missing
//! or disabled by a profile, `depends_on` cycles, and networks or volumes a service uses but the
//! project does not declare.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use super::Loader;
use crate::error::LoadError;
use crate::model::{MountKind, NamedVolume, Network, Service};

impl Loader {
    /// Every `depends_on` must name an active service, or one a profile disables with
    /// `required: false`; and the dependencies must not form a cycle. Compose v2 refuses the
    /// project otherwise, whatever the command.
    pub(super) fn check_dependencies(
        &mut self,
        services: &IndexMap<String, Service>,
        inactive: &IndexMap<String, Vec<String>>,
    ) -> Result<(), LoadError> {
        for (sname, svc) in services {
            for (dep, d) in &svc.depends_on {
                if services.contains_key(dep) {
                    continue;
                }
                if let Some(profiles) = inactive.get(dep) {
                    if d.required {
                        return Err(LoadError::InactiveDependency {
                            pos: d.pos.clone(),
                            service: sname.clone(),
                            dependency: dep.clone(),
                            profiles: profiles.clone(),
                        });
                    }
                } else {
                    return Err(LoadError::UndefinedDependency {
                        pos: d.pos.clone(),
                        service: sname.clone(),
                        dependency: dep.clone(),
                    });
                }
            }
        }
        if let Some(cycle) = find_cycle(services) {
            return Err(LoadError::DependencyCycle { services: cycle });
        }
        Ok(())
    }

    /// Refuses networks and named volumes services use that are not declared at the top, as
    /// Compose v2 does.
    pub(super) fn check_references(
        &self,
        services: &IndexMap<String, Service>,
        networks: &IndexMap<String, Network>,
        volumes: &IndexMap<String, NamedVolume>,
    ) -> Result<(), LoadError> {
        for (sname, svc) in services {
            for net in svc.networks.keys() {
                if !networks.contains_key(net) {
                    return Err(LoadError::Undeclared {
                        pos: svc.pos.clone(),
                        service: sname.clone(),
                        kind: "network",
                        name: net.clone(),
                    });
                }
            }
            for m in &svc.volumes {
                if m.kind == MountKind::Volume {
                    let src = m.source.as_deref().unwrap_or_default();
                    if !volumes.contains_key(src) {
                        return Err(LoadError::Undeclared {
                            pos: m.pos.clone(),
                            service: sname.clone(),
                            kind: "volume",
                            name: src.to_owned(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Finds one `depends_on` cycle, listed as the services along it with the first repeated last.
fn find_cycle(services: &IndexMap<String, Service>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        name: &str,
        services: &IndexMap<String, Service>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(name.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name.to_owned(), Mark::Visiting);
        stack.push(name.to_owned());
        if let Some(s) = services.get(name) {
            for dep in s.depends_on.keys() {
                if services.contains_key(dep) {
                    if let Some(c) = visit(dep, services, marks, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(name.to_owned(), Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    let mut seen = HashSet::new();
    for name in services.keys() {
        if seen.insert(name.clone()) {
            if let Some(c) = visit(name, services, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}
