//! Trusting Berth's local CA: the stores a browser or a TLS library reads its roots from (the
//! Linux system bundle, the NSS databases of Chromium and each Firefox profile, the macOS login
//! keychain, the Windows user Root store, and from WSL2 the Windows side), how to find them on
//! this machine, and the exact commands that add, remove and check Berth's certificate in each.
//!
//! The plans are plain argument vectors built on every platform and tested everywhere; only
//! [`install`], [`remove`] and [`is_trusted`] run them, each through [`crate::spawn`]. Berth
//! changes nothing it did not put there: the system anchor file is named from the CA's
//! fingerprint, the NSS entry by Berth's nickname, the Windows and macOS entries by the
//! certificate's own hash.

mod apply;
mod detect;
mod plan;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::spawn::SpawnError;

pub use apply::{install, is_trusted, is_trusted_under, remove};
pub use detect::{
    detect_stores, firefox_profiles, os_release_flavor, parse_profiles_ini, wsl_from_osrelease,
    HostLayout, Os, ProfileEntry,
};
pub use plan::{install_plan, nss_create_plan, query_plan, remove_plan, Check, Elevation, Step};

/// A CA file is a few hundred bytes; anything past this is not one.
const PEM_CAP: u64 = 64 * 1024;

/// The Linux distribution families whose system store Berth knows how to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFlavor {
    /// Debian, Ubuntu and their derivatives: `update-ca-certificates`.
    Debian,
    /// Fedora, RHEL, CentOS and their rebuilds: `update-ca-trust`.
    Fedora,
    /// Arch and its derivatives: p11-kit's `trust anchor`.
    Arch,
}

impl SystemFlavor {
    /// The folder Berth's anchor file is copied into. Arch has none of ours: `trust anchor`
    /// keeps its own copy in its own format.
    pub fn anchor_dir(self) -> Option<&'static Path> {
        match self {
            SystemFlavor::Debian => Some(Path::new("/usr/local/share/ca-certificates")),
            SystemFlavor::Fedora => Some(Path::new("/etc/pki/ca-trust/source/anchors")),
            SystemFlavor::Arch => None,
        }
    }

    /// The PEM bundle the refresh tool writes and OpenSSL, GnuTLS, curl and most runtimes read.
    pub fn bundle(self) -> &'static Path {
        Path::new(match self {
            SystemFlavor::Debian => "/etc/ssl/certs/ca-certificates.crt",
            SystemFlavor::Fedora => "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            SystemFlavor::Arch => "/etc/ca-certificates/extracted/tls-ca-bundle.pem",
        })
    }
}

/// Whose NSS database it is: what the window names when it lists the stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NssOwner {
    Chromium,
    Firefox { profile: String },
}

/// One place a root certificate can be trusted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The distribution's own store; changing it needs root.
    System(SystemFlavor),
    /// An NSS sql database (a folder holding `cert9.db`), changed with `certutil`.
    Nss { db: PathBuf, owner: NssOwner },
    /// The user's login keychain on macOS.
    MacLogin { keychain: PathBuf },
    /// The current user's Root store on Windows (no administrator needed).
    WindowsUserRoot,
    /// From inside WSL2, the Windows user's Root store, which the Windows browsers read.
    WslWindows { certutil_exe: PathBuf },
}

impl Store {
    /// Chromium's database in `home`, whether or not it exists yet: [`install`] creates it, so
    /// a browser that has never run still trusts the CA on its first start.
    pub fn chromium(home: &Path) -> Store {
        Store::Nss {
            db: home.join(".pki/nssdb"),
            owner: NssOwner::Chromium,
        }
    }

    /// Whether changing it needs root (and so [`Elevation::Pkexec`] from the window).
    pub fn needs_root(&self) -> bool {
        matches!(self, Store::System(_))
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::System(SystemFlavor::Debian) => {
                f.write_str("the system store (update-ca-certificates)")
            }
            Store::System(SystemFlavor::Fedora) => {
                f.write_str("the system store (update-ca-trust)")
            }
            Store::System(SystemFlavor::Arch) => f.write_str("the system store (p11-kit trust)"),
            Store::Nss {
                db,
                owner: NssOwner::Chromium,
            } => write!(f, "Chromium's certificate database ({})", db.display()),
            Store::Nss {
                db,
                owner: NssOwner::Firefox { profile },
            } => write!(f, "Firefox profile \"{profile}\" ({})", db.display()),
            Store::MacLogin { keychain } => {
                write!(f, "the macOS login keychain ({})", keychain.display())
            }
            Store::WindowsUserRoot => f.write_str("the Windows user Root store"),
            Store::WslWindows { .. } => f.write_str("the Windows user Root store (from WSL)"),
        }
    }
}

