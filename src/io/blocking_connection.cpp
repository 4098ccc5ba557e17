#include "io/blocking_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

std::string sys_message(int err) { return std::strerror(err); }

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

}  // namespace

namespace {

// A non-blocking connect to one address, waited for until `deadline`: the socket, or the
// error. open() switches it to blocking I/O with socket timeouts (after TLS, if any): one send
// and one recv per request, as plain hiredis does.
Result<int> connect_one(const SocketAddress& address, Clock::time_point deadline,
                        const std::string& name) {
  const int family = address.storage.ss_family;
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {errc::connection_lost, name + ": socket: " + sys_message(errno)};
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return {errc::connection_lost, name + ": connect: " + sys_message(err)};
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, remaining_ms(deadline));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      ::close(fd);
      return {errc::timeout, name + ": connect timed out"};
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0 || err != 0) {
      ::close(fd);
      return {errc::connection_lost, name + ": connect: " + sys_message(n < 0 ? errno : err)};
    }
  }
  if (family != AF_UNIX) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;  // still non-blocking: a TLS handshake runs on it before it turns blocking
}

}  // namespace

Result<std::unique_ptr<BlockingConnection>> BlockingConnection::open(
    const NodeAddress& address, std::chrono::milliseconds connect_timeout,
    std::string_view handshake, std::uint32_t handshake_replies, const std::string& name,
    const ReplyLimits& limits, const TlsPeer& tls) {
  const auto deadline = Clock::now() + connect_timeout;
  auto resolved = resolve_until(address, deadline);
  if (!resolved.ok()) return {resolved.error(), name + ": " + resolved.message()};
  // A name may resolve to several addresses (localhost: ::1 and 127.0.0.1); the first that
  // takes the connection wins, within the one deadline.
  Result<int> fd(errc::connection_lost, name + ": no address");
  for (const SocketAddress& a : resolved.value()) {
    fd = connect_one(a, deadline, name);
    if (fd.ok() || fd.error() == errc::timeout) break;
  }
  if (!fd.ok()) return {fd.error(), fd.message()};
  std::unique_ptr<BlockingConnection> conn(new BlockingConnection(fd.value(), name, limits));
  if (tls) {
    std::string message;
    if (errc e = conn->start_tls(tls, deadline, message); e != errc{}) return {e, message};
  }
  int flags = ::fcntl(fd.value(), F_GETFL);
  ::fcntl(fd.value(), F_SETFL, flags & ~O_NONBLOCK);
  if (handshake_replies > 0) {
    std::vector<Reply> replies;
    std::string message;
    errc e = conn->exchange(handshake, handshake_replies, replies, deadline, message);
    if (e != errc{}) return {e, message};
    for (const auto& r : replies) {
      if (r.is_error()) return {errc::server_error, name + ": handshake: " + r.str()};
    }
  }
  return conn;
}

errc BlockingConnection::start_tls(const TlsPeer& peer, Clock::time_point deadline,
                                   std::string& message) {
  auto fail = [&](errc e, const std::string& why) {
    message = name_ + ": " + why;
    close();
    return e;
  };
  // Waits for `events` until the deadline: false when the time is up.
  auto wait = [&](short events) {
    for (;;) {
      pollfd p{fd_, events, 0};
      const int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      return n > 0;
    }
  };
  try {
    tls_ = std::make_unique<TlsSession>(peer);
  } catch (const Error& e) {
    return fail(errc::tls, e.what());
  }
  if (!tls_->start()) return fail(errc::tls, tls_->error());
  char buf[16 * 1024];
  for (;;) {
    tls_wire_.clear();
    tls_->take_output(tls_wire_);
    std::string_view out = tls_wire_;
    while (!out.empty()) {
      const ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out.remove_prefix(static_cast<std::size_t>(n));
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!wait(POLLOUT)) return fail(errc::timeout, "TLS handshake timed out");
      } else {
        return fail(errc::connection_lost, "send: " + sys_message(errno));
      }
    }
    tls_wire_.clear();
    if (tls_->established()) break;
    if (!wait(POLLIN)) return fail(errc::timeout, "TLS handshake timed out");
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0)
      return fail(errc::connection_lost, "server closed the connection during the TLS handshake");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return fail(errc::connection_lost, "recv: " + sys_message(errno));
    }
    tls_plain_.clear();
    if (!tls_->receive(buf, static_cast<std::size_t>(n), tls_plain_)) {
      return fail(errc::tls, tls_->error());
    }
    if (!tls_plain_.empty()) reader_.feed(tls_plain_.data(), tls_plain_.size());
  }
  return errc{};
}

