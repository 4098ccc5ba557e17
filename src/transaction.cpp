#include <map>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "io/resp.hpp"
#include "reshard/guard_script.hpp"

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
  // One job per node; positions[j] lists its commands in order, each with the number of
  // replies it produces (1, or recorded_replies() for a recorded script: its EXEC's is last).
  std::map<detail::Node*, std::size_t> job_of;
  std::vector<detail::BlockingJob> jobs;
  std::vector<std::vector<std::pair<std::size_t, std::uint32_t>>> positions;  // (command, replies)
  // One wait for a promoted primary for the whole call, however many writes it holds.
  const auto wait_until = core_->promotion_deadline();
  std::uint64_t route_epoch = 0;  // the epoch the pipeline's guarded writes carried
  for (std::size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string_view> w(commands[i].begin(), commands[i].end());
    detail::Node* node;
    std::vector<std::string> scratch;
    std::vector<std::string_view> record;  // a recorded script: SADD's words (if any move)
    bool recorded = false;
    try {
      auto route = core_->route_until(w, wait_until);
      node = route.node;
      if (route.table) [[unlikely]] {
        // Online resharding: a pipeline does not wait (retriable errc::migrating instead);
        // a guarded write goes as EVAL of the guard (no NOSCRIPT retry fits a pipeline); a
        // script on moving keys as MULTI, the script, SADD to the dirty set, EXEC.
        if (route.table->reshard) route_epoch = route.table->reshard->epoch;
        w = core_->pipeline_words(route, w, scratch, record, recorded);
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
    if (!recorded) {
      append_command(job.payload, w);
      ++job.replies;
      positions[it->second].push_back({i, 1});
    } else {
      detail::append_recorded(job.payload, w, record, core_->record_check(route_epoch));
      const std::uint32_t n = detail::recorded_replies(!record.empty());
      job.replies += n;
      positions[it->second].push_back({i, n});
    }
  }
  core_->execute_many(jobs);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    std::size_t k = 0;  // the job's reply where the command's replies begin
    for (const auto& [index, count] : positions[j]) {
      Result<Reply>& slot = results[index];
      const std::size_t last = k + count - 1;  // the command's reply, or a recorded one's EXEC
      if (last < jobs[j].out.size()) {
        Reply& r = jobs[j].out[last];
        if (r.is_error() && detail::stale_epoch(r.str())) [[unlikely]] {
          // The guard refused this client's epoch (the record moved on while the pipeline
          // was sent): nothing ran; the caller retries once the record is read again.
          core_->want_record();
          slot = Result<Reply>(errc::migrating, "the guard refused topology epoch " +
                                                    std::to_string(route_epoch) + " (" + r.str() +
                                                    "): retry");
          k += count;
          continue;
        }
        slot =
            r.is_error() ? Result<Reply>(errc::server_error, r.str()) : Result<Reply>(std::move(r));
        if (count != 1) {
          slot = detail::recorded_reply(std::move(slot));
          if (!slot.ok() && slot.error() == errc::migrating) core_->want_record();
        }
      } else {
        slot = Result<Reply>(jobs[j].error, jobs[j].message);
      }
      k += count;
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
  if (core_->batch_record({std::vector<std::string>(args.begin(), args.end())})) {
    // Sent at once, outside MULTI/EXEC, so nothing can record it in the dirty set.
    throw Error(errc::migrating,
                "transaction read: a write of keys that move in the running migration is not "
                "sent outside MULTI/EXEC; queue it with command(), or retry after the flip");
  }
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
  {
    std::optional<std::size_t> shard = shard_;
    for (const auto& c : commands_) {
      std::vector<std::string_view> w(c.begin(), c.end());
      merge_shard(*core_, w, shard);  // throws cross_shard before anything is sent
    }
  }
  std::vector<std::vector<std::string>> commands;
  commands.swap(commands_);
  const auto until = detail::Clock::now() + core_->options().request_timeout;
  for (;;) {
    std::optional<std::size_t> shard = shard_;
    for (const auto& c : commands) {
      std::vector<std::string_view> w(c.begin(), c.end());
      merge_shard(*core_, w, shard);
    }
    // Online resharding: a transaction writing moving keys (any writing one, under strict
    // fencing) is checked against the stored record first and its moving keys go to the dirty
    // set by a SADD inside it (throws errc::migrating in the cutover, before anything is sent).
    const auto record = core_->batch_record(commands);
    std::string payload;
    std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
    std::uint32_t replies = record ? record->append_check(payload) : 0;
    append_command(payload, multi);
    for (const auto& c : commands) append_command(payload, std::span<const std::string>(c));
    if (record) replies += record->append_sadd(payload);
    append_command(payload, exec);
    replies += static_cast<std::uint32_t>(commands.size() + 2);
    const bool watched = lease_ != nullptr;
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
    if (record) detail::strip_record(last, record->sadd());
    if (last.is_nil() && record && !watched) {
      // Only the check's WATCH can have answered nil: the record is not the one this client
      // routes by, and nothing ran. Nothing of the caller's was read under a WATCH, so the
      // transaction is sent again once the record is read (routed again: a flip moves it).
      if (!core_->retry_after_refused_check(until, record->check.epoch))
        throw Error(errc::migrating, std::string(detail::kRecordChangedMessage));
      continue;
    }
    // With WATCHed keys of the caller's, a nil is theirs to retry (the record's change is one
    // more reason the reads they made may be stale).
    if (last.is_nil()) return std::nullopt;  // a WATCHed key changed
    last.throw_if_error();
    return std::move(last.elements());
  }
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
