#!/usr/bin/env bash
# Installs what is missing, builds, runs every test (unit + integration against servers the
# tests start themselves), then builds again with ASan + UBSan and runs the tests once more,
# fuzzes every libFuzzer target for 20 s (FLYSHARD_FUZZ_SECONDS), and runs the tests once more
# under ThreadSanitizer.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip the sanitizer builds and the fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
jobs=$(nproc 2>/dev/null || echo 2)
# CPU seconds (user + system) of this script's finished children so far: fields 16 and 17 of
# /proc/<pid>/stat, in clock ticks. Wall time is noisy on a shared machine; CPU time is not.
cpu_s() {
  local stat f
  stat=$(</proc/$$/stat)
  stat=${stat##*) } # after the command name, which may hold spaces
  read -r -a f <<<"$stat"
  echo $(((f[13] + f[14]) / $(getconf CLK_TCK)))
}
# Each stage's heading carries the time and the CPU time since the start, so a slow stage
# shows in CI's log.
stage() {
  printf '== %s (at %dm%02ds, %d CPU s) ==\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)) "$(cpu_s)"
}
# Every build links with lld (scripts/deps.sh installs it): about a quarter of ld.bfd's CPU
# time (libflyshard.so 0.22 s against 0.86 s, a test binary 0.04 s against 0.14 s). Links are
# a small part of a build, so this saves seconds, not minutes.
lld=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld)

bash scripts/deps.sh

stage "build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${lld[@]}" >/dev/null
cmake --build build -j"$jobs"

stage "unit tests"
(cd build && ctest -L unit -j"$jobs" --output-on-failure)
stage "integration tests"
# Two at a time: each test starts its own servers on free ports, and a test that injects
# faults against tight timeouts runs alone (SERIAL in tests/integration/CMakeLists.txt).
# Most of a test's time is spent waiting on servers: in a clean-clone run on this 2-CPU
# machine, 212 integration tests took 100 s plain, 184 s under ASan and 182 s under TSan,
# where 188 of them had taken 125, 291 and 263 s one at a time.
(cd build && ctest -L integration -j"$jobs" --output-on-failure)
stage "shop tests"
# The example shop end to end (Python drivers start their own cluster, servers and worker).
(cd build && ctest -L shop --output-on-failure)
stage "browser test"
# The shop's page in headless Debian chromium, driven by playwright-core (tests/browser).
(cd build && ctest -L browser --output-on-failure)

if [[ $quick -eq 0 ]]; then
  # The sanitizer builds carry -g1 debug information (line tables, inlined frames), which is
  # all a sanitizer report uses for its function, file:line stack frames; nobody steps
  # through these builds in a debugger, and full -g made them slower to compile and link.
  # Measured per file, CPU s before -> after (-g1, with the tests' precompiled header):
  # ASan reply_test 4.2 -> 2.4, client_test 6.7 -> 4.4, src/client.cpp 5.6 -> 5.3; TSan
  # reply_test 6.3 -> 3.2, client_test 10.1 -> 5.6, src/client.cpp 7.0 -> 5.4.
  # They build no benchmarks or examples: no stage of theirs runs one.
  stage "ASan + UBSan build"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLYSHARD_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1 "${lld[@]}" \
    -DFLYSHARD_BUILD_BENCH=OFF -DFLYSHARD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-asan -j"$jobs"
  stage "ASan + UBSan tests"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest -j"$jobs" -L unit --output-on-failure)
  (cd build-asan && ctest -L integration -j"$jobs" --output-on-failure)

  # Fuzzing: a bounded run of every libFuzzer target (scripts/fuzz.sh --minutes N for longer).
  stage "fuzz (libFuzzer + ASan + UBSan)"
  bash scripts/fuzz.sh --seconds "${FLYSHARD_FUZZ_SECONDS:-20}"

  stage "ThreadSanitizer build"
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLYSHARD_TSAN=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
    "${lld[@]}" -DFLYSHARD_BUILD_BENCH=OFF -DFLYSHARD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-tsan -j"$jobs"
  stage "ThreadSanitizer tests"
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
  (cd build-tsan && ctest -j"$jobs" -L unit --output-on-failure)
  (cd build-tsan && ctest -L integration -j"$jobs" --output-on-failure)
fi
echo "scripts/test.sh: all tests passed in $((SECONDS / 60))m$((SECONDS % 60))s ($(cpu_s) CPU s)"
