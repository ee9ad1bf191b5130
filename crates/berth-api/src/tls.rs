//! Trusted local HTTPS for a stack: Berth's CA (in the data folder), the stores that trust it,
//! the stack's TLS terminators with the state of their certificates, and the one action that
//! makes them trusted: issue, write where the terminator reads, restart it, prove it with a
//! real handshake.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use berth_compose::model::Project;
use berth_compose::tls_plan::{self, Placement, Terminator};
pub use berth_host::trust::Elevation;
use berth_host::trust::{self, CaFile, HostLayout, NssOwner, Store};
use berth_tls::{Ca, Name, Verification};
use serde::Serialize;

use crate::data::data_dir;
use crate::error::{ApiError, ErrorCode};

/// How long one handshake may take: the endpoint is on this machine.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// The state of one endpoint's certificate, as `berth tls status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum TlsState {
    /// No certificate file where the terminator reads it (or no way to write one there).
    Missing,
    /// A certificate that no trusted CA of Berth's issued (a self-signed one, or Berth's CA is
    /// in no store yet).
    Untrusted,
    Trusted,
    Expired,
    /// The file does not cover the names, or the server serves another certificate than the
    /// file holds (not restarted since it was written).
    Mismatch,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaView {
    pub cert_path: String,
    pub fingerprint_sha256: String,
    /// RFC 3339.
    pub not_after: String,
    /// The stores that trust it, as sentences ("Chromium's certificate database (…)").
    pub trusted_by: Vec<String>,
    /// Every store found on this machine, trusted or not.
    pub stores: Vec<StoreView>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StoreView {
    /// "system", "nss" (what `--store` takes).
    pub kind: String,
    pub name: String,
    pub trusted: bool,
    /// Changing it needs root (pkexec from the window, sudo from a terminal).
    pub needs_root: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TlsEndpoint {
    pub service: String,
    /// The published host port that reaches the TLS listener (`None`: not published).
    pub host_port: Option<u16>,
    pub names: Vec<String>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    pub state: TlsState,
    /// RFC 3339, of the certificate in the file.
    pub not_after: Option<String>,
    /// A real handshake to the published port, with Berth's CA as the only root, accepted every
    /// name, and the server served the very certificate in the file.
    pub verified: bool,
    /// `file:line` of the listen directive.
    pub evidence: String,
    /// What is wrong and what fixes it, for a person; `None` when trusted and verified.
    pub problem: Option<String>,
    /// Names written in the config that a local certificate cannot cover, with why.
    pub skipped_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TlsView {
    pub project: String,
    /// `None` until the CA is made (the first issue or trust makes it).
    pub ca: Option<CaView>,
    pub endpoints: Vec<TlsEndpoint>,
    /// Services whose certificate file is missing or expired: nginx refuses to start ("cannot
    /// load certificate"), and "Make HTTPS trusted" is the fix to offer.
    pub cannot_start: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    Fail,
    Skip,
}

/// One step of "make HTTPS trusted", reported as it ends.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TlsStep {
    /// "trust", "ca", "find", "place", "write", "restart", "verify".
    pub step: String,
    pub status: StepStatus,
    pub detail: String,
}

impl TlsStep {
    pub fn new(step: &str, status: StepStatus, detail: impl Into<String>) -> Self {
        TlsStep {
            step: step.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// What "make HTTPS trusted" did: the view after it, with its steps (the same JSON fields as
/// `status`, plus `steps`).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TlsIssueView {
    #[serde(flatten)]
    #[ts(flatten)]
    pub view: TlsView,
    pub steps: Vec<TlsStep>,
}

/// Which stores `trust` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    System,
    Nss,
    All,
}

impl StoreChoice {
    pub fn parse(text: &str) -> Option<StoreChoice> {
        match text {
            "system" => Some(StoreChoice::System),
            "nss" => Some(StoreChoice::Nss),
            "all" => Some(StoreChoice::All),
            _ => None,
        }
    }

    fn takes(self, store: &Store) -> bool {
        match self {
            StoreChoice::All => true,
            StoreChoice::System => !matches!(store, Store::Nss { .. }),
            StoreChoice::Nss => matches!(store, Store::Nss { .. }),
        }
    }
}

/// What trust or untrust did, store by store.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TrustView {
    pub ca: CaView,
    /// One sentence per store: added, removed, already there, or why it failed.
    pub results: Vec<String>,
    pub failed: bool,
}

/// Where the CA lives: in Berth's data folder, shared by the app and the CLI.
pub fn ca_dir(env: &HashMap<String, String>) -> PathBuf {
    data_dir(env).join("ca")
}

fn tls_error(e: berth_tls::TlsError) -> ApiError {
    ApiError::new(ErrorCode::Tls, e.to_string())
}

/// Who the CA is for, in its name: two machines' CAs are told apart in a trust store.
fn subject_hint(env: &HashMap<String, String>) -> String {
    let user = env
        .get("USER")
        .or_else(|| env.get("USERNAME"))
        .cloned()
        .unwrap_or_else(|| "user".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| env.get("COMPUTERNAME").cloned())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

fn home(env: &HashMap<String, String>) -> PathBuf {
    env.get("HOME")
        .or_else(|| env.get("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// The stores of this machine: the system's, every NSS database found, and Chromium's even
/// before Chromium first ran (installing creates it) when Chromium is installed.
fn stores(env: &HashMap<String, String>) -> Vec<Store> {
    let home = home(env);
    let mut stores = trust::detect_stores(&HostLayout::here(&home));
    let chromium = Store::chromium(&home);
    let has_chromium = stores.iter().any(|s| {
        matches!(
            s,
            Store::Nss {
                owner: NssOwner::Chromium,
                ..
            }
        )
    });
    let installed = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    if cfg!(target_os = "linux") && !has_chromium && installed {
        stores.push(chromium);
    }
    stores
}

fn ca_file(ca: &Ca) -> Result<CaFile, ApiError> {
    CaFile::read(ca.cert_path(), &ca.nickname(), ca.fingerprint())
        .map_err(|e| ApiError::new(ErrorCode::Tls, e.to_string()))
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The trust stores of this machine, and whether each trusts Berth's CA (none does before the
/// CA is made): what the consent dialog lists before anything is changed.
pub fn machine_stores(env: &HashMap<String, String>) -> Vec<StoreView> {
    let ca = Ca::load(&ca_dir(env)).ok().flatten();
    store_views(ca.as_ref(), env)
}

fn store_views(ca: Option<&Ca>, env: &HashMap<String, String>) -> Vec<StoreView> {
    let file = ca.and_then(|c| ca_file(c).ok());
    stores(env)
        .into_iter()
        .map(|s| StoreView {
            kind: if matches!(s, Store::Nss { .. }) {
                "nss"
            } else {
                "system"
            }
            .into(),
            name: s.to_string(),
            trusted: file
                .as_ref()
                .is_some_and(|f| trust::is_trusted(&s, f).unwrap_or(false)),
            needs_root: s.needs_root(),
        })
        .collect()
}

fn ca_view(ca: &Ca, env: &HashMap<String, String>) -> CaView {
    let stores = store_views(Some(ca), env);
    CaView {
        cert_path: ca.cert_path().to_string_lossy().into_owned(),
        fingerprint_sha256: ca.fingerprint().to_owned(),
        not_after: rfc3339(ca.not_after()),
        trusted_by: stores
            .iter()
            .filter(|s| s.trusted)
            .map(|s| s.name.clone())
            .collect(),
        stores,
    }
}

/// A certificate name as the CA signs it.
fn name_of(text: &str) -> Name {
    match text.parse::<IpAddr>() {
        Ok(ip) => Name::Ip(ip),
        Err(_) => Name::Dns(text.to_owned()),
    }
}

/// The address a handshake from this machine goes to: loopback only (Berth never sends traffic
/// to another address of a container or of the machine's networks).
fn loopback_for(host_ip: &str) -> Option<IpAddr> {
    match host_ip.trim_matches(['[', ']']) {
        "" | "0.0.0.0" => Some(Ipv4Addr::LOCALHOST.into()),
        "::" => Some(Ipv6Addr::LOCALHOST.into()),
        ip => ip
            .parse::<IpAddr>()
            .ok()
            .filter(|ip| ip.is_loopback())
            .or_else(|| {
                // A v4-mapped loopback is 127.x to the kernel.
                match ip.parse::<Ipv6Addr>().ok()?.to_ipv4_mapped() {
                    Some(v4) if v4.is_loopback() => Some(v4.into()),
                    _ => None,
                }
            }),
    }
}

/// The SNI a handshake sends for a name: a wildcard stands for one of its names.
fn sni_for(name: &str) -> String {
    match name.strip_prefix("*.") {
        Some(rest) => format!("berth-check.{rest}"),
        None => name.to_owned(),
    }
}

/// Why a handshake failed, and the certificate the server presented if it got that far.
struct Refused {
    why: String,
    served: Option<String>,
}

impl From<String> for Refused {
    fn from(why: String) -> Self {
        Refused { why, served: None }
    }
}

/// Every name served by one published port, each with Berth's CA as the only root: the
/// certificate the server presents, the same for every name, when all were accepted.
fn handshake(addr: SocketAddr, names: &[String], ca: &Ca) -> Result<String, Refused> {
    let mut served = None;
    for n in names {
        match berth_tls::verify(addr, &sni_for(n), ca, HANDSHAKE_TIMEOUT) {
            Verification::Trusted {
                served_fingerprint, ..
            } => {
                if served.as_ref().is_some_and(|s| *s != served_fingerprint) {
                    return Err(format!("{addr} serves another certificate for {n}").into());
                }
                served = Some(served_fingerprint);
            }
            Verification::Untrusted {
                reason,
                served_fingerprint,
            } => {
                return Err(Refused {
                    why: format!("{addr} (name {n}): {reason}"),
                    served: served_fingerprint,
                });
            }
            Verification::Unreachable { reason } => {
                return Err(format!("{addr} does not answer: {reason}").into());
            }
        }
    }
    served.ok_or_else(|| String::from("no name to check").into())
}

fn placement_path(p: &Placement) -> Option<&Path> {
    match p {
        Placement::Host { path, .. } => Some(path),
        _ => None,
    }
}

/// Why Berth cannot write the terminator's certificate (or, that placed, its key).
fn unplaced_problem(t: &Terminator, project: &Project) -> String {
    if placement_path(&t.cert).is_none() {
        placement_problem(t, "certificate", &t.cert, project)
    } else {
        placement_problem(t, "key", &t.key, project)
    }
}

/// Why Berth cannot write this file, and the mount that would let it.
fn placement_problem(t: &Terminator, which: &str, p: &Placement, project: &Project) -> String {
    match p {
        Placement::Host { .. } => String::new(),
        Placement::NotMounted {
            container_path,
            suggested_mount_dir,
            hides_image_files,
        } => {
            let host = project
                .working_dir
                .join("certs")
                .join(&t.service)
                .to_string_lossy()
                .into_owned();
            let target = if *hides_image_files {
                container_path.as_str()
            } else {
                suggested_mount_dir.as_str()
            };
            if *hides_image_files {
                format!(
                    "{} reads its {which} from {container_path}, in a folder its image fills itself; point ssl_certificate at a folder of its own (e.g. /etc/nginx/ssl/), which Make HTTPS trusted then mounts",
                    t.service
                )
            } else {
                format!(
                    "{} reads its {which} from {container_path}, which no bind mount of the project holds: Make HTTPS trusted (`berth tls issue`) mounts a folder of Berth's there through its override, or add one yourself, e.g.:\n{}",
                    t.service,
                    tls_plan::mount_override(&t.service, target, &host)
                )
            }
        }
        Placement::Unresolved { written: Some(w) } => format!(
            "{}'s {which} path {w} is worked out by nginx at run time; Berth cannot place it",
            t.service
        ),
        Placement::Unresolved { written: None } => format!(
            "{} listens with TLS at {} but names no {which} in the files Berth read",
            t.service, t.evidence
        ),
    }
}

/// One endpoint of a terminator: one published port (or none), its certificate's state.
fn endpoint(
    t: &Terminator,
    host: Option<&(String, u16)>,
    ca: Option<&Ca>,
    trusted_anywhere: bool,
    project: &Project,
    now: SystemTime,
) -> TlsEndpoint {
    let (cert_path, key_path) = (placement_path(&t.cert), placement_path(&t.key));
    let mut e = TlsEndpoint {
        service: t.service.clone(),
        host_port: host.map(|h| h.1),
        names: t.names.clone(),
        cert_path: cert_path.map(|p| p.to_string_lossy().into_owned()),
        key_path: key_path.map(|p| p.to_string_lossy().into_owned()),
        state: TlsState::Missing,
        not_after: None,
        verified: false,
        evidence: t.evidence.clone(),
        problem: None,
        skipped_names: t
            .skipped_names
            .iter()
            .map(|(n, why)| format!("{n}: {why}"))
            .collect(),
    };
    let (Some(cert_path), Some(_)) = (cert_path, key_path) else {
        e.problem = Some(unplaced_problem(t, project));
        return e;
    };
    let Ok(pem) = std::fs::read_to_string(cert_path) else {
        e.problem = Some(format!(
            "no certificate at {}: Make HTTPS trusted (or `berth tls issue`) writes one",
            cert_path.display()
        ));
        return e;
    };
    let info = match berth_tls::inspect_pem(&pem) {
        Ok(i) => i,
        Err(err) => {
            e.state = TlsState::Mismatch;
            e.problem = Some(format!(
                "{} is not a certificate Berth can read: {err}",
                cert_path.display()
            ));
            return e;
        }
    };
    e.not_after = Some(rfc3339(info.not_after));
    let now_unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ours = ca.is_some_and(|c| c.signed(&pem));
    let uncovered: Vec<&String> = t
        .names
        .iter()
        .filter(|n| !berth_tls::covers(&info, &name_of(n)))
        .collect();
    if info.not_after <= now_unix {
        e.state = TlsState::Expired;
        e.problem = Some(format!(
            "the certificate at {} expired on {}: Make HTTPS trusted issues a new one",
            cert_path.display(),
            rfc3339(info.not_after)
        ));
        return e;
    }
    if !uncovered.is_empty() {
        e.state = TlsState::Mismatch;
        e.problem = Some(format!(
            "the certificate at {} does not cover {}",
            cert_path.display(),
            uncovered
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return e;
    }
    if !ours {
        e.state = TlsState::Untrusted;
        e.problem = Some(format!(
            "the certificate at {} was not issued by Berth's CA ({}): Make HTTPS trusted replaces it, keeping the old pair beside it as .berth-backup",
            cert_path.display(),
            if info.self_signed {
                "it is self-signed".to_owned()
            } else {
                format!("issuer {}", info.issuer_cn.as_deref().unwrap_or("unknown"))
            }
        ));
        return e;
    }
    e.state = if trusted_anywhere {
        TlsState::Trusted
    } else {
        e.problem = Some(
            "Berth's CA is in no trust store yet: Make HTTPS trusted adds it (with your consent)"
                .into(),
        );
        TlsState::Untrusted
    };
    // The proof: what the server really serves, from this machine, on loopback only.
    if let (Some(ca), Some((ip, port))) = (ca, host) {
        match loopback_for(ip) {
            None => {
                e.problem.get_or_insert_with(|| {
                    format!("published on {ip} only: Berth checks through loopback addresses only")
                });
            }
            Some(addr) => match handshake(SocketAddr::new(addr, *port), &t.names, ca) {
                Ok(served) if served == info.fingerprint_sha256 => e.verified = true,
                Ok(_) => {
                    e.state = TlsState::Mismatch;
                    e.problem = Some(format!(
                        "{} serves another certificate than the one in {}: restart {} to load it",
                        t.service,
                        cert_path.display(),
                        t.service
                    ));
                }
                // Another certificate than the file's is served (an old one, not restarted
                // since): whatever the stores trust, the browser sees that one.
                Err(Refused {
                    served: Some(served),
                    ..
                }) if served != info.fingerprint_sha256 => {
                    e.state = TlsState::Mismatch;
                    e.problem = Some(format!(
                        "{} serves another certificate than the one in {}: restart {} to load it",
                        t.service,
                        cert_path.display(),
                        t.service
                    ));
                }
                Err(r) => {
                    e.problem.get_or_insert(r.why);
                }
            },
        }
    }
    e
}

fn endpoints(
    project: &Project,
    ca: Option<&Ca>,
    trusted: bool,
    now: SystemTime,
) -> Vec<TlsEndpoint> {
    let mut out = Vec::new();
    for t in tls_plan::terminators(project) {
        if t.host_ports.is_empty() {
            out.push(endpoint(&t, None, ca, trusted, project, now));
        }
        for h in &t.host_ports {
            out.push(endpoint(&t, Some(h), ca, trusted, project, now));
        }
    }
    out
}

/// The stack's TLS picture: the CA (if made), which stores trust it, and each endpoint's state,
/// proven by a handshake where the port is published on loopback.
pub fn status(
    project: &Project,
    env: &HashMap<String, String>,
    now: SystemTime,
) -> Result<TlsView, ApiError> {
    let ca = Ca::load(&ca_dir(env)).map_err(tls_error)?;
    let ca_view = ca.as_ref().map(|c| ca_view(c, env));
    let trusted = ca_view.as_ref().is_some_and(|v| !v.trusted_by.is_empty());
    let endpoints = endpoints(project, ca.as_ref(), trusted, now);
    let mut cannot_start: Vec<String> = endpoints
        .iter()
        // Only a file Berth knows the place of: a certificate from the image (not mounted)
        // may well let nginx start.
        .filter(|e| {
            e.cert_path.is_some() && matches!(e.state, TlsState::Missing | TlsState::Expired)
        })
        .map(|e| e.service.clone())
        .collect();
    cannot_start.dedup();
    Ok(TlsView {
        project: project.name.clone(),
        endpoints,
        ca: ca_view,
        cannot_start,
    })
}

/// The CA, made on first use.
pub fn ca(env: &HashMap<String, String>, now: SystemTime) -> Result<CaView, ApiError> {
    let ca = Ca::load_or_create(&ca_dir(env), &subject_hint(env), now).map_err(tls_error)?;
    Ok(ca_view(&ca, env))
}

/// Adds Berth's CA to the chosen stores of this machine (the CA is made on first use).
pub fn trust_ca(
    env: &HashMap<String, String>,
    choice: StoreChoice,
    elevation: Elevation,
    now: SystemTime,
) -> Result<TrustView, ApiError> {
    let ca = Ca::load_or_create(&ca_dir(env), &subject_hint(env), now).map_err(tls_error)?;
    let file = ca_file(&ca)?;
    let mut results = Vec::new();
    let mut failed = false;
    let chosen: Vec<Store> = stores(env)
        .into_iter()
        .filter(|s| choice.takes(s))
        .collect();
    if chosen.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Tls,
            "no trust store of that kind was found on this machine",
        ));
    }
    for s in chosen {
        if trust::is_trusted(&s, &file).unwrap_or(false) {
            results.push(format!("{s}: trusts Berth's CA already"));
            continue;
        }
        if s.needs_root() && elevation == Elevation::None && !crate::data::is_root() {
            failed = true;
            results.push(format!(
                "{s}: needs root; run `sudo berth tls trust --store system` (the window asks through pkexec)"
            ));
            continue;
        }
        match trust::install(&s, &file, elevation) {
            Ok(()) => results.push(format!("{s}: Berth's CA added")),
            Err(e) => {
                failed = true;
                results.push(format!("{s}: not added: {e}"));
            }
        }
    }
    Ok(TrustView {
        ca: ca_view(&ca, env),
        results,
        failed,
    })
}

/// Removes Berth's CA from every store that trusts it.
pub fn untrust_ca(
    env: &HashMap<String, String>,
    elevation: Elevation,
) -> Result<TrustView, ApiError> {
    let Some(ca) = Ca::load(&ca_dir(env)).map_err(tls_error)? else {
        return Err(ApiError::new(
            ErrorCode::Tls,
            "Berth has made no CA on this machine: nothing to untrust",
        ));
    };
    let file = ca_file(&ca)?;
    let mut results = Vec::new();
    let mut failed = false;
    for s in stores(env) {
        if !trust::is_trusted(&s, &file).unwrap_or(false) {
            continue;
        }
        if s.needs_root() && elevation == Elevation::None && !crate::data::is_root() {
            failed = true;
            results.push(format!("{s}: needs root; run `sudo berth tls untrust`"));
            continue;
        }
        match trust::remove(&s, &file, elevation) {
            Ok(()) => results.push(format!("{s}: Berth's CA removed")),
            Err(e) => {
                failed = true;
                results.push(format!("{s}: not removed: {e}"));
            }
        }
    }
    if results.is_empty() {
        results.push("no store trusted Berth's CA".into());
    }
    Ok(TrustView {
        ca: ca_view(&ca, env),
        results,
        failed,
    })
}

/// For each terminator whose certificate folder no bind mount of the project holds, a folder in
/// Berth's data folder mounted there through Berth's override (the project's files untouched):
/// the services that need recreating to get it. A path in a folder the image fills itself
/// (`/etc/nginx`) is not mounted over; that one fails the `place` step with the way out.
pub(crate) fn mount_missing(
    project: &Project,
    env: &HashMap<String, String>,
    steps: &mut Vec<TlsStep>,
) -> Result<Vec<String>, ApiError> {
    let mut mounted = Vec::new();
    for t in tls_plan::terminators(project) {
        for (which, p) in [("certificate", &t.cert), ("key", &t.key)] {
            let Placement::NotMounted {
                container_path,
                suggested_mount_dir,
                hides_image_files,
            } = p
            else {
                continue;
            };
            if *hides_image_files {
                let detail = format!(
                    "{} reads its {which} from {container_path}, in a folder its image fills itself, so Berth does not mount over it; point ssl_certificate at a folder of its own (e.g. /etc/nginx/ssl/) and Berth mounts that",
                    t.service
                );
                steps.push(TlsStep::new("place", StepStatus::Fail, detail.clone()));
                return Err(ApiError::new(ErrorCode::Tls, format!("place: {detail}")));
            }
            let label: String = suggested_mount_dir
                .trim_matches('/')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let source = crate::remap::placed_dir(env, project, &t.service).join(label);
            // Created 0700 from the stack folder down: the overrides are trusted only from a
            // folder nobody else can write (a umask of 002 must not make it 0775).
            crate::data::create_private_dir(&source).map_err(|e| {
                ApiError::new(
                    ErrorCode::Tls,
                    format!("cannot create {}: {e}", source.display()),
                )
            })?;
            crate::remap::add_mount(
                env,
                project,
                crate::remap::MountEntry {
                    service: t.service.clone(),
                    source: source.clone(),
                    target: suggested_mount_dir.clone(),
                },
            )?;
            steps.push(TlsStep::new("place", StepStatus::Ok, format!(
                    "{}: {} mounted at {suggested_mount_dir} through Berth's override (the project's files are untouched)",
                    t.service,
                    source.display()
                )));
            if !mounted.contains(&t.service) {
                mounted.push(t.service.clone());
            }
        }
    }
    Ok(mounted)
}

/// `f` lies inside one of `roots` once links are resolved (the file itself may not exist yet:
/// its nearest existing folder is what counts).
fn inside(f: &Path, roots: &[PathBuf]) -> bool {
    let mut probe = f.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(c) = probe.canonicalize() {
            break c;
        }
        match (probe.file_name().map(|n| n.to_owned()), probe.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                probe = parent.to_path_buf();
            }
            _ => return false,
        }
    };
    let full = rest.iter().rev().fold(resolved, |p, n| p.join(n));
    if full
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return false;
    }
    roots
        .iter()
        .filter_map(|r| r.canonicalize().ok().or_else(|| Some(r.clone())))
        .any(|r| full.starts_with(r))
}

/// Where a replaced certificate or key that was not Berth's is kept.
fn backup_path(f: &Path) -> PathBuf {
    let mut name = f.file_name().unwrap_or_default().to_os_string();
    name.push(".berth-backup");
    f.with_file_name(name)
}

/// Certificates for every terminator of the project whose files Berth can write: issued by
/// Berth's CA for the names the config serves, written atomically (key 0600), skipped when the
/// file there is Berth's, covers every name and has more than 30 days left. The steps so far,
/// and the paths written (service → cert path), or the failing step.
pub(crate) fn write_certificates(
    project: &Project,
    env: &HashMap<String, String>,
    now: SystemTime,
    steps: &mut Vec<TlsStep>,
) -> Result<(Ca, Vec<String>), ApiError> {
    let step = |steps: &mut Vec<TlsStep>, name: &str, status: StepStatus, detail: String| {
        steps.push(TlsStep::new(name, status, detail))
    };
    let fail = |steps: &mut Vec<TlsStep>, name: &str, detail: String| {
        step(steps, name, StepStatus::Fail, detail.clone());
        ApiError::new(ErrorCode::Tls, format!("{name}: {detail}"))
    };
    let ca = match Ca::load_or_create(&ca_dir(env), &subject_hint(env), now) {
        Ok(ca) => ca,
        Err(e) => return Err(fail(steps, "ca", e.to_string())),
    };
    step(
        steps,
        "ca",
        StepStatus::Ok,
        format!(
            "Berth's CA {} (SHA-256 {})",
            ca.cert_path().display(),
            ca.fingerprint()
        ),
    );
    let terms = tls_plan::terminators(project);
    if terms.is_empty() {
        return Err(fail(
            steps,
            "find",
            format!("{} has no TLS terminator Berth can read (an nginx `listen … ssl` with `ssl_certificate` in a bind-mounted config)", project.name),
        ));
    }
    step(
        steps,
        "find",
        StepStatus::Ok,
        terms
            .iter()
            .map(|t| format!("{} at {}", t.service, t.evidence))
            .collect::<Vec<_>>()
            .join("; "),
    );
    let mut restart = Vec::new();
    for t in &terms {
        let (Some(cert), Some(key)) = (placement_path(&t.cert), placement_path(&t.key)) else {
            return Err(fail(steps, "place", unplaced_problem(t, project)));
        };
        // A bind mount can reach anywhere (`~/.ssh:/etc/nginx/ssl`): Berth writes only inside
        // the project's folder and its own data folder.
        let roots = [project.working_dir.clone(), data_dir(env)];
        for f in [cert, key] {
            if !inside(f, &roots) {
                return Err(fail(
                    steps,
                    "place",
                    format!(
                        "{}: {} is outside the project folder and Berth's data folder; Berth writes certificates only there (mount a folder of the project at its certificate path)",
                        t.service,
                        f.display()
                    ),
                ));
            }
        }
        if let Ok(pem) = std::fs::read_to_string(cert) {
            if let Ok(info) = berth_tls::inspect_pem(&pem) {
                let current = ca.signed(&pem)
                    && key.exists()
                    && !berth_tls::needs_renewal(&info, now)
                    && t.names
                        .iter()
                        .all(|n| berth_tls::covers(&info, &name_of(n)));
                if current {
                    step(
                        steps,
                        "write",
                        StepStatus::Skip,
                        format!(
                            "{}: {} is Berth's, covers {} and is valid until {}",
                            t.service,
                            cert.display(),
                            t.names.join(", "),
                            rfc3339(info.not_after)
                        ),
                    );
                    continue;
                }
            }
        }
        // A pair that is not Berth's (the seed's openssl one, a mkcert one) is kept beside the
        // new one, never lost.
        let mut kept = Vec::new();
        let theirs = std::fs::read_to_string(cert)
            .map(|pem| !ca.signed(&pem))
            .unwrap_or(false);
        if theirs {
            for f in [cert, key] {
                let backup = backup_path(f);
                if f.exists() && !backup.exists() {
                    if let Err(e) = std::fs::copy(f, &backup) {
                        return Err(fail(
                            steps,
                            "write",
                            format!(
                                "{}: cannot keep {} as {}: {e}",
                                t.service,
                                f.display(),
                                backup.display()
                            ),
                        ));
                    }
                    kept.push(backup.display().to_string());
                }
            }
        }
        let names: Vec<Name> = t.names.iter().map(|n| name_of(n)).collect();
        let leaf = match ca.issue(&names, now) {
            Ok(l) => l,
            Err(e) => return Err(fail(steps, "write", format!("{}: {e}", t.service))),
        };
        if let Err(e) = berth_tls::write_pair(cert, key, &leaf) {
            return Err(fail(steps, "write", format!("{}: {e}", t.service)));
        }
        step(
            steps,
            "write",
            StepStatus::Ok,
            format!(
                "{}: {} and {} (key 0600) for {}, valid until {}{}",
                t.service,
                cert.display(),
                key.display(),
                t.names.join(", "),
                rfc3339(leaf.not_after),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!("; the previous pair kept as {}", kept.join(" and "))
                }
            ),
        );
        if !restart.contains(&t.service) {
            restart.push(t.service.clone());
        }
    }
    Ok((ca, restart))
}

/// The proof after a restart: every published endpoint answers with the written certificate
/// for every name. Retries for a few seconds, while the terminator comes back.
pub(crate) fn verify_all(
    project: &Project,
    ca: &Ca,
    running: &[String],
    steps: &mut Vec<TlsStep>,
) -> bool {
    let mut all = true;
    for t in tls_plan::terminators(project) {
        if !running.contains(&t.service) {
            steps.push(TlsStep::new(
                "verify",
                StepStatus::Skip,
                format!(
                    "{} is not running: `berth tls status` proves it once it is up",
                    t.service
                ),
            ));
            continue;
        }
        let Some(cert) = placement_path(&t.cert) else {
            continue;
        };
        let Some(fp) = std::fs::read_to_string(cert)
            .ok()
            .and_then(|p| berth_tls::inspect_pem(&p).ok())
            .map(|i| i.fingerprint_sha256)
        else {
            continue;
        };
        if t.host_ports.is_empty() {
            steps.push(TlsStep::new(
                "verify",
                StepStatus::Skip,
                format!(
                    "{}: no published port reaches {}; nothing to check from this machine",
                    t.service, t.listen_port
                ),
            ));
        }
        for (ip, port) in &t.host_ports {
            let Some(addr) = loopback_for(ip) else {
                steps.push(TlsStep::new("verify", StepStatus::Skip, format!("{}: published on {ip}:{port} only; Berth checks through loopback addresses only", t.service)));
                continue;
            };
            let at = SocketAddr::new(addr, *port);
            let mut last: Result<String, Refused> = Err(String::new().into());
            for _ in 0..20 {
                last = handshake(at, &t.names, ca);
                if matches!(&last, Ok(served) if *served == fp) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            let (status, detail) = match last {
                Ok(served) if served == fp => (
                    StepStatus::Ok,
                    format!("{}: https://{} serves the new certificate for {} (chain from Berth's CA, SHA-256 {})", t.service, at, t.names.join(", "), &fp[..16.min(fp.len())]),
                ),
                Ok(_) => (StepStatus::Fail, format!("{}: {at} still serves another certificate", t.service)),
                Err(r) => (StepStatus::Fail, format!("{}: {}", t.service, r.why)),
            };
            all &= status == StepStatus::Ok;
            steps.push(TlsStep::new("verify", status, detail));
        }
    }
    all
}

/// How the window changes a store that needs root: directly when Berth runs as root, else
/// through pkexec, which asks for the administrator's password in a dialog of its own.
pub fn window_elevation() -> Elevation {
    if crate::data::is_root() {
        Elevation::None
    } else {
        Elevation::Pkexec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    /// A stack with one nginx terminator whose certificate folder is bind-mounted, loaded as
    /// the session would, and the environment pointing Berth's data folder into the test.
    fn stack() -> (tempfile::TempDir, Project, HashMap<String, String>) {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf")).expect("mkdir");
        std::fs::create_dir_all(root.join("ssl")).expect("mkdir");
        std::fs::write(
            root.join("compose.yaml"),
            "services:\n  web:\n    image: nginx:alpine\n    ports: [\"127.0.0.1:1:443\"]\n    volumes:\n      - ./conf:/etc/nginx/conf.d:ro\n      - ./ssl:/etc/nginx/ssl:ro\n",
        )
        .expect("write");
        std::fs::write(
            root.join("conf/site.conf"),
            "server {\n  listen 443 ssl;\n  ssl_certificate /etc/nginx/ssl/a.crt;\n  ssl_certificate_key /etc/nginx/ssl/a.key;\n}\n",
        )
        .expect("write");
        let mut env = HashMap::new();
        env.insert(
            "BERTH_DATA_DIR".to_owned(),
            root.join("data").to_string_lossy().into_owned(),
        );
        let project = berth_compose::load(&berth_compose::LoadOptions {
            dir: Some(root.to_path_buf()),
            env: env.clone(),
            ..Default::default()
        })
        .expect("loads");
        (dir, project, env)
    }

    fn written(steps: &[TlsStep]) -> StepStatus {
        steps
            .iter()
            .find(|s| s.step == "write")
            .map(|s| s.status)
            .expect("a write step")
    }

    #[test]
    fn an_expired_leaf_is_reported_and_renewed_and_a_good_one_kept() {
        let (_dir, project, env) = stack();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut steps = Vec::new();
        write_certificates(&project, &env, t0, &mut steps).expect("issued");
        assert_eq!(written(&steps), StepStatus::Ok);

        let mut again = Vec::new();
        write_certificates(&project, &env, t0 + Duration::from_secs(DAY), &mut again)
            .expect("checked");
        assert_eq!(
            written(&again),
            StepStatus::Skip,
            "a good certificate is kept"
        );

        let later = t0 + Duration::from_secs(400 * DAY);
        let v = status(&project, &env, later).expect("status");
        assert_eq!(v.endpoints[0].state, TlsState::Expired, "{:?}", v.endpoints);
        assert_eq!(
            v.cannot_start,
            ["web"],
            "nginx cannot start on an expired one"
        );

        let mut renewed = Vec::new();
        write_certificates(&project, &env, later, &mut renewed).expect("renewed");
        assert_eq!(
            written(&renewed),
            StepStatus::Ok,
            "an expired one is replaced"
        );
        let v = status(&project, &env, later).expect("status");
        assert_eq!(
            v.endpoints[0].state,
            TlsState::Untrusted,
            "fresh and Berth's (the CA is in no store in this test)"
        );
    }

    #[test]
    fn a_leaf_with_less_than_30_days_left_is_renewed_before_it_expires() {
        let (_dir, project, env) = stack();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut steps = Vec::new();
        write_certificates(&project, &env, t0, &mut steps).expect("issued");
        let near_end = t0 + Duration::from_secs(380 * DAY);
        let mut renewed = Vec::new();
        write_certificates(&project, &env, near_end, &mut renewed).expect("renewed");
        assert_eq!(written(&renewed), StepStatus::Ok, "17 days left: renewed");
    }

    #[test]
    fn a_pair_that_is_not_berths_is_kept_as_a_backup_when_replaced() {
        let (dir, project, env) = stack();
        let other =
            berth_tls::Ca::load_or_create(&dir.path().join("other-ca"), "x", SystemTime::now())
                .expect("another CA");
        let theirs = other
            .issue(&[Name::Dns("localhost".into())], SystemTime::now())
            .expect("leaf");
        let crt = dir.path().join("ssl/a.crt");
        std::fs::write(&crt, &theirs.cert_pem).expect("write");
        std::fs::write(dir.path().join("ssl/a.key"), &theirs.key_pem).expect("write");
        let mut steps = Vec::new();
        write_certificates(&project, &env, SystemTime::now(), &mut steps).expect("issued");
        let backup = std::fs::read_to_string(dir.path().join("ssl/a.crt.berth-backup"))
            .expect("the old certificate is kept");
        assert_eq!(backup, theirs.cert_pem);
        assert!(
            dir.path().join("ssl/a.key.berth-backup").exists(),
            "and its key"
        );
        assert_ne!(
            std::fs::read_to_string(&crt).expect("read"),
            theirs.cert_pem
        );
    }

    #[test]
    fn a_mount_reaching_outside_the_project_is_never_written() {
        let (dir, _, env) = stack();
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("compose.yaml"),
            format!(
                "services:\n  web:\n    image: nginx:alpine\n    volumes:\n      - ./conf:/etc/nginx/conf.d:ro\n      - {}:/etc/nginx/ssl\n",
                outside.path().display()
            ),
        )
        .expect("write");
        let project = berth_compose::load(&berth_compose::LoadOptions {
            dir: Some(dir.path().to_path_buf()),
            env: env.clone(),
            ..Default::default()
        })
        .expect("loads");
        let mut steps = Vec::new();
        let err =
            write_certificates(&project, &env, SystemTime::now(), &mut steps).expect_err("refused");
        assert!(
            err.message.contains("outside the project folder"),
            "{}",
            err.message
        );
        assert_eq!(
            std::fs::read_dir(outside.path()).expect("read").count(),
            0,
            "nothing written there"
        );
    }

    #[test]
    fn loopback_is_the_only_place_a_handshake_goes() {
        assert_eq!(loopback_for(""), Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(loopback_for("0.0.0.0"), Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(loopback_for("::"), Some(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(loopback_for("[::1]"), Some(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(loopback_for("127.0.0.2"), "127.0.0.2".parse().ok());
        assert_eq!(
            loopback_for("::ffff:127.0.0.1"),
            Some(Ipv4Addr::LOCALHOST.into())
        );
        assert_eq!(loopback_for("192.168.1.10"), None, "never a LAN address");
        assert_eq!(
            loopback_for("172.17.0.2"),
            None,
            "never a container address"
        );
        assert_eq!(sni_for("*.demo.localhost"), "berth-check.demo.localhost");
    }
}
