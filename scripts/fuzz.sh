#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan + UBSan; build-fuzz/) and runs each one
# for a bounded time. A crash fails the script; its input is kept for a unit test.
#   scripts/fuzz.sh                        20 s per target (what scripts/test.sh runs)
#   scripts/fuzz.sh --minutes 30           30 minutes per target (the longer run)
#   scripts/fuzz.sh --seconds 60 --target resp_reply_fuzz
# Seeds: fuzz/corpus/<target>/ (in the repo, read only). Inputs found on the way go to
# build-fuzz/corpus/<target>/ (kept between runs); crashes to build-fuzz/artifacts/<target>/.
# Reproduce one: build-fuzz/fuzz/<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) seconds=$(( $2 * 60 )); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --target) only=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N | --seconds N] [--target NAME]" >&2; exit 2 ;;
  esac
done
targets=(resp_reply_fuzz topology_fuzz replication_fuzz sentinel_fuzz node_address_fuzz)
[[ -n "$only" ]] && targets=("$only")

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2
  exit 1
fi
echo "== fuzz build (clang, libFuzzer + ASan + UBSan) =="
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFLYSHARD_FUZZ=ON -DBUILD_SHARED_LIBS=OFF -DFLYSHARD_BUILD_TESTS=OFF \
  -DFLYSHARD_BUILD_BENCH=OFF -DFLYSHARD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  log="build-fuzz/$t.log"
  echo "== fuzz $t for ${seconds} s =="
  # The first corpus folder receives new inputs; the repo's seeds are only read.
  if build-fuzz/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
      "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E "^#[0-9]+.*(DONE|pulse)" "$log" | tail -1 || true
    grep -E "stat::number_of_executed_units" "$log" || true
  else
    failed=1
    echo "fuzz.sh: $t FAILED; the end of $log:" >&2
    tail -40 "$log" >&2
    ls "build-fuzz/artifacts/$t" >&2 || true
  fi
done
exit $failed
