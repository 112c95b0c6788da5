// The fault layer's C++ API for tests: run a function in a forked child under a fault plan.
//
//   ipc::fault::Plan plan;
//   std::string error;
//   ASSERT_TRUE(ipc::fault::ParseRules({"semop=EIDRM@2"}, &plan, &error)) << error;
//   ipc::fault::FaultRun run = ipc::fault::RunInChild(plan, [&] {
//     ...  // calls made here (and by threads and children) are faulted
//     return 0;
//   });
//   EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
//   ASSERT_EQ(run.log.size(), 1u);
//   EXPECT_EQ(run.log[0].err, EIDRM);
//
// The filter is installed in the child only. Link $<TARGET_OBJECTS:ipcsuite_fault_agent_inproc> into
// the test binary to decide counted rules in-process (fast path); otherwise the calling thread
// supervises them through user notification. The body must not exec (use ipcsuite-inject for programs).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ipcsuite/child.h"
#include "ipcsuite/fault.h"

namespace ipc::fault {

struct FaultRun {
  ExitStatus status;
  std::vector<FaultEvent> log;
  uint64_t agent_calls = 0, supervisor_calls = 0, supervisor_restarts = 0;
  std::string log_text;  // as `ipcsuite inject --log` writes it
  std::string error;     // set-up failure (then status is meaningless)
};

FaultRun RunInChild(const Plan& plan, std::function<int()> body, ChildOptions options = {});

}  // namespace ipc::fault
