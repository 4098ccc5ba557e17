// libFuzzer target: bytes from a server through the reply reader (hiredis + our builder).
// Checks: only Error(protocol_error) is ever thrown; memory stays within the limits; the
// same bytes fed at once and in pieces give the same replies and the same verdict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flyshard/error.hpp"
#include "io/resp.hpp"

namespace {

using flyshard::Reply;
using flyshard::detail::ReplyReader;

struct Outcome {
  std::vector<Reply> replies;
  bool failed = false;
};

// Feeds `data` in pieces whose sizes come from `cuts` (0: everything at once).
Outcome run(const std::uint8_t* data, std::size_t size, std::uint8_t cuts) {
  flyshard::ReplyLimits limits;
  // Small caps so the fuzzer reaches them (and stays within its memory limit).
  limits.max_array_length = 1000;
  limits.max_bulk_length = 1 << 16;
  limits.max_depth = 5;
  ReplyReader reader(limits);
  Outcome out;
  try {
    std::size_t at = 0;
    std::size_t step = cuts == 0 ? size : cuts;
    while (at < size) {
      const std::size_t n = std::min(step, size - at);
      reader.feed(reinterpret_cast<const char*>(data) + at, n);
      at += n;
      while (auto r = reader.next()) out.replies.push_back(std::move(*r));
      step = step % 7 + 1;  // uneven pieces
    }
  } catch (const flyshard::Error& e) {
    if (e.value() != flyshard::errc::protocol_error) __builtin_trap();
    out.failed = true;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t cuts = data[0] % 8;
  Outcome whole = run(data + 1, size - 1, 0);
  Outcome pieces = run(data + 1, size - 1, cuts == 0 ? 1 : cuts);
  if (whole.failed != pieces.failed || whole.replies != pieces.replies) __builtin_trap();
  for (const Reply& r : whole.replies) (void)r.to_string();
  return 0;
}
