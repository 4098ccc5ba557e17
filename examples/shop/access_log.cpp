#include "access_log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

namespace shop {

namespace {

std::mutex log_mutex;
std::string log_instance;

std::string iso_time_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

void write_line(const Json& j) {
  std::string line = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  line.push_back('\n');
  // One fwrite per line under a lock, so lines of concurrent threads never interleave.
  std::lock_guard lock(log_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void set_log_instance(std::string instance) {
  log_instance = std::move(instance);
}

void log_event(std::string_view level, std::string_view msg, const Json& fields) {
  Json j = Json::object();
  j["time"] = iso_time_now();
  j["level"] = level;
  if (!log_instance.empty()) j["instance"] = log_instance;
  j["msg"] = msg;
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  write_line(j);
}

RequestContext& current_request() {
  thread_local RequestContext ctx;
  return ctx;
}

void note_store_error(const flyshard::Error& e, std::string_view during) {
  auto& ctx = current_request();
  std::string name(flyshard::errc_name(e.value()));
  ctx.shard_errors.push_back(name);
  log_event(
      "warning", "store error",
      {{"request_id", ctx.request_id}, {"errc", name}, {"during", during}, {"error", e.what()}});
}

flyshard::LogHandler library_log_handler() {
  return [](flyshard::LogLevel level, std::string_view message) {
    const char* name = level == flyshard::LogLevel::debug     ? "debug"
                       : level == flyshard::LogLevel::info    ? "info"
                       : level == flyshard::LogLevel::warning ? "warning"
                                                              : "error";
    log_event(name, message, {{"source", "flyshard"}});
  };
}

void log_access(std::string_view method, std::string_view path, int status) {
  auto& ctx = current_request();
  double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.start)
          .count();
  Json j = Json::object();
  j["time"] = iso_time_now();
  j["level"] = status >= 500 ? "error" : "info";
  if (!log_instance.empty()) j["instance"] = log_instance;
  j["msg"] = "request";
  j["request_id"] = ctx.request_id;
  j["method"] = method;
  j["path"] = path;
  j["status"] = status;
  j["latency_ms"] = static_cast<double>(static_cast<long long>(latency_ms * 1000)) / 1000;
  j["shard_errors"] = ctx.shard_errors;
  write_line(j);
}

}  // namespace shop
