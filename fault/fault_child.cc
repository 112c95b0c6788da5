// RunInChild: the C++ API of the fault layer (see ipcsuite/fault_child.h).
#include "ipcsuite/fault_child.h"

#include <sys/wait.h>

namespace ipc::fault {

FaultRun RunInChild(const Plan& plan, std::function<int()> body, ChildOptions options) {
  FaultRun run;
  LaunchOptions o;
  o.body = std::move(body);
  o.deadline_ms = static_cast<int>(ScaledDeadline(options.deadline).count());
  Outcome out;
  if (!Run(plan, o, &out, &run.error)) {
    run.status.kind = ExitStatus::Kind::kExited;
    run.status.code = -1;
    return run;
  }
  if (out.timed_out) {
    run.status.kind = ExitStatus::Kind::kTimedOut;
    run.status.deadline = ScaledDeadline(options.deadline);
    run.status.what = options.what;
  } else {
    run.status = ExitStatus::FromWaitStatus(out.wait_status);
  }
  run.log = std::move(out.log);
  run.agent_calls = out.agent_calls;
  run.supervisor_calls = out.supervisor_calls;
  run.supervisor_restarts = out.supervisor_restarts;
  run.log_text = std::move(out.log_text);
  return run;
}

}  // namespace ipc::fault
