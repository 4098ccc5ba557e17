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
# The targets run side by side, one per CPU: each still has a CPU of its own for its whole
# time (one libFuzzer process uses one), and 5 targets take 3 rounds instead of 5 on 2 CPUs.
parallel=$(nproc 2>/dev/null || echo 1)
fuzz_one() {
  local t=$1 rc=0
  # The first corpus folder receives new inputs; the repo's seeds are only read.
  build-fuzz/fuzz/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1 || rc=$?
  echo "$rc" >"build-fuzz/$t.rc"
}
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  rm -f "build-fuzz/$t.rc"
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  echo "== fuzz $t for ${seconds} s =="
  fuzz_one "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
  log="build-fuzz/$t.log"
  if [[ "$(cat "build-fuzz/$t.rc" 2>/dev/null)" == 0 ]]; then
    echo "$t:"
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
