#!/usr/bin/env bash
# Installs what is missing, builds, starts a local cluster (3 shards x 1 replica on loopback,
# ended when this script exits) and runs the example against it. Until the shop lands, the
# example is the quickstart.
#   scripts/shop.sh [--shards N] [--replicas R]
set -euo pipefail
cd "$(dirname "$0")/.."

shards=3
replicas=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards) shards="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    *) echo "usage: scripts/shop.sh [--shards N] [--replicas R]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target flyshard-cluster quickstart

run_dir=$(mktemp -d /tmp/flyshard-shop.XXXXXX)
topology="$run_dir/cluster.json"
./build/flyshard-cluster --shards "$shards" --replicas "$replicas" --topology "$topology" \
  --ready-file "$run_dir/ready" >"$run_dir/cluster.log" 2>&1 &
cluster_pid=$!
cleanup() {
  kill -TERM "$cluster_pid" 2>/dev/null || true
  wait "$cluster_pid" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 300); do
  [[ -f "$run_dir/ready" ]] && break
  if ! kill -0 "$cluster_pid" 2>/dev/null; then
    echo "shop.sh: the local cluster failed to start:" >&2
    cat "$run_dir/cluster.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -f "$run_dir/ready" ]] || { echo "shop.sh: cluster not ready in 30 s" >&2; cat "$run_dir/cluster.log" >&2; exit 1; }
cat "$run_dir/cluster.log"
echo "== topology ($topology) =="
cat "$topology"
echo
echo "== quickstart =="
./build/examples/quickstart "$topology"
