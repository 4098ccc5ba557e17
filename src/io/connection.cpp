#include "io/connection.hpp"

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "io/callback_guard.hpp"
#include "io/engine.hpp"
#include "io/endpoint.hpp"
#include "io/tsan_handover.hpp"

namespace flyshard::detail {

// One connect attempt. It lives on the heap because libuv owns it until its close callback,
// which may come after the connection has already started the next attempt.
struct TcpLink {
  // A Unix socket node uses `pipe`, every other node `tcp`. Both begin with the uv_stream_t
  // fields, so the stream and handle casts of `&tcp` below serve either.
  union {
    uv_tcp_t tcp{};
    uv_pipe_t pipe;
  };
  uv_connect_t connect{};
  Connection* owner = nullptr;  // nulled when the connection lets go of this link
  char buffer[64 * 1024];
  // The one write libuv may have in flight (Connection::writing_) and its bytes: kept with the
  // link, which outlives the write's callback, and reused, so a full socket costs no
  // allocation per write.
  uv_write_t write{};
  std::string writing;
};

// One name resolution on libuv's thread pool. The connection lets go of it (owner = nullptr)
// when it gives up on the attempt; libuv hands it back, finished or cancelled, either way.
struct ResolveJob {
  uv_work_t work{};
  Connection* owner = nullptr;
  std::string host;
  std::uint16_t port = 0;
  Result<std::vector<SocketAddress>> result{errc::connection_lost, "not resolved"};
};

namespace {

std::string uv_message(int status) { return uv_strerror(status); }

}  // namespace

// The entry points libuv calls. None of them lets an exception out (see callback_guard.hpp):
// one caught here leaves the connection in an unknown state, so its link is closed.
struct LinkCallbacks {
  template <typename Fn>
  static void guarded(Connection* c, const char* where, Fn&& fn) noexcept {
    if (run_guarded(c->engine_.log(), where, std::forward<Fn>(fn))) return;
    run_guarded(c->engine_.log(), where, [c, where] {
      c->fail_link(std::string("internal error in ") + where);
    });
  }
  static void on_connect(uv_connect_t* req, int status) {
    auto* link = static_cast<TcpLink*>(req->data);
    if (Connection* c = link->owner) guarded(c, "on_connect", [&] { c->on_connected(status); });
  }
  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
    auto* link = static_cast<TcpLink*>(handle->data);
    *buf = uv_buf_init(link->buffer, sizeof link->buffer);
  }
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* link = static_cast<TcpLink*>(stream->data);
    Connection* c = link->owner;
    if (c == nullptr) return;
    guarded(c, "on_read", [&] {
      if (nread > 0 && c->tls_) {
        c->on_tls_data(buf->base, static_cast<std::size_t>(nread));
      } else if (nread > 0) {
        c->on_data(buf->base, static_cast<std::size_t>(nread));
      } else if (nread < 0) {
        c->fail_link(nread == UV_EOF ? std::string("server closed the connection")
                                     : uv_message(static_cast<int>(nread)));
      }
    });
  }
  static void on_write(uv_write_t* req, int status) {
    Connection* owner = static_cast<TcpLink*>(req->data)->owner;
    if (owner != nullptr) guarded(owner, "on_write", [&] { owner->on_write_done(status); });
  }
  static void on_close(uv_handle_t* handle) noexcept { delete static_cast<TcpLink*>(handle->data); }
  // Thread pool: getaddrinfo may block for seconds, which the loop thread must never do.
  static void on_resolve_work(uv_work_t* req) noexcept {
    FLYSHARD_HANDOVER_ACQUIRE(req);  // from connect_now on the loop
    auto* job = static_cast<ResolveJob*>(req->data);
    try {
      job->result = resolve_name(job->host, job->port);
    } catch (...) {
      job->result =
          Result<std::vector<SocketAddress>>(errc::connection_lost, "cannot resolve " + job->host);
    }
    FLYSHARD_HANDOVER_RELEASE(req);  // to on_resolve_done on the loop
  }
  static void on_resolve_done(uv_work_t* req, int /*status: UV_ECANCELED when cancelled*/) {
    FLYSHARD_HANDOVER_ACQUIRE(req);  // from on_resolve_work (not run when cancelled)
    std::unique_ptr<ResolveJob> job(static_cast<ResolveJob*>(req->data));
    if (Connection* c = job->owner) {
      guarded(c, "on_resolved", [&] { c->on_resolved(std::move(job->result)); });
    }
  }
  static void on_retry(uv_timer_t* timer) {
    auto* c = static_cast<Connection*>(timer->data);
    guarded(c, "reconnect timer", [c] { c->connect_now(); });
  }
};

