use serde::Serialize;

/// The error codes a caller branches on. Anything else is `Internal`, with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No compose file where the user pointed.
    ComposeNotFound,
    /// The compose files (or their env files) are invalid: the message names file, line, column.
    ComposeInvalid,
    /// A `${VAR:?message}` variable has no value.
    MissingVariable,
    /// No Docker engine answers; the message says what was tried and what to do.
    EngineUnavailable,
    /// The engine or compose refused an action; the message says why.
    EngineFailed,
    /// A service name that the stack does not have.
    UnknownService,
    /// A value the user typed is not valid (a filter's regular expression, say).
    InvalidInput,
    Internal,
}

/// The one error shape at the UI and CLI boundary: `{code, message}`.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<berth_compose::LoadError> for ApiError {
    fn from(e: berth_compose::LoadError) -> Self {
        use berth_compose::LoadError as L;
        let code = match &e {
            L::NoComposeFile { .. } => ErrorCode::ComposeNotFound,
            L::MissingVariable { .. } => ErrorCode::MissingVariable,
            _ => ErrorCode::ComposeInvalid,
        };
        ApiError {
            code,
            message: e.to_string(),
        }
    }
}
