// What the teeth tests share (teeth_test.cc for the System V ring, posix_ring_teeth_test.cc for the POSIX
// ring): the budget a property gets against a broken variant, and the check that it caught the defect.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "properties.h"

namespace ipc::ring::prop {

// Enough cases to find the defect reliably, a short deadline per case (the defects that deadlock cost one
// deadline each) and no shrinking (the minimal case is not the point here).
inline Budget TeethBudget(int cases) {
  Budget b;
  b.max_success = cases;
  b.deadline = std::chrono::milliseconds(1500);
  b.shrink = false;
  return b;
}

// The property did not pass against the ring broken by `flaw`; prints how soon it was caught.
inline void ExpectCaught(const Outcome& out, const char* flaw) {
  EXPECT_FALSE(out.passed) << "the properties did not catch the broken ring (" << flaw << ") in " << out.cases
                           << " cases (seed " << out.seed << ")";
  std::cout << flaw << ": " << (out.passed ? "NOT caught" : "caught") << " after " << out.cases << " cases\n"
            << out.text.substr(0, 1500) << std::endl;
}

}  // namespace ipc::ring::prop
