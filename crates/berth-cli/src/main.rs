//! `berth`: Berth from a terminal. Every subcommand is one call into `berth-api`, the same facade
//! the desktop app uses, so both always agree.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use berth_api::{DiagramFormat, InspectView, StackRequest};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod doctor;
mod live;
mod ports;
mod snapshot;
mod tls;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "See, run and fix Docker Compose stacks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The options that pick a stack, as `docker compose` takes them.
#[derive(Args, Clone)]
struct StackArgs {
    /// Project folder (default: the current folder)
    dir: Option<PathBuf>,
    /// Compose file; repeat to merge several, later ones override earlier ones
    #[arg(short = 'f', long = "file")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    rest: StackRest,
}

/// The same options for `logs`, where `-f` means follow as in `docker compose logs -f`.
#[derive(Args, Clone)]
struct LogStackArgs {
    /// Project folder (default: the current folder)
    dir: Option<PathBuf>,
    /// Compose file; repeat to merge several
    #[arg(long = "file")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    rest: StackRest,
}

#[derive(Args, Clone)]
struct StackRest {
    /// Project name
    #[arg(short = 'p', long = "project-name")]
    project_name: Option<String>,
    /// Enable a profile; repeatable
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Env file used for interpolation instead of the project's .env; repeatable
    #[arg(long = "env-file")]
    env_files: Vec<PathBuf>,
}

impl From<LogStackArgs> for StackArgs {
    fn from(a: LogStackArgs) -> Self {
        StackArgs {
            dir: a.dir,
            files: a.files,
            rest: a.rest,
        }
    }
}

