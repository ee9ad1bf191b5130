//! Which stores this machine has: the distribution from `os-release`, Chromium's database, every
//! Firefox profile (native, snap and flatpak installs each keep their own), and WSL2 from the
//! kernel's release string. Every root is injected so tests lay out a fake home and /etc.

use std::fs;
use std::path::{Path, PathBuf};

use super::{NssOwner, Store, SystemFlavor};

/// The operating system the stores are looked for on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    Other,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Other
        }
    }
}

/// Where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLayout {
    pub home: PathBuf,
    pub etc_root: PathBuf,
    pub proc_root: PathBuf,
    pub os: Os,
}

impl HostLayout {
    /// This machine, for the user whose home is `home`.
    pub fn here(home: impl Into<PathBuf>) -> HostLayout {
        HostLayout {
            home: home.into(),
            etc_root: "/etc".into(),
            proc_root: "/proc".into(),
            os: Os::current(),
        }
    }
}

/// Windows' own certutil as WSL mounts the C: drive by default.
const WSL_CERTUTIL: &str = "/mnt/c/Windows/System32/certutil.exe";

/// Where Firefox keeps `profiles.ini`, under the home folder: the distribution's package, the
/// snap and the flatpak.
const FIREFOX_ROOTS: [&str; 3] = [
    ".mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
];

/// Chromium's database under the home folder: the distribution's package (and Chrome, which
/// shares it) and the snap.
const CHROMIUM_DBS: [&str; 2] = [".pki/nssdb", "snap/chromium/current/.pki/nssdb"];

/// The stores found on the machine `layout` describes, system store first.
///
/// Firefox on macOS and Windows reads the operating system's roots by itself, so there only the
/// system's own store is listed.
pub fn detect_stores(layout: &HostLayout) -> Vec<Store> {
    match layout.os {
        Os::Linux => {
            let mut stores = Vec::new();
            if let Some(flavor) = read_os_release(&layout.etc_root)
                .as_deref()
                .and_then(os_release_flavor)
            {
                stores.push(Store::System(flavor));
            }
            for rel in CHROMIUM_DBS {
                let db = layout.home.join(rel);
                if db.is_dir() {
                    stores.push(Store::Nss {
                        db,
                        owner: NssOwner::Chromium,
                    });
                }
            }
            stores.extend(
                firefox_profiles(&layout.home)
                    .into_iter()
                    .map(|p| Store::Nss {
                        db: p.path,
                        owner: NssOwner::Firefox { profile: p.name },
                    }),
            );
            let osrelease = fs::read_to_string(layout.proc_root.join("sys/kernel/osrelease"));
            if osrelease.is_ok_and(|r| wsl_from_osrelease(&r)) {
                stores.push(Store::WslWindows {
                    certutil_exe: WSL_CERTUTIL.into(),
                });
            }
            stores
        }
        Os::MacOs => vec![Store::MacLogin {
            keychain: layout.home.join("Library/Keychains/login.keychain-db"),
        }],
        Os::Windows => vec![Store::WindowsUserRoot],
        Os::Other => Vec::new(),
    }
}

/// `os-release` lives in /etc, and in /usr/lib where /etc has none (systemd's fallback).
fn read_os_release(etc: &Path) -> Option<String> {
    fs::read_to_string(etc.join("os-release"))
        .or_else(|_| fs::read_to_string(etc.join("../usr/lib/os-release")))
        .ok()
}

/// The family of an `os-release` file: its `ID`, else the first of its `ID_LIKE` Berth knows
/// (Mint says `ID_LIKE="ubuntu debian"`, Rocky `ID_LIKE="rhel centos fedora"`).
pub fn os_release_flavor(text: &str) -> Option<SystemFlavor> {
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
    };
    let id = value("ID").unwrap_or_default();
    let like = value("ID_LIKE").unwrap_or_default();
    std::iter::once(id.as_str())
        .chain(like.split_whitespace())
        .find_map(|word| match word.to_ascii_lowercase().as_str() {
            "debian" | "ubuntu" => Some(SystemFlavor::Debian),
            "fedora" | "rhel" | "centos" => Some(SystemFlavor::Fedora),
            "arch" => Some(SystemFlavor::Arch),
            _ => None,
        })
}

/// WSL's kernels say so in their release ("5.15.90.1-microsoft-standard-WSL2").
pub fn wsl_from_osrelease(release: &str) -> bool {
    let r = release.to_ascii_lowercase();
    r.contains("microsoft") || r.contains("wsl")
}

/// One `[ProfileN]` section of `profiles.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEntry {
    /// `Name=`, or the folder's own name where there is none.
    pub name: String,
    pub path: PathBuf,
}

