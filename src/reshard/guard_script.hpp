#pragma once
// The guard script: how a client writes while a migration runs (and every write under strict
// fencing). One script call runs the client's command and records the moving keys it wrote in
// the source's dirty set, atomically, so the migrator's catch-up never misses a write; under
// strict fencing it first refuses a client whose epoch is not the stored one.
//
//   KEYS = [record key, dirty set key, moving keys..., other keys of the command...]
//   ARGV = [client epoch, "strict" | "lease", number of moving keys, command words...]
//
// Strict mode and a stored epoch other than ARGV[1], or lease mode with moving keys
// (ARGV[3] > 0), a stored epoch other than ARGV[1] and a stored state past catchup (the
// cutover froze them; a write arriving late must not slip behind the final drain): the reply
// is the error "FLYSHARDSTALE <stored epoch>" (0 when no record is stored) and nothing ran.
// Otherwise the
// command runs, then each of the ARGV[3] moving keys (KEYS[3..]) is SADDed to KEYS[2]. Only
// moving keys are added: the migrator copies every dirty key to its target shard, and a key
// that does not move has no other shard. Every key the script touches is declared (Dragonfly).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

/// The Lua source.
std::string_view guard_script_source() noexcept;
/// Its SHA1, hex (for EVALSHA).
const std::string& guard_script_sha1();

/// What a guarded write needs besides the command.
struct GuardCall {
  std::uint64_t epoch = 0;  ///< the epoch the client routes by
  Fencing fencing = Fencing::lease;
  std::string_view dirty_key;  ///< "flyshard:dirty:<migration id>" (any name when none move)
  std::span<const std::string_view> moving;  ///< the command's keys that move
  std::span<const std::string_view> others;  ///< its other keys
};

/// The words of EVALSHA (or EVAL when `eval`) running `command` through the guard. The views
/// point into `command`, the keys `call` names, and `scratch`, which must outlive the result.
std::vector<std::string_view> guard_words(std::span<const std::string_view> command,
                                          const GuardCall& call, bool eval,
                                          std::vector<std::string>& scratch);

// Writes the guard cannot wrap: a script (Lua may not call EVAL) and a MULTI/EXEC batch (a
// transaction, write_and_wait). They are *recorded* instead: the SADD of their moving keys to
// the dirty set is queued in the same transaction as the write, so both run or neither does,
// with no other client's command in between, which is what the guard gives a single command.
// In plain (non-cluster) mode a transaction may touch any key of the node, so the dirty set
// (a fixed per-node name) can be in it.
//
// And they are *checked* first, as the guard checks: MULTI/EXEC cannot look at the stored
// record when it runs, so the batch goes as
//
//   WATCH <record> <fence>            the record, and a key of this client's
//   EVAL <check> 2 <record> <fence> <epoch>
//   MULTI, the write, SADD <dirty> <moving...>, EXEC
//
// in one contiguous write. The check script compares the stored epoch with the client's; when
// they differ it writes the fence key, a WATCHed key, so EXEC answers nil and nothing of the
// write runs. A record changed by the migrator between the WATCH and the EXEC makes EXEC
// answer nil too. So a recorded write runs only under the very record its client routes by:
// never after the cutover record (the final drain could miss it), under strict fencing or
// lease. (Before this check, recorded writes were refused from the catch-up on, and under
// strict fencing altogether.)

/// What a recorded write checks first.
struct RecordCheck {
  std::uint64_t epoch = 0;     ///< the epoch the client routes by
  std::string_view fence_key;  ///< "flyshard:fence:<client id>" (the check writes it to abort)
};

/// The words of `SADD <dirty_key> <moving...>`. The views point into `moving` and
/// `dirty_copy`, which receives a copy of `dirty_key` (the record the key came from may go
/// before the words are sent).
std::vector<std::string_view> record_words(std::string_view dirty_key,
                                           std::span<const std::string_view> moving,
                                           std::string& dirty_copy);

/// Appends `WATCH` and the check script's `EVAL`: kRecordCheckReplies replies, to send before
/// MULTI. (EVAL, not EVALSHA: the batch's replies come back together, too late to resend one
/// that met NOSCRIPT.)
void append_record_check(std::string& payload, const RecordCheck& check);
inline constexpr std::uint32_t kRecordCheckReplies = 2;

/// Appends the check, `MULTI`, `command`, `record` (record_words; empty: no SADD, a checked
/// write of keys that do not move, under strict fencing) and `EXEC` to `payload`:
/// recorded_replies(!record.empty()) replies, the last (EXEC's) holding the command's reply
/// and SADD's.
void append_recorded(std::string& payload, std::span<const std::string_view> command,
                     std::span<const std::string_view> record, const RecordCheck& check);
/// How many replies append_recorded() adds (with a SADD or without).
constexpr std::uint32_t recorded_replies(bool sadd) noexcept {
  return kRecordCheckReplies + (sadd ? 4 : 3);
}

/// The command's reply out of EXEC's reply to append_recorded(): the first element (an error
/// element, such as a script's NOSCRIPT, becomes errc::server_error with its text, as the
/// command alone would have given). A failed SADD is an error too: the write may have run
/// without being recorded. A nil EXEC (the check refused the client's epoch, or the record
/// changed before EXEC: nothing ran) is the retriable errc::migrating. An error in `exec`
/// (EXECABORT, a lost link) is passed on.
Result<Reply> recorded_reply(Result<Reply> exec);

/// A MULTI/EXEC batch recorded by a SADD queued last, before EXEC (`sadd`; false: a checked
/// batch without one): takes SADD's reply off EXEC's reply (an array) so the caller sees its
/// own commands' replies only. A failed SADD turns `exec` into an error reply (the writes may
/// have run without being recorded). A nil (the check refused, the record or another WATCHed
/// key changed) or an error (EXECABORT) is left as it is.
void strip_record(Reply& exec, bool sadd);

/// The message of errc::migrating for a checked batch whose EXEC answered nil.
inline constexpr std::string_view kRecordChangedMessage =
    "the topology record is not the one this client routes by (refused by the check, or changed "
    "before EXEC): nothing ran; retry";

/// The stored epoch of a FLYSHARDSTALE error message; nullopt for any other message.
std::optional<std::uint64_t> stale_epoch(std::string_view message) noexcept;
/// A NOSCRIPT error (EVALSHA of a script the node does not hold): send EVAL instead.
bool is_noscript(std::string_view message) noexcept;

}  // namespace flyshard::detail
