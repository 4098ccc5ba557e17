// Script: EVALSHA first; a node that answers NOSCRIPT (it never saw the script, restarted
// empty, or is a promoted replica that did not have it) gets EVAL once, which loads it there.
#include "flyshard/script.hpp"

#include <memory>
#include <string_view>

#include "script_words.hpp"
#include "sha1_hex.hpp"

namespace flyshard {

using detail::script_words;
using detail::sha1_hex;

namespace {

bool is_noscript(std::string_view message) {
  return message.starts_with("NOSCRIPT");
}

std::vector<std::string> owned(const std::vector<std::string_view>& w) {
  return {w.begin(), w.end()};
}

}  // namespace

Script::Script(std::string source) : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

Reply Script::run(Client& client, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args) const {
  try {
    return client.evalsha(sha1_, keys, args);
  } catch (const Error& e) {
    if (e.value() != errc::server_error || !is_noscript(e.what())) throw;
  }
  // Same keys, so the same shard: EVAL runs the script and leaves it loaded there.
  return client.eval(source_, keys, args);
}

void Script::run(AsyncClient& client, const std::vector<std::string>& keys,
                 const std::vector<std::string>& args, Callback<Reply> cb) const {
  std::string count;
  const auto sha_words = script_words("EVALSHA", sha1_, keys, args, count);
  // The EVAL words, owned: the fallback runs later, on the loop thread.
  auto eval_words = std::make_shared<std::vector<std::string>>(
      owned(script_words("EVAL", source_, keys, args, count)));
  AsyncClient* c = &client;
  client.command(sha_words, [c, eval_words, cb = std::move(cb)](Result<Reply> r) mutable {
    if (!r.ok() && r.error() == errc::server_error && is_noscript(r.message())) {
      c->command(Args(*eval_words), std::move(cb));
      return;
    }
    cb(std::move(r));
  });
}

AckedReplies Script::run_and_wait(Client& client, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args,
                                  const ReplicaAck& ack) const {
  std::string count;
  AckedReplies r =
      client.write_and_wait({owned(script_words("EVALSHA", sha1_, keys, args, count))}, ack);
  if (r.replies.empty() || !r.replies[0].is_error() || !is_noscript(r.replies[0].str())) return r;
  // Nothing ran; WAIT confirmed nothing new. EVAL + WAIT, again as one batch.
  return client.write_and_wait({owned(script_words("EVAL", source_, keys, args, count))}, ack);
}

}  // namespace flyshard
