use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use berth_tls::{covers, inspect_pem, needs_renewal, write_pair, Name, TlsError};
use x509_parser::extensions::ParsedExtension;

use crate::support::{issue, names, new_ca, now, temp, YEAR};

const DAY: i64 = 24 * 60 * 60;

#[test]
fn names_outside_the_constraints_are_refused_before_signing() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    for (bad, hint) in [("example.com", "localhost"), ("*.localhost", "browsers")] {
        match ca.issue(&names(&["localhost", bad]), now()) {
            Err(TlsError::NameNotAllowed { name, why }) => {
                assert_eq!(name, bad, "the error names the refused name");
                assert!(why.contains(hint), "{bad}: the sentence says why: {why}");
            }
            other => panic!("{bad} must be refused, got {other:?}"),
        }
    }
    assert!(matches!(
        ca.issue(&[Name::Ip([192, 168, 1, 2].into())], now()),
        Err(TlsError::NameNotAllowed { .. })
    ));
    assert!(ca.issue(&[], now()).is_err(), "a certificate needs a name");
}

#[test]
fn a_leaf_has_its_names_validity_and_issuer() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(
        &ca,
        &[
            "Demo.localhost",
            "*.demo.localhost",
            "127.0.0.1",
            "::1",
            "demo.localhost",
        ],
    );
    let info = inspect_pem(&leaf.cert_pem).expect("the leaf reads");
    assert_eq!(info.fingerprint_sha256, leaf.fingerprint_sha256);
    assert_eq!(info.not_after, leaf.not_after);
    assert_eq!(
        info.not_after - info.not_before,
        397 * DAY,
        "exactly 397 days"
    );
    assert_eq!(
        info.subject_cn.as_deref(),
        Some("demo.localhost"),
        "CN is the first name"
    );
    assert_eq!(
        info.names,
        names(&["demo.localhost", "*.demo.localhost", "127.0.0.1", "::1"]),
        "lower-cased, duplicates dropped, order kept"
    );
    let ca_info = inspect_pem(ca.cert_pem()).expect("the CA reads");
    assert_eq!(info.issuer_cn, ca_info.subject_cn);
    assert!(!info.self_signed);
    assert!(covers(&info, &Name::dns("api.demo.localhost")));
    assert!(!covers(&info, &Name::dns("localhost")));

    let der = rustls_pki_types::CertificateDer::from(
        x509_parser::pem::parse_x509_pem(leaf.cert_pem.as_bytes())
            .expect("PEM")
            .1
            .contents,
    );
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("the leaf parses");
    let eku = cert
        .extended_key_usage()
        .expect("EKU parses")
        .expect("the leaf has an extended key usage");
    assert!(eku.value.server_auth && !eku.value.client_auth);
    let bc = cert
        .basic_constraints()
        .expect("basic constraints parse")
        .expect("the leaf says it is no CA");
    assert!(!bc.value.ca, "a leaf cannot sign further certificates");
    assert!(cert.extensions().iter().any(|e| matches!(
        e.parsed_extension(),
        ParsedExtension::AuthorityKeyIdentifier(_)
    )));
}

#[test]
fn signed_checks_the_signature_against_this_ca() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let other_tmp = temp();
    let other = new_ca(other_tmp.path());
    let leaf = issue(&ca, &["localhost"]);
    assert!(ca.signed(&leaf.cert_pem));
    assert!(
        !other.signed(&leaf.cert_pem),
        "another CA's key did not sign it"
    );
    assert!(ca.signed(ca.cert_pem()), "the CA signed itself");
    assert!(!ca.signed(other.cert_pem()));
    assert!(!ca.signed("not a certificate"));

    // Same issuer name, same structure, one signature byte changed: only a real signature
    // check notices.
    let der = x509_parser::pem::parse_x509_pem(leaf.cert_pem.as_bytes())
        .expect("PEM")
        .1
        .contents;
    assert!(ca.signed(&pem_of(&der)), "the hand-made PEM is faithful");
    let mut tampered = der.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let pem = pem_of(&tampered);
    assert!(!ca.signed(&pem), "a tampered signature does not verify");
}

/// PEM by hand, as no PEM writer is among the dependencies.
fn pem_of(der: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let body: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        body.join("\n")
    )
}

#[test]
fn renewal_is_due_thirty_days_before_expiry() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let issued_at = now();
    let leaf = ca
        .issue(&names(&["localhost"]), issued_at)
        .expect("the CA signs localhost");
    let info = inspect_pem(&leaf.cert_pem).expect("the leaf reads");
    let day = Duration::from_secs(86400);
    assert!(!needs_renewal(&info, issued_at));
    assert!(!needs_renewal(&info, issued_at + 366 * day));
    assert!(needs_renewal(&info, issued_at + 368 * day));
    assert!(needs_renewal(&info, issued_at + 2 * YEAR));
}

#[test]
fn an_expired_ca_issues_nothing() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    assert!(matches!(
        ca.issue(&names(&["localhost"]), now() + 11 * YEAR),
        Err(TlsError::CaExpired { .. })
    ));
}

#[test]
fn write_pair_creates_the_folder_and_sets_modes() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost"]);
    let dir = tmp.path().join("project").join("certs");
    let cert = dir.join("localhost.crt");
    let key = dir.join("localhost.key");
    write_pair(&cert, &key, &leaf).expect("writes into a new folder");
    let mode = |p: &std::path::Path| fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(
        mode(&dir),
        0o755,
        "the certificate folder is readable by the web server"
    );
    assert_eq!(mode(&key), 0o600, "the leaf key is private");
    assert_eq!(mode(&cert), 0o644, "the leaf certificate is public");
    assert_eq!(fs::read_to_string(&cert).expect("read cert"), leaf.cert_pem);
    assert_eq!(fs::read_to_string(&key).expect("read key"), leaf.key_pem);

    let renewed = issue(&ca, &["localhost"]);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).expect("chmod the old key");
    write_pair(&cert, &key, &renewed).expect("replaces the old pair");
    assert_eq!(
        fs::read_to_string(&cert).expect("read cert"),
        renewed.cert_pem
    );
    assert_eq!(
        mode(&key),
        0o600,
        "a replaced key is a new file, created private"
    );
}

#[test]
fn debug_output_never_shows_a_private_key() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost"]);
    let shown = format!("{leaf:?} {ca:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

#[test]
fn an_address_is_never_the_common_name() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let mixed = inspect_pem(&issue(&ca, &["127.0.0.1", "localhost"]).cert_pem).expect("reads");
    assert_eq!(
        mixed.subject_cn.as_deref(),
        Some("localhost"),
        "the first DNS name"
    );
    let only_ips = inspect_pem(&issue(&ca, &["127.0.0.1"]).cert_pem).expect("reads");
    let cn = only_ips.subject_cn.expect("a common name");
    assert!(
        cn.contains(' '),
        "a label no client mistakes for a host name (OpenSSL would check it as one): {cn}"
    );
    assert_eq!(only_ips.names, names(&["127.0.0.1"]));
}
