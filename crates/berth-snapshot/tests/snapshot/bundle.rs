//! A snapshot handed over as one file, and bundles that must not be trusted.

use std::path::Path;

use berth_snapshot::{export_bundle, import_bundle, verify_artifact, BundleError};

use super::{dump_like, names, write_artifact};

const MANIFEST: &[u8] = br#"{"id":"20260101-120000-abcd","items":[]}"#;

#[test]
fn a_bundle_carries_the_manifest_and_every_file_unchanged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let snap = tmp.path().join("mine").join("20260101-120000-abcd");
    let db = write_artifact(&snap, "db.sql.zst", &dump_like(400_000, 1));
    let web = write_artifact(&snap, "web.tar.zst", &dump_like(150_000, 2));
    let out = tmp.path().join("out").join("shop.berth");
    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");

    let size =
        export_bundle(&snap, &["db.sql.zst", "web.tar.zst"], MANIFEST, &out).expect("export");
    assert_eq!(
        size,
        std::fs::metadata(&out).expect("stat").len(),
        "the size returned is the bundle's"
    );
    assert_eq!(
        names(out.parent().expect("parent")),
        vec!["shop.berth"],
        "no temporary file is left beside the bundle"
    );

    let into = tmp.path().join("theirs").join("20260101-120000-abcd");
    let manifest = import_bundle(&out, &into).expect("import");
    assert_eq!(manifest, MANIFEST, "the manifest comes back as written");
    assert_eq!(
        names(&into),
        vec!["db.sql.zst", "web.tar.zst"],
        "the folder holds the artifacts only, as a snapshot folder does"
    );
    for (artifact, file) in [(&db, "db.sql.zst"), (&web, "web.tar.zst")] {
        verify_artifact(&into.join(file), artifact.bytes, &artifact.sha256)
            .expect("each file arrives byte for byte");
    }
    assert_eq!(
        names(into.parent().expect("parent")),
        vec!["20260101-120000-abcd"],
        "the temporary folder was renamed, not left"
    );
    #[cfg(unix)]
    {
        assert_eq!(super::mode(&into), 0o700);
        assert_eq!(super::mode(&into.join("db.sql.zst")), 0o600);
    }

    let err = import_bundle(&out, &into).expect_err("an existing folder is never merged into");
    assert!(matches!(err, BundleError::Exists { .. }), "{err}");
}

#[test]
fn export_refuses_names_that_would_not_import() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("b.berth");
    for files in [
        &["../etc"][..],
        &["manifest.json"][..],
        &["a.zst", "a.zst"][..],
        &[".a.zst.tmp-1"][..],
    ] {
        let err = export_bundle(tmp.path(), files, MANIFEST, &out)
            .expect_err("refused before anything is written");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "{files:?}: {err}"
        );
    }
    assert!(names(tmp.path()).is_empty(), "nothing was written");
}

/// A tar header with `name` written as is, as a hostile tool would (the tar crate's own setters
/// refuse `..`).
fn raw_header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    let field = &mut header.as_old_mut().name;
    field[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

fn hostile_bundle(path: &Path, build: impl FnOnce(&mut tar::Builder<std::fs::File>)) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).expect("create"));
    build(&mut builder);
    builder.finish().expect("finish");
}

fn manifest_entry(builder: &mut tar::Builder<std::fs::File>) {
    let header = raw_header(
        "manifest.json",
        tar::EntryType::Regular,
        MANIFEST.len() as u64,
    );
    builder.append(&header, MANIFEST).expect("append");
}

/// Imports `bundle` into `root/into`, expects a refusal whose sentence contains `why`, and
/// checks nothing at all was written under `root`.
fn assert_refused(bundle: &Path, root: &Path, why: &str) {
    let into = root.join("into");
    let err = import_bundle(bundle, &into).expect_err("the bundle must be refused");
    let message = err.to_string();
    assert!(
        matches!(err, BundleError::Refused { .. }) && message.contains(why),
        "refused with a sentence saying {why:?}: {message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");
    assert!(!into.exists(), "the folder was not created");
    assert!(
        names(root).is_empty(),
        "nothing is left under the import folder: {:?}",
        names(root)
    );
}

#[test]
fn an_entry_that_climbs_out_of_the_folder_refuses_the_whole_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bundle = tmp.path().join("evil.berth");
    hostile_bundle(&bundle, |b| {
        manifest_entry(b);
        b.append(
            &raw_header("good.zst", tar::EntryType::Regular, 3),
            &b"abc"[..],
        )
        .expect("append");
        b.append(&raw_header("../x", tar::EntryType::Regular, 3), &b"abc"[..])
            .expect("append");
    });
    let root = tmp.path().join("import");
    std::fs::create_dir(&root).expect("mkdir");
    assert_refused(&bundle, &root, "\"../x\" is not a plain file name");
    assert!(
        !tmp.path().join("x").exists(),
        "and nothing was written outside it"
    );
}

#[test]
fn a_symlink_entry_refuses_the_whole_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bundle = tmp.path().join("link.berth");
    hostile_bundle(&bundle, |b| {
        manifest_entry(b);
        let mut header = raw_header("db.sql.zst", tar::EntryType::Symlink, 0);
        header.set_link_name("/etc/passwd").expect("link name");
        header.set_cksum();
        b.append(&header, std::io::empty()).expect("append");
    });
    let root = tmp.path().join("import");
    std::fs::create_dir(&root).expect("mkdir");
    assert_refused(&bundle, &root, "only regular files are accepted");
}

#[test]
fn a_bundle_without_its_manifest_first_or_with_too_much_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("import");
    std::fs::create_dir(&root).expect("mkdir");

    let no_manifest = tmp.path().join("a.berth");
    hostile_bundle(&no_manifest, |b| {
        b.append(
            &raw_header("db.sql.zst", tar::EntryType::Regular, 3),
            &b"abc"[..],
        )
        .expect("append");
    });
    assert_refused(&no_manifest, &root, "not manifest.json");

    let big = tmp.path().join("b.berth");
    let huge = vec![b' '; 1024 * 1024 + 1];
    hostile_bundle(&big, |b| {
        let header = raw_header("manifest.json", tar::EntryType::Regular, huge.len() as u64);
        b.append(&header, &huge[..]).expect("append");
    });
    assert_refused(&big, &root, "over the limit");

    let many = tmp.path().join("c.berth");
    hostile_bundle(&many, |b| {
        manifest_entry(b);
        for i in 0..1000 {
            let header = raw_header(&format!("f{i}.zst"), tar::EntryType::Regular, 1);
            b.append(&header, &b"x"[..]).expect("append");
        }
    });
    assert_refused(&many, &root, "more than 1000 entries");

    let garbage = tmp.path().join("d.berth");
    std::fs::write(&garbage, vec![0x5a; 4096]).expect("write");
    assert_refused(&garbage, &root, "cannot be read as a tar archive");
}
