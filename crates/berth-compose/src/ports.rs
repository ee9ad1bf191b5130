//! Port syntax: `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`, bracketed IPv6 host
//! addresses, and the long form. A range becomes one mapping per port.

use crate::error::LoadError;
use crate::model::PortMapping;
use crate::shape::scalar_of;
use crate::yaml::{Node, Pos, Value};

fn range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let a: u16 = a.parse().ok()?;
    let b: u16 = b.parse().ok()?;
    (a <= b && a > 0).then_some((a, b))
}

fn expand(
    host_ip: Option<String>,
    host: Option<(u16, u16)>,
    container: (u16, u16),
    protocol: &str,
    pos: &Pos,
    path: &str,
    text: &str,
) -> Result<Vec<PortMapping>, LoadError> {
    let n = (container.1 - container.0) as usize + 1;
    let mapping = |host_port, host_port_range, container_port| PortMapping {
        host_ip: host_ip.clone(),
        host_port,
        host_port_range,
        container_port,
        protocol: protocol.to_owned(),
        pos: pos.clone(),
    };
    match host {
        None => Ok((container.0..=container.1)
            .map(|c| mapping(None, None, c))
            .collect()),
        Some((h0, h1)) => {
            let hn = (h1 - h0) as usize + 1;
            if hn == n {
                Ok((0..n)
                    .map(|i| mapping(Some(h0 + i as u16), None, container.0 + i as u16))
                    .collect())
            } else if n == 1 {
                Ok(vec![mapping(None, Some((h0, h1)), container.0)])
            } else {
                Err(LoadError::ty(
                    pos,
                    path,
                    format!("port {text:?}: host range and container range have different sizes"),
                ))
            }
        }
    }
}

pub(crate) fn parse_port(item: &Node, path: &str) -> Result<Vec<PortMapping>, LoadError> {
    match &item.value {
        Value::Scalar { text, .. } => parse_short(text, &item.pos, path),
        Value::Map(_) => {
            let target = item
                .get("target")
                .ok_or_else(|| LoadError::ty(&item.pos, path, "a port needs a `target`"))?;
            let target_text = scalar_of(target, path)?;
            let container = range(&target_text).ok_or_else(|| {
                LoadError::ty(
                    &target.pos,
                    path,
                    format!("invalid target port {target_text:?}"),
                )
            })?;
            let host = match item.get("published") {
                None => None,
                Some(p) if p.is_null() => None,
                Some(p) => {
                    let t = scalar_of(p, path)?;
                    if t.is_empty() {
                        None
                    } else {
                        Some(range(&t).ok_or_else(|| {
                            LoadError::ty(&p.pos, path, format!("invalid published port {t:?}"))
                        })?)
                    }
                }
            };
            let host_ip = item
                .get("host_ip")
                .and_then(Node::as_scalar)
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_start_matches('[').trim_end_matches(']').to_owned());
            let protocol = item
                .get("protocol")
                .and_then(Node::as_scalar)
                .unwrap_or("tcp")
                .to_lowercase();
            expand(
                host_ip,
                host,
                container,
                &protocol,
                &item.pos,
                path,
                &target_text,
            )
        }
        _ => Err(LoadError::ty(
            &item.pos,
            path,
            format!(
                "a port must be a string, a number or a mapping, found {}",
                item.kind_name()
            ),
        )),
    }
}

fn parse_short(text: &str, pos: &Pos, path: &str) -> Result<Vec<PortMapping>, LoadError> {
    let bad = |why: &str| LoadError::ty(pos, path, format!("invalid port {text:?}: {why}"));
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_lowercase()),
        None => (text, "tcp".to_owned()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("protocol must be tcp, udp or sctp"));
    }
    let (host_ip, rest): (Option<String>, &str) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once(']')
            .ok_or_else(|| bad("unclosed `[` around the host address"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| bad("expected `:` after the host address"))?;
        (Some(ip.to_owned()), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 3 {
            // An unbracketed IPv6 address: the last two fields are the ports.
            let n = parts.len();
            let ip = parts[..n - 2].join(":");
            let rest_start = spec.len() - parts[n - 2].len() - parts[n - 1].len() - 1;
            (Some(ip), &spec[rest_start..])
        } else if parts.len() == 3 {
            let ip_len = parts[0].len();
            (Some(parts[0].to_owned()), &spec[ip_len + 1..])
        } else {
            (None, spec)
        }
    };
    let host_ip = host_ip.filter(|s| !s.is_empty());
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, rest),
    };
    let container = range(container).ok_or_else(|| bad("container port must be 1-65535"))?;
    let host = match host {
        None | Some("") => None,
        Some(h) => Some(range(h).ok_or_else(|| bad("host port must be 1-65535"))?),
    };
    expand(host_ip, host, container, &protocol, pos, path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    type Row = (Option<String>, Option<u16>, u16, String);

    fn p(text: &str) -> Result<Vec<Row>, String> {
        let pos = Pos {
            file: Arc::from("f.yml"),
            line: 3,
            col: 7,
        };
        parse_short(text, &pos, "services.x.ports")
            .map(|v| {
                v.into_iter()
                    .map(|m| (m.host_ip, m.host_port, m.container_port, m.protocol))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn one(
        ip: Option<&str>,
        h: Option<u16>,
        c: u16,
        proto: &str,
    ) -> (Option<String>, Option<u16>, u16, String) {
        (ip.map(str::to_owned), h, c, proto.to_owned())
    }

    #[test]
    fn every_short_form() {
        assert_eq!(p("3000").unwrap(), vec![one(None, None, 3000, "tcp")]);
        assert_eq!(
            p("8000:8000").unwrap(),
            vec![one(None, Some(8000), 8000, "tcp")]
        );
        assert_eq!(
            p("127.0.0.1:8001:8001").unwrap(),
            vec![one(Some("127.0.0.1"), Some(8001), 8001, "tcp")]
        );
        assert_eq!(
            p("127.0.0.1::5000").unwrap(),
            vec![one(Some("127.0.0.1"), None, 5000, "tcp")]
        );
        assert_eq!(
            p("[::1]:6001:6001").unwrap(),
            vec![one(Some("::1"), Some(6001), 6001, "tcp")]
        );
        assert_eq!(
            p("::1:6002:6002").unwrap(),
            vec![one(Some("::1"), Some(6002), 6002, "tcp")]
        );
        assert_eq!(
            p("6060:6060/udp").unwrap(),
            vec![one(None, Some(6060), 6060, "udp")]
        );
        assert_eq!(
            p("9000-9002:8000-8002").unwrap(),
            vec![
                one(None, Some(9000), 8000, "tcp"),
                one(None, Some(9001), 8001, "tcp"),
                one(None, Some(9002), 8002, "tcp")
            ]
        );
        assert_eq!(
            p("3000-3001").unwrap(),
            vec![one(None, None, 3000, "tcp"), one(None, None, 3001, "tcp")]
        );
    }

    #[test]
    fn a_host_range_for_one_container_port_stays_one_mapping() {
        let pos = Pos {
            file: Arc::from("f.yml"),
            line: 1,
            col: 1,
        };
        let v = parse_short("8000-8010:80", &pos, "p").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].host_port_range, Some((8000, 8010)));
        assert_eq!(v[0].host_port, None);
    }

    #[test]
    fn bad_ports_name_the_position() {
        for bad in [
            "0",
            "70000",
            "abc",
            "80:80/icmp",
            "1-3:1-2",
            "[::1:80:80",
            "8080:",
        ] {
            let e = p(bad).unwrap_err();
            assert!(e.starts_with("f.yml:3:7"), "{bad}: {e}");
        }
    }
}
