#include "tls_certs.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace flyshard::testing {

namespace fs = std::filesystem;

TlsCerts::TlsCerts() {
  std::string pattern = (fs::temp_directory_path() / "flyshard-tls-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("flyshard test support: cannot create a temp folder for certificates");
  dir = pattern;
  auto file = [&](const char* name) { return (dir / name).string(); };
  ca_file = file("ca.crt");
  server_cert = file("server.crt");
  server_key = file("server.key");
  client_cert = file("client.crt");
  client_key = file("client.key");
  other_ca_file = file("other-ca.crt");
  // P-256 keys: made in milliseconds, unlike RSA. Valid for two days: long enough for any run.
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
  const std::string script =
      "set -e; cd '" + dir.string() + "'\n" + "openssl req -x509 " + ec +
      " -keyout ca.key -out ca.crt -subj /CN=flyshard-test-ca\n" + "openssl req -x509 " + ec +
      " -keyout other-ca.key -out other-ca.crt -subj /CN=other-ca\n" +
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n" + "openssl req " + ec +
      " -keyout server.key -out server.csr -subj /CN=localhost\n" +
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile server.ext -out server.crt\n" +
      "openssl req " + ec + " -keyout client.key -out client.csr -subj /CN=flyshard-test-client\n" +
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-out client.crt\n";
  const std::string log = file("openssl.log");
  {
    std::ofstream out(file("make-certs.sh"));
    out << script;
  }
  const int rc = std::system(("sh '" + file("make-certs.sh") + "' > '" + log + "' 2>&1").c_str());
  if (rc != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    throw std::runtime_error(
        "flyshard test support: making test certificates with openssl failed "
        "(is the openssl package installed?):\n" +
        text.str());
  }
}

TlsCerts::~TlsCerts() {
  if (std::getenv("FLYSHARD_KEEP_TEMP") != nullptr) return;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace flyshard::testing
