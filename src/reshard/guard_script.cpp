#include "reshard/guard_script.hpp"

#include <charconv>

#include "io/resp.hpp"
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

// The check before a recorded write (guard_script.hpp): KEYS = [record, fence], ARGV =
// [client epoch]. Writing the fence key, which the batch WATCHes, makes its EXEC answer nil.
// The fence expires: it only has to outlive the EXEC sent right behind it.
constexpr std::string_view kCheckSource = R"lua(local stored = redis.call('HGET', KEYS[1], 'epoch')
if stored ~= ARGV[1] then
  redis.call('SET', KEYS[2], '1', 'PX', '10000')
  return redis.error_reply('FLYSHARDSTALE ' .. (stored or '0'))
end
return 'OK'
)lua";

}  // namespace

std::string_view guard_script_source() noexcept {
  return kSource;
}

const std::string& guard_script_sha1() {
  // Never destroyed: the loop thread of a client destroyed inside its own callback runs on,
  // detached, and may still read it while the process exits (TSan saw such a race on the
  // record read's payload, a static string like this one).
  static const std::string* const sha = new std::string(sha1_hex(kSource));
  return *sha;
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

std::vector<std::string_view> record_words(std::string_view dirty_key,
                                           std::span<const std::string_view> moving,
                                           std::string& dirty_copy) {
  dirty_copy.assign(dirty_key);
  std::vector<std::string_view> w;
  w.reserve(2 + moving.size());
  w.push_back("SADD");
  w.push_back(dirty_copy);
  w.insert(w.end(), moving.begin(), moving.end());
  return w;
}

void append_record_check(std::string& payload, const RecordCheck& check) {
  const std::string epoch = std::to_string(check.epoch);
  const std::string_view watch[] = {"WATCH", kRecordKey, check.fence_key};
  const std::string_view eval[] = {"EVAL", kCheckSource, "2", kRecordKey, check.fence_key, epoch};
  append_command(payload, watch);
  append_command(payload, eval);
}

void append_recorded(std::string& payload, std::span<const std::string_view> command,
                     std::span<const std::string_view> record, const RecordCheck& check) {
  constexpr std::string_view kMulti[] = {"MULTI"};
  constexpr std::string_view kExec[] = {"EXEC"};
  append_record_check(payload, check);
  append_command(payload, kMulti);
  append_command(payload, command);
  if (!record.empty()) append_command(payload, record);
  append_command(payload, kExec);
}

Result<Reply> recorded_reply(Result<Reply> exec) {
  if (!exec.ok()) return exec;
  Reply& r = exec.value();
  if (r.is_error()) return Result<Reply>(errc::server_error, r.str());
  if (r.is_nil()) return Result<Reply>(errc::migrating, std::string(kRecordChangedMessage));
  if (!r.is_array() || r.elements().empty() || r.elements().size() > 2) {
    return Result<Reply>(errc::protocol_error,
                         "MULTI/EXEC recording a write: EXEC did not answer one or two replies");
  }
  if (r.elements().size() == 2) {
    Reply& sadd = r.elements()[1];
    if (sadd.is_error()) {
      return Result<Reply>(errc::server_error,
                           "the write ran but recording its moving keys in the migration's dirty "
                           "set failed: " +
                               sadd.str());
    }
  }
  Reply& first = r.elements()[0];
  if (first.is_error()) return Result<Reply>(errc::server_error, first.str());
  return Result<Reply>(std::move(first));
}

void strip_record(Reply& exec, bool sadd) {
  if (!sadd || !exec.is_array() || exec.elements().empty()) return;
  if (exec.elements().back().is_error()) {
    exec = Reply::error(
        "the transaction ran but recording its moving keys in the migration's dirty set "
        "failed: " +
        exec.elements().back().str());
    return;
  }
  exec.elements().pop_back();
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
