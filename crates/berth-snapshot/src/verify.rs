//! Checking an artifact against what the catalog recorded, before it is restored or bundled.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::artifact::hex;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}: the snapshot file is missing; it was moved or deleted since the snapshot", path.display())]
    Missing { path: PathBuf },
    #[error("{}: size mismatch: expected {expected} bytes, found {actual}; the file was truncated or changed since the snapshot", path.display())]
    Size {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{}: checksum mismatch: expected sha256 {expected}, found {actual}; the file was changed or damaged since the snapshot", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{}: cannot be read to verify it: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Checks that `path` is `bytes` long and its SHA-256 is `sha256` (hex, either case). The size
/// is checked first: a truncated file is told as such, without reading it.
pub fn verify_artifact(path: &Path, bytes: u64, sha256: &str) -> Result<(), VerifyError> {
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            VerifyError::Missing {
                path: path.to_owned(),
            }
        } else {
            VerifyError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut file = File::open(path).map_err(io_error)?;
    let actual = file.metadata().map_err(io_error)?.len();
    if actual != bytes {
        return Err(VerifyError::Size {
            path: path.to_owned(),
            expected: bytes,
            actual,
        });
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        hasher.update(buf.get(..n).unwrap_or(&buf));
    }
    let actual = hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(VerifyError::Checksum {
            path: path.to_owned(),
            expected: sha256.to_owned(),
            actual,
        });
    }
    Ok(())
}
