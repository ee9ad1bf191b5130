//! Remapped host ports: kept per stack in Berth's data folder as a list and as the compose
//! override it means, which every load and every compose call of the stack adds as its last
//! `-f`. The project's own files are never touched unless the user writes the override there.

use std::collections::HashMap;
use std::path::PathBuf;

use berth_compose::model::Project;
use berth_compose::port_plan::{self, Remap};
use berth_compose::{load, LoadError};
use serde::{Deserialize, Serialize};

use crate::data::{data_dir, stack_dir, write_atomic};
use crate::error::{ApiError, ErrorCode};
use crate::inspect::StackRequest;

/// The override's name, in the data folder and when written into the project.
pub const OVERRIDE_NAME: &str = "compose.override.yaml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RemapEntry {
    pub service: String,
    /// The host port the project's files publish.
    pub from: u16,
    /// The one Berth publishes instead.
    pub to: u16,
}

/// A stack's remaps and the override they make, as the CLI prints it and the Ports view shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct RemapView {
    pub remaps: Vec<RemapEntry>,
    /// Where the override lives (absent when there is no remap).
    pub override_file: String,
    pub content: String,
    /// Places that still name a moved port ("APP_URL=http://localhost:8000 in .env").
    pub references: Vec<String>,
}

struct StackFiles {
    remaps: PathBuf,
    override_file: PathBuf,
}

fn files_of(env: &HashMap<String, String>, project: &Project) -> StackFiles {
    let dir = stack_dir(&data_dir(env), &project.name, &project.working_dir);
    StackFiles {
        remaps: dir.join("remaps.json"),
        override_file: dir.join(OVERRIDE_NAME),
    }
}

/// The Berth override of a project loaded without it, when it has remaps. The file is made
/// again from the remap list and the files as they are now, so an edit of the project (a port
/// added, a `${PORT}` changed, a profile turned on) is never hidden behind an old copy of its
/// port list.
fn override_of(env: &HashMap<String, String>, project: &Project) -> Option<PathBuf> {
    let files = files_of(env, project);
    let dir = files.override_file.parent()?;
    if !crate::data::private_to_me(dir) {
        return None;
    }
    let list = read_remaps(&files.remaps);
    let text = port_plan::remap_override(project, &as_remaps(&list));
    if text.is_empty() {
        return None;
    }
    kept_as(files.override_file, &text)
}

/// `file` holding `text`, written only when it differs (every load asks); `None` when it
/// cannot be written, so a stale override is never used.
fn kept_as(file: PathBuf, text: &str) -> Option<PathBuf> {
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text)
        && write_atomic(&file, text).is_err()
    {
        return None;
    }
    Some(file)
}

/// A bind mount Berth adds to a service through its own override (a certificate folder for
/// a terminator whose certificate path no mount of the project holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    pub service: String,
    /// On the host, inside Berth's data folder.
    pub source: PathBuf,
    /// In the container.
    pub target: String,
}

fn mounts_file(env: &HashMap<String, String>, project: &Project) -> PathBuf {
    stack_dir(&data_dir(env), &project.name, &project.working_dir).join("mounts.json")
}

/// The folder for files Berth places for a service (its certificates), in its data folder.
pub(crate) fn placed_dir(
    env: &HashMap<String, String>,
    project: &Project,
    service: &str,
) -> PathBuf {
    stack_dir(&data_dir(env), &project.name, &project.working_dir)
        .join("placed")
        .join(service)
}

/// Adds (or keeps) a mount in Berth's mount override of the stack; the next load uses it.
pub(crate) fn add_mount(
    env: &HashMap<String, String>,
    project: &Project,
    entry: MountEntry,
) -> Result<(), ApiError> {
    update_list(
        &mounts_file(env, project),
        "mount",
        |list: &mut Vec<MountEntry>| {
            list.retain(|m| !(m.service == entry.service && m.target == entry.target));
            list.push(entry);
        },
    )
}

/// Changes one of Berth's JSON lists in the stack's data folder, atomically.
fn update_list<T: Serialize + serde::de::DeserializeOwned>(
    path: &std::path::Path,
    what: &str,
    change: impl FnOnce(&mut Vec<T>),
) -> Result<(), ApiError> {
    let mut list: Vec<T> = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    change(&mut list);
    write_atomic(
        path,
        &serde_json::to_string_pretty(&list).unwrap_or_default(),
    )
    .map_err(|e| ApiError::internal(format!("cannot write Berth's {what} list: {e}")))
}

