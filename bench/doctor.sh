#!/usr/bin/env bash
# Benchmark: `berth doctor --json` on the FunctionalFit seed up and healthy (7 services with
# `--profile dev`), against what the seed's documents have a person type for the same facts, in
# the same run, interleaved:
#   checklist — `berth doctor DIR -p NAME --profile dev --json` (files, .env, compose, engine,
#               ports, certificates, images, disk, running and healthy, drift, diagnoses from
#               each container's logs and state, and every connection probed) against a bash
#               function running the manual recipe: `docker info`, `docker compose version`,
#               `docker compose ps`, `docker compose config -q`, `ss -ltn`, `docker system df`
#               and `docker inspect --format '{{.State.Health.Status}}'` for each service with a
#               health check (which probes nothing and reads no logs);
#   one probe — berth's own per-probe `ms` from the JSON (every probe of every run) against
#               `docker compose exec -T CONSUMER bash -c 'exec 3<>/dev/tcp/HOST/PORT'` for the
#               same edges, with the consumer's own tool as berth picks it (bash, python3, wget),
#               and the same through plain `docker exec` (no Compose CLI in between).
# BENCH_RUNS iterations each (default 10) after one warm-up; prints median, p90 and ratios
# beside the goals (checklist < 1 s, one probe < 100 ms), without asserting them. The seed
# publishes fixed host ports (8080, 5173) and fixed volume names, so nothing else may run it:
# the script says so and exits when they are taken. Not a test: scripts/test.sh never calls it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
runs="${BENCH_RUNS:-10}"

