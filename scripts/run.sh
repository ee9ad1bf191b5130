#!/usr/bin/env bash
# Starts Berth on the bundled demo stack, or on the stack folder given as the first argument.
# Installs what it needs on a fresh Debian 12 machine first.
#
#   ./scripts/run.sh              the demo stack in demo/
#   ./scripts/run.sh ~/src/shop   any compose project
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"

stack="$(cd "${1:-$repo/demo}" && pwd)"

./scripts/setup.sh
# The demo stack runs on local images (no registry).
./scripts/fixture-images.sh
(cd ui && npm ci --no-audit --no-fund && npm run build)
cargo build --locked -p berth-cli -p berth-app

# The demo serves TLS with a certificate from Berth's own CA, written where its nginx reads it
# (kept when it is still good). Trusting the CA in the browsers is the user's choice: the
# Certificates view, or `berth tls trust`.
if [ "$stack" = "$repo/demo" ]; then
  "$CARGO_TARGET_DIR/debug/berth" tls issue "$stack"
fi

echo
"$CARGO_TARGET_DIR/debug/berth" inspect "$stack"

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$CARGO_TARGET_DIR/debug/berth-app" "$stack"
elif command -v xvfb-run >/dev/null && [ -n "${BERTH_HEADLESS:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$CARGO_TARGET_DIR/debug/berth-app" "$stack"
else
  echo
  echo "No display found, so the window was not opened. On a desktop session the app starts here;"
  echo "headless, run with BERTH_HEADLESS=1 to open it under Xvfb."
fi
