//! Which compose files make up the project: `-f`, then `COMPOSE_FILE`, then the candidate names
//! in the folder or its nearest parent that has one; and Compose's project-name rule.

use std::path::{Path, PathBuf};

use super::env::Environment;
use crate::error::LoadError;
use crate::paths::absolutize;

const CANDIDATES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Finds the compose files for `dir`: the first candidate name found in `dir` or its nearest
/// parent that has one, plus the override file beside it.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Some(base) = CANDIDATES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
            let mut files = vec![base];
            if let Some(ov) = OVERRIDES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
                files.push(ov);
            }
            return Ok(files);
        }
        current = d.parent();
    }
    Err(LoadError::NoComposeFile {
        dir: dir.to_path_buf(),
    })
}

/// Lowercase, keep `[a-z0-9_-]`, and drop leading `_`/`-`: Compose's project-name rule.
pub fn normalize_project_name(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_owned()
}

/// The files to merge, in order: the explicit `-f` list (`given`, relative to `cwd`), else
/// `COMPOSE_FILE` split on `COMPOSE_PATH_SEPARATOR`, else what [`discover`] finds from `cwd`.
pub(super) fn compose_files(
    cwd: &Path,
    given: &[PathBuf],
    env: &Environment,
) -> Result<Vec<PathBuf>, LoadError> {
    let files: Vec<PathBuf> = if !given.is_empty() {
        given
            .iter()
            .map(|p| absolutize(cwd, &p.to_string_lossy(), None))
            .collect()
    } else if let Some(list) = env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .unwrap_or_else(|| if cfg!(windows) { ";" } else { ":" }.into());
        let listed: Vec<PathBuf> = list
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(|p| absolutize(cwd, p, None))
            .collect();
        // `COMPOSE_FILE=:` names no file at all: discover, as if it were unset.
        if listed.is_empty() {
            discover(cwd)?
        } else {
            listed
        }
    } else {
        discover(cwd)?
    };
    Ok(files)
}