impl StackArgs {
    fn request(&self) -> StackRequest {
        StackRequest {
            dir: self.dir.clone(),
            files: self.files.clone(),
            project_name: self.rest.project_name.clone(),
            profiles: self.rest.profiles.clone(),
            env_files: self.rest.env_files.clone(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Mermaid,
    Dot,
}

#[derive(Subcommand)]
enum Command {
    /// Trusted local HTTPS: Berth's CA, the trust stores, the stack's certificates
    Tls {
        #[command(subcommand)]
        action: tls::TlsCommand,
    },
    /// Describe a stack: services, ports, networks, volumes and how services connect
    Inspect {
        #[command(flatten)]
        stack: StackArgs,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// Show secret values instead of masking them
        #[arg(long)]
        show_secrets: bool,
    },
    /// Print the architecture diagram as Mermaid or Graphviz text
    Diagram {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: Format,
    },
    /// Show every service's state, health, replicas and ports, live from the engine
    Status {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
        /// Keep watching: print again on every change the engine reports (Ctrl-C to stop)
        #[arg(long)]
        watch: bool,
    },
    /// Show service logs, merged across services by time
    Logs {
        #[command(flatten)]
        stack: LogStackArgs,
        /// Services (default: all)
        services: Vec<String>,
        /// Keep following new output, including containers that start later
        #[arg(short = 'f', long)]
        follow: bool,
        /// Lines from the end of each container's log, or `all`
        #[arg(long, default_value = "all")]
        tail: String,
        /// Only lines since this time: Unix seconds, RFC 3339, or 30s/10m/2h ago
        #[arg(long)]
        since: Option<String>,
        /// Show each line's timestamp
        #[arg(short = 't', long)]
        timestamps: bool,
        /// Only lines matching this regular expression
        #[arg(long)]
        grep: Option<String>,
    },
    /// Stream CPU, memory, network and disk use of running services (Ctrl-C to stop)
    Stats {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
        /// Print one sample per container and exit
        #[arg(long)]
        no_stream: bool,
        /// One JSON object per sample
        #[arg(long)]
        json: bool,
    },
    /// Start the stack (or some services) and wait until they are healthy
    Up {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
        /// Seconds to wait for health before giving up
        #[arg(long, default_value_t = 180)]
        timeout: u64,
        /// Also remove containers of this project that no compose file here declares
        #[arg(long)]
        remove_orphans: bool,
        /// Start without checking host ports first (compose then fails on a taken one)
        #[arg(long)]
        skip_port_check: bool,
    },
    /// Check every host port the stack publishes: free, held by this stack, or held by whom.
    /// Exit 6 when any is taken by something else
    Ports {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
        /// Publish a service's host port as another one: SERVICE:HOST_PORT=NEW (kept in Berth's
        /// override file for this stack, passed last to every compose call)
        #[arg(long, value_name = "SERVICE:HOST_PORT=NEW")]
        remap: Option<String>,
        /// Take a remap back: SERVICE:HOST_PORT
        #[arg(long, value_name = "SERVICE:HOST_PORT", conflicts_with = "remap")]
        unremap: Option<String>,
        /// Stop the container of another compose stack that holds SERVICE's HOST_PORT, through
        /// that stack's own `compose stop` (never a host process)
        #[arg(long, value_name = "SERVICE:HOST_PORT", conflicts_with_all = ["remap", "unremap"])]
        stop_holder: Option<String>,
        /// Write Berth's override into the project as its compose override file, and drop the
        /// remaps Berth kept (refused when the project has an override file already)
        #[arg(long, conflicts_with_all = ["remap", "unremap", "stop_holder"])]
        write_override: bool,
    },
    /// Save the stack's data: databases dumped with their own tools, other named volumes
    /// archived; compressed, checksummed and recorded in Berth's catalog
    #[command(args_conflicts_with_subcommands = true)]
    Snapshot {
        #[command(subcommand)]
        action: Option<snapshot::SnapshotCommand>,
        #[command(flatten)]
        stack: StackArgs,
        /// Services (default: all)
        services: Vec<String>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The readiness checklist (engine, compose, .env, variables, ports, certificates, images,
    /// disk, then every service running and healthy) and diagnoses of what went wrong, each with
    /// its evidence. Exit 7 when something fails
    Doctor {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
        /// Apply one fix the report offers
        #[arg(long, value_name = "ID")]
        fix: Option<String>,
    },
    /// List the stack's snapshots, newest first
    Snapshots {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
    },
    /// Put a snapshot's data back: `berth restore [DIR] ID [SERVICE...]`. Checksums and server
    /// versions are checked before anything is touched, counts after
    Restore {
        #[command(flatten)]
        stack: StackArgs,
        /// The snapshot id, then the services to restore (default: all it holds)
        words: Vec<String>,
        /// Restore a dump of an older major version logically into a newer server
        #[arg(long)]
        allow_upgrade: bool,
        #[arg(long)]
        json: bool,
    },
    /// Start the stack fresh: a safety snapshot first (the reset does not start when it fails),
    /// then `down -v`, a rebuild without cache, `up`, and the wait until healthy
    Reset {
        #[command(flatten)]
        stack: StackArgs,
        /// Skip the rebuild of built images
        #[arg(long)]
        no_build: bool,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Seconds to wait for health after `up`
        #[arg(long, default_value_t = 180)]
        timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Stop and remove the stack's containers and networks
    Down {
        #[command(flatten)]
        stack: StackArgs,
        /// Also remove the stack's named volumes (deletes data)
        #[arg(short = 'v', long)]
        volumes: bool,
        /// Also remove containers of this project that no compose file here declares
        #[arg(long)]
        remove_orphans: bool,
    },
    /// Run N containers of each named service
    Scale {
        #[command(flatten)]
        stack: StackArgs,
        /// How many containers
        #[arg(long)]
        replicas: u32,
        services: Vec<String>,
    },
    /// Start existing containers of services
    Start {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
    /// Stop services without removing them
    Stop {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
    /// Restart services
    Restart {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
    /// Rebuild services' images and recreate only those services
    Rebuild {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
    /// Recreate services' containers from the files as they are now ("needs recreate")
    Recreate {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
    /// Pull services' images
    Pull {
        #[command(flatten)]
        stack: StackArgs,
        services: Vec<String>,
    },
}

/// `berth logs app` means the service app, not a folder called app: a first positional that is
/// not an existing folder is a service name.
fn split_dir(mut stack: StackArgs, mut services: Vec<String>) -> (StackArgs, Vec<String>) {
    if let Some(d) = &stack.dir {
        if !d.is_dir() {
            services.insert(0, d.to_string_lossy().into_owned());
            stack.dir = None;
        }
    }
    (stack, services)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| berth_api::ApiError::internal(e.to_string()))
    };
    let result = match cli.command {
        Command::Inspect { .. } | Command::Diagram { .. } => sync_command(cli.command, env),
        Command::Tls { action } => {
            // A failed step of `issue`, or a store that was not changed, is a report: printed
            // in full, then a non-zero exit.
            match runtime().and_then(|rt| rt.block_on(tls::run(action, env))) {
                Ok((text, code)) => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                    return ExitCode::from(code);
                }
                Err(e) => Err(e),
            }
        }
        Command::Ports {
            stack,
            json,
            remap,
            unremap,
            stop_holder,
            write_override,
        } => {
            let fix = match (remap, unremap, stop_holder) {
                (Some(s), _, _) => ports::Fix::Remap(s),
                (_, Some(s), _) => ports::Fix::Unremap(s),
                (_, _, Some(s)) => ports::Fix::StopHolder(s),
                _ if write_override => ports::Fix::WriteOverride,
                _ => ports::Fix::None,
            };
            // A report of taken ports is output, not an error: printed, then exit 6.
            match runtime().and_then(|rt| rt.block_on(ports::run(stack, json, fix, env))) {
                Ok((text, code)) => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                    return ExitCode::from(code);
                }
                Err(e) => Err(e),
            }
        }
        Command::Snapshot {
            action,
            stack,
            services,
            label,
            json,
        } => runtime().and_then(|rt| {
            rt.block_on(async move {
                match action {
                    Some(sub) => snapshot::subcommand(sub, env).await,
                    None => snapshot::snapshot(stack, services, label, json, env).await,
                }
            })
        }),
        Command::Doctor { stack, json, fix } => {
            match runtime().and_then(|rt| rt.block_on(doctor::run(stack, json, fix, env))) {
                Ok((text, code)) => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                    return ExitCode::from(code);
                }
                Err(e) => Err(e),
            }
        }
        Command::Snapshots { stack, json } => {
            runtime().and_then(|rt| rt.block_on(snapshot::list(stack, json, env)))
        }
        Command::Restore {
            stack,
            words,
            allow_upgrade,
            json,
        } => runtime()
            .and_then(|rt| rt.block_on(snapshot::restore(stack, words, allow_upgrade, json, env))),
        Command::Reset {
            stack,
            no_build,
            yes,
            timeout,
            json,
        } => runtime()
            .and_then(|rt| rt.block_on(snapshot::reset(stack, no_build, yes, timeout, json, env))),
        live => runtime().and_then(|rt| rt.block_on(live::run(live, env))),
    };
    finish(result)
}

/// The exit code of `berth ports` and `berth up` when a host port is taken.
pub(crate) const PORTS_TAKEN: u8 = 6;

/// The exit code of `berth tls` when a step failed or a store was not changed.
pub(crate) const TLS_FAILED: u8 = 8;

/// The exit code of a snapshot, restore or reset that failed or was refused.
pub(crate) const SNAPSHOT_FAILED: u8 = 9;

fn finish(result: Result<String, berth_api::ApiError>) -> ExitCode {
    match result {
        Ok(text) => {
            // A closed pipe (`berth inspect | head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth: {}", e.message);
            ExitCode::from(match e.code {
                berth_api::ErrorCode::ComposeNotFound => 3,
                berth_api::ErrorCode::EngineUnavailable => 4,
                berth_api::ErrorCode::PortConflict => PORTS_TAKEN,
                berth_api::ErrorCode::Tls => TLS_FAILED,
                berth_api::ErrorCode::Snapshot => SNAPSHOT_FAILED,
                _ => 2,
            })
        }
    }
}

fn sync_command(
    command: Command,
    env: std::collections::HashMap<String, String>,
) -> Result<String, berth_api::ApiError> {
    match command {
        Command::Inspect {
            stack,
            json,
            show_secrets,
        } => berth_api::inspect(&stack.request(), env, show_secrets).map(|v| {
            if json {
                serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
            } else {
                human(&v)
            }
        }),
        Command::Diagram { stack, format } => {
            let f = match format {
                Format::Mermaid => DiagramFormat::Mermaid,
                Format::Dot => DiagramFormat::Dot,
            };
            berth_api::diagram(&stack.request(), env, f)
        }
        _ => Ok(String::new()),
    }
}

fn human(v: &InspectView) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "project {}  ({})", v.project, v.files.join(", "));
    let _ = writeln!(o, "\nservices");
    for s in &v.services {
        let image = match (&s.image, s.build) {
            (Some(i), true) => format!("{i} (built)"),
            (Some(i), false) => i.clone(),
            (None, _) => "(built)".into(),
        };
        let _ = writeln!(o, "  {:<20} {:<20} {}", s.name, s.role, image);
        for p in &s.ports {
            let ip = p.host_ip.clone().unwrap_or_else(|| "*".into());
            let host = p
                .host_port
                .map(|h| h.to_string())
                .or(p.host_port_range.map(|[a, b]| format!("{a}-{b}")))
                .unwrap_or_else(|| "ephemeral".into());
            let _ = writeln!(
                o,
                "      port {ip}:{host} -> {}/{}",
                p.container_port, p.protocol
            );
        }
        if !s.networks.is_empty() {
            let _ = writeln!(o, "      networks {}", s.networks.join(", "));
        }
        for (k, val) in &s.environment {
            let _ = writeln!(o, "      env {k}={}", val.as_str().unwrap_or_default());
        }
    }
    if !v.inactive_services.is_empty() {
        let _ = writeln!(
            o,
            "  (not in the active profiles: {})",
            v.inactive_services.join(", ")
        );
    }
    let _ = writeln!(o, "\nnetworks");
    for n in &v.networks {
        let _ = writeln!(
            o,
            "  {:<20}{} {}",
            n.name,
            if n.internal { " (internal)" } else { "" },
            n.services.join(", ")
        );
    }
    if !v.volumes.is_empty() {
        let _ = writeln!(o, "\nvolumes");
        for vol in &v.volumes {
            let _ = writeln!(o, "  {:<20} {}", vol.name, vol.services.join(", "));
        }
    }
    let _ = writeln!(o, "\nconnections");
    for e in &v.edges {
        let _ = writeln!(
            o,
            "  {} -> {}  [{}]  {}  ({})",
            e.from, e.to, e.kind, e.evidence, e.detail
        );
    }
    if !v.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings");
        for w in &v.warnings {
            let _ = writeln!(o, "  {w}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
