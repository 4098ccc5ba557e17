#include "migrate_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "eventually.hpp"
#include "reshard/checkpoint.hpp"
#include "reshard/move_plan.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::testing {
namespace fs = std::filesystem;
using flyshard::detail::MigrationState;

namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The value command of a type, and how to make its answer independent of the encoding.
void read_value(Pipeline& p, std::vector<std::function<void(const Reply&)>>& fns,
                const std::string& key, const std::string& type, KeyValue& into) {
  if (type == "string") p.command({"GET", key});
  if (type == "hash") p.command({"HGETALL", key});
  if (type == "list") p.command({"LRANGE", key, 0, -1});
  if (type == "set") p.command({"SMEMBERS", key});
  if (type == "zset") p.command({"ZRANGE", key, 0, -1, "WITHSCORES"});
  if (type == "stream") p.command({"XRANGE", key, "-", "+"});
  const bool sort = type == "set" || type == "hash";
  fns.push_back([&into, sort, type](const Reply& r) {
    into.value.clear();
    if (type == "stream") {
      into.value.push_back(r.to_string());
    } else if (type == "string") {
      into.value.push_back(r.str());
    } else if (type == "hash") {
      const auto& e = r.elements();
      for (std::size_t i = 0; i + 1 < e.size(); i += 2)
        into.value.push_back(e[i].str() + '=' + e[i + 1].str());
    } else {
      for (const auto& e : r.elements()) into.value.push_back(e.str());
    }
    if (sort) std::sort(into.value.begin(), into.value.end());
  });
}

}  // namespace

ToolRun run_flyshard(const std::string& args, const fs::path& dir) {
  return run_tool(FLYSHARD_CLI_BIN, args, dir);
}

ToolProcess::ToolProcess(const std::vector<std::string>& args, const fs::path& dir) {
  static std::atomic<int> n{0};
  err_ = dir / ("tool-child-" + std::to_string(++n) + ".err");
  const std::string out = (dir / "tool-child.out").string();
  std::vector<std::string> argv{FLYSHARD_CLI_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string err = err_.string();
  pid_ = ::fork();
  if (pid_ == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
}

ToolProcess::~ToolProcess() {
  if (!reaped_ && pid_ > 0) kill();
}

bool ToolProcess::wait_for_stderr(const std::string& text, std::chrono::milliseconds within) {
  return eventually([&] { return err().find(text) != std::string::npos; }, within);
}

void ToolProcess::kill() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
}

int ToolProcess::wait() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ToolProcess::err() const {
  return slurp(err_);
}

std::vector<std::string> fill_every_type(Client& client, int n, const std::string& prefix) {
  std::vector<std::string> keys;
  Pipeline p = client.pipeline();
  for (int i = 0; i < n; ++i) {
    // Every 8th key shares a hash tag with its neighbours: tagged keys move together.
    std::string key = i % 8 == 0
                          ? prefix + ":{t" + std::to_string(i / 64) + "}:" + std::to_string(i)
                          : prefix + ":" + std::to_string(i);
    const std::string v = "v" + std::to_string(i);
    switch (i % 6) {
      case 0:
        p.command({"SET", key, v + std::string(i % 50, 'x')});
        break;
      case 1:
        p.command({"HSET", key, "a", v, "b", std::to_string(i), "c", "3"});
        break;
      case 2:
        p.command({"RPUSH", key, v, "y", "z", v});
        break;
      case 3:
        p.command({"SADD", key, v, "m2", "m3"});
        break;
      case 4:
        p.command({"ZADD", key, 1.5, v, i, "b"});
        break;
      case 5:
        p.command({"XADD", key, "*", "f", v});
        break;
    }
    if (i % 4 == 0) p.command({"PEXPIRE", key, 3600000 + i});
    keys.push_back(std::move(key));
    if (p.size() >= 1000) {
      for (auto& r : p.execute())
        if (!r.ok()) throw std::runtime_error("fill: " + r.message());
    }
  }
  for (auto& r : p.execute())
    if (!r.ok()) throw std::runtime_error("fill: " + r.message());
  return keys;
}

std::map<std::string, KeyValue> snapshot(const Topology& layout,
                                         const std::vector<std::string>& keys) {
  Client client(layout);
  std::map<std::string, KeyValue> out;
  for (std::size_t from = 0; from < keys.size(); from += 1000) {
    const std::size_t to = std::min(keys.size(), from + 1000);
    Pipeline p = client.pipeline();
    for (std::size_t i = from; i < to; ++i) {
      p.command({"TYPE", keys[i]});
      p.command({"PTTL", keys[i]});
    }
    const auto tr = p.execute();
    const long long now = now_ms();
    std::vector<std::function<void(const Reply&)>> fns;
    for (std::size_t i = from; i < to; ++i) {
      KeyValue& kv = out[keys[i]];
      kv.type = tr[2 * (i - from)].value().str();
      const long long pttl = tr[2 * (i - from) + 1].value().integer();
      kv.expire_at = pttl > 0 ? now + pttl : 0;
      if (kv.type != "none") read_value(p, fns, keys[i], kv.type, kv);
    }
    const auto vr = p.execute();
    for (std::size_t j = 0; j < vr.size(); ++j) fns[j](vr[j].value());
  }
  return out;
}

std::map<std::string, std::vector<std::string>> keys_by_shard(const Topology& all) {
  flyshard::detail::ShardLinks links({});
  links.add(all);
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& name : links.names()) {
    auto& v = out[name];
    std::string cursor = "0";
    do {
      const Reply page = links.run(name, {"SCAN", cursor, "COUNT", 1000});
      cursor = page.elements()[0].str();
      for (const auto& k : page.elements()[1].elements()) v.push_back(k.str());
    } while (cursor != "0");
  }
  return out;
}