/// The profiles a `profiles.ini` in `base` lists. A relative `Path=` (with `IsRelative=1`) is
/// under `base`; `[Install…]` and `[General]` sections name no profile of their own.
pub fn parse_profiles_ini(text: &str, base: &Path) -> Vec<ProfileEntry> {
    struct Section {
        name: Option<String>,
        path: Option<String>,
        relative: bool,
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut in_profile = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = header
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("profile"));
            if in_profile {
                sections.push(Section {
                    name: None,
                    path: None,
                    relative: false,
                });
            }
            continue;
        }
        if !in_profile {
            continue;
        }
        let (Some(section), Some((key, value))) = (sections.last_mut(), line.split_once('='))
        else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => section.name = Some(value.trim().to_owned()),
            "path" => section.path = Some(value.trim().to_owned()),
            // Firefox itself takes only "1" as relative.
            "isrelative" => section.relative = value.trim() == "1",
            _ => {}
        }
    }
    let mut out: Vec<ProfileEntry> = Vec::new();
    for s in sections {
        let Some(raw) = s.path.filter(|p| !p.is_empty()) else {
            continue;
        };
        let path = if s.relative {
            base.join(&raw)
        } else {
            PathBuf::from(&raw)
        };
        if out.iter().any(|p| p.path == path) {
            continue;
        }
        let name = s.name.filter(|n| !n.is_empty()).unwrap_or_else(|| {
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or(raw)
        });
        out.push(ProfileEntry { name, path });
    }
    out
}

