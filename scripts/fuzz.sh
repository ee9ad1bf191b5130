#!/usr/bin/env bash
# Fuzzes the compose loader with cargo-fuzz on the pinned stable toolchain: libFuzzer's coverage
# flags are unstable options, allowed here with RUSTC_BOOTSTRAP (no nightly to fetch), and no
# sanitizer (safe Rust; the target checks panics, hangs and memory).
#   ./scripts/fuzz.sh [SECONDS]   default 180
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/load
cp -n seeds/*.yml corpus/load/ 2>/dev/null || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/fuzz-target}"
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none load corpus/load -- \
  -max_total_time="${1:-180}" -max_len=65536 -timeout=10 -rss_limit_mb=2048