Endpoint::Endpoint(NodeAddress node_address)
    : address(std::move(node_address)), name(address.to_string()) {}

Endpoint::~Endpoint() = default;

Connection::Connection(Engine& engine, Endpoint& node)
    : engine_(engine), node_(node), reader_(engine.reply_limits()) {
  uv_timer_init(engine_.loop(), &retry_timer_);
  retry_timer_.data = this;
}

Connection::~Connection() = default;

void Connection::start() { connect_now(); }

void Connection::connect_now() {
  state_ = State::connecting;
  connect_deadline_ = Clock::now() + engine_.link_settings().connect_timeout;
  addresses_.clear();
  next_address_ = 0;
  if (node_.address.is_unix()) {
    open_link(nullptr);
    return;
  }
  if (auto literal = literal_address(node_.address)) {
    addresses_.push_back(*literal);
    open_link(&addresses_.front());
    return;
  }
  // A name: resolved again on every connect (a moved DNS name is followed), on the pool.
  auto* job = new ResolveJob;
  job->owner = this;
  job->host = node_.address.host;
  job->port = node_.address.port;
  job->work.data = job;
  FLYSHARD_HANDOVER_RELEASE(&job->work);  // to on_resolve_work on the pool
  resolving_ = job;
  int rc = uv_queue_work(engine_.loop(), &job->work, LinkCallbacks::on_resolve_work,
                         LinkCallbacks::on_resolve_done);
  if (rc != 0) {
    resolving_ = nullptr;
    delete job;
    fail_link("resolve: " + uv_message(rc));
  }
}

void Connection::on_resolved(Result<std::vector<SocketAddress>> addresses) {
  resolving_ = nullptr;
  if (!addresses.ok() || addresses.value().empty()) {
    fail_link(addresses.ok() ? "cannot resolve " + node_.address.host + ": no address"
                             : addresses.message());
    return;
  }
  addresses_ = std::move(addresses).value();
  next_address_ = 0;
  open_link(&addresses_.front());
}

void Connection::open_link(const SocketAddress* address) {
  auto* link = new TcpLink;
  link->owner = this;
  link->connect.data = link;
  link_ = link;
  tls_.reset();
  if (address == nullptr) {
    uv_pipe_init(engine_.loop(), &link->pipe, 0);
    link->pipe.data = link;
    uv_pipe_connect(&link->connect, &link->pipe, node_.address.path.c_str(),
                    LinkCallbacks::on_connect);
    return;
  }
  uv_tcp_init(engine_.loop(), &link->tcp);
  link->tcp.data = link;
  int rc = uv_tcp_connect(&link->connect, &link->tcp,
                          reinterpret_cast<const sockaddr*>(&address->storage),
                          LinkCallbacks::on_connect);
  if (rc != 0) fail_link("connect: " + uv_message(rc));
}

void Connection::stop_resolving() {
  if (resolving_ == nullptr) return;
  resolving_->owner = nullptr;
  // Cancels it if no pool thread has taken it yet; it is freed when libuv hands it back.
  uv_cancel(reinterpret_cast<uv_req_t*>(&resolving_->work));
  resolving_ = nullptr;
}

void Connection::on_connected(int status) {
  if (status != 0 && next_address_ + 1 < addresses_.size()) {
    // The name has another address (localhost: ::1, then 127.0.0.1): try it within the same
    // connect deadline. Not a failure of the node yet.
    link_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&link_->tcp), LinkCallbacks::on_close);
    link_ = nullptr;
    open_link(&addresses_[++next_address_]);
    return;
  }
  if (status != 0) {
    fail_link("connect: " + uv_message(status));
    return;
  }
  if (!node_.address.is_unix()) uv_tcp_nodelay(&link_->tcp, 1);
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&link_->tcp), LinkCallbacks::on_alloc,
                         LinkCallbacks::on_read);
  if (rc != 0) {
    fail_link("read: " + uv_message(rc));
    return;
  }
  if (node_.tls) {
    // The link stays `connecting` (requests wait, the connect deadline runs) until the
    // handshake is over; on_tls_data() then calls on_link_ready().
    try {
      tls_ = std::make_unique<TlsSession>(node_.tls);
    } catch (const Error& e) {
      fail_link(e.what(), errc::tls);
      return;
    }
    if (!tls_->start()) {
      fail_tls();
      return;
    }
    send_tls_output();
    return;
  }
  on_link_ready();
}

