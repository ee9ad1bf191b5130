use std::net::TcpListener;
use std::time::Duration;

use berth_tls::{verify, verify_at, UntrustedReason, Verification};

use crate::support::{issue, names, new_ca, now, temp, Server, TIMEOUT, YEAR};

fn expect_trusted(v: Verification, fingerprint: &str, what: &str) {
    match v {
        Verification::Trusted {
            served_fingerprint,
            not_after,
            ..
        } => {
            assert_eq!(
                served_fingerprint, fingerprint,
                "{what}: the served leaf is ours"
            );
            assert!(not_after > 0);
        }
        other => panic!("{what}: expected Trusted, got {other:?}"),
    }
}

fn expect_untrusted(v: Verification, fingerprint: Option<&str>, what: &str) -> UntrustedReason {
    match v {
        Verification::Untrusted {
            served_fingerprint,
            reason,
        } => {
            assert_eq!(
                served_fingerprint.as_deref(),
                fingerprint,
                "{what}: the served leaf is recorded even when refused"
            );
            reason
        }
        other => panic!("{what}: expected Untrusted, got {other:?}"),
    }
}

#[test]
fn a_leaf_of_this_ca_is_trusted_for_each_of_its_names() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost", "demo.localhost", "127.0.0.1", "::1"]);
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    for sni in ["localhost", "127.0.0.1", "demo.localhost", "::1"] {
        expect_trusted(
            verify(server.addr, sni, &ca, TIMEOUT),
            &leaf.fingerprint_sha256,
            sni,
        );
    }
}

#[test]
fn an_ipv6_loopback_server_is_trusted_when_the_machine_has_ipv6() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost", "::1"]);
    let Ok(server) = Server::start_on("[::1]:0", &leaf.cert_pem, &leaf.key_pem) else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    expect_trusted(
        verify(server.addr, "::1", &ca, TIMEOUT),
        &leaf.fingerprint_sha256,
        "::1",
    );
    expect_trusted(
        verify(server.addr, "[::1]", &ca, TIMEOUT),
        &leaf.fingerprint_sha256,
        "[::1]",
    );
}

#[test]
fn a_wildcard_leaf_is_trusted_one_label_down_only() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["*.app.localhost"]);
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    expect_trusted(
        verify(server.addr, "web.app.localhost", &ca, TIMEOUT),
        &leaf.fingerprint_sha256,
        "web.app.localhost",
    );
    let reason = expect_untrusted(
        verify(server.addr, "a.web.app.localhost", &ca, TIMEOUT),
        Some(&leaf.fingerprint_sha256),
        "two labels down",
    );
    assert!(
        matches!(reason, UntrustedReason::NameNotCovered { .. }),
        "{reason:?}"
    );
}

#[test]
fn a_name_the_leaf_does_not_hold_is_untrusted() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost", "127.0.0.1"]);
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    for sni in ["other.localhost", "127.0.0.2"] {
        let reason = expect_untrusted(
            verify(server.addr, sni, &ca, TIMEOUT),
            Some(&leaf.fingerprint_sha256),
            sni,
        );
        assert_eq!(
            reason,
            UntrustedReason::NameNotCovered {
                name: sni.to_string()
            }
        );
        assert!(
            reason.to_string().contains(sni),
            "the sentence names it: {reason}"
        );
    }
}

#[test]
fn a_leaf_of_another_ca_is_untrusted() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let other_tmp = temp();
    let other = new_ca(other_tmp.path());
    let leaf = issue(&other, &["localhost"]);
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    let reason = expect_untrusted(
        verify(server.addr, "localhost", &ca, TIMEOUT),
        Some(&leaf.fingerprint_sha256),
        "another CA's leaf",
    );
    assert_eq!(reason, UntrustedReason::NotFromThisCa);
    expect_trusted(
        verify(server.addr, "localhost", &other, TIMEOUT),
        &leaf.fingerprint_sha256,
        "the same leaf against its own CA",
    );
}

#[test]
fn an_expired_leaf_is_untrusted() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = ca
        .issue(&names(&["localhost"]), now() - 2 * YEAR)
        .expect("the CA signs a leaf dated in the past");
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    let reason = expect_untrusted(
        verify(server.addr, "localhost", &ca, TIMEOUT),
        Some(&leaf.fingerprint_sha256),
        "a leaf issued two years ago",
    );
    assert_eq!(
        reason,
        UntrustedReason::Expired {
            not_after: Some(leaf.not_after)
        }
    );
}

#[test]
fn verify_at_judges_expiry_by_the_given_time() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let leaf = issue(&ca, &["localhost"]);
    let server = Server::start(&leaf.cert_pem, &leaf.key_pem);
    expect_trusted(
        verify_at(server.addr, "localhost", &ca, TIMEOUT, now()),
        &leaf.fingerprint_sha256,
        "today",
    );
    let reason = expect_untrusted(
        verify_at(server.addr, "localhost", &ca, TIMEOUT, now() + 2 * YEAR),
        Some(&leaf.fingerprint_sha256),
        "two years on",
    );
    assert!(
        matches!(reason, UntrustedReason::Expired { .. }),
        "{reason:?}"
    );
    let reason = expect_untrusted(
        verify_at(server.addr, "localhost", &ca, TIMEOUT, now() - YEAR),
        Some(&leaf.fingerprint_sha256),
        "a year before it was issued",
    );
    assert_eq!(reason, UntrustedReason::NotYetValid);
}

#[test]
fn a_closed_port_is_unreachable() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.local_addr().expect("its address")
    };
    match verify(addr, "localhost", &ca, Duration::from_secs(2)) {
        Verification::Unreachable { reason } => {
            assert!(
                reason.contains(&addr.to_string()),
                "the reason names the port: {reason}"
            )
        }
        other => panic!("nothing listens on {addr}, got {other:?}"),
    }
}

#[test]
fn a_port_that_does_not_speak_tls_is_untrusted_without_a_certificate() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let server = Server::plain_http();
    let reason = expect_untrusted(
        verify(server.addr, "localhost", &ca, TIMEOUT),
        None,
        "a plain HTTP port",
    );
    assert!(
        matches!(reason, UntrustedReason::NotTls { .. }),
        "{reason:?}"
    );
}

#[test]
fn a_silent_port_times_out_as_unreachable() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    // Listening but never accepting: the kernel completes the TCP handshake, no TLS follows.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    match verify(addr, "localhost", &ca, Duration::from_millis(300)) {
        Verification::Unreachable { reason } => {
            assert!(
                reason.contains("300 ms"),
                "the reason gives the time waited: {reason}"
            )
        }
        other => panic!("a silent port must time out, got {other:?}"),
    }
    drop(listener);
}

#[test]
fn a_server_name_that_is_no_name_is_refused_without_connecting() {
    let tmp = temp();
    let ca = new_ca(tmp.path());
    let addr = "127.0.0.1:9".parse().expect("an address");
    let reason = expect_untrusted(verify(addr, "not a name", &ca, TIMEOUT), None, "bad SNI");
    assert!(matches!(reason, UntrustedReason::InvalidServerName { .. }));
}
