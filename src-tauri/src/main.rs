//! The Berth window. Commands are thin (see `commands/`): find the stack's session, call the
//! facade, return view-ready data or `{code, message, detail}`. Streams (status, logs, stats,
//! model reloads) go to the UI over channels, one task per kind, replaced when the UI asks
//! again. The webview gets no shell or file-system access, only these commands.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod sessions;
mod setup;
mod window_place;

#[cfg(test)]
mod bindings;

use std::path::PathBuf;

use commands::{checks, diagram, logs, ports, prefs, snapshots, stack, terminal, tls};

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
        .manage(stack::InitialStack(initial))
        .manage(sessions::AppSessions::default())
        .manage(sessions::Streams::default())
        .manage(checks::Unopened::default())
        .manage(logs::Logs::default())
        .manage(logs::Clipboard::default())
        .manage(terminal::Terminals::default())
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
        .setup(setup::init)
        .invoke_handler(tauri::generate_handler![
            stack::initial_stack,
            stack::open_stack,
            stack::close_stack,
            stack::recent_stacks,
            stack::forget_stack,
            stack::discovered_projects,
            stack::watch_model,
            stack::watch_status,
            stack::watch_stats,
            stack::watch_usage,
            stack::machine_check,
            stack::service_drift,
            stack::stop_stream,
            stack::stack_action,
            stack::cancel_action,
            stack::service_environment,
            stack::service_inspect,
            stack::open_port,
            stack::pick_stack_folder,
            diagram::export_diagram,
            diagram::node_positions,
            diagram::save_node_position,
            diagram::reset_layout,
            diagram::saved_layout,
            diagram::save_layout,
            diagram::save_export,
            ports::check_ports,
            ports::port_remaps,
            ports::remap_port,
            ports::unremap_port,
            ports::stop_port_holder,
            ports::write_port_override,
            tls::tls_status,
            tls::tls_stores,
            tls::tls_make_trusted,
            tls::tls_untrust,
            snapshots::snapshots_list,
            snapshots::snapshot_take,
            snapshots::snapshot_restore,
            snapshots::stack_reset,
            snapshots::snapshot_delete,
            snapshots::snapshot_label,
            checks::doctor_report,
            checks::doctor_fix,
            checks::doctor_report_path,
            checks::doctor_fix_path,
            prefs::ui_prefs,
            prefs::save_ui_prefs,
            logs::open_logs,
            logs::log_window,
            logs::log_filter,
            logs::copy_logs,
            logs::export_logs,
            terminal::terminal_open,
            terminal::terminal_input,
            terminal::terminal_resize,
            terminal::terminal_close,
            terminal::terminal_copy,
            terminal::terminal_paste,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("berth-app: {e}");
        std::process::exit(1);
    }
}
