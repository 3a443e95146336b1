#include "model/TextEncoding.h"

#include <array>
#include <cstdint>

namespace sluice::model {

namespace {

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

// Windows-1252 bytes 0x80..0x9F (the rest of the code page equals Latin-1). The five bytes the code
// page leaves undefined map to the C1 control of the same value, as Windows itself does.
constexpr std::array<uint16_t, 32> kCp1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

std::string fromWindows1252(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else if (b < 0xA0) {
      appendUtf8(out, kCp1252High[b - 0x80]);
    } else {
      appendUtf8(out, b);
    }
  }
  return out;
}

std::string fromUtf16(std::string_view bytes, bool bigEndian, size_t& firstProblem) {
  std::string out;
  out.reserve(bytes.size() / 2);
  auto unit = [&](size_t i) -> uint32_t {
    const auto a = static_cast<uint8_t>(bytes[i]);
    const auto b = static_cast<uint8_t>(bytes[i + 1]);
    return bigEndian ? (a << 8) | b : (b << 8) | a;
  };
  auto problem = [&](size_t offset) {
    if (firstProblem == std::string::npos) {
      firstProblem = offset;
    }
  };
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    const uint32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < bytes.size()) {
      const uint32_t low = unit(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        appendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) {
      problem(i);
      appendUtf8(out, kReplacement);
      continue;
    }
    appendUtf8(out, u);
  }
  if (i < bytes.size()) {
    problem(i);
  }
  return out;
}

}  // namespace

bool isValidUtf8(std::string_view text, size_t& badOffset) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      badOffset = i;
      return false;
    }
    if (i + len > n) {
      badOffset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        badOffset = i;
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      badOffset = i;
      return false;
    }
    i += len;
  }
  return true;
}

DecodedText decodeToUtf8(std::string_view bytes) {
  DecodedText result;
  auto utf16 = [&](SourceEncoding encoding, size_t bomSize) {
    result.encoding = encoding;
    result.utf8 =
        fromUtf16(bytes.substr(bomSize), encoding == SourceEncoding::Utf16Be, result.firstProblem);
    if (result.firstProblem != std::string::npos) {
      result.firstProblem += bomSize;
    }
    return result;
  };
  size_t bomSize = 0;
  if (bytes.starts_with("\xEF\xBB\xBF")) {
    bytes.remove_prefix(3);
    bomSize = 3;
    result.encoding = SourceEncoding::Utf8Bom;
  } else if (bytes.starts_with("\xFF\xFE")) {
    return utf16(SourceEncoding::Utf16Le, 2);
  } else if (bytes.starts_with("\xFE\xFF")) {
    return utf16(SourceEncoding::Utf16Be, 2);
  }
  // Without a BOM, text whose first characters are ASCII with a zero byte beside each is UTF-16
  // (CSV text never holds NUL characters).
  if (result.encoding == SourceEncoding::Utf8 && bytes.size() >= 4) {
    const bool zeroOdd = bytes[0] != 0 && bytes[1] == 0 && bytes[2] != 0 && bytes[3] == 0;
    const bool zeroEven = bytes[0] == 0 && bytes[1] != 0 && bytes[2] == 0 && bytes[3] != 0;
    if (zeroOdd || zeroEven) {
      return utf16(zeroOdd ? SourceEncoding::Utf16Le : SourceEncoding::Utf16Be, 0);
    }
  }
  size_t bad = 0;
  if (isValidUtf8(bytes, bad)) {
    result.borrowed = bytes;
    return result;
  }
  result.encoding = SourceEncoding::Windows1252;
  result.firstProblem = bad + bomSize;
  result.utf8 = fromWindows1252(bytes);
  return result;
}

const char* encodingName(SourceEncoding encoding) {
  switch (encoding) {
    case SourceEncoding::Utf8:
      return "UTF-8";
    case SourceEncoding::Utf8Bom:
      return "UTF-8 with BOM";
    case SourceEncoding::Utf16Le:
      return "UTF-16 LE";
    case SourceEncoding::Utf16Be:
      return "UTF-16 BE";
    case SourceEncoding::Windows1252:
      return "Windows-1252";
  }
  return "?";
}

}  // namespace sluice::model
