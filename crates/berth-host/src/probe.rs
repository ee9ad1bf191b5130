//! The final word on whether an address and port are free: bind it, and let go at once.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};

use crate::Protocol;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Free,
    InUse,
    /// Privileged port for this user, or a policy in the way: says nothing about who holds it
    /// (the engine binds as root).
    Denied,
    /// The address is not on this machine (an IPv6 address without IPv6, a stale host_ip).
    Unavailable(String),
}

pub fn bind_probe(protocol: Protocol, addr: IpAddr, port: u16) -> Probe {
    let at = SocketAddr::new(addr, port);
    let result = match protocol {
        Protocol::Tcp => TcpListener::bind(at).map(drop),
        Protocol::Udp => UdpSocket::bind(at).map(drop),
    };
    match result {
        Ok(()) => Probe::Free,
        Err(e) if e.kind() == ErrorKind::AddrInUse => Probe::InUse,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Probe::Denied,
        Err(e) => Probe::Unavailable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_bound_port_probes_in_use_and_a_released_one_free() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert_eq!(
            bind_probe(Protocol::Tcp, Ipv4Addr::LOCALHOST.into(), port),
            Probe::InUse
        );
        assert_eq!(
            bind_probe(Protocol::Tcp, Ipv4Addr::UNSPECIFIED.into(), port),
            Probe::InUse,
            "0.0.0.0 collides with 127.0.0.1"
        );
        drop(l);
        assert_eq!(
            bind_probe(Protocol::Tcp, Ipv4Addr::LOCALHOST.into(), port),
            Probe::Free
        );
    }
}
