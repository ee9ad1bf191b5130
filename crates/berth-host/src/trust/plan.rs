//! The commands that add, remove and check Berth's CA in each store, built as argument vectors
//! on every platform. Nothing here touches the machine.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::{CaFile, Store, SystemFlavor};
use crate::spawn::Argv;

/// How a command that needs root gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// Run as is: Berth is root already, or the CLI leaves `sudo` to the person.
    None,
    /// From the window: each command that needs root runs through polkit's `pkexec`, which asks
    /// for the administrator password in a dialog of its own.
    Pkexec,
}

/// One step of an install plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Run(Argv),
    /// WSL: `wslpath` prints the Windows name of the CA file, which `then` takes as its last
    /// argument (Windows programs cannot open a Linux path).
    WithWindowsPath {
        wslpath: Argv,
        then: Argv,
    },
}

/// The step as a person would type it; for showing only.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Run(argv) => write!(f, "{argv}"),
            Step::WithWindowsPath { wslpath, then } => write!(f, "{then} \"$({wslpath})\""),
        }
    }
}

/// How to tell whether a store trusts the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Trusted when the command exits 0.
    Exit(Argv),
    /// Trusted when `certutil -L -n` exits 0 and lists a certificate with this SHA-256 as a
    /// trusted CA: an older CA under Berth's nickname does not count.
    NssListing {
        argv: Argv,
        fingerprint_sha256: String,
    },
    /// Trusted when Berth's anchor file (where the store keeps one) holds the CA file byte for
    /// byte and the bundle the system's TLS libraries read holds the certificate. Read as files:
    /// no tool for it needs root.
    Files {
        anchor: Option<PathBuf>,
        bundle: PathBuf,
    },
}

/// The commands that make `store` trust `ca`.
pub fn install_plan(store: &Store, ca: &CaFile, elevation: Elevation) -> Vec<Step> {
    let pem = ca.pem_path().as_os_str();
    match store {
        Store::System(flavor) => {
            let mut plan = Vec::new();
            if let Some(anchor) = anchor_path(*flavor, ca) {
                // `install`, not a copy in Rust, so the copy runs as root too.
                plan.push(
                    Argv::new("install")
                        .args(["-m", "0644", "--"])
                        .arg(pem)
                        .arg(anchor),
                );
            }
            plan.push(match flavor {
                SystemFlavor::Arch => Argv::new("trust").args(["anchor", "--store"]).arg(pem),
                _ => refresh(*flavor),
            });
            plan.into_iter()
                .map(|a| Step::Run(elevate(a, elevation)))
                .collect()
        }
        Store::Nss { db, .. } => vec![Step::Run(
            certutil(db)
                .args(["-A", "-t", "C,,", "-n"])
                .arg(ca.nickname())
                .arg("-i")
                .arg(pem),
        )],
        Store::MacLogin { keychain } => vec![Step::Run(
            Argv::new("security")
                .args(["add-trusted-cert", "-r", "trustRoot", "-k"])
                .arg(keychain)
                .arg(pem),
        )],
        Store::WindowsUserRoot => vec![Step::Run(
            Argv::new("certutil")
                .args(["-user", "-addstore", "-f", "Root"])
                .arg(pem),
        )],
        Store::WslWindows { certutil_exe } => vec![Step::WithWindowsPath {
            wslpath: Argv::new("wslpath").arg("-w").arg(pem),
            then: Argv::new(certutil_exe).args(["-user", "-addstore", "-f", "Root"]),
        }],
    }
}

