#pragma once
/// \file tls_certs.hpp
/// Certificates for TLS tests, made at run time with the `openssl` command-line tool (Debian
/// package `openssl`): a CA, a server certificate for 127.0.0.1 and localhost signed by it, a
/// client certificate signed by it, and a second CA that signed none of them (a "wrong CA").
///
/// Test support only: not part of the installed library.

#include <filesystem>
#include <string>

namespace flyshard::testing {

struct TlsCerts {
  std::filesystem::path dir;  ///< holds every file below; removed by the destructor
  std::string ca_file;        ///< the CA certificate (PEM)
  std::string server_cert;    ///< SAN IP:127.0.0.1, DNS:localhost; usable as a client cert too
  std::string server_key;
  std::string client_cert;  ///< CN flyshard-test-client
  std::string client_key;
  std::string other_ca_file;  ///< a CA that signed none of these

  /// Generates every file into a new temp folder. Throws std::runtime_error quoting openssl's
  /// output when it fails.
  TlsCerts();
  ~TlsCerts();
  TlsCerts(const TlsCerts&) = delete;
  TlsCerts& operator=(const TlsCerts&) = delete;
};

}  // namespace flyshard::testing
