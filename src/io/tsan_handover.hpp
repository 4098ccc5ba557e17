#pragma once
// Handovers through libuv that ThreadSanitizer cannot see. Debian's libuv is not built with
// -fsanitize=thread, so the lock under which uv_queue_work passes a job to its thread pool
// and back is invisible to TSan, which then reports the job's fields as races. These mark
// the two sides of such a handover on the request's address; they compile to nothing
// outside a TSan build.

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define FLYSHARD_HANDOVER_RELEASE(p) __tsan_release(static_cast<void*>(p))
#define FLYSHARD_HANDOVER_ACQUIRE(p) __tsan_acquire(static_cast<void*>(p))
#else
#define FLYSHARD_HANDOVER_RELEASE(p) ((void)(p))
#define FLYSHARD_HANDOVER_ACQUIRE(p) ((void)(p))
#endif
