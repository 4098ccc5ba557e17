// GET throughput through one node: flyshard against raw hiredis, measured in the same run
// and reported as ratios (DESIGN.md, "Measuring" and "The blocking path").
//
//   build/bench/bench_client                      # placement as inherited (usually both CPUs)
//   taskset -c 0 build/bench/bench_client         # client, loop thread and server on CPU 0
//   build/bench/bench_client --pin                # the same, done by the program itself
//
// The program starts one server itself (flyshard::testing::LocalCluster, 1 shard, no
// replicas; the server binary is $FLYSHARD_SERVER, dragonfly or redis-server), SETs one key
// and runs each variant for --seconds, in rounds (A B C D E F, A B C D E F, ...) so that drift
// of a noisy machine hits every variant alike; each figure is the median of the rounds, and
// each ratio is given both as the ratio of the medians and as the median of the per-round
// ratios.
//
// The hiredis peers use the *Argv calls with a prepared argv (no format string): the cheapest
// way to send a command with hiredis, so the ratios are against hiredis at its best.
//
//   A  raw hiredis, blocking: redisCommandArgv(GET) in a loop on one thread
//   B  flyshard blocking: Client::get in a loop on one thread
//   C  raw hiredis async (libuv adapter): --inflight GETs in flight on a loop in this thread,
//      each reply callback issuing the next
//   D  flyshard async: AsyncClient::command(GET), --inflight in flight; every callback (on
//      the loop thread) issues the next request
//   E  flyshard blocking by hand-off: AsyncClient::command(GET) future .get() in a loop, i.e.
//      what a blocking call costs when the loop thread does its I/O
//   F  as C, but with an adapter that calls uv_poll_start only when the watched events change.
//      Debian's hiredis 0.14 adapter calls it on every command (hiredis asks for "writable" per
//      command), and libuv's uv_poll_start re-registers the fd with epoll_ctl each time: about
//      one syscall per request. F is the stricter async peer; C is what the packaged adapter
//      gives.
//
// The server is a child of this process and inherits its CPU affinity at start, so
// `taskset -c 0` (or --pin) puts client and server on one CPU; --split puts the client on
// CPU 0 and the server on CPU 1. The placement used is printed with the figures.

#include <flyshard/client.hpp>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "lean_libuv_adapter.hpp"
#include "local_cluster.hpp"

namespace {

using flyshard::bench::Clock;
using flyshard::bench::fmt;
using flyshard::bench::median;
using flyshard::bench::Seconds;

constexpr const char* kUsage =
    R"(usage: bench_client [--seconds S] [--rounds N] [--inflight N] [--warmup S]
                    [--variants ABCDEF] [--pin | --split] [--json PATH]

GET throughput through one node (a server this program starts): raw hiredis against
flyshard in the same run, each variant --seconds per round, median of --rounds rounds.

  --seconds S      measured time per variant and round, in seconds (default 2)
  --warmup S       unmeasured time before each measurement, in seconds (default 0.2)
  --rounds N       rounds (default 3)
  --inflight N     requests in flight for C and D (default 128)
  --variants LIST  which of A B C D E F to run, e.g. ABCD (default ABCDEF)
  --value-size N   bytes of the value read (default 32)
  --pin            client (and its loop thread) and server on CPU 0
  --split          client on CPU 0, server on CPU 1
  --json PATH      also write the results as JSON to PATH
  -h, --help       this text

  A  hiredis sync redisCommandArgv loop        B  flyshard Client::get loop
  C  hiredis async + libuv, N in flight       D  flyshard AsyncClient::command, N in flight
  E  flyshard AsyncClient::command(...).get() loop (blocking by hand-off to the loop thread)
  F  as C, with an adapter that calls uv_poll_start only when the events change
)";

struct Config {
  double seconds = 2.0;
  double warmup = 0.2;
  int rounds = 3;
  int inflight = 128;
  std::string variants = "ABCDEF";
  std::size_t value_size = 32;
  bool pin = false;
  bool split = false;
  std::string json;
};

