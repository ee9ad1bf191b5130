//! The store on a real SQLite file in a temp folder per test.

use berth_store::{NodePosition, SavedLayout, Store};

mod snapshots;

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&dir.path().join("berth.db"))
        .await
        .expect("open");
    (dir, store)
}

#[tokio::test]
async fn recent_stacks_are_ordered_by_last_open_and_survive_a_reopen() {
    let (dir, store) = fresh().await;
    store
        .remember_stack("/src/shop", "shop", 100)
        .await
        .expect("remember");
    store
        .remember_stack("/src/blog", "blog", 200)
        .await
        .expect("remember");
    store
        .remember_stack("/src/shop", "shop", 300)
        .await
        .expect("opening again moves it up");
    let names: Vec<String> = store
        .recent_stacks()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["shop", "blog"]);
    drop(store);
    let again = Store::open(&dir.path().join("berth.db"))
        .await
        .expect("reopen runs migrations again harmlessly");
    assert_eq!(
        again.recent_stacks().await.expect("list").len(),
        2,
        "kept on disk"
    );
}

#[tokio::test]
async fn positions_upsert_and_go_with_the_stack() {
    let (_dir, store) = fresh().await;
    store
        .remember_stack("/src/shop", "shop", 1)
        .await
        .expect("remember");
    store
        .save_position("/src/shop", "nginx", 10.0, 20.0)
        .await
        .expect("save");
    store
        .save_position("/src/shop", "nginx", 15.5, 25.0)
        .await
        .expect("move again");
    store
        .save_position("/src/shop", "app", 1.0, 2.0)
        .await
        .expect("save");
    assert_eq!(
        store.positions("/src/shop").await.expect("positions"),
        vec![
            NodePosition {
                node: "app".into(),
                x: 1.0,
                y: 2.0
            },
            NodePosition {
                node: "nginx".into(),
                x: 15.5,
                y: 25.0
            },
        ]
    );
    store
        .save_position("/src/other", "nginx", 3.0, 4.0)
        .await
        .expect("save");
    store.clear_positions("/src/other").await.expect("clear");
    assert!(
        store
            .positions("/src/other")
            .await
            .expect("positions")
            .is_empty(),
        "a layout reset forgets the stack's moved nodes"
    );
    assert_eq!(
        store.positions("/src/shop").await.expect("positions").len(),
        2,
        "and only that stack's"
    );
    store.forget_stack("/src/shop").await.expect("forget");
    assert!(store.recent_stacks().await.expect("list").is_empty());
    assert!(
        store
            .positions("/src/shop")
            .await
            .expect("positions")
            .is_empty(),
        "positions leave with the stack"
    );
}

#[tokio::test]
async fn a_stack_keeps_its_latest_layout_until_it_is_forgotten() {
    let (_dir, store) = fresh().await;
    store
        .remember_stack("/src/shop", "shop", 1)
        .await
        .expect("remember");
    assert_eq!(store.layout("/src/shop").await.expect("read"), None);
    let first = SavedLayout {
        input: r#"{"children":[{"id":"svc:web"}]}"#.into(),
        output: r#"{"x":0}"#.into(),
    };
    let second = SavedLayout {
        input: r#"{"children":[{"id":"svc:web"},{"id":"svc:db"}]}"#.into(),
        output: r#"{"x":1}"#.into(),
    };
    store.save_layout("/src/shop", &first).await.expect("save");
    store
        .save_layout("/src/shop", &second)
        .await
        .expect("replace");
    store.save_layout("/src/other", &first).await.expect("save");
    assert_eq!(
        store.layout("/src/shop").await.expect("read"),
        Some(second),
        "only the latest layout is kept: an older graph is never drawn again"
    );
    store.forget_stack("/src/shop").await.expect("forget");
    assert_eq!(
        store.layout("/src/shop").await.expect("read"),
        None,
        "the layout leaves with the stack"
    );
    assert_eq!(
        store.layout("/src/other").await.expect("read"),
        Some(first),
        "and other stacks keep theirs"
    );
}

#[tokio::test]
async fn preferences_round_trip() {
    let (_dir, store) = fresh().await;
    assert_eq!(store.pref("theme").await.expect("read"), None);
    store.set_pref("theme", "dark").await.expect("set");
    store.set_pref("theme", "light").await.expect("overwrite");
    assert_eq!(
        store.pref("theme").await.expect("read").as_deref(),
        Some("light")
    );
}

#[tokio::test]
async fn an_unwritable_location_is_a_clear_error() {
    let err = Store::open(std::path::Path::new("/proc/berth-cannot-write/berth.db"))
        .await
        .err()
        .expect("fails");
    assert!(
        err.to_string()
            .contains("/proc/berth-cannot-write/berth.db"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_database_is_moved_aside_and_a_fresh_one_starts() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("berth.db");
    std::fs::write(
        &path,
        b"this is not a database, just bytes a crash left behind",
    )
    .expect("write");
    let store = Store::open(&path)
        .await
        .expect("a corrupt file must not stop the app from starting");
    let notice = store.notice().expect("the user is told").to_owned();
    assert!(notice.contains("moved to"), "{notice}");
    store
        .remember_stack("/src/shop", "shop", 1)
        .await
        .expect("the fresh database works");
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("berth.db.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old file is kept beside it: {aside:?}");
    let kept = std::fs::read(dir.path().join(&aside[0])).expect("read");
    assert!(
        kept.starts_with(b"this is not a database"),
        "nothing of it is lost"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_berth_is_kept_and_not_touched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("berth.db");
    let store = Store::open(&path).await.expect("open");
    store
        .remember_stack("/src/shop", "shop", 1)
        .await
        .expect("remember");
    drop(store);
    // A later Berth applied a migration this one does not know.
    let status = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', 1, x'00', 0);")
        .status();
    if !status.map(|s| s.success()).unwrap_or(false) {
        // Without the sqlite3 shell, write the row through sqlx itself.
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
        )
        .await
        .expect("connect");
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', 1, x'00', 0)")
            .execute(&mut c)
            .await
            .expect("insert");
    }
    let store = Store::open(&path).await.expect("starts anyway");
    let notice = store.notice().expect("told").to_owned();
    assert!(
        notice.contains("newer") || notice.contains("moved"),
        "{notice}"
    );
    assert!(
        std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .any(|e| e
                .file_name()
                .to_string_lossy()
                .starts_with("berth.db.newer-")),
        "the newer database is kept for the newer Berth"
    );
    assert!(store.recent_stacks().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_question_mark_or_percent_in_the_data_path_is_just_a_character() {
    let dir = tempfile::tempdir().expect("tmp");
    let odd = dir.path().join("Berth?mode=ro%20x");
    std::fs::create_dir_all(&odd).expect("mkdir");
    let store = Store::open(&odd.join("berth.db")).await.expect("open");
    store
        .remember_stack("/a", "a", 1)
        .await
        .expect("write works");
    assert!(
        odd.join("berth.db").is_file(),
        "the file is where the path says"
    );
    assert!(store.notice().is_none());
}
