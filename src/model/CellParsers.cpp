#include "model/CellParsers.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/IpNet.h"

namespace sluice::model {

std::string_view trimBlanks(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<double> parseDecimal(std::string_view text) {
  double v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

namespace {

std::optional<SqmKind> parseSqmSide(std::string_view token) {
  if (token.empty()) {
    return SqmKind::Default;
  }
  if (token == "cake") {
    return SqmKind::Cake;
  }
  if (token == "fq_codel") {
    return SqmKind::FqCodel;
  }
  if (token == "none") {
    return SqmKind::None;
  }
  return std::nullopt;
}

}  // namespace

SqmCell parseSqmCell(std::string_view cell) {
  const auto token = lowerAscii(trimBlanks(cell));
  const std::string_view view(token);
  const auto slash = view.find('/');
  const auto down = trimBlanks(view.substr(0, slash));
  const auto up = slash == std::string_view::npos ? down : trimBlanks(view.substr(slash + 1));
  const auto downKind = parseSqmSide(down);
  const auto upKind = parseSqmSide(up);
  if (!downKind) {
    return SqmCell{std::nullopt, std::string(down)};
  }
  if (!upKind) {
    return SqmCell{std::nullopt, std::string(up)};
  }
  return SqmCell{SqmOverride{*downKind, *upKind}, {}};
}

AddressProblem diagnoseBadAddress(std::string_view token, bool wantV4) {
  const char* wanted = wantV4 ? "IPv4" : "IPv6";
  const auto slash = token.find('/');
  const std::string host(token.substr(0, slash));
  in_addr v4{};
  in6_addr v6{};
  const bool hostIsV4 = inet_pton(AF_INET, host.c_str(), &v4) == 1;
  const bool hostIsV6 = !hostIsV4 && inet_pton(AF_INET6, host.c_str(), &v6) == 1;
  if (hostIsV6 && IN6_IS_ADDR_V4MAPPED(&v6)) {
    return {"address-wrong-column",
            "IPv4-mapped IPv6 address; write it as IPv4 in the IPv4 column"};
  }
  if ((hostIsV4 && !wantV4) || (hostIsV6 && wantV4)) {
    return {"address-wrong-column",
            fmt::format("{} address in the {} column", hostIsV4 ? "IPv4" : "IPv6", wanted)};
  }
  if ((hostIsV4 || hostIsV6) && slash != std::string_view::npos) {
    // The address itself is fine, so either the prefix length is bad or host bits are set.
    const unsigned maxLen = hostIsV4 ? 32 : 128;
    unsigned len = 0;
    const auto lenText = token.substr(slash + 1);
    const auto [p, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
    if (lenText.empty() || ec != std::errc{} || p != lenText.data() + lenText.size() ||
        len > maxLen) {
      return {"bad-address",
              fmt::format("{} prefix length is not a number in 0..{}", wanted, maxLen)};
    }
    return {"bad-address", fmt::format("{} prefix has host bits set beyond /{}", wanted, len)};
  }
  return {"bad-address", fmt::format("not an {} address or prefix", wanted)};
}

}  // namespace sluice::model
