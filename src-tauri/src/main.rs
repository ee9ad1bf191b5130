//! The Berth window. Commands are thin: call the facade, return view-ready data or `{code,
//! message}`. The webview gets no shell or file-system access, only these commands.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;

use berth_api::{ApiError, InspectView, StackRequest};

/// The stack given on the command line (`berth-app DIR`), if any.
struct InitialStack(Option<PathBuf>);

#[tauri::command]
fn initial_stack(state: tauri::State<'_, InitialStack>) -> Option<String> {
    state.0.as_ref().map(|p| p.to_string_lossy().into_owned())
}

#[tauri::command(async)]
fn inspect_stack(dir: String) -> Result<InspectView, ApiError> {
    let req = StackRequest {
        dir: Some(PathBuf::from(dir)),
        ..Default::default()
    };
    berth_api::inspect(&req, std::env::vars().collect(), false)
}

fn main() {
    let initial = std::env::args_os().nth(1).map(PathBuf::from);
    let result = tauri::Builder::default()
        .manage(InitialStack(initial))
        .invoke_handler(tauri::generate_handler![initial_stack, inspect_stack])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("berth-app: {e}");
        std::process::exit(1);
    }
}
