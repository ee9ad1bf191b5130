//! The Certificates view: the stack's HTTPS endpoints, the trust stores, and "Make HTTPS
//! trusted" (trust with consent, then issue, place, restart, verify).

use berth_api::tls::{
    StepStatus, StoreChoice, StoreView, TlsIssueView, TlsStep, TlsView, TrustView,
};
use berth_api::{ApiError, SessionId};
use tauri::ipc::Channel;
use tauri::State;

use super::stack::env;
use crate::sessions::AppSessions;

/// Each HTTPS endpoint of the stack with its certificate's state, proven by a handshake.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions), err(Debug))]
pub async fn tls_status(
    session: SessionId,
    sessions: State<'_, AppSessions>,
) -> Result<TlsView, ApiError> {
    sessions.get(session)?.tls_status().await
}

/// The machine's trust stores, for the consent dialog.
#[tauri::command(async)]
pub fn tls_stores() -> Vec<StoreView> {
    berth_api::tls::machine_stores(&env())
}

/// Trusts Berth's CA in the stores the user agreed to (`system`, `nss` or `all`; none when
/// empty), then issues, places, restarts and verifies. Every step goes to `on_step` as it ends.
#[tauri::command(async)]
#[tracing::instrument(skip(sessions, on_step), err(Debug))]
pub async fn tls_make_trusted(
    session: SessionId,
    stores: Option<String>,
    on_step: Channel<TlsStep>,
    sessions: State<'_, AppSessions>,
) -> Result<TlsIssueView, ApiError> {
    let stack = sessions.get(session)?;
    let mut first = Vec::new();
    if let Some(choice) = stores.as_deref() {
        let choice = StoreChoice::parse(choice)
            .ok_or_else(|| ApiError::invalid_input(format!("no store kind {choice:?}")))?;
        let env = env();
        let trusted = tauri::async_runtime::spawn_blocking(move || {
            berth_api::tls::trust_ca(
                &env,
                choice,
                berth_api::tls::window_elevation(),
                std::time::SystemTime::now(),
            )
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let step = match trusted {
            Ok(v) => TlsStep::new(
                "trust",
                if v.failed {
                    StepStatus::Fail
                } else {
                    StepStatus::Ok
                },
                v.results.join("; "),
            ),
            Err(e) => TlsStep::new("trust", StepStatus::Fail, e.message),
        };
        let _ = on_step.send(step.clone());
        first.push(step);
    }
    let mut view = stack
        .tls_issue(|s| {
            let _ = on_step.send(s.clone());
        })
        .await?;
    first.append(&mut view.steps);
    view.steps = first;
    Ok(view)
}

/// Removes Berth's CA from every store that trusts it.
#[tauri::command(async)]
#[tracing::instrument(err(Debug))]
pub fn tls_untrust() -> Result<TrustView, ApiError> {
    berth_api::tls::untrust_ca(&env(), berth_api::tls::window_elevation())
}
