//! `include:`: other compose projects pulled into this one, as Compose v2 does it
//! (compose-go `loader/include.go`).
//!
//! Each entry is a path (or a list: a main file and its overrides), with an optional
//! `project_directory` (default: the main file's folder; relative ones resolve against the
//! including file's folder) and `env_file`s (default: `.env` in that project directory). The
//! included files are interpolated with the including project's variables first, then their own
//! env files' for what is still unset; their relative paths resolve against their project
//! directory. Their services, networks, volumes, secrets and configs join the including file; a
//! name defined on both sides differently is an error, and so is a file including itself.

use std::path::{Path, PathBuf};

use super::Loader;
use crate::error::LoadError;
use crate::paths::absolutize;
use crate::schema::same_value;
use crate::yaml::{Node, Pos, Value};

/// The top-level sections an included project contributes.
const IMPORTED: [&str; 6] = [
    "services", "volumes", "networks", "secrets", "configs", "models",
];

struct Entry {
    pos: Pos,
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Vec<String>,
}

impl Loader {
    /// Removes `include` from `root` and merges what it names into `root`. `file` is the
    /// including file, `base_dir` the folder its relative paths resolve against.
    pub(super) fn apply_include(
        &mut self,
        root: &mut Node,
        file: &Path,
        base_dir: &Path,
    ) -> Result<(), LoadError> {
        let Value::Map(entries) = &mut root.value else {
            return Ok(());
        };
        let Some(i) = entries
            .iter()
            .position(|(k, _)| k.as_scalar() == Some("include"))
        else {
            return Ok(());
        };
        let (_, list) = entries.remove(i);
        let includes = parse_entries(&list)?;

        for inc in includes {
            let Some(first) = inc.paths.first() else {
                continue;
            };
            let main = absolutize(base_dir, first, None);
            let project_dir = match &inc.project_directory {
                Some(d) => absolutize(base_dir, d, None),
                None => main.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            if self.including.contains(&main) || main == file {
                let mut chain: Vec<String> = self
                    .including
                    .iter()
                    .map(|p| self.display_path(p))
                    .collect();
                chain.push(self.display_path(file));
                chain.push(self.display_path(&main));
                return Err(LoadError::IncludeCycle {
                    pos: inc.pos,
                    chain,
                });
            }
            let env_files: Vec<PathBuf> = if inc.env_files.is_empty() {
                let default = project_dir.join(".env");
                if default.is_file() {
                    vec![default]
                } else {
                    Vec::new()
                }
            } else {
                inc.env_files
                    .iter()
                    .map(|f| absolutize(base_dir, f, None))
                    .collect()
            };
            for f in &env_files {
                self.read.push(f.clone());
            }
            let env = self.env.with_files(&env_files)?;
            let parent_env = std::mem::replace(&mut self.env, env);
            self.including.push(file.to_path_buf());
            let loaded = self.load_included(&inc, base_dir, &project_dir);
            self.including.pop();
            self.env = parent_env;
            let imported = loaded?;
            import_resources(root, &imported, &inc.pos)?;
        }
        Ok(())
    }

    /// Loads an include entry's files as a `-f` list is loaded.
    fn load_included(
        &mut self,
        inc: &Entry,
        base_dir: &Path,
        project_dir: &Path,
    ) -> Result<Node, LoadError> {
        let paths: Vec<PathBuf> = inc
            .paths
            .iter()
            .map(|p| absolutize(base_dir, p, None))
            .collect();
        if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
            return Err(LoadError::IncludeMissing {
                pos: inc.pos.clone(),
                file: missing.clone(),
            });
        }
        let merged = self.merge_files(&paths, project_dir)?;
        Ok(merged.unwrap_or_else(|| Node::new(Value::Null, inc.pos.clone())))
    }
}

fn strings(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Scalar { text, .. } => vec![text.clone()],
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| i.as_scalar().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The schema has already checked the shapes: a list of strings or of `{path, env_file,
/// project_directory}` mappings.
fn parse_entries(list: &Node) -> Result<Vec<Entry>, LoadError> {
    let Some(items) = list.as_seq() else {
        if list.is_null() {
            return Ok(Vec::new());
        }
        return Err(LoadError::ty(&list.pos, "include", "expected a list"));
    };
    Ok(items
        .iter()
        .map(|item| match &item.value {
            Value::Map(_) => Entry {
                pos: item.pos.clone(),
                paths: item.get("path").map(strings).unwrap_or_default(),
                project_directory: item
                    .get("project_directory")
                    .and_then(Node::as_scalar)
                    .map(str::to_owned),
                env_files: item.get("env_file").map(strings).unwrap_or_default(),
            },
            _ => Entry {
                pos: item.pos.clone(),
                paths: strings(item),
                project_directory: None,
                env_files: Vec::new(),
            },
        })
        .collect())
}

/// Adds `imported`'s resources to `root`. The same name on both sides is allowed only when the
/// two definitions are equal.
fn import_resources(root: &mut Node, imported: &Node, pos: &Pos) -> Result<(), LoadError> {
    let Value::Map(entries) = &mut root.value else {
        return Ok(());
    };
    for section in IMPORTED {
        let Some(from) = imported.get(section).and_then(Node::as_map) else {
            continue;
        };
        let idx = match entries
            .iter()
            .position(|(k, _)| k.as_scalar() == Some(section))
        {
            Some(i) => i,
            None => {
                let key = Node::new(
                    Value::Scalar {
                        text: section.to_owned(),
                        plain: true,
                    },
                    pos.clone(),
                );
                entries.push((key, Node::new(Value::Map(Vec::new()), pos.clone())));
                entries.len() - 1
            }
        };
        let target = &mut entries[idx].1;
        if target.is_null() {
            target.value = Value::Map(Vec::new());
        }
        let Value::Map(to) = &mut target.value else {
            continue;
        };
        for (name, def) in from {
            let n = name.as_scalar().unwrap_or_default();
            match to.iter().find(|(k, _)| k.as_scalar() == Some(n)) {
                Some((k, existing)) => {
                    if !same_value(existing, def) {
                        return Err(LoadError::IncludeConflict {
                            pos: k.pos.clone(),
                            section: section.to_owned(),
                            name: n.to_owned(),
                            included: name.pos.clone(),
                        });
                    }
                }
                None => to.push((name.clone(), def.clone())),
            }
        }
    }
    Ok(())
}
