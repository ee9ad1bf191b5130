//! Checks that warn or refuse: unknown top-level keys, dependencies on services that are missing
//! or disabled by a profile, `depends_on` cycles, and networks or volumes a service uses but the
//! project does not declare.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use super::Loader;
use crate::error::LoadError;
use crate::model::{MountKind, NamedVolume, Network, Service};
use crate::yaml::Node;

impl Loader {
    pub(super) fn check_top_level(&mut self, root: &Node) {
        let Some(map) = root.as_map() else { return };
        for (k, _) in map {
            let key = k.as_scalar().unwrap_or_default();
            match key {
                "version" | "name" | "services" | "networks" | "volumes" | "secrets"
                | "configs" => {}
                "include" => self.warnings.push(format!(
                    "{}: `include` is not supported yet; the included files are not shown",
                    k.pos
                )),
                k2 if k2.starts_with("x-") => {}
                other => self.warnings.push(format!(
                    "{}: unknown top-level key `{other}` ignored",
                    k.pos
                )),
            }
        }
    }

    /// Every `depends_on` must name an active service, or one a profile disables (a warning), or
    /// be `required: false`; and the dependencies must not form a cycle.
    pub(super) fn check_dependencies(
        &mut self,
        services: &IndexMap<String, Service>,
        inactive: &[String],
    ) -> Result<(), LoadError> {
        for (sname, svc) in services {
            for (dep, d) in &svc.depends_on {
                if services.contains_key(dep) {
                    continue;
                }
                if inactive.contains(dep) {
                    self.warnings.push(format!(
                        "{}: service {sname:?} depends on {dep:?}, which no active profile enables; compose will refuse to start it until the profile is enabled",
                        d.pos
                    ));
                } else if d.required {
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

    /// Warns about networks and named volumes services use that are not declared at the top.
    pub(super) fn check_references(
        &mut self,
        services: &IndexMap<String, Service>,
        networks: &IndexMap<String, Network>,
        volumes: &IndexMap<String, NamedVolume>,
    ) {
        for (sname, svc) in services {
            for net in svc.networks.keys() {
                if !networks.contains_key(net) {
                    self.warnings.push(format!(
                        "{}: service {sname:?} uses network {net:?}, which is not declared under top-level `networks`",
                        svc.pos
                    ));
                }
            }
            for m in &svc.volumes {
                if m.kind == MountKind::Volume {
                    let src = m.source.as_deref().unwrap_or_default();
                    if !volumes.contains_key(src) {
                        self.warnings.push(format!(
                            "{}: service {sname:?} mounts volume {src:?}, which is not declared under top-level `volumes`",
                            m.pos
                        ));
                    }
                }
            }
        }
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
