#include "distribution/distribution_impl.hpp"

namespace flyshard {

std::string_view hash_tag(std::string_view key) noexcept {
  return detail::hash_tag_inline(key);
}

}  // namespace flyshard
