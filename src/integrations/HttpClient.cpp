#include "integrations/HttpClient.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sluice::integrations {
namespace {

// One attempt's outcome: a response (any status) or a transport failure.
struct Attempt {
  bool transportOk = false;
  HttpClient::Response response{0, {}};
  int errnum = 0;
  std::string cause;
  bool retryable = false;
  long retryAfterMs = -1;  // from a Retry-After header (seconds form), -1 = none
};

struct Transfer {
  std::string body;
  size_t maxBodyBytes = 0;
  bool overflowed = false;
  long retryAfterMs = -1;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->body.size() + bytes > transfer->maxBodyBytes) {
    transfer->overflowed = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, bytes);
  return bytes;
}

// Keeps only Retry-After (RFC 9110 §10.2.3), in its delay-seconds form; the HTTP-date form is
// ignored (the back-off schedule applies then).
size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == kName) {
      auto value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      long seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && seconds >= 0) {
        transfer->retryAfterMs = seconds * 1000;
      }
    }
  }
  return bytes;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Which curl failures are worth another attempt, and the errno that names them.
void classify(CURLcode code, const Transfer& transfer, Attempt& out) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      out.errnum = ETIMEDOUT;
      out.retryable = true;
      break;
    case CURLE_COULDNT_CONNECT:
      out.errnum = ECONNREFUSED;
      out.retryable = true;
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
      out.errnum = EHOSTUNREACH;
      out.retryable = true;
      break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      out.errnum = ECONNRESET;
      out.retryable = true;
      break;
    case CURLE_PARTIAL_FILE:
      out.errnum = EPIPE;
      out.retryable = true;
      break;
    case CURLE_FILESIZE_EXCEEDED:
      out.errnum = EFBIG;
      break;
    case CURLE_WRITE_ERROR:
      out.errnum = transfer.overflowed ? EFBIG : EIO;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      out.errnum = EPROTO;
      break;
    default:
      out.errnum = EIO;
      break;
  }
}

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

Attempt performOnce(const HttpClient::Request& request, const HttpOptions& options) {
  Attempt out;
  EasyHandle easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) {
    out.errnum = ENOMEM;
    out.cause = "curl_easy_init failed";
    return out;
  }
  CURL* h = easy.get();
  Transfer transfer;
  transfer.maxBodyBytes = options.maxBodyBytes;
  char errorText[CURL_ERROR_SIZE] = {};

  HeaderList headers(nullptr, &curl_slist_free_all);
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), fmt::format("{}: {}", name, value).c_str()));
  }
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: safe in threads
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options.totalTimeoutMs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.userAgent.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl can decode
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.maxBodyBytes));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.insecure ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.insecure ? 0L : 2L);
  if (!options.caFile.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options.caFile.c_str());
  }
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
  }

  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    classify(code, transfer, out);
    out.cause = transfer.overflowed
                    ? fmt::format("body larger than {} bytes", options.maxBodyBytes)
                    : fmt::format("{}{}", errorText[0] != 0 ? errorText : curl_easy_strerror(code),
                                  code == CURLE_PARTIAL_FILE ? " (truncated body)" : "");
    return out;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.transportOk = true;
  out.response = HttpClient::Response{status, std::move(transfer.body)};
  out.retryAfterMs = transfer.retryAfterMs;
  return out;
}

int errnoForStatus(long status) {
  switch (status) {
    case 401:
    case 403:
      return EACCES;
    case 404:
      return ENOENT;
    case 429:
      return EAGAIN;
    default:
      return EIO;
  }
}

// The first bytes of an error body, on one line, so a vendor's error text reaches the operator.
std::string bodyExcerpt(std::string_view body) {
  constexpr size_t kMax = 200;
  std::string out(body.substr(0, kMax));
  std::ranges::replace_if(out, [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > kMax) {
    out += "...";
  }
  return out;
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { initCurlOnce(); }

Result<HttpClient::Response> HttpClient::fetch(const Request& request) {
  const std::string context = fmt::format("{} {}", request.method, request.url);
  const int attempts = std::max(1, options_.maxAttempts);
  long backoffMs = options_.initialBackoffMs;
  for (int attempt = 1;; ++attempt) {
    Attempt result = performOnce(request, options_);
    bool retryable = result.retryable;
    if (result.transportOk) {
      const long status = result.response.status;
      if (status >= 200 && status < 300) {
        return std::move(result.response);
      }
      result.errnum = errnoForStatus(status);
      result.cause = fmt::format("HTTP {}", status);
      if (!result.response.body.empty()) {
        result.cause += ": " + bodyExcerpt(result.response.body);
      }
      retryable = status == 429 || status >= 500;
    }
    if (!retryable || attempt >= attempts) {
      return makeError(result.errnum, context,
                       fmt::format("{}; {} attempt{}", result.cause, attempt,
                                   attempt == 1 ? "" : "s"));
    }
    long sleepMs = result.retryAfterMs >= 0 ? result.retryAfterMs : backoffMs;
    sleepMs = std::min(sleepMs, options_.maxBackoffMs);
    spdlog::warn("{}: {}; retrying in {} ms (attempt {} of {})", context, result.cause, sleepMs,
                 attempt + 1, attempts);
    std::this_thread::sleep_for(std::chrono::milliseconds(sleepMs));
    backoffMs = std::min(backoffMs * 2, options_.maxBackoffMs);
  }
}

std::pair<std::string, std::string> HttpClient::basicAuth(std::string_view user,
                                                          std::string_view password) {
  std::string credentials;
  credentials.reserve(user.size() + 1 + password.size());
  credentials.append(user).append(":").append(password);
  return {"Authorization", "Basic " + base64Encode(credentials)};
}

std::string base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                       uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) {
      n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    }
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sluice::integrations
