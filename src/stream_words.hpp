#pragma once
// Words of the stream helpers, shared by Client and AsyncClient so both send the same command.
// The numbers are formatted into strings the caller keeps (the words view them).

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flyshard::detail {

/// XADD key [MAXLEN ~ max_len] id field value ...; `len` receives max_len's text.
inline std::vector<std::string_view> xadd_words(
    std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
    std::string_view id, std::size_t max_len, std::string& len) {
  std::vector<std::string_view> w{"XADD", key};
  w.reserve(6 + 2 * fields.size());
  if (max_len > 0) {
    len = std::to_string(max_len);
    w.insert(w.end(), {"MAXLEN", "~", len});
  }
  w.push_back(id);
  for (const auto& [f, v] : fields) {
    w.push_back(f);
    w.push_back(v);
  }
  return w;
}

/// XGROUP CREATE key group start_id [MKSTREAM].
inline std::vector<std::string_view> xgroup_create_words(std::string_view key,
                                                         std::string_view group,
                                                         std::string_view start_id, bool mkstream) {
  std::vector<std::string_view> w{"XGROUP", "CREATE", key, group, start_id};
  if (mkstream) w.push_back("MKSTREAM");
  return w;
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK block] STREAMS key id; `n` and `ms`
/// receive the numbers' text.
inline std::vector<std::string_view> xreadgroup_words(
    std::string_view group, std::string_view consumer, std::string_view key, std::string_view id,
    std::size_t count, std::chrono::milliseconds block, std::string& n, std::string& ms) {
  std::vector<std::string_view> w{"XREADGROUP", "GROUP", group, consumer};
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  if (block.count() > 0) {
    // BLOCK 0 would wait forever: block 0 means "do not block" here, so no BLOCK is sent.
    ms = std::to_string(block.count());
    w.insert(w.end(), {"BLOCK", ms});
  }
  w.insert(w.end(), {"STREAMS", key, id});
  return w;
}

/// XACK key group id ...
inline std::vector<std::string_view> xack_words(std::string_view key, std::string_view group,
                                                const std::vector<std::string>& ids) {
  std::vector<std::string_view> w{"XACK", key, group};
  w.insert(w.end(), ids.begin(), ids.end());
  return w;
}

/// XAUTOCLAIM key group consumer min_idle start [COUNT count]; `idle` and `n` receive the
/// numbers' text (a negative min_idle is sent as 0).
inline std::vector<std::string_view> xautoclaim_words(std::string_view key, std::string_view group,
                                                      std::string_view consumer,
                                                      std::chrono::milliseconds min_idle,
                                                      std::string_view start, std::size_t count,
                                                      std::string& idle, std::string& n) {
  idle = std::to_string(min_idle.count() < 0 ? 0 : min_idle.count());
  std::vector<std::string_view> w{"XAUTOCLAIM", key, group, consumer, idle, start};
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  return w;
}

/// XRANGE key start end [COUNT count]; `n` receives count's text.
inline std::vector<std::string_view> xrange_words(std::string_view key, std::string_view start,
                                                  std::string_view end, std::size_t count,
                                                  std::string& n) {
  std::vector<std::string_view> w{"XRANGE", key, start, end};
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  return w;
}

}  // namespace flyshard::detail
