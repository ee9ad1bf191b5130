use berth_engine::{ComposeFailure, EngineError};
use serde::Serialize;

/// The error codes a caller branches on coarsely; [`ErrorDetail`] says exactly what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No compose file where the user pointed.
    ComposeNotFound,
    /// The compose files (or their env files) are invalid: the message names file, line, column.
    ComposeInvalid,
    /// A `${VAR:?message}` variable has no value.
    MissingVariable,
    /// No Docker engine answers (or it stopped answering); the message says what to do.
    EngineUnavailable,
    /// The engine or compose refused an action; the detail says why.
    EngineFailed,
    /// A service name that the stack does not have, or one that is not a valid name.
    UnknownService,
    /// A value the user typed is not valid (a filter's regular expression, say).
    InvalidInput,
    /// Another action runs on this stack; it was not started.
    Busy,
    /// The user cancelled the action.
    Cancelled,
    /// The action ran out of time.
    TimedOut,
    /// A host port the stack publishes is taken; the detail names each owner and a free port.
    PortConflict,
    /// No open stack has that session id (closed, or the app restarted).
    UnknownSession,
    /// A certificate step failed (the CA, a trust store, a certificate file, a handshake);
    /// the message names the step.
    Tls,
    /// A snapshot, restore or reset failed or was refused; the message says why and what was
    /// left as it was.
    Snapshot,
    Internal,
}

/// What exactly failed, typed, for the UI to branch on (never on the message text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErrorDetail {
    /// A host port is taken; `service` is the one that could not start.
    PortInUse {
        address: String,
        service: Option<String>,
    },
    /// The port check before Up found ports taken: each with its owner and a suggestion.
    PortConflicts {
        check: crate::ports::PortsView,
    },
    /// A service failed its health check; `output` is the last probe output (masked).
    Unhealthy {
        service: String,
        output: Option<String>,
    },
    ImageMissing {
        image: String,
    },
    BuildFailed {
        service: Option<String>,
        step: Option<String>,
        last_lines: Vec<String>,
    },
    /// Down kept this network: containers another set of compose files made still use it.
    NetworkInUse {
        network: String,
    },
    /// Nothing answered at any of these endpoints.
    DaemonUnreachable {
        tried: Vec<String>,
    },
    /// The endpoint accepted the connection and then said nothing (a frozen daemon).
    DaemonNotResponding {
        host: String,
    },
    /// `running` is the action in progress on the stack.
    Busy {
        running: String,
    },
    /// Still not ready when the time ran out: these services, with their state.
    TimedOut {
        waiting: Vec<String>,
    },
    /// Where the compose files are wrong.
    Position {
        file: String,
        line: u32,
        column: u32,
    },
    MissingVariable {
        variable: String,
    },
    /// A terminal was asked for and the image has none of these shells.
    NoShell {
        service: String,
        tried: Vec<String>,
    },
    /// The service has no running container to open a terminal in.
    NotRunning {
        service: String,
    },
    /// A restore was refused before anything was touched.
    SnapshotRefused {
        reason: crate::snapshot::Refusal,
    },
    Other {
        sentence: String,
    },
}

/// The one error shape at the UI and CLI boundary: `{code, message, detail}`.
#[derive(Debug, Clone, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub detail: Option<ErrorDetail>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
}

impl From<berth_compose::LoadError> for ApiError {
    fn from(e: berth_compose::LoadError) -> Self {
        use berth_compose::LoadError as L;
        let code = match &e {
            L::NoComposeFile { .. } => ErrorCode::ComposeNotFound,
            L::MissingVariable { .. } => ErrorCode::MissingVariable,
            _ => ErrorCode::ComposeInvalid,
        };
        let detail = match &e {
            L::MissingVariable { variable, .. } => Some(ErrorDetail::MissingVariable {
                variable: variable.clone(),
            }),
            L::Yaml { pos, .. }
            | L::InvalidInterpolation { pos, .. }
            | L::InterpolationTooDeep { pos, .. } => Some(ErrorDetail::Position {
                file: pos.file.to_string(),
                line: pos.line,
                column: pos.col,
            }),
            _ => None,
        };
        ApiError {
            code,
            message: e.to_string(),
            detail,
        }
    }
}

impl From<ComposeFailure> for ErrorDetail {
    fn from(f: ComposeFailure) -> Self {
        match f {
            ComposeFailure::PortInUse { address, service } => {
                ErrorDetail::PortInUse { address, service }
            }
            ComposeFailure::Unhealthy { service, output } => {
                ErrorDetail::Unhealthy { service, output }
            }
            ComposeFailure::ImageMissing { image } => ErrorDetail::ImageMissing { image },
            ComposeFailure::BuildFailed {
                service,
                step,
                last_lines,
            } => ErrorDetail::BuildFailed {
                service,
                step,
                last_lines,
            },
            ComposeFailure::NetworkInUse { network } => ErrorDetail::NetworkInUse { network },
            ComposeFailure::DaemonUnreachable => ErrorDetail::DaemonUnreachable { tried: vec![] },
            ComposeFailure::Other { sentence } => ErrorDetail::Other { sentence },
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        let (code, detail) = match e {
            EngineError::Unreachable { tried } => (
                ErrorCode::EngineUnavailable,
                Some(ErrorDetail::DaemonUnreachable { tried }),
            ),
            EngineError::NotResponding { host } => (
                ErrorCode::EngineUnavailable,
                Some(ErrorDetail::DaemonNotResponding { host }),
            ),
            EngineError::Disconnected { .. } => (ErrorCode::EngineUnavailable, None),
            EngineError::Compose { failure, .. } => {
                let code = if failure == ComposeFailure::DaemonUnreachable {
                    ErrorCode::EngineUnavailable
                } else {
                    ErrorCode::EngineFailed
                };
                (code, Some(failure.into()))
            }
            EngineError::Cancelled => (ErrorCode::Cancelled, None),
            EngineError::TimedOut { .. } => (ErrorCode::TimedOut, None),
            _ => (ErrorCode::EngineFailed, None),
        };
        ApiError {
            code,
            message,
            detail,
        }
    }
}
