#include "client_core.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <map>

#include "command_table.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return Clock::now() + timeout;
}

}  // namespace

Reply value_or_throw(Result<Reply> r) {
  if (!r.ok()) throw Error(r.error(), r.message());
  return std::move(r).value();
}

ClientCore::ClientCore(Topology topology, ClientOptions options)
    : topology_(std::move(topology)),
      options_(std::move(options)),
      log_(options_.log, options_.log_level) {
  topology_.validate();
  if (options_.request_timeout.count() <= 0) {
    throw Error(errc::config, "options.request_timeout: expected > 0 ms");
  }
  if (options_.connect_timeout.count() <= 0) {
    throw Error(errc::config, "options.connect_timeout: expected > 0 ms");
  }
  if (options_.stuck_timeout.count() == 0) options_.stuck_timeout = 2 * options_.request_timeout;
  if (options_.reconnect_min.count() <= 0) options_.reconnect_min = std::chrono::milliseconds(1);
  if (options_.reconnect_max < options_.reconnect_min)
    options_.reconnect_max = options_.reconnect_min;

  // Handshake on every new connection, async or blocking.
  if (!topology_.auth.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!topology_.auth.username.empty()) auth.push_back(topology_.auth.username);
    auth.push_back(topology_.auth.password);
    append_command(handshake_, auth);
    ++handshake_replies_;
  }
  if (topology_.database != 0) {
    const std::string db = std::to_string(topology_.database);
    std::vector<std::string_view> select{"SELECT", db};
    append_command(handshake_, select);
    ++handshake_replies_;
  }

  // One Node per distinct address.
  std::map<NodeAddress, Node*> by_address;
  auto node_for = [&](const NodeAddress& a, std::size_t shard, bool primary) {
    auto it = by_address.find(a);
    if (it != by_address.end()) return it->second;
    nodes_.push_back(std::make_unique<Node>(a, shard, primary, options_.blocking_pool_size));
    by_address[a] = nodes_.back().get();
    return nodes_.back().get();
  };
  std::vector<ShardRoute> routes;
  for (std::size_t i = 0; i < topology_.shards.size(); ++i) {
    const ShardSpec& s = topology_.shards[i];
    ShardRoute r;
    r.name = s.name;
    r.primary = node_for(s.primary, i, true);
    for (const auto& rep : s.replicas) r.replicas.push_back(node_for(rep, i, false));
    routes.push_back(std::move(r));
  }
  router_ = std::make_unique<Router>(topology_.make_distribution(), std::move(routes),
                                     options_.read_from);

  LinkSettings link{options_.connect_timeout,
                    options_.stuck_timeout,
                    options_.reconnect_min,
                    options_.reconnect_max,
                    handshake_,
                    handshake_replies_};
  engine_ = std::make_unique<Engine>(options_, std::move(link), log_);
  for (auto& n : nodes_) engine_->add_node(*n, options_.connections_per_node);
  engine_->start();
}

ClientCore::~ClientCore() {
  engine_->stop();
}

std::optional<std::size_t> ClientCore::shard_of(std::span<const std::string_view> words) const {
  Route r = route_with_key(words);
  if (r.affinity == kAnyConnection) return std::nullopt;
  return r.node->shard;
}

ClientCore::Route ClientCore::route_with_key(std::span<const std::string_view> words) const {
  if (words.empty()) throw Error(errc::config, "empty command");
  std::vector<std::string_view> keys = command_keys(words);
  std::size_t shard = 0;
  std::size_t affinity = kAnyConnection;
  if (!keys.empty()) {
    shard = router_->shard_for(keys[0]);
    for (std::size_t i = 1; i < keys.size(); ++i) {
      if (router_->shard_for(keys[i]) != shard) {
        throw Error(errc::cross_shard, std::string(words[0]) + ": keys \"" +
                                           std::string(keys[0]) + "\" and \"" +
                                           std::string(keys[i]) + "\" map to different shards");
      }
    }
    affinity = std::hash<std::string_view>{}(hash_tag(keys[0]));
  }
  return Route{&router_->node_for(shard, !is_read_command(words)), affinity};
}

