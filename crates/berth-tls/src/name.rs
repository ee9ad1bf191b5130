use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TlsError};

/// A name a certificate is for: what ends up in its subject alternative names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Name {
    Dns(String),
    Ip(IpAddr),
}

impl Name {
    pub fn dns(name: impl Into<String>) -> Self {
        Name::Dns(name.into())
    }

    /// Says whether Berth's CA may sign this name, and if not, why, in a sentence.
    ///
    /// These are the CA's own name constraints (see [`crate::Ca`]) plus the browser rules a
    /// certificate must meet to be of any use, checked before signing so the user reads a
    /// reason instead of getting a certificate every client rejects.
    pub fn check_local(&self) -> Result<()> {
        let why = match self {
            Name::Ip(ip) => ip_refusal(*ip),
            Name::Dns(dns) => dns_refusal(dns),
        };
        match why {
            None => Ok(()),
            Some(why) => Err(TlsError::NameNotAllowed {
                name: self.to_string(),
                why,
            }),
        }
    }

    /// The form written into a certificate: DNS names in lower case, as browsers compare them.
    pub(crate) fn normalized(&self) -> Name {
        match self {
            Name::Dns(dns) => Name::Dns(dns.to_ascii_lowercase()),
            Name::Ip(ip) => Name::Ip(*ip),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Dns(dns) => f.write_str(dns),
            Name::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl FromStr for Name {
    type Err = std::convert::Infallible;

    /// An address is an IP name, anything else a DNS name (checked later by `check_local`).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        Ok(match bare.unwrap_or(s).parse::<IpAddr>() {
            Ok(ip) => Name::Ip(ip),
            Err(_) => Name::Dns(s.to_string()),
        })
    }
}

impl From<IpAddr> for Name {
    fn from(ip: IpAddr) -> Self {
        Name::Ip(ip)
    }
}

pub(crate) const LOOPBACK_V6: Ipv6Addr = Ipv6Addr::LOCALHOST;

fn ip_refusal(ip: IpAddr) -> Option<String> {
    let allowed = match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == LOOPBACK_V6,
    };
    (!allowed).then(|| {
        "Berth's CA only signs loopback addresses (127.0.0.0/8 and ::1), so a certificate of it can never be used for another machine".to_string()
    })
}

/// The two domains Berth's CA is constrained to: `localhost` (RFC 6761) and `test` (RFC 2606),
/// both reserved so that no real site can ever have a name under them.
pub(crate) const LOCAL_DOMAINS: [&str; 2] = ["localhost", "test"];

fn dns_refusal(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if lower.parse::<IpAddr>().is_ok() {
        return Some("this is an IP address; give it as an address, not as a DNS name".into());
    }
    if lower.ends_with('.') {
        return Some("write the name without the final dot".into());
    }
    if lower.len() > 253 {
        return Some("a DNS name is at most 253 characters long".into());
    }
    let (wildcard, base) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    if base.contains('*') {
        return Some(
            "a wildcard must be the whole first label and the only one, like *.app.localhost"
                .into(),
        );
    }
    for label in base.split('.') {
        if let Some(why) = label_refusal(label) {
            return Some(why);
        }
    }
    let Some(domain) = LOCAL_DOMAINS
        .iter()
        .find(|d| base == **d || base.ends_with(&format!(".{d}")))
    else {
        return Some(
            "Berth's CA only signs names for local development: localhost and names ending in .localhost or .test".into(),
        );
    };
    if base == *domain {
        if wildcard {
            return Some(format!(
                "browsers do not accept a wildcard directly under a top-level name (*.{domain}); name the host, like app.{domain}, or use a wildcard one level down, like *.app.{domain}"
            ));
        }
        if *domain != "localhost" {
            return Some(format!(
                "{domain} alone is a top-level domain, not a host; use a name under it, like app.{domain}"
            ));
        }
    }
    None
}

fn label_refusal(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("the name has an empty label (two dots in a row, or a leading dot)".into());
    }
    if label.len() > 63 {
        return Some(format!("the label {label} is longer than 63 characters"));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some(format!(
            "the label {label} may hold only letters, digits and hyphens (write other scripts in their xn-- form)"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!(
            "the label {label} may not start or end with a hyphen"
        ));
    }
    None
}

