//! Port planning: which host ports a stack will publish, on which addresses, how two bindings
//! collide as the kernel decides it, and the override that moves one. Pure: the host's
//! listeners and the engine's containers are facts the caller brings.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{PortMapping, Project};

/// Where a socket is bound, as far as collisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No address given: Docker binds 0.0.0.0 and ::.
    Everywhere,
    /// 0.0.0.0: every IPv4 address.
    AnyV4,
    /// ::, which on Linux (bindv6only=0) also takes every IPv4 address.
    AnyV6,
    /// :: on a socket with IPV6_V6ONLY set: every IPv6 address and no IPv4 one. Only a listener
    /// can be this (compose's `::` is dual-stack); sock_diag says which a socket is.
    OnlyV6,
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Scope {
    /// Reads a compose `host_ip` or a listener address ("127.0.0.1", "::1", "[::1]",
    /// "::ffff:127.0.0.1"); `None` for text that is not an address.
    pub fn parse(text: Option<&str>) -> Option<Scope> {
        let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Some(Scope::Everywhere);
        };
        let t = t
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(t);
        t.parse::<IpAddr>().ok().map(Scope::of)
    }

    pub fn of(ip: IpAddr) -> Scope {
        match ip {
            IpAddr::V4(a) if a.is_unspecified() => Scope::AnyV4,
            IpAddr::V4(a) => Scope::V4(a),
            IpAddr::V6(a) if a.is_unspecified() => Scope::AnyV6,
            // A v4-mapped address is the IPv4 address to the kernel.
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Scope::of(IpAddr::V4(v4)),
                None => Scope::V6(a),
            },
        }
    }

    /// A listening socket's scope: `::` with IPV6_V6ONLY leaves IPv4 free.
    pub fn of_listener(ip: IpAddr, v6only: bool) -> Scope {
        match Scope::of(ip) {
            Scope::AnyV6 if v6only => Scope::OnlyV6,
            s => s,
        }
    }

    /// Whether binding both on one port and protocol collides.
    pub fn overlaps(self, other: Scope) -> bool {
        use Scope::*;
        match (self, other) {
            (Everywhere, _) | (_, Everywhere) | (AnyV6, _) | (_, AnyV6) => true,
            (OnlyV6, OnlyV6) | (OnlyV6, V6(_)) | (V6(_), OnlyV6) => true,
            (OnlyV6, AnyV4 | V4(_)) | (AnyV4 | V4(_), OnlyV6) => false,
            (AnyV4, AnyV4) | (AnyV4, V4(_)) | (V4(_), AnyV4) => true,
            (AnyV4, V6(_)) | (V6(_), AnyV4) => false,
            (V4(a), V4(b)) => a == b,
            (V6(a), V6(b)) => a == b,
            (V4(_), V6(_)) | (V6(_), V4(_)) => false,
        }
    }

    /// The address a bind probe uses for this scope (`None` for "every address": probe both).
    pub fn probe_addrs(self) -> Vec<IpAddr> {
        match self {
            Scope::Everywhere => vec![Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into()],
            Scope::AnyV4 => vec![Ipv4Addr::UNSPECIFIED.into()],
            Scope::AnyV6 | Scope::OnlyV6 => vec![Ipv6Addr::UNSPECIFIED.into()],
            Scope::V4(a) => vec![a.into()],
            Scope::V6(a) => vec![a.into()],
        }
    }
}

/// One host port the stack will publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPort {
    pub service: String,
    /// As written (`None`: every address).
    pub host_ip: Option<String>,
    pub scope: Scope,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

impl PlannedPort {
    /// Whether `self` and a binding of `port`/`protocol` on `scope` collide.
    pub fn collides(&self, scope: Scope, port: u16, protocol: &str) -> bool {
        self.host_port == port
            && self.protocol.eq_ignore_ascii_case(protocol)
            && self.scope.overlaps(scope)
    }
}

/// Every fixed host port the active services publish, in file order. Ephemeral ports and
/// ranges Docker picks one port from are left out: nothing can be in their way. A `host_ip`
/// that is not an address is left out too (compose itself refuses it at `up`).
pub fn planned_ports(project: &Project) -> Vec<PlannedPort> {
    let mut out = Vec::new();
    for (name, svc) in &project.services {
        for p in &svc.ports {
            let (Some(host_port), Some(scope)) = (p.host_port, Scope::parse(p.host_ip.as_deref()))
            else {
                continue;
            };
            out.push(PlannedPort {
                service: name.clone(),
                host_ip: p.host_ip.clone(),
                scope,
                host_port,
                container_port: p.container_port,
                protocol: p.protocol.to_ascii_lowercase(),
            });
        }
    }
    out
}

/// For each planned port, the first other one of the stack that wants the same host port
/// (two services on 8080, or one service twice): `(index, index of the other)`.
pub fn in_stack_conflicts(ports: &[PlannedPort]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, a) in ports.iter().enumerate() {
        if let Some(j) = ports
            .iter()
            .enumerate()
            .find(|(j, b)| *j != i && a.collides(b.scope, b.host_port, &b.protocol))
            .map(|(j, _)| j)
        {
            out.push((i, j));
        }
    }
    out
}

