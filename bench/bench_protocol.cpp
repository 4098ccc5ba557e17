// Micro-benchmarks of the protocol layer and of the client's own per-request cost.
//
//   build/bench/bench_protocol                                   # everything
//   build/bench/bench_protocol --benchmark_filter='parse/'       # reply parsing only
//   build/bench/bench_protocol --benchmark_filter='fake_server/' # the client's overhead only
//
// parse/...   detail::ReplyReader (hiredis' redisReader building flyshard::Reply trees):
//             feed() the bytes of one reply (or of a stream of replies), then next() until it
//             has none. items_per_second counts replies.
// encode/...  detail::append_command into a reused std::string, as the engine appends into a
//             connection's write buffer.
// fake_server/...
//             flyshard::Client against a FAKE IN-PROCESS SERVER: a tiny single-threaded TCP
//             server in this process, on 127.0.0.1, that parses every request properly (RESP
//             arrays of bulk strings, binary-safe) and answers GET with "$3\r\nbar\r\n", PING
//             with "+PONG", INFO with a minimal "role:master" and anything else with "+OK". It
//             does no work per command, so what is left is the client's own cost plus the
//             loopback TCP round trips, i.e. an upper bound of what the library costs per
//             request. The server runs in its own thread: client, loop thread and server share
//             the machine's CPUs, so absolute figures depend on the machine's cores and load.
//             ns_per_req is wall time per completed request.
//   fake_server/hiredis_blocking_get      baseline: raw hiredis redisCommandArgv(GET) loop
//   fake_server/client_blocking_get       flyshard Client::get loop (one caller thread)
//   fake_server/async_get_inflight128/chained
//             AsyncClient::get with 128 requests in flight; each callback (on the loop
//             thread) issues the next request, as an event-driven application does
//   fake_server/async_get_inflight128/from_caller
//             AsyncClient::get from the benchmark thread, 128 in flight (a semaphore): the
//             cost of handing each request over to the loop thread included

#include <flyshard/client.hpp>

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/resp.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// ---- reply parsing --------------------------------------------------------------------------

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// Feeds `stream` (holding `replies` complete replies) and takes every reply out of the reader.
void parse(benchmark::State& state, const std::string& stream, std::size_t replies) {
  flyshard::detail::ReplyReader reader;
  for (auto _ : state) {
    reader.feed(stream.data(), stream.size());
    std::size_t got = 0;
    while (auto r = reader.next()) {
      benchmark::DoNotOptimize(*r);
      ++got;
    }
    if (got != replies) {
      state.SkipWithError("wrong number of replies");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * replies));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}

std::string mget_reply(std::size_t n, std::size_t value_size) {
  std::string s = "*" + std::to_string(n) + "\r\n";
  for (std::size_t i = 0; i < n; ++i) s += bulk(std::string(value_size, 'v'));
  return s;
}

// 128 small replies as a pipelined GET/SET/INCR mix would return them: "+OK", "$3 bar", ":42",
// and a nil, in turn.
std::string pipelined_small(std::size_t n) {
  static const std::array<std::string, 4> kinds = {"+OK\r\n", "$3\r\nbar\r\n", ":42\r\n",
                                                   "$-1\r\n"};
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += kinds[i % kinds.size()];
  return s;
}

// ---- command encoding -----------------------------------------------------------------------

