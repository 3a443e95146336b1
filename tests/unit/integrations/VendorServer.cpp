#include "VendorServer.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "integrations/HttpClient.h"

namespace sluice::integrations::testing {

ScratchDir::ScratchDir() {
  char pattern[] = "/tmp/sluice-integrations-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::write(const std::string& relative, const std::string& text) const {
  const std::filesystem::path full = std::filesystem::path(path_) / relative;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream(full, std::ios::binary) << text;
  return full.string();
}

std::string vendorServerScript() {
  return std::string(SLUICE_SOURCE_DIR) + "/tests/fakes/vendor_server.py";
}

VendorServer::VendorServer(std::vector<std::string> args, bool https) : https_(https) {
  args.insert(args.begin(), {"python3", vendorServerScript(), "--port", "0"});
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127);
    }
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execvp("python3", argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[64];
      ssize_t n = read(out[0], buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      line.append(buf, static_cast<size_t>(n));
    }
  }
  close(out[0]);
  port_ = std::atoi(line.c_str());
  if (port_ <= 0) {
    stop();
    throw std::runtime_error("vendor_server.py did not report its port (got '" + line + "')");
  }
}

VendorServer::~VendorServer() { stop(); }

void VendorServer::stop() {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string VendorServer::url() const {
  // The test certificate names "localhost" only (so 127.0.0.1 can test a name mismatch).
  return https_ ? fmt::format("https://localhost:{}", port_)
                : fmt::format("http://127.0.0.1:{}", port_);
}

std::string VendorServer::control(const std::string& method, const std::string& path,
                                  const std::string& body) const {
  HttpClient http(HttpOptions{.insecure = true, .maxAttempts = 1});
  auto response = http.fetch({.url = url() + path, .method = method, .body = body});
  if (!response) {
    throw std::runtime_error(response.error().message());
  }
  return response->body;
}

TestPki makeTestPki(const std::string& dir) {
  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const std::string ext = dir + "/server.ext";
  std::ofstream(ext) << "subjectAltName=DNS:localhost\n";
  const std::string commands = fmt::format(
      "cd '{0}' && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout ca.key -out ca.pem -days 2 -subj '/CN=Sluice test CA' && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout server.key -out server.csr -subj '/CN=localhost' && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 2 -extfile server.ext",
      dir);
  const std::string quiet = "(" + commands + ") > '" + dir + "/openssl.log' 2>&1";
  if (std::system(quiet.c_str()) != 0) {
    throw std::runtime_error("openssl failed; see " + dir + "/openssl.log");
  }
  return pki;
}

}  // namespace sluice::integrations::testing