/// The commands that take `ca` out of `store` again, and nothing else: Berth's own anchor file,
/// Berth's nickname, or the certificate's own thumbprint.
pub fn remove_plan(store: &Store, ca: &CaFile, elevation: Elevation) -> Vec<Argv> {
    match store {
        Store::System(flavor) => {
            let plan = match anchor_path(*flavor, ca) {
                Some(anchor) => vec![
                    Argv::new("rm").args(["-f", "--"]).arg(anchor),
                    match flavor {
                        // A plain run rebuilds the bundle but keeps the links /etc/ssl/certs had
                        // to the removed file (and the hash link beside it): `--fresh` makes
                        // them all anew.
                        SystemFlavor::Debian => refresh(*flavor).arg("--fresh"),
                        _ => refresh(*flavor),
                    },
                ],
                None => vec![Argv::new("trust")
                    .args(["anchor", "--remove"])
                    .arg(ca.pem_path())],
            };
            plan.into_iter().map(|a| elevate(a, elevation)).collect()
        }
        Store::Nss { db, .. } => vec![certutil(db).args(["-D", "-n"]).arg(ca.nickname())],
        Store::MacLogin { keychain } => vec![
            Argv::new("security")
                .arg("remove-trusted-cert")
                .arg(ca.pem_path()),
            Argv::new("security")
                .args(["delete-certificate", "-Z"])
                .arg(ca.sha1().to_ascii_uppercase())
                .arg(keychain),
        ],
        Store::WindowsUserRoot => vec![windows_delstore(OsString::from("certutil"), ca)],
        Store::WslWindows { certutil_exe } => {
            vec![windows_delstore(certutil_exe.clone().into_os_string(), ca)]
        }
    }
}

/// How to tell whether `store` trusts `ca`.
pub fn query_plan(store: &Store, ca: &CaFile) -> Check {
    match store {
        Store::System(flavor) => Check::Files {
            anchor: anchor_path(*flavor, ca),
            bundle: flavor.bundle().to_owned(),
        },
        Store::Nss { db, .. } => Check::NssListing {
            argv: nss_list(db, ca),
            fingerprint_sha256: ca.fingerprint_sha256().to_owned(),
        },
        // Evaluates the certificate against the user's trust settings: a self-signed root
        // passes only when it is trusted.
        Store::MacLogin { .. } => Check::Exit(
            Argv::new("security")
                .args(["verify-cert", "-L", "-c"])
                .arg(ca.pem_path()),
        ),
        Store::WindowsUserRoot => Check::Exit(windows_verifystore(OsString::from("certutil"), ca)),
        Store::WslWindows { certutil_exe } => Check::Exit(windows_verifystore(
            certutil_exe.clone().into_os_string(),
            ca,
        )),
    }
}

/// Creates an empty NSS sql database (no password, as Chromium makes its own) in an existing
/// folder.
pub fn nss_create_plan(db: &Path) -> Argv {
    certutil(db).args(["-N", "--empty-password"])
}

/// Lists the certificates under Berth's nickname; exits non-zero when there is none.
pub(super) fn nss_list(db: &Path, ca: &CaFile) -> Argv {
    certutil(db).args(["-L", "-n"]).arg(ca.nickname())
}

fn anchor_path(flavor: SystemFlavor, ca: &CaFile) -> Option<PathBuf> {
    flavor.anchor_dir().map(|d| d.join(ca.anchor_name()))
}

fn refresh(flavor: SystemFlavor) -> Argv {
    match flavor {
        SystemFlavor::Debian => Argv::new("update-ca-certificates"),
        // `extract` spelled out: older releases did nothing without it.
        SystemFlavor::Fedora | SystemFlavor::Arch => Argv::new("update-ca-trust").arg("extract"),
    }
}

/// Where the distributions install the tools the system plans run as root. pkexec would look a
/// bare name up in the user's own PATH, where anything the user can write (`~/.local/bin`)
/// could stand in for `install` and be run as root.
const SYSTEM_TOOLS: [(&str, &str); 5] = [
    ("install", "/usr/bin/install"),
    // /bin, not /usr/bin: Debian releases before the /usr merge have rm only there.
    ("rm", "/bin/rm"),
    ("update-ca-certificates", "/usr/sbin/update-ca-certificates"),
    ("update-ca-trust", "/usr/bin/update-ca-trust"),
    ("trust", "/usr/bin/trust"),
];

fn elevate(argv: Argv, elevation: Elevation) -> Argv {
    match elevation {
        Elevation::None => argv,
        Elevation::Pkexec => {
            let program = SYSTEM_TOOLS
                .iter()
                .find(|(name, _)| argv.program == *name)
                .map_or(argv.program.clone(), |(_, path)| OsString::from(path));
            Argv { program, ..argv }.run_through("pkexec")
        }
    }
}

fn certutil(db: &Path) -> Argv {
    let mut spec = OsString::from("sql:");
    spec.push(db);
    Argv::new("certutil").arg("-d").arg(spec)
}

fn windows_delstore(certutil: OsString, ca: &CaFile) -> Argv {
    Argv::new(certutil)
        .args(["-user", "-delstore", "Root"])
        .arg(ca.sha1())
}

