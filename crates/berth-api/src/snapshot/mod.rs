//! Snapshots of a stack's data: what the window and the CLI show of them, where their files
//! live, and the catalog rows behind them. Taking and restoring one is the session's
//! ([`crate::OpenStack::take_snapshot`]); the engine work is in `dump` and `volume`.

pub(crate) mod dump;
pub(crate) mod stream;
pub(crate) mod volume;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_store::{Snapshot, SnapshotItem, SnapshotStatus, Store};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode, ErrorDetail};

/// How a saved piece of data is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Postgres,
    Mysql,
    Mariadb,
    Redis,
    Volume,
}

impl From<berth_compose::snapshot_plan::DataKind> for ItemKind {
    fn from(k: berth_compose::snapshot_plan::DataKind) -> Self {
        use berth_compose::snapshot_plan::DataKind as D;
        match k {
            D::Postgres => ItemKind::Postgres,
            D::Mysql => ItemKind::Mysql,
            D::Mariadb => ItemKind::Mariadb,
            D::Redis => ItemKind::Redis,
            D::Volume => ItemKind::Volume,
        }
    }
}

/// One saved piece: a database of a service, a server's roles, a Redis dataset, a volume.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SnapshotItemView {
    pub service: String,
    pub kind: ItemKind,
    /// The engine's name of the volume (volumes only).
    pub volume: Option<String>,
    /// The database inside the server; `None` for PostgreSQL's roles, Redis and volumes.
    pub database: Option<String>,
    /// The server's version at snapshot time ("15.18", "10.11.6", "7.0.15").
    pub version: Option<String>,
    /// Size of the stored (compressed) file.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Size before compression.
    #[ts(type = "number")]
    pub raw_bytes: u64,
    pub sha256: String,
    /// Rows per table, keys per Redis database, files and bytes of a volume.
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    Pending,
    Complete,
}

/// Why a snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Taken by the user.
    Manual,
    /// The safety snapshot before a reset.
    Reset,
    /// Brought in from a file.
    Import,
}

impl Origin {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Origin::Manual => "manual",
            Origin::Reset => "reset",
            Origin::Import => "import",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "reset" => Origin::Reset,
            "import" => Origin::Import,
            _ => Origin::Manual,
        }
    }
}

/// A snapshot as the catalog lists it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SnapshotView {
    pub id: String,
    /// UTC, RFC 3339.
    pub created: String,
    pub label: Option<String>,
    pub status: SnapshotState,
    pub origin: Origin,
    pub project: String,
    /// The engine's version when it was taken.
    pub engine: String,
    pub items: Vec<SnapshotItemView>,
    /// Stored size of every file.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Services it holds data of, in order.
    pub services: Vec<String>,
}

impl SnapshotView {
    pub(crate) fn of(s: &Snapshot) -> Self {
        let items: Vec<SnapshotItemView> = s.items.iter().map(item_view).collect();
        let mut services: Vec<String> = Vec::new();
        for i in &items {
            if !services.contains(&i.service) {
                services.push(i.service.clone());
            }
        }
        SnapshotView {
            id: s.id.clone(),
            created: rfc3339(s.created),
            label: s.label.clone(),
            status: match s.status {
                SnapshotStatus::Pending => SnapshotState::Pending,
                SnapshotStatus::Complete => SnapshotState::Complete,
            },
            origin: Origin::parse(&s.origin),
            project: s.project.clone(),
            engine: s.engine.clone(),
            bytes: items.iter().map(|i| i.bytes).sum(),
            items,
            services,
        }
    }
}

