//! Berth's snapshot files, apart from the catalog that lists them: each artifact is one zstd
//! file written under a temporary name and renamed into place only once complete and synced, so
//! a crash never leaves a file that looks finished. Its SHA-256 is of the stored bytes, so a
//! file can be checked before a restore without decompressing it.
//!
//! Plain blocking file I/O: callers run it on a blocking thread.

mod artifact;
mod bundle;
mod id;
mod layout;
mod progress;
mod verify;

pub use artifact::{open_artifact, Artifact, ArtifactWriter};
pub use bundle::{export_bundle, import_bundle, BundleError};
pub use id::new_snapshot_id;
pub use layout::{clean_leftovers, is_held, remove_snapshot_dir, WriterLock};
pub use progress::{Meter, Progress};
pub use verify::{verify_artifact, VerifyError};
