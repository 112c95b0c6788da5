// The fault layer: inject system call failures into a process tree with seccomp.
//
//   ipc::fault::Plan plan;
//   std::string error;
//   ASSERT_TRUE(ipc::fault::ParseRules({"semop=EIDRM@3", "write[fd=3]=EPIPE%0.5"}, &plan, &error)) << error;
//   ipc::fault::FaultRun run = ipc::fault::RunInChild(plan, [&] { ...; return 0; });
//   EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
//   EXPECT_EQ(run.log.size(), 1u);
//
// Rules: NAME[COND,...]=ERRNO followed by nothing (every call), @N (the Nth call), @N+ (the Nth and every
// later call), @N+K (the Nth and every Kth after it) or %P (each call with probability P, 0 < P <= 1,
// drawn from the plan's seed). NAME is the C library function the caller wrote; where its wrapper issues
// another system call the name means exactly the calls that function makes (see kAliases in plan.cc):
//   semop       = semtimedop(2) with a NULL timeout (and the legacy semop syscall)
//   semtimedop  = semtimedop(2) with a timeout
//   pipe        = pipe2(2) with flags 0 (and the legacy pipe syscall);  pipe2 = pipe2(2) with flags != 0
//   open        = openat(2) with dirfd AT_FDCWD (and the legacy open);  openat = openat(2), other dirfds
//   sigaction   = rt_sigaction, sigprocmask = rt_sigprocmask, wait / waitpid = wait4
// sys:NAME is the raw system call NAME, whatever the wrapper. COND is ARG OP VALUE with OP one of
// = != < <= > >= and ARG an argument name of NAME (fd, count, semid, flags, ...) or arg0..arg5.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fault_state.h"

namespace ipc::fault {

struct ArgCond {
  std::string arg;
  CondOp op = CondOp::kEq;
  int64_t value = 0;
};

struct Rule {
  std::string name;  // as written, without "sys:"
  bool raw = false;  // sys:NAME
  std::vector<ArgCond> conds;
  int err = 0;
  When when = When::kAlways;
  uint64_t n = 0, k = 0;
  double p = 0;
  std::vector<Point> points;     // kPoints (replay): sorted by index
  std::string Selector() const;  // "write[fd=3]", "sys:openat"
  std::string Text() const;      // the rule in SPEC syntax ("write[fd=3]=EPIPE@2")
};

struct Plan {
  std::vector<Rule> rules;
  uint64_t seed = 1;
  bool per_process = false;  // count calls per process instead of per tree
};

// One SPEC; on failure `error` is one line.
bool ParseRule(std::string_view spec, Rule* out, std::string* error);
// Appends rules from SPECs.
bool ParseRules(const std::vector<std::string>& specs, Plan* plan, std::string* error);
// A plan file: one SPEC a line; '#' starts a comment; blank lines ignored. `where` names the file.
bool ParsePlanText(std::string_view text, const std::string& where, Plan* plan, std::string* error);
// A log written by WriteLog: the same faults at the same per-tree call indices.
bool ParseReplayLog(std::string_view text, const std::string& where, Plan* plan, std::string* error);

// errno names: "EPIPE" <-> 32. -1 / "errno N" when unknown.
int ErrnoFromName(std::string_view name);
std::string ErrnoName(int err);
// System call names of this architecture ("semtimedop" <-> 220); -1 / "syscall N" when unknown.
int SyscallNumber(const std::string& name);
std::string SyscallName(int nr);

// Compiles a plan into the shared state (zeroed by the caller).
bool Compile(const Plan& plan, State* state, std::string* error);
// Whether a rule runs entirely in the kernel filter (SECCOMP_RET_ERRNO): such faults are not logged
// one by one.
bool IsKernelRule(const State& state, int rule);
// Whether any rule needs a per-call decision (user notification / agent).
bool NeedsDecisions(const State& state);

struct FaultEvent {
  int pid = 0, tid = 0;
  int nr = 0;
  int rule = 0;
  int err = 0;
  uint64_t index = 0, tree_index = 0;
  std::string name;      // the rule's name (what the caller wrote)
  std::string selector;  // the rule's selector
  std::string Line() const;
};

std::vector<FaultEvent> ReadLog(const State& state);
// The log file text: header (seed, counting mode, rules), one "fault ..." line per event, summary.
std::string FormatLog(const Plan& plan, const State& state);

// --- running under a plan ---

struct Outcome {
  int wait_status = 0;  // of the direct child
  std::vector<FaultEvent> log;
  uint64_t dropped = 0;              // log records past kMaxLog
  uint64_t agent_calls = 0;          // calls decided in-process (fast path)
  uint64_t supervisor_calls = 0;     // calls decided by the supervisor (user notification)
  uint64_t supervisor_restarts = 0;  // the kernel's restarts of such calls, recognised, not counted again
  bool timed_out = false;
  std::string log_text;  // FormatLog()
};

struct LaunchOptions {
  // exec mode: path (already resolved), argv, extra environment (NAME=VALUE)
  std::string path;
  std::vector<std::string> argv;
  std::string agent;  // LD_PRELOAD agent library; empty: none
  // function mode: the body runs in the forked child; its return value is the exit status.
  std::function<int()> body;
  int deadline_ms = 0;     // 0: none; on expiry the child's process group is killed
  bool subreaper = false;  // adopt orphaned descendants and wait for them too (the command line)
  std::function<void(pid_t)> on_start;
};

// Forks, installs the plan's filter in the child only, runs the program or body, supervises until
// the child has exited and every process of the tree has left the filter. false + error on set-up
// failure.
bool Run(const Plan& plan, const LaunchOptions& options, Outcome* out, std::string* error);

}  // namespace ipc::fault
