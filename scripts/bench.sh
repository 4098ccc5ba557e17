#!/usr/bin/env bash
# Runs the sharding benchmarks and writes results/<timestamp>/ (JSON per run, summary.md, PNG
# charts), also copied to results/latest/.
#
#   scripts/bench.sh                    default matrix: 1, 3, 6 shards; async 1, 16, 128 in
#                                       flight and blocking, one thread; 3 s per run, 1 round
#   scripts/bench.sh --full             the full matrix: more threads and depths, zipf keys,
#                                       hiredis's stock libuv adapter too; 5 s per run, 2 rounds
#   scripts/bench.sh --rounds 3         repeat the load matrix; figures are medians of rounds
#   scripts/bench.sh --pin shared       client, servers and nutcracker all on CPU 0
#   scripts/bench.sh --pin split        client on CPU 0, servers and nutcracker on CPU 1
#
# Other options: --seconds S (per load run), --shards "1 3 6", --keys N, --value-size N,
# --build-dir DIR (default build), --no-micro (skip the micro-benchmarks and distribution
# table), --no-build (use what is built).
#
# For each shard count it starts a local cluster (flyshard-cluster, redis-server or dragonfly)
# and nutcracker in front of it (ketama, fnv1a_64, hash_tag "{}", servers named by shard), and
# runs flyshard-load against three targets on the same servers: flyshard (the library), direct
# (raw hiredis, perfect routing) and twemproxy; then redis-benchmark against one node and
# against nutcracker for reference. Every process it starts is ended by its PID at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

args_given="$*"
full=0
rounds=""
seconds=""
shard_counts="1 3 6"
keys=100000
value_size=32
build_dir=build
micro=1
build=1
pin=""

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) full=1; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --shards) shard_counts="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-micro) micro=0; shift ;;
    --no-build) build=0; shift ;;
    --pin) pin="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$pin" in
  "" | shared | split) ;;
  *) echo "bench.sh: --pin: expected shared or split, got '$pin'" >&2; exit 2 ;;
esac

if ((full)); then
  : "${rounds:=2}" "${seconds:=5}"
  # mode:threads:inflight[:zipf]
  configs=(async:1:1 async:1:4 async:1:16 async:1:64 async:1:128 async:1:256 async:2:16
    async:2:128 blocking:1:1 blocking:2:1 blocking:4:1 blocking:8:1 async:1:16:zipf
    blocking:1:1:zipf)
  targets=(flyshard direct twemproxy direct-stock)
else
  : "${rounds:=1}" "${seconds:=3}"
  configs=(async:1:1 async:1:16 async:1:128 blocking:1:1)
  targets=(flyshard direct twemproxy)
fi

started=$(date +%s)
log() { echo "bench.sh: $*"; }
warn() { echo "bench.sh: $*" >&2; }

# ---- dependencies and build ---------------------------------------------------------------

bash scripts/deps.sh
if ! command -v gnuplot >/dev/null 2>&1; then
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  log "installing gnuplot-nox (for the charts)"
  if ! { "${sudo_cmd[@]}" apt-get update -qq &&
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null; }; then
    warn "could not install gnuplot-nox; the charts will be missing"
  fi
fi

wanted=(flyshard-load flyshard-cluster bench_distribution bench_client flyshard-distribution
  bench_protocol)
if ((build)); then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  available=$(cmake --build "$build_dir" --target help 2>/dev/null | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p')
  to_build=()
  for t in "${wanted[@]}"; do
    if grep -qx "$t" <<<"$available"; then to_build+=("$t"); else log "no target $t; skipping it"; fi
  done
  cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target "${to_build[@]}"
fi

# The path of a built program, or nothing.
bin() {
  local p
  for p in "$build_dir/bench/$1" "$build_dir/$1" "$build_dir/tests/support/$1"; do
    if [[ -x "$p" ]]; then
      echo "$p"
      return 0
    fi
  done
  return 0
}
load_bin=$(bin flyshard-load)
cluster_bin=$(bin flyshard-cluster)
[[ -n "$load_bin" && -n "$cluster_bin" ]] || { warn "flyshard-load or flyshard-cluster is not built"; exit 1; }
nutcracker_bin=$(command -v nutcracker || echo /usr/sbin/nutcracker)
[[ -x "$nutcracker_bin" ]] || { warn "nutcracker is not installed"; exit 1; }

# ---- placement ------------------------------------------------------------------------------

client_pin=()
server_pin=()
case "$pin" in
  shared) client_pin=(taskset -c 0); server_pin=(taskset -c 0) ;;
  split) client_pin=(taskset -c 0); server_pin=(taskset -c 1) ;;
esac
all_cpus=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //' || echo "?")
case "$pin" in
  "") placement="unpinned: client, servers and nutcracker float over CPUs $all_cpus" ;;
  shared) placement="pinned (--pin shared): client, servers and nutcracker on CPU 0" ;;
  split) placement="pinned (--pin split): client on CPU 0, servers and nutcracker on CPU 1" ;;
