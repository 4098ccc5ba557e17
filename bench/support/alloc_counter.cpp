// A counting shim in front of glibc's allocator: each entry point counts once and forwards
// to glibc's own implementation (__libc_malloc and friends, exported for exactly this kind
// of wrapper), so behaviour and memory layout stay glibc's. free() is not wrapped: counting
// allocations needs no bookkeeping of frees, and the pointers are glibc's own.
//
// Under valgrind's callgrind the shim stays in place (callgrind does not replace malloc), so
// one run under callgrind gives both allocation and instruction counts; the shim adds a few
// instructions per allocation, to every variant alike.
#include "alloc_counter.hpp"

#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {
std::atomic<std::uint64_t> g_allocations{0};

inline void count() noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

namespace flyshard::bench {
std::uint64_t allocations() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace flyshard::bench

extern "C" {

void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  count();
  return __libc_calloc(n, size);
}

// A realloc counts as an allocation (hiredis' sds strings grow this way): it may move the
// block, and a call that only shrinks or grows in place is rare on a hot path.
void* realloc(void* p, std::size_t size) {
  count();
  return __libc_realloc(p, size);
}

void* memalign(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}

}  // extern "C"
