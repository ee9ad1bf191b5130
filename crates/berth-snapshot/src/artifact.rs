//! Writing and reading one artifact: raw bytes in, zstd on disk, SHA-256 of what is on disk.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::layout::{
    check_plain_name, create_private_dir, create_private_file, sync_dir, temp_name, TempPath,
};

/// zstd's default level: fast enough to keep up with a database dump, and most of the gain.
const LEVEL: i32 = 3;
/// Two workers: the machines Berth runs on have at least two cores, and the dump being
/// compressed needs one of its own.
const WORKERS: u32 = 2;

/// A finished artifact, as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Artifact {
    /// The file's name in the snapshot folder.
    pub file: String,
    /// Size on disk (compressed).
    pub bytes: u64,
    /// Size before compression.
    pub raw_bytes: u64,
    /// Lowercase hex SHA-256 of the bytes on disk, so verifying needs no decompression.
    pub sha256: String,
}

/// Passes writes on to `inner`, hashing and counting exactly the bytes it accepted.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.hasher.update(written);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one artifact: the raw bytes written to it are compressed into a temporary file, which
/// [`ArtifactWriter::finish`] syncs and renames to its name. Dropped unfinished (an error, a
/// cancel), it removes the temporary file.
pub struct ArtifactWriter {
    // Declared before `temp` so the file is closed before the temporary is removed.
    encoder: zstd::Encoder<'static, Hashing<File>>,
    temp: TempPath,
    dir: PathBuf,
    file: String,
    raw_bytes: u64,
}

impl ArtifactWriter {
    /// Starts `dir/file`, creating `dir` (owner only) if missing. `file` must be a plain name.
    pub fn create(dir: &Path, file: &str) -> io::Result<Self> {
        check_plain_name(file)?;
        create_private_dir(dir)?;
        let temp_path = dir.join(temp_name(file));
        let handle = create_private_file(&temp_path)?;
        let temp = TempPath::new(temp_path);
        let mut encoder = zstd::Encoder::new(
            Hashing {
                inner: handle,
                hasher: Sha256::new(),
                bytes: 0,
            },
            LEVEL,
        )?;
        encoder.multithread(WORKERS)?;
        Ok(ArtifactWriter {
            encoder,
            temp,
            dir: dir.to_owned(),
            file: file.to_owned(),
            raw_bytes: 0,
        })
    }

    /// Raw bytes written so far, for progress.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Ends the zstd stream, syncs the file, and renames it to its name (durably: the folder is
    /// synced too). Only then does the artifact exist under its name.
    pub fn finish(self) -> io::Result<Artifact> {
        let ArtifactWriter {
            encoder,
            temp,
            dir,
            file,
            raw_bytes,
        } = self;
        let mut hashing = encoder.finish()?;
        hashing.flush()?;
        hashing.inner.sync_all()?;
        let Hashing {
            inner,
            hasher,
            bytes,
        } = hashing;
        drop(inner);
        temp.rename_to(&dir.join(&file))?;
        sync_dir(&dir)?;
        Ok(Artifact {
            file,
            bytes,
            raw_bytes,
            sha256: hex(&hasher.finalize()),
        })
    }
}

impl Write for ArtifactWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.encoder.write(buf)?;
        self.raw_bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

pub(crate) fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The raw bytes of the artifact at `path`. Verify it first ([`crate::verify_artifact`]): zstd's
/// own checks do not catch every change.
pub fn open_artifact(path: &Path) -> io::Result<impl Read> {
    // `Decoder::new` puts the file behind a `BufReader` of the input size zstd prefers.
    zstd::Decoder::new(File::open(path)?)
}
