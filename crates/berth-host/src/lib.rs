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
