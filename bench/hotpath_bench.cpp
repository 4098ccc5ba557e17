// The hot path per GET: heap allocations and client instructions of flyshard against raw
// hiredis, in one run (issue 10). Counts, not times: both are repeatable on a shared machine.
//
//   build/bench/hotpath_bench                     # allocations per GET only
//   scripts/hotpath.sh                            # the same under callgrind: + instructions
//
// The program starts one server (flyshard::testing::LocalCluster, 1 shard, no replicas; the
// server binary is $FLYSHARD_SERVER, dragonfly or redis-server) as a separate process, SETs
// one key, and runs each variant for --warmup GETs and then --requests GETs. Around the
// measured GETs it reads the allocation counter (alloc_counter.cpp, a malloc shim linked into
// this binary: every malloc/calloc/realloc of the process, operator new included) and, when
// run under valgrind --tool=callgrind, zeroes the instruction counters before and dumps them
// after (CALLGRIND_ZERO_STATS, CALLGRIND_DUMP_STATS_AT "hotpath <letter>"), so each dump
// holds exactly the client's instructions for those GETs, every thread of this process
// together; the server is another process and is not counted.
//
//   A  raw hiredis sync: redisCommandArgv(GET) in a loop
//   B  flyshard blocking: Client::get in a loop
//   C  raw hiredis async with Debian's libuv adapter (hiredis/adapters/libuv.h):
//      --inflight GETs in flight, each reply callback issuing the next
//   D  flyshard async: AsyncClient::get, --inflight in flight, each callback (on the loop
//      thread) issuing the next
//   E  flyshard async: AsyncClient::command({"GET", key}), as D
//   F  as A, with redisCommand(c, "GET %s", key): the format-string call most hiredis code
//      uses (hiredis parses the format on every call)
//   G  as C, with redisAsyncCommand(ac, cb, data, "GET %s", key)
//
// A and C (the *Argv calls with a prepared argv) are hiredis at its cheapest, the peers of
// bench_client; F and G are what a typical hiredis program pays.

#include <flyshard/client.hpp>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>
#include <valgrind/callgrind.h>

#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "alloc_counter.hpp"
#include "bench_util.hpp"
#include "local_cluster.hpp"

namespace {

using flyshard::bench::allocations;
using flyshard::bench::fmt;

constexpr const char* kUsage =
    R"(usage: hotpath_bench [--requests N] [--warmup N] [--inflight N] [--value-size N]
                     [--variants ABCDEFG]

Heap allocations (and, under callgrind, instructions) per GET of one small value, flyshard
against raw hiredis in the same run. Run it through scripts/hotpath.sh for the table.

  --requests N     measured GETs per variant (default 50000)
  --warmup N       GETs before the measurement, per variant (default 20000)
  --inflight N     requests in flight for C, D and E (default 128)
  --value-size N   bytes of the value read (default 32)
  --variants LIST  which of A B C D E F G to run (default ABCDEFG)

  A  hiredis sync redisCommandArgv loop       B  flyshard Client::get loop
  C  hiredis async + Debian's libuv adapter   D  flyshard AsyncClient::get
  E  flyshard AsyncClient::command(GET)       F  as A, redisCommand(c, "GET %s", key)
  G  as C, redisAsyncCommand(ac, cb, p, "GET %s", key)      (C D E G: --inflight in flight)
)";

struct Config {
  std::uint64_t requests = 50000;
  std::uint64_t warmup = 20000;
  int inflight = 128;
  std::size_t value_size = 32;
  std::string variants = "ABCDEFG";
};

Config parse_args(int argc, char** argv) {
  Config c;
  flyshard::bench::CommandLine cl("hotpath_bench", kUsage, argc, argv);
  while (cl.next()) {
    const std::string_view a = cl.flag();
    if (a == "--requests") {
      c.requests = cl.count(1, 100000000);
    } else if (a == "--warmup") {
      c.warmup = cl.count(0, 100000000);
    } else if (a == "--inflight") {
      c.inflight = static_cast<int>(cl.count(1, 100000));
    } else if (a == "--value-size") {
      c.value_size = static_cast<std::size_t>(cl.count(0, 1 << 24));
    } else if (a == "--variants") {
      c.variants = cl.value();
      if (c.variants.empty() || c.variants.find_first_not_of("ABCDEFG") != std::string::npos)
        cl.fail("--variants: expected letters from ABCDEFG, got '" + c.variants + "'");
    } else {
      cl.unknown();
    }
  }
  return c;
}

struct Target {
  std::string host;
  int port = 0;
  std::string key;
  std::size_t value_size = 0;
  const char* argv[2] = {"GET", nullptr};
  std::size_t argvlen[2] = {3, 0};
};

// The measured window: counters read (and callgrind's zeroed) at begin(), read (and dumped
// under the variant's name) at end().
class Window {
 public:
  explicit Window(char id) : id_(id) {}
  void begin() {
    CALLGRIND_ZERO_STATS;
    start_ = allocations();
  }
  void end() {
    stop_ = allocations();
    const std::string name = std::string("hotpath ") + id_;
    CALLGRIND_DUMP_STATS_AT(name.c_str());
  }
  std::uint64_t allocations_made() const { return stop_ - start_; }

