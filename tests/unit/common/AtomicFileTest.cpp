// writeFileAtomically: the new contents or the old, never a part, with the asked permissions and
// no temporary file left behind on success or failure.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/AtomicFile.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "sluice-atomic.XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t entries() const {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}));
  }
  mode_t modeOf(const std::string& path) const {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  fs::path dir_;
};

TEST_F(AtomicFile, WritesWithTheGivenModeOrKeepsTheExistingOne) {
  const std::string path = (dir_ / "users.json").string();
  ASSERT_TRUE(writeFileAtomically(path, "first", {.mode = 0600}));
  EXPECT_EQ(read(path), "first");
  EXPECT_EQ(modeOf(path), 0600u);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(writeFileAtomically(path, "second\n", {.keepExistingMode = true}));
  EXPECT_EQ(read(path), "second\n");
  EXPECT_EQ(modeOf(path), 0640u) << "the operator's mode stays";
  ASSERT_TRUE(writeFileAtomically(path, "third", {.mode = 0644, .sync = false}));
  EXPECT_EQ(modeOf(path), 0644u);
  EXPECT_EQ(entries(), 1u) << "no temporary file left behind";
}

TEST_F(AtomicFile, AFailedWriteLeavesTheOldContentsAndNoTemporaryFile) {
  const std::string path = (dir_ / "active.json").string();
  ASSERT_TRUE(writeFileAtomically(path, "old"));
  auto failed = writeFileAtomically(path, [](int fd) {
    (void)!::write(fd, "half", 4);
    return ENOSPC;
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().errnum, ENOSPC);
  EXPECT_NE(failed.error().message().find("write "), std::string::npos) << failed.error().message();
  EXPECT_EQ(read(path), "old");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, AMissingDirectoryIsENOENT) {
  auto r = writeFileAtomically((dir_ / "no" / "such" / "f").string(), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errnum, ENOENT);
  EXPECT_NE(r.error().message().find("no/such/f"), std::string::npos) << r.error().message();
}

TEST(WriteAll, WritesEverythingAndReportsTheErrno) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_EQ(writeAll(fds[1], "abc", 3), 0);
  char got[4] = {};
  ASSERT_EQ(::read(fds[0], got, 3), 3);
  EXPECT_STREQ(got, "abc");
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(writeAll(fds[1], "x", 1), EBADF);
}

}  // namespace
}  // namespace sluice
