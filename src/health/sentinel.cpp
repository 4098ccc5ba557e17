#include "health/sentinel.hpp"

#include <charconv>
#include <sstream>

#include "io/blocking_connection.hpp"
#include "io/handshake.hpp"
#include "io/resp.hpp"
#include "log.hpp"

namespace flyshard::detail {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::optional<NodeAddress> parse_master_addr(const Reply& reply) {
  if (!reply.is_array() || reply.elements().size() != 2) return std::nullopt;
  auto port = parse_port(reply.elements()[1].str());
  if (!port || reply.elements()[0].str().empty()) return std::nullopt;
  return NodeAddress{reply.elements()[0].str(), *port};
}

std::optional<SentinelMaster> parse_sentinel_master(const Reply& reply) {
  if (!reply.is_array()) return std::nullopt;
  const auto& f = reply.elements();
  std::string ip;
  std::optional<std::uint16_t> port;
  std::optional<std::uint64_t> epoch;
  bool in_progress = false;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    if (!f[i].is_string() || !f[i + 1].is_string()) continue;
    const std::string& key = f[i].str();
    const std::string& value = f[i + 1].str();
    if (key == "ip") ip = value;
    if (key == "flags") in_progress = value.find("failover_in_progress") != std::string::npos;
    if (key == "port") port = parse_port(value);
    if (key == "config-epoch") {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc{} && p == value.data() + value.size()) epoch = v;
    }
  }
  if (ip.empty() || !port || !epoch) return std::nullopt;
  return SentinelMaster{NodeAddress{ip, *port}, *epoch, in_progress};
}

std::vector<NodeAddress> parse_sentinel_replicas(const Reply& reply, bool include_down) {
  std::vector<NodeAddress> out;
  if (!reply.is_array()) return out;
  for (const Reply& entry : reply.elements()) {
    if (!entry.is_array()) continue;
    std::string ip, flags;
    std::optional<std::uint16_t> port;
    const auto& f = entry.elements();
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str() == "ip") ip = f[i + 1].str();
      if (f[i].str() == "port") port = parse_port(f[i + 1].str());
      if (f[i].str() == "flags") flags = f[i + 1].str();
    }
    if (ip.empty() || !port) continue;
    if (!include_down && (flags.find("s_down") != std::string::npos || flags.find("o_down") != std::string::npos ||
        flags.find("disconnected") != std::string::npos)) {
      continue;
    }
    out.push_back(NodeAddress{ip, *port});
  }
  return out;
}

std::optional<SentinelEvent> parse_sentinel_event(std::string_view channel,
                                                  std::string_view message) {
  const auto w = words_of(message);
  SentinelEvent e;
  if (channel == "+switch-master") {
    // <master name> <old ip> <old port> <new ip> <new port>
    if (w.size() != 5) return std::nullopt;
    auto port = parse_port(w[4]);
    if (!port) return std::nullopt;
    e.kind = SentinelEvent::Kind::switch_master;
    e.master_name = std::string(w[0]);
    e.address = NodeAddress{std::string(w[3]), *port};
    return e;
  }
  // <type> <name> <ip> <port> @ <master name> <master ip> <master port>  (a replica or sentinel)
  // master <name> <ip> <port>                                            (a master)
  if (w.size() < 4) return std::nullopt;
  auto port = parse_port(w[3]);
  if (!port) return std::nullopt;
  e.address = NodeAddress{std::string(w[2]), *port};
  e.is_master = w[0] == "master";
  if (e.is_master) {
    e.master_name = std::string(w[1]);
  } else if (w.size() >= 6 && w[4] == "@") {
    e.master_name = std::string(w[5]);
  } else {
    return std::nullopt;
  }
  if (w[0] == "sentinel") return std::nullopt;
  if (channel == "+slave" || channel == "+convert-to-slave") {
    e.kind = SentinelEvent::Kind::replica_added;
  } else if (channel == "+sdown") {
    e.kind = SentinelEvent::Kind::down;
  } else if (channel == "-sdown") {
    e.kind = SentinelEvent::Kind::up;
  } else {
    return std::nullopt;
  }
  return e;
}

std::vector<SentinelView> ask_sentinels(const std::vector<NodeAddress>& sentinels,
                                        const std::vector<std::string>& master_names,
                                        std::chrono::milliseconds timeout, const Logger& log,
                                        const AuthSpec& auth, std::string_view client_name,
                                        const std::shared_ptr<const TlsContext>& tls) {
  std::vector<SentinelView> views(master_names.size());
  // Every sentinel is asked: the first to answer may be one that missed the last failover.
  // The config epoch orders the answers (it only grows, and only a sentinel elected by a
  // majority for that epoch can set it), so the highest one is the newest view there is.
  for (const NodeAddress& s : sentinels) {
    std::string handshake;
    const std::uint32_t handshake_replies = append_handshake(handshake, s, auth, client_name, 0);
    auto conn = BlockingConnection::open(s, timeout, handshake, handshake_replies,
                                         "sentinel " + s.to_string(), {}, tls_peer(tls, s));
    if (!conn.ok()) {
      log.log(LogLevel::warning, conn.message());
      continue;
    }
    // Both questions for every master in one round trip.
    std::string payload;
    for (const auto& name : master_names) {
      std::vector<std::string_view> a{"SENTINEL", "MASTER", name};
      std::vector<std::string_view> b{"SENTINEL", "replicas", name};
      append_command(payload, a);
      append_command(payload, b);
    }
    std::vector<Reply> replies;
    std::string message;
    errc e = conn.value()->exchange(payload, static_cast<std::uint32_t>(2 * master_names.size()),
                                    replies, Clock::now() + timeout, message);
    if (e != errc{}) {
      log.log(LogLevel::warning, message);
      continue;
    }
    for (std::size_t i = 0; i < master_names.size(); ++i) {
      auto master = parse_sentinel_master(replies[2 * i]);
      if (!master) {
        log.log(LogLevel::warning,
                "sentinel " + s.to_string() + " does not know " + master_names[i]);
        continue;
      }
      if (master->failover_in_progress) continue;
      SentinelView& v = views[i];
      if (v.primary && master->config_epoch <= v.config_epoch) continue;
      v.primary = master->address;
      v.config_epoch = master->config_epoch;
      v.replicas = parse_sentinel_replicas(replies[2 * i + 1]);
    }
  }
  return views;
}

}  // namespace flyshard::detail
