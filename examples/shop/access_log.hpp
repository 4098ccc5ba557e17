#pragma once
// Logs: one JSON object per line on stdout (time, level, and the fields of the event), ready
// for Loki or ELK. The server's access lines add request_id, method, path, status,
// latency_ms and the shard errors the request met.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <flyshard/flyshard.hpp>

#include "json_util.hpp"

namespace shop {

/// Writes {"time":..., "level":..., "msg":..., fields...} as one line (thread-safe).
void log_event(std::string_view level, std::string_view msg, const Json& fields = Json::object());

/// The process's name in logs ("instance" field), e.g. "shop-1" or "worker-1".
void set_log_instance(std::string instance);

/// What the access log needs to know about the request this thread is serving. httplib runs
/// the pre-routing handler, the handler and the logger of one request on one thread.
struct RequestContext {
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  std::string route;                      ///< the route's name, for metrics ("unmatched" if none)
  std::vector<std::string> shard_errors;  ///< errc names of store errors met
};
RequestContext& current_request();

/// Records a store error on the current request and logs it with the errc's name.
void note_store_error(const flyshard::Error& e, std::string_view during);

/// The library's log handler: its messages as JSON lines too.
flyshard::LogHandler library_log_handler();

/// One access line for a finished request.
void log_access(std::string_view method, std::string_view path, int status);

}  // namespace shop
