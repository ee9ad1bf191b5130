#!/usr/bin/env bash
# Benchmark: what Berth does for trusted HTTPS against the commands the seeds tell a person to
# type, in the same run, with hyperfine:
#   issue  — `berth tls issue` on a copy of the demo (CA loaded, nginx's config read, an ECDSA
#            P-256 certificate for every name written where nginx reads it, key 0600) against
#            the seed's `openssl req -x509 -newkey rsa:2048 ...` (a self-signed certificate that
#            no browser trusts, for names typed by hand) and `mkcert localhost 127.0.0.1 ::1`
#            (Debian's package: a leaf from mkcert's CA for the same names, in the current folder);
#   status — `berth tls status` (every endpoint found, its certificate read, checked against the
#            names and the CA) against `openssl x509 -noout -text`, which only prints one file.
# Prints mean times and ratios. The stack is not started: the handshake proof is measured by
# the tests, not here.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
runs="${BENCH_RUNS:-20}"

command -v hyperfine >/dev/null || ./scripts/setup.sh
command -v mkcert >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mkcert >/dev/null; }
cargo build --release --locked -q -p berth-cli
berth="$CARGO_TARGET_DIR/release/berth"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export BERTH_DATA_DIR="$work/data"
cp -r demo "$work/demo"
ssl="$work/demo/nginx/ssl"
rm -f "$ssl"/localhost.*
"$berth" tls ca >/dev/null

mean() { jq -r '.results[0].mean * 1000' "$1"; }
hyperfine -N -w 3 -r "$runs" --export-json "$work/issue.json" \
  --prepare "rm -f $ssl/localhost.crt $ssl/localhost.key" "$berth tls issue $work/demo" >/dev/null
mkdir -p "$work/mk"
export CAROOT="$work/mkcert-ca"
(cd "$work/mk" && mkcert localhost >/dev/null 2>&1)
hyperfine -N -w 3 -r "$runs" --export-json "$work/mkcert.json" \
  "mkcert -cert-file $work/mk/c.pem -key-file $work/mk/k.pem localhost 127.0.0.1 ::1" >/dev/null 2>&1
hyperfine -N -w 3 -r "$runs" --export-json "$work/openssl.json" \
  "openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout $work/k.pem -out $work/c.pem" >/dev/null
"$berth" tls issue "$work/demo" >/dev/null 2>&1
hyperfine -N -w 3 -r "$runs" --export-json "$work/status.json" "$berth tls status $work/demo" >/dev/null
hyperfine -N -w 3 -r "$runs" --export-json "$work/x509.json" "openssl x509 -noout -text -in $ssl/localhost.crt" >/dev/null

printf '\n%-8s %16s %28s %9s\n' "" "berth (ms)" "peer (ms)" "ratio"
i=$(mean "$work/issue.json"); o=$(mean "$work/openssl.json"); m=$(mean "$work/mkcert.json")
printf '%-8s %16.1f %28s %8.2fx\n' issue "$i" "mkcert $(printf %.1f "$m")" "$(awk -v a="$m" -v b="$i" 'BEGIN{print a/b}')"
printf '%-8s %16.1f %28s %8.2fx\n' issue "$i" "openssl req $(printf %.1f "$o")" "$(awk -v a="$o" -v b="$i" 'BEGIN{print a/b}')"
s=$(mean "$work/status.json"); x=$(mean "$work/x509.json")
printf '%-8s %16.1f %28s %8.2fx\n' status "$s" "openssl x509 $(printf %.1f "$x")" "$(awk -v a="$x" -v b="$s" 'BEGIN{print a/b}')"
echo "(ratio > 1: berth is faster; openssl req makes an RSA-2048 key, berth an ECDSA P-256 one)"
