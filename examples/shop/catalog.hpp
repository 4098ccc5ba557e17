#pragma once
// The catalogue: products in the store (product:{p<id>} hashes, ids in catalog:ids), a cache
// of their static fields in each server (name, category, price, description), and stock read
// live from the store on every request.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

#include "json_util.hpp"

namespace shop {

struct Product {
  long long id = 0;
  std::string name;
  std::string category;
  std::string description;
  long long price_cents = 0;
  long long stock = 0;          ///< live (when read from the store)
  long long initial_stock = 0;  ///< stock as loaded
};

/// {"id","name","category","price_cents","stock","description"}.
Json product_json(const Product& p);

struct ProductQuery {
  std::string category;  ///< exact; empty = all
  std::string q;         ///< case-insensitive substring of name or description; empty = all
  long long page = 1;
  long long per_page = 20;
};

struct ProductPage {
  std::vector<Product> items;
  std::size_t total = 0;
};

class Catalog {
 public:
  explicit Catalog(flyshard::Client& client) : client_(client) {}

  /// Reloads every product's static fields from the store; throws flyshard::Error.
  void refresh();
  /// Static fields of a product (stock not live); asks the store on a cache miss.
  std::optional<Product> find(long long id);
  /// A product with its live stock (one round trip); nullopt when unknown.
  std::optional<Product> product(long long id);
  /// A page of matching products, ordered by id, stock read live for the page in one
  /// pipelined round trip over every shard involved.
  ProductPage list(const ProductQuery& query);
  /// Category names, sorted.
  std::vector<std::string> categories() const;
  /// Every known product id (from the cache), ascending.
  std::vector<long long> ids() const;

 private:
  using Snapshot = std::map<long long, Product>;
  std::shared_ptr<const Snapshot> snapshot() const;
  void remember(const Product& p);

  flyshard::Client& client_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
};

/// Reads every product's fields with one pipelined round trip; unknown ids are left out.
std::vector<Product> read_products(flyshard::Client& client, const std::vector<long long>& ids);

/// Product ids from catalog:ids, ascending.
std::vector<long long> stored_product_ids(flyshard::Client& client);

struct LoadResult {
  std::size_t products = 0;      ///< products in the file
  std::size_t added = 0;         ///< written (all of them with reset)
  std::size_t removed_keys = 0;  ///< shop keys removed by reset
};

/// Loads a catalogue file into the store. Without `reset`, products already in the store are
/// left as they are (stock included). With `reset`, every shop key (products, carts, orders,
/// reservations, events, the worker's counts) is removed first, so the store starts fresh and
/// the invariants hold. Throws std::runtime_error for a bad file, flyshard::Error for the
/// store.
LoadResult load_catalog(flyshard::Client& client, const std::string& path, bool reset);

}  // namespace shop
