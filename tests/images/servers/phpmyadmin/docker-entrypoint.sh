#!/bin/sh
# Entrypoint of berth-fixture/phpmyadmin:1: as upstream, UPLOAD_LIMIT, MEMORY_LIMIT and
# MAX_EXECUTION_TIME become PHP settings; then the command runs.
set -e
ini=/etc/php/8.2/cli/conf.d/99-phpmyadmin-misc.ini
{
  echo "upload_max_filesize = ${UPLOAD_LIMIT:-2048K}"
  echo "post_max_size = ${UPLOAD_LIMIT:-2048K}"
  echo "memory_limit = ${MEMORY_LIMIT:-512M}"
  echo "max_execution_time = ${MAX_EXECUTION_TIME:-600}"
} > "$ini"
exec "$@"
