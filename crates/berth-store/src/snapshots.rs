//! The snapshot catalog: which snapshots of a stack exist and which artifacts each holds. The
//! artifacts themselves are files in Berth's data folder; this only records them.
//!
//! A snapshot is begun `pending` before its first artifact is written and completed with all its
//! items in one transaction, so a listed snapshot is never missing an item, and a crash leaves a
//! pending row that names the folder to clean up.

use std::collections::{BTreeMap, HashMap};

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotStatus {
    Pending,
    Complete,
}

impl SnapshotStatus {
    fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Pending => "pending",
            SnapshotStatus::Complete => "complete",
        }
    }

    fn parse(id: &str, text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(SnapshotStatus::Pending),
            "complete" => Ok(SnapshotStatus::Complete),
            other => Err(StoreError::Catalog(format!(
                "snapshot {id} has the unknown status {other:?}; it was written by another version of Berth"
            ))),
        }
    }
}

/// What is known of a snapshot when it is begun, before any artifact exists.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewSnapshot {
    pub id: String,
    pub stack: String,
    pub project: String,
    pub label: Option<String>,
    pub origin: String,
    pub created: i64,
    pub engine: String,
}

/// One artifact of a snapshot: the file in the snapshot's folder and how to check it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotItem {
    pub service: String,
    pub kind: String,
    pub volume: Option<String>,
    /// The database inside the server (`None` for a server's roles, Redis and volumes).
    #[serde(default)]
    pub database: Option<String>,
    pub version: Option<String>,
    pub file: String,
    pub bytes: i64,
    pub raw_bytes: i64,
    pub sha256: String,
    pub counts: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub stack: String,
    pub project: String,
    pub label: Option<String>,
    pub origin: String,
    pub status: SnapshotStatus,
    pub created: i64,
    pub completed: Option<i64>,
    pub engine: String,
    pub items: Vec<SnapshotItem>,
}

const SNAPSHOT_COLUMNS: &str =
    "s.id, s.stack, s.project, s.label, s.origin, s.status, s.created, s.completed, s.engine";
const ITEM_COLUMNS: &str =
    "i.snapshot, i.service, i.kind, i.volume, i.database, i.version, i.file, i.bytes, \
     i.raw_bytes, i.sha256, i.counts";

fn snapshot_from(row: &SqliteRow) -> Result<Snapshot, StoreError> {
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(Snapshot {
        status: SnapshotStatus::parse(&id, &status)?,
        stack: row.try_get("stack")?,
        project: row.try_get("project")?,
        label: row.try_get("label")?,
        origin: row.try_get("origin")?,
        created: row.try_get("created")?,
        completed: row.try_get("completed")?,
        engine: row.try_get("engine")?,
        items: Vec::new(),
        id,
    })
}

/// The item and the id of the snapshot it belongs to.
fn item_from(row: &SqliteRow) -> Result<(String, SnapshotItem), StoreError> {
    let snapshot: String = row.try_get("snapshot")?;
    let counts: String = row.try_get("counts")?;
    let counts = serde_json::from_str(&counts).map_err(|e| {
        StoreError::Catalog(format!(
            "an item of snapshot {snapshot} has unreadable counts ({e}); the database was changed outside Berth"
        ))
    })?;
    let item = SnapshotItem {
        service: row.try_get("service")?,
        kind: row.try_get("kind")?,
        volume: row.try_get("volume")?,
        database: row.try_get("database")?,
        version: row.try_get("version")?,
        file: row.try_get("file")?,
        bytes: row.try_get("bytes")?,
        raw_bytes: row.try_get("raw_bytes")?,
        sha256: row.try_get("sha256")?,
        counts,
    };
    Ok((snapshot, item))
}

/// Reads the snapshots a `WHERE` clause on `s` selects, each with its items in order, inside
/// one transaction so a snapshot deleted meanwhile is never seen without its items.
async fn read_snapshots(
    tx: &mut Transaction<'_, Sqlite>,
    filter: &str,
    bind: Option<&str>,
) -> Result<Vec<Snapshot>, StoreError> {
    let heads = format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM snapshots s WHERE {filter} ORDER BY s.created DESC, s.id DESC"
    );
    let items = format!(
        "SELECT {ITEM_COLUMNS} FROM snapshot_items i JOIN snapshots s ON s.id = i.snapshot \
         WHERE {filter} ORDER BY i.snapshot, i.seq"
    );
    let mut heads = sqlx::query(&heads);
    let mut items = sqlx::query(&items);
    if let Some(value) = bind {
        heads = heads.bind(value);
        items = items.bind(value);
    }
    let heads = heads.fetch_all(&mut **tx).await?;
    let items = items.fetch_all(&mut **tx).await?;
    let mut by_snapshot: HashMap<String, Vec<SnapshotItem>> = HashMap::new();
    for row in &items {
        let (snapshot, item) = item_from(row)?;
        by_snapshot.entry(snapshot).or_default().push(item);
    }
    heads
        .iter()
        .map(|row| {
            let mut snapshot = snapshot_from(row)?;
            snapshot.items = by_snapshot.remove(&snapshot.id).unwrap_or_default();
            Ok(snapshot)
        })
        .collect()
}

