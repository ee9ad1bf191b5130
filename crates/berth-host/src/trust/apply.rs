//! Running the plans. A store whose tool exists only on another system (the macOS keychain, the
//! Windows store, the Linux system store) says so instead of failing to start a program.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::plan::{
    install_plan, nss_create_plan, nss_list, query_plan, remove_plan, Check, Elevation, Step,
};
use super::{pem_bodies, CaFile, NssOwner, Store, TrustError};
use crate::spawn::{self, Argv, RunOutput, SpawnError};

/// A tool that only reads or writes files (certutil on a database, update-ca-certificates and its
/// hooks, which rebuild Java's keystore too).
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);
/// A command that waits for a person: pkexec's password dialog, the confirmation Windows shows
/// before adding a root, the keychain's password prompt.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(300);
/// NSS files every certificate of one subject under one nickname; removal deletes until none
/// is left (an older Berth CA goes too), but never loops forever.
const NSS_MAX_SAME_NAME: usize = 16;
/// The system bundle is a few hundred KiB.
const BUNDLE_CAP: u64 = 16 * 1024 * 1024;

/// Makes `store` trust `ca`. Chromium's database is created first when it is missing.
pub fn install(store: &Store, ca: &CaFile, elevation: Elevation) -> Result<(), TrustError> {
    runs_here(store)?;
    if let Store::Nss {
        db,
        owner: NssOwner::Chromium,
    } = store
    {
        if !db.join("cert9.db").is_file() {
            create_nss_db(store, db)?;
        }
    }
    let timeout = timeout(store, elevation);
    for step in install_plan(store, ca, elevation) {
        match step {
            Step::Run(argv) => {
                checked(store, &argv, spawn::run(&argv, timeout))?;
            }
            Step::WithWindowsPath { wslpath, then } => {
                let out = checked(store, &wslpath, spawn::run(&wslpath, TOOL_TIMEOUT))?;
                let text = out.stdout_text();
                let path = text.lines().next().unwrap_or_default().trim();
                if path.is_empty() {
                    return Err(failed(store, &wslpath, &out, "it printed no path"));
                }
                let then = then.arg(path);
                checked(store, &then, spawn::run(&then, timeout))?;
            }
        }
    }
    Ok(())
}

/// Takes `ca` out of `store`. Removing what is not there is no error.
pub fn remove(store: &Store, ca: &CaFile, elevation: Elevation) -> Result<(), TrustError> {
    runs_here(store)?;
    let plan = remove_plan(store, ca, elevation);
    if let Store::Nss { db, .. } = store {
        // certutil would create a database to delete from.
        if !db.join("cert9.db").is_file() {
            return Ok(());
        }
        let list = nss_list(db, ca);
        for _ in 0..NSS_MAX_SAME_NAME {
            let listed = spawn::run(&list, TOOL_TIMEOUT).map_err(|e| spawn_error(store, e))?;
            if !listed.success() {
                return Ok(());
            }
            for argv in &plan {
                checked(store, argv, spawn::run(argv, TOOL_TIMEOUT))?;
            }
        }
        return Ok(());
    }
    let timeout = timeout(store, elevation);
    for argv in &plan {
        checked(store, argv, spawn::run(argv, timeout))?;
    }
    Ok(())
}

/// Whether `store` trusts `ca` now.
pub fn is_trusted(store: &Store, ca: &CaFile) -> Result<bool, TrustError> {
    is_trusted_under(store, ca, Path::new("/"))
}

/// The same, reading a system store's files under `root` instead of `/` (a test's copy).
pub fn is_trusted_under(store: &Store, ca: &CaFile, root: &Path) -> Result<bool, TrustError> {
    match query_plan(store, ca) {
        Check::Files { anchor, bundle } => {
            if let Some(anchor) = anchor {
                match read_under(store, root, &anchor, BUNDLE_CAP)? {
                    Some(bytes) if bytes == ca.pem => {}
                    _ => return Ok(false),
                }
            }
            let Some(bundle) = read_under(store, root, &bundle, BUNDLE_CAP)? else {
                return Ok(false);
            };
            Ok(pem_bodies(&String::from_utf8_lossy(&bundle)).contains(&ca.body))
        }
        Check::NssListing {
            argv,
            fingerprint_sha256,
        } => {
            if let Store::Nss { db, .. } = store {
                if !db.join("cert9.db").is_file() {
                    return Ok(false);
                }
            }
            let out = spawn::run(&argv, TOOL_TIMEOUT).map_err(|e| spawn_error(store, e))?;
            Ok(out.success() && nss_lists_trusted(&out.stdout_text(), &fingerprint_sha256))
        }
        Check::Exit(argv) => {
            runs_here(store)?;
            let out = spawn::run(&argv, TOOL_TIMEOUT).map_err(|e| spawn_error(store, e))?;
            Ok(out.success())
        }
    }
}

