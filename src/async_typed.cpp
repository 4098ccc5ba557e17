// AsyncClient's typed helpers: the blocking Client's counterparts. Words as the blocking
// face sends them; replies converted by Reply::as<T>() (or a helper's own rule, e.g. PTTL's
// negative answers), so both faces read a reply the same way.
#include <algorithm>

#include "client_core.hpp"
#include "command_table.hpp"
#include "flyshard/client.hpp"
#include "flyshard/server_error.hpp"
#include "gather.hpp"
#include "io/resp.hpp"
#include "script_words.hpp"
#include "stream_reply.hpp"
#include "stream_words.hpp"
#include "typed_words.hpp"

namespace flyshard {

using detail::words_with;

namespace {

// Completes `cb` with convert(reply), or the request's error. The conversion runs inside the
// try and the callback outside it: a callback that throws is never called a second time with
// its own exception as the result.
template <typename T, typename Convert>
Callback<Reply> converting(Callback<T> cb, Convert convert) {
  return [cb = std::move(cb), convert = std::move(convert)](Result<Reply> r) {
    std::optional<Result<T>> out;
    if (!r.ok()) {
      out.emplace(r.error(), r.message());
    } else {
      try {
        out.emplace(convert(r.value()));
      } catch (const Error& e) {
        out.emplace(e.value(), e.what());
      }
    }
    cb(std::move(*out));
  };
}

// A whole-call result from a split multi-key reply: the first shard's failure, else `take`.
template <typename T, typename Take>
Callback<MultiKeyReply> all_or_error(Callback<T> cb, Take take) {
  return [cb = std::move(cb), take = std::move(take)](Result<MultiKeyReply> r) {
    std::optional<Result<T>> out;
    if (!r.ok()) {
      out.emplace(r.error(), r.message());
    } else if (!r.value().ok()) {
      const auto& errs = r.value().key_errors;
      auto first =
          std::find_if(errs.begin(), errs.end(), [](const auto& e) { return e.has_value(); });
      out.emplace(first != errs.end() ? **first : errc::server_error, r.value().error_message);
    } else {
      try {
        out.emplace(take(r.value().reply));
      } catch (const Error& e) {
        out.emplace(e.value(), e.what());
      }
    }
    cb(std::move(*out));
  };
}

std::optional<std::chrono::milliseconds> ttl_of(const Reply& r) {
  const long long v = r.as<long long>();
  if (v < 0) return std::nullopt;  // -1: no TTL, -2: no key
  return std::chrono::milliseconds(v);
}

// Completes `cb` with `value` on the loop thread (never inside the call), as the blocking
// face answers at once for an empty key list.
template <typename T>
void complete_soon(detail::ClientCore& core, Callback<T> cb, T value) {
  // submit_error always completes on the loop: with our marker, or shutting_down.
  core.submit_error(errc::config, "",
                    [cb = std::move(cb), value = std::move(value)](Result<Reply> r) mutable {
                      if (r.error() == errc::shutting_down)
                        return cb(Result<T>(r.error(), r.message()));
                      cb(Result<T>(std::move(value)));
                    });
}

long long sum_of(const Reply& r) {
  return r.as<long long>();
}

}  // namespace

void AsyncClient::incr(std::string_view key, long long by, Callback<long long> cb) {
  command_as<long long>({"INCRBY", key, by}, std::move(cb));
}

void AsyncClient::decr(std::string_view key, long long by, Callback<long long> cb) {
  command_as<long long>({"DECRBY", key, by}, std::move(cb));
}

void AsyncClient::incrbyfloat(std::string_view key, double by, Callback<double> cb) {
  command_as<double>({"INCRBYFLOAT", key, by}, std::move(cb));
}

void AsyncClient::append(std::string_view key, std::string_view value, Callback<long long> cb) {
  command_as<long long>({"APPEND", key, value}, std::move(cb));
}

void AsyncClient::strlen(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"STRLEN", key}, std::move(cb));
}

void AsyncClient::getdel(std::string_view key, Callback<std::optional<std::string>> cb) {
  command_as<std::optional<std::string>>({"GETDEL", key}, std::move(cb));
}

