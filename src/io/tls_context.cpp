#include "io/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

// OpenSSL's reason for the last failure on this thread, e.g. "no certificate or crl found".
std::string last_ssl_error() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(e);
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::create(const TlsOptions& options,
                                                     const std::string& path) {
  auto fail = [&](const char* field, const std::string& what) {
    throw Error(errc::config, path + (field[0] ? "." : "") + field + ": " + what);
  };
  if (!options.cert_file.empty() && options.key_file.empty())
    fail("key_file", "missing; a client certificate (cert_file) needs its key");
  if (options.cert_file.empty() && !options.key_file.empty())
    fail("cert_file", "missing; key_file is given without its certificate");
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) fail("", "cannot create a TLS context: " + last_ssl_error());
  std::shared_ptr<const TlsContext> ctx(new TlsContext(raw, options));
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_verify(raw, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, options.ca_file.c_str(), nullptr) != 1)
      fail("ca_file", "cannot load " + options.ca_file + ": " + last_ssl_error());
  } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
    fail("ca_file",
         "not given, and the system's default CA paths cannot be loaded: " + last_ssl_error());
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, options.cert_file.c_str()) != 1)
      fail("cert_file", "cannot load " + options.cert_file + ": " + last_ssl_error());
    if (SSL_CTX_use_PrivateKey_file(raw, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      fail("key_file", "cannot load " + options.key_file + ": " + last_ssl_error());
    if (SSL_CTX_check_private_key(raw) != 1)
      fail("key_file",
           options.key_file + " does not match " + options.cert_file + ": " + last_ssl_error());
  }
  return ctx;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

namespace {

// One per process, made at the first rediss:// node without a "tls" section: loading the
// system's CA store costs milliseconds, and the settings never differ.
const std::shared_ptr<const TlsContext>& default_context() {
  static const std::shared_ptr<const TlsContext> context = TlsContext::create(TlsOptions{}, "tls");
  return context;
}

}  // namespace

TlsPeer tls_peer(const std::shared_ptr<const TlsContext>& context, const NodeAddress& node) {
  if (!context && !node.tls) return {};
  const auto& use = context ? context : default_context();
  const std::string& name = use->options().server_name;
  return TlsPeer{use, name.empty() ? node.host : name};
}

std::shared_ptr<const TlsContext> tls_context_for(const std::optional<TlsOptions>& options,
                                                  const std::string& path) {
  if (!options || !options->enabled) return nullptr;
  return TlsContext::create(*options, path);
}

}  // namespace flyshard::detail
