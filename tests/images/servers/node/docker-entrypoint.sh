#!/bin/sh
# Entrypoint of berth-fixture/node:1, the official node image's: a first argument that is an
# option, or not a command, is run with node.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