Config parse_args(int argc, char** argv) {
  Config c;
  flyshard::bench::CommandLine cl("bench_client", kUsage, argc, argv);
  while (cl.next()) {
    const std::string_view a = cl.flag();
    if (a == "--seconds") {
      c.seconds = cl.number(0.01, 3600);
    } else if (a == "--warmup") {
      c.warmup = cl.number(0, 60);
    } else if (a == "--rounds") {
      c.rounds = static_cast<int>(cl.number(1, 1000));
    } else if (a == "--inflight") {
      c.inflight = static_cast<int>(cl.number(1, 100000));
    } else if (a == "--value-size") {
      c.value_size = static_cast<std::size_t>(cl.number(0, 1 << 24));
    } else if (a == "--variants") {
      c.variants = cl.value();
      if (c.variants.empty() || c.variants.find_first_not_of("ABCDEF") != std::string::npos)
        cl.fail("--variants: expected letters from ABCDEF, got '" + c.variants + "'");
    } else if (a == "--pin") {
      c.pin = true;
    } else if (a == "--split") {
      c.split = true;
    } else if (a == "--json") {
      c.json = cl.value();
    } else {
      cl.unknown();
    }
  }
  if (c.pin && c.split) cl.fail("--pin and --split exclude each other");
  return c;
}

// ---- what every variant reports -----------------------------------------------------------

struct Sample {
  std::uint64_t ops = 0;  // completed inside the measured window
  double seconds = 0;     // length of the measured window
  std::uint64_t errors = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

struct Target {
  std::string host;
  int port = 0;
  std::string key;
  std::size_t value_size = 0;
  // {"GET", key} for hiredis's *Argv calls (which take non-const arrays); set once the key is
  // final.
  mutable const char* argv[2] = {nullptr, nullptr};
  mutable std::size_t argvlen[2] = {0, 0};
};

// A blocking loop measured over [start + warmup, start + warmup + seconds]. `op` returns
// false on an error.
template <typename Op>
Sample timed_loop(const Config& cfg, Op&& op) {
  Sample s;
  const auto start = Clock::now();
  const auto t0 = start + std::chrono::duration_cast<Clock::duration>(Seconds(cfg.warmup));
  const auto t1 = t0 + std::chrono::duration_cast<Clock::duration>(Seconds(cfg.seconds));
  auto now = start;
  while (now < t0) {
    if (!op()) ++s.errors;
    now = Clock::now();
  }
  const auto begin = now;
  std::uint64_t n = 0;
  while (now < t1) {
    if (!op()) ++s.errors;
    ++n;
    now = Clock::now();
  }
  s.ops = n;
  s.seconds = flyshard::bench::seconds_between(begin, now);
  return s;
}

// ---- A: raw hiredis, blocking -------------------------------------------------------------

Sample run_hiredis_sync(const Config& cfg, const Target& t) {
  redisContext* c = redisConnect(t.host.c_str(), t.port);
  if (c == nullptr || c->err != 0) {
    std::string msg = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    throw std::runtime_error("hiredis connect: " + msg);
  }
  Sample s = timed_loop(cfg, [&] {
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, 2, t.argv, t.argvlen));
    if (r == nullptr) throw std::runtime_error(std::string("hiredis GET: ") + c->errstr);
    const bool ok = r->type == REDIS_REPLY_STRING && r->len == t.value_size;
    freeReplyObject(r);
    return ok;
  });
  redisFree(c);
  return s;
}

// ---- B: flyshard blocking -----------------------------------------------------------------

Sample run_flyshard_blocking(const Config& cfg, const Target& t, flyshard::Client& client) {
  return timed_loop(cfg, [&] {
    std::optional<std::string> v = client.get(t.key);
    return v.has_value() && v->size() == t.value_size;
  });
}

// ---- C: raw hiredis async on libuv --------------------------------------------------------

struct HiredisAsyncRun {
  const Target* target = nullptr;
  redisAsyncContext* ac = nullptr;
  uv_timer_t warm_timer{};
  uv_timer_t end_timer{};
  bool stopping = false;
  bool failed = false;
  std::string error;
  std::uint64_t done = 0;
  std::uint64_t errors = 0;
  std::uint64_t outstanding = 0;
  std::uint64_t done_at_t0 = 0;
  Clock::time_point t0{};
  std::uint64_t done_at_t1 = 0;
  Clock::time_point t1{};

