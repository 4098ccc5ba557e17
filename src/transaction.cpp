#include <map>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "io/resp.hpp"

namespace flyshard {

using detail::append_command;

namespace detail {

Result<std::vector<Reply>> BlockingLease::exchange(std::string_view payload, std::uint32_t replies,
                                                   std::chrono::milliseconds extra_wait) {
  const auto start = Clock::now();
  node_.stats.on_start();
  std::vector<Reply> out;
  std::string message;
  errc e = broken_ ? errc::connection_lost
                   : conn_->exchange(payload, replies, out,
                                     start + core_.options().request_timeout + extra_wait, message);
  if (broken_) message = node_.name + ": the transaction's connection failed earlier";
  node_.stats.on_complete(static_cast<int>(e), Clock::now() - start);
  if (e != errc{}) {
    broken_ = true;
    return {e, message};
  }
  return out;
}

}  // namespace detail

// ---- Pipeline -------------------------------------------------------------------------

Pipeline& Pipeline::command(Args args) {
  commands_.emplace_back(args.begin(), args.end());
  return *this;
}

std::vector<Result<Reply>> Pipeline::execute() {
  std::vector<std::vector<std::string>> commands;
  commands.swap(commands_);
  std::vector<Result<Reply>> results(commands.size(),
                                     Result<Reply>(errc::shutting_down, "not sent"));
  // One job per node; positions[j][k] is the command whose reply is the job's k-th.
  std::map<detail::Node*, std::size_t> job_of;
  std::vector<detail::BlockingJob> jobs;
  std::vector<std::vector<std::size_t>> positions;
  // One wait for a promoted primary for the whole call, however many writes it holds.
  const auto wait_until = core_->promotion_deadline();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string_view> w(commands[i].begin(), commands[i].end());
    detail::Node* node;
    std::vector<std::string> scratch;
    try {
      auto route = core_->route_until(w, wait_until);
      node = route.node;
      if (route.table) [[unlikely]] {
        // Online resharding: a pipeline does not wait (retriable errc::migrating instead);
        // a guarded write goes as EVALSHA of the guard, which every health round loads.
        w = core_->pipeline_words(route, w, scratch);
      }
    } catch (const Error& e) {
      results[i] = Result<Reply>(e.value(), e.what());
      continue;
    }
    auto [it, fresh] = job_of.try_emplace(node, jobs.size());
    if (fresh) {
      jobs.emplace_back();
      jobs.back().node = node;
      positions.emplace_back();
    }
    detail::BlockingJob& job = jobs[it->second];
    append_command(job.payload, w);
    ++job.replies;
    positions[it->second].push_back(i);
  }
  core_->execute_many(jobs);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    for (std::size_t k = 0; k < positions[j].size(); ++k) {
      Result<Reply>& slot = results[positions[j][k]];
      if (k < jobs[j].out.size()) {
        Reply& r = jobs[j].out[k];
        slot =
            r.is_error() ? Result<Reply>(errc::server_error, r.str()) : Result<Reply>(std::move(r));
      } else {
        slot = Result<Reply>(jobs[j].error, jobs[j].message);
      }
    }
  }
  return results;
}

// ---- Transaction ------------------------------------------------------------------------

Transaction::Transaction(std::shared_ptr<detail::ClientCore> core) : core_(std::move(core)) {}
Transaction::Transaction(Transaction&&) noexcept = default;

Transaction::~Transaction() {
  try {
    discard();
  } catch (...) {
    // A failed UNWATCH only costs the connection, which the lease drops.
  }
}

namespace {

// The shard all of `words`' keys map to, checked against the transaction's shard so far.
void merge_shard(detail::ClientCore& core, std::span<const std::string_view> words,
                 std::optional<std::size_t>& shard) {
  std::optional<std::size_t> s = core.shard_of(words);
  if (s && shard && *s != *shard) {
    throw Error(errc::cross_shard, "transaction: keys span shards " +
                                       core.router().shard(*shard).name + " and " +
                                       core.router().shard(*s).name);
  }
  if (s) shard = s;
}

}  // namespace

void Transaction::watch(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  std::vector<std::string_view> w{"WATCH"};
  w.insert(w.end(), keys.begin(), keys.end());
  std::optional<std::size_t> shard = shard_;
  merge_shard(*core_, w, shard);
  if (!lease_) {
    detail::Node& node = core_->node_for_shard(*shard, true, true);
    auto conn = core_->lease(node);
    if (!conn.ok()) throw Error(conn.error(), conn.message());
    lease_ = std::make_unique<detail::BlockingLease>(*core_, node, std::move(conn).value());
  }
  shard_ = shard;
  std::string payload;
  append_command(payload, w);
  auto r = lease_->exchange(payload, 1);
  if (!r.ok()) throw Error(r.error(), r.message());
  r.value().back().throw_if_error();
  watched_.insert(watched_.end(), keys.begin(), keys.end());
}

Reply Transaction::read(Args args) {
  std::optional<std::size_t> shard = shard_;
  merge_shard(*core_, args.span(), shard);
  std::string payload;
  append_command(payload, args.span());
  if (!lease_) {
    // Nothing watched yet: an ordinary request does.
    detail::Node& node = core_->node_for_shard(shard.value_or(0), true, true);
    shard_ = shard;
    return detail::value_or_throw(core_->execute(node, payload));
  }
  shard_ = shard;
  auto r = lease_->exchange(payload, 1);
  if (!r.ok()) throw Error(r.error(), r.message());
  Reply last = std::move(r.value().back());
  last.throw_if_error();
  return last;
}

Transaction& Transaction::command(Args args) {
  commands_.emplace_back(args.begin(), args.end());
  return *this;
}

std::optional<std::vector<Reply>> Transaction::exec() {
  std::optional<std::size_t> shard = shard_;
  for (const auto& c : commands_) {
    std::vector<std::string_view> w(c.begin(), c.end());
    merge_shard(*core_, w, shard);  // throws cross_shard before anything is sent
  }
  std::vector<std::vector<std::string>> commands;
  commands.swap(commands_);
  std::string payload;
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  append_command(payload, multi);
  for (const auto& c : commands) append_command(payload, std::span<const std::string>(c));
  append_command(payload, exec);
  const auto replies = static_cast<std::uint32_t>(commands.size() + 2);
  Reply last;
  if (lease_) {
    auto r = lease_->exchange(payload, replies);
    lease_.reset();  // EXEC ends the WATCH either way
    watched_.clear();
    shard_.reset();
    if (!r.ok()) throw Error(r.error(), r.message());
    last = std::move(r.value().back());
  } else {
    detail::Node& node = core_->node_for_shard(shard.value_or(0), true, true);
    shard_.reset();
    last = detail::value_or_throw(core_->execute(node, payload, replies));
  }
  if (last.is_nil()) return std::nullopt;  // a WATCHed key changed
  last.throw_if_error();
  return std::move(last.elements());
}

void Transaction::discard() {
  commands_.clear();
  if (lease_ && !watched_.empty()) {
    std::string payload;
    std::vector<std::string_view> unwatch{"UNWATCH"};
    append_command(payload, unwatch);
    (void)lease_->exchange(payload, 1);
  }
  lease_.reset();
  watched_.clear();
  shard_.reset();
}

}  // namespace flyshard