void AsyncClient::expire(std::string_view key, std::chrono::seconds ttl, Callback<bool> cb) {
  command_as<bool>({"EXPIRE", key, static_cast<long long>(ttl.count())}, std::move(cb));
}

void AsyncClient::pexpire(std::string_view key, std::chrono::milliseconds ttl, Callback<bool> cb) {
  command_as<bool>({"PEXPIRE", key, static_cast<long long>(ttl.count())}, std::move(cb));
}

void AsyncClient::pttl(std::string_view key,
                       Callback<std::optional<std::chrono::milliseconds>> cb) {
  command({"PTTL", key}, converting(std::move(cb), ttl_of));
}

void AsyncClient::persist(std::string_view key, Callback<bool> cb) {
  command_as<bool>({"PERSIST", key}, std::move(cb));
}

void AsyncClient::hget(std::string_view key, std::string_view field,
                       Callback<std::optional<std::string>> cb) {
  command_as<std::optional<std::string>>({"HGET", key, field}, std::move(cb));
}

void AsyncClient::hset(std::string_view key,
                       const std::vector<std::pair<std::string, std::string>>& fields,
                       Callback<long long> cb) {
  std::vector<std::string_view> w{"HSET", key};
  for (const auto& [f, v] : fields) {
    w.push_back(f);
    w.push_back(v);
  }
  command_as<long long>(Args(w), std::move(cb));
}

void AsyncClient::hgetall(std::string_view key,
                          Callback<std::vector<std::pair<std::string, std::string>>> cb) {
  command_as<std::vector<std::pair<std::string, std::string>>>({"HGETALL", key}, std::move(cb));
}

void AsyncClient::hincrby(std::string_view key, std::string_view field, long long by,
                          Callback<long long> cb) {
  command_as<long long>({"HINCRBY", key, field, by}, std::move(cb));
}

void AsyncClient::hdel(std::string_view key, const std::vector<std::string>& fields,
                       Callback<long long> cb) {
  command_as<long long>(Args(words_with("HDEL", key, fields)), std::move(cb));
}

void AsyncClient::hlen(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"HLEN", key}, std::move(cb));
}

void AsyncClient::lpush(std::string_view key, const std::vector<std::string>& values,
                        Callback<long long> cb) {
  command_as<long long>(Args(words_with("LPUSH", key, values)), std::move(cb));
}

void AsyncClient::rpush(std::string_view key, const std::vector<std::string>& values,
                        Callback<long long> cb) {
  command_as<long long>(Args(words_with("RPUSH", key, values)), std::move(cb));
}

void AsyncClient::lpop(std::string_view key, Callback<std::optional<std::string>> cb) {
  command_as<std::optional<std::string>>({"LPOP", key}, std::move(cb));
}

void AsyncClient::rpop(std::string_view key, Callback<std::optional<std::string>> cb) {
  command_as<std::optional<std::string>>({"RPOP", key}, std::move(cb));
}

void AsyncClient::lrange(std::string_view key, long long start, long long stop,
                         Callback<std::vector<std::string>> cb) {
  command_as<std::vector<std::string>>({"LRANGE", key, start, stop}, std::move(cb));
}

void AsyncClient::llen(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"LLEN", key}, std::move(cb));
}

void AsyncClient::sadd(std::string_view key, const std::vector<std::string>& members,
                       Callback<long long> cb) {
  command_as<long long>(Args(words_with("SADD", key, members)), std::move(cb));
}

void AsyncClient::srem(std::string_view key, const std::vector<std::string>& members,
                       Callback<long long> cb) {
  command_as<long long>(Args(words_with("SREM", key, members)), std::move(cb));
}

void AsyncClient::sismember(std::string_view key, std::string_view member, Callback<bool> cb) {
  command_as<bool>({"SISMEMBER", key, member}, std::move(cb));
}

void AsyncClient::smembers(std::string_view key, Callback<std::vector<std::string>> cb) {
  command_as<std::vector<std::string>>({"SMEMBERS", key}, std::move(cb));
}

