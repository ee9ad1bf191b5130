//! nginx configuration files a service bind-mounts from inside the project, read while loading
//! (so the graph stays pure) and kept in the project with their paths (so a session can watch
//! them).

use std::path::Path;

use crate::model::{ConfFile, MountKind, Service};
use crate::paths::display_path;

const MAX_CONF_FILES: usize = 64;
const MAX_CONF_BYTES: u64 = 1 << 20;

fn is_conf_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    n.ends_with(".conf")
        || n.ends_with(".conf.template")
        || n == "nginx.conf"
        || n.ends_with(".nginx")
}

/// nginx configuration files the service bind-mounts from inside the project, read from the host
/// side of the mount.
pub(super) fn nginx_configs(
    working_dir: &Path,
    svc: &Service,
    warnings: &mut Vec<String>,
) -> Vec<ConfFile> {
    let mut out = Vec::new();
    for m in &svc.volumes {
        if m.kind != MountKind::Bind {
            continue;
        }
        let Some(src) = m.source.as_deref() else {
            continue;
        };
        let src = Path::new(src);
        if !src.starts_with(working_dir) {
            continue;
        }
        let nginx_target = [
            "/etc/nginx",
            "/usr/local/openresty",
            "/etc/openresty",
            "/usr/local/nginx",
        ]
        .iter()
        .any(|t| m.target.starts_with(t));
        let mut candidates = Vec::new();
        if src.is_file() {
            if nginx_target || is_conf_name(src) {
                candidates.push(src.to_path_buf());
            }
        } else if src.is_dir() && nginx_target {
            collect_confs(src, 2, &mut candidates);
        }
        // Only files really inside the project: a symlink in it that points elsewhere
        // (`/etc/shadow`, a home folder) is not followed out.
        let project = working_dir.canonicalize().ok();
        for path in candidates {
            if out.len() >= MAX_CONF_FILES {
                break;
            }
            let inside = match (&project, path.canonicalize()) {
                (Some(w), Ok(real)) => real.starts_with(w),
                _ => false,
            };
            let readable = std::fs::metadata(&path)
                .map(|md| md.is_file() && md.len() <= MAX_CONF_BYTES)
                .unwrap_or(false);
            if !inside || !readable {
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => out.push(ConfFile { path, text }),
                Err(e) => warnings.push(format!(
                    "cannot read {} mounted by {}: {e}",
                    display_path(working_dir, &path),
                    svc.name
                )),
            }
        }
    }
    out
}

fn collect_confs(dir: &Path, depth: u32, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_file() && is_conf_name(&p) {
            out.push(p);
        } else if p.is_dir() && depth > 0 {
            collect_confs(&p, depth - 1, out);
        }
    }
}
