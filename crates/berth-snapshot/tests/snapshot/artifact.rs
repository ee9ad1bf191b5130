//! Writing, verifying and reading back one artifact.

use std::io::{ErrorKind, Read, Write};

use berth_snapshot::{open_artifact, verify_artifact, ArtifactWriter, VerifyError};
use sha2::{Digest, Sha256};

use super::{dump_like, names, write_artifact};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn five_megabytes_round_trip_with_sizes_and_the_checksum_of_the_stored_bytes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("snapshots").join("20260101-120000-abcd");
    let data = dump_like(5 * 1024 * 1024, 0x9e37_79b9_7f4a_7c15);
    let artifact = write_artifact(&dir, "db.sql.zst", &data);

    let path = dir.join("db.sql.zst");
    let stored = std::fs::read(&path).expect("the final file exists");
    assert_eq!(artifact.file, "db.sql.zst");
    assert_eq!(
        artifact.raw_bytes,
        data.len() as u64,
        "raw bytes are what went in"
    );
    assert_eq!(
        artifact.bytes,
        stored.len() as u64,
        "bytes are what is on disk"
    );
    assert!(
        artifact.bytes < artifact.raw_bytes / 2,
        "a dump compresses: {} of {}",
        artifact.bytes,
        artifact.raw_bytes
    );
    assert_eq!(
        artifact.sha256,
        sha256_hex(&stored),
        "the checksum is of the stored (compressed) bytes, so verifying needs no decompression"
    );
    assert_eq!(
        names(&dir),
        vec!["db.sql.zst"],
        "no temporary file is left beside it"
    );
    verify_artifact(&path, artifact.bytes, &artifact.sha256).expect("a fresh artifact verifies");
    verify_artifact(&path, artifact.bytes, &artifact.sha256.to_uppercase())
        .expect("hex case does not matter");

    let mut back = Vec::new();
    open_artifact(&path)
        .expect("open")
        .read_to_end(&mut back)
        .expect("decompress");
    assert!(back == data, "decompresses to exactly what was written");

    #[cfg(unix)]
    {
        assert_eq!(
            super::mode(&path),
            0o600,
            "a dump is readable by its owner only"
        );
        assert_eq!(super::mode(&dir), 0o700, "and so is its folder");
    }
}

#[test]
fn a_flipped_byte_is_a_checksum_mismatch_naming_both_hashes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let artifact = write_artifact(tmp.path(), "db.sql.zst", &dump_like(200_000, 7));
    let path = tmp.path().join("db.sql.zst");
    let mut stored = std::fs::read(&path).expect("read");
    let middle = stored.len() / 2;
    stored[middle] ^= 0x01;
    std::fs::write(&path, &stored).expect("damage");

    let err = verify_artifact(&path, artifact.bytes, &artifact.sha256)
        .expect_err("a changed byte must be caught");
    let found = sha256_hex(&stored);
    match &err {
        VerifyError::Checksum {
            expected, actual, ..
        } => {
            assert_eq!(expected, &artifact.sha256);
            assert_eq!(
                actual, &found,
                "the hash found is that of the file as it is"
            );
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("db.sql.zst")
            && message.contains(&artifact.sha256)
            && message.contains(&found)
            && message.contains("checksum mismatch"),
        "the sentence names the file and both hashes: {message}"
    );
}

#[test]
fn a_truncated_file_is_a_size_mismatch_and_a_missing_one_is_missing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let artifact = write_artifact(tmp.path(), "web.tar.zst", &dump_like(100_000, 3));
    let path = tmp.path().join("web.tar.zst");
    let stored = std::fs::read(&path).expect("read");
    std::fs::write(&path, &stored[..stored.len() - 10]).expect("truncate");
    let err = verify_artifact(&path, artifact.bytes, &artifact.sha256)
        .expect_err("a shorter file must be caught");
    assert!(
        matches!(err, VerifyError::Size { expected, actual, .. }
            if expected == artifact.bytes && actual == artifact.bytes - 10),
        "told as a size mismatch with both sizes: {err}"
    );
    assert!(err.to_string().contains("web.tar.zst"), "{err}");

    std::fs::remove_file(&path).expect("rm");
    let err = verify_artifact(&path, artifact.bytes, &artifact.sha256)
        .expect_err("a missing file must be caught");
    assert!(
        matches!(err, VerifyError::Missing { .. }),
        "told as missing, not as an I/O error: {err}"
    );
}

#[test]
fn a_name_that_could_leave_the_folder_or_pass_for_a_temp_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("snap");
    for bad in [
        "",
        "a/b",
        "a\\b",
        "..",
        "x..y",
        ".hidden",
        "../escape",
        "/abs",
    ] {
        let err = ArtifactWriter::create(&dir, bad)
            .err()
            .unwrap_or_else(|| panic!("{bad:?} must be refused"));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}: {err}");
    }
    assert!(
        !dir.exists(),
        "a refused name creates nothing, not even the folder"
    );
}

#[test]
fn a_writer_dropped_before_finish_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut writer = ArtifactWriter::create(tmp.path(), "db.sql.zst").expect("create");
    writer.write_all(&dump_like(300_000, 11)).expect("write");
    assert_eq!(writer.raw_bytes(), 300_000);
    assert_eq!(
        names(tmp.path()),
        vec![format!(".db.sql.zst.tmp-{}", std::process::id())],
        "while it is written only the temporary file exists"
    );
    drop(writer);
    assert!(
        names(tmp.path()).is_empty(),
        "a cancelled artifact leaves no file at all"
    );
}