/// Every Firefox profile under `home` that has an NSS sql database (`cert9.db`): a profile
/// Firefox has never opened has none, and one from before Firefox 58 is the old format.
pub fn firefox_profiles(home: &Path) -> Vec<ProfileEntry> {
    let mut out: Vec<ProfileEntry> = Vec::new();
    for root in FIREFOX_ROOTS {
        let base = home.join(root);
        let Ok(text) = fs::read_to_string(base.join("profiles.ini")) else {
            continue;
        };
        for p in parse_profiles_ini(&text, &base) {
            if p.path.join("cert9.db").is_file() && !out.iter().any(|o| o.path == p.path) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[Install4F96D1932A9F858E]\r\nDefault=abcd.default-release\r\nLocked=1\r\n\r\n[Profile1]\r\nName=default\r\nIsRelative=1\r\nPath=efgh.default\r\nDefault=1\r\n\r\n[Profile0]\r\nName=default-release\r\nIsRelative=1\r\nPath=abcd.default-release\r\n\r\n[Profile2]\r\nName=work\r\nIsRelative=0\r\nPath=/data/ff/work\r\n\r\n[General]\r\nStartWithLastProfile=1\r\nVersion=2\r\n";

    #[test]
    fn profiles_ini_gives_relative_and_absolute_profiles() {
        let base = Path::new("/home/a/.mozilla/firefox");
        assert_eq!(
            parse_profiles_ini(INI, base),
            [
                ProfileEntry {
                    name: "default".into(),
                    path: base.join("efgh.default")
                },
                ProfileEntry {
                    name: "default-release".into(),
                    path: base.join("abcd.default-release")
                },
                ProfileEntry {
                    name: "work".into(),
                    path: "/data/ff/work".into()
                },
            ]
        );
    }

    #[test]
    fn profiles_ini_without_names_or_paths() {
        let ini = "[Profile0]\nPath=x.nameless\nIsRelative=1\n[Profile1]\nName=empty\n[Profile2]\nPath=x.nameless\nIsRelative=1\n[Profile3]\nPath=/abs\n";
        assert_eq!(
            parse_profiles_ini(ini, Path::new("/b")),
            [
                ProfileEntry {
                    name: "x.nameless".into(),
                    path: "/b/x.nameless".into()
                },
                ProfileEntry {
                    name: "abs".into(),
                    path: "/abs".into()
                },
            ],
            "a section without a path is skipped, a repeated one listed once, a missing IsRelative is absolute"
        );
    }

    #[test]
    fn os_release_names_the_family() {
        let cases = [
            ("ID=debian\nVERSION_ID=\"12\"\n", Some(SystemFlavor::Debian)),
            ("ID=ubuntu\nID_LIKE=debian\n", Some(SystemFlavor::Debian)),
            (
                "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n",
                Some(SystemFlavor::Debian),
            ),
            ("ID=fedora\n", Some(SystemFlavor::Fedora)),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
                Some(SystemFlavor::Fedora),
            ),
            ("ID=centos\n", Some(SystemFlavor::Fedora)),
            ("ID=arch\n", Some(SystemFlavor::Arch)),
            ("ID=manjaro\nID_LIKE=arch\n", Some(SystemFlavor::Arch)),
            ("ID=opensuse-tumbleweed\nID_LIKE=\"opensuse suse\"\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(os_release_flavor(text), want, "{text:?}");
        }
        assert_eq!(
            os_release_flavor("ID_LIKE=debian\nID=ubuntu\n"),
            Some(SystemFlavor::Debian),
            "ID is read as ID, never as the start of ID_LIKE"
        );
    }

    #[test]
    fn wsl_is_told_by_its_kernel_release() {
        assert!(wsl_from_osrelease("5.15.90.1-microsoft-standard-WSL2\n"));
        assert!(wsl_from_osrelease("4.4.0-19041-Microsoft\n"));
        assert!(wsl_from_osrelease("6.6.36.3-wsl\n"));
        assert!(!wsl_from_osrelease("6.1.0-18-amd64\n"));
    }

    fn layout(dir: &Path, os: Os) -> HostLayout {
        HostLayout {
            home: dir.join("home"),
            etc_root: dir.join("etc"),
            proc_root: dir.join("proc"),
            os,
        }
    }

    fn write(path: PathBuf, text: &str) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    #[test]
    fn linux_stores_from_a_fake_home() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = tmp.path();
        let l = layout(d, Os::Linux);
        assert!(detect_stores(&l).is_empty(), "nothing there, nothing found");

        write(d.join("etc/os-release"), "ID=ubuntu\nID_LIKE=debian\n");
        fs::create_dir_all(d.join("home/.pki/nssdb")).unwrap_or_else(|e| panic!("{e}"));
        let ini = "[Profile0]\nName=default-release\nIsRelative=1\nPath=a.default-release\n[Profile1]\nName=unused\nIsRelative=1\nPath=b.unused\n";
        write(d.join("home/.mozilla/firefox/profiles.ini"), ini);
        write(
            d.join("home/.mozilla/firefox/a.default-release/cert9.db"),
            "",
        );
        fs::create_dir_all(d.join("home/.mozilla/firefox/b.unused"))
            .unwrap_or_else(|e| panic!("{e}"));
        let snap = d.join("home/snap/firefox/common/.mozilla/firefox");
        write(
            snap.join("profiles.ini"),
            &format!(
                "[Profile0]\nName=snapped\nIsRelative=0\nPath={}\n",
                snap.join("s.default").display()
            ),
        );
        write(snap.join("s.default/cert9.db"), "");
        let flat = d.join("home/.var/app/org.mozilla.firefox/.mozilla/firefox");
        write(
            flat.join("profiles.ini"),
            "[Profile0]\nName=flat\nIsRelative=1\nPath=f.default\n",
        );
        write(flat.join("f.default/cert9.db"), "");
        write(
            d.join("proc/sys/kernel/osrelease"),
            "5.15.90.1-microsoft-standard-WSL2\n",
        );

        let firefox = |profile: &str, db: PathBuf| Store::Nss {
            db,
            owner: NssOwner::Firefox {
                profile: profile.into(),
            },
        };
        assert_eq!(
            detect_stores(&l),
            [
                Store::System(SystemFlavor::Debian),
                Store::Nss {
                    db: d.join("home/.pki/nssdb"),
                    owner: NssOwner::Chromium
                },
                firefox(
                    "default-release",
                    d.join("home/.mozilla/firefox/a.default-release")
                ),
                firefox("snapped", snap.join("s.default")),
                firefox("flat", flat.join("f.default")),
                Store::WslWindows {
                    certutil_exe: WSL_CERTUTIL.into()
                },
            ]
        );
    }

    #[test]
    fn os_release_falls_back_to_usr_lib() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = tmp.path();
        fs::create_dir_all(d.join("etc")).unwrap_or_else(|e| panic!("{e}"));
        write(d.join("usr/lib/os-release"), "ID=fedora\n");
        assert_eq!(
            detect_stores(&layout(d, Os::Linux)),
            [Store::System(SystemFlavor::Fedora)]
        );
    }

    #[test]
    fn macos_and_windows_list_their_own_store() {
        let l = layout(Path::new("/Users/a"), Os::MacOs);
        assert_eq!(
            detect_stores(&l),
            [Store::MacLogin {
                keychain: "/Users/a/home/Library/Keychains/login.keychain-db".into()
            }]
        );
        assert_eq!(
            detect_stores(&layout(Path::new("/x"), Os::Windows)),
            [Store::WindowsUserRoot]
        );
    }
}
