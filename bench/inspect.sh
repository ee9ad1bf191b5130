#!/usr/bin/env bash
# Benchmark: `berth inspect --json` against `docker compose config` (v2, the peer users have) and
# `docker-compose config` (v1), what a user would otherwise run to see the resolved model, on each
# seed fixture and on a generated 300-service file, in the same run, with hyperfine. Prints mean
# times and the speed-up ratios.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
runs="${BENCH_RUNS:-20}"

command -v hyperfine >/dev/null || ./scripts/setup.sh
cargo build --release --locked -q -p berth-cli
berth="$CARGO_TARGET_DIR/release/berth"
compose="$(command -v docker-compose || true)"
docker="$(command -v docker || true)"
{ [ -n "$compose" ] && [ -n "$docker" ] && "$docker" compose version >/dev/null 2>&1; } ||
  { echo "docker compose (v2) and docker-compose (v1) are the peers; run ./scripts/setup.sh" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A generated 300-service stack: a proxy, 298 apps wired to shared databases, env URLs and
# depends_on, so the graph has real work to do.
gen="$work/gen300"
mkdir -p "$gen"
{
  echo "services:"
  echo "  proxy:"
  echo "    image: nginx:alpine"
  echo "    ports: [\"127.0.0.1:8080:80\"]"
  for i in $(seq 1 298); do
    db=$(( (i % 10) + 1 ))
    echo "  app$i:"
    echo "    image: example/app:\${TAG:-1.0}"
    echo "    environment:"
    echo "      DATABASE_URL: postgresql://app:\${DB_PASSWORD:-pw}@db$db:5432/app$i"
    echo "      REDIS_HOST: cache"
    echo "      SERVICE_INDEX: \"$i\""
    echo "    depends_on: [cache]"
    echo "    ports: [\"$((20000 + i)):8000\"]"
  done
  echo "  cache:"
  echo "    image: redis:7-alpine"
} > "$gen/compose.yaml"
# proxy + 298 apps + cache = 300 services. The db1..db10 hosts are not services, so those URLs
# must resolve to nothing: the graph still has to look at every one of them.

cases=(
  "luminai:tests/fixtures/luminai/docker-compose.yml"
  "functionalfit:tests/fixtures/functionalfit/infra/docker-compose.yml"
  "primehub:tests/fixtures/primehub/docker-compose.yml"
  "orchesity:tests/fixtures/orchesity/docker-compose.yml"
  "fintrack:tests/fixtures/fintrack/docker-compose.yml"
  "generated-300:$gen/compose.yaml"
)

printf '\n%-16s %14s %22s %9s %22s %9s\n' "stack" "berth inspect" "docker compose config" "vs v2" "docker-compose config" "vs v1"
for c in "${cases[@]}"; do
  name="${c%%:*}"; file="$(realpath "${c#*:}")"; dir="$(dirname "$file")"
  json="$work/$name.json"
  # -N: no intermediate shell, so a few-millisecond command is timed as itself.
  hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$json" \
    --command-name berth "$berth inspect --json $dir -f $file" \
    --command-name v2 "$docker compose --project-directory $dir -f $file config" \
    --command-name v1 "$compose --project-directory $dir -f $file config" >/dev/null 2>&1
  python3 - "$json" "$name" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
b, v2, v1 = r["berth"], r["v2"], r["v1"]
print(f"{sys.argv[2]:<16} {b*1000:11.2f} ms {v2*1000:19.1f} ms {v2/b:8.1f}x {v1*1000:19.1f} ms {v1/b:8.1f}x")
PY
done
echo
echo "(mean of $runs runs each after 2 warm-ups, no shell in between; output to a pipe)"
