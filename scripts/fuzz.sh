#!/usr/bin/env bash
# Fuzzes the compose loader with cargo-fuzz (needs the nightly toolchain and cargo-fuzz).
#   ./scripts/fuzz.sh [SECONDS]   default 180
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/load
cp -n seeds/*.yml corpus/load/ 2>/dev/null || true
cargo +nightly fuzz run load corpus/load -- -max_total_time="${1:-180}" -max_len=65536 -timeout=10 -rss_limit_mb=2048
