// Catch2's main, compiled once in its own object.
//
// Tests tagged [published] read the published puzzle ($HUMPTY_PUZZLE, else ../shared/puzzle).
// Where it is absent they are left out of the run, and the run says so on its last line, so that a
// bare clone passes `make test` without hiding what it did not test. The last line is the plain
// count "tests: N passed, N failed, N skipped" that tools reading test logs understand.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"
#include "support.hpp"

namespace {

std::size_t g_passed = 0, g_failed = 0;

// Counts test cases as Catch finishes them (its own summary counts assertions and cases, but only
// as a sentence).
struct CaseCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0) {
      ++g_failed;
    } else {
      ++g_passed;
    }
  }
};
CATCH_REGISTER_LISTENER(CaseCounter)

bool has_tag(const Catch::TestCase& test_case, const std::string& tag) {
  for (const auto& t : test_case.lcaseTags) {
    if (t == tag) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  if (session.configData().listTests || session.configData().listTags || session.configData().showHelp) {
    return session.run();
  }
  std::size_t skipped = 0;
  const bool available = test::published_available();
  if (!available) {
    // Which tests the command line selected, before [published] is taken out of them.
    Catch::TestSpec selected = session.config().testSpec();
    for (const auto& test_case : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
      const bool wanted = selected.hasFilters() ? selected.matches(test_case) : !test_case.isHidden();
      skipped += wanted && has_tag(test_case, "published");
    }
    auto& specs = session.configData().testsOrTags;
    if (specs.empty()) {
      specs.push_back("~[published]");
    } else {
      // Each spec is one alternative; "a ~[published]" means a and not [published].
      for (auto& spec : specs) spec += " ~[published]";
    }
    session.useConfigData(session.configData());
  }
  const int rc = session.run();
  if (!available) {
    std::printf("skipped %zu test case(s) tagged [published]: the published puzzle is not at '%s' "
                "(set HUMPTY_PUZZLE to its folder to run them)\n",
                skipped, test::published_location().c_str());
  }
  std::printf("tests: %zu passed, %zu failed, %zu skipped\n", g_passed, g_failed, skipped);
  return rc;
}