pub(crate) fn item_view(i: &SnapshotItem) -> SnapshotItemView {
    let kind = berth_compose::snapshot_plan::DataKind::parse(&i.kind)
        .map(ItemKind::from)
        .unwrap_or(ItemKind::Volume);
    SnapshotItemView {
        service: i.service.clone(),
        kind,
        volume: i.volume.clone(),
        database: i.database.clone(),
        version: i.version.clone(),
        bytes: i.bytes.max(0) as u64,
        raw_bytes: i.raw_bytes.max(0) as u64,
        sha256: i.sha256.clone(),
        counts: i.counts.clone(),
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct RestoreView {
    pub id: String,
    /// Each item restored, with its counts checked against those recorded.
    pub restored: Vec<SnapshotItemView>,
    /// Services stopped or recreated for it, started again.
    pub restarted: Vec<String>,
}

/// What a reset did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ResetView {
    /// The safety snapshot taken first: restore it to have the data back.
    pub safety: SnapshotView,
    pub rebuilt: bool,
    pub status: crate::StatusView,
}

/// Progress of a snapshot, restore or reset step.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SnapshotProgress {
    /// "dump app (postgres)", "archive volume shop_files", "down -v".
    pub step: String,
    pub service: Option<String>,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number | null")]
    pub total: Option<u64>,
    /// Bytes per second over the step so far.
    pub rate: f64,
}

/// The folder holding every snapshot of a stack.
pub(crate) fn snapshots_root(
    env: &std::collections::HashMap<String, String>,
    project: &berth_compose::Project,
) -> PathBuf {
    crate::data::stack_dir(
        &crate::data::data_dir(env),
        &project.name,
        &project.working_dir,
    )
    .join("snapshots")
}

/// The key of a stack in the catalog: its folder, as the recent-stacks list keeps it.
pub(crate) fn stack_key(project: &berth_compose::Project) -> String {
    project
        .working_dir
        .canonicalize()
        .unwrap_or_else(|_| project.working_dir.clone())
        .display()
        .to_string()
}

/// The catalog: Berth's database in its data folder (shared by the app and the CLI).
pub async fn open_catalog(
    env: &std::collections::HashMap<String, String>,
) -> Result<Store, ApiError> {
    let data = crate::data::data_dir(env);
    crate::data::create_private_dir(&data)
        .map_err(|e| snap_err_io("cannot create Berth's data folder", e))?;
    Store::open(&data.join("berth.db")).await.map_err(store_err)
}

pub(crate) fn store_err(e: berth_store::StoreError) -> ApiError {
    ApiError::new(ErrorCode::Snapshot, format!("snapshot catalog: {e}"))
}

pub(crate) fn snap_err_io(what: &str, e: std::io::Error) -> ApiError {
    ApiError::new(ErrorCode::Snapshot, format!("{what}: {e}"))
}

/// A restore that would not bring the data back as it was: nothing was touched.
pub(crate) fn refused(reason: Refusal, message: String) -> ApiError {
    ApiError::new(ErrorCode::Snapshot, message).with_detail(ErrorDetail::SnapshotRefused { reason })
}

/// Why a restore was refused before it touched anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A file differs from its checksum (changed or damaged).
    Checksum,
    /// Another database engine, or another major version, than the one saved.
    Version,
    /// The snapshot is not complete, or belongs to another stack.
    NotRestorable,
}

/// Removes what a crash left: pending rows and their folders, temp files in every folder; a
/// snapshot whose writer still runs is left alone.
pub(crate) async fn sweep(store: &Store, root: &Path, stack: &str) -> Result<(), ApiError> {
    let pending = store.pending_snapshots().await.map_err(store_err)?;
    for p in pending.iter().filter(|p| p.stack == stack) {
        // Pending and still being written (by the app or a CLI beside it): not a leftover.
        if berth_snapshot::is_held(&root.join(&p.id)) {
            continue;
        }
        let _ = berth_snapshot::remove_snapshot_dir(root, &p.id);
        store.forget_pending(&p.id).await.map_err(store_err)?;
    }
    let complete: std::collections::HashSet<String> = store
        .snapshots(stack)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    berth_snapshot::clean_leftovers(root, &|name| complete.contains(name))
        .map_err(|e| snap_err_io("cannot clean the snapshots folder", e))?;
    Ok(())
}

/// `2026-12-04T01:23:45Z`.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_796_347_425), "2026-12-04T01:23:45Z");
        assert_eq!(super::rfc3339(951_825_600), "2000-02-29T12:00:00Z");
    }
}
