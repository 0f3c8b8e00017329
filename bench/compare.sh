#!/usr/bin/env bash
# Latch and panva's oidc-provider side by side, workloads W1–W4, on this
# machine, with the same settings, in one run, and the ratio per workload.
#
#   bench/compare.sh [--alg ES256] [--concurrency 64] [--duration 20s] [--workloads W1,W2,W3,W4]
#
# Latch is spawned by `latch-bench` (child `latch serve`, temporary SQLite);
# oidc-provider runs bench/oidc-provider/server.js (in-memory adapter). The
# workloads alternate between the two servers (W1 Latch, W1 oidc-provider,
# W2 Latch, ...), so that a change in the machine's load during the run
# weighs on both alike. Results go to $OUT (default: a temporary directory):
# latch-W1.json, oidc-provider-W1.json, ... and ratio.txt. LATCH=path uses
# that latch binary instead of building one (latch-bench is always built).
set -euo pipefail
cd "$(dirname "$0")/.."

alg=ES256 concurrency=64 duration=20s warmup=2s workloads=W1,W2,W3,W4 port=3100
while [ $# -gt 0 ]; do
  case "$1" in
    --alg) alg=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "usage: $0 [--alg ES256|RS256|EdDSA] [--concurrency N] [--duration D] [--warmup D] [--workloads W1,...] [--port N]" >&2; exit 2 ;;
  esac
done
out=${OUT:-$(mktemp -d -t latch-compare-XXXXXX)}
mkdir -p "$out"

latch=${LATCH:-}
if [ -z "$latch" ]; then
  echo "== building latch and latch-bench"
  go build -o "$out/" ./cmd/latch ./cmd/latch-bench
  latch=$out/latch
else
  echo "== building latch-bench"
  go build -o "$out/" ./cmd/latch-bench
fi
bench=$out/latch-bench

echo "== installing oidc-provider (npm ci)"
if [ ! -d bench/oidc-provider/node_modules ]; then
  (cd bench/oidc-provider && npm ci --no-audit --no-fund --silent)
fi

echo "== starting oidc-provider on 127.0.0.1:$port ($alg)"
node bench/oidc-provider/server.js --port "$port" --alg "$alg" >"$out/oidc-provider.out" 2>"$out/oidc-provider.err" &
node_pid=$!
trap 'kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true' EXIT
creds=""
for _ in $(seq 100); do
  creds=$(grep -m1 '^{' "$out/oidc-provider.out" || true)
  [ -n "$creds" ] && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$out/oidc-provider.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$creds" ] || { echo "oidc-provider did not start" >&2; exit 1; }
field() { node -e 'const c=JSON.parse(process.argv[1]); process.stdout.write(String(c[process.argv[2]]))' "$creds" "$1"; }

common=(--concurrency "$concurrency" --duration "$duration" --warmup "$warmup")
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in ${workloads//,/ }; do
  echo "== $w: latch"
  "$bench" --latch "$latch" --alg "$alg" --workloads "$w" "${common[@]}" --json "$out/latch-$w.json" | tail -n +2 | grep -E "^ *$w " || true
  echo "== $w: oidc-provider"
  LATCH_BENCH_CLIENT_SECRET=$(field client_secret) LATCH_BENCH_PASSWORD=$(field password) \
    "$bench" --target "$(field issuer)" --workloads "$w" "${common[@]}" \
      --client-id "$(field client_id)" --cc-scope api:read \
      --public-client-id "$(field public_client_id)" --redirect-uri "$(field redirect_uri)" \
      --username "$(field username)" --server-pid "$node_pid" --json "$out/oidc-provider-$w.json" | grep -E "^ *$w " || true
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

node - "$out" "$workloads" "$alg" "$concurrency" "$duration" >"$out/ratio.txt" <<'EOF'
const fs = require('node:fs');
const [dir, workloads, alg, conc, dur] = process.argv.slice(2);
const read = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`)).results[0]; } catch { return undefined; } };
const num = (v, d = 0) => (v === undefined ? '-' : v.toFixed(d));
const cpu = (r) => (r?.server?.cpu_per_op_us === undefined ? '-' : r.server.cpu_per_op_us.toFixed(0));
const rows = [['workload', 'latch ops/s', 'p99 ms', 'CPU µs/op', 'oidc-provider ops/s', 'p99 ms', 'CPU µs/op', 'ops/s ratio', 'CPU/op ratio']];
for (const w of workloads.split(',')) {
  const l = read(`latch-${w}.json`), o = read(`oidc-provider-${w}.json`);
  const ok = (r) => r && !r.skipped && r.errors === 0;
  const ratio = ok(l) && ok(o) && o.ops_per_sec > 0 ? `${(l.ops_per_sec / o.ops_per_sec).toFixed(2)}×` : 'n/a';
  const eff = ok(l) && ok(o) && l.server?.cpu_per_op_us && o.server?.cpu_per_op_us
    ? `${(o.server.cpu_per_op_us / l.server.cpu_per_op_us).toFixed(2)}×` : 'n/a';
  rows.push([`${w} ${l?.name ?? ''}`, ok(l) ? num(l.ops_per_sec) : `error`, num(l?.p99_ms, 1), cpu(l),
    ok(o) ? num(o.ops_per_sec) : (o?.skipped ? 'skipped' : 'error'), num(o?.p99_ms, 1), cpu(o), ratio, eff]);
}
const width = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
console.log(`${alg}, concurrency ${conc}, ${dur} per workload, same machine, alternating runs`);
console.log('ops/s ratio: latch / oidc-provider throughput; CPU/op ratio: oidc-provider CPU per op / latch CPU per op (above 1: latch spends less)');
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(width[i]) : String(c).padStart(width[i]))).join('  '));
EOF
echo
cat "$out/ratio.txt"
echo "(results in $out)"
