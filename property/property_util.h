// What the ring's properties share (see properties.h): messages derived from their id, the helper
// processes of a case (fixtures' Child with a pipe back), one generated case = one forked child under a
// fault plan with a deadline, the classes of cases a property reaches (its coverage), and running a
// property with rapidcheck. Rules: suite/rules/property.ini.
#pragma once

#include <sys/mman.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipcsuite/child.h"
#include "ipcsuite/fault_child.h"
#include "ipcsuite/fd.h"
#include "properties.h"
#include "ring.h"

namespace ipc::ring::prop {

using Bytes = std::vector<std::byte>;

// --- messages: every message is derived from its id, so a torn or stale message is recognised ---------

inline constexpr uint32_t kMinLen = 4;

Bytes MakeMessage(uint32_t id, uint32_t len);
// The id of an intact message of length `len` (0 if `b` is not exactly that message).
uint32_t IntactId(const Bytes& b, const std::unordered_map<uint32_t, uint32_t>& lens);
// "<id 7, 12 bytes>", "<id 7, 12 bytes, TORN>", "<2 bytes>".
std::string Show(const Bytes& b);

// A case that does not hold throws a Violation (in the case's child); a machine that refused a setup step
// (a fork, a pipe) an Infrastructure one, which makes the test an `error`, not a `failed`.
struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Infrastructure : Violation {
  using Violation::Violation;
};
[[noreturn]] void Fail(const std::string& what);

// How a call waits (the generated part of a Wait).
enum class WaitKind : uint8_t { kBlock, kNoWait, kTimed };
const char* WaitName(WaitKind k);
Wait MakeWait(WaitKind k, bool retry_eintr, long timeout_ms);
// A failure the ring may report without effect when a fault was injected into its semop/semtimedop:
// interrupted (when asked not to retry), would-block for a try, timed-out for a timed call.
bool NoEffectFailure(Status s, const Wait& w);

const char* StageName(Stage s);

// --- helper processes ------------------------------------------------------------------------------

// A helper process of a case: a fixtures Child whose body writes its reports into a pipe. The body must
// not throw (an exception ends the process with status 3). Wait() reaps it; the destructor kills and reaps.
class Worker {
 public:
  static Worker Start(const std::function<void(int fd)>& body, const std::string& what,
                      std::chrono::milliseconds deadline);
  pid_t pid() const { return child_.pid(); }
  int fd() const { return from_.get(); }
  // Whether the process has ended (its end of the pipe is closed), without waiting.
  bool Ended() const;
  ExitStatus Wait() { return child_.Wait(); }
  void Kill() const;  // SIGKILL, without waiting
  ExitStatus KillAndWait();

  void ReadExactly(void* p, size_t n, const std::string& what) const;
  Status ReadStatus(const std::string& what) const;
  // A status then a message, as SendMessage writes them.
  Status ReadMessage(Bytes* m, const std::string& what) const;

 private:
  Worker(Child child, FileDescriptor from) : child_(std::move(child)), from_(std::move(from)) {}
  Child child_;
  FileDescriptor from_;
};

// In the worker: what it reports.
void SendStatus(int fd, Status s);
void SendMessage(int fd, Status s, const Bytes& m);

// In a helper process: makes the call until it returns something other than a no-effect failure
// (NoEffectFailure), at most `attempts` times, reporting each result with `report`.
void Attempts(int attempts, const Wait& w, const std::function<Status()>& call,
              const std::function<void(Status)>& report);

// In a helper process that a ring's stage hook stopped inside an operation: reports "stopped" on `fd` and
// waits to be killed.
[[noreturn]] void ReportStoppedAndWait(int fd);

// A helper process SIGKILLed inside a push or pop, at the point that `arm` (given the process's report
// pipe) sets a ring's stage hook to stop it at with ReportStoppedAndWait. The process makes `call`
// (Attempts: `attempts` times at the most) and reports every result it returned instead; here each such
// result must be a no-effect failure that `excused` accepts (and counts), else the case fails: the
// operation returned without reaching `where` ("the claimed stage"). Returns once the process stopped
// there, was killed and was reaped. `what` names the command; `deadline` is the process's.
void KillAtStage(const std::string& what, std::chrono::milliseconds deadline, const std::string& where,
                 int attempts, const Wait& w, const std::function<void(int fd)>& arm,
                 const std::function<Status()>& call, const std::function<bool(Status)>& excused);

// --- one generated case -----------------------------------------------------------------------------

// What the child of a case tells its parent, in a shared page (the child may be killed at any time).
struct Report {
  int spurious;            // no-effect failures the ring reported in place of the expected result
  uint32_t reached;        // the classes of cases this case reached (bits the property defines)
  uint8_t infrastructure;  // the failure was the machine's (a refused fork or pipe)
  char text[60000];
};

// A T in a shared anonymous mapping: written by forked processes, read by the parent after they end.
template <typename T>
class SharedPage {
 public:
  SharedPage() {
    void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    p_ = static_cast<T*>(p);
  }
  ~SharedPage() { munmap(p_, sizeof(T)); }
  SharedPage(const SharedPage&) = delete;
  SharedPage& operator=(const SharedPage&) = delete;
  T* get() const { return p_; }

