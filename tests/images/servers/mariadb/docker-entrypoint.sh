#!/bin/bash
# Entrypoint of berth-fixture/mariadb:1, modelled on the official mariadb and mysql images'.
# Variables (MARIADB_* wins over MYSQL_*, each also as *_FILE): ROOT_PASSWORD,
# ALLOW_EMPTY_ROOT_PASSWORD (MYSQL_ALLOW_EMPTY_PASSWORD), RANDOM_ROOT_PASSWORD, ROOT_HOST,
# DATABASE, USER, PASSWORD.
# First start runs /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sql.xz|*.sh.
set -eo pipefail

log() { echo "$(date '+%F %T') 0 [Note] [Entrypoint]: $*"; }
die() { echo "$(date '+%F %T') 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# "docker run image --opt" means "mariadbd --opt"; mysqld is the same server.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- mariadbd "$@"
fi
case "$1" in
  mysqld|mariadbd|/usr/sbin/mysqld|/usr/sbin/mariadbd) shift; set -- mariadbd "$@" ;;
  *) exec "$@" ;;
esac

# Options only MySQL 8 knows would stop MariaDB; "--loose-" makes MariaDB ignore them.
args=(mariadbd)
shift
for a in "$@"; do
  case "$a" in
    --default-authentication-plugin*|--default_authentication_plugin*|--authentication-policy*|--authentication_policy*|--mysql-native-password*|--mysql_native_password*|--mysqlx*|--skip-mysqlx*)
      args+=("--loose-${a#--}") ;;
    *) args+=("$a") ;;
  esac
done
set -- "${args[@]}"

DATADIR=/var/lib/mysql
for a in "$@"; do
  case "$a" in --datadir=*) DATADIR="${a#--datadir=}" ;; esac
done
SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$DATADIR" /run/mysqld
  find "$DATADIR" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' + 2>/dev/null || true
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$BASH_SOURCE" "$@"
fi

env_or() { # env_or NAME: MARIADB_NAME, MARIADB_NAME_FILE, MYSQL_NAME or MYSQL_NAME_FILE
  local v f
  for v in "MARIADB_$1" "MYSQL_$1"; do
    f="${v}_FILE"
    if [ -n "${!v:-}" ]; then printf '%s' "${!v}"; return; fi
    if [ -n "${!f:-}" ]; then printf '%s' "$(< "${!f}")"; return; fi
  done
}
sql_string() { local s="${1//\\/\\\\}"; s="${s//\'/\\\'}"; printf "'%s'" "$s"; }
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

