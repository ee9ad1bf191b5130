//! The live subcommands: status, logs and lifecycle, each one call into `berth_api::OpenStack`.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use berth_api::{parse_since, Action, ApiError, LogLine, LogRequest, OpenStack, StatusView};

use crate::{split_dir, Command};

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

fn progress(line: berth_api::OutputLine) {
    eprintln!("{}", line.text);
}

pub async fn run(command: Command, env: HashMap<String, String>) -> Result<String, ApiError> {
    match command {
        Command::Status { stack, json, watch } => {
            let open = OpenStack::open(&stack.request(), env)?;
            if watch {
                // Edits to the compose files show in the next frame.
                open.watch_files()?;
                open.watch_status(
                    |v| {
                        let text = if json {
                            serde_json::to_string(&v).unwrap_or_default() + "\n"
                        } else {
                            format!("\x1b[2J\x1b[H{}", status_table(&v))
                        };
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(text.as_bytes());
                        let _ = out.flush();
                    },
                    ctrl_c(),
                )
                .await;
                return Ok(String::new());
            }
            let v = open.status_with_drift().await?;
            Ok(if json {
                serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
            } else {
                status_table(&v)
            })
        }
        Command::Logs {
            stack,
            services,
            follow,
            tail,
            since,
            timestamps,
            grep,
        } => {
            let (stack, services) = split_dir(stack.into(), services);
            let open = OpenStack::open(&stack.request(), env)?;
            let re = match grep.as_deref().map(regex::Regex::new) {
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => return Err(ApiError::invalid_input(format!("--grep: {e}"))),
                None => None,
            };
            let tail = match tail.as_str() {
                "all" => None,
                n => Some(n.parse::<u64>().map_err(|_| {
                    ApiError::invalid_input(format!("--tail takes a number or `all`, not {n:?}"))
                })?),
            };
            let since = match since {
                Some(s) => Some(parse_since(&s, now()).ok_or_else(|| {
                    ApiError::invalid_input(format!(
                        "--since: cannot read {s:?}; use Unix seconds, RFC 3339, or 30s/10m/2h"
                    ))
                })?),
                None => None,
            };
            let request = LogRequest {
                follow,
                tail,
                since,
                timestamps,
            };
            let width = open
                .loaded()
                .project
                .services
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(4);
            // One buffered writer for the whole output: a write per line would cost a system
            // call per line on a million-line log.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let mut print = |l: &LogLine, flush: bool| {
                if re.as_ref().is_some_and(|r| !r.is_match(&l.text)) {
                    return;
                }
                if timestamps {
                    let _ = writeln!(out, "{:<width$} | {} {}", l.service, l.timestamp, l.text);
                } else {
                    let _ = writeln!(out, "{:<width$} | {}", l.service, l.text);
                }
                if flush {
                    let _ = out.flush();
                }
            };
            if follow {
                open.follow_logs(&services, &request, |l| print(&l, true), ctrl_c())
                    .await?;
            } else {
                for l in open.logs(&services, &request).await? {
                    print(&l, false);
                }
            }
            let _ = out.flush();
            Ok(String::new())
        }
        Command::Up {
            stack,
            services,
            timeout,
            remove_orphans,
            skip_port_check,
        } => {
            let (stack, services) = split_dir(stack, services);
            let open = OpenStack::open(&stack.request(), env)?;
            let outcome = open
                .run_action(
                    Action::Up {
                        remove_orphans,
                        skip_port_check,
                    },
                    &services,
                    Duration::from_secs(timeout),
                    progress,
                    ctrl_c(),
                )
                .await?;
            Ok(outcome.status.map(|v| status_table(&v)).unwrap_or_default())
        }
        Command::Down {
            stack,
            volumes,
            remove_orphans,
        } => {
            act(
                stack,
                vec![],
                env,
                Action::Down {
                    volumes,
                    remove_orphans,
                },
            )
            .await
        }
        Command::Scale {
            stack,
            replicas,
            services,
        } => act(stack, services, env, Action::Scale { replicas }).await,
        Command::Start { stack, services } => act(stack, services, env, Action::Start).await,
        Command::Stop { stack, services } => act(stack, services, env, Action::Stop).await,
        Command::Restart { stack, services } => act(stack, services, env, Action::Restart).await,
        Command::Pull { stack, services } => act(stack, services, env, Action::Pull).await,
        Command::Rebuild { stack, services } => act(stack, services, env, Action::Rebuild).await,
        Command::Recreate { stack, services } => act(stack, services, env, Action::Recreate).await,
        Command::Stats {
            stack,
            services,
            no_stream,
            json,
        } => {
            let (stack, services) = split_dir(stack, services);
            let open = OpenStack::open(&stack.request(), env)?;
            let running = open
                .status()
                .await?
                .services
                .iter()
                .map(|s| s.replicas.running as usize)
                .sum::<usize>();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let mut done_tx = Some(done_tx);
            let mut seen = std::collections::HashSet::new();
            let stop = async move {
                tokio::select! {
                    _ = ctrl_c() => {}
                    _ = done_rx => {}
                }
            };
            open.watch_stats(
                &services,
                |s| {
                    let mut out = std::io::stdout().lock();
                    if json {
                        let _ = writeln!(out, "{}", serde_json::to_string(&s).unwrap_or_default());
                    } else {
                        let _ = writeln!(
                            out,
                            "{:<20} {:<28} cpu {:6.2}%  mem {:>9} / {:<9}  net {:>9} / {:<9}  blk {:>9} / {}",
                            s.service.as_deref().unwrap_or("-"),
                            s.container,
                            s.cpu_percent,
                            human_bytes(s.mem_used),
                            human_bytes(s.mem_limit),
                            human_bytes(s.net_rx),
                            human_bytes(s.net_tx),
                            human_bytes(s.blk_read),
                            human_bytes(s.blk_write)
                        );
                    }
                    seen.insert(s.container.clone());
                    if no_stream && seen.len() >= running {
                        if let Some(tx) = done_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                },
                stop,
            )
            .await?;
            Ok(String::new())
        }
        Command::Inspect { .. }
        | Command::Diagram { .. }
        | Command::Ports { .. }
        | Command::Tls { .. }
        | Command::Snapshot { .. }
        | Command::Doctor { .. }
        | Command::Snapshots { .. }
        | Command::Restore { .. }
        | Command::Reset { .. } => Ok(String::new()),
    }
}

