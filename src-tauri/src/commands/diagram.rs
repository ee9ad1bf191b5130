//! The diagram: exports, moved nodes and saved layouts (kept per stack folder in the store).

use berth_api::{ApiError, DiagramFormat, SessionId};
use berth_store::{NodePosition, SavedLayout, Store};
use tauri::State;

use super::logs::{save_dialog, write_bytes};
use super::store_error;
use crate::sessions::AppSessions;

/// The open stack's diagram as Mermaid or DOT text, from the session's current model.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub fn export_diagram(
    session: SessionId,
    format: String,
    sessions: State<'_, AppSessions>,
) -> Result<String, ApiError> {
    let format = match format.as_str() {
        "dot" => DiagramFormat::Dot,
        _ => DiagramFormat::Mermaid,
    };
    Ok(sessions.get(session)?.diagram(format))
}

/// Where the user put diagram nodes of this stack; the rest keep the automatic layout.
#[tauri::command(async)]
pub async fn node_positions(
    dir: String,
    store: State<'_, Store>,
) -> Result<Vec<NodePosition>, ApiError> {
    store.positions(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
pub async fn save_node_position(
    dir: String,
    node: String,
    x: f64,
    y: f64,
    store: State<'_, Store>,
) -> Result<(), ApiError> {
    store
        .save_position(&dir, &node, x, y)
        .await
        .map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
pub async fn reset_layout(dir: String, store: State<'_, Store>) -> Result<(), ApiError> {
    store.clear_positions(&dir).await.map_err(store_error)
}

/// The stack's last automatic layout and the graph it was computed from; the UI draws it at once
/// when its graph is unchanged, and lays out anew otherwise.
#[tauri::command(async)]
pub async fn saved_layout(
    dir: String,
    store: State<'_, Store>,
) -> Result<Option<SavedLayout>, ApiError> {
    store.layout(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip_all, fields(dir = %dir, bytes = input.len() + output.len()), err(Debug))]
pub async fn save_layout(
    dir: String,
    input: String,
    output: String,
    store: State<'_, Store>,
) -> Result<(), ApiError> {
    store
        .save_layout(&dir, &SavedLayout { input, output })
        .await
        .map_err(store_error)
}

/// Asks where to save a diagram export and writes `content` there. `None` when cancelled.
#[tauri::command(async)]
#[tracing::instrument(skip(app, content), err(Debug))]
pub fn save_export(
    file_name: String,
    content: Vec<u8>,
    app: tauri::AppHandle,
) -> Result<Option<String>, ApiError> {
    let Some(path) = save_dialog(&app, "Export diagram", &file_name) else {
        return Ok(None);
    };
    write_bytes(&path, &content)?;
    Ok(Some(path.to_string_lossy().into_owned()))
}
