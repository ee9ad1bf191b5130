//! One test binary for berth-tls: CA files, issuing, real handshakes, and the name
//! constraints as clients enforce them. Every test works in its own temp dir.

mod ca_files;
mod constraints;
mod handshake;
mod issue;
mod support;
