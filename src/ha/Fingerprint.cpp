#include "ha/Fingerprint.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace sluice::ha {

namespace {

struct DigestDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestDeleter>;

Digest newDigest() {
  Digest ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  return ctx;
}

std::string finish(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += fmt::format("{:02x}", out[i]);
  }
  return hex;
}

}  // namespace

std::string sha256Hex(std::string_view bytes) {
  Digest ctx = newDigest();
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  return finish(ctx.get());
}

Result<std::string> sha256File(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return makeError(errno, "open " + path);
  }
  Digest ctx = newDigest();
  std::vector<char> block(1 << 20);
  for (;;) {
    const ssize_t n = read(fd, block.data(), block.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int saved = errno;
      close(fd);
      return makeError(saved, "read " + path);
    }
    if (n == 0) {
      break;
    }
    EVP_DigestUpdate(ctx.get(), block.data(), static_cast<size_t>(n));
  }
  close(fd);
  return finish(ctx.get());
}

std::string planFingerprint(const plan::QueuePlan& plan) {
  Digest ctx = newDigest();
  std::string line;
  const auto add = [&] {
    line += '\n';
    EVP_DigestUpdate(ctx.get(), line.data(), line.size());
    line.clear();
  };
  for (const plan::NodePlacement& n : plan.nodes) {
    line = fmt::format("node {} {} {} {:.6f} {:.6f}", n.name, n.generated, n.isVirtual,
                       n.downloadMaxMbps, n.uploadMaxMbps);
    add();
  }
  for (const plan::CircuitPlacement& c : plan.circuits) {
    const std::string parent =
        c.parentPlacement >= 0 && static_cast<size_t>(c.parentPlacement) < plan.nodes.size()
            ? plan.nodes[static_cast<size_t>(c.parentPlacement)].name
            : "";
    line = fmt::format("circuit {} {} {:.6f} {:.6f} {:.6f} {:.6f}", c.circuitId, parent,
                       c.downloadMinMbps, c.uploadMinMbps, c.downloadMaxMbps, c.uploadMaxMbps);
    add();
  }
  for (const plan::AddressMapping& a : plan.addresses) {
    const std::string circuit =
        a.circuit >= 0 && static_cast<size_t>(a.circuit) < plan.circuits.size()
            ? plan.circuits[static_cast<size_t>(a.circuit)].circuitId
            : "";
    line = fmt::format("address {} {}", a.prefix.toString(), circuit);
    add();
  }
  return finish(ctx.get());
}

}  // namespace sluice::ha
