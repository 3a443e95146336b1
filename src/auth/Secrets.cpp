#include "auth/Secrets.h"

#include <sys/random.h>

#include <cerrno>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace sluice::auth {

Result<std::vector<uint8_t>> randomBytes(size_t count) {
  std::vector<uint8_t> out(count);
  size_t done = 0;
  while (done < count) {
    const ssize_t n = ::getrandom(out.data() + done, count - done, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return makeError(errno, "getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<std::string> randomToken(size_t count) {
  auto bytes = randomBytes(count);
  if (!bytes) {
    return std::unexpected(bytes.error());
  }
  return base64Url(bytes->data(), bytes->size());
}

std::string base64Url(const uint8_t* bytes, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size - i == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (size - i == 2) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string sha256Hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  // The lengths of tokens and hashes are public (fixed by the format); only the bytes are secret.
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sluice::auth
