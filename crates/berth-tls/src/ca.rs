use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use crate::error::{Result, TlsError};
use crate::files::{self, mode_of, PRIVATE_MODE, PUBLIC_MODE};
use crate::inspect::{self, fingerprint, unix_seconds};
use crate::name::{Name, LOCAL_DOMAINS, LOOPBACK_V6};

pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";

const CA_VALIDITY: time::Duration = time::Duration::days(3652);
/// The longest validity Apple's and Chrome's rules accept for a server certificate, less a day
/// of margin for how each counts.
pub const LEAF_VALIDITY: time::Duration = time::Duration::days(397);

const CA_ORGANIZATION: &str = "Berth local development CA";
/// X.509's upper bound on a common name (RFC 5280 ub-common-name).
const MAX_CN: usize = 64;

/// Berth's local certificate authority.
///
/// Its certificate carries critical name constraints that permit only `localhost`, `test`
/// (each with every name under it) and the loopback addresses, so a client that checks them
/// refuses anything else it signs: a copy of its key is no use against real sites.
pub struct Ca {
    cert_path: PathBuf,
    key_path: PathBuf,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key: KeyPair,
    fingerprint: String,
    not_after: i64,
}

/// A certificate issued by [`Ca::issue`], with its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub fingerprint_sha256: String,
    /// Unix seconds.
    pub not_after: i64,
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf")
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .field("not_after", &self.not_after)
            .field("key_pem", &"[private key elided]")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("fingerprint", &self.fingerprint)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Loads the CA kept in `dir`, making it first if the folder holds none.
    ///
    /// `subject_hint` (such as `user@host`) goes into the CA's name, so that a trust store
    /// holding the CAs of two machines tells them apart.
    pub fn load_or_create(dir: &Path, subject_hint: &str, now: SystemTime) -> Result<Ca> {
        if let Some(ca) = Ca::load(dir)? {
            return Ok(ca);
        }
        files::create_dir(dir, 0o700)?;
        check_dir(dir)?;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let params = ca_params(subject_hint, OffsetDateTime::from(now))?;
        let cert = params.self_signed(&key)?;

        let (cert_path, key_path) = paths(dir);
        files::write_atomic(&key_path, key.serialize_pem().as_bytes(), PRIVATE_MODE)?;
        files::write_atomic(&cert_path, cert.pem().as_bytes(), PUBLIC_MODE)?;
        Ca::load(dir)?.ok_or_else(|| {
            TlsError::io(
                &cert_path,
                io::Error::new(io::ErrorKind::NotFound, "the CA just written is gone"),
            )
        })
    }

    /// Loads the CA kept in `dir`; `None` when the folder holds no CA (or does not exist).
    pub fn load(dir: &Path) -> Result<Option<Ca>> {
        let (cert_path, key_path) = paths(dir);
        match (exists(&cert_path)?, exists(&key_path)?) {
            (false, false) => return Ok(None),
            (true, false) => {
                return Err(TlsError::CaIncomplete {
                    missing: key_path,
                    present: cert_path,
                })
            }
            (false, true) => {
                return Err(TlsError::CaIncomplete {
                    missing: cert_path,
                    present: key_path,
                })
            }
            (true, true) => {}
        }
        check_dir(dir)?;
        if let Some(mode) = mode_of(&key_path)? {
            if mode & 0o077 != 0 {
                return Err(TlsError::KeyTooOpen {
                    path: key_path,
                    mode,
                });
            }
        }

        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| TlsError::io(&key_path, e))?;
        let key =
            KeyPair::from_pem(&key_pem).map_err(|e| TlsError::parse_in(key_path.display(), e))?;
        let cert_pem =
            std::fs::read_to_string(&cert_path).map_err(|e| TlsError::io(&cert_path, e))?;
        let der = inspect::first_cert_der(&cert_pem)
            .map_err(|e| TlsError::parse_in(cert_path.display(), e))?;
        let cert =
            inspect::parse_der(&der).map_err(|e| TlsError::parse_in(cert_path.display(), e))?;
        // A key swapped in beside the certificate would sign leaves nobody trusts.
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(TlsError::parse_in(
                key_path.display(),
                format!("this key does not belong to {}", cert_path.display()),
            ));
        }
        let not_after = cert.validity().not_after.timestamp();
        Ok(Some(Ca {
            fingerprint: fingerprint(&der),
            not_after,
            cert_path,
            key_path,
            cert_pem,
            cert_der: CertificateDer::from(der),
            key,
        }))
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// SHA-256 of the CA certificate, lowercase hex without colons.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The label under which trust stores list this CA: the same for the same CA, different
    /// for a CA made again, so removing an old one never touches the new one.
    pub fn nickname(&self) -> String {
        format!("Berth local CA {}", &self.fingerprint[..8])
    }

    /// Issues a server certificate for `names`; the first DNS name is also its common name.
    ///
    /// Every name is checked against the CA's constraints first, so the user reads which name
    /// is refused and why, rather than getting a certificate that every client rejects.
    pub fn issue(&self, names: &[Name], now: SystemTime) -> Result<Leaf> {
        let mut unique: Vec<Name> = Vec::with_capacity(names.len());
        for name in names {
            name.check_local()?;
            let name = name.normalized();
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        let Some(first) = unique.first() else {
            return Err(TlsError::Generate(
                "a certificate needs at least one name".into(),
            ));
        };
        if unix_seconds(now) >= self.not_after {
            return Err(TlsError::CaExpired {
                not_after: self.not_after,
            });
        }

        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name(first, &unique));
        params.subject_alt_names = unique
            .iter()
            .map(|name| {
                Ok(match name {
                    Name::Dns(dns) => SanType::DnsName(dns.clone().try_into()?),
                    Name::Ip(ip) => SanType::IpAddress(*ip),
                })
            })
            .collect::<Result<_, rcgen::Error>>()?;
        let start = OffsetDateTime::from(now);
        params.not_before = start;
        params.not_after = start + LEAF_VALIDITY;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            fingerprint_sha256: fingerprint(cert.der()),
            not_after: params.not_after.unix_timestamp(),
        })
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>> {
        Ok(Issuer::from_ca_cert_der(&self.cert_der, &self.key)?)
    }

    /// Whether this CA's key really signed `cert_pem` (its first certificate). Only the
    /// signature is checked, not validity dates or names.
    pub fn signed(&self, cert_pem: &str) -> bool {
        let Ok(der) = inspect::first_cert_der(cert_pem) else {
            return false;
        };
        let (Ok(cert), Ok(ca)) = (inspect::parse_der(&der), inspect::parse_der(&self.cert_der))
        else {
            return false;
        };
        cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
    }
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE))
}

