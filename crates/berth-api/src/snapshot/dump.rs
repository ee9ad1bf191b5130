//! A database server inside a running container, reached through the engine's exec API with
//! argument vectors only: its version, its databases, exact row (or key) counts, a dump streamed
//! out, and a restore of one.

use std::collections::BTreeMap;

use berth_compose::snapshot_plan::{DataKind, Database};
use berth_engine::model::LogStream;
use berth_engine::Engine;
use futures_util::StreamExt;

use super::stream::{capture, exit_code, snap_err, Sink, Tail};
use crate::error::ApiError;

/// Separates the columns of a query's output: a character no table name carries.
const SEP: &str = "\u{1f}";

pub(crate) struct Server<'a, E: Engine> {
    engine: &'a E,
    pub container: String,
    pub service: String,
    db: Database,
    /// Found from the server itself: a `mysql:8.0` tag may well be MariaDB.
    pub kind: DataKind,
    pub version: String,
    /// `mariadb` or `mysql`, `mariadb-dump` or `mysqldump`.
    client: &'static str,
    dumper: &'static str,
}

impl<'a, E: Engine> Server<'a, E> {
    pub(crate) async fn open(
        engine: &'a E,
        service: &str,
        container: &str,
        db: &Database,
    ) -> Result<Server<'a, E>, ApiError> {
        let mut s = Server {
            engine,
            container: container.to_owned(),
            service: service.to_owned(),
            db: db.clone(),
            kind: db.kind,
            version: String::new(),
            client: "mysql",
            dumper: "mysqldump",
        };
        match db.kind {
            DataKind::Postgres => {
                let v = s
                    .sql("template1", "SHOW server_version")
                    .await?
                    .trim()
                    .to_owned();
                s.version = v.split_whitespace().next().unwrap_or("").to_owned();
            }
            DataKind::Mysql | DataKind::Mariadb => {
                if engine
                    .exec_status(container, &["mariadb", "--version"])
                    .await?
                    == Some(0)
                {
                    s.client = "mariadb";
                }
                if engine
                    .exec_status(container, &["mariadb-dump", "--version"])
                    .await?
                    == Some(0)
                {
                    s.dumper = "mariadb-dump";
                }
                let v = s.sql("", "SELECT VERSION()").await?.trim().to_owned();
                s.kind = if v.contains("MariaDB") {
                    DataKind::Mariadb
                } else {
                    DataKind::Mysql
                };
                s.version = v.split('-').next().unwrap_or("").to_owned();
            }
            DataKind::Redis => {
                let info = s.redis(&["INFO", "server"]).await?;
                s.version = info
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("redis_version:"))
                    .unwrap_or("")
                    .to_owned();
            }
            DataKind::Volume => return Err(ApiError::internal("a volume is not a server")),
        }
        Ok(s)
    }

    /// The login, in the environment of every command (never on a command line).
    fn env(&self) -> Vec<String> {
        let Some(p) = &self.db.password else {
            return Vec::new();
        };
        match self.db.kind {
            DataKind::Postgres => vec![format!("PGPASSWORD={p}")],
            DataKind::Redis => vec![format!("REDISCLI_AUTH={p}")],
            _ => vec![format!("MYSQL_PWD={p}")],
        }
    }

    /// Runs `cmd`; its stdout when it exits 0, else a sentence with its last error lines.
    async fn run(&self, what: &str, cmd: &[&str]) -> Result<String, ApiError> {
        let env = self.env();
        let env: Vec<&str> = env.iter().map(String::as_str).collect();
        let ran = capture(self.engine, &self.container, cmd, &env).await?;
        if ran.exit == Some(0) {
            return Ok(ran.stdout);
        }
        Err(snap_err(format!(
            "{what} in {} failed (exit {}): {}",
            self.service,
            ran.exit
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".into()),
            last_lines(&ran.stderr, &self.db.password)
        )))
    }

    /// One SQL statement's rows, columns separated by [`SEP`].
    pub(crate) async fn sql(&self, database: &str, query: &str) -> Result<String, ApiError> {
        match self.kind {
            DataKind::Postgres => {
                let cmd = [
                    "psql",
                    "-X",
                    "-A",
                    "-t",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-F",
                    SEP,
                    "-U",
                    &self.db.user,
                    "-d",
                    database,
                    "-c",
                    query,
                ];
                self.run("psql", &cmd).await
            }
            _ => {
                let mut cmd = vec![self.client, "-N", "-B", "-u", &self.db.user];
                if !database.is_empty() {
                    cmd.push(database);
                }
                cmd.extend(["-e", query]);
                let out = self.run(self.client, &cmd).await?;
                Ok(out.replace('\t', SEP))
            }
        }
    }

    pub(crate) async fn redis(&self, args: &[&str]) -> Result<String, ApiError> {
        let mut cmd = vec!["redis-cli"];
        cmd.extend_from_slice(args);
        self.run("redis-cli", &cmd).await
    }

    /// The databases a dump saves, in name order.
    pub(crate) async fn databases(&self) -> Result<Vec<String>, ApiError> {
        let out = match self.kind {
            DataKind::Postgres => {
                self.sql(
                    "template1",
                    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
                )
                .await?
            }
            DataKind::Redis => return Ok(vec![String::new()]),
            _ => self.sql("", "SHOW DATABASES").await?,
        };
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .filter(|d| {
                self.kind == DataKind::Postgres
                    || !["information_schema", "performance_schema", "mysql", "sys"].contains(d)
            })
            .map(str::to_owned)
            .collect())
    }

    /// Exact rows per table of `database` (`schema.table` in PostgreSQL), or keys per Redis db.
    pub(crate) async fn counts(&self, database: &str) -> Result<BTreeMap<String, i64>, ApiError> {
        let out = match self.kind {
            DataKind::Postgres => {
                self.sql(
                    database,
                    "SELECT n.nspname || '.' || c.relname, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1",
                )
                .await?
            }
            DataKind::Redis => {
                let info = self.redis(&["INFO", "keyspace"]).await?;
                return Ok(info
                    .lines()
                    .filter_map(|l| {
                        let (db, rest) = l.trim().split_once(':')?;
                        let keys = rest.split(',').find_map(|kv| kv.strip_prefix("keys="))?;
                        Some((db.to_owned(), keys.parse().ok()?))
                    })
                    .collect());
            }
            _ => {
                let tables = self
                    .sql(
                        "",
                        &format!(
                            "SELECT table_name FROM information_schema.tables WHERE table_schema = {} AND table_type = 'BASE TABLE' ORDER BY 1",
                            sql_string(database)
                        ),
                    )
                    .await?;
                let parts: Vec<String> = tables
                    .lines()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        format!(
                            "SELECT {}, COUNT(*) FROM {}.{}",
                            sql_string(t),
                            my_ident(database),
                            my_ident(t)
                        )
                    })
                    .collect();
                if parts.is_empty() {
                    return Ok(BTreeMap::new());
                }
                self.sql("", &parts.join(" UNION ALL ")).await?
            }
        };
        Ok(out
            .lines()
            .filter_map(|l| {
                let (t, n) = l.split_once(SEP)?;
                Some((t.to_owned(), n.trim().parse().ok()?))
            })
            .collect())
    }

    /// The dump command of `database` (`None`: PostgreSQL's roles and tablespaces).
    fn dump_cmd(&self, database: Option<&str>) -> Vec<String> {
        let words: Vec<&str> = match (self.kind, database) {
            (DataKind::Postgres, None) => vec!["pg_dumpall", "--globals-only", "-U", &self.db.user],
            // Uncompressed custom format: zstd compresses it better and faster than its zlib,
            // and `pg_restore -j` can still restore tables in parallel.
            (DataKind::Postgres, Some(d)) => {
                vec!["pg_dump", "-Fc", "-Z0", "-U", &self.db.user, "-d", d]
            }
            (DataKind::Redis, _) => vec!["redis-cli", "--rdb", "-"],
            (_, d) => {
                let mut w = vec![
                    self.dumper,
                    "-u",
                    &self.db.user,
                    "--single-transaction",
                    "--routines",
                    "--triggers",
                    "--events",
                    "--hex-blob",
                ];
                w.push("--");
                w.extend(d);
                w
            }
        };
        words.into_iter().map(str::to_owned).collect()
    }

    /// Streams the dump of `database` into `sink`; `on_bytes` hears the running total.
    pub(crate) async fn dump(
        &self,
        database: Option<&str>,
        sink: &mut Sink,
        on_bytes: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(), ApiError> {
        let cmd = self.dump_cmd(database);
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let env = self.env();
        let env: Vec<&str> = env.iter().map(String::as_str).collect();
        let mut exec = self
            .engine
            .exec_stream(&self.container, &cmd, &env, None)
            .await?;
        let mut tail = Tail::default();
        while let Some(chunk) = exec.output.next().await {
            let chunk = chunk?;
            match chunk.stream {
                LogStream::Stdout => {
                    sink.write(chunk.bytes).await?;
                    on_bytes(sink.written);
                }
                LogStream::Stderr => tail.push(&chunk.bytes),
            }
        }
        match exit_code(self.engine, &exec.id).await? {
            Some(0) => Ok(()),
            code => Err(snap_err(format!(
                "{} in {} failed (exit {}): {}",
                cmd[0],
                self.service,
                code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                last_lines(&tail.text(), &self.db.password)
            ))),
        }
    }

    /// Restores a dump already put at `file` in the container into `database`: PostgreSQL
    /// into a new database renamed over the old one only once its counts match, MySQL/MariaDB
    /// into a new database checked first, then over the old one.
    pub(crate) async fn restore(
        &self,
        database: Option<&str>,
        file: &str,
        expected: &BTreeMap<String, i64>,
    ) -> Result<(), ApiError> {
        match (self.kind, database) {
            (DataKind::Postgres, None) => {
                // Roles that exist already are reported and kept: not an error.
                let cmd = [
                    "psql",
                    "-X",
                    "-q",
                    "-U",
                    &self.db.user,
                    "-d",
                    "template1",
                    "-f",
                    file,
                ];
                self.run("psql (roles)", &cmd).await.map(|_| ())
            }
            (DataKind::Postgres, Some(d)) => {
                let temp = format!("{d}__berth_restore");
                let owner = self
                    .sql(
                        "template1",
                        &format!(
                            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {}",
                            sql_string(d)
                        ),
                    )
                    .await?
                    .trim()
                    .to_owned();
                let owner = if owner.is_empty() {
                    self.db.user.clone()
                } else {
                    owner
                };
                self.sql(
                    "template1",
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_ident(&temp)),
                )
                .await?;
                self.sql(
                    "template1",
                    &format!(
                        "CREATE DATABASE {} OWNER {}",
                        pg_ident(&temp),
                        pg_ident(&owner)
                    ),
                )
                .await?;
                let restored: Result<(), ApiError> = async {
                    let cmd = [
                        "pg_restore",
                        "-U",
                        &self.db.user,
                        "-d",
                        &temp,
                        "-j",
                        "2",
                        "--no-password",
                        file,
                    ];
                    self.run("pg_restore", &cmd).await?;
                    self.check_counts(&temp, d, expected).await
                }
                .await
                .map_err(kept_old);
                if let Err(e) = restored {
                    let _ = self
                        .sql(
                            "template1",
                            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_ident(&temp)),
                        )
                        .await;
                    return Err(e);
                }
                // The swap: the old database goes (its connections closed) and the checked one
                // takes its name.
                self.sql(
                    "template1",
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_ident(d)),
                )
                .await?;
                self.sql(
                    "template1",
                    &format!(
                        "ALTER DATABASE {} RENAME TO {}",
                        pg_ident(&temp),
                        pg_ident(d)
                    ),
                )
                .await?;
                Ok(())
            }
            (DataKind::Mysql | DataKind::Mariadb, Some(d)) => {
                // MariaDB cannot rename a database (nor move a table with triggers into
                // another), so the dump is loaded twice: first beside the old database and
                // checked, and only then over the old one. When the second load fails, the
                // checked copy is kept and named.
                let temp = format!("{d}__berth_restore");
                let checked = async {
                    self.load_mysql(&temp, file).await?;
                    self.check_counts(&temp, d, expected).await
                }
                .await;
                if let Err(e) = checked.map_err(kept_old) {
                    let _ = self
                        .sql("", &format!("DROP DATABASE IF EXISTS {}", my_ident(&temp)))
                        .await;
                    return Err(e);
                }
                let replaced = async {
                    self.load_mysql(d, file).await?;
                    self.check_counts(d, d, expected).await
                }
                .await;
                match replaced {
                    Ok(()) => {
                        self.sql("", &format!("DROP DATABASE IF EXISTS {}", my_ident(&temp)))
                            .await?;
                        Ok(())
                    }
                    Err(e) => Err(snap_err(format!(
                        "{}; the snapshot's data is kept, checked, in database {temp}",
                        e.message
                    ))),
                }
            }
            _ => Err(ApiError::internal("no restore for this item")),
        }
    }

    /// Recreates `database` empty and loads a dump file (made of one database, so it names
    /// none) into it.
    async fn load_mysql(&self, database: &str, file: &str) -> Result<(), ApiError> {
        self.sql(
            "",
            &format!("DROP DATABASE IF EXISTS {}", my_ident(database)),
        )
        .await?;
        self.sql("", &format!("CREATE DATABASE {}", my_ident(database)))
            .await?;
        let source = format!("source {file}");
        let cmd = [self.client, "-u", &self.db.user, database, "-e", &source];
        self.run(self.client, &cmd).await.map(|_| ())
    }

    /// The restored `database`'s counts against those recorded for `name` at snapshot time.
    pub(crate) async fn check_counts(
        &self,
        database: &str,
        name: &str,
        expected: &BTreeMap<String, i64>,
    ) -> Result<(), ApiError> {
        let found = self.counts(database).await?;
        if &found == expected {
            return Ok(());
        }
        Err(snap_err(format!(
            "the restored {name} in {} does not hold what the snapshot recorded: {}",
            self.service,
            count_difference(expected, &found)
        )))
    }

    pub(crate) fn engine(&self) -> &'a E {
        self.engine
    }
}

