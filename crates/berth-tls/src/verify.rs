use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use serde::{Deserialize, Serialize};

use crate::inspect::{fingerprint, inspect_der};
use crate::Ca;

/// What a real TLS handshake with a served port showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verification {
    /// The chain leads to Berth's CA and the certificate is valid for the name asked for.
    Trusted {
        served_fingerprint: String,
        /// Unix seconds.
        not_after: i64,
        /// Connect plus handshake, in milliseconds.
        ms: u64,
    },
    /// Something answered, but a browser trusting only Berth's CA would refuse it.
    Untrusted {
        /// The served leaf, when the server got as far as sending one.
        served_fingerprint: Option<String>,
        reason: UntrustedReason,
    },
    /// Nothing usable answered: refused, timed out, unroutable.
    Unreachable { reason: String },
}

/// Why a served certificate was refused, one case per thing the user would fix differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UntrustedReason {
    NotFromThisCa,
    Expired {
        not_after: Option<i64>,
    },
    NotYetValid,
    NameNotCovered {
        name: String,
    },
    /// Signed by Berth's CA for a name its constraints forbid: never made by Berth itself, so
    /// the key may have been used by someone else.
    OutsideCaConstraints,
    InvalidServerName {
        name: String,
    },
    /// The port answered, but not with TLS (plain HTTP, another protocol, or a closed socket).
    NotTls {
        detail: String,
    },
    Other {
        detail: String,
    },
}

impl fmt::Display for UntrustedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UntrustedReason::NotFromThisCa => {
                f.write_str("the certificate served was not issued by Berth's local CA")
            }
            UntrustedReason::Expired { not_after: Some(t) } => {
                write!(f, "the certificate served expired (at unix time {t})")
            }
            UntrustedReason::Expired { not_after: None } => {
                f.write_str("the certificate served has expired")
            }
            UntrustedReason::NotYetValid => {
                f.write_str("the certificate served is not valid yet (is the clock right?)")
            }
            UntrustedReason::NameNotCovered { name } => {
                write!(f, "the certificate served is not for {name}")
            }
            UntrustedReason::OutsideCaConstraints => f.write_str(
                "the certificate served names a host outside localhost, .test and loopback addresses, which Berth's CA may not sign for",
            ),
            UntrustedReason::InvalidServerName { name } => {
                write!(f, "{name} is neither a DNS name nor an IP address")
            }
            UntrustedReason::NotTls { detail } => {
                write!(f, "the port answered, but not with TLS: {detail}")
            }
            UntrustedReason::Other { detail } => write!(f, "the TLS handshake failed: {detail}"),
        }
    }
}

/// Connects to `addr` and makes a TLS handshake trusting only Berth's CA, with `server_name`
/// as SNI and as the name the certificate must hold (an address is checked as an IP name).
///
/// Expiry is judged by the system clock, as the browser on this machine would judge it; use
/// [`verify_at`] to give the time.
pub fn verify(addr: SocketAddr, server_name: &str, ca: &Ca, timeout: Duration) -> Verification {
    handshake(
        addr,
        server_name,
        ca,
        timeout,
        Arc::new(DefaultTimeProvider),
    )
}

/// [`verify`] with expiry judged at `now`.
pub fn verify_at(
    addr: SocketAddr,
    server_name: &str,
    ca: &Ca,
    timeout: Duration,
    now: SystemTime,
) -> Verification {
    handshake(addr, server_name, ca, timeout, Arc::new(FixedTime(now)))
}

#[derive(Debug)]
struct FixedTime(SystemTime);

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        self.0
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(UnixTime::since_unix_epoch)
    }
}