void AsyncClient::scard(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"SCARD", key}, std::move(cb));
}

void AsyncClient::zadd(std::string_view key,
                       const std::vector<std::pair<double, std::string>>& members,
                       Callback<long long> cb) {
  std::vector<Arg> scores;
  command_as<long long>(Args(detail::zadd_words(key, members, scores)), std::move(cb));
}

void AsyncClient::zscore(std::string_view key, std::string_view member,
                         Callback<std::optional<double>> cb) {
  command_as<std::optional<double>>({"ZSCORE", key, member}, std::move(cb));
}

void AsyncClient::zrange(std::string_view key, long long start, long long stop,
                         Callback<std::vector<std::string>> cb) {
  command_as<std::vector<std::string>>({"ZRANGE", key, start, stop}, std::move(cb));
}

void AsyncClient::zrem(std::string_view key, const std::vector<std::string>& members,
                       Callback<long long> cb) {
  command_as<long long>(Args(words_with("ZREM", key, members)), std::move(cb));
}

void AsyncClient::zincrby(std::string_view key, double by, std::string_view member,
                          Callback<double> cb) {
  command_as<double>({"ZINCRBY", key, by, member}, std::move(cb));
}

void AsyncClient::zcard(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"ZCARD", key}, std::move(cb));
}

void AsyncClient::xadd(std::string_view key,
                       const std::vector<std::pair<std::string, std::string>>& fields,
                       Callback<std::string> cb, std::string_view id, std::size_t max_len) {
  std::string len;
  command(Args(detail::xadd_words(key, fields, id, max_len, len)),
          converting(std::move(cb), detail::parse_xadd_id));
}

void AsyncClient::xgroup_create(std::string_view key, std::string_view group, Callback<bool> cb,
                                std::string_view start_id, bool mkstream) {
  command(Args(detail::xgroup_create_words(key, group, start_id, mkstream)),
          [cb = std::move(cb)](Result<Reply> r) {
            // BUSYGROUP: the group is there already, as the blocking face reports it.
            if (!r.ok() && server_error_kind(r) == ServerErrorKind::busygroup)
              return cb(Result<bool>(false));
            if (!r.ok()) return cb(Result<bool>(r.error(), r.message()));
            cb(Result<bool>(true));
          });
}

void AsyncClient::xreadgroup(std::string_view group, std::string_view consumer,
                             std::string_view key, Callback<std::vector<StreamEntry>> cb,
                             std::string_view id, std::size_t count) {
  std::string n, ms;
  command(Args(detail::xreadgroup_words(group, consumer, key, id, count,
                                        std::chrono::milliseconds(0), n, ms)),
          converting(std::move(cb), detail::parse_read_reply));
}

void AsyncClient::xack(std::string_view key, std::string_view group,
                       const std::vector<std::string>& ids, Callback<long long> cb) {
  if (ids.empty()) return complete_soon(*core_, std::move(cb), 0LL);
  command_as<long long>(Args(detail::xack_words(key, group, ids)), std::move(cb));
}

void AsyncClient::xautoclaim(std::string_view key, std::string_view group,
                             std::string_view consumer, std::chrono::milliseconds min_idle,
                             Callback<AutoClaimed> cb, std::string_view start, std::size_t count) {
  std::string idle, n;
  command(Args(detail::xautoclaim_words(key, group, consumer, min_idle, start, count, idle, n)),
          converting(std::move(cb), detail::parse_autoclaim));
}

void AsyncClient::xlen(std::string_view key, Callback<long long> cb) {
  command_as<long long>({"XLEN", key}, std::move(cb));
}

void AsyncClient::xrange(std::string_view key, Callback<std::vector<StreamEntry>> cb,
                         std::string_view start, std::string_view end, std::size_t count) {
  std::string n;
  command(Args(detail::xrange_words(key, start, end, count, n)),
          converting(std::move(cb), detail::parse_stream_entries));
}

void AsyncClient::publish(std::string_view channel, std::string_view message,
                          Callback<long long> cb) {
  command_as<long long>({"PUBLISH", channel, message}, std::move(cb));
}

