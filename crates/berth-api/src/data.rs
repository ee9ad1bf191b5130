//! Berth's data folder, shared by the app and the CLI: `BERTH_DATA_DIR`, else the platform's
//! per-user data folder with the app's identifier (where Tauri puts the app's own data).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The app's identifier (tauri.conf.json), the folder name under the platform's data folder.
pub const APP_ID: &str = "dev.berth.desktop";

pub fn data_dir(env: &HashMap<String, String>) -> PathBuf {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = get("BERTH_DATA_DIR") {
        return d;
    }
    // Without a home (a bare service environment) the temp folder, never the current one.
    let Some(home) = get("HOME").or_else(|| get("USERPROFILE")) else {
        return std::env::temp_dir().join(APP_ID);
    };
    let base = if cfg!(target_os = "macos") {
        home.join("Library").join("Application Support")
    } else if cfg!(windows) {
        get("APPDATA").unwrap_or_else(|| home.join("AppData").join("Roaming"))
    } else {
        get("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local").join("share"))
    };
    base.join(APP_ID)
}

/// The folder of one stack's files in the data folder: its project name and a hash of its
/// folder, so two checkouts of one project keep their own.
pub(crate) fn stack_dir(data: &Path, project: &str, working_dir: &Path) -> PathBuf {
    let canonical = working_dir
        .canonicalize()
        .unwrap_or_else(|_| working_dir.to_path_buf());
    data.join("stacks").join(format!(
        "{project}-{:016x}",
        fnv1a(canonical.to_string_lossy().as_bytes())
    ))
}

/// FNV-1a: a hash that stays the same across Rust releases (std's does not promise that), so
/// a stack finds its folder again after an upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `text` to `path` through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    // A fresh file of this process, never one that was there (a planted link would redirect it).
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates `dir` (and its parents) readable by this user only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Whether `path` belongs to this user and nobody else can write to it: Berth passes a stack's
/// override to compose (which can mount anything), so one that another user could have put
/// there is ignored.
pub(crate) fn private_to_me(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .is_ok_and(|m| m.uid() == rustix::process::getuid().as_raw() && m.mode() & 0o022 == 0)
    }
    #[cfg(not(unix))]
    {
        path.exists()
    }
}

/// Whether this process runs as root: the system trust store is changed directly then, never
/// through pkexec or sudo.
pub(crate) fn is_root() -> bool {
    #[cfg(unix)]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_folder_is_the_override_or_the_platforms() {
        let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            data_dir(&env(&[("BERTH_DATA_DIR", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x")
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                data_dir(&env(&[("HOME", "/h")])),
                PathBuf::from("/h/.local/share/dev.berth.desktop")
            );
            assert_eq!(
                data_dir(&env(&[("HOME", "/h"), ("XDG_DATA_HOME", "/d")])),
                PathBuf::from("/d/dev.berth.desktop")
            );
        }
        assert_eq!(
            fnv1a(b"a"),
            0xaf63_dc4c_8601_ec8c,
            "FNV-1a's published value for \"a\""
        );
    }
}
