//! Linux: listening sockets from the kernel's sock_diag netlink interface (what `ss` uses). The
//! kernel filters by state, so only the listening table is walked; reading /proc/net/tcp walks
//! every connection bucket on each read call instead (about 2 ms a read on this machine).

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    nlas::Nla, ExtensionFlags, InetRequest, SocketId, StateFlags,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};
use std::io;

use crate::listeners::{Listener, Protocol};

/// Every TCP socket in LISTEN and every bound, unconnected UDP socket, IPv4 and IPv6.
pub(crate) fn listeners() -> io::Result<Vec<Listener>> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut out = Vec::new();
    for (family, protocol, states) in [
        (AF_INET, Protocol::Tcp, StateFlags::LISTEN),
        (AF_INET6, Protocol::Tcp, StateFlags::LISTEN),
        (AF_INET, Protocol::Udp, StateFlags::CLOSE),
        (AF_INET6, Protocol::Udp, StateFlags::CLOSE),
    ] {
        dump(&mut socket, family, protocol, states, &mut out)?;
    }
    Ok(out)
}

fn dump(
    socket: &mut Socket,
    family: u8,
    protocol: Protocol,
    states: StateFlags,
    out: &mut Vec<Listener>,
) -> io::Result<()> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut packet = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: match protocol {
                Protocol::Tcp => IPPROTO_TCP,
                Protocol::Udp => IPPROTO_UDP,
            },
            extensions: ExtensionFlags::empty(),
            states,
            socket_id: if family == AF_INET6 {
                SocketId::new_v6()
            } else {
                SocketId::new_v4()
            },
        })
        .into(),
    );
    packet.finalize();
    let mut request = vec![0; packet.buffer_len()];
    packet.serialize(&mut request[..]);
    socket.send(&request[..], 0)?;

    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let size = socket.recv(&mut &mut buf[..], 0)?;
        let mut offset = 0;
        while offset < size {
            let message = <NetlinkMessage<SockDiagMessage>>::deserialize(&buf[offset..size])
                .map_err(|e| bad(format!("sock_diag answer: {e}")))?;
            let length = message.header.length as usize;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(e) => return Err(bad(format!("sock_diag refused: {e:?}"))),
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                    let id = &r.header.socket_id;
                    // The kernel adds this attribute to every IPv6 socket it lists.
                    let v6only = r.nlas.iter().any(|n| matches!(n, Nla::SkV6Only(true)));
                    out.push(Listener {
                        protocol,
                        addr: id.source_address,
                        port: id.source_port,
                        uid: r.header.uid,
                        inode: u64::from(r.header.inode),
                        v6only,
                    });
                }
                _ => {}
            }
            if length == 0 {
                break;
            }
            offset += length;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HostFacts, ProcFs};
    use std::net::{Ipv6Addr, TcpListener, UdpSocket};

    #[test]
    fn sock_diag_and_the_proc_tables_agree_on_real_sockets() {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
        let tcp6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).ok();
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut wanted = vec![
            (Protocol::Tcp, tcp.local_addr().expect("addr")),
            (Protocol::Udp, udp.local_addr().expect("addr")),
        ];
        wanted.extend(
            tcp6.as_ref()
                .map(|l| (Protocol::Tcp, l.local_addr().expect("addr"))),
        );
        let diag = listeners().expect("sock_diag answers");
        let tables = ProcFs::at("/proc", "/etc/passwd")
            .listeners()
            .expect("/proc/net");
        for (proto, at) in wanted {
            let find = |list: &[Listener]| {
                list.iter()
                    .find(|l| l.protocol == proto && l.port == at.port() && l.addr == at.ip())
                    .map(|l| l.inode)
            };
            let (a, b) = (find(&diag), find(&tables));
            assert!(a.is_some(), "sock_diag lists {proto:?} {at}");
            assert_eq!(a, b, "both name the same socket for {proto:?} {at}");
        }
    }
}