void Connection::on_link_ready() {
  state_ = State::ready;
  node_.set_last_failure({});
  const bool reconnected = ever_connected_;
  if (reconnected) node_.stats.on_reconnect();
  ever_connected_ = true;
  // failures_ is not reset here: a server that accepts and closes at once would otherwise
  // be reconnected to in a tight loop. It is reset when a reply shows the link works.
  reader_.reset();
  const LinkSettings& s = engine_.link_settings();
  const std::string& handshake = node_.handshake;
  const std::uint32_t handshake_replies = node_.handshake_replies;
  if (on_push_) {
    last_rx_ = Clock::now();
    keepalive_due_ = {};
    // Subscriber mode: the handshake's replies come through on_data and are only checked.
    out_.append(handshake);
    if (on_ready_) on_ready_();
    flush();
    return;
  }
  if (handshake_replies > 0) {
    // AUTH/SELECT go first; their replies are checked here, not handed to anyone.
    Request hs;
    hs.node = &node_;
    hs.replies = handshake_replies;
    hs.deadline = Clock::now() + s.connect_timeout;
    hs.start = Clock::now();
    out_.append(handshake);
    in_flight_.push_back(std::move(hs));
  }
  while (!waiting_.empty()) {
    out_.append(waiting_.front().payload);
    in_flight_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  flush();
  // The node may have changed role while we were away (a demoted primary): check it now.
  if (reconnected) engine_.report_reconnect(node_);
}

void Connection::enqueue(Request&& request) {
  switch (state_) {
    case State::ready:
      out_.append(request.payload);
      track(std::move(request));
      return;
    case State::connecting:
      waiting_.push_back(std::move(request));
      return;
    case State::backoff:
      if (last_failure_ == errc::tls) {
        engine_.complete(request, Result<Reply>(errc::tls, node_.name + ": " + last_failure_why_));
        return;
      }
      engine_.complete(request, Result<Reply>(errc::connection_lost,
                                              node_.name + ": not connected (reconnecting)"));
      return;
    case State::parked:
      engine_.complete(request, Result<Reply>(errc::connection_lost,
                                              node_.name + ": left the topology"));
      return;
    case State::closed:
      engine_.complete(request, Result<Reply>(errc::shutting_down, "client is shutting down"));
      return;
  }
}

void Connection::enqueue_command(Request&& request, std::span<const std::string_view> words) {
  append_command(out_, words);
  track(std::move(request));
}

void Connection::track(Request&& request) {
  in_flight_.push_back(std::move(request));
  if (!dirty_) {
    dirty_ = true;
    engine_.mark_dirty(this);
  }
}

void Connection::flush() {
  dirty_ = false;
  if (state_ != State::ready || writing_ || out_.empty()) return;
  if (tls_) {
    const bool ok = tls_->send(out_);
    out_.clear();
    if (!ok) {
      fail_tls();
      return;
    }
    send_tls_output();
    return;
  }
  write_wire(out_);
}

void Connection::fail_write(int status) {
  if (tls_ && link_ != nullptr) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&link_->tcp), &fd) == 0) {
      if (std::string alert = tls_alert_after_reset(fd, *tls_); !alert.empty()) {
        fail_link(alert, errc::tls);
        return;
      }
    }
  }
  fail_link("write: " + uv_message(status));
}

void Connection::fail_tls() {
  const std::string why = tls_->error();  // a copy: fail_link() may start the next session
  fail_link(why, errc::tls);
}

void Connection::send_tls_output() {
  tls_->take_output(tls_wire_);
  // The link has one write in flight at most (its buffer is reused): with one out, these
  // bytes wait in tls_wire_ and go when it completes (on_write_done).
  if (!tls_wire_.empty() && !writing_) write_wire(tls_wire_);
}

