#include "flyshard/topology.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "flyshard/error.hpp"
#include "node_address_text.hpp"

namespace flyshard {
namespace {

using nlohmann::json;

constexpr const char* kAddressForms =
    "expected \"host:port\" or a redis://, rediss:// or unix:// URI";

constexpr std::string_view kAlgorithms[] = {"ketama", "maglev", "jump", "rendezvous"};
// Not constexpr: clang 14 with libstdc++ 12 cannot evaluate DistributionOptions{} (it holds
// a std::string) in a constant expression.
const std::uint32_t kDefaultKetamaPoints = DistributionOptions{}.ketama_points;

std::string json_quoted(std::string_view s) {
  return json(std::string(s)).dump();
}

// ---- paths and messages ---------------------------------------------------------------------

std::string child(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string child(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string shown(const std::string& path) {
  return path.empty() ? "(root)" : path;
}

// How a JSON value looks in "expected X, got Y" messages.
std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return v.empty() ? "{}" : "an object";
    case json::value_t::array:
      return v.empty() ? "[]" : "an array";
    default: {
      std::string s = v.dump();
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      return s;
    }
  }
}

// The type of a JSON value without its content, for values that must not be echoed.
const char* kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::null: return "null";
    default: return "a number";
  }
}

// Deepest nesting a topology accepts. The deepest real path is four levels
// (shards[0].replicas[0]); the cap keeps hostile input from costing memory: each level holds
// its JSON path, so unbounded depth d would hold O(d^2) bytes of paths.
constexpr std::size_t kMaxJsonDepth = 32;

// Throws errc::config; `prefix` is "" or "file.json: ".
[[noreturn]] void fail(const std::string& prefix, const std::string& path,
                       const std::string& what) {
  throw Error(errc::config, prefix + shown(path) + ": " + what);
}

// Tracks the JSON path during parsing so that duplicate keys, which nlohmann_json silently
// resolves to the last one, are reported: a key given twice is as likely a typo as an
// unknown one.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string prefix) : prefix_(std::move(prefix)) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames_.size() >= kMaxJsonDepth) {
          fail(prefix_, child_path(),
               "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        frames_.push_back(
            {child_path(), event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) fail(prefix_, child(f.path, f.key), "duplicate key");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    std::string path;
    bool is_array;
    std::size_t index;  // arrays: the element being read
    std::string key;    // objects: the key being read
    std::set<std::string> keys;
  };

  std::string child_path() const {
    if (frames_.empty()) return {};
    const Frame& f = frames_.back();
    return f.is_array ? child(f.path, f.index) : child(f.path, f.key);
  }
  void element_done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  std::string prefix_;
  std::vector<Frame> frames_;
};

