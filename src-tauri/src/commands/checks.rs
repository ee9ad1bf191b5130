//! The Checks view: the doctor's readiness checklist and diagnoses of a stack, and its fixes.
//! An open stack is checked through its session; a folder whose files do not load (a missing
//! `.env`, say) has no session, so it is checked by path, but only a folder the window asked
//! `open_stack` to open and that failed to load.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use berth_api::doctor::DoctorView;
use berth_api::{ApiError, SessionId};
use serde::Serialize;
use tauri::State;

use super::stack::{env, request};
use crate::sessions::AppSessions;

/// The folders `open_stack` was asked to open and could not load. The path commands accept no
/// other: the webview cannot aim them, and the `.env` that `create-env` writes, anywhere it has
/// not already asked to open.
#[derive(Default)]
pub struct Unopened(Mutex<HashSet<PathBuf>>);

/// One spelling per folder, so `a/../b` and a symlink find the entry `b` made.
fn key(dir: &str) -> PathBuf {
    let p = Path::new(dir);
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

impl Unopened {
    pub fn failed(&self, dir: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key(dir));
    }

    pub fn opened(&self, dir: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key(dir));
    }

    fn allowed(&self, dir: &str) -> Result<(), ApiError> {
        if self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key(dir))
        {
            Ok(())
        } else {
            Err(ApiError::invalid_input(format!(
                "{dir} is not a folder the window tried to open: open it first"
            )))
        }
    }
}

/// What a fix did, and the checklist after it.
#[derive(Serialize, ts_rs::TS)]
pub struct FixOutcome {
    pub message: String,
    pub report: DoctorView,
}

fn outcome(message: String, report: DoctorView) -> FixOutcome {
    FixOutcome {
        // The facade words it for the terminal, one line each.
        message: message.trim_end().replace('\n', "; "),
        report,
    }
}

/// The open stack's checklist and diagnoses.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn doctor_report(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<DoctorView, ApiError> {
    Ok(sessions.get(session)?.doctor().await)
}

/// Applies fix `id` the report offered to the open stack, and checks again.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn doctor_fix(
    session: SessionId,
    id: String,
    sessions: State<'_, AppSessions>,
) -> Result<FixOutcome, ApiError> {
    let stack = sessions.get(session)?;
    let message = if id == "create-env" {
        // Writing `.env` needs no session; the session then loads the variables it holds at
        // once rather than when the file watch notices.
        let done = berth_api::doctor::apply_fix(stack.request(), env(), &id).await?;
        stack.reload_now()?;
        done
    } else {
        // A remap reloads the session itself.
        stack.apply_fix(&id).await?
    };
    Ok(outcome(message, stack.doctor().await))
}

/// The checklist of a folder whose files did not load: what is wrong with them, and `.env`.
#[tauri::command(async)]
#[tracing::instrument(skip(unopened), err(Debug))]
pub async fn doctor_report_path(
    path: String,
    unopened: State<'_, Unopened>,
) -> Result<DoctorView, ApiError> {
    unopened.allowed(&path)?;
    Ok(berth_api::doctor::doctor(&request(&path), env()).await)
}

/// Applies fix `id` to a folder that did not load, and checks again. Only `create-env`: it is
/// the one fix a stack without a model can take; the others act on containers and belong to
/// the session of the opened stack.
#[tauri::command(async)]
#[tracing::instrument(skip(unopened), err(Debug))]
pub async fn doctor_fix_path(
    path: String,
    id: String,
    unopened: State<'_, Unopened>,
) -> Result<FixOutcome, ApiError> {
    unopened.allowed(&path)?;
    if id != "create-env" {
        return Err(ApiError::invalid_input(format!(
            "the fix {id:?} needs the stack open: open {path} first"
        )));
    }
    let req = request(&path);
    let message = berth_api::doctor::apply_fix(&req, env(), &id).await?;
    Ok(outcome(
        message,
        berth_api::doctor::doctor(&req, env()).await,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_folder_that_failed_to_open_is_checked_by_path() {
        let tmp = std::env::temp_dir();
        let dir = tmp.to_string_lossy().into_owned();
        let unopened = Unopened::default();
        assert!(unopened.allowed(&dir).is_err(), "never asked to open");
        unopened.failed(&dir);
        // Another spelling of the same folder is the same folder.
        let spelled = format!("{}/.", dir.trim_end_matches('/'));
        assert!(unopened.allowed(&spelled).is_ok());
        unopened.opened(&dir);
        assert!(
            unopened.allowed(&dir).is_err(),
            "opened since: its session checks it"
        );
    }
}
