//! Trusting a throwaway CA in real stores: NSS databases that `certutil` creates in a temp
//! folder (Chromium's, and a Firefox profile found through a fake home's `profiles.ini`), and
//! the real Debian system store when the tests run as root.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_host::spawn::{self, Argv};
use berth_host::trust::{
    detect_stores, install, is_trusted, remove, CaFile, Elevation, HostLayout, NssOwner, Os, Store,
    SystemFlavor,
};
use sha2::{Digest, Sha256};

const NICKNAME: &str = "Berth Local CA (test)";

/// A fresh self-signed CA written to `dir/ca.pem`, as berth-tls hands it over: path,
/// fingerprint, nickname.
fn make_ca(dir: &Path) -> CaFile {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Berth trust test CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("ca.pem");
    fs::write(&path, cert.pem()).unwrap_or_else(|e| panic!("{e}"));
    let fingerprint: String = Sha256::digest(cert.der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    CaFile::read(&path, NICKNAME, &fingerprint).unwrap_or_else(|e| panic!("{e}"))
}

/// certutil comes with libnss3-tools; without it the NSS stores cannot be tested at all, which
/// is a machine to fix rather than a test to skip.
fn require_certutil() {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("certutil").is_file()));
    assert!(
        found,
        "certutil is not installed: `apt-get install libnss3-tools` (scripts/setup.sh)"
    );
}

fn trusted(store: &Store, ca: &CaFile) -> bool {
    is_trusted(store, ca).unwrap_or_else(|e| panic!("{e}"))
}

fn certutil_list(db: &Path) -> String {
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(db);
    let argv = Argv::new("certutil").arg("-d").arg(spec).arg("-L");
    let out = spawn::run(&argv, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.success(), "{argv}: {}", out.stderr_text());
    out.stdout_text()
}

#[test]
fn chromium_database_is_created_trusts_the_ca_and_lets_it_go() {
    require_certutil();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = make_ca(tmp.path());
    let home = tmp.path().join("home");
    let store = Store::chromium(&home);
    let Store::Nss { db, .. } = &store else {
        panic!("{store:?}")
    };
    assert!(!trusted(&store, &ca), "no database yet");

    install(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(db.join("cert9.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(db).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o700), "Chromium's folder is private");
    }
    assert!(trusted(&store, &ca));
    let listing = certutil_list(db);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(NICKNAME) && l.trim_end().ends_with("C,,")),
        "{listing}"
    );

    install(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("again: {e}"));
    assert!(trusted(&store, &ca));

    remove(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!trusted(&store, &ca));
    assert!(!certutil_list(db).contains(NICKNAME));
    remove(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("once gone: {e}"));
}

