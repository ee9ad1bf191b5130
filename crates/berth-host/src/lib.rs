//! Facts about the host Berth runs on: which sockets listen, which process (and which systemd
//! unit) owns each, and whether an address can still be bound. Read from the system's own
//! tables (`/proc` on Linux); no tool is spawned for it. Trusting Berth's local CA in the
//! machine's certificate stores does run the stores' own tools, all through [`spawn`].

pub mod listeners;
pub mod probe;
mod procfs;
#[cfg(target_os = "linux")]
mod sockdiag;
pub mod spawn;
pub mod trust;
pub mod windows;

pub use listeners::{HostFacts, Listener, Owner, ProcessInfo, Protocol};
pub use probe::{bind_probe, Probe};
pub use procfs::ProcFs;

/// The first port an unprivileged process may bind (Linux's
/// `net.ipv4.ip_unprivileged_port_start`, 1024 unless changed); 1024 elsewhere. A rootless
/// container engine is such a process.
pub fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1024)
}

/// Bytes free for an unprivileged writer on the file system holding `path`, `None` where it
/// cannot be read.
pub fn free_space(path: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(path).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
