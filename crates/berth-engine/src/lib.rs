//! The engine side of Berth: observation through the Docker API (bollard, behind the [`Engine`]
//! trait), and lifecycle through the user's own compose CLI, always with `-p` and the `-f` list
//! of the opened stack, as argument vectors (never a shell).

mod compose_cli;
mod docker;
pub mod endpoint;
mod engine;
mod error;
pub mod fake;
pub mod logs;
pub mod model;
pub mod status;
pub mod watch;

pub use compose_cli::{
    explain_failure, resolve_program, BoundedLines, ComposeArgs, ComposeCli, ComposeFailure,
    ComposeFlavor, ComposeTarget, Masker, OutputLine, RunOptions,
};
pub use docker::{DockerEngine, CONNECT_TIMEOUT};
pub use endpoint::{candidate_endpoints, Endpoint, EndpointSource};
pub use engine::{BoxStream, Engine, ExecStream, ExecTty};
pub use error::EngineError;
