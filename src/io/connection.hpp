#pragma once
// One multiplexed link (TCP or Unix socket) to one node, on the loop thread. A host name is
// resolved again before every connect, on libuv's thread pool. Requests are written in arrival
// order and their replies matched first-in first-out; a request past its deadline completes
// with errc::timeout and its late reply is dropped when it comes.

#include <uv.h>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/request.hpp"
#include "io/resolver.hpp"
#include "io/resp.hpp"
#include "io/ring_queue.hpp"
#include "io/tls_session.hpp"

namespace flyshard::detail {

class Engine;
struct Endpoint;
struct TcpLink;
struct ResolveJob;

class Connection {
 public:
  Connection(Engine& engine, Endpoint& node);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Opens the link (loop thread, or before the loop runs).
  void start();
  /// Takes a request: written at the end of this loop turn, queued while connecting, failed
  /// at once (connection_lost) while backing off after a failure.
  void enqueue(Request&& request);
  /// enqueue() for a ready() link and a request without payload: `words` are encoded straight
  /// into the write buffer (no payload string per request).
  void enqueue_command(Request&& request, std::span<const std::string_view> words);
  /// Connected: enqueue() only buffers (it never completes a request inline).
  bool ready() const noexcept { return state_ == State::ready; }
  /// Writes what enqueue() gathered, in one write.
  void flush();
  /// Expires requests past their deadline and handles connect timeouts and stuck links.
  void sweep(Clock::time_point now);
  /// Fails everything with shutting_down and closes the handles.
  void shutdown();
  /// Closes the link and stops reconnecting (its node left the topology): what is queued or
  /// in flight fails with connection_lost, and so does whatever is enqueued until unpark().
  void park();
  /// Reopens a parked link (its node was announced again). No-op unless parked.
  void unpark();

  /// Subscriber mode (Pub/Sub): every reply goes to `on_push` instead of a request, and
  /// `on_ready` runs after each (re)connect so subscriptions can be restored. Set before
  /// start().
  void set_subscriber(std::function<void(Reply&)> on_push, std::function<void()> on_ready);
  /// Subscriber mode: writes a command whose replies arrive through on_push. Dropped while
  /// not connected (on_ready restores the state after a reconnect).
  void send_untracked(std::string bytes);

 private:
  enum class State { connecting, ready, backoff, parked, closed };
  friend struct LinkCallbacks;

  void connect_now();
  void on_resolved(Result<std::vector<SocketAddress>> addresses);
  void open_link(const SocketAddress* address);  // nullptr: the node's Unix socket
  void stop_resolving();
  void on_connected(int status);
  void on_link_ready();  // TCP connected and, with TLS, the handshake done
  void on_data(const char* data, std::size_t size);
  void on_tls_data(const char* data, std::size_t size);
  void send_tls_output();
  void fail_tls();
  void fail_write(int status);          // a write failed: names a TLS alert the peer sent first
  void write_wire(std::string& bytes);  // hands bytes to the socket (and clears them)
  void on_write_done(int status);
  void fail_link(const std::string& why, errc code = errc::connection_lost);
  void fail_protocol(const std::string& why);
  void fail_all(errc code, const std::string& why);
  std::chrono::milliseconds backoff_delay();
  /// A request whose bytes are in out_: in line for its reply, and the link due a flush.
  void track(Request&& request);

  Engine& engine_;
  Endpoint& node_;
  State state_ = State::closed;
  TcpLink* link_ = nullptr;  // heap: freed in its close callback, may outlive a reconnect
  ResolveJob* resolving_ = nullptr;       // heap: freed when the thread pool hands it back
  std::vector<SocketAddress> addresses_;  // this connect's addresses, tried in order
  std::size_t next_address_ = 0;
  uv_timer_t retry_timer_{};
  Clock::time_point connect_deadline_{};
  unsigned failures_ = 0;    // failed links in a row; 0 once a link got a reply
  bool ever_connected_ = false;
  bool writing_ = false;     // a uv_write is in flight
  bool dirty_ = false;       // registered with the engine for this turn's flush
  std::string out_;          // bytes gathered for the next write
  RingQueue<Request> waiting_;    // taken while connecting, not yet written
  RingQueue<Request> in_flight_;  // written (or in out_), reply not yet read
  ReplyReader reader_;
  std::function<void(Reply&)> on_push_;  // set: subscriber mode
  std::function<void()> on_ready_;
  Clock::time_point last_rx_{};      // subscriber mode: when the server last sent a byte
  // When the last all-replies batch (write_and_wait: WAIT holds the link up to its timeout)
  // was answered: the requests queued behind it count as stuck from then, not from their own
  // start, which may be that long ago.
  Clock::time_point batch_answered_{};
  // The replies so far of the all-replies batch at the head of in_flight_ (only the head
  // request can be receiving); emptied when it completes or the link fails.
  std::vector<Reply> batch_replies_;
  Clock::time_point keepalive_due_{};  // a keepalive PING is out: its answer is due by then
  // TLS (node_.tls set): the session of the current link, its ciphertext to send, and the
  // plaintext it decrypted from the last read (both kept for their capacity).
  std::unique_ptr<TlsSession> tls_;
  std::string tls_wire_;
  std::string tls_plain_;
  // Why the last link failed, for requests refused while backing off: a TLS failure keeps
  // its code and reason, so a caller sees "certificate verify failed", not "reconnecting".
  errc last_failure_ = errc::connection_lost;
  std::string last_failure_why_;
};

}  // namespace flyshard::detail
