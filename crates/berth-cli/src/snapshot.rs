//! `berth snapshot`, `snapshots`, `restore`, `reset`: a stack's data saved, listed, put back,
//! and a reset that always keeps a safety snapshot.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use berth_api::{ApiError, OpenStack, SnapshotProgress, SnapshotView};
use clap::Subcommand;

use crate::StackArgs;

#[derive(Subcommand, Clone)]
pub enum SnapshotCommand {
    /// Delete a snapshot: its catalog entry and its files
    Rm {
        id: String,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Write one snapshot as a single file, to hand a seeded database to a teammate
    Export {
        id: String,
        file: PathBuf,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Bring in a snapshot file made by `berth snapshot export` as a snapshot of this stack
    Import {
        file: PathBuf,
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
    },
    /// Give a snapshot a label (an empty one removes it)
    Label {
        id: String,
        label: String,
        #[command(flatten)]
        stack: StackArgs,
    },
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Progress lines on stderr (stdout stays the result), unless JSON was asked for.
fn progress(quiet: bool) -> impl FnMut(SnapshotProgress) + Send {
    let mut last = String::new();
    move |p: SnapshotProgress| {
        if quiet {
            return;
        }
        if p.step != last {
            eprintln!("{}", p.step);
            last = p.step.clone();
        }
    }
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn snapshot_text(s: &SnapshotView) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "snapshot {}  {}  {}{}",
        s.id,
        s.created,
        size(s.bytes),
        s.label
            .as_ref()
            .map(|l| format!("  \"{l}\""))
            .unwrap_or_default()
    );
    for i in &s.items {
        let what = match (&i.database, &i.volume) {
            (_, Some(v)) => format!("volume {v}"),
            (Some(d), _) => format!("database {d}"),
            (None, _) if matches!(i.kind, berth_api::ItemKind::Redis) => "dataset".into(),
            (None, _) => "roles".into(),
        };
        let counted: i64 = i
            .counts
            .iter()
            .filter(|(k, _)| k.as_str() != "bytes")
            .map(|(_, v)| v)
            .sum();
        let _ = writeln!(
            o,
            "  {:<14} {:<9} {:<28} {:>9}  {} {}",
            i.service,
            serde_json::to_value(i.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            what,
            size(i.bytes),
            counted,
            if i.kind == berth_api::ItemKind::Volume {
                "files"
            } else if i.kind == berth_api::ItemKind::Redis {
                "keys"
            } else {
                "rows"
            }
        );
    }
    o
}

pub async fn snapshot(
    stack: StackArgs,
    services: Vec<String>,
    label: Option<String>,
    j: bool,
    env: HashMap<String, String>,
) -> Result<String, ApiError> {
    let (stack, services) = crate::split_dir(stack, services);
    let open = OpenStack::open(&stack.request(), env.clone())?;
    let store = berth_api::open_catalog(&env).await?;
    let view = open
        .take_snapshot(&store, &services, label, progress(j), ctrl_c())
        .await?;
    Ok(if j { json(&view) } else { snapshot_text(&view) })
}

pub async fn subcommand(
    cmd: SnapshotCommand,
    env: HashMap<String, String>,
) -> Result<String, ApiError> {
    let store = berth_api::open_catalog(&env).await?;
    match cmd {
        SnapshotCommand::Rm { id, stack } => {
            let open = OpenStack::open(&stack.request(), env)?;
            open.delete_snapshot(&store, &id).await?;
            Ok(format!("deleted snapshot {id}\n"))
        }
        SnapshotCommand::Export { id, file, stack } => {
            let open = OpenStack::open(&stack.request(), env)?;
            let bytes = open.export_snapshot(&store, &id, &file).await?;
            Ok(format!(
                "exported snapshot {id} to {} ({})\n",
                file.display(),
                size(bytes)
            ))
        }
        SnapshotCommand::Import {
            file,
            stack,
            json: j,
        } => {
            let open = OpenStack::open(&stack.request(), env)?;
            let view = open.import_snapshot(&store, &file).await?;
            Ok(if j { json(&view) } else { snapshot_text(&view) })
        }
        SnapshotCommand::Label { id, label, stack } => {
            let open = OpenStack::open(&stack.request(), env)?;
            let label = Some(label.as_str()).filter(|l| !l.is_empty());
            let view = open.label_snapshot(&store, &id, label).await?;
            Ok(snapshot_text(&view))
        }
    }
}

pub async fn list(
    stack: StackArgs,
    j: bool,
    env: HashMap<String, String>,
) -> Result<String, ApiError> {
    let open = OpenStack::open(&stack.request(), env.clone())?;
    let store = berth_api::open_catalog(&env).await?;
    let list = open.snapshots(&store).await?;
    if j {
        return Ok(json(&list));
    }
    if list.is_empty() {
        return Ok(format!(
            "no snapshots of {} yet (`berth snapshot` takes one)\n",
            open.project_name()
        ));
    }
    Ok(list
        .iter()
        .map(snapshot_text)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `berth restore [DIR] ID [SERVICE...]`: the first word is the folder only when it is one.
pub async fn restore(
    stack: StackArgs,
    words: Vec<String>,
    allow_upgrade: bool,
    j: bool,
    env: HashMap<String, String>,
) -> Result<String, ApiError> {
    let (stack, mut words) = crate::split_dir(stack, words);
    if words.is_empty() {
        return Err(ApiError::invalid_input(
            "restore needs a snapshot id (`berth snapshots` lists them)",
        ));
    }
    let id = words.remove(0);
    let open = OpenStack::open(&stack.request(), env.clone())?;
    let store = berth_api::open_catalog(&env).await?;
    let view = open
        .restore_snapshot(&store, &id, &words, allow_upgrade, progress(j), ctrl_c())
        .await?;
    if j {
        return Ok(json(&view));
    }
    let mut o = format!("restored snapshot {id}\n");
    for i in &view.restored {
        let what = i
            .volume
            .clone()
            .or(i.database.clone())
            .unwrap_or_else(|| "data".into());
        let _ = writeln!(o, "  {:<14} {what}: counts match the snapshot", i.service);
    }
    Ok(o)
}

pub async fn reset(
    stack: StackArgs,
    no_build: bool,
    yes: bool,
    timeout: u64,
    j: bool,
    env: HashMap<String, String>,
) -> Result<String, ApiError> {
    let open = OpenStack::open(&stack.request(), env.clone())?;
    let name = open.project_name();
    if !yes {
        let asked = "Reset {name}: a safety snapshot first, then every container and volume of the stack is removed and the stack started fresh";
        if !std::io::stdin().is_terminal() {
            return Err(ApiError::invalid_input(format!(
                "{}. Pass --yes to confirm.",
                asked.replace("{name}", &name)
            )));
        }
        eprint!("{}. Go on? [y/N] ", asked.replace("{name}", &name));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(ApiError::new(
                berth_api::ErrorCode::Cancelled,
                "reset not started; nothing was changed",
            ));
        }
    }
    let store = berth_api::open_catalog(&env).await?;
    let view = open
        .reset_stack(
            &store,
            !no_build,
            Duration::from_secs(timeout),
            progress(j),
            move |l: berth_api::OutputLine| {
                if !j {
                    eprintln!("{}", l.text);
                }
            },
            ctrl_c(),
        )
        .await?;
    if j {
        return Ok(json(&view));
    }
    Ok(format!(
        "{name} was reset: {}\nsafety snapshot {} (restore it with `berth restore {}`)\n",
        view.status.summary.text, view.safety.id, view.safety.id
    ))
}

/// Ctrl-C cancels at the next step: nothing is left half done.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
