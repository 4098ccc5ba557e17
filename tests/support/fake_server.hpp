#pragma once
/// \file fake_server.hpp
/// A scripted RESP server for tests that need a server to misbehave on demand: reply late,
/// close in the middle of a reply, send a header claiming two billion elements, accept and
/// close at once, stay silent, read slowly. It listens on a free loopback port and runs each
/// accepted connection on a thread of its own, following that connection's script.
///
/// Test support only: not part of the installed library.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flyshard::testing {

/// What one connection does, step by step. After the last step the connection stays open,
/// reading and dropping whatever comes, until the client closes it or the server stops.
class FakeScript {
 public:
  /// Maps a command's words to the raw reply bytes.
  using Answer = std::function<std::string(const std::vector<std::string>& words)>;

  /// Reads `commands` complete commands (RESP arrays of bulk strings).
  FakeScript& expect(int commands = 1);
  /// Writes `raw` as it is (any bytes: partial replies, hostile headers).
  FakeScript& reply(std::string raw);
  /// Waits (cut short when the server stops).
  FakeScript& delay(std::chrono::milliseconds d);
  /// Closes the connection now; later steps are not run.
  FakeScript& close();
  /// From now on answers every command with `answer(words)`, until the client closes.
  FakeScript& answer_all(Answer answer);
  /// From now on reads at most `bytes` every `every` (a slow consumer), until the client
  /// closes: the client's sends block once the socket buffers are full.
  FakeScript& read_slowly(std::size_t bytes, std::chrono::milliseconds every);

  struct Step {
    enum class Kind { expect, reply, delay, close, answer_all, read_slowly } kind;
    int count = 0;
    std::string bytes;
    std::chrono::milliseconds wait{0};
    std::size_t chunk = 0;
    Answer answer;
  };
  const std::vector<Step>& steps() const noexcept { return steps_; }

 private:
  std::vector<Step> steps_;
};

/// "$<n>\r\n<s>\r\n".
std::string bulk(const std::string& s);

class FakeServer {
 public:
  /// The i-th accepted connection runs scripts[i]; connections past the list run the last
  /// one. Throws std::system_error when it cannot listen.
  explicit FakeServer(std::vector<FakeScript> scripts);
  /// Stops accepting, closes every connection, joins every thread.
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// "127.0.0.1:<port>".
  std::string address() const;
  /// Connections accepted so far.
  int accepted() const noexcept { return accepted_.load(); }
  /// Every command received so far on any connection, its words joined by spaces.
  std::vector<std::string> commands() const;

 private:
  void accept_loop();
  void serve(int fd, const FakeScript& script);

  std::vector<FakeScript> scripts_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // readable once the server stops: wakes every poll
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;        // guarded by mu_
  std::vector<std::string> commands_;       // guarded by mu_
};

}  // namespace flyshard::testing