std::vector<std::string> check_layout(const Topology& all, const Topology& b,
                                      const std::map<std::string, KeyValue>& expected,
                                      std::size_t max) {
  std::vector<std::string> problems;
  auto bad = [&](std::string s) {
    if (problems.size() < max) problems.push_back(std::move(s));
  };
  const Distribution db = b.make_distribution();
  std::set<std::string> seen;
  for (const auto& [shard, keys] : keys_by_shard(all)) {
    for (const auto& k : keys) {
      if (k.starts_with("flyshard:")) {
        const bool allowed = k == "flyshard:topology" || k == "flyshard:migrator:token" ||
                             k == flyshard::detail::kClientRegistryKey ||
                             k.starts_with("flyshard:client:");
        if (!allowed) bad("leftover internal key " + k + " on " + shard);
        continue;
      }
      const std::string& owner = db.shards()[db.shard_for(k)].name;
      if (owner != shard) bad(k + " is on " + shard + ", layout B places it on " + owner);
      if (!k.starts_with("wr:") && !expected.count(k)) bad("unexpected key " + k + " on " + shard);
      seen.insert(k);
    }
  }
  std::vector<std::string> present;
  for (const auto& [k, v] : expected) {
    if (v.type == "none") continue;
    if (!seen.count(k)) bad(k + " (" + v.type + ") is missing");
    present.push_back(k);
  }
  const auto now = snapshot(b, present);
  for (const auto& k : present) {
    const KeyValue& was = expected.at(k);
    const KeyValue& is = now.at(k);
    if (was.type != is.type || was.value != is.value) {
      bad(k + ": value differs (" + was.type + " -> " + is.type + ")");
    } else if ((was.expire_at == 0) != (is.expire_at == 0) ||
               std::llabs(was.expire_at - is.expire_at) > 1000) {
      bad(k + ": expiry " + std::to_string(was.expire_at) + " -> " + std::to_string(is.expire_at));
    }
  }
  return problems;
}

// ---- GuardedWriter ----------------------------------------------------------------------

struct GuardedWriter::State {
  std::optional<flyshard::detail::TopologyRecord> record;
  std::unique_ptr<flyshard::detail::MovePlan> plan;
  std::chrono::steady_clock::time_point registered{};
  std::mt19937 rng{12345};
};

namespace {
// The client side's guard, as the contract states it: run the write and add the key to the
// dirty set in one step.
const char* const kGuard =
    "local r = redis.call(unpack(ARGV)) redis.call('SADD', KEYS[2], KEYS[1]) return r";
}  // namespace

GuardedWriter::GuardedWriter(const Topology& all, int id)
    : all_(all), id_(id), links_({}), state_(std::make_unique<State>()) {
  links_.add(all_);
  state_->rng.seed(static_cast<unsigned>(id * 7919 + 1));
}

GuardedWriter::~GuardedWriter() {
  stop();
}

void GuardedWriter::start() {
  thread_ = std::thread([this] { loop(); });
}

