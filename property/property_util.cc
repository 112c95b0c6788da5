// What the ring's properties share (see property_util.h). Rules: suite/rules/property.ini.
#include "property_util.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <rapidcheck.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ipcsuite/result.h"

namespace rc::detail {
// Defined in librapidcheck (the listener that prints "reproduce=..."), not declared in its headers.
std::string reproduceMapToString(const std::unordered_map<std::string, Reproduce>& reproduceMap);
}  // namespace rc::detail

namespace ipc::ring::prop {

// --- messages ------------------------------------------------------------------------------------

Bytes MakeMessage(uint32_t id, uint32_t len) {
  Bytes b(len);
  std::memcpy(b.data(), &id, sizeof id);
  for (uint32_t i = kMinLen; i < len; ++i) b[i] = static_cast<std::byte>((id * 131 + i * 7) & 0xff);
  return b;
}

uint32_t IntactId(const Bytes& b, const std::unordered_map<uint32_t, uint32_t>& lens) {
  if (b.size() < kMinLen) return 0;
  uint32_t id;
  std::memcpy(&id, b.data(), sizeof id);
  auto it = lens.find(id);
  if (it == lens.end() || it->second != b.size()) return 0;
  return b == MakeMessage(id, it->second) ? id : 0;
}

std::string Show(const Bytes& b) {
  if (b.size() < kMinLen) return "<" + std::to_string(b.size()) + " bytes>";
  uint32_t id;
  std::memcpy(&id, b.data(), sizeof id);
  bool intact = b == MakeMessage(id, static_cast<uint32_t>(b.size()));
  return "<id " + std::to_string(id) + ", " + std::to_string(b.size()) + " bytes" + (intact ? "" : ", TORN") +
         ">";
}

void Fail(const std::string& what) { throw Violation(what); }

const char* WaitName(WaitKind k) {
  return k == WaitKind::kBlock ? "blocking" : k == WaitKind::kNoWait ? "try" : "timed";
}

Wait MakeWait(WaitKind k, bool retry_eintr, long timeout_ms) {
  switch (k) {
    case WaitKind::kBlock:
      return Wait::Block(retry_eintr);
    case WaitKind::kNoWait:
      return Wait::NoWait();
    case WaitKind::kTimed:
      return Wait::For(timeout_ms, retry_eintr);
  }
  return Wait::Block();
}

bool NoEffectFailure(Status s, const Wait& w) {
  return (s == Status::kInterrupted && !w.retry_eintr) ||
         (s == Status::kWouldBlock && w.mode == Wait::Mode::kNoWait) ||
         (s == Status::kTimedOut && w.mode == Wait::Mode::kTimeout);
}

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kClaimed:
      return "claimed";
    case Stage::kHalfCopied:
      return "half-copied";
    case Stage::kCommitted:
      return "committed";
    case Stage::kSemopDone:
      return "semop done";
  }
  return "?";
}

// --- helper processes ------------------------------------------------------------------------------

Worker Worker::Start(const std::function<void(int fd)>& body, const std::string& what,
                     std::chrono::milliseconds deadline) {
  // A refused pipe or fork is the machine's limit, not the ring's fault.
  auto pipe = Pipe::Create(O_CLOEXEC);
  if (!pipe.ok()) throw Infrastructure(InfrastructureTag(pipe.error_number()) + pipe.error());
  Pipe p = std::move(pipe).value();
  const int to = p.write.get();
  Child child = Child::SpawnWithExitCode(
      [&body, to]() -> int {
        try {
          body(to);
          return 0;
        } catch (...) {
          return 3;  // never unwind into the parent's code in the child
        }
      },
      {.deadline = deadline, .what = what});
  if (!child.valid()) throw Infrastructure(std::string(kInfrastructureTag) + "fork refused while " + what);
  p.write.reset();
  return Worker(std::move(child), std::move(p.read));
}

