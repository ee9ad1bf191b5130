use std::path::PathBuf;

use crate::yaml::Pos;

/// Why a compose project could not be loaded. Every variant that comes from a file names it, and
/// where a position is known, its line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("no compose file found in {dir} or its parents (looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml); open the folder that holds one, or name the file with -f or COMPOSE_FILE")]
    NoComposeFile { dir: PathBuf },

    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{pos}: {message}")]
    Yaml { pos: Pos, message: String },

    #[error("{pos}: {path}: {message}")]
    Type {
        pos: Pos,
        path: String,
        message: String,
    },

    /// What the compose-spec schema refuses (Compose v2 refuses the same file).
    #[error("{pos}: {path} {message}")]
    Schema {
        pos: Pos,
        path: String,
        message: String,
    },

    /// No services, networks, volumes or anything else: Compose v2 says "empty compose file".
    #[error("{file}: the compose file is empty (Compose needs at least a `services:` entry)")]
    Empty { file: String },

    #[error("{pos}: required variable {variable} is missing a value{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    MissingVariable {
        pos: Pos,
        variable: String,
        message: String,
    },

    #[error("{pos}: invalid interpolation format in {template:?} (write $$ for a literal $)")]
    InvalidInterpolation { pos: Pos, template: String },

    #[error("{pos}: variables nested deeper than {limit} levels (`${{A:-${{B:-...}}}}`)")]
    InterpolationTooDeep { pos: Pos, limit: usize },

    #[error("{file}:{line}: {message}")]
    EnvFile {
        file: PathBuf,
        line: u32,
        message: String,
    },

    #[error(
        "env file {file} not found (required by {pos}; set `required: false` to make it optional)"
    )]
    EnvFileMissing { file: PathBuf, pos: Pos },

    #[error("{pos}: service {service:?} extends file {file} which does not exist")]
    ExtendsFileMissing {
        pos: Pos,
        service: String,
        file: PathBuf,
    },

    #[error("{pos}: service {service:?} extends service {base:?}, which is not defined in {file}")]
    ExtendsServiceMissing {
        pos: Pos,
        service: String,
        base: String,
        file: String,
    },

    #[error("{pos}: `extends` loops back on itself: {}", chain.join(" -> "))]
    ExtendsCycle { pos: Pos, chain: Vec<String> },

    #[error("{pos}: `include` loops back on itself: {}", chain.join(" includes "))]
    IncludeCycle { pos: Pos, chain: Vec<String> },

    #[error("{pos}: included file {file} does not exist")]
    IncludeMissing { pos: Pos, file: PathBuf },

    #[error("{pos}: {section}.{name} conflicts with the one included at {included}")]
    IncludeConflict {
        pos: Pos,
        section: String,
        name: String,
        included: Pos,
    },

    #[error("{pos}: service {service:?} depends on undefined service {dependency:?}")]
    UndefinedDependency {
        pos: Pos,
        service: String,
        dependency: String,
    },

    #[error("{pos}: service {service:?} depends on {dependency:?}, which is only in profile {}; enable it (--profile {}) or mark the dependency `required: false`", profiles.join(", "), profiles.first().map(String::as_str).unwrap_or_default())]
    InactiveDependency {
        pos: Pos,
        service: String,
        dependency: String,
        profiles: Vec<String>,
    },

    #[error("{pos}: service {service:?} uses {kind} {name:?}, which is not declared under top-level `{kind}s`")]
    Undeclared {
        pos: Pos,
        service: String,
        kind: &'static str,
        name: String,
    },

    #[error("invalid project name {name:?}: use only lowercase letters, digits, dashes and underscores, starting with a letter or digit")]
    InvalidProjectName { name: String },

    #[error("depends_on forms a cycle: {}", services.join(" -> "))]
    DependencyCycle { services: Vec<String> },

    #[error("{pos}: service {service:?} has neither an image nor a build context")]
    NoImage { pos: Pos, service: String },
}

impl LoadError {
    pub(crate) fn ty(pos: &Pos, path: &str, message: impl Into<String>) -> Self {
        LoadError::Type {
            pos: pos.clone(),
            path: path.to_owned(),
            message: message.into(),
        }
    }
}
