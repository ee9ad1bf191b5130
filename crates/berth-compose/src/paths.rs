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
