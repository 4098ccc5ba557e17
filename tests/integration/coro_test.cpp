// Coroutines over the async face: resumption on the loop thread or on the caller's
// executor, and a per-await deadline shorter than a stalled request.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "client_helpers.hpp"
#include "flyshard/coro.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;
using flyshard::testing::loop_thread;

namespace {

class CoroTest : public flyshard::testing::SharedClusterTest<2> {};

// A one-thread executor: the user's own, as a Resumer sees it.
class Executor {
 public:
  Executor() : thread_([this] { run(); }) {}
  ~Executor() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void post(std::coroutine_handle<> h) {
    // Notified under the lock: the resumed task may end the test, and the executor with it,
    // as soon as the lock is released (TSan saw the condition variable destroyed under a
    // notify made after the unlock).
    std::lock_guard l(mu_);
    queue_.push_back(h);
    cv_.notify_one();
  }
  std::thread::id id() const { return thread_.get_id(); }
  Resumer resumer() {
    return [this](std::coroutine_handle<> h) { post(h); };
  }

 private:
  void run() {
    std::unique_lock l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto h = queue_.front();
      queue_.pop_front();
      l.unlock();
      h.resume();
      l.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::coroutine_handle<>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

Task<std::vector<std::string>> set_get_incr(AsyncClient& async,
                                            std::vector<std::thread::id>& threads,
                                            AwaitOptions options = {}) {
  std::vector<std::string> out;
  // The Args form, its awaitable made in a statement of its own (GCC 12 cannot compile a
  // braced list inside co_await).
  auto set = async_command(async, {"SET", "k", "v"}, options);
  Reply r = (co_await set).value();
  threads.push_back(std::this_thread::get_id());
  out.push_back(r.as<std::string>());
  r = (co_await async_command(async, "GET", "k").with(options)).value();
  threads.push_back(std::this_thread::get_id());
  out.push_back(r.as<std::string>());
  for (int i = 0; i < 3; ++i) {
    r = (co_await async_command(async, "INCRBY", "n", 2).with(options)).value();
    threads.push_back(std::this_thread::get_id());
  }
  out.push_back(std::to_string(r.as<long long>()));
  // An error reply is a Result holding server_error, not an exception.
  Result<Reply> bad = co_await async_command(async, "INCR", "k").with(options);
  out.push_back(bad.ok() ? "ok" : std::string(to_string(server_error_kind(bad))));
  co_return out;
}

// Runs `calls` (a task of (AsyncClient&, threads, AwaitOptions)) resuming on the loop thread
// or on a user's executor; checks its result and the thread of each of its `awaits`
// resumptions.
template <typename Calls>
void expect_resumptions(Client& client, bool on_executor, Calls calls,
                        const std::vector<std::string>& expected, std::size_t awaits) {
  const auto loop = loop_thread(client.async());
  ASSERT_NE(loop, std::this_thread::get_id());
  Executor executor;
  std::vector<std::thread::id> threads;
  AwaitOptions o;
  if (on_executor) o.resume_on = executor.resumer();
  EXPECT_EQ(calls(client.async(), threads, o).sync_wait(), expected);
  ASSERT_EQ(threads.size(), awaits);
  for (auto id : threads) EXPECT_EQ(id, on_executor ? executor.id() : loop);
}

// Against key's SIGSTOPped primary, `await_get(async, key, options)` (an awaitable of the
// key's GET) ends with errc::timeout near its 200 ms deadline, far before the request's own
// 5 s timeout, resuming on the loop thread and then on a user's executor.
template <typename AwaitGet>
void expect_deadline_on_stopped_server(LocalCluster& cluster, AwaitGet await_get) {
  ClientOptions opts;
  opts.request_timeout = std::chrono::milliseconds(5000);
  opts.health_interval = std::chrono::milliseconds(0);
  Client client(cluster.topology(), opts);
  const std::string key = "stalled";
  const std::size_t shard = client.shard_for(key);
  client.set(key, "v");  // the connection is up before the server stops
  client.async().command({"GET", key}).get();
  const auto loop = loop_thread(client.async());

  auto& server = cluster.primary(shard);
  server.stop();  // SIGSTOP: the request is sent and never answered
  struct Resume {
    flyshard::testing::ServerProcess& s;
    ~Resume() { s.resume(); }
  } resume_guard{server};

  auto stalled = [&](AsyncClient& a, Executor* ex) -> Task<std::pair<errc, std::thread::id>> {
    AwaitOptions o;
    o.deadline = std::chrono::milliseconds(200);
    if (ex) o.resume_on = ex->resumer();
    auto r = co_await await_get(a, key, std::move(o));
    co_return std::pair{r.ok() ? errc{} : r.error(), std::this_thread::get_id()};
  };
  Executor executor;
  for (Executor* ex : {static_cast<Executor*>(nullptr), &executor}) {
    const auto start = std::chrono::steady_clock::now();
    auto [code, thread] = stalled(client.async(), ex).sync_wait();
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(code, errc::timeout);
    EXPECT_EQ(thread, ex ? ex->id() : loop);  // a deadline resumes where it was told to
    EXPECT_GE(waited, std::chrono::milliseconds(190));
    EXPECT_LT(waited, std::chrono::milliseconds(2000));
  }
}

const std::vector<std::string> kSequenceExpected{"OK", "v", "6", "ERR"};

}  // namespace

TEST_F(CoroTest, SequenceResumesOnTheLoopThread) {
  Client client(cluster_->topology());
  expect_resumptions(client, false, set_get_incr, kSequenceExpected, 5);
  EXPECT_EQ(client.get("n"), "6");
}

TEST_F(CoroTest, ResumesOnTheUsersExecutor) {
  Client client(cluster_->topology());
  expect_resumptions(client, true, set_get_incr, kSequenceExpected, 5);
}

TEST_F(CoroTest, NestedTasksAndExceptions) {
  Client client(cluster_->topology());
  auto inner = [](AsyncClient& a) -> Task<long long> {
    co_return (co_await async_command(a, "INCR", "c")).value().as<long long>();
  };
  auto outer = [&](AsyncClient& a) -> Task<long long> {
    long long sum = 0;
    for (int i = 0; i < 4; ++i) sum += co_await inner(a);
    co_return sum;
  };
  EXPECT_EQ(outer(client.async()).sync_wait(), 1 + 2 + 3 + 4);
  auto failing = [](AsyncClient& a) -> Task<> {
    // A command refused before sending: the Result's value() throws inside the coroutine.
    (void)(co_await async_command(a, "MULTI")).value();
  };
  EXPECT_THROW(failing(client.async()).sync_wait(), Error);
}

TEST_F(CoroTest, DeadlineEndsAnAwaitOnAStoppedServer) {
  expect_deadline_on_stopped_server(*cluster_,
                                    [](AsyncClient& a, const std::string& key, AwaitOptions o) {
                                      return async_command(a, "GET", key).with(std::move(o));
                                    });
}

namespace {

// The typed helpers through awaitable(): T named, T deduced from the starter's parameter,
// a multi-key call, a pipeline and a transaction. Returns what it saw, and the threads it
// resumed on.
Task<std::vector<std::string>> typed_calls(AsyncClient& a, std::vector<std::thread::id>& threads,
                                           AwaitOptions options = {}) {
  std::vector<std::string> out;
  const std::string key = "t:{1}";
  Result<bool> set = co_await awaitable<bool>(
      a, [&](auto cb) { a.set(key, "v1", std::move(cb)); }, options);
  threads.push_back(std::this_thread::get_id());
  out.push_back(set.value() ? "set" : "not set");
  auto got = co_await awaitable(
      a, [&](Callback<std::optional<std::string>> cb) { a.get(key, std::move(cb)); }, options);
  threads.push_back(std::this_thread::get_id());
  out.push_back(got.value().value_or("nil"));

  const std::vector<std::string> keys{key, "absent", "t:{2}"};
  auto many = co_await awaitable<std::vector<std::optional<std::string>>>(
      a, [&](auto cb) { a.mget(keys, std::move(cb)); }, options);
  threads.push_back(std::this_thread::get_id());
  for (const auto& v : many.value()) out.push_back(v.value_or("nil"));

  const std::vector<std::vector<std::string>> commands{{"INCR", "t:{3}"}, {"INCRBY", key, "1"}};
  auto piped = co_await awaitable<std::vector<Result<Reply>>>(
      a, [&](auto cb) { a.pipeline(commands, std::move(cb)); }, options);
  threads.push_back(std::this_thread::get_id());
  for (const auto& r : piped.value()) out.push_back(r.ok() ? r.value().to_string() : "error");

  const std::vector<std::vector<std::string>> tx{{"SET", "t:{3}", "10"}, {"INCR", "t:{3}"}};
  auto exec = co_await awaitable<Reply>(
      a, [&](auto cb) { a.transaction(tx, std::move(cb)); }, options);
  threads.push_back(std::this_thread::get_id());
  for (const auto& r : exec.value().elements()) out.push_back(r.to_string());
  co_return out;
}

const std::vector<std::string> kTypedExpected{"set", "v1",    "v1", "nil", "nil",
                                              "1",   "error", "OK", "11"};

}  // namespace

TEST_F(CoroTest, AwaitsTypedHelpersOnTheLoopThread) {
  Client client(cluster_->topology());
  expect_resumptions(client, false, typed_calls, kTypedExpected, 5);
  EXPECT_EQ(client.get("t:{3}"), "11");
}

TEST_F(CoroTest, AwaitsTypedHelpersOnTheUsersExecutor) {
  Client client(cluster_->topology());
  expect_resumptions(client, true, typed_calls, kTypedExpected, 5);
}

TEST_F(CoroTest, DeadlineEndsATypedAwaitOnAStoppedServer) {
  // The generic form, T deduced from the starter's parameter.
  expect_deadline_on_stopped_server(
      *cluster_, [](AsyncClient& a, const std::string& key, AwaitOptions o) {
        return awaitable(
            a, [&a, key](Callback<std::optional<std::string>> cb) { a.get(key, std::move(cb)); },
            std::move(o));
      });
}
