#!/bin/bash
# A small stand-in for the official mariadb image's healthcheck.sh. Understands --connect,
# --innodb_initialized and --innodb_buffer_pool_loaded; other options are accepted and ignored.
# It logs in as the healthcheck@localhost user that the entrypoint creates on first start.
set -eo pipefail
datadir="${DATADIR:-/var/lib/mysql}"
defaults=()
[ -r "$datadir/.my-healthcheck.cnf" ] && defaults=(--defaults-extra-file="$datadir/.my-healthcheck.cnf")
client=(mariadb "${defaults[@]}" --protocol=socket --socket=/run/mysqld/mysqld.sock --batch --skip-column-names)
checks=()
for arg in "$@"; do
  case "$arg" in
    --connect|--innodb_initialized|--innodb_buffer_pool_loaded) checks+=("${arg#--}") ;;
    *) ;;
  esac
done
[ ${#checks[@]} -gt 0 ] || checks=(connect)
for check in "${checks[@]}"; do
  case "$check" in
    connect) "${client[@]}" -e 'SELECT 1' >/dev/null ;;
    innodb_initialized)
      [ "$("${client[@]}" -e "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES','DEFAULT','ENABLED')")" = 1 ] ;;
    innodb_buffer_pool_loaded)
      "${client[@]}" -e "SHOW GLOBAL STATUS LIKE 'innodb_buffer_pool_load_status'" | grep -q -i 'completed\|not started' ;;
  esac
done