/// The override adding Berth's mounts, written beside the list when there is one. Like the
/// port override, used only from a folder nobody else can write.
fn mounts_override_of(env: &HashMap<String, String>, project: &Project) -> Option<PathBuf> {
    let list_path = mounts_file(env, project);
    let dir = list_path.parent()?;
    if !crate::data::private_to_me(dir) {
        return None;
    }
    let list: Vec<MountEntry> =
        serde_json::from_str(&std::fs::read_to_string(&list_path).ok()?).ok()?;
    let list: Vec<&MountEntry> = list
        .iter()
        .filter(|m| project.services.contains_key(&m.service))
        .collect();
    if list.is_empty() {
        return None;
    }
    let q = |t: &str| serde_json::to_string(t).unwrap_or_default();
    let mut text = String::from(
        "# Written by Berth: files it places for services (certificates).\nservices:\n",
    );
    // One key per service, whatever order the list has.
    let mut by_service: std::collections::BTreeMap<&str, Vec<&MountEntry>> = Default::default();
    for m in &list {
        by_service.entry(m.service.as_str()).or_default().push(m);
    }
    for (svc, mounts) in by_service {
        text.push_str(&format!("  {}:\n    volumes:\n", q(svc)));
        for m in mounts {
            text.push_str(&format!(
                "      - type: bind\n        source: {}\n        target: {}\n        read_only: true\n",
                q(&m.source.to_string_lossy()),
                q(&m.target)
            ));
        }
    }
    kept_as(dir.join("mounts.override.yaml"), &text)
}

/// A wait Berth added: `service` starts only once `dependency` is healthy (the fix for a
/// service that connects before its dependency is ready).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitEntry {
    pub service: String,
    pub dependency: String,
}

fn waits_file(env: &HashMap<String, String>, project: &Project) -> PathBuf {
    stack_dir(&data_dir(env), &project.name, &project.working_dir).join("waits.json")
}

/// Adds (or keeps) a wait in Berth's override of the stack; the next load uses it.
pub(crate) fn add_wait(
    env: &HashMap<String, String>,
    project: &Project,
    entry: WaitEntry,
) -> Result<(), ApiError> {
    update_list(
        &waits_file(env, project),
        "wait",
        |list: &mut Vec<WaitEntry>| {
            if !list.contains(&entry) {
                list.push(entry);
            }
        },
    )
}

/// The override making each listed service wait for its dependency's health check, from a
/// folder nobody else can write (like the others).
fn waits_override_of(env: &HashMap<String, String>, project: &Project) -> Option<PathBuf> {
    let list_path = waits_file(env, project);
    let dir = list_path.parent()?;
    if !crate::data::private_to_me(dir) {
        return None;
    }
    let list: Vec<WaitEntry> =
        serde_json::from_str(&std::fs::read_to_string(&list_path).ok()?).ok()?;
    let mut by_service: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for w in &list {
        if project.services.contains_key(&w.service) && project.services.contains_key(&w.dependency)
        {
            by_service
                .entry(w.service.as_str())
                .or_default()
                .push(w.dependency.as_str());
        }
    }
    if by_service.is_empty() {
        return None;
    }
    let q = |t: &str| serde_json::to_string(t).unwrap_or_default();
    let mut text = String::from(
        "# Written by Berth: services that wait for a dependency's health check.\nservices:\n",
    );
    for (svc, deps) in by_service {
        text.push_str(&format!("  {}:\n    depends_on:\n", q(svc)));
        for d in deps {
            text.push_str(&format!(
                "      {}:\n        condition: service_healthy\n",
                q(d)
            ));
        }
    }
    kept_as(dir.join("waits.override.yaml"), &text)
}

/// Loads the stack with Berth's overrides as the last files: the port remaps, the mounts, then
/// the waits.
pub(crate) fn load_with_override(
    req: &StackRequest,
    env: &HashMap<String, String>,
) -> Result<Project, LoadError> {
    let plain = load(&req.load_options(env.clone()))?;
    let extra: Vec<PathBuf> = [
        override_of(env, &plain),
        mounts_override_of(env, &plain),
        waits_override_of(env, &plain),
    ]
    .into_iter()
    .flatten()
    .collect();
    if extra.is_empty() {
        return Ok(plain);
    }
    let mut opts = req.load_options(env.clone());
    opts.dir = Some(plain.working_dir.clone());
    opts.files = plain.files.clone();
    opts.files.extend(extra);
    load(&opts)
}

fn read_remaps(path: &PathBuf) -> Vec<RemapEntry> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn plain(req: &StackRequest, env: &HashMap<String, String>) -> Result<Project, ApiError> {
    Ok(load(&req.load_options(env.clone()))?)
}