command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jq >/dev/null; }
command -v ss >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
# Builds of the workspace share a lock where other builds run beside this one.
lock=()
command -v flock >/dev/null && lock=(flock /tmp/berth-cargo.lock)
"${lock[@]}" cargo build --release --locked -q -p berth-cli
berth="$CARGO_TARGET_DIR/release/berth"
work="$(mktemp -d)"
export BERTH_DATA_DIR="$work/data"
name="docbench-$$"
opts=(-p "$name" --profile dev)
# A copy of the whole seed (infra builds from ../backend), as the seed tests make it.
mkdir -p "$work/functionalfit"
for f in tests/fixtures/functionalfit/*; do
  [[ "$(basename "$f")" == expected ]] || cp -r "$f" "$work/functionalfit/"
done
dir="$work/functionalfit/infra"
started=0
cleanup() {
  if ((started)); then
    (cd "$dir" && "$berth" down -v --remove-orphans "${opts[@]}" >/dev/null 2>&1) ||
      (cd "$dir" && docker compose "${opts[@]}" down -v --remove-orphans >/dev/null 2>&1) || true
    # The images `up` built for this project's name (php-fpm, queue-worker, scheduler).
    docker images -q --filter "reference=$name-*" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$dir"

# Nothing else may hold the seed's host ports or its fixed volumes (another run of the seed).
ports_rc=0
"$berth" ports --json "${opts[@]}" >"$work/ports.json" || ports_rc=$?
if ((ports_rc != 0)); then
  echo "the FunctionalFit seed's host ports are busy, not benchmarking:" >&2
  jq -r '.ports[] | select(.status == "conflict") | "  \(.host_port) (\(.service)): \(.message)"' "$work/ports.json" >&2 || true
  exit 1
fi
for v in functionalfit_mysql_data functionalfit_redis_data; do
  users="$(docker ps -a --filter "volume=$v" --format '{{.Names}}')"
  if [[ -n "$users" ]]; then
    echo "volume $v is in use by ${users//$'\n'/ }, another run of the seed: not benchmarking" >&2
    exit 1
  fi
done

echo "starting FunctionalFit --profile dev as $name (berth up, waits for health checks)"
started=1
if ! "$berth" up "${opts[@]}" --timeout 240 >"$work/up.log" 2>&1; then
  tail -20 "$work/up.log" >&2
  exit 1
fi

# The recipe's facts: which services have a health check (from the files), their containers.
health=()
while read -r svc; do
  health+=("$name-$svc-1")
done < <(docker compose "${opts[@]}" config --format json |
  jq -r '.services | to_entries[] | select(.value.healthcheck and (.value.healthcheck.disable | not)) | .key')
recipe() {
  docker info >/dev/null
  docker compose version >/dev/null
  docker compose -p "$name" --profile dev ps >/dev/null
  docker compose -p "$name" --profile dev config -q
  ss -ltn >/dev/null
  docker system df >/dev/null
  local c
  for c in "${health[@]}"; do
    docker inspect --format '{{.State.Health.Status}}' "$c" >/dev/null
  done
}

ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f\n", (b-a)*1000}'; }
doctor_rc=0
doctor() {
  local rc=0
  "$berth" doctor "$dir" "${opts[@]}" --json >"$1" || rc=$?
  ((rc == 0)) || doctor_rc=$rc
}

# 1. The checklist, berth and the recipe taking turns.
doctor "$work/warm.json"
recipe
for ((i = 1; i <= runs; i++)); do
  t0=$EPOCHREALTIME
  doctor "$work/doctor-$i.json"
  t1=$EPOCHREALTIME
  recipe
  t2=$EPOCHREALTIME
  ms "$t0" "$t1" >>"$work/berth.ms"
  ms "$t1" "$t2" >>"$work/recipe.ms"
  jq '[.probes[].ms] | add // 0' "$work/doctor-$i.json" >>"$work/probes-sum.ms"
done
jq -r '.probes[].ms' "$work"/doctor-*.json >"$work/probe.ms"

# 2. One probe: the edges berth probed, each asked by hand from its consumer.
mapfile -t edges < <(jq -r '.probes[] | "\(.from) \(.host) \(.port)"' "$work/doctor-1.json")
declare -A tool cid
for e in "${edges[@]}"; do
  read -r from _ _ <<<"$e"
  [[ -n "${tool[$from]:-}" ]] && continue
  cid[$from]="$(docker compose "${opts[@]}" ps -q "$from")"
  if docker exec "${cid[$from]}" bash -c 'exit 0' >/dev/null 2>&1; then tool[$from]=bash
  elif docker exec "${cid[$from]}" python3 -c pass >/dev/null 2>&1; then tool[$from]=python3
  else tool[$from]=wget
  fi
done
failed=0
for ((i = 0; i <= runs; i++)); do
  for e in "${edges[@]}"; do
    read -r from host port <<<"$e"
    case "${tool[$from]}" in
      bash) cmd=(bash -c "exec 3<>/dev/tcp/$host/$port") ;;
      python3) cmd=(python3 -c "import socket; socket.create_connection(('$host', $port), 3).close()") ;;
      wget) cmd=(wget -q -O /dev/null -T 3 "http://$host:$port/") ;;
    esac
    t0=$EPOCHREALTIME
    docker compose "${opts[@]}" exec -T "$from" "${cmd[@]}" >/dev/null 2>&1 || failed=$((failed + 1))
    t1=$EPOCHREALTIME
    docker exec "${cid[$from]}" "${cmd[@]}" >/dev/null 2>&1 || failed=$((failed + 1))
    t2=$EPOCHREALTIME
    ((i == 0)) && continue # the warm-up
    ms "$t0" "$t1" >>"$work/compose-exec.ms"
    ms "$t1" "$t2" >>"$work/docker-exec.ms"
  done
done

# Median and p90 (nearest rank) of a file of milliseconds.
quantiles() { sort -g "$1" | awk '{v[NR]=$1} END{m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; p = int(0.9*NR); if (p < 0.9*NR) p++; printf "%s %s\n", m, v[p]}'; }
read -r b_med b_p90 < <(quantiles "$work/berth.ms")
read -r r_med r_p90 < <(quantiles "$work/recipe.ms")
read -r s_med s_p90 < <(quantiles "$work/probes-sum.ms")
read -r p_med p_p90 < <(quantiles "$work/probe.ms")
read -r c_med c_p90 < <(quantiles "$work/compose-exec.ms")
read -r d_med d_p90 < <(quantiles "$work/docker-exec.ms")
verdict() { awk -v t="$1" -v g="$2" 'BEGIN{print (t < g ? "met" : "not met")}'; }
nprobes=$(wc -l <"$work/probe.ms")
nedges=${#edges[@]}

summary="$(jq -r '[.checks[] | "\(.id) \(.status)"] | join(", ")' "$work/doctor-1.json")"
echo
echo "FunctionalFit --profile dev, $(jq -r '.checks[] | select(.id == "running") | .detail' "$work/doctor-1.json")"
echo "berth doctor: $summary; $(jq '.diagnoses | length' "$work/doctor-1.json") diagnoses, $nedges probes"
echo "($runs runs each after 1 warm-up, taking turns; p90 nearest rank)"
printf '\n%-44s %11s %11s %18s\n' "" "median" "p90" "goal"
printf '%-44s %8.1f ms %8.1f ms %18s\n' "checklist  berth doctor --json" "$b_med" "$b_p90" "< 1 s: $(verdict "$b_med" 1000)"
printf '%-44s %8.1f ms %8.1f ms\n' "             of which its probes (sum of ms)" "$s_med" "$s_p90"
printf '%-44s %8.1f ms %8.1f ms\n' "           recipe ($((6 + ${#health[@]})) commands)" "$r_med" "$r_p90"
printf '%-44s %8.1f ms %8.1f ms %18s\n' "one probe  berth, per probe ($nprobes)" "$p_med" "$p_p90" "< 100 ms: $(verdict "$p_med" 100)"
printf '%-44s %8.1f ms %8.1f ms\n' "           docker compose exec -T ($((runs * nedges)))" "$c_med" "$c_p90"
printf '%-44s %8.1f ms %8.1f ms\n' "           docker exec ($((runs * nedges)))" "$d_med" "$d_p90"
echo
# N× faster, or N× slower when berth takes longer.
than() { awk -v r="$1" -v b="$2" 'BEGIN{if (r >= b) printf "%.1f× faster", r/b; else printf "%.1f× slower", b/r}'; }
echo "checklist: berth $(than "$r_med" "$b_med") than the recipe (p90: $(than "$r_p90" "$b_p90"))"
echo "one probe: berth $(than "$c_med" "$p_med") than docker compose exec, $(than "$d_med" "$p_med") than docker exec"
((doctor_rc == 0)) || echo "note: berth doctor exited $doctor_rc in some run (something failed on the stack)"
((failed == 0)) || echo "note: $failed hand-typed probes failed"
echo "(berth's per-probe ms is the exec of the probe only; finding each consumer's tool (one more"
echo " exec per consumer) and starting berth are in the checklist's time, not in it)"
