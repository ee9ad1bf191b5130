//! What the app does once at start: the log file, the store, the window's place, the menu.

use berth_store::Store;
use tauri::menu::{MenuBuilder, SubmenuBuilder};
use tauri::{Emitter, Manager};

pub fn init(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    // Rotating log file: one a day, a week kept, in the app's log folder.
    let logs = app.path().app_log_dir()?;
    std::fs::create_dir_all(&logs)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .max_log_files(7)
        .filename_prefix("berth")
        .filename_suffix("log")
        .build(&logs)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        // One line per command when it returns, with how long it took.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    app.manage(guard);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "berth started");
    // The data folder the CLI uses too (remaps, certificates, snapshots are shared with it);
    // the same place Tauri's app_data_dir names, and BERTH_DATA_DIR moves both.
    let data = berth_api::data_dir(&std::env::vars().collect());
    std::fs::create_dir_all(&data)?;
    let store = tauri::async_runtime::block_on(Store::open(&data.join("berth.db")))?;
    if let Some(notice) = store.notice() {
        tracing::warn!("{notice}");
    }
    if let Some(window) = app.get_webview_window("main") {
        tauri::async_runtime::block_on(crate::window_place::restore(&window, &store));
    }
    app.manage(store);
    // The native menu only asks the UI to act; the UI owns what "open" and "reload" mean.
    let file = SubmenuBuilder::new(app, "File")
        .text("open", "Open stack…")
        .text("reload", "Reload")
        .separator()
        .quit()
        .build()?;
    let menu = MenuBuilder::new(app).item(&file).build()?;
    app.set_menu(menu)?;
    app.on_menu_event(|app, event| {
        let _ = app.emit("menu", event.id().as_ref());
    });
    Ok(())
}