fn windows_verifystore(certutil: OsString, ca: &CaFile) -> Argv {
    Argv::new(certutil)
        .args(["-user", "-verifystore", "Root"])
        .arg(ca.sha1())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::testca::{self, ca};
    use crate::trust::NssOwner;

    const ANCHOR: &str = "berth-local-ca-752d8cd6ec1c45fe.crt";

    fn words(plan: &[Argv]) -> Vec<Vec<String>> {
        plan.iter().map(Argv::words).collect()
    }

    fn run_words(plan: &[Step]) -> Vec<Vec<String>> {
        plan.iter()
            .map(|s| match s {
                Step::Run(a) => a.words(),
                Step::WithWindowsPath { .. } => panic!("not a plain step: {s}"),
            })
            .collect()
    }

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn debian_copies_berths_anchor_and_refreshes() {
        let store = Store::System(SystemFlavor::Debian);
        let dst = format!("/usr/local/share/ca-certificates/{ANCHOR}");
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::None)),
            [
                w(&["install", "-m", "0644", "--", "/tmp/berth ca.pem", &dst]),
                w(&["update-ca-certificates"]),
            ]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [
                w(&["rm", "-f", "--", &dst]),
                w(&["update-ca-certificates", "--fresh"])
            ]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Files {
                anchor: Some(dst.into()),
                bundle: "/etc/ssl/certs/ca-certificates.crt".into()
            }
        );
    }

    #[test]
    fn fedora_uses_the_anchors_folder_and_update_ca_trust() {
        let store = Store::System(SystemFlavor::Fedora);
        let dst = format!("/etc/pki/ca-trust/source/anchors/{ANCHOR}");
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::None)),
            [
                w(&["install", "-m", "0644", "--", "/tmp/berth ca.pem", &dst]),
                w(&["update-ca-trust", "extract"]),
            ]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [
                w(&["rm", "-f", "--", &dst]),
                w(&["update-ca-trust", "extract"])
            ]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Files {
                anchor: Some(dst.into()),
                bundle: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem".into()
            }
        );
    }

    #[test]
    fn arch_hands_the_file_to_trust_anchor() {
        let store = Store::System(SystemFlavor::Arch);
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::None)),
            [w(&["trust", "anchor", "--store", "/tmp/berth ca.pem"])]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [w(&["trust", "anchor", "--remove", "/tmp/berth ca.pem"])]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Files {
                anchor: None,
                bundle: "/etc/ca-certificates/extracted/tls-ca-bundle.pem".into()
            }
        );
    }

    #[test]
    fn pkexec_prefixes_every_system_command_and_nothing_else() {
        for flavor in [
            SystemFlavor::Debian,
            SystemFlavor::Fedora,
            SystemFlavor::Arch,
        ] {
            let store = Store::System(flavor);
            let plain = run_words(&install_plan(&store, &ca(), Elevation::None));
            let elevated = run_words(&install_plan(&store, &ca(), Elevation::Pkexec));
            assert_eq!(elevated.len(), plain.len());
            for (e, p) in elevated.iter().zip(&plain) {
                assert_eq!(e[0], "pkexec");
                assert!(
                    e[1].starts_with('/') && e[1].ends_with(&format!("/{}", p[0])),
                    "{e:?}"
                );
                assert_eq!(e[2..], p[1..]);
            }
            let removed = words(&remove_plan(&store, &ca(), Elevation::Pkexec));
            assert!(
                removed
                    .iter()
                    .all(|a| a[0] == "pkexec" && a[1].starts_with('/')),
                "{removed:?}"
            );
        }
        let dst = format!("/usr/local/share/ca-certificates/{ANCHOR}");
        assert_eq!(
            run_words(&install_plan(
                &Store::System(SystemFlavor::Debian),
                &ca(),
                Elevation::Pkexec
            )),
            [
                w(&[
                    "pkexec",
                    "/usr/bin/install",
                    "-m",
                    "0644",
                    "--",
                    "/tmp/berth ca.pem",
                    &dst
                ]),
                w(&["pkexec", "/usr/sbin/update-ca-certificates"]),
            ]
        );
        assert_eq!(
            words(&remove_plan(
                &Store::System(SystemFlavor::Debian),
                &ca(),
                Elevation::Pkexec
            )),
            [
                w(&["pkexec", "/bin/rm", "-f", "--", &dst]),
                w(&["pkexec", "/usr/sbin/update-ca-certificates", "--fresh"]),
            ]
        );
        let nss = Store::chromium(Path::new("/home/a"));
        let plan = run_words(&install_plan(&nss, &ca(), Elevation::Pkexec));
        assert_eq!(
            plan[0][0], "certutil",
            "a user's own database needs no root"
        );
        assert_eq!(
            Step::Run(Argv::new("update-ca-certificates").run_through("pkexec")).to_string(),
            "pkexec update-ca-certificates"
        );
    }

    #[test]
    fn nss_names_the_database_with_the_sql_prefix() {
        let store = Store::Nss {
            db: "/home/a/.mozilla/firefox/x.default-release".into(),
            owner: NssOwner::Firefox {
                profile: "default-release".into(),
            },
        };
        let db = "sql:/home/a/.mozilla/firefox/x.default-release";
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::None)),
            [w(&[
                "certutil",
                "-d",
                db,
                "-A",
                "-t",
                "C,,",
                "-n",
                "Berth Local CA",
                "-i",
                "/tmp/berth ca.pem"
            ])]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [w(&["certutil", "-d", db, "-D", "-n", "Berth Local CA"])]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::NssListing {
                argv: Argv::new("certutil").args(["-d", db, "-L", "-n", "Berth Local CA"]),
                fingerprint_sha256: testca::SHA256.into()
            }
        );
        assert_eq!(
            nss_create_plan(Path::new("/home/a/.pki/nssdb")).words(),
            w(&[
                "certutil",
                "-d",
                "sql:/home/a/.pki/nssdb",
                "-N",
                "--empty-password"
            ])
        );
    }

    #[test]
    fn macos_trusts_in_the_login_keychain_and_deletes_by_sha1() {
        let store = Store::MacLogin {
            keychain: "/Users/a/Library/Keychains/login.keychain-db".into(),
        };
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::Pkexec)),
            [w(&[
                "security",
                "add-trusted-cert",
                "-r",
                "trustRoot",
                "-k",
                "/Users/a/Library/Keychains/login.keychain-db",
                "/tmp/berth ca.pem"
            ])]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [
                w(&["security", "remove-trusted-cert", "/tmp/berth ca.pem"]),
                w(&[
                    "security",
                    "delete-certificate",
                    "-Z",
                    &testca::SHA1.to_ascii_uppercase(),
                    "/Users/a/Library/Keychains/login.keychain-db"
                ]),
            ]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Exit(Argv::new("security").args([
                "verify-cert",
                "-L",
                "-c",
                "/tmp/berth ca.pem"
            ]))
        );
    }

    #[test]
    fn windows_uses_the_user_root_store() {
        let store = Store::WindowsUserRoot;
        assert_eq!(
            run_words(&install_plan(&store, &ca(), Elevation::None)),
            [w(&[
                "certutil",
                "-user",
                "-addstore",
                "-f",
                "Root",
                "/tmp/berth ca.pem"
            ])]
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [w(&["certutil", "-user", "-delstore", "Root", testca::SHA1])]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Exit(Argv::new("certutil").args([
                "-user",
                "-verifystore",
                "Root",
                testca::SHA1
            ]))
        );
    }

    #[test]
    fn wsl_converts_the_path_then_runs_windows_certutil() {
        let exe = "/mnt/c/Windows/System32/certutil.exe";
        let store = Store::WslWindows {
            certutil_exe: exe.into(),
        };
        let plan = install_plan(&store, &ca(), Elevation::Pkexec);
        assert_eq!(
            plan,
            [Step::WithWindowsPath {
                wslpath: Argv::new("wslpath").args(["-w", "/tmp/berth ca.pem"]),
                then: Argv::new(exe).args(["-user", "-addstore", "-f", "Root"]),
            }]
        );
        assert_eq!(
            plan[0].to_string(),
            format!("{exe} -user -addstore -f Root \"$(wslpath -w '/tmp/berth ca.pem')\"")
        );
        assert_eq!(
            words(&remove_plan(&store, &ca(), Elevation::None)),
            [w(&[exe, "-user", "-delstore", "Root", testca::SHA1])]
        );
        assert_eq!(
            query_plan(&store, &ca()),
            Check::Exit(Argv::new(exe).args(["-user", "-verifystore", "Root", testca::SHA1]))
        );
    }
}
