#!/usr/bin/env bash
# Runs the example shop locally: installs what is missing, builds, starts a local cluster
# (shards x primary + replicas, 3 sentinels), loads the catalogue, starts the shop server(s) on
# consecutive ports and the inventory worker, then supervises them: a server or worker that
# exits is restarted (with backoff) and the restart logged. Ctrl-C (or SIGTERM) stops every
# process it started, by PID, and exits.
#
#   scripts/shop.sh [--port 8080] [--shards 3] [--replicas 1] [--instances 1] [--no-build]
#                   [--build-dir build]
#
# Logs go to a run folder whose path is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
bad() {
  echo "shop.sh: $1" >&2
  usage
}
number() {  # number FLAG VALUE MIN MAX
  [[ "$2" =~ ^[0-9]+$ ]] || bad "$1: expected a number, got '$2'"
  ((10#$2 >= $3 && 10#$2 <= $4)) || bad "$1: expected $3..$4, got $2"
}

port=8080 shards=3 replicas=1 instances=1 build=1 build_dir=build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port | --shards | --replicas | --instances | --build-dir)
      [[ $# -ge 2 ]] || bad "$1: missing value"
      case "$1" in
        --port) number "$1" "$2" 1 65535; port=$((10#$2)) ;;
        --shards) number "$1" "$2" 1 64; shards=$((10#$2)) ;;
        --replicas) number "$1" "$2" 0 16; replicas=$((10#$2)) ;;
        --instances) number "$1" "$2" 1 64; instances=$((10#$2)) ;;
        --build-dir) build_dir="$2" ;;
      esac
      shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) bad "unknown argument '$1'" ;;
  esac
done
((port + instances - 1 <= 65535)) || bad "--port $port + --instances $instances passes 65535"

if ((build)); then
  bash scripts/deps.sh
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target flyshard-cluster flyshard-shop flyshard_cli
fi
cluster_bin="$build_dir/flyshard-cluster"
shop_bin="$build_dir/examples/shop/flyshard-shop"
for b in "$cluster_bin" "$shop_bin"; do
  [[ -x "$b" ]] || { echo "shop.sh: $b is missing (run without --no-build)" >&2; exit 1; }
done
cluster_bin=$(realpath "$cluster_bin")
shop_bin=$(realpath "$shop_bin")

for ((i = 0; i < instances; i++)); do
  p=$((port + i))
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "shop.sh: port $p is already in use (choose another with --port)" >&2
    exit 1
  fi
done

run_dir=$(mktemp -d /tmp/flyshard-shop.XXXXXX)
topology="$run_dir/cluster.json"
echo "shop.sh: logs in $run_dir"
log() {
  local line
  line="$(date '+%H:%M:%S') shop.sh: $*"
  echo "$line"
  echo "$line" >>"$run_dir/supervisor.log"
}

# ---- processes --------------------------------------------------------------------------------
# names[k], pids[k], argvs[k] (one string, %q-quoted), restarts[k], started[k], due[k]
names=() pids=() argvs=() restarts=() started=() due=()
cluster_pid=""
stopping=0

stop_all() {
  stopping=1
  trap '' INT TERM
  log "stopping"
  local k
  for k in "${!pids[@]}"; do
    [[ -n "${pids[$k]}" ]] && kill -TERM "${pids[$k]}" 2>/dev/null || true
  done
  for k in "${!pids[@]}"; do
    [[ -n "${pids[$k]}" ]] || continue
    for _ in $(seq 1 50); do kill -0 "${pids[$k]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[$k]}" 2>/dev/null || true
    wait "${pids[$k]}" 2>/dev/null || true
  done
  if [[ -n "$cluster_pid" ]]; then
    kill -TERM "$cluster_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
  log "stopped every process it started; logs kept in $run_dir"
}
on_signal() {
  stop_all
  exit 0
}
trap on_signal INT TERM
trap '((stopping)) || stop_all' EXIT

launch() {  # launch K: (re)starts process K in the background
  local k=$1
  echo "=== $(date '+%F %T') start: ${argvs[$k]}" >>"$run_dir/${names[$k]}.log"
  # exec: the PID we keep is the program itself, not a subshell around it.
  eval "exec ${argvs[$k]}" >>"$run_dir/${names[$k]}.log" 2>&1 </dev/null &
  pids[$k]=$!
  started[$k]=$SECONDS
}
add() {  # add NAME ARGV...
  local k=${#names[@]}
  names[$k]=$1
  shift
  argvs[$k]=$(printf '%q ' "$@")
  restarts[$k]=0
  due[$k]=0
  launch "$k"
}

# ---- cluster ----------------------------------------------------------------------------------
"$cluster_bin" --shards "$shards" --replicas "$replicas" --sentinels 3 --topology "$topology" \
  --ready-file "$run_dir/cluster.ready" >"$run_dir/cluster.log" 2>&1 </dev/null &
cluster_pid=$!
want_nodes=$((shards * (1 + replicas) + 3))
for _ in $(seq 1 600); do
  if [[ -f "$run_dir/cluster.ready" ]] &&
    (($(grep -cE ' (primary|replica|sentinel) 127\.0\.0\.1:[0-9]+ pid [0-9]+$' "$run_dir/cluster.log") >= want_nodes)); then
    break
  fi
  if ! kill -0 "$cluster_pid" 2>/dev/null; then
    echo "shop.sh: the local cluster failed to start:" >&2
    cat "$run_dir/cluster.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -f "$run_dir/cluster.ready" ]] || { echo "shop.sh: cluster not ready in 60 s" >&2; cat "$run_dir/cluster.log" >&2; exit 1; }
log "cluster ready ($shards shards x $replicas replicas, 3 sentinels), topology $topology"
grep -E ' pid [0-9]+$' "$run_dir/cluster.log" | sed 's/^/    /'

"$shop_bin" load --config "$topology" --catalog "$src/examples/shop/catalog.json" --reset \
  >"$run_dir/load.log" 2>&1 || { echo "shop.sh: loading the catalogue failed:" >&2; cat "$run_dir/load.log" >&2; exit 1; }
log "catalogue loaded from examples/shop/catalog.json"

# ---- shop servers and worker ------------------------------------------------------------------
for ((i = 0; i < instances; i++)); do
  add "shop-$((i + 1))" "$shop_bin" serve --config "$topology" --host 127.0.0.1 \
    --port "$((port + i))" --web "$src/examples/shop/web" --instance "shop-$((i + 1))"
done
add worker "$shop_bin" worker --config "$topology" --consumer worker-1

healthy() { (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -1 <&3 | grep -q ' 200') 2>/dev/null; }
for ((i = 0; i < instances; i++)); do
  for _ in $(seq 1 300); do
    healthy "$((port + i))" && break
    kill -0 "${pids[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  healthy "$((port + i))" || { echo "shop.sh: shop-$((i + 1)) did not come up:" >&2; tail -20 "$run_dir/shop-$((i + 1)).log" >&2; exit 1; }
done

echo
echo "  The shop is running:"
for ((i = 0; i < instances; i++)); do
  echo "    http://127.0.0.1:$((port + i))/"
done
echo "  Logs: $run_dir   (Ctrl-C stops everything)"
echo

# ---- supervision ------------------------------------------------------------------------------
while true; do
  if ! kill -0 "$cluster_pid" 2>/dev/null; then
    log "the cluster launcher exited; stopping"
    cluster_pid=""
    stop_all
    exit 1
  fi
  for k in "${!names[@]}"; do
    if [[ -n "${pids[$k]}" ]] && ! kill -0 "${pids[$k]}" 2>/dev/null; then
      rc=0
      wait "${pids[$k]}" 2>/dev/null || rc=$?
      ran=$((SECONDS - started[k]))
      # A process that ran a minute counts as healthy again: its backoff starts over.
      ((ran >= 60)) && restarts[$k]=0
      restarts[$k]=$((restarts[k] + 1))
      delay=$((1 << (restarts[k] - 1)))
      ((delay > 30)) && delay=30
      log "${names[$k]} (pid ${pids[$k]}) exited with status $rc after ${ran} s; restart ${restarts[$k]} in ${delay} s"
      pids[$k]=""
      due[$k]=$((SECONDS + delay))
    fi
    if [[ -z "${pids[$k]}" ]] && ((SECONDS >= due[k])); then
      launch "$k"
      log "${names[$k]} restarted (pid ${pids[$k]}), log $run_dir/${names[$k]}.log"
    fi
  done
  sleep 0.5 &
  wait $! 2>/dev/null || true
done