/// A failed restore before the swap: the old database was not touched.
fn kept_old(e: ApiError) -> ApiError {
    snap_err(format!(
        "{}; the old database was kept as it was",
        e.message
    ))
}

/// "orders: 1000 rows recorded, 998 found; audit: missing".
pub(crate) fn count_difference(
    expected: &BTreeMap<String, i64>,
    found: &BTreeMap<String, i64>,
) -> String {
    let mut out = Vec::new();
    for (k, v) in expected {
        match found.get(k) {
            Some(f) if f == v => {}
            Some(f) => out.push(format!("{k}: {v} recorded, {f} found")),
            None => out.push(format!("{k}: missing")),
        }
    }
    for k in found.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("{k}: not in the snapshot"));
    }
    out.truncate(5);
    out.join("; ")
}

/// The last three lines of a tool's error output, with the password never shown.
fn last_lines(stderr: &str, password: &Option<String>) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let text = lines[lines.len().saturating_sub(3)..].join(" / ");
    match password {
        Some(p) if !p.is_empty() => text.replace(p.as_str(), "••••"),
        _ => text,
    }
}

fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// A SQL string literal for both servers.
fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_strings_are_quoted_for_their_server() {
        assert_eq!(pg_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(my_ident("a`b"), "`a``b`");
        assert_eq!(sql_string("it's\\"), "'it''s\\\\'");
    }

    #[test]
    fn a_count_difference_names_each_table() {
        let e = BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 1)]);
        let f = BTreeMap::from([("a".to_owned(), 2), ("c".to_owned(), 1)]);
        assert_eq!(
            count_difference(&e, &f),
            "a: 3 recorded, 2 found; b: missing; c: not in the snapshot"
        );
    }

    #[test]
    fn a_tools_error_never_shows_the_password() {
        let s = last_lines(
            "\nline1\nfailed for hunter2\nlast\n",
            &Some("hunter2".into()),
        );
        assert_eq!(s, "line1 / failed for •••• / last");
    }
}
