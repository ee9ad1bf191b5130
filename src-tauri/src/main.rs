//! The Berth window. Commands are thin: call the facade, return view-ready data or `{code,
//! message}`. Streams (status, logs) go to the UI over channels, one task per stream kind,
//! replaced when the UI asks again (a new selection) so nothing runs that nobody watches. The
//! webview gets no shell or file-system access, only these commands.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use berth_api::{
    Action, ApiError, ErrorCode, InspectView, LogLine, LogRequest, OpenStack, StackRequest,
    StatusView,
};
use berth_store::Store;
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tauri::menu::{MenuBuilder, SubmenuBuilder};
use tauri::{Emitter, Manager, State};

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

#[tauri::command(async)]
#[tracing::instrument(skip(on_line, streams), err(Debug))]
fn follow_logs(
    dir: String,
    services: Vec<String>,
    on_line: Channel<LogLine>,
    streams: State<'_, Streams>,
) -> Result<(), ApiError> {
    let open = OpenStack::open(&request(&dir), env())?;
    let task = tauri::async_runtime::spawn(async move {
        let req = LogRequest {
            follow: true,
            tail: Some(500),
            since: None,
            timestamps: false,
        };
        let _ = open
            .follow_logs(
                &services,
                &req,
                |l| {
                    let _ = on_line.send(l);
                },
                std::future::pending(),
            )
            .await;
    });
    streams.replace("logs", task);
    Ok(())
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
    let initial = std::env::args_os().nth(1).map(PathBuf::from);
    let result = tauri::Builder::default()
        .manage(InitialStack(initial))
        .manage(Streams::default())
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
            follow_logs,
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
