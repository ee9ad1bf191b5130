//! The snapshots folder after a crash, snapshot ids, progress.

use std::time::{Duration, Instant};

use berth_snapshot::{clean_leftovers, new_snapshot_id, remove_snapshot_dir, Meter};

use super::names;

#[test]
fn clean_leftovers_removes_temp_files_and_unkept_folders_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("snapshots");
    let kept = root.join("20260101-120000-aaaa");
    let gone = root.join("20260101-130000-bbbb");
    std::fs::create_dir_all(&kept).expect("mkdir");
    std::fs::create_dir_all(&gone).expect("mkdir");
    std::fs::write(kept.join("db.sql.zst"), b"done").expect("write");
    std::fs::write(kept.join(".web.tar.zst.tmp-4242"), b"half").expect("write");
    std::fs::write(gone.join("db.sql.zst"), b"pending").expect("write");
    std::fs::write(root.join("notes.txt"), b"not a snapshot folder").expect("write");

    let removed = clean_leftovers(&root, &|name| name == "20260101-120000-aaaa").expect("clean");
    assert_eq!(
        removed,
        vec![kept.join(".web.tar.zst.tmp-4242"), gone.clone()],
        "it says what it removed"
    );
    assert_eq!(
        names(&kept),
        vec!["db.sql.zst"],
        "a kept snapshot loses only its temporary file"
    );
    assert!(
        !gone.exists(),
        "a folder the catalog does not keep goes whole"
    );
    assert!(
        root.join("notes.txt").exists(),
        "a file that is not a snapshot folder is left alone"
    );
    assert!(
        clean_leftovers(&root, &|_| true).expect("again").is_empty(),
        "a second pass finds nothing"
    );
    assert!(clean_leftovers(&tmp.path().join("never-made"), &|_| true)
        .expect("a missing root is not an error")
        .is_empty());
}

#[test]
fn remove_snapshot_dir_takes_only_a_plain_id() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("snapshots");
    std::fs::create_dir_all(root.join("20260101-120000-abcd")).expect("mkdir");
    std::fs::write(root.join("20260101-120000-abcd").join("db.sql.zst"), b"x").expect("write");
    for bad in ["", "..", "../snapshots", "a/b", "a.b", "a b"] {
        let err = remove_snapshot_dir(&root, bad).expect_err("refused");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "{bad:?}: {err}"
        );
    }
    assert!(root.exists(), "a refused id removed nothing");
    remove_snapshot_dir(&root, "20260101-120000-abcd").expect("remove");
    assert!(names(&root).is_empty(), "the folder and its files are gone");
    remove_snapshot_dir(&root, "20260101-120000-abcd")
        .expect("removing what is already gone is not an error");
}

#[test]
fn snapshot_ids_are_the_utc_time_and_sort_by_it() {
    // 2026-01-01 01:01:01 UTC.
    let id = new_snapshot_id(1_767_225_600 + 3661);
    assert!(id.starts_with("20260101-010101-"), "{id}");
    let tail = &id["20260101-010101-".len()..];
    assert!(
        tail.len() == 4
            && tail
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "four lowercase hex digits: {id}"
    );
    assert!(
        new_snapshot_id(951_782_400).starts_with("20000229-000000-"),
        "a leap day"
    );
    let mut ids: Vec<String> = [1_900_000_000, 1_767_225_600, 1_767_225_599]
        .into_iter()
        .map(new_snapshot_id)
        .collect();
    let by_time = vec![ids[2].clone(), ids[1].clone(), ids[0].clone()];
    ids.sort();
    assert_eq!(ids, by_time, "sorting ids sorts snapshots by time");
}

#[test]
fn the_meter_reports_the_average_rate_since_the_start() {
    let start = Instant::now();
    let meter = Meter::new(start, Some(10_000));
    let at_start = meter.at(0, start);
    assert_eq!(at_start.rate_bytes_per_s, 0.0, "no time passed, no rate");
    let later = meter.at(5_000, start + Duration::from_secs(2));
    assert_eq!(later.bytes, 5_000);
    assert_eq!(later.total, Some(10_000));
    assert!((later.rate_bytes_per_s - 2_500.0).abs() < 1e-9, "{later:?}");
}

#[test]
fn a_folder_whose_writer_still_runs_is_never_cleaned() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("snapshots");
    let live = root.join("20260101-140000-cccc");
    let lock = berth_snapshot::WriterLock::hold(&live).expect("lock");
    std::fs::write(live.join(".db.sql.zst.tmp-77"), b"being written").expect("write");
    assert!(berth_snapshot::is_held(&live), "the writer's lock is seen");
    let removed = clean_leftovers(&root, &|_| false).expect("clean");
    assert!(
        removed.is_empty(),
        "a live writer's folder is left alone: {removed:?}"
    );
    assert!(live.join(".db.sql.zst.tmp-77").exists());
    drop(lock);
    assert!(
        !berth_snapshot::is_held(&live),
        "a writer that ended holds nothing"
    );
    let removed = clean_leftovers(&root, &|_| false).expect("clean");
    assert_eq!(removed, vec![live], "then it is a leftover like any other");
}