  void issue() {
    if (redisAsyncCommandArgv(ac, &HiredisAsyncRun::on_reply, this, 2, target->argv,
                              target->argvlen) != REDIS_OK) {
      failed = true;
      error = "redisAsyncCommand failed";
      return;
    }
    ++outstanding;
  }

  static void on_reply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
    auto* self = static_cast<HiredisAsyncRun*>(privdata);
    auto* r = static_cast<redisReply*>(reply);
    --self->outstanding;
    if (r == nullptr) {
      // The context is going away (an error or our disconnect): nothing more comes.
      if (!self->stopping) {
        self->failed = true;
        self->error = self->ac->errstr;
      }
      return;
    }
    if (r->type != REDIS_REPLY_STRING || r->len != self->target->value_size) ++self->errors;
    ++self->done;
    if (!self->stopping) {
      self->issue();
    } else if (self->outstanding == 0) {
      redisAsyncDisconnect(self->ac);  // the poll handle closes, the loop runs dry
    }
  }

  static void on_connect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<HiredisAsyncRun*>(ac->data);
    if (status != REDIS_OK) {
      self->failed = true;
      self->error = std::string("hiredis async connect: ") + ac->errstr;
      self->stop_timers();
    }
  }

  static void on_disconnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<HiredisAsyncRun*>(ac->data);
    if (status != REDIS_OK && !self->stopping) {
      self->failed = true;
      self->error = std::string("hiredis async: ") + ac->errstr;
    }
    self->ac = nullptr;
    self->stop_timers();
  }

  void stop_timers() {
    for (uv_timer_t* t : {&warm_timer, &end_timer}) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(t))) {
        uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
      }
    }
  }
};

// ---- F: as C, with the lean adapter (lean_libuv_adapter.hpp) ------------------------------

// `lean`: F's adapter; else the packaged one (C).
Sample run_hiredis_async(const Config& cfg, const Target& t, bool lean) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) throw std::runtime_error("uv_loop_init failed");
  HiredisAsyncRun run;
  run.target = &t;
  run.ac = redisAsyncConnect(t.host.c_str(), t.port);
  if (run.ac == nullptr || run.ac->err != 0) {
    std::string msg = run.ac != nullptr ? run.ac->errstr : "out of memory";
    if (run.ac != nullptr) redisAsyncFree(run.ac);
    uv_loop_close(&loop);
    throw std::runtime_error("hiredis async connect: " + msg);
  }
  run.ac->data = &run;
  if ((lean ? flyshard::bench::lean_libuv_attach(run.ac, &loop)
            : redisLibuvAttach(run.ac, &loop)) != REDIS_OK) {
    redisAsyncFree(run.ac);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    throw std::runtime_error("cannot attach hiredis to the libuv loop");
  }
  redisAsyncSetConnectCallback(run.ac, &HiredisAsyncRun::on_connect);
  redisAsyncSetDisconnectCallback(run.ac, &HiredisAsyncRun::on_disconnect);

  uv_timer_init(&loop, &run.warm_timer);
  uv_timer_init(&loop, &run.end_timer);
  run.warm_timer.data = &run;
  run.end_timer.data = &run;
  const auto ms = [](double s) { return static_cast<std::uint64_t>(s * 1000.0 + 0.5); };
  uv_timer_start(
      &run.warm_timer,
      [](uv_timer_t* h) {
        auto* self = static_cast<HiredisAsyncRun*>(h->data);
        self->t0 = Clock::now();
        self->done_at_t0 = self->done;
      },
      ms(cfg.warmup), 0);
  uv_timer_start(
      &run.end_timer,
      [](uv_timer_t* h) {
        auto* self = static_cast<HiredisAsyncRun*>(h->data);
        self->t1 = Clock::now();
        self->done_at_t1 = self->done;
        self->stopping = true;
        if (self->outstanding == 0 && self->ac != nullptr) redisAsyncDisconnect(self->ac);
      },
      ms(cfg.warmup + cfg.seconds), 0);

  // Commands issued before the connect completes are buffered by hiredis and written once
  // the socket is writable.
  for (int i = 0; i < cfg.inflight && !run.failed; ++i) run.issue();
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) std::cerr << "bench_client: libuv loop closed with live handles\n";
  if (run.failed) throw std::runtime_error(run.error);

  Sample s;
  s.ops = run.done_at_t1 - run.done_at_t0;
  s.seconds = flyshard::bench::seconds_between(run.t0, run.t1);
  s.errors = run.errors;
  return s;
}

