#!/usr/bin/env bash
# End-to-end tests in the real app window: Xvfb + tauri-driver + WebKitWebDriver, against the
# real engine. Expects the app built (scripts/test.sh does it) and the fixture images present.
# With arguments, runs `node ARGS...` in the same harness instead (bench/app.mjs uses this).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
command -v tauri-driver >/dev/null || cargo install tauri-driver --locked
export BERTH_APP="${BERTH_APP:-$CARGO_TARGET_DIR/debug/berth-app}"
# The app inherits this through tauri-driver: the test stack publishes here, not on 8443.
export DEMO_HTTPS_PORT=18543
# "Open in the browser" goes through xdg-open to $BROWSER: here a script that records the address.
export BROWSER="$repo/tests/e2e/browser.sh"
export BERTH_E2E_BROWSER_LOG="$(mktemp)"
# The app keeps its SQLite store and WebKit data under here: a fresh, throwaway profile per run.
export XDG_DATA_HOME="$(mktemp -d)"
# xdg-open asks for the https handler before $BROWSER; with a real browser installed (the TLS
# tests need Chromium) it would start that one. This profile's handler is the recording script.
export XDG_CONFIG_HOME="$(mktemp -d)"
mkdir -p "$XDG_DATA_HOME/applications"
printf '[Desktop Entry]\nType=Application\nName=Berth e2e browser\nExec=%s %%u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n' \
  "$BROWSER" > "$XDG_DATA_HOME/applications/berth-e2e-browser.desktop"
printf '[Default Applications]\nx-scheme-handler/http=berth-e2e-browser.desktop\nx-scheme-handler/https=berth-e2e-browser.desktop\n' \
  > "$XDG_CONFIG_HOME/mimeapps.list"
if [ $# -gt 0 ]; then run=(node "$@"); else run=(node --test --test-concurrency=1 tests/e2e/); fi
export BERTH_RUN="${run[*]}"
xvfb-run -a -s "-screen 0 1400x900x24" bash -c '
  tauri-driver --port 4444 >/tmp/berth-tauri-driver.log 2>&1 &
  driver=$!
  # SIGTERM lets tauri-driver stop WebKitWebDriver too; SIGKILL would orphan it.
  trap "kill -TERM $driver 2>/dev/null || true; wait $driver 2>/dev/null || true" EXIT
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:4444/status >/dev/null 2>&1 && break; sleep 0.1; done
  $BERTH_RUN
'
