#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("neither `docker compose` (v2) nor `docker-compose` (v1) is installed; install Docker Compose and try again")]
    ComposeMissing,

    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// No engine answered at any of the places tried.
    #[error("Docker is not running: no engine answered at {}. Start Docker (Docker Desktop, `sudo systemctl start docker`, or `dockerd`) and Berth reconnects by itself.", tried.join(", "))]
    Unreachable { tried: Vec<String> },

    /// The connection dropped or a request failed in transport.
    #[error("lost the connection to the Docker engine at {host}: {message}")]
    Disconnected { host: String, message: String },

    /// The engine answered with an error.
    #[error("the Docker engine refused: {message}")]
    Api { status: u16, message: String },

    /// A compose command failed; `message` is already the user-facing sentence.
    #[error("{message}")]
    Compose { message: String, output: String },

    #[error("cancelled")]
    Cancelled,

    #[error("{message}")]
    Wait { message: String },
}

impl EngineError {
    /// True when the error means the engine went away (as opposed to a refused request).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            EngineError::Unreachable { .. } | EngineError::Disconnected { .. }
        )
    }
}
