#include "radius/Packet.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

namespace sluice::radius {

namespace {

constexpr size_t kAuthOffset = 4;

size_t lengthField(std::span<const uint8_t> d) {
  return (static_cast<size_t>(d[2]) << 8) | d[3];
}

Authenticator md5(std::span<const uint8_t> a, std::span<const uint8_t> b,
                  std::span<const uint8_t> c, std::string_view secret) {
  Authenticator out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned len = 0;
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestUpdate(ctx, c.data(), c.size());
  EVP_DigestUpdate(ctx, secret.data(), secret.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

Authenticator hmacMd5(std::span<const uint8_t> data, std::string_view secret) {
  Authenticator out{};
  unsigned len = 0;
  HMAC(EVP_md5(), secret.data(), static_cast<int>(secret.size()), data.data(), data.size(),
       out.data(), &len);
  return out;
}

/// Offset of the Message-Authenticator value inside an encoded packet, or nullopt.
std::optional<size_t> messageAuthenticatorOffset(std::span<const uint8_t> d, bool& badLength) {
  badLength = false;
  for (size_t pos = kHeaderBytes; pos + 2 <= d.size();) {
    const uint8_t type = d[pos];
    const uint8_t len = d[pos + 1];
    if (type == attr::kMessageAuthenticator) {
      badLength = len != 18;
      return pos + 2;
    }
    if (len < 2) {
      return std::nullopt;
    }
    pos += len;
  }
  return std::nullopt;
}

}  // namespace

const Attribute* Packet::find(uint8_t type) const {
  for (const auto& a : attributes) {
    if (a.type == type) {
      return &a;
    }
  }
  return nullptr;
}

std::optional<std::vector<uint8_t>> Packet::findVendor(uint32_t vendorId,
                                                       uint8_t vendorType) const {
  for (const auto& a : attributes) {
    if (a.type != attr::kVendorSpecific || a.value.size() < 6) {
      continue;
    }
    const auto& v = a.value;
    const uint32_t id =
        (uint32_t{v[0]} << 24) | (uint32_t{v[1]} << 16) | (uint32_t{v[2]} << 8) | v[3];
    if (id != vendorId) {
      continue;
    }
    for (size_t pos = 4; pos + 2 <= v.size();) {
      const uint8_t t = v[pos];
      const uint8_t len = v[pos + 1];
      if (len < 2 || pos + len > v.size()) {
        break;
      }
      if (t == vendorType) {
        return std::vector<uint8_t>(v.begin() + static_cast<long>(pos) + 2,
                                    v.begin() + static_cast<long>(pos + len));
      }
      pos += len;
    }
  }
  return std::nullopt;
}

Result<Packet> parse(std::span<const uint8_t> d) {
  if (d.size() < kHeaderBytes) {
    return makeError(EBADMSG, "radius packet",
                     fmt::format("{} octets, below the 20-octet header", d.size()));
  }
  const size_t length = lengthField(d);
  if (length < kHeaderBytes || length > kMaxPacketBytes || length > d.size()) {
    return makeError(EBADMSG, "radius packet",
                     fmt::format("Length field {} with {} octets received", length, d.size()));
  }
  Packet p;
  p.code = static_cast<Code>(d[0]);
  p.identifier = d[1];
  std::copy_n(d.begin() + kAuthOffset, 16, p.authenticator.begin());
  for (size_t pos = kHeaderBytes; pos < length;) {
    if (pos + 2 > length || d[pos + 1] < 2 || pos + d[pos + 1] > length) {
      return makeError(EBADMSG, "radius packet",
                       fmt::format("malformed attribute at offset {}", pos));
    }
    const uint8_t len = d[pos + 1];
    p.attributes.push_back(
        Attribute{d[pos], std::vector<uint8_t>(d.begin() + static_cast<long>(pos) + 2,
                                               d.begin() + static_cast<long>(pos + len))});
    pos += len;
  }
  return p;
}

Result<std::vector<uint8_t>> encode(const Packet& p) {
  std::vector<uint8_t> out(kHeaderBytes);
  out[0] = static_cast<uint8_t>(p.code);
  out[1] = p.identifier;
  std::copy(p.authenticator.begin(), p.authenticator.end(), out.begin() + kAuthOffset);
  for (const auto& a : p.attributes) {
    if (a.value.size() > 253) {
      return makeError(EMSGSIZE, "radius encode",
                       fmt::format("attribute {} has {} octets (max 253)", a.type, a.value.size()));
    }
    out.push_back(a.type);
    out.push_back(static_cast<uint8_t>(a.value.size() + 2));
    out.insert(out.end(), a.value.begin(), a.value.end());
  }
  if (out.size() > kMaxPacketBytes) {
    return makeError(EMSGSIZE, "radius encode", fmt::format("{} octets (max 4096)", out.size()));
  }
  out[2] = static_cast<uint8_t>(out.size() >> 8);
  out[3] = static_cast<uint8_t>(out.size() & 0xFF);
  return out;
}

bool verifyRequestAuthenticator(std::span<const uint8_t> d, std::string_view secret) {
  if (d.size() < kHeaderBytes) {
    return false;
  }
  const Authenticator zero{};
  const auto expect = md5(d.first(kAuthOffset), zero, d.subspan(kHeaderBytes), secret);
  return CRYPTO_memcmp(expect.data(), d.data() + kAuthOffset, 16) == 0;
}

std::optional<bool> verifyMessageAuthenticator(std::span<const uint8_t> d,
                                               std::string_view secret) {
  bool badLength = false;
  const auto off = messageAuthenticatorOffset(d, badLength);
  if (!off) {
    return std::nullopt;
  }
  if (badLength) {
    return false;
  }
  std::vector<uint8_t> copy(d.begin(), d.end());
  std::fill_n(copy.begin() + kAuthOffset, 16, 0);
  std::fill_n(copy.begin() + static_cast<long>(*off), 16, 0);
  const auto expect = hmacMd5(copy, secret);
  return CRYPTO_memcmp(expect.data(), d.data() + *off, 16) == 0;
}

Result<std::vector<uint8_t>> encodeRequest(Packet packet, std::string_view secret) {
  packet.authenticator = {};
  for (auto& a : packet.attributes) {
    if (a.type == attr::kMessageAuthenticator) {
      a.value.assign(16, 0);
    }
  }
  auto bytes = encode(packet);
  if (!bytes) {
    return bytes;
  }
  bool badLength = false;
  if (const auto off = messageAuthenticatorOffset(*bytes, badLength)) {
    const auto mac = hmacMd5(*bytes, secret);
    std::copy(mac.begin(), mac.end(), bytes->begin() + static_cast<long>(*off));
  }
  const Authenticator zero{};
  const auto auth = md5(std::span(*bytes).first(kAuthOffset), zero,
                        std::span(*bytes).subspan(kHeaderBytes), secret);
  std::copy(auth.begin(), auth.end(), bytes->begin() + kAuthOffset);
  return bytes;
}

Result<std::vector<uint8_t>> encodeResponse(Packet response, const Authenticator& requestAuth,
                                            std::string_view secret) {
  response.authenticator = requestAuth;
  auto bytes = encode(response);
  if (!bytes) {
    return bytes;
  }
  const auto auth = md5(std::span(*bytes).first(kAuthOffset), requestAuth,
                        std::span(*bytes).subspan(kHeaderBytes), secret);
  std::copy(auth.begin(), auth.end(), bytes->begin() + kAuthOffset);
  return bytes;
}

std::optional<uint32_t> asUint32(const std::vector<uint8_t>& v) {
  if (v.size() != 4) {
    return std::nullopt;
  }
  return (uint32_t{v[0]} << 24) | (uint32_t{v[1]} << 16) | (uint32_t{v[2]} << 8) | v[3];
}

std::vector<uint8_t> fromUint32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

std::vector<uint8_t> fromString(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace sluice::radius
