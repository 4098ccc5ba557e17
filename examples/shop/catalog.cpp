#include "catalog.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "keys.hpp"

namespace shop {

namespace {

constexpr const char* kFields[] = {"name",  "category",      "price_cents",
                                   "stock", "initial_stock", "description"};

long long to_ll(const flyshard::Reply& r) {
  if (r.is_integer()) return r.integer();
  if (r.is_string()) return parse_int(r.str()).value_or(0);
  return 0;
}

// HMGET's six fields -> Product; nullopt when the hash does not exist (all nil).
std::optional<Product> from_hmget(long long id, const flyshard::Reply& r) {
  const auto& e = r.elements();
  if (!r.is_array() || e.size() != 6 || e[0].is_nil()) return std::nullopt;
  Product p;
  p.id = id;
  p.name = e[0].str();
  p.category = e[1].str();
  p.price_cents = to_ll(e[2]);
  p.stock = to_ll(e[3]);
  p.initial_stock = to_ll(e[4]);
  p.description = e[5].str();
  return p;
}

std::vector<std::string> hmget_words(long long id) {
  std::vector<std::string> words{"HMGET", keys::product(id)};
  for (const char* f : kFields) words.emplace_back(f);
  return words;
}

bool contains_ci(const std::string& haystack_lower, const std::string& needle_lower) {
  return haystack_lower.find(needle_lower) != std::string::npos;
}

}  // namespace

Json product_json(const Product& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"category", p.category},
          {"price_cents", p.price_cents},
          {"stock", p.stock},
          {"description", p.description}};
}

std::vector<long long> stored_product_ids(flyshard::Client& client) {
  std::vector<long long> ids;
  for (const auto& s : client.smembers(keys::kCatalogIds))
    if (auto id = parse_int(s)) ids.push_back(*id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<Product> read_products(flyshard::Client& client, const std::vector<long long>& ids) {
  std::vector<Product> out;
  if (ids.empty()) return out;
  auto pipe = client.pipeline();
  for (long long id : ids) pipe.command(hmget_words(id));
  auto replies = pipe.execute();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& r = replies[i].value();  // throws the shard's error
    if (auto p = from_hmget(ids[i], r)) out.push_back(std::move(*p));
  }
  return out;
}

void Catalog::refresh() {
  auto products = read_products(client_, stored_product_ids(client_));
  auto snap = std::make_shared<Snapshot>();
  for (auto& p : products) snap->emplace(p.id, std::move(p));
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snap);
}

std::shared_ptr<const Catalog::Snapshot> Catalog::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void Catalog::remember(const Product& p) {
  std::lock_guard lock(mutex_);
  auto snap = std::make_shared<Snapshot>(*snapshot_);
  (*snap)[p.id] = p;
  snapshot_ = std::move(snap);
}

std::optional<Product> Catalog::find(long long id) {
  auto snap = snapshot();
  if (auto it = snap->find(id); it != snap->end()) return it->second;
  auto p = product(id);
  if (p) remember(*p);
  return p;
}

std::optional<Product> Catalog::product(long long id) {
  if (id <= 0) return std::nullopt;
  return from_hmget(id, client_.command(hmget_words(id)));
}

ProductPage Catalog::list(const ProductQuery& query) {
  auto snap = snapshot();
  const std::string q = ascii_lower(query.q);
  std::vector<const Product*> matches;
  for (const auto& [id, p] : *snap) {
    if (!query.category.empty() && p.category != query.category) continue;
    if (!q.empty() && !contains_ci(ascii_lower(p.name), q) &&
        !contains_ci(ascii_lower(p.description), q))
      continue;
    matches.push_back(&p);
  }
  ProductPage page;
  page.total = matches.size();
  const auto first = static_cast<std::size_t>((query.page - 1) * query.per_page);
  if (first >= matches.size()) return page;
  const auto last = std::min(matches.size(), first + static_cast<std::size_t>(query.per_page));
  auto pipe = client_.pipeline();
  for (std::size_t i = first; i < last; ++i)
    pipe.command({"HGET", keys::product(matches[i]->id), "stock"});
  auto replies = pipe.execute();
  for (std::size_t i = first; i < last; ++i) {
    const auto& r = replies[i - first].value();
    if (r.is_nil()) continue;  // removed since the cache was filled
    Product p = *matches[i];
    p.stock = to_ll(r);
    page.items.push_back(std::move(p));
  }
  return page;
}

std::vector<std::string> Catalog::categories() const {
  std::set<std::string> names;
  for (const auto& [id, p] : *snapshot()) names.insert(p.category);
  return {names.begin(), names.end()};
}

std::vector<long long> Catalog::ids() const {
  std::vector<long long> out;
  for (const auto& [id, p] : *snapshot()) out.push_back(id);
  return out;
}

