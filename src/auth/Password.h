#pragma once
// Operator passwords: argon2id (RFC 9106) through Debian's libargon2, PHC-encoded strings
// ("$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>") so the parameters travel with each hash and
// can be raised later without invalidating stored passwords.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Error.h"

namespace sluice::auth {

/// argon2id cost parameters. Verification always uses the parameters stored in the encoded hash;
/// these only apply to new hashes.
struct PasswordParams {
  uint32_t timeCost = 3;          ///< t: passes over memory
  uint32_t memoryKiB = 64 * 1024;  ///< m: memory in KiB
  uint32_t parallelism = 4;       ///< p: lanes (libargon2 runs one thread per lane)
  uint32_t saltBytes = 16;        ///< RFC 9106 §3.1: 128-bit salt
  uint32_t hashBytes = 32;        ///< tag length: 256 bits
};

/// The parameters Sluice hashes with: RFC 9106 §4, "second recommended option" (t=3, m=64 MiB,
/// p=4) for machines that cannot spend 2 GiB per hash (the first option). Measured on the
/// development machine (2 shared cores, libargon2 0~20171227): one verification costs ~180 ms of
/// CPU, 125 ms of wall time on a quiet machine (4 lanes on 2 cores), ~480 ms at load average 12
/// (bench/auth: bench_auth; docs/auth.md). 64 MiB per concurrent login is bounded by the login
/// rate limit and by Authenticator's cap on concurrent verifications.
inline constexpr PasswordParams kDefaultPasswordParams{};

/// Passwords outside these lengths (bytes) are refused when set: NIST SP 800-63B §5.1.1.2 asks
/// for at least 8 characters and at least 64 allowed; the upper bound keeps request bodies sane.
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

/// Hashes `password` with a fresh random salt (getrandom(2)). Returns the PHC-encoded string.
/// Errors: EINVAL for a password outside kMin/kMaxPasswordBytes ("password must be 8..1024
/// bytes"); EIO with libargon2's message if hashing fails (e.g. memory); getrandom's errno.
Result<std::string> hashPassword(std::string_view password,
                                 const PasswordParams& params = kDefaultPasswordParams);

/// True when `password` matches `encoded` (an argon2id PHC string). libargon2 compares the tags in
/// constant time. A malformed `encoded` or another argon2 variant is simply false (callers
/// validate stored hashes when loading the users file: isArgon2idHash()).
bool verifyPassword(std::string_view password, const std::string& encoded);

/// True when `encoded` is a well-formed argon2id PHC string (version 19, m/t/p within libargon2's
/// minimums and m ≤ 4 GiB, t ≤ 64, p ≤ 64, salt ≥ 8 bytes, tag ≥ 4 bytes). A syntax check, no
/// hashing. Used to reject a corrupt users file on load rather than failing every login later.
bool isArgon2idHash(const std::string& encoded);

}  // namespace sluice::auth