bool Worker::Ended() const {
  pollfd pfd{from_.get(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP) != 0;
}

void Worker::Kill() const { child_.Kill(SIGKILL); }

ExitStatus Worker::KillAndWait() {
  child_.Kill(SIGKILL);
  return child_.Wait();
}

void Worker::ReadExactly(void* p, size_t n, const std::string& what) const {
  if (!ReadAll(from_.get(), p, n)) Fail(what + ": the worker process ended without reporting");
}

Status Worker::ReadStatus(const std::string& what) const {
  uint8_t b;
  ReadExactly(&b, 1, what);
  return static_cast<Status>(b);
}

Status Worker::ReadMessage(Bytes* m, const std::string& what) const {
  Status s = ReadStatus(what);
  uint32_t len;
  ReadExactly(&len, sizeof len, what);
  m->resize(len);
  ReadExactly(m->data(), len, what);
  return s;
}

void SendStatus(int fd, Status s) {
  auto b = static_cast<uint8_t>(s);
  (void)WriteAll(fd, &b, 1);
}

void SendMessage(int fd, Status s, const Bytes& m) {
  SendStatus(fd, s);
  auto len = static_cast<uint32_t>(m.size());
  (void)WriteAll(fd, &len, sizeof len);
  (void)WriteAll(fd, m.data(), m.size());
}

void Attempts(int attempts, const Wait& w, const std::function<Status()>& call,
              const std::function<void(Status)>& report) {
  for (int a = 0; a < attempts; ++a) {
    const Status s = call();
    report(s);
    if (!NoEffectFailure(s, w)) return;
  }
}

void ReportStoppedAndWait(int fd) {
  char c = 'S';
  (void)WriteAll(fd, &c, 1);
  for (;;) pause();
}

void KillAtStage(const std::string& what, std::chrono::milliseconds deadline, const std::string& where,
                 int attempts, const Wait& w, const std::function<void(int fd)>& arm,
                 const std::function<Status()>& call, const std::function<bool(Status)>& excused) {
  Worker wk = Worker::Start(
      [&](int fd) {
        arm(fd);
        Attempts(attempts, w, call, [&](Status s) {
          char c = 'R';  // returned: the point was not reached
          (void)WriteAll(fd, &c, 1);
          SendStatus(fd, s);
        });
      },
      what, deadline);
  for (;;) {
    char c;
    wk.ReadExactly(&c, 1, what + " (waiting for it to reach " + where + ")");
    if (c == 'S') break;
    const Status s = wk.ReadStatus(what);
    if (excused(s)) continue;
    Fail(what + ": the operation returned " + StatusName(s) + " without reaching " + where);
  }
  (void)wk.KillAndWait();
}

// --- one generated case -----------------------------------------------------------------------------

namespace {

void SetText(Report* r, const std::string& s) {
  size_t n = std::min(s.size(), sizeof r->text - 1);
  std::memcpy(r->text, s.data(), n);
  r->text[n] = '\0';
}

}  // namespace

size_t CaseResult::Injected(const std::string& name, int err) const {
  return static_cast<size_t>(
      std::count_if(log.begin(), log.end(), [&](const auto& f) { return f.name == name && f.err == err; }));
}

CaseResult RunCase(const fault::Plan& plan, const std::function<void(Report*)>& body,
                   std::chrono::milliseconds deadline, const std::string& what) {
  SharedPage<Report> report;
  Report* r = report.get();
  fault::FaultRun run = fault::RunInChild(plan,
                                          [&]() -> int {
                                            try {
                                              body(r);
                                              return 0;
                                            } catch (const Infrastructure& e) {
                                              r->infrastructure = 1;
                                              SetText(r, e.what());
                                            } catch (const std::exception& e) {
                                              SetText(r, e.what());
                                            } catch (...) {
                                              SetText(r, "unknown exception");
                                            }
                                            return 1;
                                          },
                                          {.deadline = deadline, .what = what});
  CaseResult out;
  out.faults = run.log.size();
  out.spurious = r->spurious;
  out.reached = r->reached;
  out.log = run.log;
  if (!run.error.empty()) {
    out.ok = false;
    out.message = "could not start the case: " + run.error;
  } else if (!run.status.Exited(0)) {
    out.ok = false;
    out.infrastructure = r->infrastructure != 0;
    out.message = std::string(r->text);
    if (out.message.empty() || !run.status.Exited(1)) {
      out.message +=
          (out.message.empty() ? "" : "; ") + std::string("the case's process ") + run.status.Describe() +
          (run.status.TimedOut() ? " (a hang: a process waits for something that never comes)" : "");
    }
  }
  return out;
}

const std::string& FaultLayerUnavailableReason() {
  static const std::string reason = []() -> std::string {
    // The filter the fault layer installs, allowing everything: no_new_privs, then seccomp(2) with a
    // user-notification listener. Exit 1: prctl refused; 100 + errno: seccomp refused.
    Child probe = Child::SpawnWithExitCode(
        [] {
          if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 1;
          sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
          sock_fprog prog{1, allow};
          // glibc 2.36 has no seccomp(2) wrapper (the fault layer makes the same raw call).
          long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
          return fd >= 0 ? 0 : 100 + errno;
        },
        {.what = "probing seccomp(SECCOMP_SET_MODE_FILTER) with a listener"});
    ExitStatus st = probe.Wait();
    if (st.Exited(1)) return "prctl(PR_SET_NO_NEW_PRIVS) failed";
    if (st.kind == ExitStatus::Kind::kExited && st.code > 100)
      return "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER) failed with " +
             DescribeErrno(st.code - 100);
    if (!st.Exited(0)) return "the seccomp probe " + st.Describe();
    // The layer itself (its trampoline page at a fixed address, the filter, the listener's hand-over).
    fault::FaultRun run =
        fault::RunInChild(fault::Plan{}, [] { return 0; }, {.what = "an empty case under the fault layer"});
    if (!run.error.empty()) return "the fault layer cannot start a case: " + run.error;
    if (!run.status.Exited(0))
      return "an empty case under the fault layer " + run.status.Describe() +
             (run.status.Exited(127) ? " (it could not map its trampoline or install its filter)" : "");
    return "";
  }();
  return reason;
}

size_t CountSysv() {
  size_t n = 0;
  for (const char* f : {"/proc/sysvipc/sem", "/proc/sysvipc/shm"}) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line))
      if (!line.empty()) ++n;
  }
  return n;
}