void AsyncClient::eval(std::string_view script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args, Callback<Reply> cb) {
  std::string count;
  command(Args(detail::script_words("EVAL", script, keys, args, count)), std::move(cb));
}

void AsyncClient::evalsha(std::string_view sha1, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args, Callback<Reply> cb) {
  std::string count;
  command(Args(detail::script_words("EVALSHA", sha1, keys, args, count)), std::move(cb));
}

void AsyncClient::script_load(std::string_view script, Callback<std::string> cb) {
  command_on_all({"SCRIPT", "LOAD", script}, [cb = std::move(cb)](Result<std::vector<Reply>> r) {
    std::optional<Result<std::string>> out;
    if (!r.ok()) {
      out.emplace(r.error(), r.message());
    } else {
      try {
        out.emplace(r.value().front().as<std::string>());
      } catch (const Error& e) {
        out.emplace(e.value(), e.what());
      }
    }
    cb(std::move(*out));
  });
}

void AsyncClient::mget(const std::vector<std::string>& keys,
                       Callback<std::vector<std::optional<std::string>>> cb) {
  if (keys.empty()) return complete_soon(*core_, std::move(cb), {});
  multi_key("MGET", keys, all_or_error(std::move(cb), [](const Reply& r) {
              return r.as<std::vector<std::optional<std::string>>>();
            }));
}

void AsyncClient::del(const std::vector<std::string>& keys, Callback<long long> cb) {
  if (keys.empty()) return complete_soon(*core_, std::move(cb), 0LL);
  multi_key("DEL", keys, all_or_error(std::move(cb), sum_of));
}

void AsyncClient::exists(const std::vector<std::string>& keys, Callback<long long> cb) {
  if (keys.empty()) return complete_soon(*core_, std::move(cb), 0LL);
  multi_key("EXISTS", keys, all_or_error(std::move(cb), sum_of));
}

void AsyncClient::unlink(const std::vector<std::string>& keys, Callback<long long> cb) {
  if (keys.empty()) return complete_soon(*core_, std::move(cb), 0LL);
  multi_key("UNLINK", keys, all_or_error(std::move(cb), sum_of));
}

void AsyncClient::touch(const std::vector<std::string>& keys, Callback<long long> cb) {
  if (keys.empty()) return complete_soon(*core_, std::move(cb), 0LL);
  multi_key("TOUCH", keys, all_or_error(std::move(cb), sum_of));
}

void AsyncClient::command_on_shard(std::size_t shard, Args args, Callback<Reply> cb) {
  detail::Node* node = nullptr;
  try {
    if (shard >= core_->router().shard_count()) {
      throw Error(errc::config, "shard index " + std::to_string(shard) + " out of range");
    }
    const detail::CommandInfo* info = core_->check_for_shard(args.span());
    // A command that blocks would stall every caller sharing the link.
    if (detail::blocking_time(args.span(), info)) {
      throw Error(errc::config,
                  std::string(args.span()[0]) + " blocks its connection: use the blocking Client");
    }
    node = &core_->node_for_shard(shard, true, false);
  } catch (const Error& e) {
    core_->submit_error(e.value(), e.what(), std::move(cb));
    return;
  }
  std::string payload;
  detail::append_command(payload, args.span());
  core_->submit(*node, std::move(payload), 1, std::move(cb));
}

void AsyncClient::command_on_all(Args args, Callback<std::vector<Reply>> cb) {
  const std::size_t n = core_->router().shard_count();
  auto g = detail::make_gather(n, [cb = std::move(cb)](std::vector<Result<Reply>>& r) {
    std::vector<Reply> out;
    out.reserve(r.size());
    for (auto& one : r) {
      if (!one.ok()) return cb(Result<std::vector<Reply>>(one.error(), one.message()));
      out.push_back(std::move(one).value());
    }
    cb(Result<std::vector<Reply>>(std::move(out)));
  });
  for (std::size_t i = 0; i < n; ++i)
    command_on_shard(i, args, std::remove_reference_t<decltype(*g)>::slot(g, i));
}

}  // namespace flyshard
