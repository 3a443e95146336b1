// Pinned maps: a reopened data plane finds the mappings the previous one published; pinned maps
// from another layout or ABI version are replaced. Runs in a private mount namespace so the
// bpffs it mounts (if the host has none) and the pins disappear with the test process.

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"

namespace sluice::dataplane {
namespace {

class PinningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DataplaneOptions options(uint32_t lpmCapacity = 4096) const {
    DataplaneOptions o;
    o.pinDir = dir_;
    o.lpmCapacity = lpmCapacity;
    o.flowCapacity = 1024;
    o.hotCacheCapacity = 1024;
    o.hostCapacity = 1024;
    return o;
  }

  static std::vector<plan::AddressMapping> mappings(int n) {
    std::vector<plan::AddressMapping> out;
    for (int i = 0; i < n; ++i) {
      plan::AddressMapping m;
      m.prefix = *IpNet::parse("10.2." + std::to_string(i) + ".0/24");
      m.circuit = i;
      m.downClass = {1, static_cast<uint16_t>(3 + i)};
      m.upClass = {1, static_cast<uint16_t>(3 + i)};
      out.push_back(m);
    }
    return out;
  }

  static size_t lpmSize(Dataplane& dp) {
    BpfMapWriter w(dp.lpmMapFd(), dp.epochMapFd());
    auto keys = w.keys();
    EXPECT_TRUE(keys);
    return keys ? keys->size() : 0;
  }

  std::string dir_ = "/sys/fs/bpf/sluice-test-" + std::to_string(getpid());
};

TEST_F(PinningTest, ReopenKeepsMappingsAndEpoch) {
  {
    auto dp = Dataplane::open(options());
    ASSERT_TRUE(dp) << dp.error().message();
    BpfMapWriter w((*dp)->lpmMapFd(), (*dp)->epochMapFd());
    ASSERT_TRUE(w.publish(mappings(10)));
    ASSERT_TRUE((*dp)->setRuntimeConfig({0, {0, 1, 0}}));
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/sluice_lpm"));
  auto dp = Dataplane::open(options());
  ASSERT_TRUE(dp) << dp.error().message();
  EXPECT_EQ(lpmSize(**dp), 10u);
  BpfMapWriter w((*dp)->lpmMapFd(), (*dp)->epochMapFd());
  EXPECT_EQ(*w.epoch(), 1u);
  auto cfg = (*dp)->runtimeConfig();
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->queueCpu.size(), 3u);  // kept, not reset to the default
}

TEST_F(PinningTest, DifferentLayoutIsReplaced) {
  {
    auto dp = Dataplane::open(options(4096));
    ASSERT_TRUE(dp) << dp.error().message();
    BpfMapWriter w((*dp)->lpmMapFd(), (*dp)->epochMapFd());
    ASSERT_TRUE(w.publish(mappings(5)));
  }
  auto dp = Dataplane::open(options(8192));  // other capacity: cannot be reused
  ASSERT_TRUE(dp) << dp.error().message();
  EXPECT_EQ(lpmSize(**dp), 0u);
}

TEST_F(PinningTest, OtherAbiVersionReplacesEverything) {
  {
    auto dp = Dataplane::open(options());
    ASSERT_TRUE(dp) << dp.error().message();
    BpfMapWriter w((*dp)->lpmMapFd(), (*dp)->epochMapFd());
    ASSERT_TRUE(w.publish(mappings(5)));
  }
  int fd = bpf_obj_get((dir_ + "/sluice_abi").c_str());
  ASSERT_GE(fd, 0);
  uint32_t zero = 0;
  sluice_abi_info old{SLUICE_ABI_VERSION + 1, 0};
  ASSERT_EQ(bpf_map_update_elem(fd, &zero, &old, BPF_ANY), 0);
  close(fd);
  auto dp = Dataplane::open(options());
  ASSERT_TRUE(dp) << dp.error().message();
  EXPECT_EQ(lpmSize(**dp), 0u);
}

}  // namespace
}  // namespace sluice::dataplane
