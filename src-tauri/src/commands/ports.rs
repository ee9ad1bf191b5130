//! The Ports view: the check of the open stack, and remaps into Berth's override file.

use berth_api::{ApiError, PortsView, RemapView, SessionId, WrittenOverride};
use tauri::State;

use super::stack::env;
use crate::sessions::AppSessions;

/// Every host port the stack publishes, with its status, owner and a suggested free port.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn check_ports(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<PortsView, ApiError> {
    let stack = sessions.get(session)?;
    Ok(stack.check_ports(&[]).await)
}

/// The stack's remaps and the override they make.
#[tauri::command]
#[tracing::instrument(skip(sessions), err(Debug))]
pub fn port_remaps(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<RemapView, ApiError> {
    berth_api::remaps(sessions.get(session)?.request(), env())
}

/// Publishes `service`'s host port `from` as `to`, and reloads the session with it.
#[tauri::command]
#[tracing::instrument(skip(sessions), err(Debug))]
pub fn remap_port(
    session: SessionId,
    service: String,
    from: u16,
    to: u16,
    sessions: State<'_, AppSessions>,
) -> Result<RemapView, ApiError> {
    changing(session, &sessions, |req| {
        berth_api::remap(req, env(), &service, from, to)
    })
}

/// Takes a remap back, and reloads the session without it.
#[tauri::command]
#[tracing::instrument(skip(sessions), err(Debug))]
pub fn unremap_port(
    session: SessionId,
    service: String,
    port: u16,
    sessions: State<'_, AppSessions>,
) -> Result<RemapView, ApiError> {
    changing(session, &sessions, |req| {
        berth_api::unremap(req, env(), &service, port)
    })
}

/// Stops the container of another compose stack that holds one of this stack's host ports,
/// through that stack's own `compose stop`. The window names only the port: which container
/// holds it is checked again here, so the webview can never stop an arbitrary container.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn stop_port_holder(
    session: SessionId,
    service: String,
    host_port: u16,
    sessions: State<'_, AppSessions>,
) -> Result<String, ApiError> {
    let stack = sessions.get(session)?;
    stack
        .stop_port_holder(&service, host_port, |l| tracing::debug!(line = %l.text))
        .await
}

/// Writes Berth's override into the project as its compose override file, and reloads.
#[tauri::command]
#[tracing::instrument(skip(sessions), err(Debug))]
pub fn write_port_override(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<WrittenOverride, ApiError> {
    changing(session, &sessions, |req| {
        berth_api::write_override_to_project(req, env())
    })
}

/// Changes what the open stack loads (its remaps, its override file), then reloads the session
/// so its model, diagram and compose calls use it at once.
fn changing<T>(
    session: SessionId,
    sessions: &AppSessions,
    change: impl FnOnce(&berth_api::StackRequest) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let stack = sessions.get(session)?;
    let done = change(stack.request())?;
    stack.reload_now()?;
    Ok(done)
}
