//! `extends`: a service takes another service (in the same file or another one) as its base.
//! Files named by `extends.file` are read through the loader's cache, so each is parsed once;
//! chains are followed to the end and cycles are errors.

use std::path::Path;

use super::{root_services_mut, Loader};
use crate::error::LoadError;
use crate::merge::merge_service;
use crate::paths::absolutize;
use crate::yaml::{Node, Value};

impl Loader {
    /// Returns `file_root` with every service's `extends` applied.
    pub(super) fn resolve_extends(
        &mut self,
        file_root: &Node,
        file: &Path,
        chain: &mut Vec<String>,
    ) -> Result<Node, LoadError> {
        let mut root = file_root.clone();
        let names: Vec<String> = root
            .get("services")
            .and_then(Node::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, _)| k.as_scalar().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            let resolved = self.extended_service(file_root, file, &name, chain)?;
            if let Some(Value::Map(services)) = root_services_mut(&mut root) {
                if let Some((_, v)) = services
                    .iter_mut()
                    .find(|(k, _)| k.as_scalar() == Some(name.as_str()))
                {
                    *v = resolved;
                }
            }
        }
        Ok(root)
    }

    fn extended_service(
        &mut self,
        file_root: &Node,
        file: &Path,
        name: &str,
        chain: &mut Vec<String>,
    ) -> Result<Node, LoadError> {
        let Some(service) = file_root.get("services").and_then(|s| s.get(name)) else {
            return Err(LoadError::ExtendsServiceMissing {
                pos: file_root.pos.clone(),
                service: chain.last().cloned().unwrap_or_default(),
                base: name.to_owned(),
                file: self.display_path(file),
            });
        };
        let Some(ext) = service.get("extends") else {
            return Ok(service.clone());
        };
        let key = format!("{}#{name}", file.display());
        if chain.contains(&key) {
            let mut names: Vec<String> = chain
                .iter()
                .map(|k| k.rsplit('#').next().unwrap_or(k).to_owned())
                .collect();
            names.push(name.to_owned());
            return Err(LoadError::ExtendsCycle {
                pos: ext.pos.clone(),
                chain: names,
            });
        }
        let (base_name, base_file) = match &ext.value {
            Value::Scalar { text, .. } => (text.clone(), None),
            Value::Map(_) => {
                let svc = ext
                    .get("service")
                    .and_then(Node::as_scalar)
                    .ok_or_else(|| {
                        LoadError::ty(
                            &ext.pos,
                            &format!("services.{name}.extends"),
                            "needs a `service` name",
                        )
                    })?;
                (
                    svc.to_owned(),
                    ext.get("file").and_then(Node::as_scalar).map(str::to_owned),
                )
            }
            _ => {
                return Err(LoadError::ty(
                    &ext.pos,
                    &format!("services.{name}.extends"),
                    "expected a service name or a mapping",
                ))
            }
        };
        chain.push(key);
        let base = match base_file {
            None => {
                if file_root
                    .get("services")
                    .and_then(|s| s.get(&base_name))
                    .is_none()
                {
                    return Err(LoadError::ExtendsServiceMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        base: base_name,
                        file: self.display_path(file),
                    });
                }
                self.extended_service(file_root, file, &base_name, chain)?
            }
            Some(rel) => {
                let dir = file.parent().unwrap_or(Path::new("."));
                let other = absolutize(dir, &rel, None);
                if !other.is_file() {
                    return Err(LoadError::ExtendsFileMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        file: other,
                    });
                }
                // Paths inside an extended file are relative to that file.
                let other_dir = other.parent().map(Path::to_path_buf).unwrap_or_default();
                let other_root = self.load_file(&other, &other_dir)?;
                if other_root
                    .get("services")
                    .and_then(|s| s.get(&base_name))
                    .is_none()
                {
                    return Err(LoadError::ExtendsServiceMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        base: base_name,
                        file: self.display_path(&other),
                    });
                }
                self.extended_service(&other_root, &other, &base_name, chain)?
            }
        };
        chain.pop();
        let mut local = service.clone();
        if let Value::Map(entries) = &mut local.value {
            entries.retain(|(k, _)| k.as_scalar() != Some("extends"));
        }
        // Compose v2 inherits every key, `depends_on` and `links` included (compose-go
        // `loader/extends.go` removes only `extends` itself).
        Ok(merge_service(&base, &local))
    }
}
