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

    #[error("{pos}: service {service:?} depends on undefined service {dependency:?}")]
    UndefinedDependency {
        pos: Pos,
        service: String,
        dependency: String,
    },

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
