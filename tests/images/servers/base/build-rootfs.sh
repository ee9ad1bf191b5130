#!/usr/bin/env bash
# Writes a Debian 12 root file system for berth-fixture/servers:1 as a tar stream on stdout.
# Usage: build-rootfs.sh > rootfs.tar   (needs root, mmdebstrap and eatmydata)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The machine's own apt sources (mirror, snapshot pinning, proxies) are reused as they are.
sources=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$f" ]; then sources="$f"; break; fi
done
[ -n "$sources" ] || { echo "build-rootfs: no /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2; exit 1; }

packages="$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages" | tr -d ' \t' | paste -sd, -)"

exec mmdebstrap \
  --quiet \
  --variant=minbase \
  --format=tar \
  --include="$packages" \
  --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
  --dpkgopt=force-unsafe-io \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --aptopt='Acquire::Retries "3"' \
  --skip=cleanup/run \
  --customize-hook="sh '$here/customize.sh' \"\$1\"" \
  bookworm - "$sources"
