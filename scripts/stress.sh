#!/usr/bin/env bash
# The shop's stress run: Locust headless (tests/shop/locustfile.py: browse 10, view cart 3,
# add to cart 2, index 1, checkout 1) for a bounded time against a local cluster + shop it
# starts, Locust's CSV and HTML report in a results folder it prints, then `flyshard-shop check`.
#
#   scripts/stress.sh [--users 50] [--rate 10] [--duration 60] [--instances 1]
#                     [--kill-primary AFTER_S | --grow AFTER_S] [--catalog FILE] [--out DIR]
#                     [--url URL [--config cluster.json]] [--no-build] [--build-dir build]
#
# --kill-primary AFTER_S  SIGKILL a shard primary AFTER_S seconds in; report the errors seen
#                         and the time until checkouts on that shard succeed again.
# --grow AFTER_S          add a fourth shard AFTER_S seconds in and move its keys to it with
#                         `flyshard migrate` under load; report the longest failed-checkout run.
# --url URL               load an already running shop instead (check needs --config).
# Exit status: 0 when the run finished and the invariants hold, 1 otherwise, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1 build_dir=build args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --build-dir)
      [[ $# -ge 2 ]] || { echo "stress.sh: --build-dir: missing value" >&2; exit 2; }
      build_dir="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --users | --rate | --duration | --instances | --kill-primary | --grow | --catalog | --out | --url | --config)
      [[ $# -ge 2 ]] || { echo "stress.sh: $1: missing value" >&2; exit 2; }
      [[ "$1" == --url ]] && build=0
      args+=("$1" "$2"); shift 2 ;;
    *) echo "stress.sh: unknown argument '$1'" >&2; sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

if ((build)); then
  bash scripts/deps.sh
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target flyshard-cluster flyshard-shop flyshard_cli
fi
exec python3 tests/shop/stress.py --build "$build_dir" "${args[@]}"
