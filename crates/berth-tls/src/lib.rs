//! Berth's local certificate authority, the leaf certificates it issues, reading
//! certificates, and proving a served certificate with a real TLS handshake.
//!
//! The CA is name-constrained to local development names (`localhost`, `*.localhost`,
//! `*.test`, 127.0.0.0/8, ::1): unlike a general-purpose development CA, a copy of its key
//! cannot be used to impersonate any real site to a client that honours the constraints.
//!
//! Nothing here reads the clock, picks a folder or starts a process: the caller passes the
//! time, the paths and the addresses (loopback ports it published itself).

mod ca;
mod error;
mod files;
mod inspect;
mod name;
mod verify;

pub use ca::{Ca, Leaf, CA_CERT_FILE, CA_KEY_FILE, LEAF_VALIDITY};
pub use error::{Result, TlsError};
pub use files::write_pair;
pub use inspect::{covers, fingerprint, inspect_pem, needs_renewal, CertInfo, RENEW_BEFORE_SECS};
pub use name::Name;
pub use verify::{verify, verify_at, UntrustedReason, Verification};