/// A lifecycle action on some services (all when none are named); Ctrl-C cancels it.
async fn act(
    stack: crate::StackArgs,
    services: Vec<String>,
    env: HashMap<String, String>,
    action: Action,
) -> Result<String, ApiError> {
    let (stack, services) = split_dir(stack, services);
    let open = OpenStack::open(&stack.request(), env)?;
    open.run_action(
        action,
        &services,
        Duration::from_secs(180),
        progress,
        ctrl_c(),
    )
    .await?;
    Ok(String::new())
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn status_table(v: &StatusView) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    match (&v.engine.connected, &v.engine.message) {
        (true, _) => {
            let _ = writeln!(
                o,
                "{}  (engine {} at {})",
                v.project,
                v.engine.version.as_deref().unwrap_or("?"),
                v.engine.host.as_deref().unwrap_or("?")
            );
        }
        (false, m) => {
            let _ = writeln!(
                o,
                "{}  DISCONNECTED: {}",
                v.project,
                m.as_deref().unwrap_or("no engine")
            );
        }
    }
    let _ = writeln!(
        o,
        "{:<20} {:<12} {:<10} {:>8} {:>8} {:>12}  ports",
        "service", "state", "health", "replicas", "restarts", "uptime"
    );
    for s in &v.services {
        let health = s.health.map(|h| h.as_str()).unwrap_or("-");
        let state = match s.exit_code {
            Some(code) => format!("{} ({code})", s.state.as_str()),
            None => s.state.as_str().to_owned(),
        };
        let uptime = s.uptime.as_deref().unwrap_or("-");
        let ports: Vec<String> = s.ports.iter().map(|p| p.label.clone()).collect();
        let _ = writeln!(
            o,
            "{:<20} {:<12} {:<10} {:>8} {:>8} {:>12}  {}",
            s.name,
            state,
            health,
            format!("{}/{}", s.replicas.running, s.replicas.declared),
            s.restarts,
            uptime,
            ports.join(", ")
        );
        if let Some(d) = s.drift {
            let why = match d {
                berth_api::Drift::Config => "its settings in the files changed",
                berth_api::Drift::Image => "its image was rebuilt or pulled",
            };
            let _ = writeln!(
                o,
                "{:<20} needs recreate: {why} (berth recreate {})",
                "", s.name
            );
        }
        if s.health == Some(berth_api::HealthState::Unhealthy) {
            if let Some(out) = &s.health_output {
                let _ = writeln!(
                    o,
                    "{:<20} last health check: {}",
                    "",
                    out.lines().next().unwrap_or_default()
                );
            }
        }
    }
    o
}
