//! Path arithmetic the loader and the merger share: making compose paths absolute without
//! touching the disk, and showing a path relative to the project. Depends on nothing else in
//! the crate.

use std::path::{Component, Path, PathBuf};

/// Makes `p` absolute against `base` and removes `.` and `..` without touching the disk.
pub(crate) fn absolutize(base: &Path, p: &str, home: Option<&str>) -> PathBuf {
    let expanded: PathBuf = if let (Some(rest), Some(home)) = (p.strip_prefix('~'), home) {
        PathBuf::from(format!("{home}{rest}"))
    } else {
        PathBuf::from(p)
    };
    let joined = if expanded.is_absolute() || is_windows_absolute(p) {
        expanded
    } else {
        base.join(expanded)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn is_windows_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// `p` as errors and the graph show it: relative to `working_dir` when it lies inside it.
pub(crate) fn display_path(working_dir: &Path, p: &Path) -> String {
    match p.strip_prefix(working_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => p.to_string_lossy().into_owned(),
    }
}

/// The most a compose or env file may hold: far above any real one, far below what would hurt.
pub(crate) const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads a compose or env file as text, only if it is a regular file (after symlinks) of at
/// most [`MAX_FILE_BYTES`]: `COMPOSE_FILE=/dev/zero` or a FIFO as `env_file` is an error, not a
/// hang or an endless read.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
        ));
    }
    let mut text = String::new();
    // Bounded again while reading: the file may grow between the check and the read.
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod read_tests {
    use super::read_text;

    #[test]
    fn only_regular_files_of_a_sane_size_are_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let ok = dir.path().join("compose.yaml");
        std::fs::write(&ok, "services: {}\n").expect("write");
        assert_eq!(read_text(&ok).expect("a regular file"), "services: {}\n");
        let e = read_text(std::path::Path::new("/dev/zero")).expect_err("a device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_text(dir.path()).expect_err("a folder");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let e = read_text(&fifo).expect_err("a FIFO is refused without blocking");
                assert!(e.to_string().contains("not a regular file"), "{e}");
            }
        }
        let big = dir.path().join("big.env");
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(super::MAX_FILE_BYTES + 1).expect("sparse file");
        let e = read_text(&big).expect_err("too big");
        assert!(e.to_string().contains("larger than 16 MiB"), "{e}");
    }
}
