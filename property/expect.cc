// ExpectPasses (expect.h). Rules: suite/rules/property.ini.
#include "expect.h"

#include <gtest/gtest.h>

#include <iostream>

#include "ipcsuite/result.h"
#include "ipcsuite/rules.h"

namespace ipc::ring::prop {

// The property passed, and it reached the cases of every rule the running test claims: each rule has
// classes of cases in the property (Outcome::coverage), and the run reached each of them at least once.
// A claim the property cannot show is a failure, not a silent pass.
void ExpectPasses(const Outcome& out, const char* what) {
  {
    InfrastructureScope machine(out.infrastructure);
    EXPECT_TRUE(out.passed) << what << ":\n" << out.text;
  }
  if (out.passed) std::cout << out.text << std::endl;  // the distribution of the generated cases
  std::cout << what << ": " << out.cases << " cases " << (out.passed ? "passed" : "FAILED") << " (seed "
            << out.seed << ")" << std::endl;
  if (!out.passed) return;
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  for (const std::string& rule : rules::RulesFor(test->test_suite_name(), test->name())) {
    bool shown = false;
    for (const Coverage& c : out.coverage) {
      if (c.rule != rule) continue;
      shown = true;
      std::cout << "coverage: " << rule << ": " << c.cases << " of " << out.cases << " cases " << c.tag
                << std::endl;
      EXPECT_GT(c.cases, 0) << "the test claims " << rule << ", but none of its " << out.cases
                            << " cases reached " << c.tag << " (seed " << out.seed << ")";
    }
    EXPECT_TRUE(shown) << "the test claims " << rule
                       << ", but the property has no class of cases that shows it";
  }
}

}  // namespace ipc::ring::prop
