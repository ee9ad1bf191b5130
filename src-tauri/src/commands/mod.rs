//! The window's commands, by topic. Each is a few lines: find the session, call the facade,
//! return view-ready data or `{code, message, detail}`.

pub mod checks;
pub mod diagram;
pub mod logs;
pub mod ports;
pub mod prefs;
pub mod snapshots;
pub mod stack;
pub mod terminal;
pub mod tls;

use berth_api::ApiError;

pub fn store_error(e: berth_store::StoreError) -> ApiError {
    ApiError::internal(e.to_string())
}

pub fn io_error(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("{what}: {e}"))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