// ---- D: flyshard async --------------------------------------------------------------------

class FlyshardAsyncRun {
 public:
  FlyshardAsyncRun(flyshard::AsyncClient& async, const Target& t) : async_(async), target_(t) {}

  Sample run(const Config& cfg) {
    outstanding_.store(static_cast<std::uint64_t>(cfg.inflight));
    for (int i = 0; i < cfg.inflight; ++i) issue();
    std::this_thread::sleep_for(Seconds(cfg.warmup));
    const auto t0 = Clock::now();
    const std::uint64_t n0 = done_.load(std::memory_order_relaxed);
    std::this_thread::sleep_for(Seconds(cfg.seconds));
    const auto t1 = Clock::now();
    const std::uint64_t n1 = done_.load(std::memory_order_relaxed);
    stopping_.store(true);
    {
      std::unique_lock lock(mu_);
      if (!drained_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return outstanding_.load() == 0; })) {
        throw std::runtime_error("flyshard async: requests still in flight 30 s after the end");
      }
    }
    Sample s;
    s.ops = n1 - n0;
    s.seconds = flyshard::bench::seconds_between(t0, t1);
    s.errors = errors_.load();
    if (!first_error_.empty()) std::cerr << "bench_client: D: " << first_error_ << "\n";
    return s;
  }

 private:
  void issue() {
    async_.command({"GET", target_.key},
                   [this](flyshard::Result<flyshard::Reply> r) { on_reply(std::move(r)); });
  }

  // Runs on the loop thread.
  void on_reply(flyshard::Result<flyshard::Reply> r) {
    if (!r.ok() || !r.value().is_string() || r.value().str().size() != target_.value_size) {
      if (errors_.fetch_add(1) == 0) {
        first_error_ = r.ok() ? "unexpected reply " + r.value().to_string() : r.message();
      }
    }
    done_.fetch_add(1, std::memory_order_relaxed);
    if (!stopping_.load(std::memory_order_relaxed)) {
      issue();
      return;
    }
    if (outstanding_.fetch_sub(1) == 1) {
      std::lock_guard lock(mu_);
      drained_.notify_all();
    }
  }

  flyshard::AsyncClient& async_;
  const Target& target_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> outstanding_{0};
  std::atomic<bool> stopping_{false};
  std::string first_error_;  // written once, on the loop thread, read after the drain
  std::mutex mu_;
  std::condition_variable drained_;
};

// ---- E: flyshard blocking by hand-off -----------------------------------------------------

Sample run_flyshard_handoff(const Config& cfg, const Target& t, flyshard::Client& client) {
  return timed_loop(cfg, [&] {
    flyshard::Reply r = client.async().command({"GET", t.key}).get();
    return r.is_string() && r.str().size() == t.value_size;
  });
}

// ---- report -------------------------------------------------------------------------------

struct Variant {
  char id;
  const char* name;
  std::vector<Sample> samples;
};

std::vector<double> rates(const Variant& v) {
  std::vector<double> r;
  for (const auto& s : v.samples) r.push_back(s.rate());
  return r;
}

struct Ratio {
  char num;
  char den;
  const char* label;
  double aim;  // 0: none
};