 private:
  char id_;
  std::uint64_t start_ = 0;
  std::uint64_t stop_ = 0;
};

// ---- A, B: a loop on this thread ----------------------------------------------------------

template <typename Op>
std::uint64_t run_loop(const Config& cfg, char id, Op&& op) {
  std::uint64_t bad = 0;
  for (std::uint64_t i = 0; i < cfg.warmup; ++i) bad += op() ? 0 : 1;
  Window w(id);
  w.begin();
  for (std::uint64_t i = 0; i < cfg.requests; ++i) bad += op() ? 0 : 1;
  w.end();
  if (bad != 0)
    throw std::runtime_error(std::string(1, id) + ": " + std::to_string(bad) + " bad replies");
  return w.allocations_made();
}

// `format`: redisCommand with a format string (F), else redisCommandArgv (A).
std::uint64_t run_hiredis_sync(const Config& cfg, const Target& t, bool format) {
  redisContext* c = redisConnect(t.host.c_str(), t.port);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    throw std::runtime_error("hiredis connect failed");
  }
  const std::uint64_t n = run_loop(cfg, format ? 'F' : 'A', [&] {
    auto* r = static_cast<redisReply*>(
        format ? redisCommand(c, "GET %s", t.key.c_str())
               : redisCommandArgv(c, 2, const_cast<const char**>(t.argv), t.argvlen));
    if (r == nullptr) throw std::runtime_error(std::string("hiredis GET: ") + c->errstr);
    const bool ok = r->type == REDIS_REPLY_STRING && r->len == t.value_size;
    freeReplyObject(r);
    return ok;
  });
  redisFree(c);
  return n;
}

// ---- C: raw hiredis async with the packaged libuv adapter ---------------------------------

struct HiredisRun {
  const Config* cfg = nullptr;
  const Target* target = nullptr;
  redisAsyncContext* ac = nullptr;
  bool format = false;  // G: redisAsyncCommand with a format string
  Window window{'C'};
  std::uint64_t done = 0;
  std::uint64_t issued = 0;
  std::uint64_t outstanding = 0;
  std::uint64_t bad = 0;
  std::string error;

  void issue() {
    const int rc =
        format ? redisAsyncCommand(ac, &HiredisRun::on_reply, this, "GET %s", target->key.c_str())
               : redisAsyncCommandArgv(ac, &HiredisRun::on_reply, this, 2,
                                       const_cast<const char**>(target->argv), target->argvlen);
    if (rc != REDIS_OK) {
      error = "redisAsyncCommandArgv failed";
      return;
    }
    ++issued;
    ++outstanding;
  }

  static void on_reply(redisAsyncContext*, void* reply, void* privdata) {
    auto* self = static_cast<HiredisRun*>(privdata);
    auto* r = static_cast<redisReply*>(reply);
    --self->outstanding;
    if (r == nullptr) {  // the context is going away
      if (self->error.empty() && self->done < self->total()) self->error = "connection lost";
      return;
    }
    if (r->type != REDIS_REPLY_STRING || r->len != self->target->value_size) ++self->bad;
    ++self->done;
    if (self->done == self->cfg->warmup) self->window.begin();
    if (self->done == self->total()) self->window.end();
    if (self->issued < self->total()) {
      self->issue();
    } else if (self->outstanding == 0) {
      redisAsyncDisconnect(self->ac);  // the poll handle closes, the loop runs dry
    }
  }

  std::uint64_t total() const { return cfg->warmup + cfg->requests; }
};

std::uint64_t run_hiredis_async(const Config& cfg, const Target& t, bool format) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) throw std::runtime_error("uv_loop_init failed");
  HiredisRun run;
  run.format = format;
  run.window = Window(format ? 'G' : 'C');
  run.cfg = &cfg;
  run.target = &t;
  run.ac = redisAsyncConnect(t.host.c_str(), t.port);
  if (run.ac == nullptr || run.ac->err != 0 || redisLibuvAttach(run.ac, &loop) != REDIS_OK) {
    if (run.ac != nullptr) redisAsyncFree(run.ac);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    throw std::runtime_error("hiredis async connect failed");
  }
  if (cfg.warmup == 0) run.window.begin();
  for (int i = 0; i < cfg.inflight && run.issued < run.total(); ++i) run.issue();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  const std::string id(1, format ? 'G' : 'C');
  if (!run.error.empty()) throw std::runtime_error(id + ": " + run.error);
  if (run.bad != 0) throw std::runtime_error(id + ": " + std::to_string(run.bad) + " bad replies");
  return run.window.allocations_made();
}

// ---- D, E: flyshard async -----------------------------------------------------------------

class FlyshardRun {
 public:
  FlyshardRun(const Config& cfg, const Target& t, flyshard::AsyncClient& async, bool typed)
      : cfg_(cfg), target_(t), async_(async), typed_(typed), window_(typed ? 'D' : 'E') {}

