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

    /// The engine accepted the connection but did not answer in time (a frozen daemon).
    #[error("Docker is not responding at {host}: it accepted the connection but did not answer within 5 s. If dockerd is stopped or overloaded, restart it (`sudo systemctl restart docker`, or restart Docker Desktop); Berth reconnects by itself.")]
    NotResponding { host: String },

    /// The connection dropped or a request failed in transport.
    #[error("lost the connection to the Docker engine at {host}: {message}")]
    Disconnected { host: String, message: String },

    /// The engine answered with an error.
    #[error("the Docker engine refused: {message}")]
    Api { status: u16, message: String },

    /// A compose command failed: what went wrong, typed, and the (bounded, masked) output.
    #[error("{failure}")]
    Compose {
        failure: crate::ComposeFailure,
        output: String,
    },

    /// A compose command ran longer than it may.
    #[error("compose did not finish within {secs} s and was stopped")]
    TimedOut { secs: u64 },

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
            EngineError::Unreachable { .. }
                | EngineError::Disconnected { .. }
                | EngineError::NotResponding { .. }
        )
    }
}
