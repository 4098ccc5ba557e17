#include "reshard/guard_script.hpp"

#include <charconv>

#include "sha1_hex.hpp"

namespace flyshard::detail {
namespace {

// `unpack` is a global in Lua 5.1 (Redis) and table.unpack in 5.4 (Dragonfly). The epoch is
// compared as text: the record stores it in decimal, as the client sends it.
// Lease fencing refuses too, for moving keys only, once the stored record no longer lets
// them be written on the source (cutover and after): a guarded write still on its way when
// its client took the cutover's epoch (and registered it) must not land after the final
// drain, where nothing would copy it.
constexpr std::string_view kSource = R"lua(local unpack = unpack or table.unpack
local strict = ARGV[2] == 'strict'
if strict or tonumber(ARGV[3]) > 0 then
  local stored = redis.call('HGET', KEYS[1], 'epoch')
  if stored ~= ARGV[1] then
    local state = (not strict) and redis.call('HGET', KEYS[1], 'state')
    if strict or (state ~= 'preparing' and state ~= 'copying' and state ~= 'catchup') then
      return redis.error_reply('FLYSHARDSTALE ' .. (stored or '0'))
    end
  end
end
local reply = redis.call(unpack(ARGV, 4))
for i = 1, tonumber(ARGV[3]) do
  redis.call('SADD', KEYS[2], KEYS[2 + i])
end
return reply
)lua";

}  // namespace

std::string_view guard_script_source() noexcept {
  return kSource;
}

const std::string& guard_script_sha1() {
  static const std::string sha = sha1_hex(kSource);
  return sha;
}

std::vector<std::string_view> guard_words(std::span<const std::string_view> command,
                                          const GuardCall& call, bool eval,
                                          std::vector<std::string>& scratch) {
  scratch.clear();
  scratch.reserve(4);  // no reallocation: the views below point into it
  scratch.push_back(std::to_string(2 + call.moving.size() + call.others.size()));
  scratch.push_back(std::to_string(call.epoch));
  scratch.push_back(std::to_string(call.moving.size()));
  scratch.emplace_back(call.dirty_key);  // the call's record view may go before the words
  std::vector<std::string_view> w;
  w.reserve(9 + call.moving.size() + call.others.size() + command.size());
  w.push_back(eval ? "EVAL" : "EVALSHA");
  w.push_back(eval ? guard_script_source() : std::string_view(guard_script_sha1()));
  w.push_back(scratch[0]);
  w.push_back(kRecordKey);
  w.push_back(scratch[3]);
  w.insert(w.end(), call.moving.begin(), call.moving.end());
  w.insert(w.end(), call.others.begin(), call.others.end());
  w.push_back(scratch[1]);
  w.push_back(to_string(call.fencing));
  w.push_back(scratch[2]);
  w.insert(w.end(), command.begin(), command.end());
  return w;
}

std::optional<std::uint64_t> stale_epoch(std::string_view message) noexcept {
  constexpr std::string_view kPrefix = "FLYSHARDSTALE ";
  if (!message.starts_with(kPrefix)) return std::nullopt;
  message.remove_prefix(kPrefix.size());
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(message.data(), message.data() + message.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  (void)end;
  return v;
}

bool is_noscript(std::string_view message) noexcept {
  return message.starts_with("NOSCRIPT");
}

}  // namespace flyshard::detail
