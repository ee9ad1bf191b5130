use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

use crate::error::{Result, TlsError};
use crate::name::{name_matches, Name};

/// What Berth needs to know about a certificate, read from its PEM form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// SHA-256 of the DER certificate, lowercase hex without colons.
    pub fingerprint_sha256: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The subject alternative names; the common name is left out, as browsers ignore it.
    pub names: Vec<Name>,
    pub issuer_cn: Option<String>,
    pub subject_cn: Option<String>,
    /// Issuer equals subject and the certificate's own key verifies its signature.
    pub self_signed: bool,
}

/// Renewal starts this long before expiry, so a certificate is replaced while it still works.
pub const RENEW_BEFORE_SECS: i64 = 30 * 24 * 60 * 60;

/// Reads the first certificate of a PEM text (a served chain starts with its leaf).
pub fn inspect_pem(pem: &str) -> Result<CertInfo> {
    let der = first_cert_der(pem)?;
    inspect_der(&der)
}

pub(crate) fn inspect_der(der: &[u8]) -> Result<CertInfo> {
    let cert = parse_der(der)?;
    let validity = cert.validity();
    Ok(CertInfo {
        fingerprint_sha256: fingerprint(der),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        names: san_names(&cert)?,
        issuer_cn: common_name(cert.issuer()),
        subject_cn: common_name(cert.subject()),
        self_signed: cert.issuer() == cert.subject() && cert.verify_signature(None).is_ok(),
    })
}

/// True when fewer than 30 days are left, or the certificate has already expired.
pub fn needs_renewal(info: &CertInfo, now: SystemTime) -> bool {
    info.not_after.saturating_sub(unix_seconds(now)) < RENEW_BEFORE_SECS
}

/// Whether the certificate is valid for `name` by its subject alternative names, with the
/// browser wildcard rule (a `*` label stands for exactly one label).
pub fn covers(info: &CertInfo, name: &Name) -> bool {
    info.names
        .iter()
        .any(|presented| name_matches(presented, name))
}

/// SHA-256 of DER bytes as lowercase hex without colons, the form Berth shows and compares.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs())
            .map(|s| -s)
            .unwrap_or(i64::MIN),
    }
}

pub(crate) fn first_cert_der(pem: &str) -> Result<Vec<u8>> {
    let mut rest = pem.as_bytes();
    loop {
        let (remaining, block) =
            x509_parser::pem::parse_x509_pem(rest).map_err(|e| TlsError::parse(e.to_string()))?;
        if block.label == "CERTIFICATE" {
            return Ok(block.contents);
        }
        if remaining.is_empty() || remaining.len() == rest.len() {
            return Err(TlsError::parse("the PEM text holds no CERTIFICATE block"));
        }
        rest = remaining;
    }
}

pub(crate) fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>> {
    let (trailing, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| TlsError::parse(e.to_string()))?;
    if !trailing.is_empty() {
        return Err(TlsError::parse("bytes follow the certificate"));
    }
    Ok(cert)
}

fn san_names(cert: &X509Certificate<'_>) -> Result<Vec<Name>> {
    let Some(san) = cert
        .subject_alternative_name()
        .map_err(|e| TlsError::parse(format!("subject alternative names: {e}")))?
    else {
        return Ok(Vec::new());
    };
    Ok(san
        .value
        .general_names
        .iter()
        .filter_map(|general| match general {
            GeneralName::DNSName(dns) => Some(Name::Dns((*dns).to_string())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(Name::Ip),
            _ => None,
        })
        .collect())
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const DAY: i64 = 24 * 60 * 60;

    fn info_expiring_at(not_after: i64) -> CertInfo {
        CertInfo {
            fingerprint_sha256: String::new(),
            not_before: 0,
            not_after,
            names: vec![
                Name::dns("demo.localhost"),
                Name::dns("*.demo.localhost"),
                Name::Ip([127, 0, 0, 1].into()),
            ],
            issuer_cn: None,
            subject_cn: None,
            self_signed: false,
        }
    }

    fn at(unix: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("test times are after 1970"))
    }

    #[test]
    fn renewal_starts_thirty_days_before_expiry() {
        let now = 1_800_000_000;
        assert!(!needs_renewal(&info_expiring_at(now + 31 * DAY), at(now)));
        assert!(!needs_renewal(&info_expiring_at(now + 30 * DAY), at(now)));
        assert!(needs_renewal(
            &info_expiring_at(now + 30 * DAY - 1),
            at(now)
        ));
        assert!(needs_renewal(&info_expiring_at(now + DAY), at(now)));
        assert!(
            needs_renewal(&info_expiring_at(now - DAY), at(now)),
            "an expired certificate needs renewal"
        );
    }

    #[test]
    fn renewal_judges_by_the_clock_it_is_given() {
        let info = info_expiring_at(1_800_000_000);
        assert!(!needs_renewal(&info, at(1_700_000_000)));
        assert!(needs_renewal(&info, at(1_799_000_000)));
    }

    #[test]
    fn covers_uses_the_alternative_names() {
        let info = info_expiring_at(0);
        assert!(covers(&info, &Name::dns("demo.localhost")));
        assert!(covers(&info, &Name::dns("api.demo.localhost")));
        assert!(covers(&info, &Name::Ip([127, 0, 0, 1].into())));
        assert!(!covers(&info, &Name::dns("localhost")));
        assert!(!covers(&info, &Name::dns("a.api.demo.localhost")));
        assert!(!covers(&info, &Name::Ip(Ipv6Addr::LOCALHOST.into())));
    }

    #[test]
    fn fingerprint_is_lowercase_hex_without_colons() {
        let fp = fingerprint(b"abc");
        assert_eq!(
            fp, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 of \"abc\" (FIPS 180-2 test vector)"
        );
        assert_eq!(fp.len(), 64);
        assert!(fp
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn unix_seconds_before_1970_are_negative() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), -5);
        assert_eq!(unix_seconds(at(42)), 42);
    }

    #[test]
    fn text_without_a_certificate_is_a_parse_error() {
        assert!(matches!(inspect_pem("hello"), Err(TlsError::Parse { .. })));
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(inspect_pem(key_only), Err(TlsError::Parse { .. })));
    }
}