namespace {

long long json_int(const Json& j, const char* field, std::size_t index, bool id_may_be_string) {
  const Json& v = j.at(field);
  if (v.is_number_integer()) return v.get<long long>();
  if (id_may_be_string && v.is_string())
    if (auto n = parse_int(v.get<std::string>())) return *n;
  throw std::runtime_error("products[" + std::to_string(index) + "]." + field +
                           ": expected an integer");
}

std::vector<Product> parse_catalog_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  Json doc = Json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  if (!doc.is_object() || !doc.contains("products") || !doc["products"].is_array())
    throw std::runtime_error(path + ": expected {\"products\": [...]}");
  std::vector<Product> out;
  std::set<long long> seen;
  std::size_t i = 0;
  for (const Json& j : doc["products"]) {
    Product p;
    try {
      if (!j.is_object())
        throw std::runtime_error("products[" + std::to_string(i) + "]: expected an object");
      for (const char* f : {"id", "name", "category", "price_cents", "stock"})
        if (!j.contains(f))
          throw std::runtime_error("products[" + std::to_string(i) + "]." + f + ": missing");
      p.id = json_int(j, "id", i, true);
      if (p.id <= 0)
        throw std::runtime_error("products[" + std::to_string(i) + "].id: must be > 0");
      if (!seen.insert(p.id).second)
        throw std::runtime_error("products[" + std::to_string(i) + "].id: duplicate " +
                                 std::to_string(p.id));
      if (!j["name"].is_string() || !j["category"].is_string())
        throw std::runtime_error("products[" + std::to_string(i) +
                                 "]: name and category must be strings");
      p.name = j["name"].get<std::string>();
      p.category = j["category"].get<std::string>();
      p.price_cents = json_int(j, "price_cents", i, false);
      p.stock = p.initial_stock = json_int(j, "stock", i, false);
      if (p.price_cents < 0 || p.stock < 0)
        throw std::runtime_error("products[" + std::to_string(i) +
                                 "]: price_cents and stock must be >= 0");
      if (j.contains("description") && j["description"].is_string())
        p.description = j["description"].get<std::string>();
    } catch (const Json::exception& e) {
      throw std::runtime_error("products[" + std::to_string(i) + "]: " + e.what());
    }
    ++i;
    out.push_back(std::move(p));
  }
  return out;
}

bool has_shop_prefix(const std::string& key) {
  for (auto prefix : keys::kPrefixes)
    if (key.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

// SCAN + UNLINK of the shop's keys on every shard's primary.
std::size_t remove_shop_keys(flyshard::Client& client) {
  std::size_t removed = 0;
  for (std::size_t shard = 0; shard < client.layout().shards.size(); ++shard) {
    std::string cursor = "0";
    do {
      auto r = client.command_on_shard(shard, {"SCAN", cursor, "COUNT", "1000"});
      r.throw_if_error();
      if (!r.is_array() || r.elements().size() != 2)
        throw flyshard::Error(flyshard::errc::protocol_error, "unexpected SCAN reply");
      cursor = r.elements()[0].str();
      std::vector<std::string> words{"UNLINK"};
      for (const auto& k : r.elements()[1].elements())
        if (has_shop_prefix(k.str())) words.push_back(k.str());
      if (words.size() > 1) {
        client.command_on_shard(shard, words).throw_if_error();
        removed += words.size() - 1;
      }
    } while (cursor != "0");
  }
  return removed;
}

}  // namespace

LoadResult load_catalog(flyshard::Client& client, const std::string& path, bool reset) {
  auto products = parse_catalog_file(path);
  LoadResult result;
  result.products = products.size();
  if (reset) result.removed_keys = remove_shop_keys(client);

  std::vector<bool> present(products.size(), false);
  if (!reset && !products.empty()) {
    auto pipe = client.pipeline();
    for (const auto& p : products) pipe.command({"EXISTS", keys::product(p.id)});
    auto replies = pipe.execute();
    for (std::size_t i = 0; i < products.size(); ++i) present[i] = replies[i].value().integer() > 0;
  }
  auto pipe = client.pipeline();
  std::vector<std::string> sadd{"SADD", std::string(keys::kCatalogIds)};
  for (std::size_t i = 0; i < products.size(); ++i) {
    const auto& p = products[i];
    sadd.push_back(std::to_string(p.id));
    if (present[i]) continue;
    // HSETNX-free: the product did not exist a moment ago; a concurrent loader writes the
    // same values.
    pipe.command({"HSET", keys::product(p.id), "name", p.name, "category", p.category,
                  "price_cents", std::to_string(p.price_cents), "stock", std::to_string(p.stock),
                  "initial_stock", std::to_string(p.initial_stock), "description", p.description});
    ++result.added;
  }
  if (!products.empty()) pipe.command(sadd);
  for (auto& r : pipe.execute()) r.value().throw_if_error();
  return result;
}

}  // namespace shop
