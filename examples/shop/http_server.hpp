#pragma once
// `flyshard-shop serve`: the stateless HTTP server.

#include <chrono>
#include <string>

namespace shop {

struct ServeOptions {
  std::string config;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string web_dir;
  unsigned threads = 64;
  std::chrono::milliseconds reservation_timeout{30000};
  std::chrono::milliseconds replica_ack{200};
  std::string instance;
};

/// Runs the server until SIGINT/SIGTERM; returns the exit code (0 after a signal, 1 when it
/// cannot start).
int serve(const ServeOptions& options);

}  // namespace shop