fn handshake(
    addr: SocketAddr,
    server_name: &str,
    ca: &Ca,
    timeout: Duration,
    clock: Arc<dyn TimeProvider>,
) -> Verification {
    let untrusted = |served_fingerprint, reason| Verification::Untrusted {
        served_fingerprint,
        reason,
    };
    let Some(name) = server_name_of(server_name) else {
        return untrusted(
            None,
            UntrustedReason::InvalidServerName {
                name: server_name.to_string(),
            },
        );
    };
    let (config, served) = match client_config(ca, clock) {
        Ok(pair) => pair,
        Err(detail) => return untrusted(None, UntrustedReason::Other { detail }),
    };
    let mut conn = match ClientConnection::new(config, name) {
        Ok(conn) => conn,
        Err(e) => {
            return untrusted(
                None,
                UntrustedReason::Other {
                    detail: e.to_string(),
                },
            )
        }
    };

    let started = Instant::now();
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(stream) => stream,
        Err(e) => {
            return Verification::Unreachable {
                reason: connect_reason(addr, timeout, &e),
            }
        }
    };
    let _ = stream.set_nodelay(true);
    while conn.is_handshaking() {
        // One budget for the whole handshake, so a server that trickles bytes cannot hold
        // the caller for longer than it asked.
        let Some(left) = timeout
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
        else {
            return Verification::Unreachable {
                reason: format!(
                    "{addr} gave no TLS answer within {} ms",
                    timeout.as_millis()
                ),
            };
        };
        if stream.set_read_timeout(Some(left)).is_err()
            || stream.set_write_timeout(Some(left)).is_err()
        {
            return Verification::Unreachable {
                reason: format!("could not set a timeout on the connection to {addr}"),
            };
        }
        if let Err(e) = conn.complete_io(&mut stream) {
            let served_fp = served.get().map(|der| fingerprint(der));
            return handshake_failure(addr, server_name, timeout, served_fp, served.get(), &e);
        }
    }
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    conn.send_close_notify();
    let _ = conn.complete_io(&mut stream);

    let Some(der) = served.get() else {
        return untrusted(
            None,
            UntrustedReason::Other {
                detail: "the handshake finished without a server certificate".into(),
            },
        );
    };
    match inspect_der(der) {
        Ok(info) => Verification::Trusted {
            served_fingerprint: info.fingerprint_sha256,
            not_after: info.not_after,
            ms,
        },
        Err(e) => untrusted(
            Some(fingerprint(der)),
            UntrustedReason::Other {
                detail: e.to_string(),
            },
        ),
    }
}

fn server_name_of(s: &str) -> Option<ServerName<'static>> {
    let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
    if let Ok(ip) = bare.unwrap_or(s).parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(s.to_string()).ok()
}

type Served = Arc<OnceLock<CertificateDer<'static>>>;

fn client_config(
    ca: &Ca,
    clock: Arc<dyn TimeProvider>,
) -> Result<(Arc<ClientConfig>, Served), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert_der().to_vec()))
        .map_err(|e| format!("Berth's CA certificate is not usable as a root: {e}"))?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let served: Served = Arc::default();
    let verifier = Arc::new(Recording {
        inner: webpki,
        served: served.clone(),
    });
    let config = ClientConfig::builder_with_details(provider, clock)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((Arc::new(config), served))
}

/// The webpki verifier, plus a note of the leaf it was shown: a refused handshake still tells
/// the user which certificate the port serves.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    served: Served,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let _ = self.served.set(end_entity.clone().into_owned());
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn connect_reason(addr: SocketAddr, timeout: Duration, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("nothing listens on {addr}"),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("{addr} did not answer within {} ms", timeout.as_millis())
        }
        _ => format!("could not connect to {addr}: {e}"),
    }
}

fn handshake_failure(
    addr: SocketAddr,
    server_name: &str,
    timeout: Duration,
    served_fingerprint: Option<String>,
    served: Option<&CertificateDer<'static>>,
    e: &io::Error,
) -> Verification {
    let tls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let reason = match tls_error {
        Some(rustls::Error::InvalidCertificate(cert_error)) => {
            certificate_reason(cert_error, server_name, served)
        }
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => UntrustedReason::NotTls {
            detail: tls_error.map(ToString::to_string).unwrap_or_default(),
        },
        Some(other) => UntrustedReason::Other {
            detail: other.to_string(),
        },
        None => match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                return Verification::Unreachable {
                    reason: format!(
                        "{addr} gave no TLS answer within {} ms",
                        timeout.as_millis()
                    ),
                }
            }
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => UntrustedReason::NotTls {
                detail: "the connection was closed during the handshake".into(),
            },
            _ => {
                return Verification::Unreachable {
                    reason: format!("the connection to {addr} failed: {e}"),
                }
            }
        },
    };
    Verification::Untrusted {
        served_fingerprint,
        reason,
    }
}

fn certificate_reason(
    e: &CertificateError,
    server_name: &str,
    served: Option<&CertificateDer<'static>>,
) -> UntrustedReason {
    let served_not_after = || {
        served
            .and_then(|der| inspect_der(der).ok())
            .map(|i| i.not_after)
    };
    match e {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            UntrustedReason::NotFromThisCa
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            UntrustedReason::Expired {
                not_after: served_not_after(),
            }
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            UntrustedReason::NotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            UntrustedReason::NameNotCovered {
                name: server_name.to_string(),
            }
        }
        CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::NameConstraintViolation)
            ) =>
        {
            UntrustedReason::OutsideCaConstraints
        }
        other => UntrustedReason::Other {
            detail: other.to_string(),
        },
    }
}
