//! Berth's own state, in one SQLite file in the app data folder. Runtime queries (no database at
//! build time) and migrations embedded in the binary.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

mod snapshots;
pub use snapshots::{NewSnapshot, Snapshot, SnapshotItem, SnapshotStatus};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open Berth's database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot update Berth's database schema: {source}")]
    Migrate {
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("database query failed: {source}")]
    Query {
        #[from]
        source: sqlx::Error,
    },
    /// The snapshot catalog refused a change that would break its rules (completing a snapshot
    /// twice, labelling one that does not exist): the sentence says which snapshot and why.
    #[error("{0}")]
    Catalog(String),
}

impl StoreError {
    /// The file could not be reached at all (permissions, a missing folder): moving it aside
    /// would not help.
    fn is_io(&self) -> bool {
        matches!(
            self,
            StoreError::Open {
                source: sqlx::Error::Io(_),
                ..
            }
        )
    }

    fn reason(&self) -> &'static str {
        match self {
            StoreError::Migrate {
                source: sqlx::migrate::MigrateError::VersionMissing(_),
            } => "newer",
            _ => "corrupt",
        }
    }
}

/// `berth.db` → `berth.db.corrupt-1764660000` beside it.
fn moved_aside(path: &Path, reason: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from(format!("{}.{reason}-{secs}", path.display()))
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecentStack {
    pub path: String,
    pub name: String,
    pub opened_at: i64,
}

/// Serializable as the app shows it to the UI.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
pub struct NodePosition {
    pub node: String,
    pub x: f64,
    pub y: f64,
}

/// A diagram layout as the UI computed it: the graph it laid out and the result, both as the
/// UI's own JSON text (the store does not interpret them).
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
pub struct SavedLayout {
    pub input: String,
    pub output: String,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Set when the database found was unreadable or from a newer Berth and was moved aside.
    notice: Option<String>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date. A
    /// database that is corrupt, or was written by a newer Berth, is moved aside (kept, never
    /// deleted) and a fresh one is started; [`Store::notice`] says so.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        match Self::open_once(path).await {
            Ok(store) => Ok(store),
            Err(e) if path.is_file() && !e.is_io() => {
                let aside = moved_aside(path, e.reason());
                for suffix in ["", "-wal", "-shm"] {
                    let from = PathBuf::from(format!("{}{suffix}", path.display()));
                    if from.exists() {
                        let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                        std::fs::rename(&from, &to).map_err(|source| StoreError::Open {
                            path: path.display().to_string(),
                            source: sqlx::Error::Io(source),
                        })?;
                    }
                }
                let mut store = Self::open_once(path).await?;
                store.notice = Some(format!(
                    "Berth's database {} could not be used ({e}); it was moved to {} and a new one was started",
                    path.display(),
                    aside.display()
                ));
                Ok(store)
            }
            Err(e) => Err(e),
        }
    }

    /// What happened to an unusable database at open, if anything.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    async fn open_once(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        // From the path itself, never a URL: a `?` or `%` in a folder name is just a character.
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL: a crash mid-write never leaves a half-written database.
            .journal_mode(SqliteJournalMode::Wal)
            // sqlx turns this on by default; said here because snapshot items rely on it.
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: shown,
                source,
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { source })?;
        Ok(Store { pool, notice: None })
    }

    /// Records that a stack was opened at `now` (Unix seconds); injected so tests control order.
    pub async fn remember_stack(&self, path: &str, name: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stacks (path, name, opened_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(path) DO UPDATE SET name = excluded.name, opened_at = excluded.opened_at",
        )
        .bind(path)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recent_stacks(&self) -> Result<Vec<RecentStack>, StoreError> {
        let rows =
            sqlx::query("SELECT path, name, opened_at FROM stacks ORDER BY opened_at DESC, path")
                .fetch_all(&self.pool)
                .await?;
        let stacks = rows
            .into_iter()
            .map(|r| {
                Ok(RecentStack {
                    path: r.try_get("path")?,
                    name: r.try_get("name")?,
                    opened_at: r.try_get("opened_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(stacks)
    }

    /// Forgets a stack, its diagram positions and its saved layout (one transaction: all or none).
    pub async fn forget_stack(&self, path: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for table in ["node_positions", "layouts"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE stack = ?1"))
                .bind(path)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM stacks WHERE path = ?1")
            .bind(path)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_pref(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO prefs (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn pref(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM prefs WHERE key = ?1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?)
    }

    pub async fn save_position(
        &self,
        stack: &str,
        node: &str,
        x: f64,
        y: f64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO node_positions (stack, node, x, y) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(stack, node) DO UPDATE SET x = excluded.x, y = excluded.y",
        )
        .bind(stack)
        .bind(node)
        .bind(x)
        .bind(y)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets every moved node of a stack: its diagram goes back to the automatic layout.
    pub async fn clear_positions(&self, stack: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM node_positions WHERE stack = ?1")
            .bind(stack)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn positions(&self, stack: &str) -> Result<Vec<NodePosition>, StoreError> {
        let rows =
            sqlx::query("SELECT node, x, y FROM node_positions WHERE stack = ?1 ORDER BY node")
                .bind(stack)
                .fetch_all(&self.pool)
                .await?;
        let positions = rows
            .into_iter()
            .map(|r| {
                Ok(NodePosition {
                    node: r.try_get("node")?,
                    x: r.try_get("x")?,
                    y: r.try_get("y")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(positions)
    }

    /// Keeps `layout` as the stack's one saved layout, replacing any earlier one.
    pub async fn save_layout(&self, stack: &str, layout: &SavedLayout) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO layouts (stack, input, output) VALUES (?1, ?2, ?3)
             ON CONFLICT(stack) DO UPDATE SET input = excluded.input, output = excluded.output",
        )
        .bind(stack)
        .bind(&layout.input)
        .bind(&layout.output)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn layout(&self, stack: &str) -> Result<Option<SavedLayout>, StoreError> {
        Ok(
            sqlx::query("SELECT input, output FROM layouts WHERE stack = ?1")
                .bind(stack)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| {
                    Ok::<_, sqlx::Error>(SavedLayout {
                        input: r.try_get("input")?,
                        output: r.try_get("output")?,
                    })
                })
                .transpose()?,
        )
    }
}
