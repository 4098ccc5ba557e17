// The I/O layer against a scripted fake server that misbehaves on demand: hostile headers,
// late replies, replies after a reconnect, a close in the middle of a reply, retries from
// inside timeout callbacks, a server that accepts and closes at once, and the blocking
// path's one deadline. Every checked reply carries a value unique to its key.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "eventually.hpp"
#include "fake_server.hpp"
#include "flyshard/flyshard.hpp"
#include "io/blocking_connection.hpp"
#include "io/connection.hpp"
#include "io/engine.hpp"
#include "io/resp.hpp"
#include "log.hpp"
#include "routing/node.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using namespace std::string_literals;
using flyshard::testing::bulk;
using flyshard::testing::FakeServer;
using flyshard::testing::FakeScript;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;
using Clock = std::chrono::steady_clock;

// Polls `cond` until it holds or `within` passes.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds within = 5000ms * kSlow) {
  return flyshard::testing::eventually(cond, within);
}

// The value the fake server keeps for `key`: unique per key, so a reply delivered to the
// wrong request cannot pass.
std::string value_of(const std::string& key) { return "value-of-" + key; }

// Answers GET k with value_of(k), anything else with +OK.
FakeScript answering() {
  return FakeScript().answer_all([](const std::vector<std::string>& w) {
    if (w.size() == 2 && w[0] == "GET") return bulk(value_of(w[1]));
    return std::string("+OK\r\n");
  });
}

ClientOptions fast_options() {
  ClientOptions o;
  o.request_timeout = 200ms * kSlow;
  o.connect_timeout = 500ms * kSlow;
  o.stuck_timeout = 5000ms * kSlow;
  o.reconnect_min = 10ms;
  o.reconnect_max = 100ms;
  // Only the test's own commands reach the fake server: no checks, no topology record reads.
  o.health_interval = 0ms;
  o.follow_topology_record = false;
  o.log_level = LogLevel::error;
  return o;
}

// One engine with one node and one connection, driven directly: the I/O layer without the
// client around it (no health checks, no routing).
class EngineHarness {
 public:
  EngineHarness(std::uint16_t port, const ClientOptions& o)
      : options_(o),
        log_(o.log, o.log_level),
        node_(NodeAddress{"127.0.0.1", port}, 0, true, 0) {
    detail::LinkSettings link{o.connect_timeout, o.stuck_timeout, o.reconnect_min, o.reconnect_max};
    engine_ = std::make_unique<detail::Engine>(options_, std::move(link), log_);
    engine_->add_node(node_, 1);
    engine_->start();
  }
  ~EngineHarness() { engine_->stop(); }

  detail::Engine& engine() { return *engine_; }
  detail::Node& node() { return node_; }

  // Sends `words`; `cb` runs on the loop thread. `timeout`: 0 for options' request_timeout.
  void send(std::vector<std::string> words, std::function<void(Result<Reply>)> cb,
            std::chrono::milliseconds timeout = 0ms) {
    detail::Request r;
    r.node = &node_;
    detail::append_command(r.payload, std::span<const std::string>(words));
    r.start = Clock::now();
    r.deadline = r.start + (timeout.count() > 0 ? timeout : options_.request_timeout);
    r.callback = std::move(cb);
    node_.pending.fetch_add(1);
    engine_->submit(std::move(r));
  }
  // Sends `words` and waits (bounded) for the result.
  Result<Reply> call(std::vector<std::string> words, std::chrono::milliseconds timeout = 0ms) {
    auto p = std::make_shared<std::promise<Result<Reply>>>();
    auto f = p->get_future();
    send(std::move(words), [p](Result<Reply> r) { p->set_value(std::move(r)); }, timeout);
    if (f.wait_for(10s * kSlow) != std::future_status::ready) {
      return {errc::timeout, "test: no callback within 10 s"};
    }
    return f.get();
  }
  // Calls GET key until the link takes it (a reconnect may be under way); the last result.
  Result<Reply> get_when_linked(const std::string& key) {
    Result<Reply> r{errc::connection_lost, "not tried"};
    eventually([&] {
      r = call({"GET", key});
      return r.ok() || r.error() != errc::connection_lost;
    });
    return r;
  }

 private:
  ClientOptions options_;
  detail::Logger log_;
  detail::Node node_;  // before engine_: outlives it
  std::unique_ptr<detail::Engine> engine_;
};

