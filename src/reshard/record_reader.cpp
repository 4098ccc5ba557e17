#include "reshard/record_reader.hpp"

#include "flyshard/error.hpp"

namespace flyshard::detail {

std::optional<TopologyRecord> record_from_reply(const Reply& reply, const Topology& local) {
  if (reply.is_error()) throw Error(errc::server_error, reply.str());
  // RESP3 would answer a map; the library speaks RESP2, where HGETALL is a flat array.
  if (!reply.is_array() || reply.elements().size() % 2 != 0) {
    throw Error(errc::protocol_error,
                std::string(kRecordKey) + ": expected field/value pairs, got " + reply.to_string());
  }
  const auto& e = reply.elements();
  if (e.empty()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(e.size() / 2);
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) fields.emplace_back(e[i].str(), e[i + 1].str());
  return TopologyRecord::from_fields(fields, local);
}

const TopologyRecord* newest_record(std::span<const std::optional<TopologyRecord>> read) noexcept {
  const TopologyRecord* best = nullptr;
  for (const auto& r : read) {
    if (r && (best == nullptr || r->epoch > best->epoch)) best = &*r;
  }
  return best;
}

}  // namespace flyshard::detail