/// Whether a `certutil -L -n` listing shows a certificate with this SHA-256 that is trusted to
/// issue server certificates (`C` in the SSL flags).
pub(crate) fn nss_lists_trusted(listing: &str, fingerprint_sha256: &str) -> bool {
    let lines: Vec<&str> = listing.lines().map(str::trim).collect();
    lines.split(|l| *l == "Certificate:").skip(1).any(|cert| {
        let fingerprint = cert
            .iter()
            .position(|l| *l == "Fingerprint (SHA-256):")
            .and_then(|i| cert.get(i + 1))
            .map(|l| l.replace(':', "").to_ascii_lowercase());
        let trusted = cert
            .iter()
            .position(|l| *l == "SSL Flags:")
            .is_some_and(|i| {
                cert[i + 1..]
                    .iter()
                    .take_while(|l| !l.ends_with("Flags:"))
                    .any(|l| *l == "Trusted CA")
            });
        trusted && fingerprint.as_deref() == Some(fingerprint_sha256)
    })
}

/// Chromium's own layout: the folder private to the user (the database holds client keys too),
/// an empty password.
fn create_nss_db(store: &Store, db: &Path) -> Result<(), TrustError> {
    let mut dir = fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        dir.mode(0o700);
    }
    dir.create(db).map_err(|source| TrustError::Io {
        store: store.to_string(),
        path: db.to_owned(),
        source,
    })?;
    let argv = nss_create_plan(db);
    checked(store, &argv, spawn::run(&argv, TOOL_TIMEOUT)).map(drop)
}

fn runs_here(store: &Store) -> Result<(), TrustError> {
    let on = match store {
        Store::System(_) | Store::WslWindows { .. } if !cfg!(target_os = "linux") => "Linux",
        Store::MacLogin { .. } if !cfg!(target_os = "macos") => "macOS",
        Store::WindowsUserRoot if !cfg!(windows) => "Windows",
        _ => return Ok(()),
    };
    Err(TrustError::Unsupported {
        store: store.to_string(),
        on,
    })
}

fn timeout(store: &Store, elevation: Elevation) -> Duration {
    match (store, elevation) {
        (Store::Nss { .. }, _) | (Store::System(_), Elevation::None) => TOOL_TIMEOUT,
        _ => PROMPT_TIMEOUT,
    }
}

/// `path` (absolute, as the tools see it) read under `root`; None when it is not there.
fn read_under(
    store: &Store,
    root: &Path,
    path: &Path,
    cap: u64,
) -> Result<Option<Vec<u8>>, TrustError> {
    let rel: PathBuf = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let full = root.join(rel);
    let mut bytes = Vec::new();
    match File::open(&full).and_then(|f| f.take(cap).read_to_end(&mut bytes)) {
        Ok(_) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TrustError::Io {
            store: store.to_string(),
            path: full,
            source,
        }),
    }
}

fn checked(
    store: &Store,
    argv: &Argv,
    result: Result<RunOutput, SpawnError>,
) -> Result<RunOutput, TrustError> {
    let out = result.map_err(|e| spawn_error(store, e))?;
    if out.success() {
        return Ok(out);
    }
    // pkexec's own status for a dismissed password dialog.
    if argv.program == "pkexec" && out.status.code() == Some(126) {
        return Err(TrustError::NotAuthorized {
            store: store.to_string(),
            command: argv.to_string(),
        });
    }
    Err(failed(store, argv, &out, ""))
}

/// The message of a failed command: its stderr, else its stdout (Windows' certutil reports on
/// stdout), cut to what a dialog can show.
fn failed(store: &Store, argv: &Argv, out: &RunOutput, why: &str) -> TrustError {
    let stderr = out.stderr_text();
    let stdout = out.stdout_text();
    let mut text = [why, stderr.trim(), stdout.trim()]
        .into_iter()
        .find(|t| !t.is_empty())
        .unwrap_or("no message")
        .to_owned();
    if text.len() > 4000 {
        let mut end = 4000;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    TrustError::Failed {
        store: store.to_string(),
        command: argv.to_string(),
        status: out
            .status
            .code()
            .map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}")),
        stderr: text,
    }
}

