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
    let screens: Vec<Screen> = window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(Screen::of)
        .collect();
    let primary = window
        .primary_monitor()
        .ok()
        .flatten()
        .map(|m| Screen::of(&m));
    let (size, position) = fit(&place, &screens, primary.as_ref());
    if let Err(e) = window.set_size(size) {
        tracing::warn!(error = %e, "cannot restore the window size");
    }
    if let Some(position) = position {
        if let Err(e) = window.set_position(position) {
            tracing::warn!(error = %e, "cannot restore the window position");
        }
    }
    if place.maximized {
        let _ = window.maximize();
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Screen {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
}

impl Screen {
    fn of(m: &tauri::Monitor) -> Self {
        Screen {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
        }
    }

    fn holds(&self, x: i32, y: i32) -> bool {
        x >= self.x
            && y >= self.y
            && i64::from(x) < i64::from(self.x) + i64::from(self.width)
            && i64::from(y) < i64::from(self.y) + i64::from(self.height)
    }
}

/// The size to open at (the stored one, at least the minimum and at most the screen it lands on)
/// and the place, only when a screen still holds it: a window left on a monitor that is gone
/// opens where the system puts it.
fn fit(
    place: &Place,
    screens: &[Screen],
    primary: Option<&Screen>,
) -> (PhysicalSize<u32>, Option<PhysicalPosition<i32>>) {
    let home = screens.iter().find(|s| s.holds(place.x, place.y));
    let (mut width, mut height) = (place.width.max(MIN.0), place.height.max(MIN.1));
    if let Some(screen) = home.or(primary) {
        width = width.min(screen.width);
        height = height.min(screen.height);
    }
    (
        PhysicalSize::new(width, height),
        home.map(|_| PhysicalPosition::new(place.x, place.y)),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    const LAPTOP: Screen = Screen {
        x: 0,
        y: 0,
        width: 1440,
        height: 900,
    };
    const EXTERNAL: Screen = Screen {
        x: 1440,
        y: 0,
        width: 2560,
        height: 1440,
    };

    fn place(width: u32, height: u32, x: i32, y: i32) -> Place {
        Place {
            width,
            height,
            x,
            y,
            maximized: false,
        }
    }

    #[test]
    fn a_window_on_a_screen_still_there_comes_back_as_left() {
        let (size, pos) = fit(
            &place(2000, 1200, 1600, 100),
            &[LAPTOP, EXTERNAL],
            Some(&LAPTOP),
        );
        assert_eq!(size, PhysicalSize::new(2000, 1200));
        assert_eq!(pos, Some(PhysicalPosition::new(1600, 100)));
    }

    #[test]
    fn a_window_left_on_an_unplugged_monitor_opens_on_the_primary_and_fits_it() {
        let (size, pos) = fit(&place(2000, 1200, 1600, 100), &[LAPTOP], Some(&LAPTOP));
        assert_eq!(pos, None, "the place is on no screen: the system chooses");
        assert_eq!(
            size,
            PhysicalSize::new(1440, 900),
            "no larger than the screen"
        );
    }

    #[test]
    fn a_stored_size_never_undercuts_the_minimum() {
        let (size, _) = fit(&place(10, 10, 0, 0), &[LAPTOP], Some(&LAPTOP));
        assert_eq!(size, PhysicalSize::new(MIN.0, MIN.1));
    }
}
