#!/usr/bin/env bash
# The shop's HTTP benchmark: wrk at 64 connections on GET /api/products/{id},
# GET /api/products?page=1 and GET /api/categories, plus a checkout rate (Python driver: one
# visitor per connection, PUT a cart line + POST /api/checkout), each for N seconds, printed
# as a markdown table (requests/s, p50, p99). Starts its own cluster + shop unless --url.
#
#   scripts/shop-bench.sh [--duration 10] [--connections 64] [--wrk-threads 2] [--url URL]
#                         [--product ID] [--no-checkout] [--no-build] [--build-dir build]
set -euo pipefail
cd "$(dirname "$0")/.."

build=1 build_dir=build args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --no-checkout) args+=("$1"); shift ;;
    --build-dir)
      [[ $# -ge 2 ]] || { echo "shop-bench.sh: --build-dir: missing value" >&2; exit 2; }
      build_dir="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --duration | --connections | --wrk-threads | --url | --product)
      [[ $# -ge 2 ]] || { echo "shop-bench.sh: $1: missing value" >&2; exit 2; }
      [[ "$1" == --url ]] && build=0
      args+=("$1" "$2"); shift 2 ;;
    *) echo "shop-bench.sh: unknown argument '$1'" >&2; sed -n '7,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

if ((build)); then
  bash scripts/deps.sh
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target flyshard-cluster flyshard-shop
fi
exec python3 tests/shop/shop_bench.py --build "$build_dir" "${args[@]}"
