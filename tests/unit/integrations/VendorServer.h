#pragma once
// Runs tests/fakes/vendor_server.py for one test: started with the given arguments, its port
// read from its first stdout line, stopped (SIGTERM, then SIGKILL) by the destructor and killed
// by the kernel if the test process dies first (PR_SET_PDEATHSIG). Also a scratch directory
// that removes itself, and a test CA + server certificate made with the openssl command.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace sluice::integrations::testing {

/// A fresh directory under /tmp, removed (recursively) by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  /// Writes `text` to path()/relative (parent directories created); returns the full path.
  std::string write(const std::string& relative, const std::string& text) const;

 private:
  std::string path_;
};

class VendorServer {
 public:
  /// Starts `python3 $SLUICE_SOURCE_DIR/tests/fakes/vendor_server.py args...`. Throws
  /// std::runtime_error (with the reason) if it does not print its port within 15 s.
  explicit VendorServer(std::vector<std::string> args, bool https = false);
  ~VendorServer();
  VendorServer(const VendorServer&) = delete;
  VendorServer& operator=(const VendorServer&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT", or "https://localhost:PORT" when started with TLS.
  std::string url() const;
  /// A control request (no retries); returns the body, throws on a transport error or a
  /// non-2xx status.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = {}) const;

 private:
  void stop();

  pid_t pid_ = -1;
  int port_ = 0;
  bool https_ = false;
};

/// Files of a test PKI: a CA and a server certificate for 'localhost' (only) signed by it.
struct TestPki {
  std::string caCert;
  std::string serverCert;
  std::string serverKey;
};
/// Makes them in `dir` with the openssl command. Throws std::runtime_error when openssl fails.
TestPki makeTestPki(const std::string& dir);

/// $SLUICE_SOURCE_DIR/tests/fakes/vendor_server.py
std::string vendorServerScript();

}  // namespace sluice::integrations::testing