bool BlockingConnection::take_in(const char* data, std::size_t size, std::string& message) {
  if (!tls_) {
    reader_.feed(data, size);
    return true;
  }
  tls_plain_.clear();
  if (!tls_->receive(data, size, tls_plain_)) {
    message = tls_->error();
    return false;
  }
  if (tls_->has_output()) {
    // Post-handshake messages that want an answer (a TLS 1.3 KeyUpdate): tiny, sent at once.
    std::string reply;
    tls_->take_output(reply);
    if (::send(fd_, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(reply.size())) {
      message = "TLS: cannot answer the server's post-handshake message";
      return false;
    }
  }
  if (!tls_plain_.empty()) reader_.feed(tls_plain_.data(), tls_plain_.size());
  return true;
}

BlockingConnection::~BlockingConnection() { close(); }

void BlockingConnection::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool BlockingConnection::limit_wait(Clock::time_point deadline, Clock::time_point now,
                                    bool fresh) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
  long long us;
  if (left > std::chrono::hours(24)) {
    us = 0;  // past a day the caller asked to wait forever (BLPOP k 0): no socket timeout
  } else if (fresh) {
    // Rounded down to 10 ms, so that exchanges with the same request_timeout find the setting
    // already there (no setsockopt per request); the few ms it falls short are waited for by
    // the shortening below.
    us = std::max<long long>(1000, left.count() / 10000 * 10000);
  } else {
    if (timeout_us_set_ > 0 && timeout_us_set_ <= left.count()) return true;
    us = std::max<long long>(1000, (left.count() + 999) / 1000 * 1000);
  }
  if (us == timeout_us_set_) return true;
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return false;
  }
  timeout_us_set_ = us;
  return true;
}

errc BlockingConnection::exchange(std::string_view payload, std::uint32_t replies,
                                  std::vector<Reply>& out, Clock::time_point deadline,
                                  std::string& message, Clock::time_point now) {
  auto fail = [&](errc e, std::string why) {
    message = name_ + ": " + why;
    close();
    return e;
  };
  if (fd_ < 0) return fail(errc::connection_lost, "connection is closed");
  // One deadline for the whole exchange: before every blocking send or recv the socket's
  // timeout is cut to the time left, so neither a slow reader on the other side nor a reply
  // that trickles in can stretch the call past `deadline`.
  if (now >= deadline) return fail(errc::timeout, "no time left before sending");
  if (!limit_wait(deadline, now, true)) {
    return fail(errc::connection_lost, "setsockopt: " + sys_message(errno));
  }
  bool fresh = true;  // the timeout set above still fits the time left
  if (tls_) {
    tls_wire_.clear();
    if (!tls_->send(payload)) return fail(errc::tls, tls_->error());
    tls_->take_output(tls_wire_);
    payload = tls_wire_;
  }
  while (!payload.empty()) {
    ssize_t n = ::send(fd_, payload.data(), payload.size(), MSG_NOSIGNAL);
    if (n > 0) {
      payload.remove_prefix(static_cast<std::size_t>(n));
      if (payload.empty()) break;
    } else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      const std::string why = "send: " + sys_message(errno);
      if (tls_) {
        if (std::string alert = tls_alert_after_reset(fd_, *tls_); !alert.empty())
          return fail(errc::tls, alert);
      }
      return fail(errc::connection_lost, why);
    }
    fresh = false;
    now = Clock::now();
    if (now >= deadline) return fail(errc::timeout, "send timed out");
    if (!limit_wait(deadline, now, false)) {
      return fail(errc::connection_lost, "setsockopt: " + sys_message(errno));
    }
  }
  const std::size_t want = out.size() + replies;
  char buf[16 * 1024];
  try {
    while (out.size() < want) {
      if (auto r = reader_.next()) {
        out.push_back(std::move(*r));
        continue;
      }
      if (!fresh) {
        // The socket timeout may be longer than what is left (a partial reply came, or the
        // fresh setting was rounded down): cut it.
        now = Clock::now();
        if (now >= deadline) return fail(errc::timeout, "no reply in time");
        if (!limit_wait(deadline, now, false)) {
          return fail(errc::connection_lost, "setsockopt: " + sys_message(errno));
        }
      }
      fresh = false;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        std::string why;
        if (!take_in(buf, static_cast<std::size_t>(n), why)) return fail(errc::tls, why);
      } else if (n == 0) {
        return fail(errc::connection_lost, "server closed the connection");
      } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        return fail(errc::connection_lost, "recv: " + sys_message(errno));
      }
    }
  } catch (const Error& e) {
    return fail(errc::protocol_error, e.what());
  } catch (const std::exception& e) {
    return fail(errc::protocol_error, std::string("reading the reply: ") + e.what());
  }
  return errc{};
}