void Connection::on_tls_data(const char* data, std::size_t size) {
  TcpLink* const link = link_;
  const bool was_established = tls_->established();
  tls_plain_.clear();
  const bool ok = tls_->receive(data, size, tls_plain_);
  send_tls_output();          // handshake flights, or an alert before closing
  if (link_ != link) return;  // that write failed: the link is gone
  if (!ok) {
    fail_tls();
    return;
  }
  if (!was_established && tls_->established()) {
    on_link_ready();
    if (link_ != link || state_ != State::ready) return;
  }
  if (!tls_plain_.empty()) on_data(tls_plain_.data(), tls_plain_.size());
}

void Connection::write_wire(std::string& bytes) {
  // Try the socket directly first: it almost always takes the whole batch, and uv_write would
  // arm write-readiness (an epoll_ctl) for every flush. With a write still queued
  // uv_try_write declines, so bytes never overtake earlier ones.
  auto* stream = reinterpret_cast<uv_stream_t*>(&link_->tcp);
  uv_buf_t direct = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
  const int n = uv_try_write(stream, &direct, 1);
  if (n == static_cast<int>(bytes.size())) {
    bytes.clear();  // keeps its capacity for the next batch
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    fail_write(n);
    return;
  }
  // The socket is full: hand the rest to libuv, which writes it when the socket drains. The
  // buffers swap, so `bytes` gathers the next batch in the link's old one (no copy, no new).
  TcpLink& link = *link_;
  link.writing.swap(bytes);
  bytes.clear();
  if (n > 0) link.writing.erase(0, static_cast<std::size_t>(n));
  link.write.data = &link;
  uv_buf_t buf = uv_buf_init(link.writing.data(), static_cast<unsigned>(link.writing.size()));
  writing_ = true;
  int rc = uv_write(&link.write, stream, &buf, 1, LinkCallbacks::on_write);
  if (rc != 0) {
    writing_ = false;
    fail_link("write: " + uv_message(rc));
  }
}

void Connection::on_write_done(int status) {
  writing_ = false;
  if (status != 0) {
    if (status != UV_ECANCELED) fail_write(status);
    return;
  }
  if (tls_ && !tls_wire_.empty()) write_wire(tls_wire_);  // TLS records that waited
  if (!out_.empty()) flush();
}

void Connection::on_data(const char* data, std::size_t size) {
  if (on_push_) {
    last_rx_ = Clock::now();  // any byte shows the link is alive
    keepalive_due_ = {};
  }
  try {
    reader_.feed(data, size);
    while (auto reply = reader_.next()) {
      if (on_push_) {
        failures_ = 0;  // the link works: the next break reconnects at once
        if (reply->is_array()) {
          on_push_(*reply);
        } else if (reply->is_error()) {
          engine_.log().log(LogLevel::error, node_.name + ": subscriber: " + reply->str());
        }
        continue;
      }
      if (in_flight_.empty()) {
        fail_link("reply with no request waiting for it");
        return;
      }
      Request& front = in_flight_.front();
      if (front.replies > 1) {
        // A batch (MULTI ... EXEC or the handshake): only its last reply is delivered, unless
        // it asked for all of them, but an error on the way is reported for the handshake.
        --front.replies;
        if (front.all_replies) batch_replies_.push_back(std::move(*reply));
        if (!front.callback && !front.done && reply->is_error()) {
          engine_.log().log(LogLevel::error, node_.name + ": handshake: " + reply->str());
        }
        continue;
      }
      // A timed-out request (its callback already ran) is marked done: its late reply is
      // dropped. Checked before the handshake case, which is the other one without callback.
      if (front.done) {
        if (front.all_replies) batch_replies_.clear();
        in_flight_.pop_front();
        failures_ = 0;
        continue;
      }
      if (!front.callback) {
        in_flight_.pop_front();
        if (reply->is_error()) {
          engine_.log().log(LogLevel::error, node_.name + ": handshake: " + reply->str());
        }
        continue;
      }
      failures_ = 0;  // past the handshake and a reply came: the link works
      // Only what completing needs leaves the queue (the callback may send more, which grows
      // it); moving the whole request out cost a move of each of its members.
      ReplyHandler callback = std::move(front.callback);
      Endpoint* const node = front.node;
      const Clock::time_point start = front.start;
      const bool sent = front.fail_with == errc{};
      if (front.all_replies) [[unlikely]] {
        in_flight_.pop_front();
        batch_answered_ = Clock::now();
        std::vector<Reply> all = std::move(batch_replies_);
        batch_replies_.clear();  // moved-from: valid, emptied for the next batch
        all.push_back(std::move(*reply));
        engine_.finish(node, start, sent, callback, Result<Reply>(Reply::array(std::move(all))));
        continue;
      }
      in_flight_.pop_front();
      if (reply->is_error()) {
        engine_.finish(node, start, sent, callback,
                       Result<Reply>(errc::server_error, reply->str()));
      } else {
        engine_.finish(node, start, sent, callback, Result<Reply>(std::move(*reply)));
      }
    }
  } catch (const Error& e) {
    fail_protocol(e.what());
  }
}

