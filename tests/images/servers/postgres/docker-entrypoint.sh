#!/bin/bash
# Entrypoint of berth-fixture/postgres:1, modelled on the official postgres image's:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default: the user),
# POSTGRES_INITDB_ARGS (each also as *_FILE), POSTGRES_HOST_AUTH_METHOD, PGDATA,
# /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sql.xz|*.sh.
set -Eeo pipefail

# "docker run image -c foo=bar" means "postgres -c foo=bar".
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

# Anything other than the server (psql, pg_dump, bash...) runs as it is.
if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  chmod 2775 /var/run/postgresql
  # Bind-mounted or pre-existing content must belong to the server's user.
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' + 2>/dev/null || true
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

# VAR_FILE (Docker secrets) gives VAR the content of a file.
file_env() {
  local var="$1" file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ] && [ -z "${!var:-}" ]; then
    export "$var"="$(< "${!file_var}")"
  fi
  unset "$file_var"
}
for v in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB POSTGRES_INITDB_ARGS; do file_env "$v"; done

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  POSTGRES_USER="${POSTGRES_USER:-postgres}"
  POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  auth="${POSTGRES_HOST_AUTH_METHOD:-}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != 'trust' ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
MSG
    exit 1
  fi
  [ -n "$auth" ] || auth=scram-sha-256

  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  {
    echo
    echo "host all all all $auth"
  } >> "$PGDATA/pg_hba.conf"
  {
    echo
    echo "listen_addresses = '*'"
    echo "jit = off"
  } >> "$PGDATA/postgresql.conf"

  # A temporary server on a private socket only, so that health checks (pg_isready on the
  # default socket) do not pass before initialisation is over.
  sockdir="$(mktemp -d)"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sockdir" start >/dev/null
  export PGHOST="$sockdir" PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
  psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --dbname postgres)
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    exists="$("${psql_cmd[@]}" -tA --set db="$POSTGRES_DB" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db' ;
SQL
)"
    if [ -z "$exists" ]; then
      "${psql_cmd[@]}" --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db" ;
SQL
    fi
  fi
  psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB")
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then echo "entrypoint: running $f"; "$f"; else echo "entrypoint: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "entrypoint: running $f"; "${psql_cmd[@]}" -f "$f" ;;
      *.sql.gz) echo "entrypoint: running $f"; gunzip -c "$f" | "${psql_cmd[@]}" ;;
      *.sql.xz) echo "entrypoint: running $f"; xz -dc "$f" | "${psql_cmd[@]}" ;;
      *) echo "entrypoint: ignoring $f" ;;
    esac
  done
  shopt -u nullglob
  unset PGHOST PGUSER PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rmdir "$sockdir" 2>/dev/null || true
  echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