/// The stack's remaps as they are.
pub fn remaps(req: &StackRequest, env: HashMap<String, String>) -> Result<RemapView, ApiError> {
    let project = plain(req, &env)?;
    let files = files_of(&env, &project);
    let list = read_remaps(&files.remaps);
    Ok(view(&project, &files, list))
}

/// Publishes `service`'s host port `from` as `to` instead (replacing an earlier remap of it).
/// `from` may be the port the files name or the one it was remapped to.
pub fn remap(
    req: &StackRequest,
    env: HashMap<String, String>,
    service: &str,
    from: u16,
    to: u16,
) -> Result<RemapView, ApiError> {
    let project = plain(req, &env)?;
    let files = files_of(&env, &project);
    let mut list = read_remaps(&files.remaps);
    let original = list
        .iter()
        .find(|r| r.service == service && r.to == from)
        .map_or(from, |r| r.from);
    let Some(svc) = project.services.get(service) else {
        return Err(ApiError::new(
            ErrorCode::UnknownService,
            format!("no service {service:?} in {}", project.name),
        ));
    };
    if !svc.ports.iter().any(|p| p.host_port == Some(original)) {
        return Err(ApiError::invalid_input(format!(
            "{service} publishes no host port {from}; it publishes {}",
            published(svc)
        )));
    }
    if to == 0 {
        return Err(ApiError::invalid_input(
            "the new host port must be 1 to 65535",
        ));
    }
    list.retain(|r| !(r.service == service && r.from == original));
    if to != original {
        list.push(RemapEntry {
            service: service.to_owned(),
            from: original,
            to,
        });
    }
    save(&project, &files, list)
}

/// Takes a remap back: `service` publishes `port` (as its files name it, or as remapped) as the
/// files say again.
pub fn unremap(
    req: &StackRequest,
    env: HashMap<String, String>,
    service: &str,
    port: u16,
) -> Result<RemapView, ApiError> {
    let project = plain(req, &env)?;
    let files = files_of(&env, &project);
    let mut list = read_remaps(&files.remaps);
    let before = list.len();
    list.retain(|r| !(r.service == service && (r.from == port || r.to == port)));
    if list.len() == before {
        return Err(ApiError::invalid_input(format!(
            "{service}:{port} is not remapped{}",
            if before == 0 {
                String::new()
            } else {
                format!("; remapped: {}", describe(&read_remaps(&files.remaps)))
            }
        )));
    }
    save(&project, &files, list)
}

/// Berth's override written into the project, where compose reads it by itself.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct WrittenOverride {
    pub path: String,
    pub message: String,
}

/// Writes the stack's override into the project as its compose override file (for a team to
/// share, or to use without Berth), then drops Berth's own remaps, which the file now holds.
/// Refused where compose would not read the file by itself (a `-f` or `COMPOSE_FILE` list),
/// and where the project has an override file already: Berth never rewrites a user's file.
pub fn write_override_to_project(
    req: &StackRequest,
    env: HashMap<String, String>,
) -> Result<WrittenOverride, ApiError> {
    let project = plain(req, &env)?;
    let files = files_of(&env, &project);
    let list = read_remaps(&files.remaps);
    let content = port_plan::remap_override(&project, &as_remaps(&list));
    if list.is_empty() || content.is_empty() {
        return Err(ApiError::invalid_input(
            "no host port of the active services is remapped: there is no override to write",
        ));
    }
    if !req.files.is_empty() || env.get("COMPOSE_FILE").is_some_and(|v| !v.is_empty()) {
        return Err(ApiError::invalid_input(format!(
            "{} is loaded from a -f/COMPOSE_FILE list, so compose would not read an override file by itself; add Berth's override ({}) to that list instead",
            project.name,
            files.override_file.display()
        )));
    }
    let Some(base) = project.files.first() else {
        return Err(ApiError::internal("the project was loaded from no file"));
    };
    if let Some(existing) = project.files.get(1) {
        return Err(ApiError::invalid_input(format!(
            "{} exists already and Berth does not rewrite it; copy Berth's override into it:\n{content}",
            existing.display()
        )));
    }
    // The name that matches the project's own file name (v2 reads either; the content's
    // `!override` needs Compose 2.24 or later in any case).
    let name = match base.file_name().and_then(|n| n.to_str()) {
        Some(n) if n.starts_with("docker-compose") => "docker-compose.override.yml",
        _ => OVERRIDE_NAME,
    };
    let target = base.with_file_name(name);
    if target.exists() {
        return Err(ApiError::invalid_input(format!(
            "{} exists already and Berth does not rewrite it",
            target.display()
        )));
    }
    // Berth's own header speaks of its data folder: the project's copy gets its own.
    let body: String = content
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = format!(
        "# Written by Berth: host ports moved off ports taken on this machine ({}).\n# Delete this file to publish the ports the other compose files name.\n{body}",
        describe(&list)
    );
    // Created only if absent, at the moment of writing: a file that appeared since the check
    // is never replaced.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| {
                ApiError::invalid_input(format!("cannot write {}: {e}", target.display()))
            })?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| ApiError::internal(format!("cannot write {}: {e}", target.display())))?;
    }
    save(&project, &files, Vec::new())?;
    Ok(WrittenOverride {
        message: format!(
            "Wrote {}: compose reads the moved ports from the project now, and Berth's own remaps are dropped",
            target.display()
        ),
        path: target.to_string_lossy().into_owned(),
    })
}

