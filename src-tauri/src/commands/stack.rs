//! Opening stacks, their status and actions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use berth_api::{
    Action, ActionOutcome, ApiError, DiagramView, DiscoveredProject, InspectView, SessionId,
    StackRequest, StatusView,
};
use berth_store::Store;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{Manager, State};

use super::checks::Unopened;
use super::{now, store_error};
use crate::sessions::{AppSessions, Streams};

/// The stack given on the command line (`berth-app DIR`), if any.
pub struct InitialStack(pub Option<PathBuf>);

pub fn env() -> HashMap<String, String> {
    std::env::vars().collect()
}

pub fn request(dir: &str) -> StackRequest {
    StackRequest {
        dir: Some(PathBuf::from(dir)),
        ..Default::default()
    }
}

#[tauri::command]
pub fn initial_stack(state: State<'_, InitialStack>) -> Option<String> {
    state.0.as_ref().map(|p| p.to_string_lossy().into_owned())
}

/// An opened stack: the session the window holds, and its model.
#[derive(Serialize, ts_rs::TS)]
pub struct OpenedStack {
    pub session: SessionId,
    pub view: InspectView,
    pub diagram: DiagramView,
}

/// Opens a stack (or returns the session it already has), starts reloading it when its files
/// change, and remembers it for the sidebar. A folder that does not load is noted: its checks
/// (`checks::doctor_report_path`) say why and may fix it.
#[tauri::command(async)]
#[tracing::instrument(skip(store, sessions, unopened), err(Debug))]
pub async fn open_stack(
    dir: String,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
    unopened: State<'_, Unopened>,
) -> Result<OpenedStack, ApiError> {
    let req = request(&dir);
    let (session, stack) = sessions
        .open(&req, || berth_api::OpenStack::open(&req, env()))
        .inspect_err(|_| unopened.failed(&dir))?;
    unopened.opened(&dir);
    stack.watch_files()?;
    let (mut view, diagram) = stack.views();
    // Said before anything runs: two open stacks that want the same host ports.
    view.warnings.extend(sessions.shared_ports(session));
    store
        .remember_stack(&dir, &view.project, now())
        .await
        .map_err(store_error)?;
    Ok(OpenedStack {
        session,
        view,
        diagram,
    })
}

/// Ends a stack's session: its watch, reloads and action stop.
#[tauri::command]
pub fn close_stack(
    session: SessionId,
    sessions: State<'_, AppSessions>,
    terminals: State<'_, crate::commands::terminal::Terminals>,
) -> bool {
    terminals.close_session(session);
    sessions.close(session)
}

#[derive(Serialize, ts_rs::TS)]
pub struct RecentStackView {
    pub path: String,
    pub name: String,
}

#[tauri::command(async)]
pub async fn recent_stacks(store: State<'_, Store>) -> Result<Vec<RecentStackView>, ApiError> {
    Ok(store
        .recent_stacks()
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|s| RecentStackView {
            path: s.path,
            name: s.name,
        })
        .collect())
}

