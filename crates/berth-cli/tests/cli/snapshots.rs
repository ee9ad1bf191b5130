//! `berth snapshot`, `snapshots`, `restore` on the real engine, with real PostgreSQL, MariaDB
//! and Redis from the fixture images and a plain named volume: data saved, destroyed, brought
//! back identical; a damaged file or another server version refused before anything changes;
//! a snapshot killed with SIGKILL never listed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{repo_root, stderr, stdout, FixtureCopy};

/// A copy of the snapshots fixture, up.
struct Stack(FixtureCopy);

impl std::ops::Deref for Stack {
    type Target = FixtureCopy;
    fn deref(&self) -> &FixtureCopy {
        &self.0
    }
}

impl Stack {
    fn up(project: &str) -> Stack {
        let s = Stack(FixtureCopy::new(
            &repo_root().join("tests/fixtures/snapshots"),
            project,
        ));
        let o = s.berth(&["up", ".", "--timeout", "120"]);
        assert!(o.status.success(), "the stack comes up: {}", stderr(&o));
        s
    }

    fn psql(&self, sql: &str) -> String {
        self.exec(
            "pg",
            &["psql", "-U", "app", "-d", "shop", "-AtX", "-c", sql],
        )
    }

    fn maria(&self, sql: &str) -> String {
        self.exec(
            "maria",
            &[
                "mariadb",
                "-uroot",
                "-pmaria-secret-9",
                "-N",
                "-B",
                "blog",
                "-e",
                sql,
            ],
        )
    }

    fn redis(&self, args: &[&str]) -> String {
        let mut a = vec!["redis-cli", "--no-auth-warning", "-a", "redis-secret-3"];
        a.extend_from_slice(args);
        self.exec("cache", &a)
    }

    fn snapshot_json(&self, args: &[&str]) -> Value {
        let mut a = vec!["snapshot", "."];
        a.extend_from_slice(args);
        a.push("--json");
        let o = self.berth(&a);
        assert!(o.status.success(), "berth snapshot: {}", stderr(&o));
        no_secret(&o);
        serde_json::from_slice(&o.stdout).expect("snapshot JSON")
    }

    /// The folder holding the snapshot `id`'s files.
    fn snapshot_dir(&self, id: &str) -> PathBuf {
        let stacks = self.data.join("stacks");
        for e in std::fs::read_dir(&stacks).expect("stacks folder") {
            let p = e.expect("entry").path().join("snapshots").join(id);
            if p.is_dir() {
                return p;
            }
        }
        panic!("no folder for snapshot {id} under {}", stacks.display());
    }

    fn snapshots_root(&self) -> PathBuf {
        let stacks = self.data.join("stacks");
        let e = std::fs::read_dir(&stacks)
            .expect("stacks folder")
            .next()
            .expect("one stack folder")
            .expect("entry");
        e.path().join("snapshots")
    }
}

/// No password of the fixture ever appears in what berth prints.
fn no_secret(o: &Output) {
    let all = format!("{}{}", stdout(o), stderr(o));
    for s in ["pg-secret-7", "maria-secret-9", "redis-secret-3"] {
        assert!(!all.contains(s), "berth printed the password {s}: {all}");
    }
}

/// What the test compares before and after: rows and a checksum of every row per table, the
/// view and the function, the Redis keys, the volume's files.
fn fingerprint(s: &Stack) -> Vec<String> {
    vec![
        s.psql("SELECT count(*), md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o"),
        s.psql("SELECT count(*), md5(string_agg(i::text, ',' ORDER BY id)) FROM items i"),
        s.psql("SELECT count(*) FROM big_orders"),
        s.psql("SELECT order_total(7)"),
        s.psql("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders'"),
        s.maria("SELECT COUNT(*) FROM posts"),
        s.maria("CHECKSUM TABLE posts"),
        s.maria("SELECT COUNT(*) FROM long_posts"),
        s.maria("SELECT post_len(3)"),
        s.redis(&["DBSIZE"]),
        s.redis(&["GET", "k777"]),
        s.exec(
            "files",
            &[
                "sh",
                "-c",
                "cd /srv/uploads && find . -type f | sort | xargs md5sum",
            ],
        ),
    ]
}