fn save(
    project: &Project,
    files: &StackFiles,
    mut list: Vec<RemapEntry>,
) -> Result<RemapView, ApiError> {
    list.sort_by(|a, b| (&a.service, a.from).cmp(&(&b.service, b.from)));
    let internal =
        |e: std::io::Error| ApiError::internal(format!("cannot write Berth's remap files: {e}"));
    let text = port_plan::remap_override(project, &as_remaps(&list));
    let remove = |f: &PathBuf| match std::fs::remove_file(f) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(internal(e)),
        _ => Ok(()),
    };
    // The list is the truth (every load makes the override again from it); the override is
    // written now too, so that it can be shown at once.
    if list.is_empty() {
        remove(&files.override_file)?;
        remove(&files.remaps)?;
    } else {
        write_atomic(
            &files.remaps,
            &serde_json::to_string_pretty(&list).unwrap_or_default(),
        )
        .map_err(internal)?;
        if text.is_empty() {
            remove(&files.override_file)?; // every remapped service is off in these profiles
        } else {
            write_atomic(&files.override_file, &text).map_err(internal)?;
        }
    }
    Ok(view(project, files, list))
}

fn as_remaps(list: &[RemapEntry]) -> Vec<Remap> {
    list.iter()
        .map(|r| Remap {
            service: r.service.clone(),
            from: r.from,
            to: r.to,
        })
        .collect()
}

fn view(project: &Project, files: &StackFiles, remaps: Vec<RemapEntry>) -> RemapView {
    RemapView {
        content: port_plan::remap_override(project, &as_remaps(&remaps)),
        override_file: files.override_file.to_string_lossy().into_owned(),
        references: references(project, &remaps),
        remaps,
    }
}

fn published(svc: &berth_compose::model::Service) -> String {
    let v: Vec<String> = svc
        .ports
        .iter()
        .filter_map(|p| p.host_port)
        .map(|p| p.to_string())
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn describe(list: &[RemapEntry]) -> String {
    list.iter()
        .map(|r| format!("{}:{}→{}", r.service, r.from, r.to))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Environment values and `.env` lines that still name a moved port on this machine
/// (`localhost:8000`, `127.0.0.1:8000`): after a remap they point at the old one.
fn references(project: &Project, remaps: &[RemapEntry]) -> Vec<String> {
    let names =
        |port: u16| ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"].map(|h| format!("{h}:{port}"));
    let mentions = |text: &str, port: u16| {
        names(port).iter().any(|n| {
            text.match_indices(n.as_str())
                .any(|(i, _)| !text[i + n.len()..].starts_with(|c: char| c.is_ascii_digit()))
        })
    };
    let mut out = Vec::new();
    for r in remaps {
        let env_file = project.working_dir.join(".env");
        if let Ok(text) = std::fs::read_to_string(&env_file) {
            for (n, line) in text.lines().enumerate() {
                if mentions(line, r.from) {
                    // The name only: the value may hold a password (postgres://u:p@localhost:5432).
                    let key = match line.split_once('=') {
                        Some((k, _)) => format!("{} ", k.trim()),
                        None => String::new(), // a continuation line: no name to give
                    };
                    out.push(format!(
                        "{}:{}: {key}still names port {} (now {})",
                        env_file.display(),
                        n + 1,
                        r.from,
                        r.to
                    ));
                }
            }
        }
        for (name, svc) in &project.services {
            for (k, v) in &svc.environment {
                if mentions(&v.value, r.from) {
                    out.push(format!(
                        "{name}: {k} still names port {} (now {})",
                        r.from, r.to
                    ));
                }
            }
        }
    }
    out.dedup();
    out
}
