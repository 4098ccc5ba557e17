#include "flyshard/client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "client_core.hpp"
#include "command_table.hpp"
#include "io/resp.hpp"
#include "reply_access.hpp"
#include "routing/scatter.hpp"
#include "script_words.hpp"
#include "typed_words.hpp"

namespace flyshard {

using detail::append_command;
using detail::value_or_throw;
using detail::words_with;

namespace {

// A command's bytes for one blocking call, on the stack when short (nearly every command):
// they are needed only until execute() returns, so a string per call would be an allocation
// for nothing. Not copyable: the view may point into the object itself.
class Encoded {
 public:
  explicit Encoded(const Args& args) : bytes_(detail::encode_command(args.span(), small_, big_)) {}
  Encoded(const Encoded&) = delete;
  Encoded& operator=(const Encoded&) = delete;
  operator std::string_view() const noexcept { return bytes_; }  // NOLINT

 private:
  char small_[256];
  std::string big_;
  std::string_view bytes_;
};

Encoded encode(const Args& args) {
  return Encoded(args);
}

std::string to_text(long long v) {
  return std::to_string(v);
}

std::string to_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}

double parse_double(const Reply& r) {
  if (r.is_error()) throw Error(errc::server_error, r.str());
  if (!r.is_string() && !r.is_status()) {
    throw Error(errc::protocol_error, "expected a number, got " + r.to_string());
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(r.str().data(), r.str().data() + r.str().size(), v);
  if (ec != std::errc{}) throw Error(errc::protocol_error, "not a number: " + r.str());
  return v;
}

std::vector<std::string> strings_of(const Reply& r) {
  std::vector<std::string> out;
  out.reserve(r.elements().size());
  for (const auto& e : r.elements()) out.push_back(e.str());
  return out;
}

}  // namespace

Client::Client(Topology topology, ClientOptions options)
    : core_(detail::make_core(std::move(topology), std::move(options))), async_(core_) {}

Client::~Client() = default;  // the core's deleter handles a destruction on the loop thread

Reply Client::command(Args args) {
  auto route = core_->route_with_key(args.span(), std::nullopt, true);
  if (route.table) [[unlikely]] {  // a topology record: guard, wait or fence as it says
    return value_or_throw(
        core_->run_fenced(args.span(), std::nullopt, std::nullopt, std::move(route)));
  }
  // A pooled blocking connection is exclusive for the call, so BLPOP & co. stall nobody.
  return value_or_throw(
      core_->execute(*route.node, encode(args), 1, route.read && !route.blocks, route.blocks));
}

Reply Client::command(Args args, ReadFrom read_from) {
  auto route = core_->route_with_key(args.span(), read_from, true);
  if (route.table) [[unlikely]] {
    return value_or_throw(
        core_->run_fenced(args.span(), read_from, std::nullopt, std::move(route)));
  }
  return value_or_throw(
      core_->execute(*route.node, encode(args), 1, route.read && !route.blocks, route.blocks));
}

Reply Client::command_routed(std::string_view routing_key, Args args) {
  auto route = core_->route_by(routing_key, args.span(), std::nullopt, true);
  if (route.table) [[unlikely]] {
    return value_or_throw(
        core_->run_fenced(args.span(), std::nullopt, routing_key, std::move(route)));
  }
  return value_or_throw(core_->execute(*route.node, encode(args), 1, route.read && !route.blocks,
                                       route.blocks, route.known));
}

std::optional<std::string> Client::get(std::string_view key, ReadFrom read_from) {
  return detail::take_optional_string(command({"GET", key}, read_from));
}

std::vector<Reply> Client::command_on_all(Args args) {
  const bool known = core_->check_for_shard(args.span()) != nullptr;
  std::vector<detail::BlockingJob> jobs(core_->router().shard_count());
  const std::string payload(std::string_view(encode(args)));
  const auto wait_until = core_->promotion_deadline();  // one wait for the whole call
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].node = &core_->node_for_shard(i, true, wait_until);
    jobs[i].payload = payload;
    jobs[i].replies = 1;
    jobs[i].reuse = known;
  }
  core_->execute_many(jobs);
  std::vector<Reply> out;
  for (auto& j : jobs) {
    if (j.error != errc{}) throw Error(j.error, j.message);
    if (j.out.back().is_error()) throw Error(errc::server_error, j.out.back().str());
    out.push_back(std::move(j.out.back()));
  }
  return out;
}

