#include "reshard/topology_record.hpp"

#include <charconv>
#include <unordered_map>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

constexpr std::pair<MigrationState, std::string_view> kStates[] = {
    {MigrationState::stable, "stable"},   {MigrationState::preparing, "preparing"},
    {MigrationState::copying, "copying"}, {MigrationState::catchup, "catchup"},
    {MigrationState::cutover, "cutover"}, {MigrationState::cleanup, "cleanup"},
};

[[noreturn]] void bad(std::string_view field, const std::string& why) {
  throw Error(errc::config, std::string(kRecordKey) + "." + std::string(field) + ": " + why);
}

template <typename T>
T number(std::string_view field, const std::string& text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) bad(field, "expected a number");
  return v;
}

// The record carries no credentials: the caller's own config supplies them.
Topology parse_layout(std::string_view field, const std::string& json, const Topology& local) {
  Topology t;
  try {
    t = Topology::from_json(json);
  } catch (const Error& e) {
    bad(field, e.what());
  }
  t.auth = local.auth;
  if (t.sentinel && local.sentinel) t.sentinel->auth = local.sentinel->auth;
  return t;
}

}  // namespace

std::string_view to_string(MigrationState s) noexcept {
  for (const auto& [state, name] : kStates)
    if (state == s) return name;
  return "unknown";
}

std::optional<MigrationState> migration_state_from(std::string_view s) noexcept {
  for (const auto& [state, name] : kStates)
    if (name == s) return state;
  return std::nullopt;
}

std::string_view to_string(Fencing f) noexcept {
  return f == Fencing::strict ? "strict" : "lease";
}

std::optional<Fencing> fencing_from(std::string_view s) noexcept {
  if (s == "lease") return Fencing::lease;
  if (s == "strict") return Fencing::strict;
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> TopologyRecord::to_fields() const {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("epoch", std::to_string(epoch));
  f.emplace_back("layout", layout.to_json());
  f.emplace_back("state", std::string(to_string(state)));
  f.emplace_back("target", target ? target->to_json() : "");
  f.emplace_back("previous", previous ? previous->to_json() : "");
  f.emplace_back("migration", migration_id);
  f.emplace_back("fencing", std::string(to_string(fencing)));
  f.emplace_back("lease_ms", std::to_string(lease_ms));
  return f;
}

TopologyRecord TopologyRecord::from_fields(
    const std::vector<std::pair<std::string, std::string>>& fields, const Topology& local) {
  std::unordered_map<std::string_view, const std::string*> by_name;
  for (const auto& [k, v] : fields) by_name[k] = &v;
  auto get = [&](std::string_view k) -> const std::string* {
    auto it = by_name.find(k);
    return it == by_name.end() ? nullptr : it->second;
  };
  TopologyRecord r;
  const std::string* epoch = get("epoch");
  if (!epoch) bad("epoch", "missing");
  r.epoch = number<std::uint64_t>("epoch", *epoch);
  const std::string* lay = get("layout");
  if (!lay || lay->empty()) bad("layout", "missing");
  r.layout = parse_layout("layout", *lay, local);
  if (const std::string* s = get("state"); s && !s->empty()) {
    auto st = migration_state_from(*s);
    if (!st) bad("state", "unknown state \"" + *s + "\"");
    r.state = *st;
  }
  if (const std::string* t = get("target"); t && !t->empty())
    r.target = parse_layout("target", *t, local);
  if (const std::string* p = get("previous"); p && !p->empty())
    r.previous = parse_layout("previous", *p, local);
  if (const std::string* m = get("migration")) r.migration_id = *m;
  if (const std::string* fe = get("fencing"); fe && !fe->empty()) {
    auto f = fencing_from(*fe);
    if (!f) bad("fencing", "expected \"lease\" or \"strict\"");
    r.fencing = *f;
  }
  if (const std::string* l = get("lease_ms"); l && !l->empty())
    r.lease_ms = number<std::uint32_t>("lease_ms", *l);
  const bool migrating = r.state != MigrationState::stable && r.state != MigrationState::cleanup;
  if (migrating && !r.target) bad("target", "missing while " + std::string(to_string(r.state)));
  if (r.state == MigrationState::cleanup && !r.previous) bad("previous", "missing in cleanup");
  if (r.state != MigrationState::stable && r.migration_id.empty())
    bad("migration", "missing while " + std::string(to_string(r.state)));
  return r;
}

}  // namespace flyshard::detail
