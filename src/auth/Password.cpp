#include "auth/Password.h"

#include <argon2.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "auth/Secrets.h"

namespace sluice::auth {

Result<std::string> hashPassword(std::string_view password, const PasswordParams& params) {
  if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes) {
    return makeError(EINVAL, "password must be 8..1024 bytes");
  }
  auto salt = randomBytes(params.saltBytes);
  if (!salt) {
    return std::unexpected(salt.error());
  }
  const size_t encodedSize = argon2_encodedlen(params.timeCost, params.memoryKiB,
                                               params.parallelism, params.saltBytes,
                                               params.hashBytes, Argon2_id);
  std::vector<char> encoded(encodedSize);
  const int rc = argon2id_hash_encoded(params.timeCost, params.memoryKiB, params.parallelism,
                                       password.data(), password.size(), salt->data(),
                                       salt->size(), params.hashBytes, encoded.data(),
                                       encoded.size());
  if (rc != ARGON2_OK) {
    return makeError(EIO, "argon2id hashing failed", argon2_error_message(rc));
  }
  return std::string(encoded.data());
}

bool verifyPassword(std::string_view password, const std::string& encoded) {
  // The syntax check first: libargon2 would allocate whatever m= a corrupt string names.
  if (!isArgon2idHash(encoded)) {
    return false;
  }
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

namespace {

// Reads a decimal number of at most 10 digits at `text`, advancing it.
std::optional<uint64_t> takeNumber(std::string_view& text) {
  size_t n = 0;
  uint64_t value = 0;
  while (n < text.size() && n < 10 && text[n] >= '0' && text[n] <= '9') {
    value = value * 10 + static_cast<uint64_t>(text[n] - '0');
    ++n;
  }
  if (n == 0 || (n < text.size() && text[n] >= '0' && text[n] <= '9')) {
    return std::nullopt;
  }
  text.remove_prefix(n);
  return value;
}

bool takePrefix(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) {
    return false;
  }
  text.remove_prefix(prefix.size());
  return true;
}

// Unpadded standard base64 (what libargon2 writes for salt and tag) of at least `minChars`.
bool isBase64(std::string_view text, size_t minChars) {
  if (text.size() < minChars || text.size() % 4 == 1) {
    return false;
  }
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

// The PHC string format libargon2 writes (argon2 reference implementation, src/encoding.c):
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt, base64>$<tag, base64>
// Checked syntactically with libargon2's own bounds (argon2.h ARGON2_MIN_*), plus upper bounds
// that keep a hand-edited file from making every login take minutes: m ≤ 4 GiB, t ≤ 64, p ≤ 64.
bool isArgon2idHash(const std::string& encoded) {
  std::string_view text = encoded;
  if (!takePrefix(text, "$argon2id$v=19$m=")) {
    return false;
  }
  const auto m = takeNumber(text);
  if (!m || !takePrefix(text, ",t=")) {
    return false;
  }
  const auto t = takeNumber(text);
  if (!t || !takePrefix(text, ",p=")) {
    return false;
  }
  const auto p = takeNumber(text);
  if (!p || !takePrefix(text, "$")) {
    return false;
  }
  if (*p < ARGON2_MIN_LANES || *p > 64 || *t < ARGON2_MIN_TIME || *t > 64 ||
      *m < 8 * *p || *m > (uint64_t{4} << 20)) {
    return false;
  }
  const size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) {
    return false;
  }
  // Salt ≥ 8 bytes (ARGON2_MIN_SALT_LENGTH) = 11 characters; tag ≥ 4 bytes = 6 characters.
  return isBase64(text.substr(0, dollar), 11) && isBase64(text.substr(dollar + 1), 6);
}

}  // namespace sluice::auth
