#!/usr/bin/env bash
# Benchmark: `berth snapshot` and `berth restore` (a database dumped through its own tools,
# zstd-compressed and hashed as it streams, row counts recorded; restored after every checksum
# and the server's version are checked, PostgreSQL into a new database swapped in once its counts
# match) against the seeds' recipes, in the same run, on a copy of tests/fixtures/snapshots:
#   PostgreSQL  `docker compose exec -T pg pg_dump -U app shop | gzip > backup.sql.gz`, and
#               `gunzip -c backup.sql.gz | docker compose exec -T pg psql -U app -d shop2 -q`;
#   MariaDB     `mariadb-dump ... --single-transaction --routines --triggers --events blog | gzip`,
#               and `gunzip -c m.sql.gz | docker compose exec -T maria mariadb ... blog2`.
# The data is generated inside the containers first: PostgreSQL of BENCH_PG_MB MB on disk
# (default 500), MariaDB of BENCH_MARIA_MB (default 100). Each command runs once (a dump of
# hundreds of MB is its own warm-up); prints sizes, times, MB/s and ratios beside the goals of
# the issue, without asserting them. Not a test: scripts/test.sh never calls it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
pg_mb="${BENCH_PG_MB:-500}"
maria_mb="${BENCH_MARIA_MB:-100}"

command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jq >/dev/null; }
cargo build --release --locked -q -p berth-cli
berth="$CARGO_TARGET_DIR/release/berth"
work="$(mktemp -d)"
export BERTH_DATA_DIR="$work/data"
# The folder's name is the project's name, for berth and for compose alike.
dir="$work/snapbench-$$"
cp -r tests/fixtures/snapshots "$dir"
cleanup() {
  (cd "$dir" && docker compose down -v --remove-orphans >/dev/null 2>&1) || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$dir"

pg() { docker compose exec -T pg psql -X -q -A -t -v ON_ERROR_STOP=1 -U app "$@"; }
maria() { docker compose exec -T -e MYSQL_PWD=maria-secret-9 maria mariadb -uroot -N -B "$@"; }
now() { date +%s.%N; }
# Times one command line (run by bash, so pipelines are timed whole); the seconds go to $secs.
timed() {
  local t0
  t0=$(now)
  bash -c "$1"
  secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')
}
calc() { awk "BEGIN{printf \"$1\", $2}"; }
mb() { calc %.1f "$1/1000000"; }

echo "starting pg and maria ($(basename "$dir"))"
docker compose up -d --wait pg maria >/dev/null 2>&1

# PostgreSQL: three tables with their indexes, filled by batches of generate_series until the
# database holds BENCH_PG_MB on disk. Text of mixed content: md5 strings (hex, half
# compressible), repeated words, a few enum-like words, numbers and times.
pg -d shop <<'SQL'
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
  city text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL,
  status text NOT NULL, note text, created_at timestamptz NOT NULL);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_created ON orders (created_at);
CREATE TABLE events (id bigserial PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL,
  payload text NOT NULL, at timestamptz NOT NULL);
CREATE INDEX events_order ON events (order_id);
SQL
t0=$(now)
batch=0
while :; do
  size=$(pg -d shop -c "SELECT pg_database_size('shop')")
  ((size < pg_mb * 1000000)) || break
  base=$((batch * 100000))
  pg -d shop <<SQL
INSERT INTO customers (email, name, city, created_at)
  SELECT 'user' || g || '@example.com', initcap(md5(g::text)), (ARRAY['Berlin','Lyon','Porto','Oslo','Turin','Gent'])[1 + g % 6],
         now() - g * interval '1 minute'
  FROM generate_series($base / 10 + 1, $base / 10 + 10000) g;
INSERT INTO orders (customer_id, total, status, note, created_at)
  SELECT 1 + g % ($base / 10 + 10000), (g % 100000) / 100.0, (ARRAY['new','paid','shipped','returned'])[1 + g % 4],
         CASE WHEN g % 3 = 0 THEN repeat('fragile handle with care ', 1 + g % 4) ELSE md5(g::text) || ' ' || md5((g * 7)::text) END,
         now() - g * interval '1 second'
  FROM generate_series($base + 1, $base + 100000) g;
INSERT INTO events (order_id, kind, payload, at)
  SELECT $base + 1 + g % 100000, (ARRAY['created','paid','packed','shipped','delivered'])[1 + g % 5],
         '{"sku":"' || md5((g + $base)::text) || '","qty":' || (g % 9) || ',"msg":"' || repeat('status update ', 1 + g % 6) || md5(random()::text) || '"}',
         now() - g * interval '1 second'
  FROM generate_series(1, 200000) g;
