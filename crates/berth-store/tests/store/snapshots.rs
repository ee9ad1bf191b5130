//! The snapshot catalog: pending until completed with its items in one go, listed newest first.

use std::collections::BTreeMap;

use berth_store::{NewSnapshot, SnapshotItem, SnapshotStatus, Store, StoreError};

use super::fresh;

fn new(id: &str, stack: &str, created: i64) -> NewSnapshot {
    NewSnapshot {
        id: id.into(),
        stack: stack.into(),
        project: "shop".into(),
        label: None,
        origin: "manual".into(),
        created,
        engine: "docker 27.3.1".into(),
    }
}

fn item(service: &str, file: &str, counts: &[(&str, i64)]) -> SnapshotItem {
    SnapshotItem {
        service: service.into(),
        kind: "postgres".into(),
        volume: Some(format!("shop_{service}-data")),
        database: None,
        version: Some("16.4".into()),
        file: file.into(),
        bytes: 1234,
        raw_bytes: 98765,
        sha256: "ab".repeat(32),
        counts: counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
    }
}

async fn taken(store: &Store, id: &str, stack: &str, created: i64) {
    store
        .begin_snapshot(&new(id, stack, created))
        .await
        .expect("begin");
    store
        .complete_snapshot(id, &[item("db", "db.sql.zst", &[])], created + 1)
        .await
        .expect("complete");
}

fn ids(list: &[berth_store::Snapshot]) -> Vec<&str> {
    list.iter().map(|s| s.id.as_str()).collect()
}

#[tokio::test]
async fn a_completed_snapshot_is_listed_with_its_items_and_counts() {
    let (_dir, store) = fresh().await;
    store
        .begin_snapshot(&new("20260101-120000-abcd", "/src/shop", 100))
        .await
        .expect("begin");
    let items = vec![
        SnapshotItem {
            database: Some("shop".into()),
            ..item("db", "db.sql.zst", &[("orders", 42), ("users", 7)])
        },
        SnapshotItem {
            kind: "volume".into(),
            version: None,
            ..item("web", "web.tar.zst", &[])
        },
        item("cache", "cache.tar.zst", &[("files", 0)]),
    ];
    store
        .complete_snapshot("20260101-120000-abcd", &items, 160)
        .await
        .expect("complete");
    let listed = store.snapshots("/src/shop").await.expect("list");
    assert_eq!(listed.len(), 1, "the completed snapshot is listed");
    let snap = &listed[0];
    assert_eq!(snap.status, SnapshotStatus::Complete);
    assert_eq!(
        snap.completed,
        Some(160),
        "completion time is the one given"
    );
    assert_eq!(snap.created, 100);
    assert_eq!(snap.engine, "docker 27.3.1");
    assert_eq!(
        snap.items, items,
        "items come back in the order given, counts and all"
    );
    assert_eq!(
        snap.items[0].counts,
        BTreeMap::from([("orders".to_owned(), 42), ("users".to_owned(), 7)]),
        "counts round-trip through their JSON column"
    );
    assert_eq!(
        store
            .snapshot("20260101-120000-abcd")
            .await
            .expect("read")
            .as_ref(),
        Some(snap),
        "reading by id gives the same snapshot as the list"
    );
    assert!(
        store.snapshots("/src/blog").await.expect("list").is_empty(),
        "another stack lists none of it"
    );
}

#[tokio::test]
async fn a_pending_snapshot_is_not_listed_for_the_stack_but_is_found_as_pending() {
    let (_dir, store) = fresh().await;
    store
        .begin_snapshot(&new("p1", "/src/shop", 100))
        .await
        .expect("begin");
    store
        .begin_snapshot(&new("p2", "/src/blog", 200))
        .await
        .expect("begin");
    taken(&store, "c1", "/src/shop", 50).await;
    assert_eq!(
        ids(&store.snapshots("/src/shop").await.expect("list")),
        vec!["c1"],
        "a snapshot still being taken is not offered for restore"
    );
    let pending = store.pending_snapshots().await.expect("pending");
    assert_eq!(
        ids(&pending),
        vec!["p2", "p1"],
        "pending ones of every stack are found, newest first, for cleanup"
    );
    assert!(pending
        .iter()
        .all(|s| s.status == SnapshotStatus::Pending && s.completed.is_none()));
    let one = store.snapshot("p1").await.expect("read").expect("found");
    assert_eq!(
        one.status,
        SnapshotStatus::Pending,
        "by id a pending one is found too"
    );
    assert!(one.items.is_empty(), "a pending snapshot has no items yet");
}