if [ ! -d "$DATADIR/mysql" ]; then
  ROOT_PASSWORD="$(env_or ROOT_PASSWORD)"
  ALLOW_EMPTY="$(env_or ALLOW_EMPTY_ROOT_PASSWORD)"
  [ -n "$ALLOW_EMPTY" ] || ALLOW_EMPTY="${MYSQL_ALLOW_EMPTY_PASSWORD:-}"
  RANDOM_ROOT="$(env_or RANDOM_ROOT_PASSWORD)"
  ROOT_HOST="$(env_or ROOT_HOST)"; ROOT_HOST="${ROOT_HOST:-%}"
  DATABASE="$(env_or DATABASE)"
  USER_NAME="$(env_or USER)"
  USER_PASSWORD="$(env_or PASSWORD)"
  if [ -z "$ROOT_PASSWORD" ] && [ -z "$ALLOW_EMPTY" ] && [ -z "$RANDOM_ROOT" ]; then
    die "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
  fi
  if [ -n "$RANDOM_ROOT" ] && [ -z "$ROOT_PASSWORD" ]; then
    ROOT_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    log "GENERATED ROOT PASSWORD: $ROOT_PASSWORD"
  fi
  [ "$USER_NAME" != root ] || die "MARIADB_USER=root is not allowed; use the ROOT_PASSWORD variables instead"

  log "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-log-bin --expire-logs-days=0 --default-time-zone=SYSTEM \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
    "${@:2}" >/dev/null

  # A temporary server without networking, on a private socket, so that health checks (which use
  # the default socket or TCP) do not pass before initialisation is over.
  tmpdir="$(mktemp -d)"
  "$@" --skip-networking --socket="$tmpdir/mysqld.sock" --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  tmp_pid=$!
  boot=(mariadb --protocol=socket --socket="$tmpdir/mysqld.sock" -uroot --batch --skip-column-names)
  for _ in $(seq 1 300); do
    "${boot[@]}" -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$tmp_pid" 2>/dev/null || die "temporary server failed to start"
    sleep 0.1
  done
  "${boot[@]}" -e 'SELECT 1' >/dev/null || die "temporary server did not answer"

  hc_password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
    # mariadb-install-db's extra root accounts (root@127.0.0.1, root@::1, root@<hostname>) have no
    # password and, with skip-name-resolve, shadow root@'%' for TCP connections; anonymous
    # accounts likewise. Keep only root@localhost and the system accounts.
    "${boot[@]}" -e "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.global_priv WHERE NOT (Host = 'localhost' AND User IN ('root', 'mysql', 'mariadb.sys'))" \
      | while read -r account; do echo "DROP USER IF EXISTS $account;"; done
    if [ -n "$ROOT_PASSWORD" ]; then
      echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD($(sql_string "$ROOT_PASSWORD")) OR unix_socket;"
    fi
    if [ "$ROOT_HOST" != localhost ]; then
      echo "CREATE USER 'root'@$(sql_string "$ROOT_HOST") IDENTIFIED BY $(sql_string "$ROOT_PASSWORD");"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$ROOT_HOST") WITH GRANT OPTION;"
      echo "GRANT PROXY ON ''@'%' TO 'root'@$(sql_string "$ROOT_HOST") WITH GRANT OPTION;"
    fi
    echo "CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY $(sql_string "$hc_password");"
    echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY $(sql_string "$hc_password");"
    echo "CREATE USER 'healthcheck'@'::1' IDENTIFIED BY $(sql_string "$hc_password");"
    echo "GRANT USAGE ON *.* TO 'healthcheck'@'localhost', 'healthcheck'@'127.0.0.1', 'healthcheck'@'::1';"
    if [ -n "$DATABASE" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$DATABASE");"
    fi
    if [ -n "$USER_NAME" ] && [ -n "$USER_PASSWORD" ]; then
      echo "CREATE USER $(sql_string "$USER_NAME")@'%' IDENTIFIED BY $(sql_string "$USER_PASSWORD");"
      if [ -n "$DATABASE" ]; then
        echo "GRANT ALL ON $(sql_ident "${DATABASE//_/\\_}").* TO $(sql_string "$USER_NAME")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | "${boot[@]}"
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=socket\n' \
    "$SOCKET" "$hc_password" > "$DATADIR/.my-healthcheck.cnf"
  chmod 0600 "$DATADIR/.my-healthcheck.cnf"

  client=(mariadb --protocol=socket --socket="$tmpdir/mysqld.sock" -uroot)
  [ -z "$ROOT_PASSWORD" ] || client+=(--password="$ROOT_PASSWORD")
  [ -z "$DATABASE" ] || client+=(--database="$DATABASE")
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql) log "running $f"; "${client[@]}" < "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${client[@]}" ;;
      *.sql.xz) log "running $f"; xz -dc "$f" | "${client[@]}" ;;
      *.sql.zst) log "running $f"; zstd -dc "$f" | "${client[@]}" ;;
      *) log "ignoring $f" ;;
    esac
  done
  shopt -u nullglob

  kill "$tmp_pid"
  wait "$tmp_pid" || true
  rm -rf "$tmpdir"
  log "MariaDB init process done. Ready for start up."
fi

exec "$@"
