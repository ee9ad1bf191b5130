//! The Berth window. Commands are thin: call the facade, return view-ready data or `{code,
//! message}`. Streams (status, logs) go to the UI over channels, one task per stream kind,
//! replaced when the UI asks again (a new selection) so nothing runs that nobody watches. The
//! webview gets no shell or file-system access, only these commands.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod window_place;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use berth_api::log_view::{LogCounts, LogView, LogWindow, RowOptions};
use berth_api::{
    Action, ApiError, ErrorCode, InspectView, LogRequest, OpenStack, StackRequest, StatusView,
};
use berth_store::{NodePosition, SavedLayout, Store};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tauri::menu::{MenuBuilder, SubmenuBuilder};
use tauri::{Emitter, Manager, State};

/// Lines of history per container when a log view opens.
const LOG_HISTORY: u64 = 5000;

/// The stack given on the command line (`berth-app DIR`), if any.
struct InitialStack(Option<PathBuf>);

/// The live stream tasks, by kind ("status", "logs"). Starting one replaces the previous.
#[derive(Default)]
struct Streams(Mutex<HashMap<&'static str, JoinHandle<()>>>);

impl Streams {
    fn replace(&self, kind: &'static str, task: JoinHandle<()>) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(old) = m.insert(kind, task) {
                old.abort();
            }
        }
    }
}

fn env() -> HashMap<String, String> {
    std::env::vars().collect()
}

fn request(dir: &str) -> StackRequest {
    StackRequest {
        dir: Some(PathBuf::from(dir)),
        ..Default::default()
    }
}

#[tauri::command]
fn initial_stack(state: State<'_, InitialStack>) -> Option<String> {
    state.0.as_ref().map(|p| p.to_string_lossy().into_owned())
}

