#!/usr/bin/env bash
# Installs everything Berth's build and tests need on a fresh Debian 12 machine, then makes sure a
# Docker engine answers. Idempotent: a second run only checks.
set -euo pipefail

need_pkgs=(
  # engine and compose v1 (compose v2 is not packaged for Debian 12)
  docker.io docker-compose
  # fixture images without a registry
  busybox-static mmdebstrap eatmydata
  # Tauri build on Linux
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev
  # headless window and end-to-end tests
  xvfb xauth webkit2gtk-driver imagemagick xdotool xclip xdg-utils
  # test helpers and benchmarks
  openssl curl hyperfine jq python3
)

missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's own client speaks the daemon's API version and can build without buildx.
export DOCKER_BIN=/usr/bin/docker

if ! "$DOCKER_BIN" info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  (dockerd >/tmp/berth-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    "$DOCKER_BIN" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER_BIN" info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /tmp/berth-dockerd.log" >&2; exit 1; }
fi
echo "setup: docker engine $("$DOCKER_BIN" version --format '{{.Server.Version}}') answers"