// ---- the parser -----------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string prefix) : prefix_(std::move(prefix)) {}

  Topology parse(std::string_view text) {
    json root;
    try {
      root = json::parse(text.begin(), text.end(), DuplicateKeyCheck(prefix_));
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep its line and column.
      if (auto tag = what.find("] "); !what.empty() && what[0] == '[' && tag != std::string::npos)
        what.erase(0, tag + 2);
      fail("", "invalid JSON at byte " + std::to_string(e.byte) + ": " + what);
    } catch (const json::exception& e) {
      // Other parse failures, e.g. out_of_range for a number past a double (1e400): found by
      // fuzz/topology_fuzz, they escaped as nlohmann exceptions.
      std::string what = e.what();
      if (auto tag = what.find("] "); !what.empty() && what[0] == '[' && tag != std::string::npos)
        what.erase(0, tag + 2);
      if (what.size() > 120) what = what.substr(0, 117) + "...";
      fail("", "invalid JSON: " + what);
    }

    Topology t;
    const std::string root_path;
    if (!root.is_object()) fail(root_path, "expected an object, got " + describe(root));
    check_keys(root, root_path,
               {"distribution", "compat", "ketama_points", "maglev_table_size", "shards",
                "sentinel", "auth", "database", "failure_policy", "tls"});

    if (auto it = root.find("distribution"); it != root.end())
      t.distribution = string_at(*it, "distribution");
    if (auto it = root.find("compat"); it != root.end())
      t.distribution_options.compat = string_at(*it, "compat");
    if (auto it = root.find("ketama_points"); it != root.end())
      t.distribution_options.ketama_points = static_cast<std::uint32_t>(
          integer_at(*it, "ketama_points", 1, std::numeric_limits<std::uint32_t>::max()));
    if (auto it = root.find("maglev_table_size"); it != root.end())
      t.distribution_options.maglev_table_size =
          integer_at(*it, "maglev_table_size", 0, std::numeric_limits<std::uint64_t>::max());
    if (auto it = root.find("database"); it != root.end())
      t.database = static_cast<int>(integer_at(
          *it, "database", 0, static_cast<std::uint64_t>(std::numeric_limits<int>::max())));

    if (auto it = root.find("failure_policy"); it != root.end()) {
      const std::string p = string_at(*it, "failure_policy");
      if (p == "store") {
        t.failure_policy = FailurePolicy::store;
      } else if (p == "cache") {
        t.failure_policy = FailurePolicy::cache;
      } else {
        fail("failure_policy", "unknown \"" + p + "\" (expected store, cache)");
      }
    }

    auto shards = root.find("shards");
    if (shards == root.end()) fail("shards", "expected a non-empty array");
    if (!shards->is_array() || shards->empty())
      fail("shards", "expected a non-empty array, got " + describe(*shards));
    for (std::size_t i = 0; i < shards->size(); ++i)
      t.shards.push_back(parse_shard((*shards)[i], child("shards", i)));

    if (auto it = root.find("sentinel"); it != root.end()) t.sentinel = parse_sentinel(*it);
    if (auto it = root.find("auth"); it != root.end()) t.auth = parse_auth(*it);
    if (auto it = root.find("tls"); it != root.end()) t.tls = parse_tls(*it, "tls");
    return t;
  }

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    flyshard::fail(prefix_, path, what);
  }

 private:
  void check_keys(const json& obj, const std::string& path,
                  std::initializer_list<std::string_view> known) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool ok = false;
      for (auto k : known) ok = ok || k == it.key();
      if (ok) continue;
      std::string list;
      for (auto k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      fail(child(path, it.key()), "unknown key (expected one of " + list + ")");
    }
  }

  std::string string_at(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a string, got " + describe(v));
    return v.get<std::string>();
  }

  std::uint64_t integer_at(const json& v, const std::string& path, std::uint64_t min,
                           std::uint64_t max) const {
    const char* what = min > 0 ? "expected a positive integer" : "expected a non-negative integer";
    if (!v.is_number_unsigned()) fail(path, std::string(what) + ", got " + describe(v));
    const auto n = v.get<std::uint64_t>();
    if (n < min) fail(path, std::string(what) + ", got " + describe(v));
    if (n > max)
      fail(path, std::string(what) + " up to " + std::to_string(max) + ", got " + describe(v));
    return n;
  }

  NodeAddress address_at(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, std::string(kAddressForms) + ", got " + kind_or_value(v));
    NodeAddress a;
    const auto& text = v.get_ref<const std::string&>();
    if (auto why = detail::parse_node_address(text, a); !why.empty()) {
      // A URI may hold a password: it is shown redacted, never as written.
      if (text.find("://") != std::string::npos)
        fail(path, "invalid URI " + json_quoted(detail::redact_address(text)) + " (" + why + ")");
      fail(path, "expected \"host:port\", got " + kind_or_value(v) + " (" + why + ")");
    }
    return a;
  }

  // describe(), except that text with an '@' (credentials) is redacted.
  static std::string kind_or_value(const json& v) {
    if (v.is_string() && v.get_ref<const std::string&>().find('@') != std::string::npos)
      return json_quoted(detail::redact_address(v.get_ref<const std::string&>()));
    return describe(v);
  }

  std::vector<NodeAddress> addresses_at(const json& v, const std::string& path,
                                        bool non_empty) const {
    if (!v.is_array() || (non_empty && v.empty()))
      fail(path, std::string(non_empty ? "expected a non-empty array" : "expected an array") +
                     " of \"host:port\", got " + kind_or_value(v));
    std::vector<NodeAddress> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(address_at(v[i], child(path, i)));
    return out;
  }

  ShardSpec parse_shard(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object, got " + describe(v));
    check_keys(v, path, {"name", "weight", "primary", "replicas"});
    ShardSpec s;
    auto name = v.find("name");
    if (name == v.end()) fail(child(path, "name"), "missing; expected a non-empty string");
    if (!name->is_string() || name->get_ref<const std::string&>().empty())
      fail(child(path, "name"), "expected a non-empty string, got " + describe(*name));
    s.name = name->get<std::string>();
    if (auto it = v.find("weight"); it != v.end())
      s.weight = static_cast<std::uint32_t>(
          integer_at(*it, child(path, "weight"), 1, std::numeric_limits<std::uint32_t>::max()));
    auto primary = v.find("primary");
    if (primary == v.end()) fail(child(path, "primary"), "missing; expected \"host:port\"");
    s.primary = address_at(*primary, child(path, "primary"));
    if (auto it = v.find("replicas"); it != v.end())
      s.replicas = addresses_at(*it, child(path, "replicas"), false);
    return s;
  }

  SentinelSpec parse_sentinel(const json& v) const {
    const std::string path = "sentinel";
    if (!v.is_object()) fail(path, "expected an object, got " + describe(v));
    check_keys(v, path, {"addresses", "master_prefix", "auth", "tls"});
    SentinelSpec s;
    auto addresses = v.find("addresses");
    if (addresses == v.end())
      fail(child(path, "addresses"), "missing; expected a non-empty array of \"host:port\"");
    s.addresses = addresses_at(*addresses, child(path, "addresses"), true);
    if (auto it = v.find("master_prefix"); it != v.end())
      s.master_prefix = string_at(*it, child(path, "master_prefix"));
    if (auto it = v.find("auth"); it != v.end()) s.auth = parse_auth(*it, child(path, "auth"));
    if (auto it = v.find("tls"); it != v.end()) s.tls = parse_tls(*it, child(path, "tls"));
    return s;
  }

  AuthSpec parse_auth(const json& v, const std::string& path = "auth") const {
    if (!v.is_object()) fail(path, "expected an object, got " + describe(v));
    check_keys(v, path, {"username", "password", "password_env"});
    AuthSpec a;
    if (auto it = v.find("username"); it != v.end())
      a.username = string_at(*it, child(path, "username"));
    auto password = v.find("password");
    auto env = v.find("password_env");
    if (password != v.end() && env != v.end())
      fail(child(path, "password_env"), "give either password or password_env, not both");
    if (password != v.end()) {
      // Never echo the value: a password given as a number is still a password.
      if (!password->is_string())
        fail(child(path, "password"), std::string("expected a string, got ") + kind_of(*password));
      a.password = password->get<std::string>();
    }
    if (env != v.end()) {
      const std::string env_path = child(path, "password_env");
      const std::string name = string_at(*env, env_path);
      if (name.empty()) fail(env_path, "expected the name of an environment variable, got \"\"");
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) fail(env_path, "environment variable " + name + " is not set");
      a.password = value;
    }
    if (!a.username.empty() && password == v.end() && env == v.end())
      fail(path, "username " + json_quoted(a.username) + " given without password or password_env");
    return a;
  }

  bool bool_at(const json& v, const std::string& path) const {
    if (!v.is_boolean()) fail(path, "expected true or false, got " + describe(v));
    return v.get<bool>();
  }

  // A PEM file the client will read when it starts: checked now, so that a typo is reported
  // with its JSON path when the config loads, not as an OpenSSL error later.
  std::string readable_file_at(const json& v, const std::string& path) const {
    std::string file = string_at(v, path);
    if (file.empty()) fail(path, "expected a file name, got \"\"");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(path, "cannot read " + file + ": " + std::strerror(errno));
    return file;
  }

  TlsOptions parse_tls(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object, got " + describe(v));
    check_keys(v, path, {"enabled", "ca_file", "cert_file", "key_file", "server_name", "verify"});
    TlsOptions o;
    if (auto it = v.find("enabled"); it != v.end())
      o.enabled = bool_at(*it, child(path, "enabled"));
    if (auto it = v.find("verify"); it != v.end()) o.verify = bool_at(*it, child(path, "verify"));
    if (auto it = v.find("server_name"); it != v.end())
      o.server_name = string_at(*it, child(path, "server_name"));
    if (!o.enabled) return o;  // the file names of a disabled section are not read
    if (auto it = v.find("ca_file"); it != v.end())
      o.ca_file = readable_file_at(*it, child(path, "ca_file"));
    if (auto it = v.find("cert_file"); it != v.end())
      o.cert_file = readable_file_at(*it, child(path, "cert_file"));
    if (auto it = v.find("key_file"); it != v.end())
      o.key_file = readable_file_at(*it, child(path, "key_file"));
    return o;
  }

  std::string prefix_;
};