impl Store {
    /// Records a snapshot as `pending`, before any of its artifacts is written.
    pub async fn begin_snapshot(&self, new: &NewSnapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (id, stack, project, label, origin, status, created, completed, engine)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
        )
        .bind(&new.id)
        .bind(&new.stack)
        .bind(&new.project)
        .bind(&new.label)
        .bind(&new.origin)
        .bind(SnapshotStatus::Pending.as_str())
        .bind(new.created)
        .bind(&new.engine)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Catalog(format!(
                "snapshot {} already exists; a new snapshot needs a new id",
                new.id
            )),
            _ => StoreError::from(e),
        })?;
        Ok(())
    }

    /// Records the artifacts of a pending snapshot and marks it complete at `now`, all in one
    /// transaction. Refused when the snapshot does not exist or is not pending, so items are
    /// never added to a snapshot already listed.
    pub async fn complete_snapshot(
        &self,
        id: &str,
        items: &[SnapshotItem],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The write comes first so the transaction holds SQLite's write lock from its start
        // (a read first would have to upgrade, which can fail with SQLITE_BUSY).
        let updated = sqlx::query(
            "UPDATE snapshots SET status = ?2, completed = ?3 WHERE id = ?1 AND status = ?4",
        )
        .bind(id)
        .bind(SnapshotStatus::Complete.as_str())
        .bind(now)
        .bind(SnapshotStatus::Pending.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM snapshots WHERE id = ?1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(StoreError::Catalog(if exists {
                format!("snapshot {id} is not pending; it was already completed")
            } else {
                format!("snapshot {id} does not exist; it must be begun before it is completed")
            }));
        }
        for (seq, item) in items.iter().enumerate() {
            let counts = serde_json::to_string(&item.counts).map_err(|e| {
                StoreError::Catalog(format!(
                    "the counts of {} in snapshot {id} cannot be written: {e}",
                    item.file
                ))
            })?;
            let seq = i64::try_from(seq).map_err(|_| {
                StoreError::Catalog(format!("snapshot {id} has too many items to number"))
            })?;
            sqlx::query(
                "INSERT INTO snapshot_items
                   (snapshot, seq, service, kind, volume, database, version, file, bytes, raw_bytes, sha256, counts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .bind(id)
            .bind(seq)
            .bind(&item.service)
            .bind(&item.kind)
            .bind(&item.volume)
            .bind(&item.database)
            .bind(&item.version)
            .bind(&item.file)
            .bind(item.bytes)
            .bind(item.raw_bytes)
            .bind(&item.sha256)
            .bind(counts)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The complete snapshots of `stack`, newest first, each with its items in the order taken.
    pub async fn snapshots(&self, stack: &str) -> Result<Vec<Snapshot>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = read_snapshots(
            &mut tx,
            "s.stack = ?1 AND s.status = 'complete'",
            Some(stack),
        )
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// One snapshot by id, pending or complete, with its items.
    pub async fn snapshot(&self, id: &str) -> Result<Option<Snapshot>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = read_snapshots(&mut tx, "s.id = ?1", Some(id)).await?;
        tx.commit().await?;
        Ok(found.into_iter().next())
    }

    /// Sets or clears (`None`) the label of a snapshot.
    pub async fn label_snapshot(&self, id: &str, label: Option<&str>) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE snapshots SET label = ?2 WHERE id = ?1")
            .bind(id)
            .bind(label)
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Catalog(format!(
                "snapshot {id} does not exist, so it cannot be labelled"
            )));
        }
        Ok(())
    }

    /// Forgets a snapshot and its items (one transaction). `false` when there was no such
    /// snapshot. Its files are the caller's to remove.
    pub async fn delete_snapshot(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_where(id, None).await
    }

    /// Every pending snapshot of every stack, newest first: what a crash or a failed snapshot
    /// left behind.
    pub async fn pending_snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = read_snapshots(&mut tx, "s.status = 'pending'", None).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Forgets a snapshot only while it is still pending, so cleaning up after a crash can
    /// never remove one that completed meanwhile. `true` when it was removed.
    pub async fn forget_pending(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_where(id, Some(SnapshotStatus::Pending)).await
    }

    async fn delete_where(
        &self,
        id: &str,
        status: Option<SnapshotStatus>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let status = status.map(SnapshotStatus::as_str);
        // The row first: it decides (by status) whether anything goes, and takes the write lock.
        let deleted =
            sqlx::query("DELETE FROM snapshots WHERE id = ?1 AND (?2 IS NULL OR status = ?2)")
                .bind(id)
                .bind(status)
                .execute(&mut *tx)
                .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        // The foreign key cascades already; said again so the items go even on a connection
        // where foreign keys were turned off.
        sqlx::query("DELETE FROM snapshot_items WHERE snapshot = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