Reply Client::command_on_shard(std::size_t shard, Args args) {
  if (shard >= core_->router().shard_count()) {
    throw Error(errc::config, "shard index " + std::to_string(shard) + " out of range");
  }
  const detail::CommandInfo* info = core_->check_for_shard(args.span());
  return value_or_throw(core_->execute(core_->node_for_shard(shard, true, true), encode(args), 1,
                                       false, detail::blocking_time(args.span(), info),
                                       info != nullptr));
}

std::optional<std::string> Client::get(std::string_view key) {
  return detail::take_optional_string(command({"GET", key}));
}

bool Client::set(std::string_view key, std::string_view value, const SetOptions& options) {
  std::string ms;
  const auto w = detail::set_words(key, value, options, ms);
  return !command(w).is_nil();
}

long long Client::incr(std::string_view key, long long by) {
  std::string n = to_text(by);
  return command({"INCRBY", key, n}).as_integer();
}
long long Client::decr(std::string_view key, long long by) {
  std::string n = to_text(by);
  return command({"DECRBY", key, n}).as_integer();
}
double Client::incrbyfloat(std::string_view key, double by) {
  std::string n = to_text(by);
  return parse_double(command({"INCRBYFLOAT", key, n}));
}
long long Client::append(std::string_view key, std::string_view value) {
  return command({"APPEND", key, value}).as_integer();
}
long long Client::strlen(std::string_view key) {
  return command({"STRLEN", key}).as_integer();
}
std::optional<std::string> Client::getdel(std::string_view key) {
  return command({"GETDEL", key}).as_optional_string();
}

bool Client::expire(std::string_view key, std::chrono::seconds ttl) {
  std::string n = to_text(static_cast<long long>(ttl.count()));
  return command({"EXPIRE", key, n}).as_integer() == 1;
}
bool Client::pexpire(std::string_view key, std::chrono::milliseconds ttl) {
  std::string n = to_text(static_cast<long long>(ttl.count()));
  return command({"PEXPIRE", key, n}).as_integer() == 1;
}
std::optional<std::chrono::milliseconds> Client::pttl(std::string_view key) {
  long long v = command({"PTTL", key}).as_integer();
  if (v < 0) return std::nullopt;
  return std::chrono::milliseconds(v);
}
bool Client::persist(std::string_view key) {
  return command({"PERSIST", key}).as_integer() == 1;
}

long long Client::hset(std::string_view key,
                       const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string_view> w{"HSET", key};
  for (const auto& [f, v] : fields) {
    w.push_back(f);
    w.push_back(v);
  }
  return command(w).as_integer();
}
std::optional<std::string> Client::hget(std::string_view key, std::string_view field) {
  return command({"HGET", key, field}).as_optional_string();
}
std::vector<std::pair<std::string, std::string>> Client::hgetall(std::string_view key) {
  Reply r = command({"HGETALL", key});
  std::vector<std::pair<std::string, std::string>> out;
  const auto& e = r.elements();
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) out.emplace_back(e[i].str(), e[i + 1].str());
  return out;
}
long long Client::hdel(std::string_view key, const std::vector<std::string>& fields) {
  return command(words_with("HDEL", key, fields)).as_integer();
}
long long Client::hincrby(std::string_view key, std::string_view field, long long by) {
  std::string n = to_text(by);
  return command({"HINCRBY", key, field, n}).as_integer();
}
long long Client::hlen(std::string_view key) {
  return command({"HLEN", key}).as_integer();
}

long long Client::lpush(std::string_view key, const std::vector<std::string>& values) {
  return command(words_with("LPUSH", key, values)).as_integer();
}
long long Client::rpush(std::string_view key, const std::vector<std::string>& values) {
  return command(words_with("RPUSH", key, values)).as_integer();
}
std::optional<std::string> Client::lpop(std::string_view key) {
  return command({"LPOP", key}).as_optional_string();
}
std::optional<std::string> Client::rpop(std::string_view key) {
  return command({"RPOP", key}).as_optional_string();
}
std::vector<std::string> Client::lrange(std::string_view key, long long start, long long stop) {
  std::string a = to_text(start), b = to_text(stop);
  return strings_of(command({"LRANGE", key, a, b}));
}
long long Client::llen(std::string_view key) {
  return command({"LLEN", key}).as_integer();
}

