// The blocking path: requests run on the caller's thread over pooled connections, one at a
// time (execute) or several nodes at once with one poll loop (execute_many).
#include "client_core.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace flyshard::detail {
namespace {

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return Clock::now() + timeout;
}

}  // namespace

Result<std::unique_ptr<BlockingConnection>> ClientCore::lease(Node& node) {
  if (auto c = node.pool.take()) return c;
  const std::uint64_t generation = node.pool.generation();
  auto opened = BlockingConnection::open(node.address, options_.connect_timeout, node.handshake,
                                         node.handshake_replies, node.name, options_.reply_limits,
                                         node.tls);
  if (opened.ok()) {
    opened.value()->generation = generation;
  } else {
    std::string_view why = opened.message();
    if (why.starts_with(node.name + ": ")) why.remove_prefix(node.name.size() + 2);
    node.set_last_failure(std::string(why));
  }
  return opened;
}

void ClientCore::release(Node& node, std::unique_ptr<BlockingConnection> conn, errc error) {
  if (node.retired.load()) {
    return;  // left the topology while leased: the link closes here, it is not pooled
  } else if (error == errc{}) {
    node.pool.give_back(std::move(conn));
  } else if (error == errc::connection_lost) {
    // The node dropped us: its other idle links are likely dead too.
    node.pool.clear();
  }
}

Result<Reply> ClientCore::execute(Node& node, std::string_view payload, std::uint32_t replies,
                                  bool idempotent,
                                  std::optional<std::chrono::milliseconds> extra_wait,
                                  bool reuse) {
  const auto start = Clock::now();
  auto deadline = start + options_.request_timeout;
  if (extra_wait) {
    // A blocking read waits as long as it asked to (0: forever, as the caller chose).
    deadline = extra_wait->count() == 0 ? Clock::time_point::max() - std::chrono::hours(24)
                                        : deadline + *extra_wait;
  }
  node.stats.on_start();
  auto finish = [&](Result<Reply> r) {
    node.stats.on_complete(r.ok() ? 0 : static_cast<int>(r.error()), Clock::now() - start);
    on_result(node, r.ok() ? errc{} : r.error(), r.ok() ? std::string_view() : r.message());
    return r;
  };
  std::string message;
  Reply last;
  std::unique_ptr<BlockingConnection> conn = node.pool.take();
  const bool reused = conn != nullptr;  // a fresh link is opened by lease() below
  for (int attempt = 0;; ++attempt) {
    if (!conn) {
      auto opened = lease(node);
      if (!opened.ok()) {
        on_connect_failure(node);
        return finish(Result<Reply>(opened.error(), opened.message()));
      }
      conn = std::move(opened).value();
    }
    // The connection's own list: no allocation per call, and no thread_local to look up.
    std::vector<Reply>& out = conn->replies();
    out.clear();
    message.clear();
    errc e = conn->exchange(payload, replies, out, deadline, message,
                            attempt == 0 ? start : Clock::now());
    if (e == errc::connection_lost && reused && idempotent && attempt == 0) {
      // An idle pooled link the server had closed (a restart, or Sentinel's CLIENT KILL while
      // it reconfigured the node): a read is safe to send again on a fresh link.
      conn.reset();
      node.pool.clear();
      continue;
    }
    // Taken before the connection goes back: another thread may take it at once.
    if (e == errc{}) last = std::move(out.back());
    out.clear();
    if (reuse || e != errc{}) {
      release(node, std::move(conn), e);
    } else {
      conn.reset();  // closed: its state after an unknown command is unknown
    }
    if (e != errc{}) return finish(Result<Reply>(e, std::move(message)));
    break;
  }
  if (last.is_error()) return finish(Result<Reply>(errc::server_error, last.str()));
  return finish(Result<Reply>(std::move(last)));
}

void ClientCore::execute_many(std::span<BlockingJob> jobs) {
  if (jobs.empty()) return;
  const auto start = Clock::now();
  std::vector<std::unique_ptr<BlockingConnection>> conns(jobs.size());
  std::vector<std::string_view> unsent(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    j.node->stats.on_start();
    auto leased = lease(*j.node);
    if (!leased.ok()) {
      j.error = leased.error();
      j.message = leased.message();
      on_connect_failure(*j.node);
      continue;
    }
    conns[i] = std::move(leased).value();
    unsent[i] = j.payload;
  }
  // The deadline starts once every link is leased: opening a link to a hung node (its
  // handshake waits up to connect_timeout) must not use up the other shards' time, or one
  // blackholed shard would fail every key of the call instead of only its own.
  const auto deadline = deadline_after(options_.request_timeout);
  // Drive every connection at once: write what each socket takes, read what has come, until
  // every job has its replies or the deadline passes. Reading while writing keeps a large
  // batch from filling both directions' buffers.
  std::vector<pollfd> fds;
  std::vector<std::size_t> index;
  for (;;) {
    fds.clear();
    index.clear();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      BlockingJob& j = jobs[i];
      if (j.error != errc{} || !conns[i]) continue;
      short events = 0;
      if (!unsent[i].empty()) events |= POLLOUT;
      if (j.out.size() < j.replies) events |= POLLIN;
      if (events == 0) continue;
      fds.push_back(pollfd{conns[i]->fd(), events, 0});
      index.push_back(i);
    }
    if (fds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    int n = left.count() > 0 ? ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      for (std::size_t i : index) {
        jobs[i].error = errc::timeout;
        jobs[i].message = jobs[i].node->name + ": no reply in time";
        conns[i]->close();
      }
      break;
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      std::size_t i = index[k];
      BlockingJob& j = jobs[i];
      if ((fds[k].revents & POLLOUT) && !conns[i]->write_some(unsent[i], j.message)) {
        j.error = conns[i]->failure();
        continue;
      }
      if ((fds[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
          !conns[i]->read_some(j.out, j.replies, j.message)) {
        j.error = conns[i]->failure();
      }
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    if (conns[i] && (j.reuse || j.error != errc{})) release(*j.node, std::move(conns[i]), j.error);
    conns[i].reset();
    j.node->stats.on_complete(j.error == errc{} ? 0 : static_cast<int>(j.error),
                              Clock::now() - start);
    on_result(*j.node, j.error);
    for (const Reply& r : j.out) {
      if (r.is_error() && says_role_changed(r.str())) {
        on_result(*j.node, errc::server_error, r.str());
        break;
      }
    }
  }
}

}  // namespace flyshard::detail
