//! Linux: the kernel's socket tables (`/proc/net/{tcp,tcp6,udp,udp6}`), each process's file
//! descriptors, its command line and its cgroup (which names the systemd unit). The root is
//! injected so tests read tables they wrote.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::listeners::{HostFacts, Listener, Owner, ProcessInfo, Protocol};

/// TCP state LISTEN in the kernel's tables.
const TCP_LISTEN: &str = "0A";
/// A bound, unconnected UDP socket (TCP_CLOSE): what "listening" means for UDP.
const UDP_UNCONNECTED: &str = "07";

pub struct ProcFs {
    proc: PathBuf,
    passwd: PathBuf,
    /// The running system's own tables: listeners come from sock_diag, /proc/net is the fallback.
    live: bool,
}

impl Default for ProcFs {
    fn default() -> Self {
        ProcFs {
            live: true,
            ..ProcFs::at("/proc", "/etc/passwd")
        }
    }
}

impl ProcFs {
    /// Tables under `proc` (a copy a test wrote), read as files.
    pub fn at(proc: impl Into<PathBuf>, passwd: impl Into<PathBuf>) -> Self {
        ProcFs {
            proc: proc.into(),
            passwd: passwd.into(),
            live: false,
        }
    }

    fn users(&self) -> HashMap<u32, String> {
        fs::read_to_string(&self.passwd)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let uid = f.nth(1)?.parse().ok()?;
                Some((uid, name.to_owned()))
            })
            .collect()
    }

    fn process(&self, pid: u32, users: &HashMap<u32, String>) -> Option<ProcessInfo> {
        let dir = self.proc.join(pid.to_string());
        let name = fs::read_to_string(dir.join("comm"))
            .ok()?
            .trim_end()
            .to_owned();
        let command = fs::read(dir.join("cmdline"))
            .map(|b| command_line(&b))
            .unwrap_or_default();
        let uid = fs::read_to_string(dir.join("status")).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().next()?.parse::<u32>().ok())
        });
        let user = uid.map(|u| user_name(u, users)).unwrap_or_default();
        let (unit, user_unit) = fs::read_to_string(dir.join("cgroup"))
            .ok()
            .and_then(|c| systemd_unit(&c))
            .map_or((None, false), |(u, user)| (Some(u), user));
        Some(ProcessInfo {
            pid,
            name,
            command: if command.is_empty() {
                String::new()
            } else {
                command
            },
            user,
            unit,
            user_unit,
        })
    }
}

fn user_name(uid: u32, users: &HashMap<u32, String>) -> String {
    users
        .get(&uid)
        .cloned()
        .unwrap_or_else(|| format!("uid {uid}"))
}

impl HostFacts for ProcFs {
    fn listeners(&self) -> io::Result<Vec<Listener>> {
        #[cfg(target_os = "linux")]
        if self.live {
            if let Ok(l) = crate::sockdiag::listeners() {
                return Ok(l);
            }
        }
        let net = self.proc.join("net");
        if !net.join("tcp").exists() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} is not there: listing listeners needs Linux's /proc",
                    net.display()
                ),
            ));
        }
        let mut out = Vec::new();
        for (file, protocol, state) in [
            ("tcp", Protocol::Tcp, TCP_LISTEN),
            ("tcp6", Protocol::Tcp, TCP_LISTEN),
            ("udp", Protocol::Udp, UDP_UNCONNECTED),
            ("udp6", Protocol::Udp, UDP_UNCONNECTED),
        ] {
            // tcp6 and udp6 are missing on a kernel without IPv6: nothing listens there.
            let Ok(text) = fs::read_to_string(net.join(file)) else {
                continue;
            };
            out.extend(parse_table(&text, protocol, state));
        }
        Ok(out)
    }

    fn owners(&self, of: &[Listener]) -> HashMap<u64, Owner> {
        let wanted: HashSet<u64> = of.iter().map(|l| l.inode).collect();
        let users = self.users();
        let mut found: HashMap<u64, Owner> = HashMap::new();
        if !wanted.is_empty() {
            for pid in pids(&self.proc) {
                let Ok(fds) = fs::read_dir(self.proc.join(pid.to_string()).join("fd")) else {
                    continue; // another user's process: its descriptors are closed to us
                };
                for fd in fds.flatten() {
                    let Some(inode) = fs::read_link(fd.path()).ok().and_then(|t| socket_inode(&t))
                    else {
                        continue;
                    };
                    if wanted.contains(&inode) && !found.contains_key(&inode) {
                        if let Some(p) = self.process(pid, &users) {
                            found.insert(inode, Owner::Process(p));
                        }
                    }
                }
                if found.len() == wanted.len() {
                    break;
                }
            }
        }
        for l in of {
            found.entry(l.inode).or_insert_with(|| Owner::Hidden {
                uid: l.uid,
                user: user_name(l.uid, &users),
            });
        }
        found
    }
}