void encode(benchmark::State& state, const std::vector<std::string>& words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    flyshard::detail::append_command(out, std::span<const std::string_view>(views));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    bytes = out.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

std::vector<std::string> mset_words(std::size_t pairs, std::size_t value_size) {
  std::vector<std::string> w{"MSET"};
  for (std::size_t i = 0; i < pairs; ++i) {
    w.push_back("user:" + std::to_string(1000 + i) + ":profile");
    w.push_back(std::string(value_size, 'v'));
  }
  return w;
}

// ---- the fake in-process server -------------------------------------------------------------

// One complete command at the start of `in`: its length and its first word, or 0 when the
// command is not complete yet. Binary-safe (bulk lengths are honoured, never scanned for
// delimiters). Also takes inline commands ("PING\r\n"). Throws on a malformed request.
std::size_t next_command(std::string_view in, std::string_view& first) {
  if (in.empty()) return 0;
  auto read_line = [&](std::size_t at, std::size_t& line_end) -> bool {
    const std::size_t p = in.find("\r\n", at);
    if (p == std::string_view::npos) return false;
    line_end = p;
    return true;
  };
  auto read_number = [&](std::size_t from, std::size_t to) -> long long {
    long long v = 0;
    if (from >= to) throw std::runtime_error("fake server: empty number");
    for (std::size_t i = from; i < to; ++i) {
      const char c = in[i];
      if (c < '0' || c > '9') throw std::runtime_error("fake server: bad number");
      v = v * 10 + (c - '0');
      if (v > (1LL << 32)) throw std::runtime_error("fake server: number too large");
    }
    return v;
  };
  std::size_t eol = 0;
  if (in[0] != '*') {  // inline command
    if (!read_line(0, eol)) return 0;
    const std::string_view line = in.substr(0, eol);
    first = line.substr(0, line.find(' '));
    return eol + 2;
  }
  if (!read_line(1, eol)) return 0;
  const long long n = read_number(1, eol);
  std::size_t pos = eol + 2;
  first = {};
  for (long long i = 0; i < n; ++i) {
    if (pos >= in.size()) return 0;
    if (in[pos] != '$') throw std::runtime_error("fake server: expected a bulk string");
    if (!read_line(pos + 1, eol)) return 0;
    const auto len = static_cast<std::size_t>(read_number(pos + 1, eol));
    const std::size_t data = eol + 2;
    if (in.size() < data + len + 2) return 0;
    if (in[data + len] != '\r' || in[data + len + 1] != '\n') {
      throw std::runtime_error("fake server: bulk string not followed by CRLF");
    }
    if (i == 0) first = in.substr(data, len);
    pos = data + len + 2;
  }
  return pos;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// A single-threaded poll() server on 127.0.0.1 (an ephemeral port), see the file comment.
class FakeServer {
 public:
  FakeServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("fake server: socket()");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("fake server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("fake server: pipe2()");
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FakeServer() {
    const char c = 'q';
    if (::write(wake_[1], &c, 1) < 0) {
      // The pipe is ours and empty: this cannot fail; nothing to do if it did.
    }
    thread_.join();
    for (auto& conn : conns_) ::close(conn.fd);
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::uint64_t commands() const noexcept { return commands_.load(std::memory_order_relaxed); }

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    std::size_t in_pos = 0;
    std::string out;
    std::size_t out_pos = 0;
  };

  void run() {
    std::vector<pollfd> fds;
    std::vector<char> buf(64 * 1024);
    for (;;) {
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& c : conns_) {
        fds.push_back(
            {c.fd, static_cast<short>(POLLIN | (c.out_pos < c.out.size() ? POLLOUT : 0)), 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents & POLLIN) accept_all();
      // conns_ may have grown in accept_all(); only the polled ones have an entry in fds.
      for (std::size_t i = 2; i < fds.size(); ++i) {
        Conn& c = conns_[i - 2];
        bool alive = true;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) alive = on_readable(c, buf);
        if (alive && c.out_pos < c.out.size()) alive = flush(c);
        if (!alive) {
          ::close(c.fd);
          c.fd = -1;
        }
      }
      std::erase_if(conns_, [](const Conn& c) { return c.fd < 0; });
    }
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conns_.push_back(Conn{fd, {}, 0, {}, 0});
    }
  }

  // Reads what is there, answers every complete command; false when the connection is done.
  bool on_readable(Conn& c, std::vector<char>& buf) {
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
      if (n > 0) {
        c.in.append(buf.data(), static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < buf.size()) break;
        continue;
      }
      if (n == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;
    }
    std::uint64_t answered = 0;
    try {
      for (;;) {
        std::string_view first;
        const std::size_t used = next_command(std::string_view(c.in).substr(c.in_pos), first);
        if (used == 0) break;
        c.in_pos += used;
        ++answered;
        if (iequals(first, "GET")) {
          c.out += "$3\r\nbar\r\n";
        } else if (iequals(first, "PING")) {
          c.out += "+PONG\r\n";
        } else if (iequals(first, "INFO")) {
          c.out += bulk("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
        } else {
          c.out += "+OK\r\n";
        }
      }
    } catch (const std::exception&) {
      return false;  // a malformed request: drop the connection, as a server would
    }
    commands_.fetch_add(answered, std::memory_order_relaxed);
    if (c.in_pos == c.in.size()) {
      c.in.clear();
      c.in_pos = 0;
    } else if (c.in_pos > 64 * 1024) {
      c.in.erase(0, c.in_pos);
      c.in_pos = 0;
    }
    return true;
  }

  bool flush(Conn& c) {
    while (c.out_pos < c.out.size()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    c.out.clear();
    c.out_pos = 0;
    return true;
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::vector<Conn> conns_;  // touched by the server thread only (after the constructor)
  std::atomic<std::uint64_t> commands_{0};
  std::thread thread_;
};

// The fake server and one Client against it, made once for every fake_server/ benchmark (so
// no benchmark times a connect) and ended at the end of main().
struct FakeEnv {
  FakeServer server;
  std::unique_ptr<flyshard::Client> client;

  FakeEnv() {
    flyshard::Topology t;
    t.distribution = "ketama";
    flyshard::ShardSpec s;
    s.name = "s1";
    s.primary = {"127.0.0.1", server.port()};
    t.shards.push_back(s);
    flyshard::ClientOptions o;
    o.health_interval = std::chrono::milliseconds(0);  // only the benchmark's requests
    o.request_timeout = std::chrono::milliseconds(5000);
    client = std::make_unique<flyshard::Client>(std::move(t), o);
    // Opens the connections (blocking pool and loop) before anything is timed.
    if (client->get("warm-up") != std::optional<std::string>("bar")) {
      throw std::runtime_error("fake server: unexpected GET reply");
    }
    if (client->async().command({"GET", "warm-up"}).get().str() != "bar") {
      throw std::runtime_error("fake server: unexpected async GET reply");
    }
  }
  ~FakeEnv() { client.reset(); }  // before the server goes
};

std::unique_ptr<FakeEnv> g_env;

FakeEnv& env() {
  if (!g_env) g_env = std::make_unique<FakeEnv>();
  return *g_env;
}

void set_ns_per_req(benchmark::State& state, Clock::duration elapsed, std::uint64_t requests) {
  if (requests == 0) return;
  state.counters["ns_per_req"] =
      std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(requests);
}

constexpr std::string_view kKey = "user:1000:profile";

void hiredis_blocking_get(benchmark::State& state) {
  FakeEnv& e = env();
  redisContext* c = redisConnect("127.0.0.1", e.server.port());
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    state.SkipWithError("hiredis cannot connect to the fake server");
    return;
  }
  int nodelay = 1;
  ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
  const char* argv[] = {"GET", kKey.data()};
  const std::size_t lens[] = {3, kKey.size()};
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
    if (r == nullptr || r->type != REDIS_REPLY_STRING || r->len != 3) {
      if (r != nullptr) freeReplyObject(r);
      state.SkipWithError("hiredis GET failed");
      break;
    }
    freeReplyObject(r);
  }
  set_ns_per_req(state, Clock::now() - t0, state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  redisFree(c);
}

void client_blocking_get(benchmark::State& state) {
  flyshard::Client& client = *env().client;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto v = client.get(kKey);
    if (!v || v->size() != 3) {
      state.SkipWithError("GET failed");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  set_ns_per_req(state, Clock::now() - t0, state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// 128 in flight, each callback issuing the next request on the loop thread. One benchmark
// iteration is a batch of kBatch requests.
constexpr std::size_t kInflight = 128;
constexpr std::size_t kBatch = kInflight * 100;

struct Chain {
  flyshard::AsyncClient* async = nullptr;
  std::atomic<std::int64_t> to_issue{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
  std::uint64_t total = 0;
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;

  void issue() {
    async->get(kKey, [this](flyshard::Result<std::optional<std::string>> r) {
      if (!r.ok() || !r.value() || r.value()->size() != 3) errors.fetch_add(1);
      if (done.fetch_add(1) + 1 == total) {
        std::lock_guard lock(m);
        finished = true;
        cv.notify_one();
        return;
      }
      if (to_issue.fetch_sub(1) > 0) issue();
    });
  }
  void run(std::uint64_t n) {
    total = n;
    done = 0;
    finished = false;
    to_issue = static_cast<std::int64_t>(n);
    for (std::size_t i = 0; i < kInflight; ++i) {
      if (to_issue.fetch_sub(1) > 0) issue();
    }
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished; });
  }
};

void async_get_chained(benchmark::State& state) {
  Chain chain;
  chain.async = &env().client->async();
  const auto t0 = Clock::now();
  for (auto _ : state) chain.run(kBatch);
  const auto elapsed = Clock::now() - t0;
  if (chain.errors.load() != 0) state.SkipWithError("some GETs failed");
  const auto requests = static_cast<std::uint64_t>(state.iterations()) * kBatch;
  set_ns_per_req(state, elapsed, requests);
  state.SetItemsProcessed(static_cast<std::int64_t>(requests));
}

void async_get_from_caller(benchmark::State& state) {
  flyshard::AsyncClient& async = env().client->async();
  std::counting_semaphore<kInflight> slots(kInflight);
  std::atomic<std::uint64_t> errors{0};
  const auto t0 = Clock::now();
  for (auto _ : state) {
    slots.acquire();
    async.get(kKey, [&](flyshard::Result<std::optional<std::string>> r) {
      if (!r.ok() || !r.value() || r.value()->size() != 3) errors.fetch_add(1);
      slots.release();
    });
  }
  // Every request issued has completed once all the slots are back.
  for (std::size_t i = 0; i < kInflight; ++i) slots.acquire();
  const auto elapsed = Clock::now() - t0;
  if (errors.load() != 0) state.SkipWithError("some GETs failed");
  set_ns_per_req(state, elapsed, state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

int main(int argc, char** argv) {
  // Parsing. The streams are built once; each benchmark copies its own.
  benchmark::RegisterBenchmark("parse/bulk_32B", parse, bulk(std::string(32, 'v')), std::size_t{1});
  benchmark::RegisterBenchmark("parse/bulk_1KiB", parse, bulk(std::string(1024, 'v')),
                               std::size_t{1});
  benchmark::RegisterBenchmark("parse/integer", parse, std::string(":1234567\r\n"), std::size_t{1});
  benchmark::RegisterBenchmark("parse/array_100_bulk_32B(MGET)", parse, mget_reply(100, 32),
                               std::size_t{1});
  benchmark::RegisterBenchmark("parse/pipelined_128_small", parse, pipelined_small(128),
                               std::size_t{128});

  // Encoding.
  benchmark::RegisterBenchmark("encode/GET", encode,
                               std::vector<std::string>{"GET", std::string(kKey)});
  benchmark::RegisterBenchmark(
      "encode/SET_32B", encode,
      std::vector<std::string>{"SET", std::string(kKey), std::string(32, 'v')});
  benchmark::RegisterBenchmark("encode/MSET_100_pairs_32B", encode, mset_words(100, 32));

  // The client against the fake in-process server.
  benchmark::RegisterBenchmark("fake_server/hiredis_blocking_get", hiredis_blocking_get)
      ->UseRealTime();
  benchmark::RegisterBenchmark("fake_server/client_blocking_get", client_blocking_get)
      ->UseRealTime();
  benchmark::RegisterBenchmark("fake_server/async_get_inflight128/chained", async_get_chained)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("fake_server/async_get_inflight128/from_caller",
                               async_get_from_caller)
      ->UseRealTime();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  int rc = 0;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_protocol: %s\n", e.what());
    rc = 1;
  }
  g_env.reset();
  benchmark::Shutdown();
  return rc;
}
