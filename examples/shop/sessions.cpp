#include "sessions.hpp"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keys.hpp"

namespace shop {

namespace {

constexpr std::size_t kUidHex = 16;
constexpr std::size_t kSecretHex = 32;
constexpr auto kSessionTtl = std::chrono::hours(24 * 30);

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return to_hex(md, len);
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return to_hex(buf.data(), bytes);
}

std::string Sessions::create() {
  std::string uid = random_hex(kUidHex / 2);
  std::string secret = random_hex(kSecretHex / 2);
  flyshard::SetOptions opts;
  opts.ttl = kSessionTtl;
  opts.only_if_absent = true;  // a 64-bit collision would hand someone else's cart over
  if (!client_.set(keys::session(uid), sha256_hex(secret), opts))
    throw std::runtime_error("session id collision");
  return uid + "." + secret;
}

std::optional<std::string> Sessions::authenticate(std::string_view authorization) {
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.substr(0, bearer.size()) != bearer) return std::nullopt;
  std::string_view token = authorization.substr(bearer.size());
  if (token.size() != kUidHex + 1 + kSecretHex || token[kUidHex] != '.') return std::nullopt;
  std::string_view uid = token.substr(0, kUidHex);
  std::string_view secret = token.substr(kUidHex + 1);
  if (!is_hex(uid) || !is_hex(secret)) return std::nullopt;
  auto stored = client_.get(keys::session(uid));
  if (!stored) return std::nullopt;
  const std::string expected = sha256_hex(secret);
  if (stored->size() != expected.size() ||
      CRYPTO_memcmp(stored->data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  return std::string(uid);
}

}  // namespace shop
