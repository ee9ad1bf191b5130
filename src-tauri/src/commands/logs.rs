//! The log view: lines live here, in Rust, and the UI asks for the rows it shows.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::log_view::{LogCounts, LogView, LogWindow, RowOptions};
use berth_api::{ApiError, LogRequest, SessionId};
use tauri::ipc::Channel;
use tauri::State;

use super::io_error;
use crate::sessions::{on_own_thread, AppSessions, Streams};

/// Lines of history per container when a log view opens.
const LOG_HISTORY: u64 = 5000;

/// The log view being followed.
#[derive(Default)]
pub struct Logs(Mutex<Arc<Mutex<LogView>>>);

impl Logs {
    fn current(&self) -> Arc<Mutex<LogView>> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Starts a fresh log view of `services` (all when empty): merged history first, then every new
/// line. `on_counts` hears, at most every 100 ms and only when lines arrived, how many rows there
/// are. The facade resumes following by itself when the engine comes back.
#[tauri::command]
#[tracing::instrument(skip(on_counts, streams, logs, sessions), err(Debug))]
pub fn open_logs(
    session: SessionId,
    services: Vec<String>,
    on_counts: Channel<LogCounts>,
    streams: State<'_, Streams>,
    logs: State<'_, Logs>,
    sessions: State<'_, AppSessions>,
) -> Result<(), ApiError> {
    // Its own connection: the stream runs on a runtime of its own (see `on_own_thread`).
    let stack = sessions.get(session)?.with_own_connection();
    let view = Arc::new(Mutex::new(LogView::default()));
    if let Ok(mut current) = logs.0.lock() {
        *current = view.clone();
    }
    let work = async move {
        let arrived = tokio::sync::Notify::new();
        let follow = async {
            let req = LogRequest {
                follow: true,
                tail: Some(LOG_HISTORY),
                since: None,
                timestamps: true,
            };
            let result = stack
                .follow_logs(
                    &services,
                    &req,
                    |l| {
                        if let Ok(mut v) = view.lock() {
                            v.push(&l);
                        }
                        arrived.notify_one();
                    },
                    std::future::pending(),
                )
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "log follow ended");
            }
        };
        let counts = async {
            let mut last = None;
            loop {
                arrived.notified().await;
                // Ten updates a second are as fast as anyone reads; each costs the webview a
                // window fetch and a repaint, which a burst of lines would otherwise multiply.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = view.lock().map(|v| v.counts()).ok();
                if now != last {
                    if let Some(c) = now {
                        let _ = on_counts.send(c);
                    }
                    last = now;
                }
            }
        };
        tokio::join!(follow, counts);
    };
    streams.replace("logs", on_own_thread("berth-logs", work)?);
    Ok(())
}

// `async`: Tauri runs sync commands on the main thread, where a window over a million lines or
// a filter over them would stall the UI; these run on the async runtime's workers.
#[tauri::command(async)]
pub fn log_window(
    start: u64,
    count: usize,
    options: RowOptions,
    logs: State<'_, Logs>,
) -> LogWindow {
    let view = logs.current();
    let v = view.lock().unwrap_or_else(|p| p.into_inner());
    v.window(start, count.min(2000), options)
}

#[tauri::command(async)]
#[tracing::instrument(skip(logs), err(Debug))]
pub fn log_filter(
    query: String,
    regex: bool,
    logs: State<'_, Logs>,
) -> Result<LogCounts, ApiError> {
    let view = logs.current();
    let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
    v.set_filter(&query, regex)
}

/// Copies the shown log rows, secrets masked, to the system clipboard. Returns how many.
#[tauri::command(async)]
#[tracing::instrument(skip(logs, clipboard), err(Debug))]
pub fn copy_logs(
    timestamps: bool,
    logs: State<'_, Logs>,
    clipboard: State<'_, Clipboard>,
) -> Result<u64, ApiError> {
    let mut text = Vec::new();
    let n = {
        let view = logs.current();
        let v = view.lock().unwrap_or_else(|p| p.into_inner());
        v.write_text(&mut text, timestamps)
            .map_err(|e| io_error("Could not copy the logs", e))?
    };
    clipboard.set_text(String::from_utf8_lossy(&text).into_owned())?;
    Ok(n)
}

/// Asks where to save, then writes the shown log rows there (secrets masked). `None` when the
/// user cancelled.
#[tauri::command(async)]
#[tracing::instrument(skip(app, logs), err(Debug))]
pub fn export_logs(
    timestamps: bool,
    app: tauri::AppHandle,
    logs: State<'_, Logs>,
) -> Result<Option<String>, ApiError> {
    let Some(path) = save_dialog(&app, "Export logs", "berth-logs.txt") else {
        return Ok(None);
    };
    let view = logs.current();
    write_atomically(&path, |f| {
        let v = view.lock().unwrap_or_else(|p| p.into_inner());
        v.write_text(f, timestamps).map(|_| ())
    })?;
    Ok(Some(path.to_string_lossy().into_owned()))
}

pub fn save_dialog(app: &tauri::AppHandle, title: &str, file_name: &str) -> Option<PathBuf> {
    use tauri_plugin_dialog::DialogExt;
    app.dialog()
        .file()
        .set_title(title)
        .set_file_name(file_name)
        .blocking_save_file()
        .and_then(|p| p.into_path().ok())
}

/// Writes through a temporary file in the same folder and renames it over `path`, so a failed
/// export never leaves half a file where a good one was.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| io_error(&format!("Could not write {}", path.display()), e);
    let tmp = path.with_extension("berth-partial");
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut f)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// The system clipboard, kept open for the app's life: on X11 the copied text is served by the
/// process that owns it.
#[derive(Default)]
pub struct Clipboard(Mutex<Option<arboard::Clipboard>>);

impl Clipboard {
    pub fn get_text(&self) -> Result<String, ApiError> {
        let fail = |e: arboard::Error| io_error("Could not read the clipboard", e);
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(arboard::Clipboard::new().map_err(fail)?);
        }
        match slot.as_mut() {
            Some(c) => c.get_text().map_err(fail),
            None => Ok(String::new()),
        }
    }

    pub fn set_text(&self, text: String) -> Result<(), ApiError> {
        let fail = |e: arboard::Error| io_error("Could not use the clipboard", e);
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(arboard::Clipboard::new().map_err(fail)?);
        }
        match slot.as_mut() {
            Some(c) => c.set_text(text).map_err(fail),
            None => Ok(()),
        }
    }
}

/// Used by the diagram export too.
pub fn write_bytes(path: &Path, content: &[u8]) -> Result<(), ApiError> {
    write_atomically(path, |f| f.write_all(content))
}