#[tokio::test]
async fn a_snapshot_cannot_be_completed_twice_or_without_being_begun() {
    let (_dir, store) = fresh().await;
    taken(&store, "s1", "/src/shop", 100).await;
    let err = store
        .complete_snapshot("s1", &[item("db", "other.sql.zst", &[])], 300)
        .await
        .expect_err("completing again must be refused");
    assert!(
        matches!(&err, StoreError::Catalog(m) if m.contains("s1") && m.contains("not pending")),
        "the refusal names the snapshot and why: {err}"
    );
    let snap = store.snapshot("s1").await.expect("read").expect("found");
    assert_eq!(
        snap.items.len(),
        1,
        "the refused completion added no item: {:?}",
        snap.items
    );
    assert_eq!(snap.completed, Some(101), "nor moved the completion time");
    let err = store
        .complete_snapshot("never-begun", &[], 1)
        .await
        .expect_err("an unknown snapshot cannot be completed");
    assert!(
        err.to_string().contains("never-begun") && err.to_string().contains("does not exist"),
        "{err}"
    );
    let err = store
        .begin_snapshot(&new("s1", "/src/shop", 500))
        .await
        .expect_err("an id is used once");
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn a_snapshot_can_be_labelled_and_deleted_with_its_items() {
    let (_dir, store) = fresh().await;
    taken(&store, "s1", "/src/shop", 100).await;
    taken(&store, "s2", "/src/shop", 200).await;
    store
        .label_snapshot("s1", Some("before the migration"))
        .await
        .expect("label");
    let read = store.snapshot("s1").await.expect("read").expect("found");
    assert_eq!(read.label.as_deref(), Some("before the migration"));
    store.label_snapshot("s1", None).await.expect("clear label");
    let read = store.snapshot("s1").await.expect("read").expect("found");
    assert_eq!(read.label, None, "a label can be taken off again");
    let err = store
        .label_snapshot("nope", Some("x"))
        .await
        .expect_err("labelling a missing snapshot is refused");
    assert!(err.to_string().contains("nope"), "{err}");

    assert!(
        store.delete_snapshot("s1").await.expect("delete"),
        "an existing snapshot is reported deleted"
    );
    assert!(
        !store.delete_snapshot("s1").await.expect("delete again"),
        "deleting again reports there was nothing"
    );
    assert_eq!(store.snapshot("s1").await.expect("read"), None);
    assert_eq!(
        ids(&store.snapshots("/src/shop").await.expect("list")),
        vec!["s2"],
        "the other snapshot stays, with its items"
    );
    // A new snapshot reusing the id must not inherit the deleted one's items.
    taken(&store, "s1", "/src/shop", 300).await;
    let again = store.snapshot("s1").await.expect("read").expect("found");
    assert_eq!(
        again.items.len(),
        1,
        "the deleted snapshot's items went with it: {:?}",
        again.items
    );
}

#[tokio::test]
async fn snapshots_are_listed_newest_first_and_by_id_within_the_same_second() {
    let (_dir, store) = fresh().await;
    taken(&store, "b", "/src/shop", 100).await;
    taken(&store, "a", "/src/shop", 300).await;
    taken(&store, "d", "/src/shop", 200).await;
    taken(&store, "c", "/src/shop", 200).await;
    assert_eq!(
        ids(&store.snapshots("/src/shop").await.expect("list")),
        vec!["a", "d", "c", "b"],
        "created DESC, then id DESC for ties"
    );
}

#[tokio::test]
async fn forget_pending_leaves_a_completed_snapshot_alone() {
    let (_dir, store) = fresh().await;
    taken(&store, "done", "/src/shop", 100).await;
    store
        .begin_snapshot(&new("stuck", "/src/shop", 200))
        .await
        .expect("begin");
    assert!(
        !store.forget_pending("done").await.expect("forget"),
        "a complete snapshot is not pending and must not be forgotten"
    );
    assert!(
        store.snapshot("done").await.expect("read").is_some(),
        "it is still there, with its items"
    );
    assert!(store.forget_pending("stuck").await.expect("forget"));
    assert!(
        store.pending_snapshots().await.expect("pending").is_empty(),
        "the pending one is gone"
    );
    assert!(!store.forget_pending("missing").await.expect("forget"));
}

#[tokio::test]
async fn the_catalog_survives_a_reopen() {
    let (dir, store) = fresh().await;
    taken(&store, "s1", "/src/shop", 100).await;
    store
        .begin_snapshot(&new("p1", "/src/shop", 200))
        .await
        .expect("begin");
    let before = store.snapshots("/src/shop").await.expect("list");
    drop(store);
    let again = Store::open(&dir.path().join("berth.db"))
        .await
        .expect("reopening runs the migrations again harmlessly");
    assert!(again.notice().is_none(), "the database was not moved aside");
    assert_eq!(
        again.snapshots("/src/shop").await.expect("list"),
        before,
        "complete snapshots are kept on disk with their items"
    );
    assert_eq!(
        ids(&again.pending_snapshots().await.expect("pending")),
        vec!["p1"],
        "and so is the pending one, to clean up after"
    );
}