esac

# ---- results folder -------------------------------------------------------------------------

ts=$(date +%Y%m%d-%H%M%S)
out="results/$ts"
mkdir -p "$out/load" "$out/redis-benchmark" "$out/micro" "$out/logs"
run_dir=$(mktemp -d /tmp/flyshard-bench.XXXXXX)

cluster_pid=""
proxy_pid=""
stop_proxy() {
  if [[ -n "$proxy_pid" ]]; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=""
  fi
}
stop_cluster() {
  if [[ -n "$cluster_pid" ]]; then
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
  fi
}
cleanup() {
  stop_proxy
  stop_cluster
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on, below the ephemeral range the servers' ports come from.
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

server_name=$( (${FLYSHARD_SERVER:-false} --version 2>/dev/null || dragonfly --version 2>/dev/null ||
  redis-server --version 2>/dev/null) | head -n 1 || true)
{
  echo "Run: $ts, \`scripts/bench.sh${args_given:+ $args_given}\`"
  echo "Machine: $(hostname), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(uname -sr)"
  echo "Placement: $placement"
  echo "Servers: ${server_name:-?}; proxy: $("$nutcracker_bin" --version 2>&1 | head -n 1)"
  echo "Build: $build_dir, RelWithDebInfo; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "Load: shards {${shard_counts// /, }}; configurations ${configs[*]}; targets ${targets[*]}; $seconds s per run after 0.5 s warm-up; $rounds round(s); $keys keys, $value_size-byte values, 90% GET"
} >"$out/meta.txt"

# ---- load -----------------------------------------------------------------------------------

failures=0
run_load() { # name, then flyshard-load arguments
  local name=$1 line
  shift
  if line=$("${client_pin[@]}" "$load_bin" --topology "$topology" --seconds "$seconds" \
    --keys "$keys" --value-size "$value_size" --json "$out/load/$name.json" "$@" \
    2>>"$out/logs/load.log"); then
    echo "  $line"
  else
    echo "  $line"
    warn "run $name failed (see $out/logs/load.log)"
    echo "$name" >>"$out/logs/failed.txt"
    failures=$((failures + 1))
  fi
  echo "$name: $line" >>"$out/logs/load.log"
}

redis_bench() { # label port pipeline requests
  local csv="$out/redis-benchmark/$1-P$3.csv"
  if "${client_pin[@]}" redis-benchmark -h 127.0.0.1 -p "$2" -c 50 -P "$3" -n "$4" -t set,get \
    -d "$value_size" -r "$keys" --csv >"$csv" 2>>"$out/logs/redis-benchmark.log"; then
    echo "  redis-benchmark $1 -P $3: $(tail -n +2 "$csv" | tr '\n' ' ')"
  else
    warn "redis-benchmark $1 -P $3 failed"
    rm -f "$csv"
  fi
}

for shards in $shard_counts; do
  log "== $shards shard(s) =="
  topology="$run_dir/cluster-$shards.json"
  rm -f "$run_dir/ready"
  "${server_pin[@]}" "$cluster_bin" --shards "$shards" --topology "$topology" \
    --ready-file "$run_dir/ready" >"$out/logs/cluster-$shards.log" 2>&1 &
  cluster_pid=$!
  for _ in $(seq 1 300); do
    [[ -f "$run_dir/ready" ]] && break
    if ! kill -0 "$cluster_pid" 2>/dev/null; then
      warn "the local cluster failed to start:"
      cat "$out/logs/cluster-$shards.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  [[ -f "$run_dir/ready" ]] || { warn "cluster not ready in 30 s"; exit 1; }
  # "s1 primary 127.0.0.1:40123 pid 4242"
  mapfile -t primaries < <(awk '$2 == "primary" { print $1, $3, $5 }' "$out/logs/cluster-$shards.log")
  server_pids=$(printf '%s\n' "${primaries[@]}" | awk '{ print $3 }' | paste -sd, -)

  proxy_port=$(pick_port)
  stats_port=$(pick_port)
  {
    echo "flyshard:"
    echo "  listen: 127.0.0.1:$proxy_port"
    echo "  hash: fnv1a_64"
    echo "  hash_tag: \"{}\""
    echo "  distribution: ketama"
    echo "  auto_eject_hosts: false"
    echo "  redis: true"
    echo "  timeout: 2000"
    echo "  servers:"
    for p in "${primaries[@]}"; do
      read -r name addr _ <<<"$p"
      echo "   - $addr:1 $name"
    done
  } >"$out/logs/nutcracker-$shards.yml"
  "${server_pin[@]}" "$nutcracker_bin" -c "$out/logs/nutcracker-$shards.yml" \
    -p "$run_dir/nutcracker.pid" -o "$out/logs/nutcracker-$shards.log" \
    -s "$stats_port" -a 127.0.0.1 &
  proxy_pid=$!
  for _ in $(seq 1 100); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$proxy_port" ping 2>/dev/null || true)" == PONG ]] && break
    kill -0 "$proxy_pid" 2>/dev/null || { warn "nutcracker exited:"; cat "$out/logs/nutcracker-$shards.log" >&2; exit 1; }
    sleep 0.1
  done

  preloaded=""
  for ((round = 1; round <= rounds; round++)); do
    for cfg in "${configs[@]}"; do
      IFS=: read -r mode threads inflight dist <<<"$cfg"
      dist=${dist:-uniform}
      for target in "${targets[@]}"; do
        args=(--mode "$mode" --threads "$threads" --inflight "$inflight" --dist "$dist"
          --server-pids "$server_pids" --label "round $round")
        case "$target" in
          direct-stock)
            [[ "$mode" == async ]] || continue
            args+=(--target direct --direct-adapter stock)
            ;;
          twemproxy) args+=(--target twemproxy --proxy "127.0.0.1:$proxy_port" --proxy-pid "$proxy_pid") ;;
          *) args+=(--target "$target") ;;
        esac
        # Keys are written once per placement: flyshard and direct share the topology's,
        # twemproxy has its own.
        placement_key=$([[ "$target" == twemproxy ]] && echo twemproxy || echo topology)
        if [[ " $preloaded " == *" $placement_key "* ]]; then
          args+=(--no-preload)
        else
          preloaded+=" $placement_key"
        fi
        run_load "s$shards-$mode-t$threads-i$inflight-$dist-$target-r$round" "${args[@]}"
      done
    done
  done

  if [[ "$shards" == 1 ]]; then
    read -r _ addr _ <<<"${primaries[0]}"
    redis_bench "one-node-s1" "${addr##*:}" 1 100000
    redis_bench "one-node-s1" "${addr##*:}" 16 500000
  fi
  label="twemproxy-$shards-shard"
  [[ "$shards" == 1 ]] || label+=s
  redis_bench "$label" "$proxy_port" 1 100000
  redis_bench "$label" "$proxy_port" 16 500000

  stop_proxy
  stop_cluster
