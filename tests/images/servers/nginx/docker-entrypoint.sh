#!/bin/sh
# Entrypoint of berth-fixture/nginx:1, modelled on the official nginx image's: when the command is
# nginx, run /docker-entrypoint.d/*.sh first (unless NGINX_ENTRYPOINT_QUIET_LOGS is set, say so).
set -e

log() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$@"; }

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  if [ "$1" = "nginx-debug" ]; then shift; set -- nginx "$@"; fi
  for f in /docker-entrypoint.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.envsh) if [ -x "$f" ]; then log "$0: Sourcing $f"; . "$f"; else log "$0: Ignoring $f, not executable"; fi ;;
      *.sh) if [ -x "$f" ]; then log "$0: Launching $f"; "$f"; else log "$0: Ignoring $f, not executable"; fi ;;
      *) log "$0: Ignoring $f" ;;
    esac
  done
  log "$0: Configuration complete; ready for start up"
fi

exec "$@"