SQL
  batch=$((batch + 1))
done
pg -d shop -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
pg_bytes=$(pg -d shop -c "SELECT pg_database_size('shop')")
pg_rows=$(pg -d shop -c "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM events)")
echo "PostgreSQL shop: $(pg -d shop -c "SELECT pg_size_pretty(pg_database_size('shop'))") on disk, $pg_rows rows ($(calc %.0f "$(now) - $t0") s to generate)"

# MariaDB: two tables filled by INSERT ... SELECT doubling until blog holds BENCH_MARIA_MB.
t0=$(now)
maria blog <<'SQL'
CREATE TABLE posts (id int AUTO_INCREMENT PRIMARY KEY, author_id int NOT NULL, title varchar(200) NOT NULL,
  body text NOT NULL, created datetime NOT NULL, KEY posts_author (author_id)) ENGINE=InnoDB;
CREATE TABLE comments (id int AUTO_INCREMENT PRIMARY KEY, post_id int NOT NULL, body text NOT NULL,
  created datetime NOT NULL, KEY comments_post (post_id)) ENGINE=InnoDB;
INSERT INTO posts (author_id, title, body, created)
  VALUES (1, 'first post', REPEAT('hello blog ', 20), NOW());
SQL
maria_size() {
  maria blog -e "ANALYZE TABLE posts, comments" >/dev/null
  maria -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'blog'"
}
while :; do
  size=$(maria_size)
  ((size < maria_mb * 1000000)) || break
  maria blog <<'SQL'
SET @n = (SELECT MAX(id) FROM posts);
INSERT INTO posts (author_id, title, body, created)
  SELECT 1 + (id + @n) % 500, CONCAT('post ', id + @n, ' ', MD5(id + @n)),
         IF((id + @n) % 2 = 0, REPEAT('lorem ipsum dolor sit amet ', 1 + (id + @n) % 8), CONCAT(MD5(id), MD5(RAND()), MD5(id * 3))),
         NOW() - INTERVAL (id + @n) MINUTE
  FROM posts;
INSERT INTO comments (post_id, body, created)
  SELECT id, CONCAT(REPEAT('nice one ', 1 + id % 5), MD5(RAND())), NOW() - INTERVAL id SECOND
  FROM posts WHERE id > @n;
SQL
done
maria_bytes=$(maria_size)
maria_rows=$(maria -e "SELECT (SELECT COUNT(*) FROM blog.posts) + (SELECT COUNT(*) FROM blog.comments)")
echo "MariaDB blog: $(mb "$maria_bytes") MB (data + indexes), $maria_rows rows ($(calc %.0f "$(now) - $t0") s to generate)"

# PostgreSQL. The recipe first: both then read a database already in the page cache.
timed "docker compose exec -T pg pg_dump -U app shop | gzip > '$work/backup.sql.gz'"
pg_dump_s=$secs
pg_gz=$(stat -c %s "$work/backup.sql.gz")
timed "'$berth' snapshot '$dir' pg --json > '$work/pg.json'"
pg_snap_s=$secs
pg_id=$(jq -r .id "$work/pg.json")
pg_stored=$(jq '[.items[].bytes] | add' "$work/pg.json")
pg_raw=$(jq '[.items[].raw_bytes] | add' "$work/pg.json")
timed "'$berth' restore '$dir' '$pg_id' pg --json > '$work/pg-restore.json'"
pg_restore_s=$secs
pg -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS shop2" -c "CREATE DATABASE shop2"
timed "gunzip -c '$work/backup.sql.gz' | docker compose exec -T pg psql -U app -d shop2 -q >/dev/null"
pg_psql_s=$secs
pg2_rows=$(pg -d shop2 -c "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM events)")
pg1_rows=$(pg -d shop -c "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM events)")
pg -d postgres -c "DROP DATABASE shop2"

