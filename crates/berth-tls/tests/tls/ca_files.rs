use std::fs;
use std::os::unix::fs::PermissionsExt;

use berth_tls::{inspect_pem, Ca, TlsError, CA_CERT_FILE, CA_KEY_FILE};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_X509_EXT_NAME_CONSTRAINTS;

use crate::support::{new_ca, now, temp};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path)
        .expect("the file exists")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn folder_key_and_certificate_get_their_modes() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let dir = tmp.path().join("ca");
    assert_eq!(mode(&dir), 0o700, "the CA folder is private to the user");
    assert_eq!(
        mode(ca.key_path()),
        0o600,
        "the CA key is private to the user"
    );
    assert_eq!(mode(ca.cert_path()), 0o644, "the CA certificate is public");
    assert_eq!(ca.key_path(), dir.join(CA_KEY_FILE));
    assert_eq!(ca.cert_path(), dir.join(CA_CERT_FILE));
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("list the CA folder")
        .map(|e| e.expect("dir entry").file_name())
        .filter(|n| n != CA_KEY_FILE && n != CA_CERT_FILE)
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files remain: {leftovers:?}"
    );
}

#[test]
fn a_second_load_finds_the_same_ca() {
    let tmp = temp();
    let first = new_ca(tmp.path());
    let dir = tmp.path().join("ca");
    let again =
        Ca::load_or_create(&dir, "someone-else@elsewhere", now()).expect("the existing CA loads");
    assert_eq!(
        again.fingerprint(),
        first.fingerprint(),
        "no new CA is made over an old one"
    );
    assert_eq!(again.cert_pem(), first.cert_pem());
    assert_eq!(
        again.nickname(),
        first.nickname(),
        "the trust-store label is stable"
    );
    let loaded = Ca::load(&dir)
        .expect("the CA loads")
        .expect("the folder holds a CA");
    assert_eq!(loaded.fingerprint(), first.fingerprint());
}

#[test]
fn fingerprint_and_nickname_have_their_forms() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let fp = ca.fingerprint();
    assert_eq!(fp.len(), 64, "SHA-256 as hex: {fp}");
    assert!(
        fp.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "lowercase hex without colons: {fp}"
    );
    let info = inspect_pem(ca.cert_pem()).expect("the CA certificate reads");
    assert_eq!(
        info.fingerprint_sha256, fp,
        "the fingerprint is of the certificate"
    );
    assert_eq!(ca.nickname(), format!("Berth local CA {}", &fp[..8]));
    let other = new_ca(temp().path());
    assert_ne!(other.nickname(), ca.nickname(), "two CAs get two labels");
}

#[test]
fn a_missing_folder_holds_no_ca() {
    let tmp = temp();
    assert!(Ca::load(&tmp.path().join("nowhere"))
        .expect("a missing folder is not an error")
        .is_none());
    assert!(Ca::load(tmp.path())
        .expect("an empty folder is not an error")
        .is_none());
}

#[test]
fn a_key_others_can_read_is_refused_and_left_alone() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let key = ca.key_path().to_path_buf();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod the key");
    let dir = tmp.path().join("ca");
    match Ca::load(&dir) {
        Err(TlsError::KeyTooOpen { path, mode }) => {
            assert_eq!(path, key);
            assert_eq!(mode & 0o777, 0o644);
        }
        other => panic!("a 0644 key must be refused, got {other:?}"),
    }
    match Ca::load_or_create(&dir, "tester@box", now()) {
        Err(TlsError::KeyTooOpen { .. }) => {}
        other => panic!("load_or_create refuses it too rather than making a new CA: {other:?}"),
    }
    assert_eq!(
        mode(&key),
        0o644,
        "the key's mode is not changed behind the user's back"
    );
    let err = Ca::load(&dir).expect_err("still refused");
    assert!(
        err.to_string().contains("chmod 600"),
        "the message says what to do: {err}"
    );
}

#[test]
fn a_folder_others_can_write_is_refused() {
    let tmp = temp();
    new_ca(tmp.path());
    let dir = tmp.path().join("ca");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod the folder");
    assert!(
        matches!(Ca::load(&dir), Err(TlsError::FolderTooOpen { .. })),
        "someone else could swap the certificate in a world-writable folder"
    );
}

#[test]
fn half_a_ca_is_not_completed() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    fs::remove_file(ca.cert_path()).expect("remove the certificate");
    let dir = tmp.path().join("ca");
    assert!(
        matches!(
            Ca::load_or_create(&dir, "tester@box", now()),
            Err(TlsError::CaIncomplete { .. })
        ),
        "a new certificate must not silently replace one the user may trust"
    );
    assert!(ca.key_path().exists(), "the key is kept");
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let other_tmp = temp();
    let other = new_ca(other_tmp.path());
    fs::copy(other.key_path(), ca.key_path()).expect("swap in another CA's key");
    assert!(
        matches!(
            Ca::load(&tmp.path().join("ca")),
            Err(TlsError::Parse { .. })
        ),
        "a key that does not match the certificate would sign leaves nobody trusts"
    );
}

#[test]
fn the_ca_certificate_is_constrained_to_local_names() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let info = inspect_pem(ca.cert_pem()).expect("the CA certificate reads");
    assert!(info.self_signed);
    let cn = info.subject_cn.expect("the CA has a common name");
    assert!(
        cn.starts_with("Berth local development CA") && cn.contains("tester@box"),
        "the name tells machines apart: {cn}"
    );
    let ten_years = (info.not_after - info.not_before) as f64 / (365.25 * 86400.0);
    assert!(
        (ten_years - 10.0).abs() < 0.01,
        "valid ten years: {ten_years}"
    );

    let (_, cert) =
        x509_parser::parse_x509_certificate(ca.cert_der()).expect("the CA certificate parses");
    let bc = cert
        .basic_constraints()
        .expect("basic constraints parse")
        .expect("the CA has basic constraints");
    assert!(bc.critical && bc.value.ca, "a CA");
    assert_eq!(
        bc.value.path_len_constraint,
        Some(0),
        "it signs leaves only"
    );
    let ku = cert
        .key_usage()
        .expect("key usage parses")
        .expect("the CA has key usage");
    assert!(ku.value.key_cert_sign() && ku.value.crl_sign());
    assert!(!ku.value.digital_signature());

    let ext = cert
        .get_extension_unique(&OID_X509_EXT_NAME_CONSTRAINTS)
        .expect("one name constraints extension")
        .expect("the CA has name constraints");
    assert!(
        ext.critical,
        "clients that cannot apply the constraints must refuse the CA"
    );
    let ParsedExtension::NameConstraints(nc) = ext.parsed_extension() else {
        panic!("name constraints parse: {:?}", ext.parsed_extension());
    };
    assert!(nc.excluded_subtrees.is_none());
    let permitted: Vec<String> = nc
        .permitted_subtrees
        .as_ref()
        .expect("permitted subtrees")
        .iter()
        .map(|s| match &s.base {
            GeneralName::DNSName(d) => format!("dns:{d}"),
            GeneralName::IPAddress(b) => format!("ip:{b:02x?}"),
            other => format!("other:{other:?}"),
        })
        .collect();
    let mut v6 = vec![0u8; 15];
    v6.push(1);
    v6.extend([0xffu8; 16]);
    assert_eq!(
        permitted,
        vec![
            "dns:localhost".to_string(),
            "dns:test".to_string(),
            format!("ip:{:02x?}", [127u8, 0, 0, 0, 255, 0, 0, 0]),
            format!("ip:{v6:02x?}"),
        ]
    );
}
