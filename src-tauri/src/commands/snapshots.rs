//! The Snapshots view: the stack's catalog, taking, restoring, deleting and labelling a
//! snapshot, and a reset behind a safety snapshot. Each long one reports its steps over a
//! channel; `stack::cancel_action` cancels it between steps, as it cancels Up.

use std::time::Duration;

use berth_api::{ApiError, ResetView, RestoreView, SessionId, SnapshotProgress, SnapshotView};
use berth_store::Store;
use tauri::ipc::Channel;
use tauri::State;

use crate::sessions::AppSessions;

/// How long a reset waits for every service to be ready after its `up`: the same as Up.
const UP_TIMEOUT: Duration = Duration::from_secs(180);

/// The stack's complete snapshots, newest first.
#[tauri::command(async)]
#[tracing::instrument(skip(store, sessions), err(Debug))]
pub async fn snapshots_list(
    session: SessionId,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<Vec<SnapshotView>, ApiError> {
    sessions.get(session)?.snapshots(&store).await
}

/// Saves the data of `services` (every service with data when empty).
#[tauri::command(async)]
#[tracing::instrument(skip(on_progress, store, sessions), err(Debug))]
pub async fn snapshot_take(
    session: SessionId,
    services: Vec<String>,
    label: Option<String>,
    on_progress: Channel<SnapshotProgress>,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<SnapshotView, ApiError> {
    // An empty label from the text field is no label.
    let label = label.filter(|l| !l.trim().is_empty());
    sessions
        .get(session)?
        .take_snapshot(
            &store,
            &services,
            label,
            |p| {
                let _ = on_progress.send(p);
            },
            std::future::pending(),
        )
        .await
}

/// Puts snapshot `id` back into `services` (all of it when empty). Never across a major
/// version: the window offers no upgrade, the CLI's `--allow-upgrade` does.
#[tauri::command(async)]
#[tracing::instrument(skip(on_progress, store, sessions), err(Debug))]
pub async fn snapshot_restore(
    session: SessionId,
    id: String,
    services: Vec<String>,
    on_progress: Channel<SnapshotProgress>,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<RestoreView, ApiError> {
    sessions
        .get(session)?
        .restore_snapshot(
            &store,
            &id,
            &services,
            false,
            |p| {
                let _ = on_progress.send(p);
            },
            std::future::pending(),
        )
        .await
}

/// A safety snapshot, then `down -v`, a rebuild without cache when `rebuild`, and `up` until
/// every service is ready. The result names the safety snapshot to restore.
#[tauri::command(async)]
#[tracing::instrument(skip(on_progress, store, sessions), err(Debug))]
pub async fn stack_reset(
    session: SessionId,
    rebuild: bool,
    on_progress: Channel<SnapshotProgress>,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<ResetView, ApiError> {
    sessions
        .get(session)?
        .reset_stack(
            &store,
            rebuild,
            UP_TIMEOUT,
            |p| {
                let _ = on_progress.send(p);
            },
            // The window shows the steps; compose's own lines go to the log file.
            |l| tracing::debug!(line = %l.text),
            std::future::pending(),
        )
        .await
}

/// Deletes snapshot `id`: its catalog row and its files.
#[tauri::command(async)]
#[tracing::instrument(skip(store, sessions), err(Debug))]
pub async fn snapshot_delete(
    session: SessionId,
    id: String,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    sessions.get(session)?.delete_snapshot(&store, &id).await
}

/// Gives snapshot `id` a label, or takes it away (`None` or empty).
#[tauri::command(async)]
#[tracing::instrument(skip(store, sessions), err(Debug))]
pub async fn snapshot_label(
    session: SessionId,
    id: String,
    label: Option<String>,
    store: State<'_, Store>,
    sessions: State<'_, AppSessions>,
) -> Result<SnapshotView, ApiError> {
    let label = label.filter(|l| !l.trim().is_empty());
    sessions
        .get(session)?
        .label_snapshot(&store, &id, label.as_deref())
        .await
}