# MariaDB, in the same order.
timed "docker compose exec -T maria mariadb-dump -uroot -pmaria-secret-9 --single-transaction --routines --triggers --events blog | gzip > '$work/m.sql.gz'"
m_dump_s=$secs
m_gz=$(stat -c %s "$work/m.sql.gz")
timed "'$berth' snapshot '$dir' maria --json > '$work/maria.json'"
m_snap_s=$secs
m_id=$(jq -r .id "$work/maria.json")
m_stored=$(jq '[.items[].bytes] | add' "$work/maria.json")
m_raw=$(jq '[.items[].raw_bytes] | add' "$work/maria.json")
timed "'$berth' restore '$dir' '$m_id' maria --json > '$work/maria-restore.json'"
m_restore_s=$secs
maria -e "DROP DATABASE IF EXISTS blog2; CREATE DATABASE blog2"
timed "gunzip -c '$work/m.sql.gz' | docker compose exec -T maria mariadb -uroot -pmaria-secret-9 blog2"
m_load_s=$secs
m2_rows=$(maria -e "SELECT (SELECT COUNT(*) FROM blog2.posts) + (SELECT COUNT(*) FROM blog2.comments)")
m1_rows=$(maria -e "SELECT (SELECT COUNT(*) FROM blog.posts) + (SELECT COUNT(*) FROM blog.comments)")
maria -e "DROP DATABASE blog2"

verdict() { awk -v r="$1" -v g="$2" 'BEGIN{print (r >= g ? "met" : "not met")}'; }
# One table row: what, berth's seconds, the recipe's, the database's size (MB/s is of that).
row() {
  printf '%-24s %8.2f s %9.1f MB/s %10.2f s %9.1f MB/s\n' "$1" "$2" "$(calc %.3f "$4/1000000/$2")" \
    "$3" "$(calc %.3f "$4/1000000/$3")"
}
echo
echo "PostgreSQL shop: $(mb "$pg_bytes") MB on disk, $pg_rows rows; MariaDB blog: $(mb "$maria_bytes") MB, $maria_rows rows"
echo "(MB = 10^6 bytes; MB/s is the database's size on disk over the time; each command run once)"
printf '\n%-24s %23s %26s\n' "" "berth" "recipe"
row "pg snapshot / pg_dump" "$pg_snap_s" "$pg_dump_s" "$pg_bytes"
row "pg restore / psql" "$pg_restore_s" "$pg_psql_s" "$pg_bytes"
row "maria snapshot / dump" "$m_snap_s" "$m_dump_s" "$maria_bytes"
row "maria restore / mariadb" "$m_restore_s" "$m_load_s" "$maria_bytes"
printf '\n%-24s %14s %14s %14s\n' "files" "berth stored" "(raw dump)" "recipe .gz"
printf '%-24s %11s MB %11s MB %11s MB\n' "pg (roles + every db)" "$(mb "$pg_stored")" "$(mb "$pg_raw")" "$(mb "$pg_gz")"
printf '%-24s %11s MB %11s MB %11s MB\n' "maria (blog)" "$(mb "$m_stored")" "$(mb "$m_raw")" "$(mb "$m_gz")"

echo
r=$(calc %.3f "$pg_dump_s/$pg_snap_s"); f=$(calc %.0f "100*$pg_stored/$pg_gz")
echo "pg snapshot:    berth is $(calc %.1f "$r")× the recipe's throughput, file $f% of the recipe's   (goal ≥ 1.0× with a smaller file: $(verdict "$r" 1)$( ((f < 100)) || echo ", file not smaller"))"
r=$(calc %.3f "$pg_psql_s/$pg_restore_s")
echo "pg restore:     berth restore $(calc %.1f "$r")× faster   (goal ≥ 2.0×: $(verdict "$r" 2))"
r=$(calc %.3f "$m_dump_s/$m_snap_s"); f=$(calc %.0f "100*$m_stored/$m_gz")
echo "maria snapshot: berth is $(calc %.1f "$r")× the recipe's throughput, file $f% of the recipe's   (goal ≥ 1.0× with a smaller file: $(verdict "$r" 1)$( ((f < 100)) || echo ", file not smaller"))"
r=$(calc %.3f "$m_load_s/$m_restore_s")
echo "maria restore:  berth restore $(calc %.1f "$r")× faster   (goal ≥ 2.0×: $(verdict "$r" 2))"
echo
echo "The recipes restore into an empty database (shop2, blog2) and check nothing; berth verifies every"
echo "file's SHA-256 and the server's version first, restores PostgreSQL into a new database, checks its"
echo "row counts and swaps it in (MariaDB: recreated, loaded, counts checked); berth's snapshot also"
echo "counts every table's rows and, for pg, saves the roles and every database of the server."
echo "Rows after restore: pg berth $pg1_rows, recipe $pg2_rows (of $pg_rows); maria berth $m1_rows, recipe $m2_rows (of $maria_rows)"