bool BlockingConnection::write_some(std::string_view& pending, std::string& message) {
  if (tls_ && !pending.empty()) {
    // The whole of `pending` is encrypted once; it is reported sent (emptied) only when all of
    // its ciphertext is, so the caller keeps polling for POLLOUT until then.
    if (!tls_wire_busy_) {
      tls_wire_.clear();
      tls_wire_sent_ = 0;
      if (!tls_->send(pending)) {
        message = name_ + ": " + tls_->error();
        failure_ = errc::tls;
        close();
        return false;
      }
      tls_->take_output(tls_wire_);
      tls_wire_busy_ = true;
    }
    std::string_view wire = std::string_view(tls_wire_).substr(tls_wire_sent_);
    if (!write_some_raw(wire, message)) return false;
    tls_wire_sent_ = tls_wire_.size() - wire.size();
    if (wire.empty()) {
      tls_wire_busy_ = false;
      pending = {};
    }
    return true;
  }
  return write_some_raw(pending, message);
}

bool BlockingConnection::write_some_raw(std::string_view& pending, std::string& message) {
  while (!pending.empty()) {
    ssize_t n = ::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      message = name_ + ": send: " + sys_message(errno);
      failure_ = errc::connection_lost;
      if (tls_) {
        if (std::string alert = tls_alert_after_reset(fd_, *tls_); !alert.empty()) {
          message = name_ + ": " + alert;
          failure_ = errc::tls;
        }
      }
      close();
      return false;
    }
    pending.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool BlockingConnection::read_some(std::vector<Reply>& out, std::uint32_t wanted,
                                   std::string& message) {
  char buf[16 * 1024];
  try {
    for (;;) {
      while (out.size() < wanted) {
        auto r = reader_.next();
        if (!r) break;
        out.push_back(std::move(*r));
      }
      if (out.size() >= wanted) return true;
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        std::string why;
        if (!take_in(buf, static_cast<std::size_t>(n), why)) {
          message = name_ + ": " + why;
          failure_ = errc::tls;
          close();
          return false;
        }
        continue;
      }
      if (n == 0) {
        message = name_ + ": server closed the connection";
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return true;
      } else if (errno == EINTR) {
        continue;
      } else {
        message = name_ + ": recv: " + sys_message(errno);
      }
      failure_ = errc::connection_lost;
      close();
      return false;
    }
  } catch (const Error& e) {
    message = name_ + ": " + e.what();
    failure_ = errc::protocol_error;
    close();
    return false;
  }
}

BlockingPool::~BlockingPool() {
  delete spare_.exchange(nullptr, std::memory_order_acquire);
}

std::unique_ptr<BlockingConnection> BlockingPool::take() {
  std::unique_ptr<BlockingConnection> spare(spare_.exchange(nullptr, std::memory_order_acquire));
  // One put back just as clear() ran may be of the old generation: dropped here.
  if (spare && spare->generation == generation()) return spare;
  spare.reset();
  std::lock_guard lock(mu_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void BlockingPool::give_back(std::unique_ptr<BlockingConnection> c) {
  if (!c || !c->usable() || c->generation != generation() || max_idle_ == 0) return;
  BlockingConnection* empty = nullptr;
  if (spare_.compare_exchange_strong(empty, c.get(), std::memory_order_release,
                                     std::memory_order_relaxed)) {
    c.release();  // owned by spare_ now
    return;
  }
  std::lock_guard lock(mu_);
  // The spare counts as one of the max_idle idle connections.
  if (idle_.size() + 1 < max_idle_) idle_.push_back(std::move(c));
}

void BlockingPool::clear() {
  std::vector<std::unique_ptr<BlockingConnection>> drop;
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_ptr<BlockingConnection> spare(spare_.exchange(nullptr, std::memory_order_acquire));
  std::lock_guard lock(mu_);
  drop.swap(idle_);
}

}  // namespace flyshard::detail