fn spawn_error(store: &Store, source: SpawnError) -> TrustError {
    TrustError::Spawn {
        store: store.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::testca::{self, ca};
    use crate::trust::SystemFlavor;

    const LISTING: &str = "Certificate:
    Data:
        Subject: \"CN=berth-unit-test-ca\"
    Fingerprint (SHA-256):
        75:2D:8C:D6:EC:1C:45:FE:F3:C5:0F:2E:16:15:D4:2E:F8:56:A4:98:14:D5:85:2C:3E:9C:EA:83:1A:06:6C:E3
    Fingerprint (SHA1):
        FB:41:58:68:0F:71:1B:D1:F5:8D:66:0E:04:BD:24:78:08:FE:78:1D

    Mozilla-CA-Policy: false (attribute missing)
    Certificate Trust Flags:
        SSL Flags:
            Valid CA
            Trusted CA
        Email Flags:
        Object Signing Flags:
";

    #[test]
    fn an_nss_listing_counts_only_this_ca_trusted_for_tls() {
        assert!(nss_lists_trusted(LISTING, testca::SHA256));
        let other = format!("00{}", &testca::SHA256[2..]);
        assert!(!nss_lists_trusted(LISTING, &other), "another CA, same name");
        let untrusted = LISTING.replace("            Trusted CA\n", "");
        assert!(!nss_lists_trusted(&untrusted, testca::SHA256));
        let email_only = untrusted.replace(
            "        Email Flags:\n",
            "        Email Flags:\n            Trusted CA\n",
        );
        assert!(!nss_lists_trusted(&email_only, testca::SHA256));
        let two = format!("{untrusted}\n{LISTING}");
        assert!(nss_lists_trusted(&two, testca::SHA256), "either of two");
    }

    fn write(path: PathBuf, bytes: &[u8]) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    #[test]
    fn debian_trust_needs_berths_anchor_and_the_bundle() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = tmp.path();
        let store = Store::System(SystemFlavor::Debian);
        let ca = ca();
        let trusted = || is_trusted_under(&store, &ca, root).unwrap_or_else(|e| panic!("{e}"));
        let anchor = root
            .join("usr/local/share/ca-certificates")
            .join(ca.anchor_name());
        let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
        assert!(!trusted());

        write(anchor.clone(), testca::PEM.as_bytes());
        assert!(!trusted(), "copied but not yet in the bundle");
        write(
            bundle.clone(),
            format!(
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n{}",
                testca::PEM
            )
            .as_bytes(),
        );
        assert!(trusted());

        write(anchor.clone(), b"something else\n");
        assert!(!trusted(), "the anchor must be this CA's file");
        fs::remove_file(&anchor).unwrap_or_else(|e| panic!("{e}"));
        assert!(!trusted(), "in the bundle but no longer Berth's anchor");
    }

    #[test]
    fn arch_trust_is_read_from_the_bundle_alone() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::System(SystemFlavor::Arch);
        write(
            tmp.path()
                .join("etc/ca-certificates/extracted/tls-ca-bundle.pem"),
            testca::PEM.as_bytes(),
        );
        assert!(is_trusted_under(&store, &ca(), tmp.path()).unwrap_or_else(|e| panic!("{e}")));
    }

    #[test]
    fn a_missing_nss_database_trusts_nothing_and_has_nothing_to_remove() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::Nss {
            db: tmp.path().join("none"),
            owner: NssOwner::Firefox {
                profile: "p".into(),
            },
        };
        assert!(!is_trusted(&store, &ca()).unwrap_or_else(|e| panic!("{e}")));
        assert!(remove(&store, &ca(), Elevation::None).is_ok());
        assert!(!tmp.path().join("none").exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn other_systems_stores_are_refused_by_name() {
        let err = install(&Store::WindowsUserRoot, &ca(), Elevation::None).err();
        assert!(
            matches!(&err, Some(TrustError::Unsupported { on: "Windows", .. })),
            "{err:?}"
        );
        let mac = Store::MacLogin {
            keychain: "/k".into(),
        };
        assert!(matches!(
            is_trusted(&mac, &ca()),
            Err(TrustError::Unsupported { on: "macOS", .. })
        ));
    }
}