fn seed(s: &Stack) {
    s.psql(
        "CREATE TABLE orders (id serial PRIMARY KEY, customer int NOT NULL, total numeric(10,2), note text);
         INSERT INTO orders (customer, total, note) SELECT g % 997, (g % 1000) / 7.0, md5(g::text) FROM generate_series(1, 120000) g;
         CREATE INDEX orders_customer ON orders (customer);
         CREATE TABLE items (id serial PRIMARY KEY, order_id int REFERENCES orders(id), sku text);
         INSERT INTO items (order_id, sku) SELECT 1 + g % 120000, 'sku-' || (g % 50) FROM generate_series(1, 30000) g;
         CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
         CREATE FUNCTION order_total(c int) RETURNS numeric LANGUAGE sql AS 'SELECT sum(total) FROM orders WHERE customer = c';",
    );
    s.maria(
        "CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(64), body TEXT, KEY title_idx (title));
         INSERT INTO posts SELECT seq, CONCAT('post ', seq), REPEAT(MD5(seq), 3) FROM seq_1_to_100000;
         CREATE VIEW long_posts AS SELECT id FROM posts WHERE id % 3 = 0;
         CREATE FUNCTION post_len(i INT) RETURNS INT DETERMINISTIC RETURN (SELECT LENGTH(body) FROM posts WHERE id = i);",
    );
    s.redis(&[
        "EVAL",
        "for i=1,1000 do redis.call('SET','k'..i,i) end return 1",
        "0",
    ]);
    s.exec(
        "files",
        &[
            "sh",
            "-c",
            "mkdir -p /srv/uploads/img && for i in $(seq 1 40); do echo file $i > /srv/uploads/img/$i.txt; done && head -c 200000 /dev/urandom > /srv/uploads/blob.bin",
        ],
    );
}

