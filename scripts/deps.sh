#!/usr/bin/env bash
# Installs from Debian (12, bookworm) the packages flyshard needs to build, test, run the shop
# and run the benchmarks. Installs only what is missing; with everything present it changes
# nothing and returns at once.
#
#   scripts/deps.sh           install what is missing (uses sudo when not root)
#   scripts/deps.sh --check   only list what is missing; exit 1 if anything is
#
# The packaged redis-server, redis-sentinel and nutcracker services are stopped and disabled
# right after they are installed: the tests start their own servers on free ports.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libhiredis-dev libuv1-dev libxxhash-dev nlohmann-json3-dev libssl-dev libcpp-httplib-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-sentinel redis-tools nutcracker procps
  # TLS tests make their certificates with the openssl tool
  openssl
  # the shop's tests and stress runs: a real browser, HTTP load, Locust, charts
  chromium python3 python3-locust wrk gnuplot-nox curl
  # fuzzing (libFuzzer) and ThreadSanitizer builds
  clang libclang-rt-14-dev
  # scripts/test.sh links with lld (-fuse-ld=lld): faster than ld.bfd on the test binaries
  lld
)
SERVICES=(redis-server redis-sentinel nutcracker)

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "deps.sh: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac

# One dpkg-query for all packages (fast); a package dpkg has never heard of prints nothing.
declare -A installed=()
while read -r name status; do
  [[ "$status" == *"install ok installed"* ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for p in "${PACKAGES[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "deps.sh: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi
if ((check_only)); then
  echo "deps.sh: missing: ${missing[*]}"
  exit 1
fi

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "deps.sh: not root and no sudo; install as root: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "deps.sh: installing: ${missing[*]}"
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

# Stops a packaged service we just installed. systemd or SysV init may be missing or not
# working (containers): try each way, then fall back to the pidfile. Never fails the script.
stop_service() {
  local svc=$1 pidfile pid comm
  if command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl stop "$svc" >/dev/null 2>&1 || true
    "${SUDO[@]}" systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
  if command -v service >/dev/null 2>&1; then
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    "${SUDO[@]}" update-rc.d "$svc" disable >/dev/null 2>&1 || true
  fi
  for pidfile in "/run/redis/$svc.pid" "/run/sentinel/$svc.pid" "/run/$svc/$svc.pid" \
    "/var/run/$svc/$svc.pid" "/run/$svc.pid"; do
    [[ -r "$pidfile" ]] || continue
    pid=$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)
    [[ -n "$pid" ]] || continue
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    # Only the packaged daemon itself, never whatever process reuses a stale PID.
    case "$comm" in
      redis-server* | redis-sentinel* | nutcracker*)
        echo "deps.sh: stopping packaged $svc (pid $pid)"
        "${SUDO[@]}" kill "$pid" 2>/dev/null || true
        ;;
    esac
  done
  return 0
}

for svc in "${SERVICES[@]}"; do
  for p in "${missing[@]}"; do
    if [[ "$p" == "$svc" ]]; then
      stop_service "$svc" || true
    fi
  done
done

echo "deps.sh: done"
