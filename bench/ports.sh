#!/usr/bin/env bash
# Benchmark: `berth ports --json` (every host port of the stack checked against the host's
# listeners, the engine's containers and the stack itself, owners named, free ports suggested)
# against what a person runs instead, `lsof -nP -iTCP -sTCP:LISTEN` and `ss -ltnup`, which only
# list sockets and name no container. On each seed fixture, in the same run, with hyperfine;
# prints mean times and ratios. A few listeners are started first so the tables are not empty.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
runs="${BENCH_RUNS:-20}"

command -v hyperfine >/dev/null || ./scripts/setup.sh
command -v lsof >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lsof >/dev/null; }
command -v ss >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
cargo build --release --locked -q -p berth-cli
berth="$CARGO_TARGET_DIR/release/berth"
work="$(mktemp -d)"
export BERTH_DATA_DIR="$work/data"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Listeners in the seeds' way (80 and 6379 as Luminai wants them), as a developer's machine has.
for port in 80 6379 5432; do
  python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(3600)' "$port" &
  pids+=($!)
done
sleep 0.5

cases=(
  "luminai:tests/fixtures/luminai/docker-compose.yml"
  "functionalfit:tests/fixtures/functionalfit/infra/docker-compose.yml"
  "primehub:tests/fixtures/primehub/docker-compose.yml"
  "orchesity:tests/fixtures/orchesity/docker-compose.yml"
  "fintrack:tests/fixtures/fintrack/docker-compose.yml"
)
printf '\n%-16s %12s %8s %14s %9s %10s %9s\n' "stack" "berth ports" "taken" "lsof -iTCP" "vs lsof" "ss -ltnup" "vs ss"
for c in "${cases[@]}"; do
  name="${c%%:*}"; file="$(realpath "${c#*:}")"; dir="$(dirname "$file")"
  json="$work/$name.json"
  taken="$("$berth" ports --json "$dir" -f "$file" | python3 -c 'import json,sys; print(sum(p["status"]=="conflict" for p in json.load(sys.stdin)["ports"]))' || true)"
  # -i: berth exits 6 when a port is taken, which is the point here. -N: no shell in between.
  hyperfine -N -i --style none --warmup 2 --runs "$runs" --export-json "$json" \
    --command-name berth "$berth ports --json $dir -f $file" \
    --command-name lsof "lsof -nP -iTCP -sTCP:LISTEN" \
    --command-name ss "ss -ltnup" >/dev/null 2>&1
  python3 - "$json" "$name" "$taken" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
b, l, s = r["berth"], r["lsof"], r["ss"]
print(f"{sys.argv[2]:<16} {b*1000:9.2f} ms {sys.argv[3]:>8} {l*1000:11.1f} ms {l/b:8.1f}x {s*1000:7.1f} ms {s/b:8.2f}x")
PY
done
echo
echo "(mean of $runs runs each after 2 warm-ups; berth includes loading the stack, asking the engine and bind probes)"
