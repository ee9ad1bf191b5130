//! Listening sockets and who owns them.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

/// A socket that holds a local port: a TCP one listening, or a bound UDP one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub protocol: Protocol,
    pub addr: IpAddr,
    pub port: u16,
    /// The socket's owner as the kernel lists it: visible even when the process is not.
    pub uid: u32,
    /// The socket's inode, which ties it to a process's file descriptor.
    pub inode: u64,
    /// An IPv6 socket with IPV6_V6ONLY: `::` then leaves every IPv4 address free. Only
    /// sock_diag says so; the /proc tables do not, and there `false` (dual-stack) is the
    /// careful reading.
    pub v6only: bool,
}

/// The process behind a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The short name (`comm`): "postgres", "docker-proxy".
    pub name: String,
    /// The command line, arguments joined by spaces (quoted when they hold one).
    pub command: String,
    pub user: String,
    /// The systemd unit the process runs in ("postgresql.service"), when it is one.
    pub unit: Option<String>,
    /// True for a unit of a user's own systemd (`systemctl --user`).
    pub user_unit: bool,
}

impl ProcessInfo {
    /// What a port forwarder of a container engine is ("Podman's port forwarder"): such a
    /// process holds ports for containers, and stopping it is not the fix.
    pub fn forwarder(&self) -> Option<&'static str> {
        Some(match self.name.as_str() {
            "docker-proxy" => "Docker's port proxy",
            "com.docker.backend" | "com.docker.backe" | "vpnkit" | "vpnkit-bridge" => {
                "Docker Desktop's port forwarder"
            }
            "gvproxy" | "rootlessport" | "rootlessport-ch" | "slirp4netns" => {
                "Podman's port forwarder"
            }
            "rootlesskit" | "rootlesskit-dock" => "rootless Docker's port forwarder",
            _ => return None,
        })
    }

    /// The command a person runs to stop it: the unit's when there is one (a killed service
    /// would come back), else a kill of the PID.
    pub fn stop_command(&self) -> Vec<String> {
        let mut v: Vec<String> = match (&self.unit, self.user_unit) {
            (Some(u), true) => vec![
                "systemctl".into(),
                "--user".into(),
                "stop".into(),
                u.clone(),
            ],
            (Some(u), false) => vec!["sudo".into(), "systemctl".into(), "stop".into(), u.clone()],
            (None, _) => vec!["kill".into(), self.pid.to_string()],
        };
        if self.unit.is_none() && self.user == "root" {
            v.insert(0, "sudo".into());
        }
        v
    }
}

/// Who holds a socket, as far as this user can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Process(ProcessInfo),
    /// The process cannot be seen (another user's, without root): only its user is known.
    Hidden {
        uid: u32,
        user: String,
    },
}

/// The host's listening sockets and their owners, behind a trait so the logic above can be
/// tested with made-up tables.
pub trait HostFacts {
    fn listeners(&self) -> io::Result<Vec<Listener>>;

    /// The owner of each listener in `of`, by inode. Every listener gets an answer.
    fn owners(&self, of: &[Listener]) -> HashMap<u64, Owner>;
}
