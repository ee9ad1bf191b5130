//! Snapshot files on a real file system, one temp folder per test.

mod artifact;
mod bundle;
mod crash;
mod layout;

use std::io::Write;
use std::path::Path;

use berth_snapshot::{Artifact, ArtifactWriter};

/// Deterministic bytes that look like a dump (text rows with varying numbers): compressible,
/// but not trivially.
pub fn dump_like(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut row = 0u64;
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        row += 1;
        out.extend_from_slice(
            format!(
                "INSERT INTO orders VALUES ({row}, 'customer-{}', {}.{:02});\n",
                seed % 5000,
                seed % 100_000,
                seed % 100
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

pub fn write_artifact(dir: &Path, file: &str, data: &[u8]) -> Artifact {
    let mut writer = ArtifactWriter::create(dir, file).expect("create");
    // In uneven pieces, as a dump arrives from a pipe.
    for chunk in data.chunks(65_521) {
        writer.write_all(chunk).expect("write");
    }
    writer.finish().expect("finish")
}

/// Names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}