#[test]
fn another_ca_under_berths_nickname_is_not_taken_for_this_one() {
    require_certutil();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (old_dir, new_dir) = (tmp.path().join("old"), tmp.path().join("new"));
    for d in [&old_dir, &new_dir] {
        fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let (old, new) = (make_ca(&old_dir), make_ca(&new_dir));
    let store = Store::chromium(&tmp.path().join("home"));
    install(&store, &old, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(trusted(&store, &old));
    assert!(!trusted(&store, &new), "same nickname, another certificate");
}

#[test]
fn a_firefox_profile_is_found_from_profiles_ini_and_trusts_the_ca() {
    require_certutil();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = make_ca(tmp.path());
    let home = tmp.path().join("home");
    let firefox = home.join(".mozilla/firefox");
    let profile = firefox.join("x1y2z3.default-release");
    fs::create_dir_all(&profile).unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        firefox.join("profiles.ini"),
        "[Install4F96D1932A9F858E]\nDefault=x1y2z3.default-release\nLocked=1\n\n\
         [Profile0]\nName=default-release\nIsRelative=1\nPath=x1y2z3.default-release\nDefault=1\n\n\
         [Profile1]\nName=never-opened\nIsRelative=1\nPath=never.opened\n\n\
         [General]\nStartWithLastProfile=1\nVersion=2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut spec = std::ffi::OsString::from("sql:");
    spec.push(&profile);
    let create = Argv::new("certutil")
        .arg("-d")
        .arg(spec)
        .args(["-N", "--empty-password"]);
    let out = spawn::run(&create, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.success(), "{create}: {}", out.stderr_text());

    let layout = HostLayout {
        home: home.clone(),
        etc_root: tmp.path().join("etc"),
        proc_root: tmp.path().join("proc"),
        os: Os::Linux,
    };
    let stores = detect_stores(&layout);
    let expected = Store::Nss {
        db: profile.clone(),
        owner: NssOwner::Firefox {
            profile: "default-release".into(),
        },
    };
    assert_eq!(stores, std::slice::from_ref(&expected));

    assert!(!trusted(&expected, &ca));
    install(&expected, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(trusted(&expected, &ca));
    remove(&expected, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!trusted(&expected, &ca));
    assert!(
        !profile.with_file_name("never.opened").exists(),
        "a profile without a database is left alone"
    );
}

#[test]
fn a_failed_command_names_the_store_and_the_command() {
    require_certutil();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = make_ca(tmp.path());
    // A Firefox profile is never created by Berth: certutil is pointed at a folder that is not
    // there and fails.
    let store = Store::Nss {
        db: tmp.path().join("gone"),
        owner: NssOwner::Firefox {
            profile: "gone".into(),
        },
    };
    let err = install(&store, &ca, Elevation::None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("Firefox profile \"gone\""), "{err}");
    assert!(err.contains("`certutil -d sql:"), "{err}");
    assert!(
        err.contains("-A -t C,, -n 'Berth Local CA (test)' -i"),
        "{err}"
    );
}

fn effective_uid() -> Option<u32> {
    fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Takes Berth's anchor out of the real system store however the test ends.
struct AnchorGuard(PathBuf);

impl Drop for AnchorGuard {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = fs::remove_file(&self.0);
            let _ = spawn::run(
                &Argv::new("update-ca-certificates").arg("--fresh"),
                Duration::from_secs(120),
            );
        }
    }
}

#[test]
fn debian_system_store_as_root() {
    let debian = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| berth_host::trust::os_release_flavor(&t))
        == Some(SystemFlavor::Debian);
    if effective_uid() != Some(0) || !on_path("update-ca-certificates") || !debian {
        println!("skipped: the real system store is tested only as root on Debian with update-ca-certificates");
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = make_ca(tmp.path());
    let store = Store::System(SystemFlavor::Debian);
    let anchor = Path::new("/usr/local/share/ca-certificates").join(ca.anchor_name());
    let _guard = AnchorGuard(anchor.clone());
    // What update-ca-certificates links to the anchor from /etc/ssl/certs.
    let stem = ca.anchor_name().replace(".crt", "");
    let link = Path::new("/etc/ssl/certs").join(format!("{stem}.pem"));
    let bundle = || fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let body: String = fs::read_to_string(ca.pem_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let others_before = local_anchors();

    assert!(!trusted(&store, &ca));
    install(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(anchor.is_file());
    assert!(trusted(&store, &ca));
    assert!(link.is_file(), "{} links to the anchor", link.display());
    assert!(bundle().replace('\n', "").contains(&body));

    remove(&store, &ca, Elevation::None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!anchor.exists());
    assert!(!trusted(&store, &ca));
    assert!(
        fs::symlink_metadata(&link).is_err(),
        "{} is left behind",
        link.display()
    );
    let left = dangling_links_to("/etc/ssl/certs", &stem);
    assert!(left.is_empty(), "links to the removed anchor: {left:?}");
    assert!(!bundle().replace('\n', "").contains(&body));
    assert_eq!(local_anchors(), others_before, "no other anchor touched");
}

fn local_anchors() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir("/usr/local/share/ca-certificates")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Links in `dir` that point at a file named with `stem` and no longer resolve (the subject
/// hash link beside the named one).
fn dangling_links_to(dir: &str, stem: &str) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    !p.exists()
                        && fs::read_link(p).is_ok_and(|t| t.to_string_lossy().contains(stem))
                })
                .collect()
        })
        .unwrap_or_default()
}
