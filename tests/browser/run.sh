#!/usr/bin/env bash
# Runs the shop page's real-browser test against a shop it starts itself:
#
#   tests/browser/run.sh <build-dir>
#
# Starts a local cluster (3 shards x primary + replica, 3 sentinels), loads the catalogue,
# starts `flyshard-shop serve` on a free loopback port and `flyshard-shop worker`, waits for
# /healthz, installs playwright-core (npm ci) if tests/browser/node_modules is missing, runs
# shop_page_test.mjs with SHOP_URL, and ends every process it started, by PID, on any exit.
#
# Env: FLYSHARD_CLUSTER_BIN, FLYSHARD_SHOP_BIN (default: <build>/flyshard-cluster,
# <build>/examples/shop/flyshard-shop), SCREENSHOT (default docs/shop.png), CHROMIUM
# (default /usr/bin/chromium), KEEP_LOGS=1 keeps the temp folder with every process's log.
# Exit status: the test's (0 passed, 1 failed), 2 bad usage or a process that did not start,
# 77 when chromium or node is missing (ctest reports a skip).
set -euo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$src/tests/browser
cluster_bin=${FLYSHARD_CLUSTER_BIN:-$build/flyshard-cluster}
shop_bin=${FLYSHARD_SHOP_BIN:-$build/examples/shop/flyshard-shop}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

say() { echo "browser-test: $*"; }
for tool in node npm curl python3; do
  if ! command -v "$tool" >/dev/null; then
    say "$tool not found; skipping (scripts/deps.sh installs it)"
    exit 77
  fi
done
if [[ ! -x $CHROMIUM ]]; then
  say "$CHROMIUM not found; skipping (scripts/deps.sh installs Debian's chromium)"
  exit 77
fi
for bin in "$cluster_bin" "$shop_bin"; do
  if [[ ! -x $bin ]]; then
    say "$bin not built"
    exit 2
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flyshard-browser.XXXXXX")
pids=()          # every process started here, ended in reverse order
cleanup() {
  local status=$?
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    # Wait for it to end (the cluster ends its nodes first), up to 10 s, then SIGKILL.
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    for log in cluster load serve worker; do
      [[ -s $tmp/$log.log ]] || continue
      echo "---- last lines of $log.log"
      tail -n 25 "$tmp/$log.log"
    done
  fi
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then
    say "logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for <what> <seconds> <pid-that-must-stay-alive> <command...>
wait_for() {
  local what=$1 seconds=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the process for $what (pid $pid) exited"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      say "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

topology=$tmp/cluster.json
"$cluster_bin" --shards 3 --replicas 1 --sentinels 3 --topology "$topology" \
  --ready-file "$tmp/ready" >"$tmp/cluster.log" 2>&1 &
pids+=($!)
wait_for "the cluster" 120 "${pids[-1]}" test -e "$tmp/ready" || exit 2
say "cluster ready (pid ${pids[0]})"

"$shop_bin" load --config "$topology" --catalog "$src/examples/shop/catalog.json" >"$tmp/load.log" 2>&1 || {
  say "flyshard-shop load failed"
  exit 2
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$shop_bin" serve --config "$topology" --host 127.0.0.1 --port "$port" --web "$src/examples/shop/web" \
  >"$tmp/serve.log" 2>&1 &
pids+=($!)
serve_pid=${pids[-1]}
"$shop_bin" worker --config "$topology" >"$tmp/worker.log" 2>&1 &
pids+=($!)
url=http://127.0.0.1:$port
wait_for "$url/healthz" 60 "$serve_pid" curl -fsS --max-time 2 "$url/healthz" || exit 2
say "shop at $url (serve pid $serve_pid, worker pid ${pids[-1]})"

if [[ ! -d $here/node_modules/playwright-core ]]; then
  say "installing playwright-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || {
    say "npm ci failed"
    exit 2
  }
fi

# The test ends by killing one primary (SIGKILL) and watching the panel show the failover.
# BROWSER_TEST_FAILOVER=0 leaves the cluster alone.
if [[ ${BROWSER_TEST_FAILOVER:-1} == 1 ]]; then
  # The launcher prints "s1 primary 127.0.0.1:PORT pid PID" lines just after it touches the
  # ready file.
  wait_for "the cluster's node list" 10 "${pids[0]}" grep -q '^s1 primary .* pid [0-9]' "$tmp/cluster.log" || exit 2
  read -r KILL_PRIMARY_SHARD KILL_PRIMARY_PID < <(awk '$2 == "primary" && $4 == "pid" { print $1, $5; exit }' "$tmp/cluster.log")
  export KILL_PRIMARY_SHARD KILL_PRIMARY_PID
  say "will kill $KILL_PRIMARY_SHARD's primary (pid $KILL_PRIMARY_PID) at the end"
fi

set +e
SHOP_URL=$url node "$here/shop_page_test.mjs"
status=$?
set -e
exit "$status"