/// The host ports two stacks both publish in a way that collides, sorted, each once.
pub fn shared_host_ports(a: &[PlannedPort], b: &[PlannedPort]) -> Vec<u16> {
    let mut v: Vec<u16> = a
        .iter()
        .filter(|p| {
            b.iter()
                .any(|q| p.collides(q.scope, q.host_port, &q.protocol))
        })
        .map(|p| p.host_port)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The first port above `wanted` (then below it) for which `taken` says no: 5432 → 5433.
pub fn next_free(wanted: u16, mut taken: impl FnMut(u16) -> bool) -> Option<u16> {
    let up = (u32::from(wanted) + 1..=u32::from(u16::MAX))
        .map(|p| p as u16)
        .take(200);
    let down = (1..wanted).rev().take(200);
    up.chain(down).find(|&p| !taken(p))
}

/// One remap: the service's host port `from` published as `to` instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Remap {
    pub service: String,
    pub from: u16,
    pub to: u16,
}

/// The compose override that applies `remaps` to `project` (loaded without it): for every
/// remapped service its whole port list, marked `!override` so it replaces the list instead of
/// adding to it. Empty text when no remap touches an existing port.
pub fn remap_override(project: &Project, remaps: &[Remap]) -> String {
    let mut by_service: BTreeMap<&str, Vec<&Remap>> = BTreeMap::new();
    for r in remaps {
        by_service.entry(r.service.as_str()).or_default().push(r);
    }
    let mut body = String::new();
    for (service, rs) in by_service {
        let Some(svc) = project.services.get(service) else {
            continue;
        };
        if !svc
            .ports
            .iter()
            .any(|p| rs.iter().any(|r| p.host_port == Some(r.from)))
        {
            continue;
        }
        let _ = writeln!(body, "  {}:\n    ports: !override", yaml_key(service));
        for p in &svc.ports {
            let to = rs
                .iter()
                .find(|r| p.host_port == Some(r.from))
                .map(|r| r.to);
            body.push_str(&long_port(p, to));
        }
    }
    if body.is_empty() {
        return String::new();
    }
    format!(
        "# Written by Berth: host ports moved out of the way of other programs.\n\
         # Berth passes this file as the last -f of every compose call for this stack;\n\
         # `berth ports --unremap SERVICE:PORT` takes a remap back.\nservices:\n{body}"
    )
}

fn long_port(p: &PortMapping, to: Option<u16>) -> String {
    let mut s = format!("      - target: {}\n", p.container_port);
    let published = match (to.or(p.host_port), p.host_port_range) {
        (Some(h), _) => Some(h.to_string()),
        (None, Some((a, b))) => Some(format!("{a}-{b}")),
        (None, None) => None,
    };
    if let Some(h) = published {
        let _ = writeln!(s, "        published: \"{h}\"");
    }
    if let Some(ip) = &p.host_ip {
        let _ = writeln!(s, "        host_ip: {}", yaml_key(ip));
    }
    let _ = writeln!(s, "        protocol: {}", p.protocol.to_ascii_lowercase());
    s
}

/// A key or scalar quoted when YAML would read it as something else (`::1`, `on`, `1e3`).
fn yaml_key(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        Scope::parse(Some(s)).expect(s)
    }

    #[test]
    fn addresses_collide_as_the_kernel_decides() {
        let any4 = scope("0.0.0.0");
        let lo4 = scope("127.0.0.1");
        let lo6 = scope("::1");
        let any6 = scope("[::]");
        assert_eq!(Scope::parse(None), Some(Scope::Everywhere));
        assert!(
            Scope::Everywhere.overlaps(lo6),
            "no host_ip binds every address"
        );
        assert!(any4.overlaps(lo4), "0.0.0.0 takes 127.0.0.1 too");
        assert!(!any4.overlaps(lo6), "0.0.0.0 leaves IPv6 alone");
        assert!(any6.overlaps(lo4), ":: is dual-stack on Linux");
        assert!(!lo4.overlaps(lo6), "127.0.0.1 and ::1 are separate sockets");
        assert!(!lo4.overlaps(scope("127.0.0.2")));
        assert_eq!(
            scope("::ffff:127.0.0.1"),
            lo4,
            "a v4-mapped address is the IPv4 one"
        );
        assert_eq!(Scope::parse(Some("localhost")), None, "not an address");
        let only6 = Scope::of_listener(Ipv6Addr::UNSPECIFIED.into(), true);
        assert_eq!(only6, Scope::OnlyV6);
        assert!(!only6.overlaps(lo4), "a v6-only :: leaves IPv4 free");
        assert!(!any4.overlaps(only6));
        assert!(only6.overlaps(lo6), "but takes every IPv6 address");
        assert!(only6.overlaps(Scope::Everywhere));
        assert_eq!(
            Scope::of_listener(Ipv4Addr::UNSPECIFIED.into(), true),
            any4,
            "the flag means nothing on IPv4"
        );
    }

    #[test]
    fn the_next_free_port_is_the_nearest_one_above() {
        assert_eq!(next_free(5432, |p| p == 5433), Some(5434));
        assert_eq!(
            next_free(65535, |_| false),
            Some(65534),
            "no port above: below"
        );
        assert_eq!(next_free(80, |_| true), None);
    }
}
