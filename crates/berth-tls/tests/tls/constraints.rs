//! The point of the design: Berth's CA key, even in other hands, signs nothing a client will
//! accept outside the local names. These leaves are made with rcgen directly and the CA's key
//! from disk, the way a thief would, bypassing `Ca::issue`'s own refusal.

use std::fs;
use std::path::Path;
use std::process::Command;

use berth_tls::{verify, Ca, UntrustedReason, Verification};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};

use crate::support::{issue, new_ca, openssl, temp, Server, TIMEOUT};

struct Forged {
    cert_pem: String,
    key_pem: String,
}

fn forge(ca: &Ca, sans: &[&str]) -> Forged {
    let ca_key = KeyPair::from_pem(&fs::read_to_string(ca.key_path()).expect("read ca.key"))
        .expect("ca.key is a PEM key");
    let issuer = Issuer::from_ca_cert_pem(ca.cert_pem(), ca_key).expect("ca.crt parses");
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("valid SANs");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, sans[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    let key = KeyPair::generate().expect("a leaf key");
    let cert = params
        .signed_by(&key, &issuer)
        .expect("rcgen signs whatever it is given");
    Forged {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn expect_constraint_violation(v: Verification, what: &str) {
    match v {
        Verification::Untrusted {
            served_fingerprint: Some(_),
            reason: UntrustedReason::OutsideCaConstraints,
        } => {}
        other => panic!("{what}: the name constraints must refuse it, got {other:?}"),
    }
}

#[test]
fn a_forged_leaf_for_a_real_site_is_refused_by_rustls() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let forged = forge(&ca, &["example.com"]);
    assert!(
        ca.signed(&forged.cert_pem),
        "the CA's own key really signed it, so only the constraints stand in the way"
    );
    let server = Server::start(&forged.cert_pem, &forged.key_pem);
    expect_constraint_violation(
        verify(server.addr, "example.com", &ca, TIMEOUT),
        "example.com",
    );
}

#[test]
fn a_local_name_cannot_smuggle_a_real_one_along() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let forged = forge(&ca, &["localhost", "example.com"]);
    let server = Server::start(&forged.cert_pem, &forged.key_pem);
    expect_constraint_violation(
        verify(server.addr, "localhost", &ca, TIMEOUT),
        "localhost plus example.com",
    );
}

#[test]
fn a_forged_leaf_for_a_lan_address_is_refused_by_rustls() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let forged = forge(&ca, &["10.0.0.1"]);
    let server = Server::start(&forged.cert_pem, &forged.key_pem);
    expect_constraint_violation(verify(server.addr, "10.0.0.1", &ca, TIMEOUT), "10.0.0.1");
}

#[test]
fn a_name_that_only_ends_like_a_local_one_is_refused() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let forged = forge(&ca, &["evillocalhost"]);
    let server = Server::start(&forged.cert_pem, &forged.key_pem);
    expect_constraint_violation(
        verify(server.addr, "evillocalhost", &ca, TIMEOUT),
        "evillocalhost",
    );
}

fn openssl_verify(
    openssl: &Path,
    dir: &Path,
    ca: &Ca,
    cert_pem: &str,
    name: &str,
) -> (bool, String) {
    let leaf = dir.join(format!("{name}.crt"));
    fs::write(&leaf, cert_pem).expect("write the leaf for openssl");
    let out = Command::new(openssl)
        .arg("verify")
        .arg("-x509_strict")
        .arg("-purpose")
        .arg("sslserver")
        .arg("-CAfile")
        .arg(ca.cert_path())
        .arg(&leaf)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_agrees_when_it_is_installed() {
    let Some(openssl) = openssl() else {
        eprintln!("skipped: no openssl binary on PATH (the rustls checks above still ran)");
        return;
    };
    let tmp = temp();
    let ca = new_ca(tmp.path());
    for (label, names) in [
        (
            "localhost",
            &["localhost", "demo.localhost", "*.demo.localhost"][..],
        ),
        ("ip-only", &["127.0.0.1", "::1"][..]),
        ("test", &["app.test"][..]),
    ] {
        let leaf = issue(&ca, names);
        let (ok, text) = openssl_verify(&openssl, tmp.path(), &ca, &leaf.cert_pem, label);
        assert!(ok, "openssl accepts Berth's {label} leaf: {text}");
    }
    for (label, names) in [
        ("example.com", &["example.com"][..]),
        ("smuggled", &["localhost", "example.com"][..]),
        ("lan", &["10.0.0.1"][..]),
    ] {
        let forged = forge(&ca, names);
        let (ok, text) = openssl_verify(&openssl, tmp.path(), &ca, &forged.cert_pem, label);
        assert!(!ok, "openssl refuses a forged {label} leaf: {text}");
        assert!(
            text.contains("permitted subtree violation"),
            "{label}: refused for the name constraints, not for something else: {text}"
        );
    }
}