// The semantic checks shared by from_json and validate(); paths are those of the JSON form.
void check(const Topology& t, const std::string& prefix) {
  auto fail = [&](const std::string& path, const std::string& what) {
    flyshard::fail(prefix, path, what);
  };

  bool known = false;
  for (auto a : kAlgorithms) known = known || a == t.distribution;
  if (!known)
    fail("distribution",
         "unknown " + json_quoted(t.distribution) + " (expected ketama, maglev, jump, rendezvous)");
  const auto& opts = t.distribution_options;
  if (!opts.compat.empty()) {
    if (opts.compat != "twemproxy")
      fail("compat",
           "unknown " + json_quoted(opts.compat) + " (expected \"twemproxy\" or no compat)");
    if (t.distribution != "ketama")
      fail("compat", json_quoted(opts.compat) + " applies only to the ketama distribution, not " +
                         t.distribution);
  }
  if (opts.ketama_points == 0) fail("ketama_points", "expected a positive integer, got 0");
  if (t.database < 0)
    fail("database", "expected a non-negative integer, got " + std::to_string(t.database));

  if (t.shards.empty()) fail("shards", "expected a non-empty array");

  std::map<std::string, std::size_t> names;
  // Keyed by the server (host and port, or socket path): the same server named twice with
  // other credentials or another database is still one node in two roles.
  using Endpoint = std::tuple<std::string, std::uint16_t, std::string>;
  std::map<Endpoint, std::string> seen;  // server -> path of its first use
  auto check_address = [&](const NodeAddress& a, const std::string& path) {
    if (auto why = detail::address_problem(a); !why.empty())
      fail(path, "invalid address " + json_quoted(a.to_string()) + " (" + why + ")");
    auto [it, inserted] = seen.emplace(Endpoint{a.host, a.port, a.path}, path);
    if (!inserted) fail(path, "duplicate address " + a.to_string() + " (also " + it->second + ")");
  };

  for (std::size_t i = 0; i < t.shards.size(); ++i) {
    const ShardSpec& s = t.shards[i];
    const std::string path = child("shards", i);
    if (s.name.empty()) fail(child(path, "name"), "expected a non-empty string");
    auto [it, inserted] = names.emplace(s.name, i);
    if (!inserted)
      fail(child(path, "name"), "duplicate shard name " + json_quoted(s.name) + " (also " +
                                    child("shards", it->second) + ")");
    if (s.weight == 0) fail(child(path, "weight"), "expected a positive integer, got 0");
    check_address(s.primary, child(path, "primary"));
    for (std::size_t r = 0; r < s.replicas.size(); ++r)
      check_address(s.replicas[r], child(child(path, "replicas"), r));
  }

  auto check_tls = [&](const std::optional<TlsOptions>& tls, const std::string& path) {
    if (!tls || !tls->enabled) return;
    if (!tls->cert_file.empty() && tls->key_file.empty())
      fail(child(path, "key_file"), "missing; a client certificate (cert_file) needs its key");
    if (tls->cert_file.empty() && !tls->key_file.empty())
      fail(child(path, "cert_file"), "missing; key_file is given without its certificate");
  };
  check_tls(t.tls, "tls");
  if (t.sentinel) check_tls(t.sentinel->tls, "sentinel.tls");

  if (t.sentinel) {
    const std::string path = "sentinel.addresses";
    if (t.sentinel->addresses.empty()) fail(path, "expected a non-empty array of \"host:port\"");
    for (std::size_t i = 0; i < t.sentinel->addresses.size(); ++i) {
      const NodeAddress& a = t.sentinel->addresses[i];
      check_address(a, child(path, i));
      if (a.db) fail(child(path, i), "a sentinel has no databases (drop the /db of its address)");
    }
  }
}

