//! The app's open stacks and the live streams the window watches.

use std::collections::HashMap;
use std::sync::Mutex;

use berth_api::ApiError;
use tauri::async_runtime::JoinHandle;

use crate::commands::io_error;

/// Every stack the window opened, by session id.
pub type AppSessions = berth_api::Sessions;

/// The live stream tasks, by kind ("status", "logs", "stats", "model"). The window shows one
/// stack at a time, so starting a stream replaces the previous one of its kind: nothing runs
/// that nobody watches.
#[derive(Default)]
pub struct Streams(Mutex<HashMap<&'static str, JoinHandle<()>>>);

impl Streams {
    pub fn replace(&self, kind: &'static str, task: JoinHandle<()>) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(old) = m.insert(kind, task) {
                old.abort();
            }
        }
    }

    pub fn stop(&self, kind: &str) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(t) = m.remove(kind) {
                t.abort();
            }
        }
    }
}

/// Runs `work` on a thread of its own with a single-threaded runtime, for streams that carry a
/// line at a time: the engine connection, the splitting and the view then wake each other
/// without crossing threads (on the shared runtime, those wake-ups cost more CPU than the lines).
/// Aborting the returned task stops the work and ends the thread.
pub fn on_own_thread<F>(name: &str, work: F) -> Result<JoinHandle<()>, ApiError>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| io_error("cannot start a stream", e))?;
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                tokio::select! {
                    _ = stopped => {}
                    () = work => {}
                }
            });
        })
        .map_err(|e| io_error("cannot start a stream", e))?;
    Ok(tauri::async_runtime::spawn(async move {
        // Held until this task is aborted; dropping it resolves `stopped`.
        let _stop = stop;
        std::future::pending::<()>().await;
    }))
}