void Connection::fail_protocol(const std::string& why) {
  // The reply at the head of the line broke the protocol or a limit: its request fails with
  // protocol_error, and the link closes (nothing after that reply can be trusted), failing
  // the others with connection_lost like any broken link.
  if (!on_push_ && !in_flight_.empty() && in_flight_.front().callback &&
      !in_flight_.front().done) {
    Request r = std::move(in_flight_.front());
    in_flight_.pop_front();
    engine_.complete(r, Result<Reply>(errc::protocol_error, node_.name + ": " + why));
  }
  fail_link(why);
}

void Connection::fail_link(const std::string& why, errc code) {
  stop_resolving();
  last_failure_ = code;
  last_failure_why_ = why;
  tls_wire_.clear();
  if (link_ != nullptr) {
    link_->owner = nullptr;
    auto* handle = reinterpret_cast<uv_handle_t*>(&link_->tcp);
    if (!uv_is_closing(handle)) uv_close(handle, LinkCallbacks::on_close);
    link_ = nullptr;
  }
  writing_ = false;
  out_.clear();
  const bool was_ready = state_ == State::ready;
  // A TLS failure counts as a failed connect even after the handshake: a TLS 1.3 server
  // refuses a client certificate only once the client has finished its side.
  if ((state_ == State::connecting || code == errc::tls) && on_push_ == nullptr) {
    node_.set_last_failure(why);
    engine_.report_connect_failure(node_);
  }
  // The first failure is news; the retries against a node that stays away are not.
  engine_.log().log(failures_ == 0 ? LogLevel::warning : LogLevel::debug, node_.name + ": " + why);
  fail_all(code, node_.name + ": " + why);
  if (state_ == State::closed || state_ == State::parked) return;
  if (was_ready && failures_ == 0) {
    // An established link broke: try once at once (the node may only have dropped us),
    // then back off if that fails too.
    ++failures_;
    connect_now();
    return;
  }
  ++failures_;
  state_ = State::backoff;
  uv_timer_start(&retry_timer_, LinkCallbacks::on_retry,
                 static_cast<std::uint64_t>(backoff_delay().count()), 0);
}

void Connection::fail_all(errc code, const std::string& why) {
  // Move the queues out first: a callback may submit again, which only queues (the engine
  // drains its queue later), but keep this loop independent of that anyway.
  RingQueue<Request> in_flight;
  in_flight.swap(in_flight_);
  batch_replies_.clear();  // a batch cut short by the failure
  RingQueue<Request> waiting;
  waiting.swap(waiting_);
  for (std::size_t i = 0; i < in_flight.size(); ++i) {
    Request& r = in_flight[i];
    if (r.callback && !r.done) engine_.complete(r, Result<Reply>(code, why));
  }
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    engine_.complete(waiting[i], Result<Reply>(code, why));
  }
}

std::chrono::milliseconds Connection::backoff_delay() {
  const auto& s = engine_.link_settings();
  const unsigned shift = failures_ > 1 ? std::min(failures_ - 1, 16u) : 0u;
  auto base = std::min<long long>(s.reconnect_max.count(),
                                  s.reconnect_min.count() * (1LL << shift));
  // +-25 % jitter so that many clients do not reconnect in lock step.
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  auto delay = static_cast<long long>(static_cast<double>(base) * jitter(rng));
  return std::chrono::milliseconds(std::max<long long>(1, delay));
}

