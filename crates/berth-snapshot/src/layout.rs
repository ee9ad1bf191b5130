//! Where snapshot files live: one folder per snapshot id under a root, artifacts as plain names
//! in it, and temporary files named `.{name}.tmp-{pid}` beside what they become.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A name that stays inside its folder: no separator, no `..`, and no leading dot (which is
/// kept for Berth's temporary files, so a real file can never be mistaken for one).
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.contains("..")
}

pub(crate) fn check_plain_name(name: &str) -> io::Result<()> {
    if is_plain_name(name) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{name:?} is not a plain file name (it must not be empty, start with a dot, or contain '/', '\\' or '..')"
            ),
        ))
    }
}

/// What a temporary file or folder of this process for `name` is called.
pub(crate) fn temp_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Creates `dir` and any missing parents readable by the owner only: snapshots hold database
/// contents.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A new file only the owner can read; fails if it exists, so two writers never share one.
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename or a new entry in `dir` durable: without it a power cut can lose the rename
/// even though the file's own bytes were synced.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A temporary file or folder that is removed when dropped, unless it was kept: an error or a
/// panic midway leaves nothing behind (a crash does, and [`clean_leftovers`] removes that).
#[derive(Debug)]
pub(crate) struct TempPath {
    path: PathBuf,
    kept: bool,
}

impl TempPath {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempPath { path, kept: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it to `to` and stops removing it.
    pub(crate) fn rename_to(mut self, to: &Path) -> io::Result<()> {
        fs::rename(&self.path, to)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // Best effort: a drop cannot report, and what stays is removed by clean_leftovers.
        let _ = if self.path.is_dir() {
            fs::remove_dir_all(&self.path)
        } else {
            fs::remove_file(&self.path)
        };
    }
}

/// Tidies the snapshots folder `root` (one folder per snapshot id) after a crash: removes every
/// temporary file in every snapshot folder, and every snapshot folder whose name `keep` refuses
/// (one the catalog does not list as complete, say). Anything in `root` that is not a folder is
/// left alone. Returns what was removed; a missing `root` has nothing to clean.
pub fn clean_leftovers(root: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        // The entry's own type: a symlink to a folder elsewhere is never followed into.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // A snapshot being written right now (by this process or another: the app and the
        // CLI share the folder) is never touched.
        if is_held(&path) {
            continue;
        }
        if !keep(&name) {
            fs::remove_dir_all(&path)?;
            removed.push(path);
            continue;
        }
        for inner in fs::read_dir(&path)? {
            let inner = inner?;
            if inner.file_type()?.is_file() && is_temp_name(&inner.file_name().to_string_lossy()) {
                fs::remove_file(inner.path())?;
                removed.push(inner.path());
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// The lock a snapshot's writer holds on its folder while it writes: an advisory file lock,
/// released by the kernel when the process ends however it ends (SIGKILL included), so a
/// crashed writer's folder is free to clean and a live one's is not.
pub struct WriterLock {
    _file: fs::File,
}

const LOCK_NAME: &str = ".writing";

impl WriterLock {
    /// Creates `dir` (0700) and locks it for this writer.
    pub fn hold(dir: &Path) -> io::Result<WriterLock> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
        let mut open = fs::OpenOptions::new();
        open.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let file = open.open(dir.join(LOCK_NAME))?;
        file.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is being written by another Berth", dir.display()),
            ),
            fs::TryLockError::Error(e) => e,
        })?;
        Ok(WriterLock { _file: file })
    }
}

/// Whether a live writer holds `dir`.
pub fn is_held(dir: &Path) -> bool {
    let Ok(file) = fs::OpenOptions::new().write(true).open(dir.join(LOCK_NAME)) else {
        return false;
    };
    matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
}

/// Removes the folder of snapshot `id` under `root` and everything in it. `id` must be letters,
/// digits and dashes, so it can never name a folder outside `root`. A folder already gone is
/// not an error: what was asked for is true.
pub fn remove_snapshot_dir(root: &Path, id: &str) -> io::Result<()> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{id:?} is not a snapshot id (only letters, digits and '-')"),
        ));
    }
    match fs::remove_dir_all(root.join(id)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