/// Whether a certificate name (`presented`, possibly a wildcard) stands for `wanted`.
///
/// The browser rule: names compare without case, and a wildcard stands for exactly one whole
/// label, so `*.app.localhost` covers `web.app.localhost` but neither `app.localhost` nor
/// `a.web.app.localhost`.
pub(crate) fn name_matches(presented: &Name, wanted: &Name) -> bool {
    match (presented, wanted) {
        (Name::Ip(p), Name::Ip(w)) => p == w,
        (Name::Dns(p), Name::Dns(w)) => {
            let p = p.to_ascii_lowercase();
            let w = w.to_ascii_lowercase();
            if p == w {
                return true;
            }
            let Some(rest) = p.strip_prefix("*.") else {
                return false;
            };
            match w.split_once('.') {
                Some((first, wanted_rest)) => {
                    !first.is_empty() && first != "*" && wanted_rest == rest
                }
                None => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> String {
        match Name::from_str(name).map(|n| n.check_local()) {
            Ok(Err(TlsError::NameNotAllowed { why, .. })) => why,
            other => panic!("{name} should be refused, got {other:?}"),
        }
    }

    fn allowed(name: &str) {
        let parsed = Name::from_str(name).expect("parsing a name never fails");
        if let Err(e) = parsed.check_local() {
            panic!("{name} should be allowed: {e}");
        }
    }

    #[test]
    fn local_names_are_allowed() {
        for name in [
            "localhost",
            "LocalHost",
            "demo.localhost",
            "a.b.localhost",
            "*.demo.localhost",
            "app.test",
            "*.app.test",
            "x-1.test",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            allowed(name);
        }
    }

    #[test]
    fn names_outside_the_constraints_are_refused() {
        for name in [
            "example.com",
            "localhost.com",
            "notlocalhost",
            "evil-localhost",
            "test.com",
            "mytest",
            "192.168.1.10",
            "10.0.0.1",
            "::2",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            let why = refused(name);
            assert!(!why.is_empty(), "{name}: a refusal says why");
        }
    }

    #[test]
    fn second_level_wildcards_are_refused_with_the_browser_rule() {
        let why = refused("*.localhost");
        assert!(
            why.contains("browsers") && why.contains("*.app.localhost"),
            "the sentence explains the browser rule and what to use instead: {why}"
        );
        refused("*.test");
    }

    #[test]
    fn malformed_names_are_refused() {
        for name in [
            "",
            "a..localhost",
            ".localhost",
            "localhost.",
            "-a.localhost",
            "a-.localhost",
            "a_b.localhost",
            "a*.localhost",
            "*.*.localhost",
            "x.*.localhost",
            "test",
        ] {
            refused(name);
        }
        refused(&format!("{}.localhost", "a".repeat(64)));
    }

    #[test]
    fn refusal_names_the_name() {
        let err = Name::dns("example.com")
            .check_local()
            .expect_err("example.com is outside the CA's constraints");
        assert!(
            err.to_string().contains("example.com"),
            "the message names the refused name: {err}"
        );
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let wild = Name::dns("*.app.localhost");
        assert!(name_matches(&wild, &Name::dns("web.app.localhost")));
        assert!(name_matches(&wild, &Name::dns("WEB.App.localhost")));
        assert!(name_matches(&wild, &Name::dns("*.app.localhost")));
        assert!(!name_matches(&wild, &Name::dns("app.localhost")));
        assert!(!name_matches(&wild, &Name::dns("a.web.app.localhost")));
        assert!(!name_matches(&wild, &Name::dns(".app.localhost")));
        assert!(!name_matches(&wild, &Name::dns("webapp.localhost")));
        assert!(name_matches(
            &Name::dns("Demo.localhost"),
            &Name::dns("demo.LOCALHOST")
        ));
        assert!(!name_matches(
            &Name::dns("demo.localhost"),
            &Name::dns("*.localhost")
        ));
    }

    #[test]
    fn addresses_match_only_themselves() {
        let v4: Name = "127.0.0.1".parse().expect("parsing a name never fails");
        assert!(name_matches(&v4, &Name::Ip([127, 0, 0, 1].into())));
        assert!(!name_matches(&v4, &Name::Ip([127, 0, 0, 2].into())));
        assert!(!name_matches(&v4, &Name::dns("127.0.0.1")));
        assert!(!name_matches(&Name::dns("localhost"), &v4));
    }
}
