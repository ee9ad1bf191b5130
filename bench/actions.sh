#!/usr/bin/env bash
# Click -> compose child started: a session against reloading and reconnecting on every click,
# on the real engine (see crates/berth-api/examples/action_spawn.rs). Needs dockerd running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
cargo run --quiet --release --locked -p berth-api --example action_spawn