#[test]
fn every_kind_of_data_is_saved_destroyed_and_restored_identical() {
    let _g = berth_testkit::shared();
    let s = Stack::up("berthsnap-roundtrip");
    seed(&s);
    let before = fingerprint(&s);

    let snap = s.snapshot_json(&["--label", "before the mess"]);
    assert_eq!(snap["status"], "complete", "{snap}");
    assert_eq!(snap["label"], "before the mess");
    assert!(
        snap["created"].as_str().is_some_and(|c| c.ends_with('Z')),
        "created is an RFC 3339 UTC time: {snap}"
    );
    let items = snap["items"].as_array().expect("items");
    let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
    for k in ["postgres", "mariadb", "redis", "volume"] {
        assert!(kinds.contains(&k), "a {k} item was saved: {kinds:?}");
    }
    for i in items {
        let sha = i["sha256"].as_str().unwrap_or_default();
        assert!(
            sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "each item has a SHA-256: {i}"
        );
        assert!(
            i["bytes"].as_u64().unwrap_or(0) > 0,
            "each item has a size: {i}"
        );
        for field in ["service", "volume", "version", "counts"] {
            assert!(i.get(field).is_some(), "the contract's field {field}: {i}");
        }
    }
    let shop = items
        .iter()
        .find(|i| i["database"] == "shop")
        .expect("the shop database item");
    assert_eq!(
        shop["counts"]["public.orders"], 120000,
        "rows recorded: {shop}"
    );
    assert_eq!(shop["counts"]["public.items"], 30000);
    assert!(
        shop["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("15.")),
        "the server's own version is recorded: {shop}"
    );
    let blog = items
        .iter()
        .find(|i| i["database"] == "blog")
        .expect("blog");
    assert_eq!(blog["counts"]["posts"], 100000);
    let cache = items.iter().find(|i| i["kind"] == "redis").expect("redis");
    assert_eq!(cache["counts"]["db0"], 1000, "keys recorded: {cache}");
    let uploads = items
        .iter()
        .find(|i| i["kind"] == "volume")
        .expect("volume");
    assert_eq!(uploads["volume"], format!("{}_uploads", s.project));
    assert_eq!(uploads["counts"]["files"], 41);
    // The databases' own data volumes are saved by their dumps, not copied live.
    assert_eq!(kinds.iter().filter(|k| **k == "volume").count(), 1);
    let files: Vec<PathBuf> =
        std::fs::read_dir(s.snapshot_dir(snap["id"].as_str().unwrap_or_default()))
            .expect("snapshot folder")
            .map(|e| e.expect("entry").path())
            .collect();
    #[cfg(unix)]
    for f in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private to the user", f.display());
    }

    let listed = s.berth(&["snapshots", ".", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("list JSON");
    assert_eq!(
        listed[0]["id"], snap["id"],
        "the catalog lists it: {listed}"
    );

    // The mess: rows deleted, a table dropped, keys flushed, files removed.
    s.psql("DELETE FROM items; DELETE FROM orders WHERE id > 10; DROP VIEW big_orders; DROP FUNCTION order_total(int);");
    s.maria("DROP VIEW long_posts; DROP TABLE posts;");
    s.redis(&["FLUSHALL"]);
    s.exec(
        "files",
        &[
            "sh",
            "-c",
            "rm -rf /srv/uploads/img; echo new > /srv/uploads/new.txt",
        ],
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM orders"),
        "10",
        "the mess changed the data"
    );
    assert_eq!(s.redis(&["DBSIZE"]), "0");

    let id = snap["id"].as_str().unwrap_or_default();
    let o = s.berth(&["restore", ".", id, "--json"]);
    assert!(o.status.success(), "berth restore: {}", stderr(&o));
    no_secret(&o);
    let restored: Value = serde_json::from_slice(&o.stdout).expect("restore JSON");
    assert_eq!(
        restored["restored"].as_array().map(Vec::len),
        Some(items.len()),
        "every item was restored: {restored}"
    );
    // The services touched are back and healthy before the data is compared.
    let o = s.berth(&["up", ".", "--timeout", "120"]);
    assert!(
        o.status.success(),
        "still green after the restore: {}",
        stderr(&o)
    );
    assert_eq!(
        fingerprint(&s),
        before,
        "the data is back exactly as it was"
    );
    let temp = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter", "label=dev.berth.role"])
        .output()
        .expect("docker volume ls");
    assert!(
        String::from_utf8_lossy(&temp.stdout).trim().is_empty(),
        "no restore volume is left behind"
    );
}

/// Rewrites an exported snapshot's catalog entry with `edit`, as a teammate's older (or
/// foreign) snapshot would carry it.
fn edit_bundle(from: &Path, to: &Path, edit: impl Fn(&mut Value)) {
    let mut archive = tar::Archive::new(std::fs::File::open(from).expect("open bundle"));
    let mut out = tar::Builder::new(std::fs::File::create(to).expect("create bundle"));
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read entry");
        if name == "manifest.json" {
            let mut v: Value = serde_json::from_slice(&bytes).expect("manifest JSON");
            edit(&mut v);
            bytes = serde_json::to_vec(&v).expect("json");
        }
        let mut h = tar::Header::new_ustar();
        h.set_path(&name).expect("name");
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        out.append(&h, bytes.as_slice()).expect("append");
    }
    out.finish().expect("finish");
}

#[test]
fn a_damaged_file_or_another_server_is_refused_before_anything_changes() {
    let _g = berth_testkit::shared();
    let s = Stack::up("berthsnap-refusals");
    s.psql("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 500);");
    let snap = s.snapshot_json(&["pg"]);
    let id = snap["id"].as_str().unwrap_or_default().to_owned();
    let dump = snap["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["database"] == "shop"))
        .expect("shop item");
    s.psql("DELETE FROM t WHERE id > 100;");

    // One flipped byte in the middle of the dump's file.
    let dir = s.snapshot_dir(&id);
    let file = std::fs::read_dir(&dir)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.to_string_lossy().contains("pgdump") && {
                std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
                    == dump["bytes"].as_u64().unwrap_or(0)
            }
        })
        .expect("the shop dump's file");
    let mut bytes = std::fs::read(&file).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&file, &bytes).expect("write");
    let o = s.berth(&["restore", ".", &id]);
    assert_eq!(
        o.status.code(),
        Some(9),
        "a damaged snapshot exits 9: {}",
        stderr(&o)
    );
    let why = stderr(&o);
    assert!(
        why.contains("checksum")
            && why.contains(&*file.file_name().unwrap_or_default().to_string_lossy()),
        "the refusal names the checksum and the file: {why}"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM t"),
        "100",
        "nothing was touched"
    );
    bytes[mid] ^= 0x01;
    std::fs::write(&file, &bytes).expect("write back");

    // A teammate's snapshot from PostgreSQL 14, and one that says MariaDB.
    let bundle = s.data.join("shop.berth");
    let o = s.berth(&["snapshot", "export", &id, &bundle.to_string_lossy()]);
    assert!(o.status.success(), "export: {}", stderr(&o));
    let older = s.data.join("older.berth");
    edit_bundle(&bundle, &older, |m| {
        for i in m["items"].as_array_mut().into_iter().flatten() {
            i["version"] = "14.11".into();
        }
    });
    let o = s.berth(&["snapshot", "import", &older.to_string_lossy(), "--json"]);
    assert!(o.status.success(), "import: {}", stderr(&o));
    let imported: Value = serde_json::from_slice(&o.stdout).expect("import JSON");
    let old_id = imported["id"].as_str().unwrap_or_default().to_owned();
    assert_ne!(old_id, id, "an import is a snapshot of its own");
    let o = s.berth(&["restore", ".", &old_id, "pg"]);
    assert_eq!(
        o.status.code(),
        Some(9),
        "a dump of 14 into 15 is refused: {}",
        stderr(&o)
    );
    let why = stderr(&o);
    assert!(
        why.contains("14.11") && why.contains("--allow-upgrade"),
        "the refusal says which versions and the logical way across: {why}"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM t"),
        "100",
        "nothing was touched"
    );
    let o = s.berth(&["restore", ".", &old_id, "pg", "--allow-upgrade"]);
    assert!(
        o.status.success(),
        "the chosen logical restore runs: {}",
        stderr(&o)
    );
    assert_eq!(s.psql("SELECT count(*) FROM t"), "500", "the data is back");

    let foreign = s.data.join("foreign.berth");
    edit_bundle(&bundle, &foreign, |m| {
        for i in m["items"].as_array_mut().into_iter().flatten() {
            i["kind"] = "mariadb".into();
        }
    });
    let o = s.berth(&["snapshot", "import", &foreign.to_string_lossy(), "--json"]);
    let foreign_id = serde_json::from_slice::<Value>(&o.stdout).expect("import JSON")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let o = s.berth(&["restore", ".", &foreign_id]);
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mariadb dump") && stderr(&o).contains("runs postgres"),
        "another engine is named: {}",
        stderr(&o)
    );

    // Label, then delete: the files go with the row.
    let o = s.berth(&["snapshot", "label", &old_id, "from a teammate"]);
    assert!(stdout(&o).contains("from a teammate"), "{}", stderr(&o));
    let old_dir = s.snapshot_dir(&old_id);
    let o = s.berth(&["snapshot", "rm", &old_id]);
    assert!(o.status.success(), "rm: {}", stderr(&o));
    assert!(!old_dir.exists(), "its files are gone");
    let list: Value =
        serde_json::from_slice(&s.berth(&["snapshots", ".", "--json"]).stdout).expect("list");
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().all(|x| x["id"] != old_id.as_str())),
        "and it is no longer listed: {list}"
    );
}

