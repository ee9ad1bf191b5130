//! `berth tls`: Berth's CA, the stores that trust it, and the stack's certificates.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use berth_api::tls::{StepStatus, StoreChoice, TlsEndpoint, TlsState, TlsView, TrustView};
use berth_api::{ApiError, OpenStack};
use clap::Subcommand;

use crate::{StackArgs, TLS_FAILED};

#[derive(Subcommand, Clone)]
pub enum TlsCommand {
    /// Each HTTPS endpoint of the stack: its certificate's state and expiry, proven by a real
    /// handshake where the port is published on loopback
    Status {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
    },
    /// Issue a certificate from Berth's CA for every TLS terminator, write it where the
    /// terminator reads it, restart only that service, and verify it by handshake
    Issue {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        json: bool,
    },
    /// Add Berth's CA to this machine's trust stores (the system store needs root)
    Trust {
        /// system, nss (Chromium's and Firefox's databases) or all
        #[arg(long, default_value = "all")]
        store: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove Berth's CA from every store that trusts it
    Untrust {
        #[arg(long)]
        json: bool,
    },
    /// Where Berth's CA certificate is, and its SHA-256 fingerprint (made on first use)
    Ca {
        #[arg(long)]
        json: bool,
    },
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

pub async fn run(cmd: TlsCommand, env: HashMap<String, String>) -> Result<(String, u8), ApiError> {
    match cmd {
        TlsCommand::Status { stack, json: j } => {
            let open = OpenStack::open(&stack.request(), env)?;
            let view = open.tls_status().await?;
            Ok((if j { json(&view) } else { status_text(&view) }, 0))
        }
        TlsCommand::Issue { stack, json: j } => {
            let open = OpenStack::open(&stack.request(), env)?;
            let view = open
                .tls_issue(|s| {
                    if !j {
                        eprintln!("{:<8} {:<5} {}", s.step, status_word(s.status), s.detail);
                    }
                })
                .await?;
            let failed = view.steps.iter().find(|s| s.status == StepStatus::Fail);
            let code = if failed.is_some() { TLS_FAILED } else { 0 };
            let text = if j {
                json(&view)
            } else {
                let mut o = status_text(&view.view);
                if let Some(f) = failed {
                    let _ = writeln!(o, "\nstep {} failed: {}", f.step, f.detail);
                }
                o
            };
            Ok((text, code))
        }
        TlsCommand::Trust { store, json: j } => {
            let choice = StoreChoice::parse(&store).ok_or_else(|| {
                ApiError::invalid_input(format!("--store takes system, nss or all, not {store:?}"))
            })?;
            let v =
                berth_api::tls::trust_ca(&env, choice, berth_host_elevation(), SystemTime::now())?;
            Ok(trust_out(&v, j))
        }
        TlsCommand::Untrust { json: j } => {
            let v = berth_api::tls::untrust_ca(&env, berth_host_elevation())?;
            Ok(trust_out(&v, j))
        }
        TlsCommand::Ca { json: j } => {
            let ca = berth_api::tls::ca(&env, SystemTime::now())?;
            let text = if j {
                json(&ca)
            } else {
                format!(
                    "{}\nSHA-256 {}\nvalid until {}\ntrusted by: {}\n",
                    ca.cert_path,
                    ca.fingerprint_sha256,
                    ca.not_after,
                    if ca.trusted_by.is_empty() {
                        "no store yet (berth tls trust)".to_owned()
                    } else {
                        ca.trusted_by.join("; ")
                    }
                )
            };
            Ok((text, 0))
        }
    }
}

/// From a terminal, root commands are run as is: the person runs `sudo berth tls trust` when
/// the system store is wanted; a prompt of pkexec's would surprise a script.
fn berth_host_elevation() -> berth_api::tls::Elevation {
    berth_api::tls::Elevation::None
}

fn trust_out(v: &TrustView, j: bool) -> (String, u8) {
    let code = if v.failed { TLS_FAILED } else { 0 };
    if j {
        return (json(v), code);
    }
    let mut o = String::new();
    for r in &v.results {
        let _ = writeln!(o, "{r}");
    }
    (o, code)
}

fn status_word(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Ok => "ok",
        StepStatus::Fail => "FAIL",
        StepStatus::Skip => "skip",
    }
}

fn state_word(s: TlsState) -> &'static str {
    match s {
        TlsState::Missing => "missing",
        TlsState::Untrusted => "untrusted",
        TlsState::Trusted => "trusted",
        TlsState::Expired => "expired",
        TlsState::Mismatch => "mismatch",
    }
}

fn endpoint_line(o: &mut String, e: &TlsEndpoint) {
    let port = e
        .host_port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(
        o,
        "{:<14} {:<6} {:<10} {:<9} {}",
        e.service,
        port,
        state_word(e.state),
        if e.verified { "verified" } else { "" },
        e.names.join(", ")
    );
    if let Some(p) = &e.problem {
        let _ = writeln!(o, "  {p}");
    }
}

fn status_text(v: &TlsView) -> String {
    let mut o = String::new();
    match &v.ca {
        Some(ca) => {
            let _ = writeln!(
                o,
                "CA {} (SHA-256 {}), trusted by: {}",
                ca.cert_path,
                ca.fingerprint_sha256,
                if ca.trusted_by.is_empty() {
                    "no store yet".to_owned()
                } else {
                    ca.trusted_by.join("; ")
                }
            );
        }
        None => {
            let _ = writeln!(
                o,
                "no CA yet: `berth tls issue` or `berth tls trust` makes it"
            );
        }
    }
    if v.endpoints.is_empty() {
        let _ = writeln!(o, "{} serves no HTTPS that Berth can find", v.project);
    }
    for e in &v.endpoints {
        endpoint_line(&mut o, e);
    }
    o
}
