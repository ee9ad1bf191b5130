//! The main window comes back where the user left it: size, place and maximised state are kept in
//! the store's prefs a moment after the user stops moving or resizing it (not at quit, which a
//! killed process never reaches), and applied at start when they still fit a monitor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_store::Store;
use serde::{Deserialize, Serialize};
use tauri::{Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow, Window};

const PREF: &str = "window.main";
/// Resizing sends an event per frame; only the place where it settles is written.
const SETTLE: Duration = Duration::from_millis(400);
/// The window's configured minimum (tauri.conf.json), so a stored size never undercuts it.
const MIN: (u32, u32) = (900, 600);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Place {
    width: u32,
    height: u32,
    x: i32,
    y: i32,
    maximized: bool,
}

/// Counts window moves and resizes, so that a pending save sees that a newer one follows.
#[derive(Default, Clone)]
pub struct PlaceSaves(Arc<AtomicU64>);

/// Applies the stored place to `window`, when there is one and it is on a monitor still there.
pub async fn restore<R: Runtime>(window: &WebviewWindow<R>, store: &Store) {
    let Ok(Some(text)) = store.pref(PREF).await else {
        return;
    };
    let Ok(place) = serde_json::from_str::<Place>(&text) else {
        tracing::warn!(pref = PREF, "ignoring an unreadable window place");
        return;
    };
    let monitors = window.available_monitors().unwrap_or_default();
    let fits = monitors.iter().any(|m| {
        let (p, s) = (m.position(), m.size());
        place.x >= p.x
            && place.y >= p.y
            && place.x < p.x + s.width as i32
            && place.y < p.y + s.height as i32
    });
    let size = PhysicalSize::new(place.width.max(MIN.0), place.height.max(MIN.1));
    if let Err(e) = window.set_size(size) {
        tracing::warn!(error = %e, "cannot restore the window size");
    }
    if fits {
        if let Err(e) = window.set_position(PhysicalPosition::new(place.x, place.y)) {
            tracing::warn!(error = %e, "cannot restore the window position");
        }
    }
    if place.maximized {
        let _ = window.maximize();
    }
}

/// Called on every move and resize: saves the window's place once it has settled.
pub fn changed<R: Runtime>(window: &Window<R>) {
    let Some(saves) = window.try_state::<PlaceSaves>() else {
        return;
    };
    let saves = saves.inner().clone();
    let mine = saves.0.fetch_add(1, Ordering::SeqCst) + 1;
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        if saves.0.load(Ordering::SeqCst) != mine {
            return;
        }
        let (Ok(size), Ok(pos)) = (window.inner_size(), window.outer_position()) else {
            return;
        };
        let Some(store) = window.try_state::<Store>() else {
            return;
        };
        let maximized = window.is_maximized().unwrap_or(false);
        let before = store
            .pref(PREF)
            .await
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str::<Place>(&t).ok());
        // A maximised window keeps the size and place it had before, to return to them.
        let place = match before {
            Some(b) if maximized => Place {
                maximized: true,
                ..b
            },
            _ => Place {
                width: size.width,
                height: size.height,
                x: pos.x,
                y: pos.y,
                maximized,
            },
        };
        let Ok(text) = serde_json::to_string(&place) else {
            return;
        };
        if let Err(e) = store.set_pref(PREF, &text).await {
            tracing::warn!(error = %e, "cannot keep the window place");
        }
    });
}