void Connection::sweep(Clock::time_point now) {
  if (state_ == State::connecting && now > connect_deadline_) {
    fail_link("connect timed out");
    return;
  }
  // Collect first, complete after: a callback may send again from the loop thread, which
  // appends to in_flight_ or waiting_ (or closes the link and empties them), so no iterator
  // may be held across a callback. Deadlines grow in arrival order (one request_timeout for
  // all), so expiry stops at the first live request still in time.
  std::vector<Request> expired;
  while (!waiting_.empty() && waiting_.front().deadline <= now) {
    expired.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  const std::size_t while_connecting = expired.size();
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    Request& r = in_flight_[i];
    if (r.done || !r.callback) continue;
    if (r.deadline > now) break;
    // It stays in line (marked done, without its callback) so that its late reply, when it
    // comes, is matched to it and dropped.
    r.done = true;
    Request timed_out;
    timed_out.node = r.node;
    timed_out.start = r.start;
    timed_out.callback = std::move(r.callback);
    r.callback = nullptr;
    expired.push_back(std::move(timed_out));
  }
  for (std::size_t i = 0; i < expired.size(); ++i) {
    engine_.complete(expired[i],
                     Result<Reply>(errc::timeout, node_.name + (i < while_connecting
                                                                    ? ": timed out while connecting"
                                                                    : ": no reply in time")));
  }
  const auto keepalive = engine_.link_settings().keepalive;
  if (on_push_ && state_ == State::ready && keepalive.count() > 0) {
    // A subscriber only reads, so a link the peer lost (a host gone, a NAT entry expired)
    // would wait forever: PING it when it has been quiet, reopen it when the PING goes
    // unanswered. A subscribed server answers PING with a "pong" push.
    if (keepalive_due_ != Clock::time_point{} && now > keepalive_due_) {
      keepalive_due_ = {};
      ++failures_;
      fail_link("no answer to a keepalive PING; reopening the link");
      return;
    }
    if (keepalive_due_ == Clock::time_point{} && now - last_rx_ >= keepalive) {
      constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";
      keepalive_due_ = now + engine_.request_timeout();
      send_untracked(std::string(kPing));
    }
  }
  if (state_ == State::ready && !in_flight_.empty()) {
    const Request& front = in_flight_.front();
    Clock::time_point from = std::max(front.start, batch_answered_);
    // A batch that asked for a longer deadline (WAIT's timeout) is not stuck before it.
    if (front.all_replies) from += front.deadline - front.start - engine_.request_timeout();
    if (now - from > engine_.link_settings().stuck_timeout) {
      ++failures_;  // a stuck link counts as a failure: reconnect with backoff
      fail_link("no reply for " + std::to_string(engine_.link_settings().stuck_timeout.count()) +
                " ms; reopening the link");
    }
  }
}

void Connection::set_subscriber(std::function<void(Reply&)> on_push,
                                std::function<void()> on_ready) {
  on_push_ = std::move(on_push);
  on_ready_ = std::move(on_ready);
}

void Connection::send_untracked(std::string bytes) {
  if (state_ != State::ready) return;
  out_.append(bytes);
  if (!dirty_) {
    dirty_ = true;
    engine_.mark_dirty(this);
  }
}

void Connection::park() {
  if (state_ == State::closed || state_ == State::parked) return;
  state_ = State::parked;
  uv_timer_stop(&retry_timer_);
  stop_resolving();
  if (link_ != nullptr) {
    link_->owner = nullptr;
    auto* handle = reinterpret_cast<uv_handle_t*>(&link_->tcp);
    if (!uv_is_closing(handle)) uv_close(handle, LinkCallbacks::on_close);
    link_ = nullptr;
  }
  writing_ = false;
  out_.clear();
  keepalive_due_ = {};
  fail_all(errc::connection_lost, node_.name + ": left the topology");
}

void Connection::unpark() {
  if (state_ != State::parked) return;
  failures_ = 0;
  connect_now();
}

void Connection::shutdown() {
  state_ = State::closed;
  stop_resolving();
  fail_all(errc::shutting_down, "client is shutting down");
  if (link_ != nullptr) {
    link_->owner = nullptr;
    auto* handle = reinterpret_cast<uv_handle_t*>(&link_->tcp);
    if (!uv_is_closing(handle)) uv_close(handle, LinkCallbacks::on_close);
    link_ = nullptr;
  }
  uv_timer_stop(&retry_timer_);
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&retry_timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), nullptr);
  }
}

}  // namespace flyshard::detail
