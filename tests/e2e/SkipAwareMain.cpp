// main() of the end-to-end suites, which CTest runs as one entry per suite (tests/e2e/
// CMakeLists.txt). Exit status, read by CTest (SKIP_RETURN_CODE 77):
//   0   every selected test ran and passed (some may have skipped: they are listed)
//   1   a test failed, or the filter selected no test at all (a typo must not pass)
//   77  every selected test skipped and none failed: CTest reports the entry as skipped
// Each skipped test is printed as one line "sluice-skip: Suite.Test: reason" on stdout, which
// tools/skip-report.py collects for tools/test.sh's closing summary. gtest's own summary line
// "[  PASSED  ] 0 tests" is printed both when every test skipped and when every test failed, so
// the outcome is read from the counts here, never from that text.

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace {

/// The first line of a skipped test's message ("" when it gave none).
std::string skipReason(const ::testing::TestResult& result) {
  for (int i = 0; i < result.total_part_count(); ++i) {
    const ::testing::TestPartResult& part = result.GetTestPartResult(i);
    if (part.skipped()) {
      std::string message = part.message();
      const size_t newline = message.find('\n');
      return newline == std::string::npos ? message : message.substr(0, newline);
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const ::testing::TestInfo& info = *suite.GetTestInfo(t);
      if (info.should_run() && info.result()->Skipped()) {
        std::printf("sluice-skip: %s.%s: %s\n", suite.name(), info.name(),
                    skipReason(*info.result()).c_str());
      }
    }
  }
  std::fflush(stdout);
  if (status != 0 || unit.failed_test_count() > 0 || unit.ad_hoc_test_result().Failed()) {
    return 1;
  }
  if (unit.test_to_run_count() == 0) {
    std::fprintf(stderr, "no test matched the filter: nothing ran\n");
    return 1;
  }
  if (unit.skipped_test_count() == unit.test_to_run_count()) {
    return 77;
  }
  return 0;
}
