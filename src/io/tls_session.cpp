#include "io/tls_session.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <climits>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

constexpr std::size_t kReadChunk = 16 * 1024;  // one TLS record's worth of plaintext

}  // namespace

TlsSession::TlsSession(const TlsPeer& peer) {
  ERR_clear_error();
  ssl_ = SSL_new(peer.context->native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    throw Error(errc::tls, "cannot create a TLS session (out of memory)");
  }
  // A memory BIO at its end says "retry" rather than EOF: the socket, not the BIO, says when
  // the peer closed.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  const bool ip = is_ip_literal(peer.host);
  // SNI is for host names only (RFC 6066 forbids IP literals in it).
  if (!ip && !peer.host.empty()) SSL_set_tlsext_host_name(ssl_, peer.host.c_str());
  if (peer.context->options().verify && !peer.host.empty()) {
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), peer.host.c_str())
                      : SSL_set1_host(ssl_, peer.host.c_str());
    if (ok != 1) {
      SSL_free(ssl_);
      throw Error(errc::tls, "cannot check the server's name against \"" + peer.host + "\"");
    }
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

bool TlsSession::start() {
  return advance();
}

bool TlsSession::advance() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return true;
  }
  return failed(rc);
}

bool TlsSession::failed(int rc) {
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  const char* where = established_ ? "TLS: " : "TLS handshake failed: ";
  if (e == SSL_ERROR_ZERO_RETURN) {
    error_ = std::string(where) + "the server closed the TLS session";
    return false;
  }
  const unsigned long err = ERR_peek_last_error();
  std::string reason;
  if (err != 0) {
    const char* r = ERR_reason_error_string(err);
    reason = r != nullptr ? r : "OpenSSL error " + std::to_string(err);
  } else {
    reason = "TLS protocol failure";
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) reason += std::string(": ") + X509_verify_cert_error_string(verify);
  ERR_clear_error();
  error_ = where + reason;
  return false;
}

bool TlsSession::receive(const char* data, std::size_t size, std::string& plain) {
  while (size > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    if (BIO_write(in_, data, chunk) != chunk) {
      error_ = "TLS: out of memory";
      return false;
    }
    data += chunk;
    size -= static_cast<std::size_t>(chunk);
  }
  if (!established_) {
    if (!advance()) return false;
    if (!established_) return true;
  }
  // Everything decryptable is taken now: the caller polls the socket, not the session, so
  // plaintext left inside the session would wait for the next packet.
  for (;;) {
    const std::size_t old = plain.size();
    plain.resize(old + kReadChunk);
    ERR_clear_error();
    const int n = SSL_read(ssl_, plain.data() + old, static_cast<int>(kReadChunk));
    if (n > 0) {
      plain.resize(old + static_cast<std::size_t>(n));
      continue;
    }
    plain.resize(old);
    return failed(n);
  }
}

bool TlsSession::send(std::string_view plain) {
  while (!plain.empty()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(plain.size(), INT_MAX));
    ERR_clear_error();
    // A memory BIO takes everything, so SSL_write never writes part of a chunk.
    const int n = SSL_write(ssl_, plain.data(), chunk);
    if (n <= 0) {
      failed(n);
      if (error_.empty()) error_ = "TLS: cannot encrypt";
      return false;
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TlsSession::has_output() const noexcept {
  return BIO_ctrl_pending(out_) > 0;
}

void TlsSession::take_output(std::string& out) {
  const std::size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const std::size_t old = out.size();
  out.resize(old + pending);
  const int n = BIO_read(out_, out.data() + old, static_cast<int>(pending));
  out.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
}

std::string tls_alert_after_reset(int fd, TlsSession& session) {
  char buf[4096];
  std::string plain;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return {};
    if (!session.receive(buf, static_cast<std::size_t>(n), plain)) return session.error();
  }
}

}  // namespace flyshard::detail
