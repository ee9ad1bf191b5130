#!/bin/bash
# Entrypoint of berth-fixture/redis:1, modelled on the official redis image's.
set -e

# "docker run image --maxmemory 64mb" or "docker run image /path/redis.conf" mean redis-server.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ]; then
  shift
  # The official image is built with protected mode off and listens on every interface.
  # Without a configuration file, do the same unless the command line says otherwise.
  if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
    extra=()
    case " $* " in *' --bind '*) ;; *) extra+=(--bind 0.0.0.0) ;; esac
    case " $* " in *' --protected-mode '*) ;; *) extra+=(--protected-mode no) ;; esac
    set -- "${extra[@]}" "$@"
  fi
  set -- redis-server "$@"
  if [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    umask 0077
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi

exec "$@"