/// Removes a stack from the list and ends its session (watch, reloads, action).
#[tauri::command(async)]
pub async fn forget_stack(
    dir: String,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    sessions.close_stack(&request(&dir));
    store.forget_stack(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
pub async fn discovered_projects() -> Result<Vec<DiscoveredProject>, ApiError> {
    berth_api::discover_projects(&env()).await
}

/// What the model is now, after a reload: the new view, or why the edit does not load (the
/// last good view stays on screen).
#[derive(Serialize, ts_rs::TS)]
pub struct ModelUpdate {
    pub view: Option<InspectView>,
    pub diagram: Option<DiagramView>,
    pub error: Option<ApiError>,
}

#[tauri::command]
#[tracing::instrument(skip(on_update, streams, sessions), err(Debug))]
pub fn watch_model(
    session: SessionId,
    on_update: Channel<ModelUpdate>,
    streams: State<'_, Streams>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    let stack = sessions.get(session)?;
    let mut updates = stack.model_updates();
    let task = tauri::async_runtime::spawn(async move {
        updates.borrow_and_update();
        while updates.changed().await.is_ok() {
            let state = updates.borrow_and_update().clone();
            let update = match state.error {
                Some(error) => ModelUpdate {
                    view: None,
                    diagram: None,
                    error: Some(error),
                },
                None => {
                    let (view, diagram) = stack.views();
                    ModelUpdate {
                        view: Some(view),
                        diagram: Some(diagram),
                        error: None,
                    }
                }
            };
            let _ = on_update.send(update);
        }
    });
    streams.replace("model", task);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip(on_update, streams, sessions), err(Debug))]
pub fn watch_status(
    session: SessionId,
    on_update: Channel<StatusView>,
    streams: State<'_, Streams>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    let stack = sessions.get(session)?;
    let task = tauri::async_runtime::spawn(async move {
        stack
            .watch_status(
                |v| {
                    let _ = on_update.send(v);
                },
                std::future::pending(),
            )
            .await;
    });
    streams.replace("status", task);
    Ok(())
}

/// Streams resource samples of one service while its panel is open; replaced by the next
/// selection and stopped by `stop_stream("stats")`.
#[tauri::command]
#[tracing::instrument(skip(on_sample, streams, sessions), err(Debug))]
pub fn watch_stats(
    session: SessionId,
    service: String,
    on_sample: Channel<berth_api::StatsSample>,
    streams: State<'_, Streams>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    let stack = sessions.get(session)?;
    let task = tauri::async_runtime::spawn(async move {
        let _ = stack
            .watch_stats(
                &[service],
                |s| {
                    let _ = on_sample.send(s);
                },
                std::future::pending(),
            )
            .await;
    });
    streams.replace("stats", task);
    Ok(())
}

/// Which services need a recreate, and why (`config` or `image`); asked when the Services view
/// opens and after actions (it runs `compose config --hash`, so it is not part of every update).
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn service_drift(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<std::collections::BTreeMap<String, berth_api::Drift>, ApiError> {
    sessions.get(session)?.drift().await
}

/// What the first-run screen shows: is there an engine, and which compose.
#[tauri::command(async)]
pub async fn machine_check() -> Vec<berth_api::MachineItem> {
    berth_api::machine_check(&env()).await
}

/// Every service's CPU and memory for the Services table, about once a second, until the table
/// closes (`stop_stream("usage")`).
#[tauri::command]
pub fn watch_usage(
    session: SessionId,
    on_update: Channel<Vec<berth_api::ServiceUsage>>,
    streams: State<'_, Streams>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    let stack = sessions.get(session)?;
    let task = tauri::async_runtime::spawn(async move {
        let _ = stack
            .watch_usage(
                |rows| {
                    let _ = on_update.send(rows);
                },
                std::future::pending(),
            )
            .await;
    });
    streams.replace("usage", task);
    Ok(())
}

#[tauri::command]
pub fn stop_stream(kind: String, streams: State<'_, Streams>) {
    streams.stop(&kind);
}

/// Runs one action on the stack; refused with a sentence while another runs.
#[tauri::command(async)]
#[tracing::instrument(skip(on_progress, sessions), err(Debug))]
pub async fn stack_action(
    session: SessionId,
    action: Action,
    services: Vec<String>,
    on_progress: Channel<String>,
    sessions: State<'_, AppSessions>,
) -> Result<ActionOutcome, ApiError> {
    let stack = sessions.get(session)?;
    stack
        .run_action(
            action,
            &services,
            Duration::from_secs(180),
            |l| {
                let _ = on_progress.send(l.text);
            },
            std::future::pending(),
        )
        .await
}

/// Cancels the action running on the stack (the compose child and its process group are
/// killed). Returns whether one was running.
#[tauri::command]
#[tracing::instrument(skip(sessions))]
pub fn cancel_action(session: SessionId, sessions: State<'_, AppSessions>) -> bool {
    sessions
        .get(session)
        .map(|s| s.cancel_action())
        .unwrap_or(false)
}

/// A service's environment, secrets masked unless `reveal`. With `key`, only that variable: the
/// drawer reveals one value at a time, and the others never leave Rust unmasked.
#[tauri::command(async)]
pub fn service_environment(
    session: SessionId,
    service: String,
    reveal: bool,
    key: Option<String>,
    sessions: State<'_, AppSessions>,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let stack = sessions.get(session)?;
    let mut env = stack
        .inspect(reveal)
        .services
        .into_iter()
        .find(|s| s.name == service)
        .map(|s| s.environment)
        .unwrap_or_default();
    if let Some(key) = key {
        env.retain(|k, _| *k == key);
    }
    Ok(env)
}

/// The inspect documents of a service's containers as pretty JSON, secrets masked unless
/// `reveal`.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn service_inspect(
    session: SessionId,
    service: String,
    reveal: bool,
    sessions: State<'_, AppSessions>,
) -> Result<String, ApiError> {
    let docs = sessions
        .get(session)?
        .inspect_service(&service, reveal)
        .await?;
    serde_json::to_string_pretty(&docs)
        .map_err(|e| super::io_error("cannot show the inspect document", e))
}

/// Opens a port the stack publishes in the default browser. The app builds the URL, and only
/// ever for localhost: the webview cannot make it open anything else.
#[tauri::command(async)]
#[tracing::instrument(err(Debug))]
pub fn open_port(host_port: u16, container_port: u16) -> Result<String, ApiError> {
    let scheme = if matches!(container_port, 443 | 8443) {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://localhost:{host_port}/");
    open::that_detached(&url).map_err(|e| {
        ApiError::internal(format!(
            "Could not open {url} in a browser ({e}). Set a default browser, or open the address by hand."
        ))
    })?;
    Ok(url)
}

/// The native folder picker, for "Open stack…", starting beside the stack open now (or at
/// home). `None` when cancelled.
#[tauri::command(async)]
pub fn pick_stack_folder(current: Option<String>, app: tauri::AppHandle) -> Option<String> {
    use tauri_plugin_dialog::DialogExt;
    let start = current
        .as_deref()
        .and_then(|c| std::path::Path::new(c).parent().map(PathBuf::from))
        .or_else(|| app.path().home_dir().ok());
    let mut dialog = app.dialog().file().set_title("Open a compose project");
    if let Some(dir) = start {
        dialog = dialog.set_directory(dir);
    }
    dialog
        .blocking_pick_folder()
        .and_then(|p| p.into_path().ok())
        .map(|p| p.to_string_lossy().into_owned())
}