 private:
  T* p_;
};

struct CaseResult {
  bool ok = true;
  bool infrastructure = false;
  std::string message;
  size_t faults = 0;  // faults the layer injected
  int spurious = 0;   // no-effect failures the ring reported in place of the expected result
  uint32_t reached = 0;
  std::vector<fault::FaultEvent> log;
  size_t Injected(const std::string& name, int err) const;  // faults injected into `name` with `err`
};

// Runs `body` in a forked child under `plan` with a deadline. The body returns normally when the case
// holds and throws (Violation or anything else) when it does not.
CaseResult RunCase(const fault::Plan& plan, const std::function<void(Report*)>& body,
                   std::chrono::milliseconds deadline, const std::string& what);

// Why no case can run under the fault layer here ("" when it can): every generated case runs in a child
// that installs a seccomp filter with a user-notification listener (ipcsuite/fault_child.h), which a
// user-mode emulator or an instrumentation tool may refuse (ENOSYS under qemu-user and valgrind). Probed
// once per process, in children: the filter itself, then an empty case under the real fault layer.
// Use IPC_REQUIRE_FAULT_LAYER() to skip with it.
const std::string& FaultLayerUnavailableReason();

// Number of System V semaphore sets and segments in this IPC namespace.
size_t CountSysv();

// --- faults -----------------------------------------------------------------------------------------

struct FaultSpec {
  std::string name;
  int err;
  int at;
  std::string Text() const;  // "semop=EINTR@3"
};
// How rapidcheck prints a fault in a counterexample.
void showValue(const FaultSpec& f, std::ostream& os);
std::string ShowFaults(const std::vector<FaultSpec>& faults);
fault::Plan MakePlan(const std::vector<FaultSpec>& faults);

// --- coverage: the classes of cases that show a property checks a rule ------------------------------

// A class of cases (a bit a case sets in Report::reached) and the tag rapidcheck counts it under.
struct CaseClass {
  uint32_t bit;
  const char* tag;
};
// The rule a class of cases shows: a test may claim `rule` only if some of its cases are in the class.
struct RuleClass {
  const char* rule;
  const char* tag;
};
// Tags the current case (RC_TAG) with every class in `reached`.
void TagReached(uint32_t reached, const std::vector<CaseClass>& classes);

// --- running a property -------------------------------------------------------------------------------

// Checks `property` (one generated case per call) with rapidcheck under `budget`; `rules` are the classes
// of cases that show the rules the property checks, counted into Outcome::coverage.
Outcome CheckProperty(const std::string& id, const Budget& budget, const std::vector<RuleClass>& rules,
                      const std::function<void()>& property);
// Fails the current case; the first failure of the property is kept (a shrunk case that depends on timing
// may pass when rapidcheck reruns it).
[[noreturn]] void CaseFails(const std::string& message, bool infrastructure = false);

}  // namespace ipc::ring::prop

// For a test whose cases run under the fault layer (RunCase): skips, with the reason, where the seccomp
// filter cannot be installed, so that only the rules the test names can fail it.
#define IPC_REQUIRE_FAULT_LAYER()                                                                          \
  do {                                                                                                     \
    const std::string& ipc_no_fault_layer = ::ipc::ring::prop::FaultLayerUnavailableReason();              \
    if (!ipc_no_fault_layer.empty())                                                                       \
      GTEST_SKIP() << "needs seccomp filter with user notification (the fault layer every generated case " \
                      "runs under): "                                                                      \
                   << ipc_no_fault_layer;                                                                  \
  } while (0)