#[test]
fn a_snapshot_killed_midway_is_never_listed_and_its_files_are_swept() {
    let _g = berth_testkit::shared();
    let s = Stack::up("berthsnap-crash");
    // Enough incompressible data that the archive takes a while.
    s.exec(
        "files",
        &[
            "sh",
            "-c",
            "head -c 400000000 /dev/urandom > /srv/uploads/big.bin",
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["snapshot", ".", "files"])
        .current_dir(&s.dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        )
        .env("BERTH_DATA_DIR", &s.data)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn berth snapshot");
    let deadline = Instant::now() + Duration::from_secs(60);
    let temp = loop {
        let found = std::fs::read_dir(s.data.join("stacks"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|st| {
                std::fs::read_dir(st.path().join("snapshots"))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .flat_map(|snap| {
                std::fs::read_dir(snap.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|f| f.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(".tmp-"))
                    && std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) > 4_000_000
            });
        if let Some(t) = found {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the snapshot never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let list = s.berth(&["snapshots", ".", "--json"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let list: Value = serde_json::from_slice(&list.stdout).expect("list");
    assert_eq!(
        list,
        Value::Array(vec![]),
        "the half snapshot is not listed"
    );
    assert!(
        !temp.exists(),
        "its temporary file was swept: {}",
        temp.display()
    );
    let left: Vec<_> = std::fs::read_dir(s.snapshots_root())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no folder of it is left: {left:?}");

    // The next snapshot works, and removes the holder container the crash left.
    let o = s.berth(&["up", ".", "--timeout", "60"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let snap = s.snapshot_json(&["files"]);
    assert_eq!(snap["status"], "complete");
    let holders = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=dev.berth.role"])
        .output()
        .expect("docker ps");
    assert!(
        String::from_utf8_lossy(&holders.stdout).trim().is_empty(),
        "no holder container is left"
    );
}

#[test]
fn a_reset_keeps_a_safety_snapshot_and_restoring_it_brings_the_data_back() {
    let _g = berth_testkit::shared();
    let s = Stack::up("berthsnap-reset");
    s.psql("CREATE TABLE kept (id int); INSERT INTO kept SELECT generate_series(1, 321);");
    s.exec("files", &["sh", "-c", "echo precious > /srv/uploads/p.txt"]);
    let o = s.berth(&["reset", "."]);
    assert!(
        !o.status.success(),
        "a reset without --yes and no terminal is refused"
    );
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(
        s.psql("SELECT count(*) FROM kept"),
        "321",
        "nothing was touched"
    );

    let o = s.berth(&["reset", ".", "--yes", "--json", "--timeout", "120"]);
    assert!(o.status.success(), "reset: {}", stderr(&o));
    let reset: Value = serde_json::from_slice(&o.stdout).expect("reset JSON");
    let safety = reset["safety"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reset["safety"]["origin"], "reset", "{reset}");
    assert_eq!(
        reset["status"]["summary"]["unhealthy"], 0,
        "all green after: {reset}"
    );
    let fresh = s.exec(
        "pg",
        &[
            "psql",
            "-U",
            "app",
            "-d",
            "shop",
            "-AtX",
            "-c",
            "SELECT to_regclass('kept') IS NULL",
        ],
    );
    assert_eq!(fresh, "t", "the database is fresh");
    let gone = s.exec("files", &["sh", "-c", "ls /srv/uploads | wc -l"]);
    assert_eq!(gone, "0", "the volume is fresh");
    let list: Value =
        serde_json::from_slice(&s.berth(&["snapshots", ".", "--json"]).stdout).expect("list");
    assert_eq!(
        list[0]["id"],
        safety.as_str(),
        "the safety snapshot is listed: {list}"
    );

    let o = s.berth(&["restore", ".", &safety]);
    assert!(
        o.status.success(),
        "restore of the safety snapshot: {}",
        stderr(&o)
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM kept"),
        "321",
        "the data is back"
    );
    assert_eq!(s.exec("files", &["cat", "/srv/uploads/p.txt"]), "precious");
}
