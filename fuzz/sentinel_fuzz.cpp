// libFuzzer target: what a Sentinel sends. The first byte picks the input: a Pub/Sub event
// ("<channel>\n<message>", as parse_sentinel_event gets it), or a RESP reply to
// get-master-addr-by-name / SENTINEL replicas. Checks: nothing throws or crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flyshard/error.hpp"
#include "io/resp.hpp"
#include "health/sentinel.hpp"

using namespace flyshard::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    const std::size_t nl = text.find('\n');
    const std::string_view channel = nl == std::string_view::npos ? text : text.substr(0, nl);
    const std::string_view message =
        nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    (void)parse_sentinel_event(channel, message);
    return 0;
  }
  ReplyReader reader;
  try {
    reader.feed(text.data(), text.size());
    while (auto r = reader.next()) {
      (void)parse_master_addr(*r);
      (void)parse_sentinel_replicas(*r);
    }
  } catch (const flyshard::Error&) {
  }
  return 0;
}