done

# ---- micro-benchmarks and the distribution table --------------------------------------------

if ((micro)); then
  log "== micro-benchmarks =="
  for b in bench_distribution bench_protocol; do
    p=$(bin "$b")
    if [[ -z "$p" ]]; then
      log "no $b; skipping it"
      continue
    fi
    log "$b"
    "${client_pin[@]}" "$p" --benchmark_min_time=0.1 --benchmark_format=json \
      >"$out/micro/$b.json" 2>"$out/logs/$b.log" || { warn "$b failed"; rm -f "$out/micro/$b.json"; }
  done
  p=$(bin bench_client)
  if [[ -n "$p" ]]; then
    log "bench_client"
    # It starts its own server, which inherits the client's CPUs.
    "${client_pin[@]}" "$p" --seconds 1 --rounds 3 --json "$out/micro/bench_client.json" \
      >"$out/logs/bench_client.log" 2>&1 || warn "bench_client failed"
  fi
  p=$(bin flyshard-distribution)
  if [[ -n "$p" ]]; then
    log "flyshard-distribution"
    "$p" --keys 1000000 --shards 3,6,16,64 --json "$out/distribution.json" \
      >"$out/logs/flyshard-distribution.log" 2>&1 || warn "flyshard-distribution failed"
  fi
fi
max_shards=$(tr ' ' '\n' <<<"$shard_counts" | sort -n | tail -n 1)
"$load_bin" --placement "$max_shards" --keys 1000000 --json "$out/placement.json" \
  >"$out/logs/placement.log"

# ---- summary and charts -----------------------------------------------------------------------

"$load_bin" --report "$out"
if command -v gnuplot >/dev/null 2>&1; then
  plot() { # script, data file that must exist
    if [[ -f "$out/plots/$2" ]]; then
      gnuplot -e "datadir='$out/plots'; outfile='$out/$1.png'" "bench/plot/$1.gp" \
        2>>"$out/logs/gnuplot.log" || warn "chart $1 failed (see $out/logs/gnuplot.log)"
    fi
  }
  plot throughput throughput-1.dat
  plot latency latency-1.dat
  plot placement placement.dat
  plot balance balance.dat
fi

rm -rf results/latest
mkdir -p results/latest
cp "$out/summary.md" results/latest/
for png in "$out"/*.png; do
  [[ -e "$png" ]] && cp "$png" results/latest/
done

elapsed=$(($(date +%s) - started))
log "done in $((elapsed / 60)) min $((elapsed % 60)) s: $out/summary.md (also results/latest/)"
sed -n '/^## Aims/,/^## [^A]/p' "$out/summary.md" | sed '$d'
if ((failures > 0)); then
  warn "$failures load run(s) failed: $(paste -sd' ' "$out/logs/failed.txt")"
  exit 1
fi
