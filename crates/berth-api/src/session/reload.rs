//! Reloading an opened stack when its files change: compose files, env files, mounted nginx
//! configs, and new override files next to them. A broken edit keeps the last good model and
//! says what is wrong, with file, line and column.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::{Loaded, OpenStack};
use crate::connect::Connector;
use crate::error::ApiError;

/// Editors write a file in several steps (truncate, write, rename); one reload after they
/// settle is enough.
const SETTLE: Duration = Duration::from_millis(120);

/// What the session's model is now. `generation` counts good loads; `error` is the last edit's
/// problem while the previous good model stays in use.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ModelState {
    pub generation: u64,
    pub error: Option<ApiError>,
}

/// Which changed paths matter.
#[derive(Default)]
struct Interest {
    sources: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

impl Interest {
    fn of(loaded: &Loaded) -> Self {
        Interest {
            sources: loaded.project.sources.iter().cloned().collect(),
            dirs: loaded.project.watch_dirs.iter().cloned().collect(),
        }
    }

    /// A file the load read (or looked for), or a new file in a watched folder whose name says
    /// it could join the model (an override file, an env file, an nginx config).
    fn wants(&self, path: &Path) -> bool {
        if self.sources.contains(path) {
            return true;
        }
        let in_dir = path.parent().is_some_and(|d| self.dirs.contains(d));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        in_dir
            && (name.ends_with(".yml")
                || name.ends_with(".yaml")
                || name.ends_with(".conf")
                || name.ends_with(".env")
                || name.starts_with(".env"))
    }
}

/// The running file watch; dropping it stops the watch and its task.
pub(crate) struct FileWatch {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<C: Connector> OpenStack<C> {
    /// Starts reloading this stack whenever its files change (once; later calls do nothing).
    /// Needs a Tokio runtime.
    pub fn watch_files(&self) -> Result<(), ApiError> {
        let mut slot = self.reload.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let interest = Arc::new(RwLock::new(Interest::of(&self.loaded())));
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let seen = interest.clone();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            if matches!(ev.kind, EventKind::Access(_)) {
                return;
            }
            let wanted = seen
                .read()
                .map(|i| ev.paths.iter().any(|p| i.wants(p)))
                .unwrap_or(false);
            if wanted {
                // Full means a reload is already due: this change is part of it.
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| ApiError::internal(format!("cannot watch the stack's files: {e}")))?;
        let mut watched: HashSet<PathBuf> = HashSet::new();
        sync_watches(&mut watcher, &mut watched, &interest);
        let (request, env) = (self.request.clone(), self.env.clone());
        let (loaded, model) = (self.loaded.clone(), self.model.clone());
        let task = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(SETTLE).await;
                while rx.try_recv().is_ok() {}
                let result = tokio::task::spawn_blocking({
                    let (request, env) = (request.clone(), env.clone());
                    move || Loaded::load(&request, &env)
                })
                .await;
                let result = match result {
                    Ok(r) => r,
                    Err(e) => Err(ApiError::internal(format!("reload failed: {e}"))),
                };
                match result {
                    Ok(fresh) => {
                        if let Ok(mut i) = interest.write() {
                            *i = Interest::of(&fresh);
                        }
                        if let Ok(mut l) = loaded.write() {
                            *l = Arc::new(fresh);
                        }
                        model.send_modify(|m| {
                            m.generation += 1;
                            m.error = None;
                        });
                    }
                    Err(e) => model.send_modify(|m| m.error = Some(e)),
                }
                sync_watches(&mut watcher, &mut watched, &interest);
            }
        });
        *slot = Some(FileWatch { task });
        Ok(())
    }

    /// Loads the files again now, as a change of them would: after Berth itself wrote the
    /// stack's override (a remap), which the file watch may not be watching yet.
    pub fn reload_now(&self) -> Result<(), ApiError> {
        let fresh = Loaded::load(&self.request, &self.env)?;
        if let Ok(mut l) = self.loaded.write() {
            *l = Arc::new(fresh);
        }
        self.model.send_modify(|m| {
            m.generation += 1;
            m.error = None;
        });
        Ok(())
    }

    /// Hears every reload (or failed reload) of the stack's files.
    pub fn model_updates(&self) -> watch::Receiver<ModelState> {
        self.model.subscribe()
    }
}

/// Watches exactly the folders the model names now (non-recursively: a data folder mounted
/// into a database is never walked).
fn sync_watches(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut HashSet<PathBuf>,
    interest: &RwLock<Interest>,
) {
    let want: HashSet<PathBuf> = interest
        .read()
        .map(|i| i.dirs.iter().filter(|d| d.is_dir()).cloned().collect())
        .unwrap_or_default();
    for gone in watched.difference(&want).cloned().collect::<Vec<_>>() {
        let _ = watcher.unwatch(&gone);
        watched.remove(&gone);
    }
    for new in want.difference(watched).cloned().collect::<Vec<_>>() {
        if watcher.watch(&new, RecursiveMode::NonRecursive).is_ok() {
            watched.insert(new);
        }
    }
}