constexpr std::array<Ratio, 5> kRatios{{
    {'B', 'A', "blocking: flyshard / hiredis sync", 0.8},
    {'D', 'C', "async: flyshard / hiredis async", 0.9},
    {'E', 'A', "hand-off blocking / hiredis sync", 0},
    {'D', 'F', "async: flyshard / hiredis async, lean adapter", 0.9},
    {'E', 'B', "hand-off blocking / flyshard blocking", 0},
}};

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    // Affinity is set before anything else starts: the server (forked below) and the
    // client's loop thread inherit it.
    if (cfg.pin) flyshard::bench::pin_to_cpu(0);
    if (cfg.split) flyshard::bench::pin_to_cpu(1);

    flyshard::testing::ClusterOptions copts;
    copts.shards = 1;
    copts.replicas = 0;
    flyshard::testing::LocalCluster cluster(copts);
    flyshard::testing::ServerProcess& server = cluster.primary(0);
    if (cfg.split) flyshard::bench::pin_to_cpu(0);

    const std::string client_cpus = flyshard::bench::cpu_list(0);
    const std::string server_cpus = flyshard::bench::cpu_list(server.pid());
    std::string placement = cfg.pin     ? "pinned (--pin): client and server on CPU 0"
                            : cfg.split ? "split (--split): client on CPU 0, server on CPU 1"
                                        : "as inherited";
    placement += "; client CPUs " + client_cpus + ", server CPUs " + server_cpus;

    Target target;
    target.host = server.address().host;
    target.port = server.address().port;
    target.key = "bench:client:{k}";
    target.value_size = cfg.value_size;
    target.argv[0] = "GET";
    target.argvlen[0] = 3;
    target.argv[1] = target.key.c_str();
    target.argvlen[1] = target.key.size();
    server.command({"SET", target.key, std::string(cfg.value_size, 'v')});

    flyshard::Client client(cluster.topology());
    // The first call waits for the connections; keep that out of the figures.
    if (!client.get(target.key)) throw std::runtime_error("the key is missing");
    client.async().command({"GET", target.key}).get();

    std::vector<Variant> variants;
    for (char id : cfg.variants) {
      if (std::any_of(variants.begin(), variants.end(),
                      [&](const Variant& v) { return v.id == id; }))
        continue;
      const char* name = id == 'A'   ? "hiredis sync"
                         : id == 'B' ? "flyshard blocking"
                         : id == 'C' ? "hiredis async libuv"
                         : id == 'D' ? "flyshard async"
                         : id == 'E' ? "flyshard hand-off"
                                     : "hiredis async lean";
      variants.push_back({id, name, {}});
    }
    std::sort(variants.begin(), variants.end(),
              [](const Variant& a, const Variant& b) { return a.id < b.id; });

    std::cout << "bench_client: GET of a " << cfg.value_size << "-byte value, one node\n"
              << "server:    " << server.command_line() << "\n"
              << "placement: " << placement << "\n"
              << "window:    " << cfg.seconds << " s per variant and round (after " << cfg.warmup
              << " s warm-up), " << cfg.rounds << " rounds, " << cfg.inflight
              << " in flight for C/D\n\n";

    for (int round = 1; round <= cfg.rounds; ++round) {
      std::cout << "round " << round << ":";
      for (Variant& v : variants) {
        Sample s;
        switch (v.id) {
          case 'A':
            s = run_hiredis_sync(cfg, target);
            break;
          case 'B':
            s = run_flyshard_blocking(cfg, target, client);
            break;
          case 'C':
            s = run_hiredis_async(cfg, target, false);
            break;
          case 'F':
            s = run_hiredis_async(cfg, target, true);
            break;
          case 'D': {
            FlyshardAsyncRun run(client.async(), target);
            s = run.run(cfg);
            break;
          }
          case 'E':
          default:
            s = run_flyshard_handoff(cfg, target, client);
            break;
        }
        if (s.errors != 0) {
          std::cerr << "\nbench_client: " << v.id << ": " << s.errors << " bad replies\n";
        }
        v.samples.push_back(s);
        std::cout << "  " << v.id << " " << fmt("%.0f", s.rate());
        std::cout.flush();
      }
      std::cout << "\n";
    }

    std::map<char, double> med;
    std::cout << "\n  variant                    ops/s median         min         max\n";
    for (const Variant& v : variants) {
      const auto r = rates(v);
      med[v.id] = median(r);
      std::cout << "  " << v.id << "  " << v.name
                << std::string(std::max<std::size_t>(1, 22 - std::strlen(v.name)), ' ')
                << fmt("%12.0f", med[v.id]) << fmt("%12.0f", *std::min_element(r.begin(), r.end()))
                << fmt("%12.0f", *std::max_element(r.begin(), r.end())) << "\n";
    }
    // Two views of each ratio: the ratio of the medians above, and the median of the per-round
    // ratios (each round runs the two variants minutes apart at most, so drift of the machine
    // cancels; a placement flip inside one round shows as one outlier).
    std::cout << "\n  ratio  of medians  per-round median (min..max)\n";
    std::ostringstream json_ratios;
    bool first_ratio = true;
    for (const Ratio& q : kRatios) {
      if (!med.count(q.num) || !med.count(q.den) || med[q.den] <= 0) continue;
      const double ratio = med[q.num] / med[q.den];
      const Variant& vn = *std::find_if(variants.begin(), variants.end(),
                                        [&](const Variant& v) { return v.id == q.num; });
      const Variant& vd = *std::find_if(variants.begin(), variants.end(),
                                        [&](const Variant& v) { return v.id == q.den; });
      std::vector<double> per_round;
      for (std::size_t i = 0; i < vn.samples.size() && i < vd.samples.size(); ++i) {
        if (vd.samples[i].rate() > 0)
          per_round.push_back(vn.samples[i].rate() / vd.samples[i].rate());
      }
      if (per_round.empty()) continue;
      const double paired = median(per_round);
      const double lo = *std::min_element(per_round.begin(), per_round.end());
      const double hi = *std::max_element(per_round.begin(), per_round.end());
      std::cout << "  " << q.num << "/" << q.den << "  " << fmt("%9.3f", ratio) << "  "
                << fmt("%10.3f", paired) << " (" << fmt("%.3f", lo) << ".." << fmt("%.3f", hi)
                << ")  " << q.label;
      if (q.aim > 0) {
        const bool met = ratio >= q.aim && paired >= q.aim;
        std::cout << ", aim >= " << fmt("%.2f", q.aim) << (met ? ": ok" : ": SHORT");
      }
      std::cout << "\n";
      json_ratios << (first_ratio ? "" : ", ") << "\"" << q.num << "/" << q.den
                  << "\": {\"ratio_of_medians\": " << fmt("%.4f", ratio)
                  << ", \"median_of_round_ratios\": " << fmt("%.4f", paired)
                  << ", \"round_min\": " << fmt("%.4f", lo)
                  << ", \"round_max\": " << fmt("%.4f", hi)
                  << (q.aim > 0 ? ", \"aim\": " + fmt("%.2f", q.aim) : std::string()) << "}";
      first_ratio = false;
    }

    if (!cfg.json.empty()) {
      std::ostringstream out;
      out << "{\n  \"benchmark\": \"bench_client\",\n"
          << "  \"server\": \"" << flyshard::bench::json_escape(server.command_line()) << "\",\n"
          << "  \"placement\": \"" << flyshard::bench::json_escape(placement) << "\",\n"
          << "  \"pin\": "
          << (cfg.pin     ? "\"shared-cpu0\""
              : cfg.split ? "\"split\""
                          : "null")
          << ",\n  \"client_cpus\": \"" << client_cpus << "\",\n  \"server_cpus\": \""
          << server_cpus << "\",\n  \"seconds\": " << cfg.seconds
          << ",\n  \"warmup\": " << cfg.warmup << ",\n  \"rounds\": " << cfg.rounds
          << ",\n  \"inflight\": " << cfg.inflight << ",\n  \"value_size\": " << cfg.value_size
          << ",\n  \"variants\": {";
      for (std::size_t i = 0; i < variants.size(); ++i) {
        const Variant& v = variants[i];
        const auto r = rates(v);
        out << (i ? "," : "") << "\n    \"" << v.id << "\": {\"name\": \"" << v.name
            << "\", \"ops_per_sec_median\": " << fmt("%.1f", med[v.id])
            << ", \"min\": " << fmt("%.1f", *std::min_element(r.begin(), r.end()))
            << ", \"max\": " << fmt("%.1f", *std::max_element(r.begin(), r.end()))
            << ", \"rounds\": [";
        for (std::size_t k = 0; k < v.samples.size(); ++k) {
          out << (k ? ", " : "") << "{\"ops\": " << v.samples[k].ops
              << ", \"seconds\": " << fmt("%.6f", v.samples[k].seconds)
              << ", \"errors\": " << v.samples[k].errors << "}";
        }
        out << "]}";
      }
      out << "\n  },\n  \"ratios\": {" << json_ratios.str() << "}\n}\n";
      flyshard::bench::write_file(cfg.json, out.str());
      std::cout << "\nJSON written to " << cfg.json << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_client: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
