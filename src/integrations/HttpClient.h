#pragma once
// The HTTP(S) client every integration fetches its vendor's API through (libcurl underneath).
// It owns transport policy so the vendors do not each re-invent it: TLS verified by default,
// timeouts on connect and on the whole transfer, a cap on the body size, and bounded retries
// with exponential back-off on the failures that are worth retrying (timeouts, connection
// errors, 429, 5xx), never on a 4xx or a TLS verification failure.
//
// Thread rules: an HttpClient is immutable after construction. fetch() builds its own curl easy
// handle per call, so one client may be shared (std::shared_ptr) and called from several threads
// at once. Tests substitute canned responses by overriding the virtual fetch().

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Error.h"

namespace sluice::integrations {

/// Transport policy of one HttpClient. The worst-case time of one fetch() is
/// maxAttempts × totalTimeoutMs + the back-off sleeps (each at most maxBackoffMs).
struct HttpOptions {
  /// Accept any certificate and host name (LibreQoS's `insecure_ssl`). Off by default; only for
  /// an operator who explicitly opts in for a vendor with a self-signed certificate.
  bool insecure = false;
  /// PEM file of the CA(s) to trust instead of the system store ("" = system store). Tests use it
  /// to verify a server certificate signed by a CA the test made, rather than turning
  /// verification off.
  std::string caFile;
  long connectTimeoutMs = 10'000;  ///< TCP + TLS handshake (LibreQoS's Sonar uses 10 s)
  long totalTimeoutMs = 120'000;   ///< whole transfer of one attempt (LibreQoS's Splynx: 120 s)
  int maxAttempts = 3;             ///< 1 = no retry
  long initialBackoffMs = 2'000;   ///< sleep before the 2nd attempt; doubled for each further one
  long maxBackoffMs = 30'000;      ///< bound on one sleep, also on a server's Retry-After
  /// Largest body accepted (bytes); a larger one is an error (EFBIG), never silently cut.
  size_t maxBodyBytes = 256u << 20;
  std::string userAgent = "sluice-integrations/1";
};

class HttpClient {
 public:
  struct Request {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  ///< name, value
    std::string method = "GET";
    std::string body;
  };
  struct Response {
    long status;       ///< HTTP status code (always 2xx in a successful Result)
    std::string body;  ///< the whole body, as sent (Content-Length checked by libcurl)
  };

  explicit HttpClient(HttpOptions options = {});
  virtual ~HttpClient() = default;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Performs `request`, retrying as HttpOptions says. Only a 2xx answer is a success.
  /// Errors name the method and URL in the context and the cause in the detail:
  ///   a non-2xx status: "HTTP 401" plus the first 200 bytes of the body; errno EACCES for 401
  ///   and 403, ENOENT for 404, EAGAIN for 429, EIO for any other status;
  ///   a timeout (connect or total): ETIMEDOUT; a refused or failed connection: ECONNREFUSED /
  ///   ECONNRESET; a body shorter than its Content-Length: EPIPE ("truncated body"); a body over
  ///   maxBodyBytes: EFBIG; a certificate that fails verification: EPROTO; anything else curl
  ///   reports: EIO with curl's own message. The detail also says how many attempts were made.
  virtual Result<Response> fetch(const Request& request);

  const HttpOptions& options() const { return options_; }

  /// The header of HTTP Basic authentication (RFC 7617): {"Authorization",
  /// "Basic " + base64(user ":" password)}.
  static std::pair<std::string, std::string> basicAuth(std::string_view user,
                                                       std::string_view password);

 private:
  HttpOptions options_;
};

/// Standard base64 (RFC 4648 §4, with '=' padding) of `bytes`.
std::string base64Encode(std::string_view bytes);

}  // namespace sluice::integrations