long long Client::sadd(std::string_view key, const std::vector<std::string>& members) {
  return command(words_with("SADD", key, members)).as_integer();
}
long long Client::srem(std::string_view key, const std::vector<std::string>& members) {
  return command(words_with("SREM", key, members)).as_integer();
}
bool Client::sismember(std::string_view key, std::string_view member) {
  return command({"SISMEMBER", key, member}).as_integer() == 1;
}
std::vector<std::string> Client::smembers(std::string_view key) {
  return strings_of(command({"SMEMBERS", key}));
}
long long Client::scard(std::string_view key) {
  return command({"SCARD", key}).as_integer();
}

long long Client::zadd(std::string_view key,
                       const std::vector<std::pair<double, std::string>>& members) {
  std::vector<Arg> scores;
  return command(detail::zadd_words(key, members, scores)).as_integer();
}

std::optional<double> Client::zscore(std::string_view key, std::string_view member) {
  Reply r = command({"ZSCORE", key, member});
  if (r.is_nil()) return std::nullopt;
  return parse_double(r);
}
std::vector<std::string> Client::zrange(std::string_view key, long long start, long long stop) {
  std::string a = to_text(start), b = to_text(stop);
  return strings_of(command({"ZRANGE", key, a, b}));
}
long long Client::zrem(std::string_view key, const std::vector<std::string>& members) {
  return command(words_with("ZREM", key, members)).as_integer();
}
double Client::zincrby(std::string_view key, double by, std::string_view member) {
  std::string n = to_text(by);
  return parse_double(command({"ZINCRBY", key, n, member}));
}
long long Client::zcard(std::string_view key) {
  return command({"ZCARD", key}).as_integer();
}

namespace {

// Runs a split plan on the blocking path: every shard's part at once, then the keys that go
// alone (a migration runs), each routed, guarded or held like command(). `table`: the one the
// plan was made by; its shard indexes name nodes in it, not in a table a flip put in since.
MultiKeyReply run_plan(detail::ClientCore& core, const detail::RoutingTable& table,
                       const detail::SplitPlan& plan) {
  const bool write = plan.kind != detail::MergeKind::values;
  std::vector<Result<Reply>> results(plan.parts.size(), Result<Reply>(errc::shutting_down, ""));
  std::vector<detail::BlockingJob> jobs;
  std::vector<std::size_t> part_of_job;
  // One wait for promoted primaries for the whole call, not one per shard in turn.
  const auto wait_until = core.promotion_deadline();
  for (std::size_t i = 0; i < plan.parts.size(); ++i) {
    if (!plan.parts[i].words.empty()) continue;
    try {
      detail::BlockingJob job;
      job.node = &core.node_for_shard(table, plan.parts[i].shard, write, wait_until);
      job.payload = plan.parts[i].payload;
      job.replies = 1;
      jobs.push_back(std::move(job));
      part_of_job.push_back(i);
    } catch (const Error& e) {
      results[i] = Result<Reply>(e.value(), e.what());  // only this shard's keys fail
    }
  }
  if (jobs.size() == 1) {
    // One shard: the single-request fast path.
    results[part_of_job[0]] = core.execute(*jobs[0].node, jobs[0].payload, 1, !write);
  } else if (!jobs.empty()) {
    core.execute_many(jobs);
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      auto& j = jobs[k];
      Result<Reply>& slot = results[part_of_job[k]];
      if (j.error != errc{}) {
        slot = Result<Reply>(j.error, j.message);
      } else if (j.out.back().is_error()) {
        slot = Result<Reply>(errc::server_error, j.out.back().str());
      } else {
        slot = Result<Reply>(std::move(j.out.back()));
      }
    }
  }
  for (std::size_t i = 0; i < plan.parts.size(); ++i) {
    if (plan.parts[i].words.empty()) continue;
    const std::vector<std::string_view> w(plan.parts[i].words.begin(), plan.parts[i].words.end());
    try {
      results[i] = core.run_fenced(w, std::nullopt, std::nullopt);
    } catch (const Error& e) {
      results[i] = Result<Reply>(e.value(), e.what());
    }
  }
  return detail::merge_parts(plan, results);
}