fn exists(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(TlsError::io(path, e)),
    }
}

/// Someone else able to write the folder could replace the certificate users trust, or the
/// key beside it.
fn check_dir(dir: &Path) -> Result<()> {
    if let Some(mode) = mode_of(dir)? {
        if mode & 0o022 != 0 {
            return Err(TlsError::FolderTooOpen {
                path: dir.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

fn ca_params(subject_hint: &str, now: OffsetDateTime) -> Result<CertificateParams> {
    let hint = subject_hint.trim();
    let cn = if hint.is_empty() {
        CA_ORGANIZATION.to_string()
    } else {
        truncate_chars(&format!("{CA_ORGANIZATION} {hint}"), MAX_CN)
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, CA_ORGANIZATION);
    if !hint.is_empty() {
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, truncate_chars(hint, MAX_CN));
    }
    params.not_before = now;
    params.not_after = now + CA_VALIDITY;
    // Path length 0: this CA signs leaves only, never another CA that could escape its limits.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // rcgen always marks the name constraints extension critical, so a client that does not
    // understand it must refuse the chain rather than ignore the limits.
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: LOCAL_DOMAINS
            .iter()
            .map(|d| GeneralSubtree::DnsName((*d).to_string()))
            .chain([
                GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
                GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(LOOPBACK_V6.octets(), 128)),
            ])
            .collect(),
        excluded_subtrees: Vec::new(),
    });
    Ok(params)
}

/// The first name, unless it is an address: OpenSSL reads an address-like common name as a
/// DNS name when a certificate has no DNS names, and refuses it under the CA's DNS
/// constraints. Browsers ignore the common name, so it is only a label for people.
fn common_name(first: &Name, all: &[Name]) -> String {
    if let Name::Dns(dns) = first {
        return dns.clone();
    }
    all.iter()
        .find_map(|n| match n {
            Name::Dns(dns) => Some(dns.clone()),
            Name::Ip(_) => None,
        })
        .unwrap_or_else(|| LEAF_CN_FOR_ADDRESSES.to_string())
}

const LEAF_CN_FOR_ADDRESSES: &str = "Berth local development certificate";

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_hints_keep_the_common_name_within_x509_bounds() {
        let params = ca_params(&"u".repeat(200), OffsetDateTime::UNIX_EPOCH)
            .expect("CA parameters for any hint");
        let cn = params
            .distinguished_name
            .get(&DnType::CommonName)
            .expect("the CA has a common name");
        let rcgen::DnValue::Utf8String(cn) = cn else {
            panic!("common name is a UTF-8 string: {cn:?}");
        };
        assert_eq!(cn.chars().count(), MAX_CN);
        assert!(cn.starts_with(CA_ORGANIZATION));
    }

    #[test]
    fn the_ca_is_valid_ten_years() {
        let params = ca_params("me@box", OffsetDateTime::UNIX_EPOCH).expect("CA parameters");
        let years = (params.not_after - params.not_before).whole_days() as f64 / 365.25;
        assert!((years - 10.0).abs() < 0.01, "ten years, got {years}");
    }
}