// ---- bounds, async path ----------------------------------------------------------------------

void expect_protocol_error_then_recovery(const std::string& hostile) {
  FakeServer server({FakeScript().expect(1).reply(hostile), answering()});
  EngineHarness h(server.port(), fast_options());
  Result<Reply> r = h.call({"GET", "k1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::protocol_error) << r.message();
  // The link was closed and reopened: the next request gets its own value.
  Result<Reply> next = h.get_when_linked("k2");
  ASSERT_TRUE(next.ok()) << next.message();
  EXPECT_EQ(next.value().str(), value_of("k2"));
  EXPECT_GE(server.accepted(), 2);
}

TEST(IoFaultTest, HugeArrayHeaderFailsTheRequestAndReopensTheLink) {
  expect_protocol_error_then_recovery("*2000000000\r\n");
}

TEST(IoFaultTest, HugeBulkHeaderFailsTheRequestAtOnce) {
  expect_protocol_error_then_recovery("$2000000000\r\nabc");
}

TEST(IoFaultTest, DeepNestingFailsTheRequest) {
  std::string deep;
  for (int i = 0; i < 12; ++i) deep += "*1\r\n";
  expect_protocol_error_then_recovery(deep + ":1\r\n");
}

TEST(IoFaultTest, ConfiguredLimitApplies) {
  ClientOptions o = fast_options();
  o.reply_limits.max_bulk_length = 8;
  FakeServer server({FakeScript().expect(2).reply(bulk("12345678") + bulk("123456789")), answering()});
  EngineHarness h(server.port(), o);
  auto f1 = std::make_shared<std::promise<Result<Reply>>>();
  auto f2 = std::make_shared<std::promise<Result<Reply>>>();
  h.send({"GET", "a"}, [f1](Result<Reply> r) { f1->set_value(std::move(r)); });
  h.send({"GET", "b"}, [f2](Result<Reply> r) { f2->set_value(std::move(r)); });
  auto r1 = f1->get_future().get();
  auto r2 = f2->get_future().get();
  ASSERT_TRUE(r1.ok()) << r1.message();
  EXPECT_EQ(r1.value().str(), "12345678");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error(), errc::protocol_error) << r2.message();
}

// ---- late replies, reconnects, partial replies -------------------------------------------------

TEST(IoFaultTest, LateReplyAfterTimeoutIsDroppedAndTheNextRequestGetsItsOwn) {
  ClientOptions o = fast_options();
  o.request_timeout = 100ms * kSlow;
  FakeServer server({FakeScript()
                         .expect(1)
                         .delay(400ms * kSlow)
                         .reply(bulk(value_of("k1")))
                         .expect(1)
                         .reply(bulk(value_of("k2")))});
  EngineHarness h(server.port(), o);
  Result<Reply> r1 = h.call({"GET", "k1"});
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error(), errc::timeout);
  // Sent before k1's late reply arrives (with a deadline of its own that outlasts it),
  // answered after it.
  Result<Reply> r2 = h.call({"GET", "k2"}, 3000ms * kSlow);
  ASSERT_TRUE(r2.ok()) << r2.message();
  EXPECT_EQ(r2.value().str(), value_of("k2"));
  EXPECT_EQ(server.accepted(), 1);
}

TEST(IoFaultTest, ReplyOnAStuckLinkNeverReachesARequestAfterTheReconnect) {
  ClientOptions o = fast_options();
  o.request_timeout = 100ms * kSlow;
  o.stuck_timeout = 200ms * kSlow;
  // The first link answers k1 long after the client gave up on the link; the second answers
  // normally.
  FakeServer server(
      {FakeScript().expect(1).delay(1000ms * kSlow).reply(bulk(value_of("k1"))), answering()});
  EngineHarness h(server.port(), o);
  Result<Reply> r1 = h.call({"GET", "k1"});
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error(), errc::timeout);
  ASSERT_TRUE(eventually([&] { return server.accepted() >= 2; }));
  for (std::string key : {"k2", "k3", "k4"}) {
    Result<Reply> r = h.get_when_linked(key);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value().str(), value_of(key));
  }
}

