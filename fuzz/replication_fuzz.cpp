// libFuzzer target: the replication parsers. The first byte picks the input: INFO
// replication text, or a ROLE reply given as RESP bytes (parsed by the reply reader first).
// Checks: neither parser throws or crashes on anything, and the lag judge takes what they give.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flyshard/error.hpp"
#include "io/resp.hpp"
#include "health/replication.hpp"

using namespace flyshard::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    ReplicationInfo info = parse_info_replication(text);
    // Judge it both as a replica and as its own primary.
    ReplicaLagTracker tracker("127.0.0.1", 7001);
    const auto now = std::chrono::steady_clock::now();
    (void)tracker.update(info, info, now, std::chrono::milliseconds(1000));
    (void)tracker.update(info, std::nullopt, now + std::chrono::seconds(1),
                         std::chrono::milliseconds(1000));
    return 0;
  }
  ReplyReader reader;
  try {
    reader.feed(text.data(), text.size());
    while (auto r = reader.next()) (void)parse_role(*r);
  } catch (const flyshard::Error&) {
    // Malformed RESP: the reader's business, covered by resp_reply_fuzz.
  }
  return 0;
}
