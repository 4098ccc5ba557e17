#!/usr/bin/env bash
# Measures online resharding (issue 11): migration rate for small and large values against a
# naive per-key DUMP/PTTL/RESTORE loop in the same run, at several pipeline depths, and the
# cutover pause; 3 -> 4 shards on a local cluster it starts and ends itself (redis-server, or
# dragonfly when on PATH / $FLYSHARD_SERVER).
#
#   scripts/migrate-bench.sh                 400,000 small keys (about 100,000 move), 20,000
#                                            keys of 4 KiB; batches 100 and 1000
#   scripts/migrate-bench.sh --keys 40000    any option of build/bench/migrate_bench
#   scripts/migrate-bench.sh --keys 400000 --large-keys 0 --batches 1000 --naive-keys 100 \
#       --rate 20000 --measure-load          also what clients see: GET/SET requests/s and
#                                            p50/p99 on staying and moving keys, before and
#                                            during the migration
#   scripts/migrate-bench.sh --keys 400000 --large-keys 0 --batches 1000 --naive-keys 100 \
#       --adaptive --measure-load            the same with the adaptive copy rate
#   scripts/migrate-bench.sh --keys 100000 --large-keys 100000 --batches 1000 \
#       --naive-keys 20000                   the large-value copy rate against the naive loop
#
# Writes results/migrate-<timestamp>.md and .json (and prints the table).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# Configured here when the folder is new, or when it was configured without the benchmarks.
if ! grep -q '^FLYSHARD_BUILD_BENCH:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$build_dir" -DFLYSHARD_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build_dir" --target migrate_bench -j2 >/dev/null
mkdir -p results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
"$build_dir/bench/migrate_bench" --json "results/migrate-$stamp.json" "$@" | tee "results/migrate-$stamp.md"
