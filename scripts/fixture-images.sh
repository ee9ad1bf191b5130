#!/usr/bin/env bash
# Makes the local Docker images that Berth's tests use exist in the daemon. No registry is needed:
# everything is built from this machine's Debian packages (see tests/images/).
#
#   berth-fixture/busybox:1      FROM scratch + Debian's static busybox
#   berth-fixture/servers:1      Debian 12 rootfs (mmdebstrap) with nginx, PostgreSQL, MariaDB,
#                                Redis, PHP-FPM, Python, Node.js (berth-fixture/servers-rootfs:1 is
#                                its raw import)
#   berth-fixture/postgres:1     also postgres:15-alpine, postgres:16-alpine, postgres:18-alpine
#   berth-fixture/mariadb:1      also mysql:8.0, mariadb:10.11, mariadb:11
#   berth-fixture/redis:1        also redis:7-alpine, redis:alpine, redis:7
#   berth-fixture/nginx:1        also nginx:alpine, nginx:1.25-alpine, nginx:latest
#   berth-fixture/php-fpm:1      also php:8.3-fpm-alpine, php:8.2-fpm-alpine, php:8.2-fpm, php:8.3-fpm
#   berth-fixture/node:1         also node:20-alpine, node:20, node:lts-alpine (npm, vite stand-ins)
#   berth-fixture/python:1       also python:3.11-slim, python:3.11, python:3-slim (uvicorn stand-in)
#   berth-fixture/frankenphp:1   also dunglas/frankenphp:1.9-php8.4, dunglas/frankenphp:1,
#                                dunglas/frankenphp:latest (PHP's built-in server standing in)
#   berth-fixture/phpmyadmin:1   also phpmyadmin:latest, phpmyadmin:5, phpmyadmin/phpmyadmin:latest
#                                (phpMyAdmin's role: a one-page PHP app)
#
# Idempotent and cached. The key is the sha256 of every file under tests/images/ and of this
# script; every image carries it as the label berth.fixture.key.
#   1. all images present with the current key: nothing to do;
#   2. else ${BERTH_CACHE_DIR:-/var/cache/berth}/fixture-images-<key>.tar.gz exists: docker load it;
#   3. else build (the Debian rootfs is reused when tests/images/servers/base/ did not change) and
#      docker save everything into that file.
#
# Needs: a running dockerd, /usr/bin/docker (Debian's client; builds use the classic builder),
# busybox-static, mmdebstrap, eatmydata (only for a build), root (for mmdebstrap).
# Environment: DOCKER_BIN (default /usr/bin/docker), BERTH_CACHE_DIR (default /var/cache/berth),
# BERTH_FIXTURE_NO_CACHE=1 (neither read nor write the cache file).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images_dir="$repo/tests/images"
cache_dir="${BERTH_CACHE_DIR:-/var/cache/berth}"

DOCKER="${DOCKER_BIN:-/usr/bin/docker}"
if [ ! -x "$DOCKER" ]; then
  DOCKER="$(command -v docker || true)"
fi
[ -n "$DOCKER" ] || { echo "fixture-images: no docker client found" >&2; exit 1; }
# The classic builder: no buildx plugin is needed and the daemon's API 1.41 is enough.
export DOCKER_BUILDKIT=0

roles=(postgres mariadb redis nginx php-fpm node python frankenphp phpmyadmin)
declare -A aliases=(
  [postgres]="postgres:15-alpine postgres:16-alpine postgres:18-alpine"
  [mariadb]="mysql:8.0 mariadb:10.11 mariadb:11"
  [redis]="redis:7-alpine redis:alpine redis:7"
  [nginx]="nginx:alpine nginx:1.25-alpine nginx:latest"
  [php-fpm]="php:8.3-fpm-alpine php:8.2-fpm-alpine php:8.2-fpm php:8.3-fpm"
  [node]="node:20-alpine node:20 node:lts-alpine"
  [python]="python:3.11-slim python:3.11 python:3-slim"
  [frankenphp]="dunglas/frankenphp:1.9-php8.4 dunglas/frankenphp:1 dunglas/frankenphp:latest"
  [phpmyadmin]="phpmyadmin:latest phpmyadmin:5 phpmyadmin/phpmyadmin:latest"
)
rootfs_ref=berth-fixture/servers-rootfs:1
servers_ref=berth-fixture/servers:1
busybox_ref=berth-fixture/busybox:1

