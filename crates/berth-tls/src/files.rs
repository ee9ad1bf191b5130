use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, TlsError};
use crate::Leaf;

pub(crate) const PRIVATE_MODE: u32 = 0o600;
pub(crate) const PUBLIC_MODE: u32 = 0o644;
const PUBLIC_DIR_MODE: u32 = 0o755;

/// Writes a leaf's certificate and key where the caller's web server reads them.
///
/// The key goes first: a server watching the certificate file reloads when it changes, and by
/// then the matching key is already in place.
pub fn write_pair(cert_path: &Path, key_path: &Path, leaf: &Leaf) -> Result<()> {
    for path in [key_path, cert_path] {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir(parent, PUBLIC_DIR_MODE)?;
        }
    }
    write_atomic(key_path, leaf.key_pem.as_bytes(), PRIVATE_MODE)?;
    write_atomic(cert_path, leaf.cert_pem.as_bytes(), PUBLIC_MODE)
}

pub(crate) fn create_dir(dir: &Path, mode: u32) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder.create(dir).map_err(|e| TlsError::io(dir, e))
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never half
/// of one, and a private file is never readable by others, not even for a moment: the
/// temporary file is created with its final mode, which a umask can only narrow.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let (tmp_path, mut file) = create_temp_beside(path, mode)?;
    let written = (|| -> io::Result<()> {
        // A umask such as 077 would leave a certificate unreadable to the tools meant to read
        // it; widening a public file is safe, while the private mode is never widened.
        if mode == PUBLIC_MODE {
            set_mode(&file, mode)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp_path);
        return Err(TlsError::io(path, e));
    }
    sync_dir(path);
    Ok(())
}

fn create_temp_beside(path: &Path, mode: u32) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last_error = None;
    // create_new refuses a name that exists, so a leftover or a planted file (perhaps a
    // symlink) is never written through; another name is tried instead.
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_path = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&tmp_path) {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(TlsError::io(&tmp_path, e)),
        }
    }
    Err(TlsError::io(
        path,
        last_error.unwrap_or_else(|| io::Error::other("no free temporary file name")),
    ))
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Makes the rename itself survive a crash. Best effort: the file is already complete, and
/// some file systems cannot sync a directory.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The permission bits of a file, for the checks that refuse files others can reach.
#[cfg(unix)]
pub(crate) fn mode_of(path: &Path) -> Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|e| TlsError::io(path, e))?;
    Ok(Some(meta.permissions().mode() & 0o7777))
}

#[cfg(not(unix))]
pub(crate) fn mode_of(_path: &Path) -> Result<Option<u32>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_file_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().expect("a temp dir for the test");
        let target = dir.path().join("x.pem");
        write_atomic(&target, b"one", PUBLIC_MODE).expect("first write");
        write_atomic(&target, b"two", PUBLIC_MODE).expect("second write replaces the first");
        assert_eq!(fs::read(&target).expect("read back"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list the dir")
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.pem")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_replaces_a_public_one_with_the_private_mode() {
        let dir = tempfile::tempdir().expect("a temp dir for the test");
        let target = dir.path().join("k.pem");
        write_atomic(&target, b"old", PUBLIC_MODE).expect("public write");
        write_atomic(&target, b"new", PRIVATE_MODE).expect("private write");
        assert_eq!(
            mode_of(&target).expect("mode"),
            Some(PRIVATE_MODE),
            "the new file's mode, not the old one's"
        );
    }
}
