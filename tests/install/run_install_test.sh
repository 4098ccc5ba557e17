#!/usr/bin/env bash
# Installs a built flyshard into a fresh prefix and builds a consumer against it three times:
# with find_package(flyshard CONFIG) + flyshard::flyshard, with pkg-config, and with
# `pkg-config --static` against libflyshard.a. Also checks that the installed public headers
# do not include any private dependency.
#
# usage: run_install_test.sh <build-dir> [<temp-base>]
#   <build-dir>  a configured and built flyshard build tree
#   <temp-base>  where to make the fresh work dir (<temp-base>.XXXXXX); default $TMPDIR or /tmp
# Environment: CMAKE (cmake to use, default "cmake"), CXX (compiler, default the build's).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 <build-dir> [<temp-base>]" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "$1" && pwd)"
base="${2:-${TMPDIR:-/tmp}/flyshard-install-test}"
cmake_bin="${CMAKE:-cmake}"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  echo "FAIL: $build is not a CMake build tree" >&2
  exit 1
fi
if [[ -z "${CXX:-}" ]]; then
  CXX="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
  CXX="${CXX:-g++}"
fi
export CXX

mkdir -p "$(dirname "$base")"
work="$(mktemp -d "$base.XXXXXX")"
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT

prefix="$work/prefix"
step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step "install into $prefix"
"$cmake_bin" --install "$build" --prefix "$prefix"

# The library directory is whatever GNUInstallDirs chose (lib, lib64, lib/<multiarch>).
pc_file="$(find "$prefix" -name flyshard.pc -path '*/pkgconfig/*' | head -n 1)"
[[ -n "$pc_file" ]] || fail "flyshard.pc was not installed"
pc_dir="$(dirname "$pc_file")"
libdir="$(dirname "$pc_dir")"
config_file="$(find "$prefix" -name flyshardConfig.cmake | head -n 1)"
[[ -n "$config_file" ]] || fail "flyshardConfig.cmake was not installed"
ls "$libdir"/libflyshard.* >/dev/null 2>&1 || fail "no libflyshard.* in $libdir"
echo "libdir: ${libdir#"$prefix"/}"

step "public headers include no private dependency"
incdir="$prefix/include"
[[ -f "$incdir/flyshard/flyshard.hpp" ]] || fail "flyshard/flyshard.hpp was not installed"
if grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]*(hiredis|uv\.h|uv/|xxhash|nlohmann|openssl)' \
  "$incdir"; then
  fail "an installed public header includes a private dependency (above)"
fi
# Each installed header compiles on its own, from the installed tree only.
for h in "$incdir"/flyshard/*.hpp; do
  rel="${h#"$incdir"/}"
  echo "#include <$rel>" | "$CXX" -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
    -I"$incdir" -x c++ - || fail "$rel does not compile on its own"
done
echo "ok"

step "CMake consumer: find_package(flyshard CONFIG REQUIRED)"
"$cmake_bin" -S "$here/consumer" -B "$work/b" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
found_dir="$(sed -n 's/^flyshard_DIR:PATH=//p' "$work/b/CMakeCache.txt")"
[[ "$found_dir" == "$prefix"/* ]] || fail "find_package found flyshard in '$found_dir', not in $prefix"
"$cmake_bin" --build "$work/b" -j2
"$work/b/consumer"

step "pkg-config consumer"
export PKG_CONFIG_PATH="$pc_dir"
pc_libdir="$(pkg-config --variable=libdir flyshard)"
[[ "$(realpath "$pc_libdir")" == "$(realpath "$libdir")" ]] ||
  fail "flyshard.pc libdir is '$pc_libdir', expected $libdir (is the .pc relocatable?)"
pc_incdir="$(pkg-config --variable=includedir flyshard)"
[[ "$(realpath "$pc_incdir")" == "$(realpath "$incdir")" ]] ||
  fail "flyshard.pc includedir is '$pc_incdir', expected $incdir"
if ls "$libdir"/libflyshard.so* >/dev/null 2>&1; then
  # shellcheck disable=SC2046  # pkg-config output is meant to be split into words
  "$CXX" -Wall -Wextra -Wpedantic -Werror "$here/consumer/main.cpp" -o "$work/consumer-pc" \
    $(pkg-config --cflags --libs flyshard) -Wl,-rpath,"$libdir"
  "$work/consumer-pc"
else
  # Without --static a static libflyshard leaves OpenSSL and the rest unresolved.
  echo "a static build (libflyshard.a): the --static step below links it"
fi

step "pkg-config consumer, static link (pkg-config --static)"
# A static libflyshard brings none of its dependencies: `pkg-config --static --libs` must name
# them all (Requires.private in cmake/flyshard.pc.in).
static_libs="$(pkg-config --static --libs flyshard)"
echo "pkg-config --static --libs flyshard: $static_libs"
for lib in -lflyshard -lhiredis -luv -lxxhash -lssl -lcrypto; do
  [[ " $static_libs " == *" $lib "* ]] || fail "pkg-config --static --libs flyshard lacks $lib"
done
# The consumer links against libflyshard.a alone. A build with BUILD_SHARED_LIBS=OFF installed
# one; for a shared build (the default) a copy of the prefix gets the archive of the very
# objects libflyshard.so was linked from, which is what a static build installs, without
# compiling the library a second time.
static_prefix="$prefix"
if ls "$libdir"/libflyshard.so* >/dev/null 2>&1; then
  static_prefix="$work/static-prefix"
  cp -a "$prefix" "$static_prefix"
  static_libdir="$static_prefix/${libdir#"$prefix"/}"
  rm -f "$static_libdir"/libflyshard.so*
  mapfile -t objects < <(find "$build/CMakeFiles/flyshard.dir" -name '*.o' | sort)
  ((${#objects[@]} > 0)) || fail "no object files of libflyshard under $build/CMakeFiles/flyshard.dir"
  ar rcs "$static_libdir/libflyshard.a" "${objects[@]}"
fi
export PKG_CONFIG_PATH="$(dirname "$(find "$static_prefix" -name flyshard.pc -path '*/pkgconfig/*' | head -n 1)")"
# shellcheck disable=SC2046  # pkg-config output is meant to be split into words
"$CXX" -Wall -Wextra -Wpedantic -Werror "$here/consumer/main.cpp" -o "$work/consumer-static" \
  $(pkg-config --cflags --static --libs flyshard)
if ldd "$work/consumer-static" | grep -q libflyshard; then
  fail "consumer-static links libflyshard dynamically; expected the archive"
fi
"$work/consumer-static"

step "install test passed"