  std::uint64_t run() {
    if (cfg_.warmup == 0) window_.begin();
    // The first requests leave from this thread (through the engine's queue); every later
    // one from a callback on the loop thread, which is the path measured.
    const std::uint64_t first =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(cfg_.inflight), total());
    issued_ = first;
    for (std::uint64_t i = 0; i < first; ++i) issue();
    std::unique_lock lock(mu_);
    finished_.wait(lock, [&] { return complete_; });
    if (!error_.empty())
      throw std::runtime_error(std::string(1, typed_ ? 'D' : 'E') + ": " + error_);
    return window_.allocations_made();
  }

 private:
  std::uint64_t total() const { return cfg_.warmup + cfg_.requests; }

  void issue() {
    if (typed_) {
      async_.get(target_.key, [this](flyshard::Result<std::optional<std::string>> r) {
        on_done(r.ok() && r.value() && r.value()->size() == target_.value_size,
                r.ok() ? "" : r.message());
      });
    } else {
      async_.command({"GET", target_.key}, [this](flyshard::Result<flyshard::Reply> r) {
        on_done(r.ok() && r.value().is_string() && r.value().str().size() == target_.value_size,
                r.ok() ? "" : r.message());
      });
    }
  }

  // Loop thread.
  void on_done(bool ok, const std::string& message) {
    if (!ok && error_.empty()) error_ = message.empty() ? "unexpected reply" : message;
    ++done_;
    if (done_ == cfg_.warmup) window_.begin();
    if (done_ == total()) window_.end();
    if (issued_ < total()) {
      ++issued_;
      issue();
    } else if (done_ == total()) {
      std::lock_guard lock(mu_);
      complete_ = true;
      finished_.notify_all();
    }
  }

  const Config& cfg_;
  const Target& target_;
  flyshard::AsyncClient& async_;
  const bool typed_;
  Window window_;
  // Loop thread only (the first `inflight` issues happen before any reply can come).
  std::uint64_t issued_ = 0;
  std::uint64_t done_ = 0;
  std::string error_;  // read by run() after the notify
  std::mutex mu_;
  std::condition_variable finished_;
  bool complete_ = false;
};

const char* variant_name(char id) {
  switch (id) {
    case 'A':
      return "raw hiredis sync (redisCommandArgv)";
    case 'B':
      return "flyshard blocking (Client::get)";
    case 'C':
      return "raw hiredis async + Debian libuv adapter";
    case 'D':
      return "flyshard async (AsyncClient::get)";
    case 'E':
      return "flyshard async (AsyncClient::command)";
    case 'F':
      return "raw hiredis sync (redisCommand \"GET %s\")";
    default:
      return "raw hiredis async + libuv (redisAsyncCommand \"GET %s\")";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    flyshard::testing::ClusterOptions copts;
    copts.shards = 1;
    copts.replicas = 0;
    flyshard::testing::LocalCluster cluster(copts);
    flyshard::testing::ServerProcess& server = cluster.primary(0);

    Target target;
    target.host = server.address().host;
    target.port = server.address().port;
    target.key = "bench:hotpath:{k}";
    target.value_size = cfg.value_size;
    target.argv[1] = target.key.c_str();
    target.argvlen[1] = target.key.size();
    server.command({"SET", target.key, std::string(cfg.value_size, 'v')});

    flyshard::Client client(cluster.topology());
    if (!client.get(target.key)) throw std::runtime_error("the key is missing");
    client.async().command({"GET", target.key}).get();  // the async links are up

    std::cout << "hotpath_bench: GET of a " << cfg.value_size << "-byte value, one node ("
              << server.command_line() << "); " << cfg.warmup << " warm-up + " << cfg.requests
              << " measured GETs per variant, " << cfg.inflight << " in flight for C/D/E; CPUs "
              << flyshard::bench::cpu_list(0) << "\n";
    for (char id : std::string("ABCDEFG")) {
      if (cfg.variants.find(id) == std::string::npos) continue;
      std::uint64_t n = 0;
      switch (id) {
        case 'A':
        case 'F':
          n = run_hiredis_sync(cfg, target, id == 'F');
          break;
        case 'B':
          n = run_loop(cfg, 'B', [&] {
            std::optional<std::string> v = client.get(target.key);
            return v.has_value() && v->size() == target.value_size;
          });
          break;
        case 'C':
        case 'G':
          n = run_hiredis_async(cfg, target, id == 'G');
          break;
        default: {
          FlyshardRun run(cfg, target, client.async(), id == 'D');
          n = run.run();
          break;
        }
      }
      // One line per variant, read by scripts/hotpath.sh.
      std::cout << "variant " << id << " allocations " << n << " requests " << cfg.requests
                << " per_get "
                << fmt("%.3f", static_cast<double>(n) / static_cast<double>(cfg.requests)) << " | "
                << variant_name(id) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "hotpath_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
