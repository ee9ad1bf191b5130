//! The variables a project sees and where they come from: the shell, `.env` or `--env-file`,
//! and each service's `env_file` and `environment`; and `${VAR}` interpolation of a parsed file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Loader;
use crate::dotenv;
use crate::error::LoadError;
use crate::interpolate::{interpolate, InterpolationError};
use crate::model::{EnvVar, Service};
use crate::paths::absolutize;
use crate::yaml::{Node, Pos, Value};

/// The variables interpolation sees: the shell first, then the env files.
pub(super) struct Environment {
    shell: HashMap<String, String>,
    dotenv: HashMap<String, String>,
}

impl Environment {
    pub(super) fn get(&self, k: &str) -> Option<String> {
        self.shell.get(k).or_else(|| self.dotenv.get(k)).cloned()
    }

    /// `shell` plus the variables of `files`, read in order; a file's values may refer to the
    /// shell and to the files before it.
    pub(super) fn read(
        shell: &HashMap<String, String>,
        files: &[PathBuf],
    ) -> Result<Self, LoadError> {
        let mut dotenv_vars = HashMap::new();
        for f in files {
            let text = crate::paths::read_text(f).map_err(|source| LoadError::Read {
                path: f.clone(),
                source,
            })?;
            let snapshot = dotenv_vars.clone();
            let entries = dotenv::parse(&text, &|k| {
                shell.get(k).or_else(|| snapshot.get(k)).cloned()
            })
            .map_err(|e| LoadError::EnvFile {
                file: f.clone(),
                line: e.line,
                message: e.message,
            })?;
            for e in entries {
                if let Some(v) = e.value {
                    dotenv_vars.insert(e.key, v);
                }
            }
        }
        Ok(Environment {
            shell: shell.clone(),
            dotenv: dotenv_vars,
        })
    }
}

impl Environment {
    /// What an `include`d project sees: everything this one sees, plus the variables of its own
    /// env files where this one has none (Compose merges the parent's values first).
    pub(super) fn with_files(&self, files: &[PathBuf]) -> Result<Self, LoadError> {
        let mut parent = self.dotenv.clone();
        parent.extend(self.shell.iter().map(|(k, v)| (k.clone(), v.clone())));
        Environment::read(&parent, files)
    }
}

/// The env files a project reads: the `--env-file`s (`given`, relative to `cwd`) when there are
/// any, else `.env` in `cwd` if it exists.
pub(super) fn env_files(cwd: &Path, given: &[PathBuf]) -> Vec<PathBuf> {
    if given.is_empty() {
        let default = cwd.join(".env");
        if default.is_file() {
            vec![default]
        } else {
            vec![]
        }
    } else {
        given
            .iter()
            .map(|p| absolutize(cwd, &p.to_string_lossy(), None))
            .collect()
    }
}

impl Loader {
    pub(super) fn interpolate_tree(
        &mut self,
        node: &mut Node,
        path: &str,
    ) -> Result<(), LoadError> {
        match &mut node.value {
            Value::Scalar { text, plain } => {
                if !text.contains('$') {
                    return Ok(());
                }
                let env = &self.env;
                match interpolate(text, &|k| env.get(k)) {
                    Ok(r) => {
                        for var in r.unset {
                            let w = format!(
                                "{}: the {var} variable is not set; defaulting to a blank string",
                                node.pos
                            );
                            if !self.warnings.contains(&w) {
                                self.warnings.push(w);
                            }
                        }
                        // A substituted value is a string, whatever it looks like, as in Compose
                        // (the schema check types scalars by this flag).
                        if r.value != *text {
                            *plain = false;
                        }
                        *text = r.value;
                    }
                    Err(InterpolationError::Required { variable, message }) => {
                        return Err(LoadError::MissingVariable {
                            pos: node.pos.clone(),
                            variable,
                            message,
                        })
                    }
                    Err(InterpolationError::Invalid { template }) => {
                        return Err(LoadError::InvalidInterpolation {
                            pos: node.pos.clone(),
                            template: masked_template(path, &template),
                        })
                    }
                    Err(InterpolationError::TooDeep { limit }) => {
                        return Err(LoadError::InterpolationTooDeep {
                            pos: node.pos.clone(),
                            limit,
                        })
                    }
                }
            }
            Value::Seq(items) => {
                for item in items {
                    self.interpolate_tree(item, path)?;
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let key = k.as_scalar().unwrap_or_default();
                    // Extension fields are free-form; Compose does not interpolate them at the top.
                    if path.is_empty() && key.starts_with("x-") {
                        continue;
                    }
                    let child = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.interpolate_tree(v, &child)?;
                }
            }
            Value::Null => {}
        }
        Ok(())
    }

    /// Fills `svc.environment` from its `env_file`s, in order, then from its `environment`
    /// entries, which win.
    pub(super) fn service_environment(
        &mut self,
        svc: &mut Service,
        env_files: Vec<(PathBuf, bool, Pos)>,
        declared_env: Vec<(String, Option<String>, Pos)>,
    ) -> Result<(), LoadError> {
        for (file, required, pos) in env_files {
            self.read.push(file.clone());
            let text = match crate::paths::read_text(&file) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if required {
                        return Err(LoadError::EnvFileMissing { file, pos });
                    }
                    continue;
                }
                Err(source) => return Err(LoadError::Read { path: file, source }),
            };
            let env = &self.env;
            let entries =
                dotenv::parse(&text, &|k| env.get(k)).map_err(|e| LoadError::EnvFile {
                    file: file.clone(),
                    line: e.line,
                    message: e.message,
                })?;
            let shown: Arc<str> = Arc::from(self.display_path(&file));
            for e in entries {
                let value = match e.value {
                    Some(v) => Some(v),
                    None => self.env.shell.get(&e.key).cloned(),
                };
                if let Some(value) = value {
                    svc.environment.insert(
                        e.key,
                        EnvVar {
                            value,
                            pos: Pos {
                                file: shown.clone(),
                                line: e.line,
                                col: 1,
                            },
                        },
                    );
                }
            }
        }
        for (k, v, pos) in declared_env {
            // `KEY` alone (or `KEY:` with no value) takes the value from the shell, or is unset.
            let value = v.or_else(|| self.env.get(&k));
            match value {
                Some(value) => {
                    svc.environment.insert(k, EnvVar { value, pos });
                }
                None => {
                    svc.environment.shift_remove(&k);
                }
            }
        }
        Ok(())
    }
}

/// An error message must not print a password: mask the value when its key (or its `KEY=` prefix
/// in list syntax) names a secret, and any URL password in it.
fn masked_template(path: &str, template: &str) -> String {
    let key = path.rsplit('.').next().unwrap_or_default();
    if crate::mask::is_secret_name(key) {
        return crate::mask::MASK.to_owned();
    }
    if let Some((k, _)) = template.split_once('=') {
        if crate::mask::is_secret_name(k) {
            return format!("{k}={}", crate::mask::MASK);
        }
    }
    crate::mask::mask_url_passwords(template)
}