// DEL and UNLINK write; MGET, EXISTS and TOUCH do not change values.
bool splits_a_write(std::string_view name) {
  auto is = [&](std::string_view w) {
    return name.size() == w.size() &&
           std::equal(name.begin(), name.end(), w.begin(), [](char a, char b) {
             return std::toupper(static_cast<unsigned char>(a)) == b;
           });
  };
  return is("DEL") || is("UNLINK");
}

MultiKeyReply or_throw(MultiKeyReply r) {
  if (!r.ok()) {
    for (const auto& e : r.key_errors) {
      if (e) throw Error(*e, r.error_message);
    }
  }
  return r;
}

}  // namespace

MultiKeyReply Client::multi_key_partial(std::string_view name,
                                        const std::vector<std::string>& keys) {
  if (keys.empty()) throw Error(errc::config, std::string(name) + ": no keys");
  // One table for the plan: its placement and its record say where each key goes.
  const auto table = core_->router().table();
  return run_plan(*core_, *table,
                  detail::split_keys(name, keys, *table->placement,
                                     core_->one_by_one(*table, keys, splits_a_write(name))));
}

MultiKeyReply Client::mset_partial(const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) throw Error(errc::config, "MSET: no keys");
  const auto table = core_->router().table();
  return run_plan(*core_, *table,
                  detail::split_pairs(pairs, *table->placement, core_->one_by_one(*table, pairs)));
}

std::vector<std::optional<std::string>> Client::mget(const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  if (keys.empty()) return out;
  MultiKeyReply r = or_throw(multi_key_partial("MGET", keys));
  out.reserve(keys.size());
  for (const auto& e : r.reply.elements()) {
    out.push_back(e.is_nil() ? std::nullopt : std::optional<std::string>(e.str()));
  }
  return out;
}

void Client::mset(const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (!pairs.empty()) or_throw(mset_partial(pairs));
}
long long Client::del(const std::vector<std::string>& keys) {
  return keys.empty() ? 0 : or_throw(multi_key_partial("DEL", keys)).reply.integer();
}
long long Client::exists(const std::vector<std::string>& keys) {
  return keys.empty() ? 0 : or_throw(multi_key_partial("EXISTS", keys)).reply.integer();
}
long long Client::unlink(const std::vector<std::string>& keys) {
  return keys.empty() ? 0 : or_throw(multi_key_partial("UNLINK", keys)).reply.integer();
}
long long Client::touch(const std::vector<std::string>& keys) {
  return keys.empty() ? 0 : or_throw(multi_key_partial("TOUCH", keys)).reply.integer();
}

using detail::script_words;

Reply Client::eval(std::string_view script, const std::vector<std::string>& keys,
                   const std::vector<std::string>& args) {
  std::string count;
  return command(script_words("EVAL", script, keys, args, count));
}

Reply Client::evalsha(std::string_view sha1, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args) {
  std::string count;
  return command(script_words("EVALSHA", sha1, keys, args, count));
}

std::string Client::script_load(std::string_view script) {
  std::vector<Reply> replies = command_on_all({"SCRIPT", "LOAD", script});
  return replies.front().str();
}

long long Client::publish(std::string_view channel, std::string_view message) {
  // A channel lives on the shard its name hashes to, like a key.
  std::size_t shard = core_->router().shard_for(channel);
  std::string payload;
  std::vector<std::string_view> w{"PUBLISH", channel, message};
  append_command(payload, w);
  return value_or_throw(core_->execute(core_->node_for_shard(shard, true, true), payload))
      .as_integer();
}

std::size_t Client::shard_for(std::string_view key) const {
  return core_->router().shard_for(key);
}

NodeAddress Client::node_for(std::string_view key, bool write) const {
  return core_->node_for_shard(core_->router().shard_for(key), write, false).address;
}

const Topology& Client::topology() const noexcept {
  return core_->topology();
}

std::uint64_t Client::epoch() const noexcept {
  return core_->topology_epoch();
}

Topology Client::layout() const {
  return core_->current_layout();
}

std::optional<Topology> Client::migration_target() const {
  return core_->migration_target();
}

ClientStats Client::stats() const {
  return core_->stats();
}

}  // namespace flyshard