/// Berth's CA certificate as the stores need it: where its PEM file is, the nickname NSS files
/// it under, and its fingerprints. Only made by [`CaFile::read`] or [`CaFile::from_pem`], which
/// check that the file holds exactly the certificate the fingerprint names, so a swapped file is
/// never trusted and every name derived from it is plain hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pem_path: PathBuf,
    nickname: String,
    fingerprint_sha256: String,
    sha1: String,
    pem: Vec<u8>,
    body: String,
}

impl CaFile {
    /// Reads the PEM at `pem_path` and checks it against `fingerprint_sha256` (hex of the DER).
    pub fn read(
        pem_path: impl Into<PathBuf>,
        nickname: &str,
        fingerprint_sha256: &str,
    ) -> Result<CaFile, TrustError> {
        let pem_path = pem_path.into();
        let mut pem = Vec::new();
        File::open(&pem_path)
            .and_then(|f| f.take(PEM_CAP + 1).read_to_end(&mut pem))
            .map_err(|source| TrustError::CaFile {
                path: pem_path.clone(),
                source,
            })?;
        if pem.len() as u64 > PEM_CAP {
            return Err(bad_cert(&pem_path, "is too large to be one certificate"));
        }
        CaFile::from_pem(pem_path, pem, nickname, fingerprint_sha256)
    }

    /// The same from the file's bytes already in hand.
    pub fn from_pem(
        pem_path: impl Into<PathBuf>,
        pem: Vec<u8>,
        nickname: &str,
        fingerprint_sha256: &str,
    ) -> Result<CaFile, TrustError> {
        let pem_path = pem_path.into();
        // Every tool gets the path as one argument, and some take no `--`: a path from the root
        // can never read as an option.
        if !pem_path.has_root() {
            return Err(bad_cert(&pem_path, "is not an absolute path"));
        }
        check_nickname(nickname)?;
        let text = std::str::from_utf8(&pem).map_err(|_| bad_cert(&pem_path, "is not text"))?;
        let bodies = pem_bodies(text);
        let [body] = bodies.as_slice() else {
            return Err(bad_cert(
                &pem_path,
                &format!("holds {} certificates, not one", bodies.len()),
            ));
        };
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| bad_cert(&pem_path, "holds a certificate that is not valid base64"))?;
        let expected = fingerprint_sha256.replace(':', "").to_ascii_lowercase();
        let actual = hex(&Sha256::digest(&der));
        if actual != expected {
            return Err(TrustError::FingerprintMismatch {
                path: pem_path,
                expected: fingerprint_sha256.to_owned(),
                actual,
            });
        }
        Ok(CaFile {
            pem_path,
            nickname: nickname.to_owned(),
            fingerprint_sha256: actual,
            sha1: hex(&Sha1::digest(&der)),
            body: body.clone(),
            pem,
        })
    }

    pub fn pem_path(&self) -> &Path {
        &self.pem_path
    }

    pub fn nickname(&self) -> &str {
        &self.nickname
    }

    /// Lowercase hex of the SHA-256 of the DER.
    pub fn fingerprint_sha256(&self) -> &str {
        &self.fingerprint_sha256
    }

    /// Lowercase hex of the SHA-1 of the DER: the thumbprint macOS and Windows name a
    /// certificate by when deleting it.
    pub fn sha1(&self) -> &str {
        &self.sha1
    }

    /// The name of Berth's file in a system anchor folder: derived from the fingerprint alone, so
    /// Untrust removes exactly this CA's file and a new CA never overwrites another's.
    pub fn anchor_name(&self) -> String {
        format!("berth-local-ca-{}.crt", &self.fingerprint_sha256[..16])
    }
}

fn check_nickname(nickname: &str) -> Result<(), TrustError> {
    let reason = if nickname.trim().is_empty() {
        "it is empty"
    } else if nickname.starts_with('-') {
        "it starts with '-'"
    } else if nickname.chars().any(char::is_control) {
        "it holds a control character"
    } else if nickname.len() > 128 {
        "it is longer than 128 bytes"
    } else {
        return Ok(());
    };
    Err(TrustError::BadNickname {
        nickname: nickname.to_owned(),
        reason,
    })
}

