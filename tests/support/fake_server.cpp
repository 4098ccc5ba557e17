#include "fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

namespace flyshard::testing {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Reads a decimal number ending in CRLF at buf[at]; advances `at` past the CRLF. nullopt when
// the line is not complete yet; -1 for a malformed one.
std::optional<long long> read_number(const std::string& buf, std::size_t& at) {
  const std::size_t end = buf.find("\r\n", at);
  if (end == std::string::npos) return std::nullopt;
  long long v = 0;
  for (std::size_t i = at; i < end; ++i) {
    if (buf[i] < '0' || buf[i] > '9') return -1;
    v = v * 10 + (buf[i] - '0');
  }
  at = end + 2;
  return v;
}

// Takes one command off the front of `buf`: a RESP array of bulk strings, or an inline
// command (words separated by spaces up to CRLF). nullopt while incomplete.
std::optional<std::vector<std::string>> take_command(std::string& buf) {
  if (buf.empty()) return std::nullopt;
  std::vector<std::string> words;
  if (buf[0] != '*') {
    const std::size_t end = buf.find("\r\n");
    if (end == std::string::npos) return std::nullopt;
    std::string line = buf.substr(0, end);
    buf.erase(0, end + 2);
    std::size_t at = 0;
    while (at < line.size()) {
      const std::size_t sp = line.find(' ', at);
      const std::size_t stop = sp == std::string::npos ? line.size() : sp;
      if (stop > at) words.push_back(line.substr(at, stop - at));
      at = stop + 1;
    }
    return words;
  }
  std::size_t at = 1;
  auto count = read_number(buf, at);
  if (!count) return std::nullopt;
  for (long long i = 0; i < *count; ++i) {
    if (at >= buf.size()) return std::nullopt;
    if (buf[at] != '$') return std::vector<std::string>{"<malformed>"};
    ++at;
    auto len = read_number(buf, at);
    if (!len) return std::nullopt;
    if (*len < 0) return std::vector<std::string>{"<malformed>"};
    if (buf.size() < at + static_cast<std::size_t>(*len) + 2) return std::nullopt;
    words.push_back(buf.substr(at, static_cast<std::size_t>(*len)));
    at += static_cast<std::size_t>(*len) + 2;
  }
  buf.erase(0, at);
  return words;
}

// Polls `fd` for `events` and the stop pipe; returns 1 when fd is ready, 0 on timeout, -1 when
// the server stops.
int wait_for(int fd, short events, int stop_fd, int timeout_ms) {
  pollfd p[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
  const nfds_t n = fd >= 0 ? 2 : 1;
  for (;;) {
    int rc = ::poll(p, n, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (p[0].revents & POLLIN) != 0) return -1;
    if (rc == 0) return 0;
    return 1;
  }
}

}  // namespace

FakeScript& FakeScript::expect(int commands) {
  steps_.push_back({Step::Kind::expect, commands, {}, {}, 0, {}});
  return *this;
}
FakeScript& FakeScript::reply(std::string raw) {
  steps_.push_back({Step::Kind::reply, 0, std::move(raw), {}, 0, {}});
  return *this;
}
FakeScript& FakeScript::delay(std::chrono::milliseconds d) {
  steps_.push_back({Step::Kind::delay, 0, {}, d, 0, {}});
  return *this;
}
FakeScript& FakeScript::close() {
  steps_.push_back({Step::Kind::close, 0, {}, {}, 0, {}});
  return *this;
}
FakeScript& FakeScript::answer_all(Answer answer) {
  steps_.push_back({Step::Kind::answer_all, 0, {}, {}, 0, std::move(answer)});
  return *this;
}
FakeScript& FakeScript::read_slowly(std::size_t bytes, std::chrono::milliseconds every) {
  steps_.push_back({Step::Kind::read_slowly, 0, {}, every, bytes, {}});
  return *this;
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

FakeServer::FakeServer(std::vector<FakeScript> scripts) : scripts_(std::move(scripts)) {
  if (scripts_.empty()) scripts_.emplace_back();
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw_errno("pipe");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw_errno("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind");
  if (::listen(listen_fd_, 128) != 0) throw_errno("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_errno("getsockname");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeServer::~FakeServer() {
  char b = 1;
  // The pipe is never read: it stays readable and wakes every poll, now and later.
  (void)!::write(stop_pipe_[1], &b, 1);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string FakeServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> FakeServer::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}

void FakeServer::accept_loop() {
  for (;;) {
    if (wait_for(listen_fd_, POLLIN, stop_pipe_[0], -1) < 0) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int i = accepted_.fetch_add(1);
    const FakeScript& script = scripts_[std::min<std::size_t>(static_cast<std::size_t>(i),
                                                          scripts_.size() - 1)];
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd, &script] { serve(fd, script); });
  }
}

void FakeServer::serve(int fd, const FakeScript& script) {
  std::string in;
  const int stop = stop_pipe_[0];
  // More bytes from the client; false when it closed or the server stops.
  auto read_more = [&]() -> bool {
    if (wait_for(fd, POLLIN, stop, -1) < 0) return false;
    char buf[64 * 1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  auto next_command = [&]() -> std::optional<std::vector<std::string>> {
    for (;;) {
      if (auto c = take_command(in)) {
        std::string joined;
        for (const auto& w : *c) joined += (joined.empty() ? "" : " ") + w;
        std::lock_guard lock(mu_);
        commands_.push_back(std::move(joined));
        return c;
      }
      if (!read_more()) return std::nullopt;
    }
  };
  auto write_all = [&](std::string_view bytes) -> bool {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (wait_for(fd, POLLOUT, stop, -1) < 0) return false;
      } else {
        return false;
      }
    }
    return true;
  };

  bool open = true;
  for (const auto& step : script.steps()) {
    if (!open) break;
    switch (step.kind) {
      case FakeScript::Step::Kind::expect:
        for (int i = 0; i < step.count && open; ++i) open = next_command().has_value();
        break;
      case FakeScript::Step::Kind::reply:
        open = write_all(step.bytes);
        break;
      case FakeScript::Step::Kind::delay:
        open = wait_for(-1, 0, stop, static_cast<int>(step.wait.count())) == 0;
        break;
      case FakeScript::Step::Kind::close:
        open = false;
        break;
      case FakeScript::Step::Kind::answer_all:
        while (open) {
          auto c = next_command();
          open = c.has_value() && write_all(step.answer(*c));
        }
        break;
      case FakeScript::Step::Kind::read_slowly: {
        std::string chunk(step.chunk, '\0');
        while (open) {
          if (wait_for(-1, 0, stop, static_cast<int>(step.wait.count())) != 0) break;
          ssize_t n = ::recv(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
          open = n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        }
        open = false;
        break;
      }
    }
  }
  // Past the script: keep the connection, take commands and answer nothing.
  while (open && next_command()) {
  }
  ::close(fd);
}

}  // namespace flyshard::testing
