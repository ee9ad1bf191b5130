//! How the user left the window's switches.

use berth_api::ApiError;
use berth_store::Store;
use tauri::State;

use super::{io_error, store_error};

/// How the user left the log view's switches; kept in prefs so the next start shows the same.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UiPrefs {
    pub log_timestamps: bool,
    pub log_all_services: bool,
}

const UI_PREFS: &str = "ui";

#[tauri::command(async)]
pub async fn ui_prefs(store: State<'_, Store>) -> Result<UiPrefs, ApiError> {
    let text = store.pref(UI_PREFS).await.map_err(store_error)?;
    // Prefs from another version that do not parse are the defaults, not an error.
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
pub async fn save_ui_prefs(prefs: UiPrefs, store: State<'_, Store>) -> Result<(), ApiError> {
    let text = serde_json::to_string(&prefs).map_err(|e| io_error("cannot save preferences", e))?;
    store.set_pref(UI_PREFS, &text).await.map_err(store_error)
}