nlohmann::ordered_json tls_json(const TlsOptions& o) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!o.enabled) j["enabled"] = false;
  if (!o.ca_file.empty()) j["ca_file"] = o.ca_file;
  if (!o.cert_file.empty()) j["cert_file"] = o.cert_file;
  if (!o.key_file.empty()) j["key_file"] = o.key_file;
  if (!o.server_name.empty()) j["server_name"] = o.server_name;
  if (!o.verify) j["verify"] = false;
  return j;
}

// An address as to_json() writes it: like the auth section, its credentials are left out (a
// user name alone would not load back, and the password is never written).
std::string without_credentials(NodeAddress a) {
  a.username.clear();
  a.password.clear();
  return a.to_string();
}

Topology parse_topology(std::string_view text, const std::string& prefix) {
  Topology t = Parser(prefix).parse(text);
  check(t, prefix);
  return t;
}

}  // namespace

// ---- Topology ---------------------------------------------------------------------------------

Topology Topology::from_json(std::string_view text) {
  return parse_topology(text, "");
}

Topology Topology::from_json_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(errc::config, name + ": cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(errc::config, name + ": cannot open: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error(errc::config, name + ": cannot read file");
  return parse_topology(buf.str(), name + ": ");
}

std::string Topology::to_json() const {
  // ordered_json keeps the keys in the order people write them, so the output reads like a
  // hand-written config.
  nlohmann::ordered_json root;
  root["distribution"] = distribution;
  if (!distribution_options.compat.empty()) root["compat"] = distribution_options.compat;
  if (distribution_options.ketama_points != kDefaultKetamaPoints)
    root["ketama_points"] = distribution_options.ketama_points;
  if (distribution_options.maglev_table_size != 0)
    root["maglev_table_size"] = distribution_options.maglev_table_size;
  auto& shard_list = root["shards"] = nlohmann::ordered_json::array();
  for (const ShardSpec& s : shards) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["weight"] = s.weight;
    j["primary"] = without_credentials(s.primary);
    if (!s.replicas.empty()) {
      auto& reps = j["replicas"] = nlohmann::ordered_json::array();
      for (const NodeAddress& r : s.replicas) reps.push_back(without_credentials(r));
    }
    shard_list.push_back(std::move(j));
  }
  if (sentinel) {
    auto& sj = root["sentinel"];
    auto& addrs = sj["addresses"] = nlohmann::ordered_json::array();
    for (const NodeAddress& a : sentinel->addresses) addrs.push_back(without_credentials(a));
    sj["master_prefix"] = sentinel->master_prefix;
    if (sentinel->tls) sj["tls"] = tls_json(*sentinel->tls);
  }
  if (tls) root["tls"] = tls_json(*tls);
  // The password is never written; a username alone would not load back (auth needs a
  // password source), so auth is left out unless the caller adds password_env by hand.
  if (database != 0) root["database"] = database;
  if (failure_policy) root["failure_policy"] = *failure_policy == FailurePolicy::cache ? "cache" : "store";
  return root.dump(2);
}

void Topology::validate() const {
  check(*this, "");
}

Distribution Topology::make_distribution() const {
  validate();
  std::vector<ShardWeight> weights;
  weights.reserve(shards.size());
  for (const ShardSpec& s : shards) weights.push_back({s.name, s.weight});
  return Distribution::create(distribution, std::move(weights), distribution_options);
}

}  // namespace flyshard