// --- faults -----------------------------------------------------------------------------------------

std::string FaultSpec::Text() const { return name + "=" + ErrnoName(err) + "@" + std::to_string(at); }

void showValue(const FaultSpec& f, std::ostream& os) { os << f.Text(); }

std::string ShowFaults(const std::vector<FaultSpec>& faults) {
  std::string s;
  for (const auto& f : faults) s += (s.empty() ? "" : " ") + f.Text();
  return s.empty() ? "(none)" : s;
}

fault::Plan MakePlan(const std::vector<FaultSpec>& faults) {
  std::vector<std::string> specs;
  for (const auto& f : faults) specs.push_back(f.Text());
  fault::Plan plan;
  std::string error;
  if (!fault::ParseRules(specs, &plan, &error)) throw std::runtime_error("bad fault plan: " + error);
  return plan;
}

// --- coverage -----------------------------------------------------------------------------------------

void TagReached(uint32_t reached, const std::vector<CaseClass>& classes) {
  for (const CaseClass& c : classes)
    if ((reached & c.bit) != 0) RC_TAG(std::string(c.tag));
}

// --- running a property -------------------------------------------------------------------------------

namespace {

int SoakFactor() {
  const char* s = std::getenv("IPCSUITE_SOAK");
  if (s == nullptr || *s == '\0' || std::strcmp(s, "0") == 0) return 1;
  int n = std::atoi(s);
  return n < 1 ? 20 : n;  // a non-number asks for "a soak": 20x
}

// The first failure of the property being checked, kept because a shrunk case that depends on timing
// (concurrency) may pass when rapidcheck re-runs it.
std::string g_first_failure;
bool g_infrastructure = false;

}  // namespace

Budget DefaultBudget(int base) {
  Budget b;
  b.max_success = base * SoakFactor();
  return b;
}

void CaseFails(const std::string& message, bool infrastructure) {
  if (g_first_failure.empty()) g_first_failure = message;
  g_infrastructure |= infrastructure;
  RC_FAIL(message);
}

Outcome CheckProperty(const std::string& id, const Budget& budget, const std::vector<RuleClass>& rules,
                      const std::function<void()>& property) {
  const auto& config = rc::detail::configuration();
  rc::detail::TestParams params = config.testParams;
  const char* rc_params = std::getenv("RC_PARAMS");
  std::string given = rc_params ? rc_params : "";
  if (given.find("max_success") == std::string::npos) params.maxSuccess = budget.max_success;
  if (given.find("max_size") == std::string::npos) params.maxSize = budget.max_size;
  if (!budget.shrink) params.disableShrinking = true;
  rc::detail::TestMetadata md;
  md.id = id;
  md.description = id;
  g_first_failure.clear();
  g_infrastructure = false;
  auto result = rc::detail::checkTestable(property, md, params);
  Outcome out;
  out.seed = params.seed;
  std::ostringstream os;
  rc::detail::printResultMessage(result, os);
  if (result.template is<rc::detail::SuccessResult>()) {
    const auto& s = result.template get<rc::detail::SuccessResult>();
    out.passed = true;
    out.cases = s.numSuccess;
    for (const RuleClass& rc : rules) {
      Coverage c{rc.rule, rc::toString(std::string(rc.tag)), 0};
      for (const auto& [tags, n] : s.distribution)
        if (std::find(tags.begin(), tags.end(), c.tag) != tags.end()) c.cases += n;
      out.coverage.push_back(c);
    }
  } else if (result.template is<rc::detail::FailureResult>()) {
    const auto& f = result.template get<rc::detail::FailureResult>();
    out.cases = f.numSuccess + 1;
    out.infrastructure = g_infrastructure;
    if (!g_first_failure.empty()) os << "\nfirst failing case (before shrinking): " << g_first_failure;
    os << "\nseed " << params.seed
       << "; reproduce with: RC_PARAMS=\"reproduce=" << rc::detail::reproduceMapToString({{id, f.reproduce}})
       << "\" (or RC_PARAMS=\"seed=" << params.seed << "\")";
  }
  out.text = os.str();
  return out;
}

}  // namespace ipc::ring::prop
