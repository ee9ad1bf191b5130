//! Tests against the real Docker engine and the real compose CLI. `scripts/test.sh` starts the
//! daemon and builds the local fixture images first.

mod harness;

pub use berth_testkit::{copy_dir, docker, free_local_port, repo_root, require_engine};
