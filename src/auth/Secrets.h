#pragma once
// Small primitives shared by the auth module: kernel randomness, text encodings, SHA-256 and
// constant-time comparison. SHA-256 and the comparison are OpenSSL's (libcrypto), not own code.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"

namespace sluice::auth {

/// `count` bytes from getrandom(2) (blocking only until the kernel's pool is initialised, which
/// it is long before sluiced starts). Errors: getrandom's errno.
Result<std::vector<uint8_t>> randomBytes(size_t count);

/// `count` random bytes as unpadded base64url (RFC 4648 §5): 32 bytes → 43 characters. This is
/// the text form of session ids, CSRF tokens and API keys.
Result<std::string> randomToken(size_t count);

/// Unpadded base64url of `bytes`.
std::string base64Url(const uint8_t* bytes, size_t size);

/// SHA-256 of `text` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view text);

/// True when `a` and `b` are equal, in time that depends only on their lengths (CRYPTO_memcmp).
/// Use for every comparison of a secret with a value the client sent.
bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace sluice::auth
