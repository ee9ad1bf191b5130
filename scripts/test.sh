#!/usr/bin/env bash
# Runs every Berth test on a real Docker engine. On a fresh Debian 12 machine it first installs
# what it needs (apt packages, the Docker daemon, local fixture images); later runs reuse them.
#
#   ./scripts/test.sh            everything: format, lints, unit, integration (real engine), app build
#   BERTH_QUICK=1 ./scripts/test.sh   skip fmt/clippy (handy while iterating)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# Keep build output outside the clone so a fresh clone on the same machine reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "install packages and start the Docker engine"
./scripts/setup.sh

step "build local fixture images (cached)"
./scripts/fixture-images.sh

step "UI dependencies and build"
# The app embeds ui/dist at compile time, so the UI is built before any cargo step.
(cd ui && npm ci --no-audit --no-fund && npm run build)

if [ -z "${BERTH_QUICK:-}" ]; then
  step "rustfmt"
  cargo fmt --all -- --check
  step "clippy -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "build the desktop app"
cargo build --locked -p berth-app

step "tests (unit, integration, real engine)"
cargo test --workspace --locked

# Everything above ran on Compose v2 (the reference); the lifecycle keeps working on v1.
step "compose v1 compatibility set (BERTH_COMPOSE=v1)"
BERTH_COMPOSE=v1 cargo test --locked -p berth-engine --test engine
BERTH_COMPOSE=v1 cargo test --locked -p berth-api --test api -- lifecycle:: status::up_waits session::a_second_action drift::

step "end-to-end tests in the real app window (Xvfb, tauri-driver, real engine)"
./scripts/e2e.sh

step "installable packages: .deb and .rpm built, the .deb installed and started from its desktop entry"
./scripts/package.sh

step "all tests passed"
