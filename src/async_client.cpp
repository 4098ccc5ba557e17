#include <cctype>
#include <memory>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "gather.hpp"
#include "io/resp.hpp"
#include "reply_access.hpp"
#include "reshard/guard_script.hpp"
#include "routing/scatter.hpp"

namespace flyshard {

using detail::append_command;
using detail::make_gather;

namespace {

// Every part at once; a key that goes alone (a migration runs) as command() sends it.
// `table`: the one the plan was made by (its shard indexes name nodes in it).
void run_plan(detail::ClientCore& core, const detail::RoutingTable& table,
              std::shared_ptr<detail::SplitPlan> plan, Callback<MultiKeyReply> cb) {
  auto g =
      make_gather(plan->parts.size(), [plan, cb = std::move(cb)](std::vector<Result<Reply>>& r) {
        cb(detail::merge_parts(*plan, r));
      });
  const bool write = plan->kind != detail::MergeKind::values;
  for (std::size_t i = 0; i < plan->parts.size(); ++i) {
    auto done = std::remove_reference_t<decltype(*g)>::slot(g, i);
    if (!plan->parts[i].words.empty()) {  // key by key (a migration runs): as command() does
      const std::vector<std::string_view> w(plan->parts[i].words.begin(),
                                            plan->parts[i].words.end());
      core.submit_command(w, std::move(done));
      continue;
    }
    detail::Node* node;
    try {
      node = &core.node_for_shard(table, plan->parts[i].shard, write, detail::Clock::time_point{});
    } catch (const Error& e) {
      core.submit_error(e.value(), e.what(), std::move(done));
      continue;
    }
    core.submit(*node, plan->parts[i].payload, 1, std::move(done));
  }
}

}  // namespace

void AsyncClient::command(Args args, Callback<Reply> cb) {
  core_->submit_command(args.span(), std::move(cb));
}

void AsyncClient::command(Args args, ReadFrom read_from, Callback<Reply> cb) {
  core_->submit_command(args.span(), std::move(cb), read_from);
}

namespace {

// A callback that fulfils a promise: the future face of the callback API.
Callback<Reply> to_promise(std::shared_ptr<std::promise<Reply>> promise) {
  return [promise = std::move(promise)](Result<Reply> r) {
    if (r.ok()) {
      promise->set_value(std::move(r).value());
    } else {
      promise->set_exception(std::make_exception_ptr(Error(r.error(), r.message())));
    }
  };
}

}  // namespace

std::future<Reply> AsyncClient::command(Args args) {
  auto promise = std::make_shared<std::promise<Reply>>();
  std::future<Reply> f = promise->get_future();
  command(args, to_promise(std::move(promise)));
  return f;
}

void AsyncClient::command_routed(std::string_view routing_key, Args args, Callback<Reply> cb) {
  core_->submit_command(args.span(), std::move(cb), std::nullopt, routing_key);
}

std::future<Reply> AsyncClient::command_routed(std::string_view routing_key, Args args) {
  auto promise = std::make_shared<std::promise<Reply>>();
  std::future<Reply> f = promise->get_future();
  command_routed(routing_key, args, to_promise(std::move(promise)));
  return f;
}

// get and set hand their converting lambda to the core as it is: the core's handler holds it
// inline, where wrapping it in a Callback<Reply> (a std::function) would allocate.
void AsyncClient::get(std::string_view key, Callback<std::optional<std::string>> cb) {
  const std::string_view words[] = {"GET", key};
  core_->submit_command(words, [cb = std::move(cb)](Result<Reply>&& r) {
    if (!r.ok()) return cb(Result<std::optional<std::string>>(r.error(), r.message()));
    Reply& reply = r.value();
    if (reply.is_string() || reply.is_status() || reply.is_nil()) {
      // The usual case, which cannot throw: the text moves straight into the caller's result.
      return cb(Result<std::optional<std::string>>(detail::take_optional_string(std::move(reply))));
    }
    // Convert first, call once: a callback that throws must not be called a second time
    // with its own exception as the result.
    std::optional<Result<std::optional<std::string>>> out;
    try {
      out.emplace(detail::take_optional_string(std::move(r).value()));
    } catch (const Error& e) {
      out.emplace(e.value(), e.what());
    }
    cb(std::move(*out));
  });
}

void AsyncClient::set(std::string_view key, std::string_view value, Callback<bool> cb,
                      const SetOptions& options) {
  std::string ms;
  const auto w = detail::set_words(key, value, options, ms);
  core_->submit_command(w, [cb = std::move(cb)](Result<Reply> r) {
    if (!r.ok()) return cb(Result<bool>(r.error(), r.message()));
    cb(Result<bool>(!r.value().is_nil()));
  });
}

void AsyncClient::multi_key(std::string_view name, const std::vector<std::string>& keys,
                            Callback<MultiKeyReply> cb) {
  std::shared_ptr<detail::SplitPlan> plan;
  const auto table = core_->router().table();
  try {
    if (keys.empty()) throw Error(errc::config, std::string(name) + ": no keys");
    const std::string upper_name = [&] {
      std::string u(name);
      for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    plan = std::make_shared<detail::SplitPlan>(detail::split_keys(
        name, keys, *table->placement,
        core_->one_by_one(*table, keys, upper_name == "DEL" || upper_name == "UNLINK")));
  } catch (const Error& e) {
    core_->submit_error(e.value(), e.what(), [cb = std::move(cb)](Result<Reply> r) {
      cb(Result<MultiKeyReply>(r.error(), r.message()));
    });
    return;
  }
  run_plan(*core_, *table, std::move(plan), std::move(cb));
}

void AsyncClient::mset(const std::vector<std::pair<std::string, std::string>>& pairs,
                       Callback<MultiKeyReply> cb) {
  if (pairs.empty()) {
    core_->submit_error(errc::config, "MSET: no keys", [cb = std::move(cb)](Result<Reply> r) {
      cb(Result<MultiKeyReply>(r.error(), r.message()));
    });
    return;
  }
  const auto table = core_->router().table();
  run_plan(*core_, *table,
           std::make_shared<detail::SplitPlan>(
               detail::split_pairs(pairs, *table->placement, core_->one_by_one(*table, pairs))),
           std::move(cb));
}

void AsyncClient::pipeline(const std::vector<std::vector<std::string>>& commands,
                           Callback<std::vector<Result<Reply>>> cb) {
  if (commands.empty()) {
    core_->submit_error(errc::config, "empty pipeline", [cb = std::move(cb)](Result<Reply>) {
      cb(Result<std::vector<Result<Reply>>>(std::vector<Result<Reply>>{}));
    });
    return;
  }
  auto g = make_gather(commands.size(), [cb = std::move(cb)](std::vector<Result<Reply>>& r) {
    cb(Result<std::vector<Result<Reply>>>(std::move(r)));
  });
  // Each command is its own request; those submitted together leave in one write per node.
  for (std::size_t i = 0; i < commands.size(); ++i) {
    command(Args(commands[i]), std::remove_reference_t<decltype(*g)>::slot(g, i));
  }
}

void AsyncClient::transaction(const std::vector<std::vector<std::string>>& commands,
                              Callback<Reply> cb) {
  std::optional<std::size_t> shard;
  std::string payload;
  std::optional<detail::ClientCore::BatchRecord> record;
  try {
    if (commands.empty()) throw Error(errc::config, "empty transaction");
    for (const auto& c : commands) {
      std::vector<std::string_view> w(c.begin(), c.end());
      std::optional<std::size_t> s = core_->shard_of(w);
      if (s && shard && *s != *shard) {
        throw Error(errc::cross_shard, "transaction: keys span shards " +
                                           core_->router().shard(*shard).name + " and " +
                                           core_->router().shard(*s).name);
      }
      if (s) shard = s;
    }
    // Online resharding: checked against the stored record first, and the moving keys it
    // writes go to the dirty set by a SADD inside the transaction (errc::migrating in the
    // cutover or when the check refuses: the async face does not wait).
    record = core_->batch_record(commands);
  } catch (const Error& e) {
    core_->submit_error(e.value(), e.what(), std::move(cb));
    return;
  }
  // MULTI ... EXEC leave as one contiguous batch on the shared connection, so no other
  // caller's command can land inside the transaction.
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  std::uint32_t replies = record ? record->append_check(payload) : 0;
  append_command(payload, multi);
  for (const auto& c : commands) append_command(payload, std::span<const std::string>(c));
  if (record) {
    replies += record->append_sadd(payload);
    cb = [core = core_.get(), sadd = record->sadd(), cb = std::move(cb)](Result<Reply> r) mutable {
      if (r.ok()) {
        detail::strip_record(r.value(), sadd);
        if (r.value().is_nil()) {
          // Nothing of the caller's is WATCHed here: the check refused, nothing ran.
          core->want_record();
          r = Result<Reply>(errc::migrating, std::string(detail::kRecordChangedMessage));
        } else if (r.value().is_error()) {
          r = Result<Reply>(errc::server_error, r.value().str());
        }
      }
      cb(std::move(r));
    };
  }
  append_command(payload, exec);
  replies += static_cast<std::uint32_t>(commands.size() + 2);
  detail::Node* node;
  try {
    node = &core_->node_for_shard(shard.value_or(0), true, false);
  } catch (const Error& e) {
    core_->submit_error(e.value(), e.what(), std::move(cb));
    return;
  }
  core_->submit(*node, std::move(payload), replies, std::move(cb));
}

}  // namespace flyshard
