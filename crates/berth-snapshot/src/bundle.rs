//! One file to hand a snapshot to a teammate: an uncompressed tar (the artifacts are zstd
//! already) of `manifest.json` and the snapshot's files. Importing trusts nothing in it: only
//! plain files with plain names, a bounded number of them, into a new folder.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::layout::{
    create_private_dir, create_private_file, is_plain_name, sync_dir, temp_name, TempPath,
};

const MANIFEST: &str = "manifest.json";
const MAX_MANIFEST: u64 = 1024 * 1024;
const MAX_ENTRIES: usize = 1000;
/// The name field of a tar header. Longer names need an extension entry, which import refuses
/// (its content would be read into memory before any check), so export refuses them too.
const MAX_NAME: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{}: not a bundle Berth can import: {reason}; nothing was imported", bundle.display())]
    Refused { bundle: PathBuf, reason: String },
    #[error("{} already exists; a bundle is only imported into a new folder", into.display())]
    Exists { into: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Fails when the reader ends before `left` bytes, so a file that shrank while being bundled
/// is an error instead of a tar whose sizes do not add up.
struct Exact<R> {
    inner: R,
    left: u64,
    name: String,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = (&mut self.inner).take(self.left).read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} became shorter while it was being bundled", self.name),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: impl Read,
    mtime: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    let data = Exact {
        inner: data,
        left: size,
        name: name.to_owned(),
    };
    builder.append_data(&mut header, name, data)
}

/// Writes `out`: `manifest` as `manifest.json`, then each of `files` from `dir`, in that order.
/// Written beside `out` under a temporary name and renamed once synced, so `out` is either the
/// whole bundle or absent. Returns its size in bytes.
pub fn export_bundle(dir: &Path, files: &[&str], manifest: &[u8], out: &Path) -> io::Result<u64> {
    let mut seen = HashSet::new();
    for name in files {
        if !is_plain_name(name) || *name == MANIFEST || name.len() > MAX_NAME {
            return Err(invalid(format!(
                "{name:?} cannot go in a bundle: it must be a plain file name of at most {MAX_NAME} bytes other than {MANIFEST}"
            )));
        }
        if !seen.insert(*name) {
            return Err(invalid(format!("{name:?} is listed twice for the bundle")));
        }
    }
    let out_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid(format!("{} does not name a file", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = TempPath::new(parent.join(temp_name(out_name)));
    let mut builder = tar::Builder::new(BufWriter::new(create_private_file(temp.path())?));
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    append(
        &mut builder,
        MANIFEST,
        manifest.len() as u64,
        manifest,
        mtime,
    )?;
    for name in files {
        let path = dir.join(name);
        let file = File::open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let size = file.metadata()?.len();
        append(&mut builder, name, size, BufReader::new(file), mtime)?;
    }
    let file = builder
        .into_inner()?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    drop(file);
    temp.rename_to(out)?;
    sync_dir(parent)?;
    Ok(size)
}

/// Reads the bundle at `bundle` into the new folder `into` (owner only, files 0600) and returns
/// its manifest, which is not written to the folder. The whole bundle is refused, and nothing is
/// left behind, when any entry is not a regular file with a plain name, when `manifest.json` is
/// not first or is over 1 MiB, or when there are over 1000 entries. The files are extracted to a
/// temporary folder renamed to `into` at the end, so `into` appears complete or not at all.
pub fn import_bundle(bundle: &Path, into: &Path) -> Result<Vec<u8>, BundleError> {
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| BundleError::Io { path, source }
    };
    let refuse = |reason: String| BundleError::Refused {
        bundle: bundle.to_owned(),
        reason,
    };
    if into.symlink_metadata().is_ok() {
        return Err(BundleError::Exists {
            into: into.to_owned(),
        });
    }
    let into_name = into.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        io_at(into)(invalid(format!(
            "{} does not name a folder",
            into.display()
        )))
    })?;
    let parent = match into.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let reader = BufReader::new(File::open(bundle).map_err(io_at(bundle))?);
    create_private_dir(parent).map_err(io_at(parent))?;
    let temp_dir = parent.join(temp_name(into_name));
    // Not recursive: an existing temporary folder is an error, never reused.
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&temp_dir).map_err(io_at(&temp_dir))?;
    let temp = TempPath::new(temp_dir);

    let mut archive = tar::Archive::new(reader);
    // Raw: GNU long names and PAX headers come as entries of their own, refused below, instead
    // of being read into memory whole by the tar reader before any check.
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("it cannot be read as a tar archive ({e})")))?
        .raw(true);
    let mut manifest = None;
    let mut names = HashSet::new();
    for (index, entry) in entries.enumerate() {
        if index >= MAX_ENTRIES {
            return Err(refuse(format!("it has more than {MAX_ENTRIES} entries")));
        }
        let mut entry =
            entry.map_err(|e| refuse(format!("it cannot be read as a tar archive ({e})")))?;
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw_name)
            .map_err(|_| refuse(format!("entry {} has a name that is not UTF-8", index + 1)))
            .and_then(|name| {
                if is_plain_name(&name) {
                    Ok(name)
                } else {
                    Err(refuse(format!(
                        "entry {name:?} is not a plain file name (a '/', '..' or leading dot could write outside the folder)"
                    )))
                }
            })?;
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            return Err(refuse(format!(
                "entry {name:?} is a {kind:?} entry, and only regular files are accepted (links and devices could reach outside the folder)"
            )));
        }
        if !names.insert(name.clone()) {
            return Err(refuse(format!("entry {name:?} appears twice")));
        }
        let size = entry.size();
        if index == 0 {
            if name != MANIFEST {
                return Err(refuse(format!(
                    "its first entry is {name:?}, not {MANIFEST}"
                )));
            }
            if size > MAX_MANIFEST {
                return Err(refuse(format!(
                    "its {MANIFEST} is {size} bytes, over the limit of {MAX_MANIFEST}"
                )));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| refuse(format!("its {MANIFEST} cannot be read ({e})")))?;
            manifest = Some(bytes);
            continue;
        }
        let path = temp.path().join(&name);
        let mut file = create_private_file(&path).map_err(io_at(&path))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(refuse(format!("entry {name:?} cannot be read ({e})"))),
            };
            file.write_all(buf.get(..n).unwrap_or(&buf))
                .map_err(io_at(&path))?;
        }
        file.sync_all().map_err(io_at(&path))?;
    }
    let manifest =
        manifest.ok_or_else(|| refuse(format!("it is empty; a bundle starts with {MANIFEST}")))?;
    sync_dir(temp.path()).map_err(io_at(temp.path()))?;
    // Checked again: a rename onto an empty folder would replace it.
    if into.symlink_metadata().is_ok() {
        return Err(BundleError::Exists {
            into: into.to_owned(),
        });
    }
    temp.rename_to(into).map_err(io_at(into))?;
    sync_dir(parent).map_err(io_at(parent))?;
    Ok(manifest)
}