# Every reference that must carry the current key (the rootfs import carries the base key only).
all_refs=("$busybox_ref" "$servers_ref")
for role in "${roles[@]}"; do
  all_refs+=("berth-fixture/$role:1")
  # shellcheck disable=SC2206
  all_refs+=(${aliases[$role]})
done

log() { echo "fixture-images: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# step NAME COMMAND... : runs COMMAND and prints how long it took.
# Under set -e a failure stops the script, except where step is itself tested (if step ...).
step() {
  local name="$1" t rc
  shift
  t="$(now)"
  "$@"
  rc=$?
  log "$(printf '%-48s %7ss' "$name" "$(since "$t")")"
  return "$rc"
}

# quiet COMMAND...: runs COMMAND with its output kept aside, shown only if it fails.
quiet() {
  local out rc=0
  out="$(mktemp)"
  "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "failed (exit $rc): $*"
    tail -n 60 "$out" >&2
  fi
  rm -f "$out"
  return "$rc"
}

hash_files() { # hash_files PATH... (relative to the repository): one sha256 over names and contents
  (cd "$repo" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

label_of() { # label_of REF LABEL: the label's value, empty if the image or the label is missing
  "$DOCKER" image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

all_current() { # true when every reference exists and carries the current key
  local labels
  labels="$("$DOCKER" image inspect --format '{{index .Config.Labels "berth.fixture.key"}}' \
    "${all_refs[@]}" 2>/dev/null)" || return 1
  [ "$(printf '%s\n' "$labels" | grep -c -x -F "$key")" -eq "${#all_refs[@]}" ]
}

tag_aliases() {
  local role a
  for role in "${roles[@]}"; do
    for a in ${aliases[$role]}; do
      "$DOCKER" tag "berth-fixture/$role:1" "$a"
    done
  done
}

load_cache() {
  gunzip -c "$cache_file" | "$DOCKER" load -q >/dev/null || return 1
  tag_aliases
}

build_busybox() {
  local ctx
  ctx="$(mktemp -d)"
  cp -a "$images_dir/busybox/." "$ctx/"
  cp /bin/busybox "$ctx/busybox"
  local rc=0
  quiet "$DOCKER" build --force-rm --network=none --label "berth.fixture.key=$key" \
    -t "$busybox_ref" "$ctx" || rc=$?
  rm -rf "$ctx"
  [ "$rc" -eq 0 ] || log "(is /bin/busybox the static one from the busybox-static package?)"
  return "$rc"
}

build_rootfs() {
  local build_log status=0
  build_log="$(mktemp)"
  "$DOCKER" rmi berth-fixture/servers-rootfs:building >/dev/null 2>&1 || true
  bash "$images_dir/servers/base/build-rootfs.sh" 2>"$build_log" \
    | "$DOCKER" import \
        --change "LABEL berth.fixture.base-key=$base_key" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        - berth-fixture/servers-rootfs:building >/dev/null || status=$?
  if [ "$status" -ne 0 ]; then
    log "rootfs build failed (exit $status); last lines of its log:"
    tail -n 40 "$build_log" >&2
    rm -f "$build_log"
    "$DOCKER" rmi berth-fixture/servers-rootfs:building >/dev/null 2>&1 || true
    return "$status"
  fi
  rm -f "$build_log"
  "$DOCKER" tag berth-fixture/servers-rootfs:building "$rootfs_ref"
  "$DOCKER" rmi berth-fixture/servers-rootfs:building >/dev/null
}

# The rootfs import keeps only its base key; berth-fixture/servers:1 is the same file system with
# the current key as a label-only layer, so editing an entrypoint does not rebuild the rootfs.
label_image() { # label_image FROM TO
  printf 'FROM %s\n' "$1" \
    | quiet "$DOCKER" build --force-rm --network=none --label "berth.fixture.key=$key" -t "$2" -
}

build_role() { # build_role ROLE
  quiet "$DOCKER" build --force-rm --network=none --label "berth.fixture.key=$key" \
    -t "berth-fixture/$1:1" "$images_dir/servers/$1"
}

save_cache() {
  local tmp
  mkdir -p "$cache_dir" || return 1
  tmp="$(mktemp "$cache_dir/.fixture-images-$key.tar.gz.XXXXXX")" || return 1
  if "$DOCKER" save "${all_refs[@]}" "$rootfs_ref" | gzip -1 > "$tmp" && chmod 0644 "$tmp" \
    && mv -f "$tmp" "$cache_file"; then
    # Keep this file and the newest other one (switching branches back and forth stays cheap).
    ls -1t "$cache_dir"/fixture-images-*.tar.gz 2>/dev/null | grep -v -x -F "$cache_file" \
      | tail -n +2 | while read -r old; do rm -f "$old"; done
    return 0
  fi
  rm -f "$tmp"
  return 1
}

list_images() { # one line per reference: name, image id, size
  local ref
  for ref in "$rootfs_ref" "${all_refs[@]}"; do
    "$DOCKER" image inspect --format "$ref	{{slice .Id 7 19}}	{{.Size}}" "$ref" \
      | awk -F'\t' '{ printf "%-34s %s %6.0f MB\n", $1, $2, $3 / 1000000 }'
  done
}

# ---------------------------------------------------------------------------------------------

"$DOCKER" info >/dev/null 2>&1 || { log "the Docker daemon does not answer ($DOCKER info)"; exit 1; }

key="$(hash_files tests/images scripts/fixture-images.sh)"
base_key="$(hash_files tests/images/servers/base)"
cache_file="$cache_dir/fixture-images-$key.tar.gz"
t_start="$(now)"

# One run at a time (tests may start several).
lock_dir="$cache_dir"
mkdir -p "$lock_dir" 2>/dev/null && [ -w "$lock_dir" ] || lock_dir="${TMPDIR:-/tmp}"
exec 9>"$lock_dir/.fixture-images.lock"
if command -v flock >/dev/null; then
  flock 9
fi

# Under the lock no other run is writing: temporary files left here are from a killed run.
rm -f "$cache_dir"/.fixture-images-*.tar.gz.* 2>/dev/null || true

log "key $key"
if all_current; then
  log "all images are up to date"
else
  loaded=no
  if [ "${BERTH_FIXTURE_NO_CACHE:-}" != 1 ] && [ -s "$cache_file" ]; then
    if step "load $(basename "$cache_file")" load_cache && all_current; then
      loaded=yes
    else
      log "the cache file did not give every image; building"
    fi
  fi
  if [ "$loaded" = no ]; then
    step "build $busybox_ref" build_busybox
    if [ "$(label_of "$rootfs_ref" berth.fixture.base-key)" = "$base_key" ]; then
      log "reusing $rootfs_ref (tests/images/servers/base unchanged)"
    else
      step "build $rootfs_ref (mmdebstrap)" build_rootfs
    fi
    step "label $servers_ref" label_image "$rootfs_ref" "$servers_ref"
    for role in "${roles[@]}"; do
      step "build berth-fixture/$role:1" build_role "$role"
    done
    step "tag aliases" tag_aliases
    all_current || { log "some images are missing after the build"; exit 1; }
    if [ "${BERTH_FIXTURE_NO_CACHE:-}" != 1 ]; then
      if step "save $(basename "$cache_file")" save_cache; then :; else
        log "could not write $cache_file (continuing without a cache)"
      fi
    fi
  fi
  # Older builds of these images, now untagged.
  "$DOCKER" image prune -f --filter label=berth.fixture.key >/dev/null 2>&1 || true
  "$DOCKER" image prune -f --filter label=berth.fixture.base-key >/dev/null 2>&1 || true
fi
log "$(printf '%-48s %7ss' total "$(since "$t_start")")"
list_images
