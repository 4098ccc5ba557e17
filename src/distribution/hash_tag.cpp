#include <flyshard/distribution.hpp>

namespace flyshard {

// Redis Cluster's rule (and twemproxy's with `hash_tag: "{}"`): the first '{', then the
// first '}' after it; a non-empty content between them is the hashed part.
std::string_view hash_tag(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace flyshard
