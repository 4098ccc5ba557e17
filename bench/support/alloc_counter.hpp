#pragma once
/// \file alloc_counter.hpp
/// Counts heap allocations of the whole process: malloc, calloc, realloc, the aligned forms
/// and, through them, every operator new (libstdc++'s calls malloc), hiredis' and libuv's.
///
/// Link alloc_counter.cpp into an executable (as a source, not from a static library: the
/// linker must take its malloc before libc's). Benchmark support only.

#include <cstdint>

namespace flyshard::bench {

/// Allocations made so far by every thread of this process (relaxed: take it where the
/// threads that allocate are quiet, or on the thread that does the work).
std::uint64_t allocations() noexcept;

}  // namespace flyshard::bench
