// Client::scan, hscan, sscan, zscan: cursor commands as ranges. SCAN goes to the node the
// read policy picks for each shard (and stays on it for that shard); the per-key forms use
// the public command() on the key's primary.
#include <memory>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "flyshard/scan.hpp"
#include "io/resp.hpp"

namespace flyshard {
namespace {

// The words after the cursor: MATCH, COUNT and (SCAN only) TYPE.
void append_options(std::vector<std::string>& words, const ScanOptions& o, bool with_type) {
  if (!o.match.empty()) {
    words.emplace_back("MATCH");
    words.push_back(o.match);
  }
  if (o.count != 0) {
    words.emplace_back("COUNT");
    words.push_back(std::to_string(o.count));
  }
  if (with_type && !o.type.empty()) {
    words.emplace_back("TYPE");
    words.push_back(o.type);
  }
}

// Splits a cursor reply [cursor, [elements...]]; returns the new cursor.
std::string split_reply(const Reply& r, std::string_view command, const Reply*& elements) {
  r.throw_if_error();
  if (!r.is_array() || r.elements().size() != 2 || !r.elements()[1].is_array()) {
    throw Error(errc::protocol_error, std::string(command) +
                                          ": expected [cursor, [elements]], got " +
                                          r.to_string().substr(0, 200));
  }
  elements = &r.elements()[1];
  return r.elements()[0].as<std::string>();
}

// State of one per-key cursor (HSCAN/SSCAN/ZSCAN): the words, with the cursor at [2].
struct KeyCursor {
  std::vector<std::string> words;
  bool started = false;
};

template <typename T, typename Add>
ScanRange<T> key_scan(Client& client, std::string_view command, std::string_view key,
                      const ScanOptions& options, Add add) {
  auto state = std::make_shared<KeyCursor>();
  state->words = {std::string(command), std::string(key), "0"};
  append_options(state->words, options, false);
  return ScanRange<T>([&client, state, add](std::vector<T>& out) {
    // Always the primary: a cursor is only meaningful on the node that issued it, and a
    // read policy could send the next call to another replica.
    Reply r = client.command(Args(state->words), ReadFrom::primary);
    const Reply* elements = nullptr;
    state->words[2] = split_reply(r, state->words[0], elements);
    add(*elements, out);
    return state->words[2] != "0";
  });
}

}  // namespace

KeyRange Client::scan(const ScanOptions& options) {
  struct State {
    std::vector<std::string> words{"SCAN", "0"};
    std::size_t shard = 0;
    // The node this shard's cursor belongs to: picked by the read policy at cursor 0 and
    // kept until the shard is done, since another node (another replica, or the primary)
    // would not know the cursor. Nodes live as long as the client.
    detail::Node* node = nullptr;
  };
  auto state = std::make_shared<State>();
  append_options(state->words, options, true);
  const std::size_t shards = topology().shards.size();
  return KeyRange([this, state, shards](std::vector<std::string>& out) {
    if (state->node == nullptr) {
      // A read: the primary or a replica, as ClientOptions::read_from says.
      state->node = &core_->node_for_shard(state->shard, false, false);
    }
    std::string payload;
    detail::append_command(payload, std::span<const std::string>(state->words));
    Reply r = detail::value_or_throw(core_->execute(*state->node, payload, 1, true));
    const Reply* elements = nullptr;
    state->words[1] = split_reply(r, "SCAN", elements);
    for (const Reply& k : elements->elements()) out.push_back(k.as<std::string>());
    if (state->words[1] == "0") {  // this shard is done: the next one from cursor 0
      ++state->shard;
      state->node = nullptr;
    }
    return state->shard < shards;
  });
}

FieldRange Client::hscan(std::string_view key, const ScanOptions& options) {
  using Pair = std::pair<std::string, std::string>;
  return key_scan<Pair>(*this, "HSCAN", key, options, [](const Reply& e, std::vector<Pair>& out) {
    auto pairs = e.as<std::vector<Pair>>();
    out.insert(out.end(), std::make_move_iterator(pairs.begin()),
               std::make_move_iterator(pairs.end()));
  });
}

KeyRange Client::sscan(std::string_view key, const ScanOptions& options) {
  return key_scan<std::string>(*this, "SSCAN", key, options,
                               [](const Reply& e, std::vector<std::string>& out) {
                                 for (const Reply& m : e.elements())
                                   out.push_back(m.as<std::string>());
                               });
}

ScoredRange Client::zscan(std::string_view key, const ScanOptions& options) {
  using Pair = std::pair<std::string, double>;
  return key_scan<Pair>(*this, "ZSCAN", key, options, [](const Reply& e, std::vector<Pair>& out) {
    const auto& v = e.elements();
    if (v.size() % 2 != 0) {
      throw Error(errc::protocol_error, "ZSCAN: odd number of member-score elements");
    }
    for (std::size_t i = 0; i < v.size(); i += 2) {
      out.emplace_back(v[i].as<std::string>(), v[i + 1].as<double>());
    }
  });
}

}  // namespace flyshard