fn pids(proc: &Path) -> Vec<u32> {
    let mut v: Vec<u32> = fs::read_dir(proc)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

fn socket_inode(target: &Path) -> Option<u64> {
    target
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// One of the kernel's socket tables: `sl local rem st queues tr retr uid timeout inode ...`.
pub(crate) fn parse_table(text: &str, protocol: Protocol, state: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != state {
                return None;
            }
            let (addr, port) = f[1].split_once(':')?;
            Some(Listener {
                protocol,
                addr: parse_addr(addr)?,
                port: u16::from_str_radix(port, 16).ok()?,
                uid: f[7].parse().ok()?,
                inode: f[9].parse().ok()?,
                v6only: false,
            })
        })
        .collect()
}

/// The kernel prints an address as 32-bit words in the machine's own byte order.
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

fn command_line(raw: &[u8]) -> String {
    raw.split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| {
            let s = String::from_utf8_lossy(a);
            if s.contains(char::is_whitespace) {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The systemd unit of a cgroup file ("0::/system.slice/postgresql.service"), and whether it is
/// a unit of a user's own systemd. A container's scope or a login session is no unit to stop.
pub(crate) fn systemd_unit(cgroup: &str) -> Option<(String, bool)> {
    let path = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .or_else(|| {
            cgroup
                .lines()
                .find(|l| l.contains("name=systemd"))
                .and_then(|l| l.splitn(3, ':').nth(2))
        })?;
    let parts: Vec<&str> = path.split('/').collect();
    let unit = parts.iter().rev().find(|p| p.ends_with(".service"))?;
    if unit.starts_with("user@") {
        return None; // the user's systemd itself: the process runs in a session, not a unit
    }
    let user = parts
        .iter()
        .any(|p| p.starts_with("user@") && p.ends_with(".service"));
    Some(((*unit).to_owned(), user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_tables_read_as_addresses_and_ports() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 23456 1 0 100 0 0 10 0\n\
           1: 0100007F:9C40 0100007F:1538 01 00000000:00000000 00:00000000 00000000  1000        0 23999 1\n";
        let l = parse_table(tcp, Protocol::Tcp, TCP_LISTEN);
        assert_eq!(l.len(), 1, "only the LISTEN row: {l:?}");
        if cfg!(target_endian = "little") {
            assert_eq!(l[0].addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        assert_eq!((l[0].port, l[0].uid, l[0].inode), (5432, 108, 23456));
        let tcp6 = "  sl  local_address                         remote_address                        st\n\
           0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1\n";
        let l = parse_table(tcp6, Protocol::Tcp, TCP_LISTEN);
        if cfg!(target_endian = "little") {
            assert_eq!(l[0].addr, IpAddr::V6(Ipv6Addr::LOCALHOST), "::1");
        }
        assert_eq!(l[0].port, 8080);
    }

    #[test]
    fn a_cgroup_names_the_unit_to_stop() {
        assert_eq!(
            systemd_unit("0::/system.slice/postgresql.service\n"),
            Some(("postgresql.service".into(), false))
        );
        assert_eq!(
            systemd_unit(
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/redis.service\n"
            ),
            Some(("redis.service".into(), true))
        );
        assert_eq!(
            systemd_unit("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
        assert_eq!(systemd_unit("0::/system.slice/docker-abc.scope\n"), None);
        assert_eq!(
            systemd_unit("12:pids:/\n1:name=systemd:/system.slice/nginx.service\n"),
            Some(("nginx.service".into(), false)),
            "cgroup v1 names the unit on its name=systemd line"
        );
    }

    #[test]
    fn command_lines_keep_their_arguments_apart() {
        assert_eq!(
            command_line(b"python3\0-m\0http.server\0--bind\0::1\0"),
            "python3 -m http.server --bind ::1"
        );
        assert_eq!(command_line(b"sh\0-c\0echo hi\0"), "sh -c 'echo hi'");
    }
}