void GuardedWriter::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void GuardedWriter::register_epoch(std::uint64_t epoch) {
  const std::uint32_t lease = state_->record ? state_->record->lease_ms : 5000;
  const std::string id = "wr" + std::to_string(id_);
  for (const auto& s : all_.shards) {
    links_.run(s.name, {"SET", std::string(flyshard::detail::kClientKeyPrefix) + id,
                        std::to_string(epoch), "PX", lease});
    links_.run(s.name, {"SADD", flyshard::detail::kClientRegistryKey, id});
  }
  state_->registered = std::chrono::steady_clock::now();
}

void GuardedWriter::follow() {
  const auto e = links_.run(all_.shards[0].name, {"HGET", flyshard::detail::kRecordKey, "epoch"})
                     .as<std::optional<std::string>>();
  const std::uint64_t epoch = e ? std::stoull(*e) : 0;
  State& s = *state_;
  if (epoch != (s.record ? s.record->epoch : 0)) {
    const auto fields = links_.run(all_.shards[0].name, {"HGETALL", flyshard::detail::kRecordKey})
                            .as<std::vector<std::pair<std::string, std::string>>>();
    s.record = flyshard::detail::TopologyRecord::from_fields(fields, all_);
    const auto st = s.record->state;
    if (st == MigrationState::stable || st == MigrationState::cleanup) {
      s.plan.reset();
    } else {
      s.plan = std::make_unique<flyshard::detail::MovePlan>(s.record->layout, *s.record->target);
    }
    register_epoch(epoch);
  } else if (std::chrono::steady_clock::now() - s.registered > std::chrono::milliseconds(500)) {
    register_epoch(epoch);
  }
}

void GuardedWriter::loop() {
  State& s = *state_;
  while (!stop_) {
    try {
      follow();
      if (!s.record) continue;
      const int pick = static_cast<int>(s.rng() % 100);
      const bool counter = pick < 30;
      const std::string key = "wr:" + std::to_string(id_) + (counter ? ":c:" : ":s:") +
                              std::to_string(s.rng() % (counter ? 50 : 200));
      std::vector<std::string> words;
      if (counter) {
        words = {"INCR", key};
      } else if (pick < 70) {
        words = {"SET", key, "v" + std::to_string(ops.load())};
      } else if (pick < 85) {
        words = {"DEL", key};
      } else {
        words = {"PEXPIRE", key, "600000"};
      }
      Reply r;
      const auto st = s.record->state;
      const bool moving = s.plan && s.plan->moves(key);
      if (moving && st == MigrationState::cutover) {
        ++frozen;  // frozen: a real client waits and retries; this one picks another key
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      const Distribution d = s.record->layout.make_distribution();
      const std::string owner = d.shards()[d.shard_for(key)].name;
      if (moving) {
        std::vector<std::string> eval{"EVAL", kGuard, "2", key,
                                      flyshard::detail::dirty_key(s.record->migration_id)};
        eval.insert(eval.end(), words.begin(), words.end());
        r = links_.run(owner, Args(eval));
        ++guarded;
      } else {
        r = links_.run(owner, Args(words));
      }
      apply(words, r);
      ++ops;
    } catch (const std::exception& e) {
      ++errors;
      last_error = e.what();
    }
  }
}

void GuardedWriter::apply(const std::vector<std::string>& words, const Reply& r) {
  const std::string& key = words[1];
  if (words[0] == "INCR") {
    values[key] = std::to_string(r.integer());
  } else if (words[0] == "SET") {
    values[key] = words[2];
    with_ttl.erase(key);
  } else if (words[0] == "DEL") {
    if (values.count(key) || r.integer() > 0) values[key] = std::nullopt;
    with_ttl.erase(key);
  } else if (r.integer() == 1) {
    with_ttl.insert(key);
  }
}

std::vector<std::string> check_writer(const Topology& b, const GuardedWriter& w) {
  std::vector<std::string> problems;
  Client client(b);
  for (const auto& [key, value] : w.values) {
    const auto now = client.get(key);
    if (now != value) {
      problems.push_back(key + ": " + (now ? *now : "(none)") + ", last acknowledged " +
                         (value ? *value : "(deleted)"));
      continue;
    }
    if (value && (client.pttl(key).has_value() != (w.with_ttl.count(key) > 0)))
      problems.push_back(key + ": TTL lost or gained");
  }
  return problems;
}

}  // namespace flyshard::testing