fn store_error(e: berth_store::StoreError) -> ApiError {
    ApiError {
        code: ErrorCode::Internal,
        message: e.to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Opens a stack and remembers it for the sidebar.
#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
async fn open_stack(dir: String, store: State<'_, Store>) -> Result<InspectView, ApiError> {
    let view = berth_api::inspect(&request(&dir), env(), false)?;
    store
        .remember_stack(&dir, &view.project, now())
        .await
        .map_err(store_error)?;
    Ok(view)
}

#[derive(serde::Serialize)]
struct RecentStackView {
    path: String,
    name: String,
}

#[tauri::command(async)]
async fn recent_stacks(store: State<'_, Store>) -> Result<Vec<RecentStackView>, ApiError> {
    Ok(store
        .recent_stacks()
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|s| RecentStackView {
            path: s.path,
            name: s.name,
        })
        .collect())
}

/// Where the user put diagram nodes of this stack; the rest keep the automatic layout.
#[tauri::command(async)]
async fn node_positions(
    dir: String,
    store: State<'_, Store>,
) -> Result<Vec<NodePosition>, ApiError> {
    store.positions(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
async fn save_node_position(
    dir: String,
    node: String,
    x: f64,
    y: f64,
    store: State<'_, Store>,
) -> Result<(), ApiError> {
    store
        .save_position(&dir, &node, x, y)
        .await
        .map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
async fn reset_layout(dir: String, store: State<'_, Store>) -> Result<(), ApiError> {
    store.clear_positions(&dir).await.map_err(store_error)
}

/// How the user left the log view's switches; kept in prefs so the next start shows the same.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct UiPrefs {
    log_timestamps: bool,
    log_all_services: bool,
}

const UI_PREFS: &str = "ui";

#[tauri::command(async)]
async fn ui_prefs(store: State<'_, Store>) -> Result<UiPrefs, ApiError> {
    let text = store.pref(UI_PREFS).await.map_err(store_error)?;
    // Prefs from another version that do not parse are the defaults, not an error.
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

#[tauri::command(async)]
#[tracing::instrument(skip(store), err(Debug))]
async fn save_ui_prefs(prefs: UiPrefs, store: State<'_, Store>) -> Result<(), ApiError> {
    let text = serde_json::to_string(&prefs).map_err(|e| io_error("cannot save preferences", e))?;
    store.set_pref(UI_PREFS, &text).await.map_err(store_error)
}

/// Opens a port the stack publishes in the default browser. The app builds the URL, and only
/// ever for localhost: the webview cannot make it open anything else.
#[tauri::command(async)]
#[tracing::instrument(err(Debug))]
fn open_port(host_port: u16, container_port: u16) -> Result<String, ApiError> {
    let scheme = if matches!(container_port, 443 | 8443) {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://localhost:{host_port}/");
    open::that_detached(&url).map_err(|e| ApiError {
        code: ErrorCode::Internal,
        message: format!(
            "Could not open {url} in a browser ({e}). Set a default browser, or open the address by hand."
        ),
    })?;
    Ok(url)
}

/// The stack's last automatic layout and the graph it was computed from; the UI draws it at once
/// when its graph is unchanged, and lays out anew otherwise.
#[tauri::command(async)]
async fn saved_layout(
    dir: String,
    store: State<'_, Store>,
) -> Result<Option<SavedLayout>, ApiError> {
    store.layout(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(skip_all, fields(dir = %dir, bytes = input.len() + output.len()), err(Debug))]
async fn save_layout(
    dir: String,
    input: String,
    output: String,
    store: State<'_, Store>,
) -> Result<(), ApiError> {
    store
        .save_layout(&dir, &SavedLayout { input, output })
        .await
        .map_err(store_error)
}

#[tauri::command(async)]
async fn discovered_projects() -> Result<Vec<berth_api::DiscoveredProject>, ApiError> {
    berth_api::discover_projects(&env()).await
}

#[tauri::command(async)]
async fn forget_stack(dir: String, store: State<'_, Store>) -> Result<(), ApiError> {
    store.forget_stack(&dir).await.map_err(store_error)
}

#[tauri::command(async)]
#[tracing::instrument(err(Debug))]
fn export_diagram(dir: String, format: String) -> Result<String, ApiError> {
    let format = match format.as_str() {
        "dot" => berth_api::DiagramFormat::Dot,
        _ => berth_api::DiagramFormat::Mermaid,
    };
    berth_api::diagram(&request(&dir), env(), format)
}

#[tauri::command(async)]
fn service_environment(
    dir: String,
    service: String,
    reveal: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let view = berth_api::inspect(&request(&dir), env(), reveal)?;
    Ok(view
        .services
        .into_iter()
        .find(|s| s.name == service)
        .map(|s| s.environment)
        .unwrap_or_default())
}

#[tauri::command(async)]
#[tracing::instrument(skip(on_update, streams), err(Debug))]
fn watch_status(
    dir: String,
    on_update: Channel<StatusView>,
    streams: State<'_, Streams>,
) -> Result<(), ApiError> {
    let open = OpenStack::open(&request(&dir), env())?;
    let task = tauri::async_runtime::spawn(async move {
        open.watch_status(
            |v| {
                let _ = on_update.send(v);
            },
            std::future::pending(),
        )
        .await;
    });
    streams.replace("status", task);
    Ok(())
}

/// The log view being followed: lines live here, in Rust, and the UI asks for the rows it shows.
#[derive(Default)]
struct Logs(Mutex<Arc<Mutex<LogView>>>);

impl Logs {
    fn current(&self) -> Arc<Mutex<LogView>> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Starts a fresh log view of `services` (all when empty): merged history first, then every new
/// line. `on_counts` hears, at most every 100 ms and only when lines arrived, how many rows there
/// are. If the engine goes away, following resumes by itself when it returns.
#[tauri::command(async)]
#[tracing::instrument(skip(on_counts, streams, logs), err(Debug))]
fn open_logs(
    dir: String,
    services: Vec<String>,
    on_counts: Channel<LogCounts>,
    streams: State<'_, Streams>,
    logs: State<'_, Logs>,
) -> Result<(), ApiError> {
    let open = OpenStack::open(&request(&dir), env())?;
    let view = Arc::new(Mutex::new(LogView::default()));
    if let Ok(mut current) = logs.0.lock() {
        *current = view.clone();
    }
    let work = async move {
        let arrived = tokio::sync::Notify::new();
        let follow = async {
            let mut req = LogRequest {
                follow: true,
                tail: Some(LOG_HISTORY),
                since: None,
                timestamps: true,
            };
            let mut backoff = Duration::from_millis(500);
            loop {
                let result = open
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
                    tracing::info!(error = %e, "log follow ended; retrying");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                // What was shown stays; after a reconnect only new lines are wanted.
                req.tail = Some(0);
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

/// Runs `work` on a thread of its own with a single-threaded runtime, for streams that carry a
/// line at a time: the engine connection, the splitting and the view then wake each other
/// without crossing threads (on the shared runtime, those wake-ups cost more CPU than the lines).
/// Aborting the returned task stops the work and ends the thread.
fn on_own_thread<F>(name: &str, work: F) -> Result<JoinHandle<()>, ApiError>
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

#[tauri::command]
fn log_window(start: u64, count: usize, options: RowOptions, logs: State<'_, Logs>) -> LogWindow {
    let view = logs.current();
    let v = view.lock().unwrap_or_else(|p| p.into_inner());
    v.window(start, count.min(2000), options)
}

#[tauri::command]
#[tracing::instrument(skip(logs), err(Debug))]
fn log_filter(query: String, regex: bool, logs: State<'_, Logs>) -> Result<LogCounts, ApiError> {
    let view = logs.current();
    let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
    v.set_filter(&query, regex)
}

fn io_error(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: ErrorCode::Internal,
        message: format!("{what}: {e}"),
    }
}

/// Copies the shown log rows, secrets masked, to the system clipboard. Returns how many.
#[tauri::command(async)]
#[tracing::instrument(skip(logs, clipboard), err(Debug))]
fn copy_logs(
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
fn export_logs(
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

/// Asks where to save a diagram export and writes `content` there. `None` when cancelled.
#[tauri::command(async)]
#[tracing::instrument(skip(app, content), err(Debug))]
fn save_export(
    file_name: String,
    content: Vec<u8>,
    app: tauri::AppHandle,
) -> Result<Option<String>, ApiError> {
    let Some(path) = save_dialog(&app, "Export diagram", &file_name) else {
        return Ok(None);
    };
    write_atomically(&path, |f| f.write_all(&content))?;
    Ok(Some(path.to_string_lossy().into_owned()))
}

/// The native folder picker, for "Open stack…", starting beside the stack open now (or at
/// home). `None` when cancelled.
#[tauri::command(async)]
fn pick_stack_folder(current: Option<String>, app: tauri::AppHandle) -> Option<String> {
    use tauri_plugin_dialog::DialogExt;
    let start = current
        .as_deref()
        .and_then(|c| std::path::Path::new(c).parent().map(PathBuf::from))
        .or_else(|| app.path().home_dir().ok());
    let mut dialog = app.dialog().file().set_title("Open a compose project");
    if let Some(dir) = start {
        dialog = dialog.set_directory(dir);
    }
    dialog
        .blocking_pick_folder()
        .and_then(|p| p.into_path().ok())
        .map(|p| p.to_string_lossy().into_owned())
}

fn save_dialog(app: &tauri::AppHandle, title: &str, file_name: &str) -> Option<PathBuf> {
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
fn write_atomically(
    path: &std::path::Path,
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
struct Clipboard(Mutex<Option<arboard::Clipboard>>);

impl Clipboard {
    fn set_text(&self, text: String) -> Result<(), ApiError> {
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

/// Streams resource samples of one service while its panel is open; replaced by the next
/// selection and stopped by `stop_stream("stats")`.
#[tauri::command(async)]
#[tracing::instrument(skip(on_sample, streams), err(Debug))]
fn watch_stats(
    dir: String,
    service: String,
    on_sample: Channel<berth_api::StatsSample>,
    streams: State<'_, Streams>,
) -> Result<(), ApiError> {
    let open = OpenStack::open(&request(&dir), env())?;
    let task = tauri::async_runtime::spawn(async move {
        let _ = open
            .watch_stats(
                &[service],
                |s| {
                    let _ = on_sample.send(s);
                },
                std::future::pending(),
            )
            .await;
    });
    streams.replace("stats", task);
    Ok(())
}

#[tauri::command]
fn stop_stream(kind: String, streams: State<'_, Streams>) {
    if let Ok(mut m) = streams.0.lock() {
        if let Some(t) = m.remove(kind.as_str()) {
            t.abort();
        }
    }
}

#[tauri::command(async)]
#[tracing::instrument(skip(on_progress), err(Debug))]
async fn stack_action(
    dir: String,
    action: String,
    services: Vec<String>,
    on_progress: Channel<String>,
) -> Result<(), ApiError> {
    let open = OpenStack::open(&request(&dir), env())?;
    let progress = |l: berth_api::OutputLine| {
        let _ = on_progress.send(l.text);
    };
    match action.as_str() {
        "up" => open
            .up(&services, progress, std::time::Duration::from_secs(180))
            .await
            .map(|_| ()),
        "down" => {
            open.compose(
                &["down", "--remove-orphans"],
                progress,
                std::future::pending(),
            )
            .await
        }
        "start" => open.act(Action::Start, &services, progress).await,
        "stop" => open.act(Action::Stop, &services, progress).await,
        "restart" => open.act(Action::Restart, &services, progress).await,
        "rebuild" => open.rebuild(&services, progress).await,
        other => Err(ApiError {
            code: ErrorCode::Internal,
            message: format!("unknown action {other:?}"),
        }),
    }
}

fn main() {
    // WebKitGTK's GPU compositing costs the web process ~90 MB more at idle (measured under Xvfb:
    // 309 vs 223 MB RSS) and is behind blank windows on some drivers; a small, virtualised UI
    // gains nothing from it. Set before GTK starts, and only when the user has not chosen.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let initial = std::env::args_os().nth(1).map(PathBuf::from);
    let result = tauri::Builder::default()
        .manage(InitialStack(initial))
        .manage(Streams::default())
        .manage(Logs::default())
        .manage(Clipboard::default())
        .manage(window_place::PlaceSaves::default())
        .on_window_event(|window, event| {
            if matches!(
                event,
                tauri::WindowEvent::Resized(_) | tauri::WindowEvent::Moved(_)
            ) {
                window_place::changed(window);
            }
        })
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
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
            let data = app.path().app_data_dir()?;
            std::fs::create_dir_all(&data)?;
            let store = tauri::async_runtime::block_on(Store::open(&data.join("berth.db")))?;
            if let Some(window) = app.get_webview_window("main") {
                tauri::async_runtime::block_on(window_place::restore(&window, &store));
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
        })
        .invoke_handler(tauri::generate_handler![
            initial_stack,
            open_stack,
            recent_stacks,
            forget_stack,
            discovered_projects,
            export_diagram,
            service_environment,
            watch_status,
            node_positions,
            save_node_position,
            reset_layout,
            saved_layout,
            save_layout,
            open_port,
            ui_prefs,
            save_ui_prefs,
            open_logs,
            log_window,
            log_filter,
            copy_logs,
            export_logs,
            save_export,
            pick_stack_folder,
            watch_stats,
            stop_stream,
            stack_action
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("berth-app: {e}");
        std::process::exit(1);
    }
}