fn bad_cert(path: &Path, reason: &str) -> TrustError {
    TrustError::BadCertificate {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base64 of each `CERTIFICATE` block in `text`, whitespace removed: how a bundle is
/// compared with a certificate whatever its line wrapping.
pub(crate) fn pem_bodies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            out.extend(current.take());
        } else if let Some(body) = current.as_mut() {
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA certificate {path}: {source}")]
    CaFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the CA certificate {path} {reason}")]
    BadCertificate { path: PathBuf, reason: String },

    #[error("{path} is not the certificate Berth was asked to trust: its SHA-256 is {actual}, not {expected}")]
    FingerprintMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("{nickname:?} cannot name a certificate: {reason}")]
    BadNickname {
        nickname: String,
        reason: &'static str,
    },

    /// A command of the plan ran and failed.
    #[error("{store}: `{command}` failed ({status}): {stderr}")]
    Failed {
        store: String,
        command: String,
        status: String,
        stderr: String,
    },

    /// pkexec's password prompt was dismissed or the user is not allowed to become root.
    #[error("{store}: not changed, the administrator password was not given for `{command}`")]
    NotAuthorized { store: String, command: String },

    #[error("{store}: {source}")]
    Spawn {
        store: String,
        #[source]
        source: SpawnError,
    },

    #[error("{store}: {path}: {source}")]
    Io {
        store: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{store} can only be changed on {on}")]
    Unsupported { store: String, on: &'static str },
}

#[cfg(test)]
pub(crate) mod testca {
    //! A throwaway self-signed CA (`openssl req -x509 -newkey ec ... -subj /CN=berth-unit-test-ca`)
    //! and its fingerprints as `openssl x509 -fingerprint` prints them.

    pub const PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUTJqr6HVQvdYxYD4oykc6rEHk1yAwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSYmVydGgtdW5pdC10ZXN0LWNhMCAXDTI2MTIwMzEwMTY1OFoY
DzIxMjYxMTA5MTAxNjU4WjAdMRswGQYDVQQDDBJiZXJ0aC11bml0LXRlc3QtY2Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARZ/dFlfHgKZAs1mCCXhykKyU0DJ9mE
IA2c8YIUH7HKiCp9Y7OOUjsHC1urBEM7jz0MB/Oo0CAN5tRAENlxvSR3o1MwUTAd
BgNVHQ4EFgQUoqae3ujTjFOm9wjvd6cYm8pejzMwHwYDVR0jBBgwFoAUoqae3ujT
jFOm9wjvd6cYm8pejzMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiEAlxNwKYoaK+WqO5SfgJrNTbK2b4C6aJ0SCNuiOGFpxZUCIDvVQLzz0kRR1l2F
plsI0kNxpaK00prXT5QilSFeoBWV
-----END CERTIFICATE-----
";
    pub const SHA256: &str = "752d8cd6ec1c45fef3c50f2e1615d42ef856a49814d5852c3e9cea831a066ce3";
    pub const SHA1: &str = "fb4158680f711bd1f58d660e04bd247808fe781d";

    pub fn ca() -> super::CaFile {
        super::CaFile::from_pem("/tmp/berth ca.pem", PEM.into(), "Berth Local CA", SHA256)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_is_checked_against_its_fingerprint() {
        let ca = testca::ca();
        assert_eq!(ca.sha1(), testca::SHA1);
        assert_eq!(ca.fingerprint_sha256(), testca::SHA256);
        assert_eq!(ca.anchor_name(), "berth-local-ca-752d8cd6ec1c45fe.crt");

        let upper = testca::SHA256.to_ascii_uppercase();
        assert!(
            CaFile::from_pem("/x.pem", testca::PEM.into(), "n", &upper).is_ok(),
            "case is no difference"
        );
        let wrong = format!("00{}", &testca::SHA256[2..]);
        assert!(matches!(
            CaFile::from_pem("/x.pem", testca::PEM.into(), "n", &wrong),
            Err(TrustError::FingerprintMismatch { .. })
        ));
        assert!(matches!(
            CaFile::from_pem("/x.pem", testca::PEM.into(), "n", "../../etc/passwd"),
            Err(TrustError::FingerprintMismatch { .. })
        ));
    }

    #[test]
    fn a_ca_file_holds_one_certificate_at_an_absolute_path() {
        let two = format!("{}{}", testca::PEM, testca::PEM);
        let err = CaFile::from_pem("/x.pem", two.into(), "n", testca::SHA256).err();
        assert!(
            matches!(&err, Some(TrustError::BadCertificate { reason, .. }) if reason.contains("2 certificates")),
            "{err:?}"
        );
        assert!(matches!(
            CaFile::from_pem("-x.pem", testca::PEM.into(), "n", testca::SHA256),
            Err(TrustError::BadCertificate { .. })
        ));
        for bad in ["", "-n", "a\nb"] {
            assert!(
                matches!(
                    CaFile::from_pem("/x.pem", testca::PEM.into(), bad, testca::SHA256),
                    Err(TrustError::BadNickname { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bundle_bodies_ignore_wrapping() {
        let rewrapped: String = testca::PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        let bundle = format!(
            "# comment\n-----BEGIN CERTIFICATE-----\r\n{}\r\n{}\r\n-----END CERTIFICATE-----\r\n",
            &rewrapped[..10],
            &rewrapped[10..]
        );
        assert_eq!(pem_bodies(&bundle), pem_bodies(testca::PEM));
        assert_eq!(pem_bodies(&bundle), [rewrapped]);
    }
}