TEST(IoFaultTest, CloseInTheMiddleOfAReplyFailsOnlyTheUnansweredRequest) {
  const std::string v2 = bulk(value_of("k2"));
  FakeServer server(
      {FakeScript().expect(2).reply(bulk(value_of("k1")) + v2.substr(0, v2.size() / 2)).close(),
       answering()});
  EngineHarness h(server.port(), fast_options());
  auto p1 = std::make_shared<std::promise<Result<Reply>>>();
  auto p2 = std::make_shared<std::promise<Result<Reply>>>();
  h.send({"GET", "k1"}, [p1](Result<Reply> r) { p1->set_value(std::move(r)); });
  h.send({"GET", "k2"}, [p2](Result<Reply> r) { p2->set_value(std::move(r)); });
  auto r1 = p1->get_future().get();
  auto r2 = p2->get_future().get();
  ASSERT_TRUE(r1.ok()) << r1.message();
  EXPECT_EQ(r1.value().str(), value_of("k1"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error(), errc::connection_lost) << r2.message();
  // The half reply is gone with the old link: the new one starts clean.
  Result<Reply> r3 = h.get_when_linked("k3");
  ASSERT_TRUE(r3.ok()) << r3.message();
  EXPECT_EQ(r3.value().str(), value_of("k3"));
}

// ---- a retry from inside a timeout callback (the sweep must not hold iterators) --------------

TEST(IoFaultTest, RetryFromInsideTimeoutCallbacksIsSafe) {
  // Many requests expire in one sweep; each callback sends again from the loop thread, which
  // appends to the very queue the sweep walks. Under ASan the old sweep (a range-for over
  // the deque) read freed memory here.
  ClientOptions o = fast_options();
  o.request_timeout = 150ms * kSlow;
  FakeServer server({FakeScript()});  // takes the commands, answers none
  EngineHarness h(server.port(), o);
  ASSERT_TRUE(eventually([&] { return server.accepted() >= 1; }));
  // Wait for the link: one request that times out proves it is up.
  ASSERT_EQ(h.call({"GET", "warm-up"}).error(), errc::timeout);

  constexpr int kRequests = 400;
  std::atomic<int> first_timeouts{0}, retries_done{0}, other{0};
  for (int i = 0; i < kRequests; ++i) {
    const std::string key = "k" + std::to_string(i);
    h.send({"GET", key}, [&, key](Result<Reply> r) {
      if (r.ok() || r.error() != errc::timeout) ++other;
      ++first_timeouts;
      // Runs inside the sweep: send again, straight into the link's in-flight queue.
      h.send({"GET", key + "-again"}, [&](Result<Reply>) { ++retries_done; });
    });
  }
  ASSERT_TRUE(eventually([&] { return retries_done.load() == kRequests; }))
      << first_timeouts.load() << " timeouts, " << retries_done.load() << " retries done";
  EXPECT_EQ(first_timeouts.load(), kRequests);
  EXPECT_EQ(other.load(), 0);
}

// ---- reconnect backoff -----------------------------------------------------------------------

TEST(IoFaultTest, AcceptAndCloseReconnectsWithBackoff) {
  ClientOptions o = fast_options();
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  FakeServer server({FakeScript().close()});
  EngineHarness h(server.port(), o);
  ASSERT_TRUE(eventually([&] { return server.accepted() >= 2; }));
  // Over one second, backoff (20, 40, 80, 160, 200, ... ms, +-25 %) allows about ten
  // connects; without it the client reconnected as fast as the loop turned (thousands).
  const int before = server.accepted();
  std::this_thread::sleep_for(1000ms);
  const int during = server.accepted() - before;
  EXPECT_LE(during, 30) << "connects in one second";
  EXPECT_GE(server.accepted(), 3);
}

TEST(IoFaultTest, BackoffResetsOnceALinkHasWorked) {
  // A link that answered and then broke is retried at once: the first failure is news.
  ClientOptions o = fast_options();
  o.reconnect_min = 2000ms;  // a backoff would outlast the test's wait
  o.reconnect_max = 2000ms;
  FakeServer server({FakeScript().expect(1).reply(bulk(value_of("k1"))).close(), answering()});
  EngineHarness h(server.port(), o);
  Result<Reply> r1 = h.call({"GET", "k1"});
  ASSERT_TRUE(r1.ok()) << r1.message();
  EXPECT_EQ(r1.value().str(), value_of("k1"));
  ASSERT_TRUE(eventually([&] { return server.accepted() >= 2; }, 1000ms * kSlow));
}

// ---- the blocking path -----------------------------------------------------------------------

std::unique_ptr<detail::BlockingConnection> open_blocking(const FakeServer& server,
                                                         const ReplyLimits& limits = {}) {
  auto c = detail::BlockingConnection::open(NodeAddress{"127.0.0.1", server.port()}, 1000ms * kSlow,
                                            {}, 0, server.address(), limits);
  if (!c.ok()) throw Error(c.error(), c.message());
  return std::move(c).value();
}

errc blocking_get(detail::BlockingConnection& c, const std::string& key,
                  std::chrono::milliseconds timeout, std::vector<Reply>& out,
                  std::chrono::milliseconds* took = nullptr) {
  std::string payload;
  std::vector<std::string> words{"GET", key};
  detail::append_command(payload, std::span<const std::string>(words));
  std::string message;
  const auto start = Clock::now();
  errc e = c.exchange(payload, 1, out, start + timeout, message);
  if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return e;
}

TEST(IoFaultTest, BlockingPathRefusesHostileHeaders) {
  for (std::string hostile : {"*2000000000\r\n"s, "$2000000000\r\n"s, "*1\r\n*1\r\n*1\r\n:1\r\n"s}) {
    ReplyLimits limits;
    limits.max_depth = 2;
    FakeServer server({FakeScript().expect(1).reply(hostile)});
    auto c = open_blocking(server, limits);
    std::vector<Reply> out;
    EXPECT_EQ(blocking_get(*c, "k1", 2000ms * kSlow, out), errc::protocol_error) << hostile;
    EXPECT_FALSE(c->usable());
  }
}

TEST(IoFaultTest, BlockingReceiveHoldsOneDeadlineWhenTheReplyTrickles) {
  // Part of the reply comes just before the deadline, the rest never: the wait after the
  // part must end at the deadline, not a whole timeout later.
  const auto timeout = 600ms * kSlow;
  FakeServer server({FakeScript().expect(1).delay(450ms * kSlow).reply("$20\r\nabc")});
  auto c = open_blocking(server);
  std::vector<Reply> out;
  std::chrono::milliseconds took{};
  EXPECT_EQ(blocking_get(*c, "k1", timeout, out, &took), errc::timeout);
  EXPECT_LT(took, timeout + 250ms * kSlow) << "deadline " << timeout.count() << " ms";
}

TEST(IoFaultTest, BlockingSendHoldsTheDeadlineAgainstASlowReader) {
  // The server reads a little now and then: every send makes some progress, so a per-call
  // socket timeout alone never fires. The exchange must still end at its deadline.
  const auto timeout = 500ms * kSlow;
  FakeServer server({FakeScript().read_slowly(64 * 1024, 20ms)});
  auto c = open_blocking(server);
  std::string payload;
  std::vector<std::string> words{"SET", "k1", std::string(64 << 20, 'x')};
  detail::append_command(payload, std::span<const std::string>(words));
  std::vector<Reply> out;
  std::string message;
  const auto start = Clock::now();
  EXPECT_EQ(c->exchange(payload, 1, out, start + timeout, message), errc::timeout) << message;
  const auto took = Clock::now() - start;
  EXPECT_LT(took, timeout + 300ms * kSlow)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

// ---- through the Client ------------------------------------------------------------------------

TEST(IoFaultTest, ClientSurvivesHugeArrayOnBothPaths) {
  // Every connection (async link, blocking pool) answers GET with a two-billion-element
  // header; before the bounds this ended the process with std::bad_alloc.
  FakeServer server({FakeScript().answer_all([](const std::vector<std::string>& w) {
    if (!w.empty() && w[0] == "GET") return std::string("*2000000000\r\n");
    return std::string("+OK\r\n");
  })});
  Topology topo = Topology::from_json(R"({"shards":[{"name":"s1","primary":")" +
                                      server.address() + R"("}]})");
  Client client(topo, fast_options());
  try {
    client.get("k1");
    ADD_FAILURE() << "blocking get did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::protocol_error) << e.what();
  }
  std::promise<Result<Reply>> p;
  client.async().command({"GET", "k2"}, [&p](Result<Reply> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(10s * kSlow), std::future_status::ready);
  Result<Reply> r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::protocol_error) << r.message();
}

}  // namespace