void ClientCore::submit(Node& node, std::string payload, std::uint32_t replies,
                        Callback<Reply> cb, std::size_t affinity) {
  Request r;
  r.node = &node;
  r.affinity = affinity;
  r.payload = std::move(payload);
  r.replies = replies;
  r.start = Clock::now();
  r.deadline = r.start + options_.request_timeout;
  r.callback = std::move(cb);
  node.stats.on_start();
  if (node.pending.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending_per_node) {
    r.fail_with = errc::overloaded;
    r.fail_message = node.name + ": more than " + std::to_string(options_.max_pending_per_node) +
                     " requests pending";
  }
  engine_->submit(std::move(r));
}

void ClientCore::submit_error(errc code, std::string message, Callback<Reply> cb) {
  Request r;
  r.fail_with = code;
  r.fail_message = std::move(message);
  r.callback = std::move(cb);
  r.start = Clock::now();
  engine_->submit(std::move(r));
}

Result<std::unique_ptr<BlockingConnection>> ClientCore::lease(Node& node) {
  if (auto c = node.pool.take()) return c;
  return BlockingConnection::open(node.socket, options_.connect_timeout, handshake_,
                                  handshake_replies_, node.name);
}

void ClientCore::release(Node& node, std::unique_ptr<BlockingConnection> conn, errc error) {
  if (error == errc{}) {
    node.pool.give_back(std::move(conn));
  } else if (error == errc::connection_lost) {
    // The node dropped us: its other idle links are likely dead too.
    node.pool.clear();
  }
}

Result<Reply> ClientCore::execute(Node& node, std::string_view payload, std::uint32_t replies) {
  const auto start = Clock::now();
  const auto deadline = start + options_.request_timeout;
  node.stats.on_start();
  auto finish = [&](Result<Reply> r) {
    node.stats.on_complete(r.ok() ? 0 : static_cast<int>(r.error()), Clock::now() - start);
    return r;
  };
  auto leased = lease(node);
  if (!leased.ok()) return finish(Result<Reply>(leased.error(), leased.message()));
  std::unique_ptr<BlockingConnection> conn = std::move(leased).value();
  thread_local std::vector<Reply> out;
  out.clear();
  std::string message;
  errc e = conn->exchange(payload, replies, out, deadline, message);
  release(node, std::move(conn), e);
  if (e != errc{}) return finish(Result<Reply>(e, std::move(message)));
  Reply last = std::move(out.back());
  if (last.is_error()) return finish(Result<Reply>(errc::server_error, last.str()));
  return finish(Result<Reply>(std::move(last)));
}

void ClientCore::execute_many(std::span<BlockingJob> jobs) {
  if (jobs.empty()) return;
  const auto start = Clock::now();
  const auto deadline = deadline_after(options_.request_timeout);
  std::vector<std::unique_ptr<BlockingConnection>> conns(jobs.size());
  std::vector<std::string_view> unsent(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    j.node->stats.on_start();
    auto leased = lease(*j.node);
    if (!leased.ok()) {
      j.error = leased.error();
      j.message = leased.message();
      continue;
    }
    conns[i] = std::move(leased).value();
    unsent[i] = j.payload;
  }
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
        j.error = errc::connection_lost;
        continue;
      }
      if ((fds[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
          !conns[i]->read_some(j.out, j.replies, j.message)) {
        j.error = j.message.find("bad reply") != std::string::npos ? errc::protocol_error
                                                                   : errc::connection_lost;
      }
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    if (conns[i]) release(*j.node, std::move(conns[i]), j.error);
    j.node->stats.on_complete(j.error == errc{} ? 0 : static_cast<int>(j.error),
                              Clock::now() - start);
  }
}

ClientStats ClientCore::stats() const {
  ClientStats out;
  for (const auto& n : nodes_) {
    NodeStats s;
    s.address = n->name;
    s.shard = topology_.shards[n->shard].name;
    s.role = n->is_primary.load() ? "primary" : "replica";
    n->stats.snapshot_into(s);
    out.nodes.push_back(std::move(s));
  }
  return out;
}

}  // namespace flyshard::detail
