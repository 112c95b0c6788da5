// The ring's properties (see properties.h). Layout of this file:
//   messages      every message is derived from its id, so a torn or stale message is recognised
//   harness       one generated case = one forked child under a fault plan, with a deadline
//   model         the deque the ring must behave like, and the commands checked against it
//   properties    sequential (with and without faults), concurrent, creation
#include "properties.h"

#include <fcntl.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "ipcsuite/blocked.h"
#include "ipcsuite/fault_child.h"
#include "ipcsuite/result.h"
#include "linearizability.h"

namespace rc::detail {
// Defined in librapidcheck (the listener that prints "reproduce=..."), not declared in its headers.
std::string reproduceMapToString(const std::unordered_map<std::string, Reproduce>& reproduceMap);
}  // namespace rc::detail

namespace ipc::ring::prop {
namespace {

using Bytes = std::vector<std::byte>;

// --- messages ------------------------------------------------------------------------------------

constexpr uint32_t kMinLen = 4;

Bytes MakeMessage(uint32_t id, uint32_t len) {
  Bytes b(len);
  std::memcpy(b.data(), &id, sizeof id);
  for (uint32_t i = kMinLen; i < len; ++i) b[i] = static_cast<std::byte>((id * 131 + i * 7) & 0xff);
  return b;
}

// The id of an intact message of length `len` (0 if `b` is not exactly that message).
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

struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void Fail(const std::string& what) { throw Violation(what); }

// --- processes -----------------------------------------------------------------------------------

bool WriteAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w, n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r, n -= static_cast<size_t>(r);
  }
  return true;
}

// A forked helper process that reports over a pipe. It dies with its parent and ends with _exit.
struct Worker {
  pid_t pid = -1;
  int fd = -1;
};

Worker Fork(const std::function<void(int)>& body) {
  int p[2];
  // A refused pipe or fork is the machine's limit, not the ring's fault: tagged so that it is an `error`.
  if (pipe2(p, O_CLOEXEC) != 0)
    Fail(InfrastructureTag(errno) + std::string("pipe2 failed: ") + strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) Fail(InfrastructureTag(errno) + std::string("fork failed: ") + strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    close(p[0]);
    try {
      body(p[1]);
    } catch (...) {
      _exit(3);  // never unwind into the parent's code in the child
    }
    _exit(0);
  }
  close(p[1]);
  return {pid, p[0]};
}

void Reap(Worker& w, bool kill_first = false) {
  if (kill_first) kill(w.pid, SIGKILL);
  close(w.fd);
  int st;
  while (waitpid(w.pid, &st, 0) < 0 && errno == EINTR) {
  }
}

void SendStatus(int fd, Status s) {
  auto b = static_cast<uint8_t>(s);
  WriteAll(fd, &b, 1);
}

void SendMessage(int fd, Status s, const Bytes& m) {
  SendStatus(fd, s);
  auto len = static_cast<uint32_t>(m.size());
  WriteAll(fd, &len, sizeof len);
  WriteAll(fd, m.data(), m.size());
}

Status ReadStatus(Worker& w, const std::string& what) {
  uint8_t b;
  if (!ReadAll(w.fd, &b, 1)) Fail(what + ": the worker process ended without reporting");
  return static_cast<Status>(b);
}

Bytes ReadMessage(Worker& w, const std::string& what) {
  uint32_t len;
  if (!ReadAll(w.fd, &len, sizeof len)) Fail(what + ": no message from the worker");
  Bytes m(len);
  if (!ReadAll(w.fd, m.data(), len)) Fail(what + ": short message from the worker");
  return m;
}

// Stopping a process inside an operation: the hook reports "stopped" and waits to be killed.
int g_stop_fd = -1;
Stage g_stop_at = Stage::kClaimed;
void StopHere(Stage s) {
  if (s != g_stop_at) return;
  char c = 'S';
  WriteAll(g_stop_fd, &c, 1);
  for (;;) pause();
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

// --- harness -------------------------------------------------------------------------------------

// What the child of a case tells its parent, in a shared page (the child may be killed at any time).
struct Report {
  int spurious;
  char text[60000];
};

// A T in a shared anonymous mapping: written by forked workers, read by the parent after they end.
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

class SharedReport : public SharedPage<Report> {
 public:
  void Set(const std::string& s) const {
    size_t n = std::min(s.size(), sizeof get()->text - 1);
    std::memcpy(get()->text, s.data(), n);
    get()->text[n] = '\0';
  }
};

struct CaseResult {
  bool ok = true;
  std::string message;
  size_t faults = 0;  // faults the layer injected
  int spurious = 0;   // no-effect failures the ring reported in place of success
  std::vector<fault::FaultEvent> log;
};

// Runs `body` in a forked child under `plan` with a deadline. The body returns normally when the case
// holds and throws (Violation or anything else) when it does not.
CaseResult RunCase(const fault::Plan& plan, const std::function<void(Report*)>& body,
                   std::chrono::milliseconds deadline, const std::string& what) {
  SharedReport report;
  Report* r = report.get();
  fault::FaultRun run = fault::RunInChild(plan,
                                          [&]() -> int {
                                            try {
                                              body(r);
                                              return 0;
                                            } catch (const std::exception& e) {
                                              report.Set(e.what());
                                            } catch (...) {
                                              report.Set("unknown exception");
                                            }
                                            return 1;
                                          },
                                          {.deadline = deadline, .what = what});
  CaseResult out;
  out.faults = run.log.size();
  out.spurious = r->spurious;
  out.log = run.log;
  if (!run.error.empty()) {
    out.ok = false;
    out.message = "could not start the case: " + run.error;
  } else if (!run.status.Exited(0)) {
    out.ok = false;
    out.message = std::string(r->text);
    if (out.message.empty() || !run.status.Exited(1)) {
      out.message +=
          (out.message.empty() ? "" : "; ") + std::string("the case's process ") + run.status.Describe() +
          (run.status.TimedOut() ? " (a hang: a process waits for something that never comes)" : "");
    }
  }
  return out;
}

// --- model ---------------------------------------------------------------------------------------

struct Msg {
  uint32_t id, len;
};

struct Model {
  uint32_t slots = 1, slot_bytes = 16;
  std::deque<Msg> q;
  bool closed = false;
  uint32_t next_id = 1;
  bool full() const { return q.size() >= slots; }
};

enum class WaitKind { kBlock, kNoWait, kTimed };
const char* WaitName(WaitKind k) {
  return k == WaitKind::kBlock ? "blocking" : k == WaitKind::kNoWait ? "try" : "timed";
}

// The system under test as one case's driver process sees it. `shadow` is the model the checks
// use: equal to rapidcheck's model, except that under faults it follows the (allowed) no-effect
// failures the ring reported.
struct Sut {
  Ring ring;
  Model shadow;
  bool faults = false;
  bool retry_eintr = true;
  int spurious = 0;

  Wait MakeWait(WaitKind k) const {
    switch (k) {
      case WaitKind::kBlock:
        return Wait::Block(retry_eintr);
      case WaitKind::kNoWait:
        return Wait::NoWait();
      case WaitKind::kTimed:
        return Wait::For(2, retry_eintr);
    }
    return Wait::Block();
  }

  // true: the call did what `want` says. false: under faults, a failure with no effect in its place
  // (counted when it replaced a success). Anything else is a violation.
  bool Accept(Status got, Status want, const Wait& w, const std::string& what) {
    if (got == want) return true;
    if (faults) {
      bool no_effect_failure = (got == Status::kInterrupted && !w.retry_eintr) ||
                               (got == Status::kWouldBlock && w.mode == Wait::Mode::kNoWait) ||
                               (got == Status::kTimedOut && w.mode == Wait::Mode::kTimeout);
      if (no_effect_failure) {
        if (want == Status::kOk) ++spurious;
        return false;
      }
    }
    std::string err = got == Status::kError ? " (" + std::string(strerror(ring.last_errno())) + ")" : "";
    Fail(what + ": got " + StatusName(got) + err + ", expected " + StatusName(want));
  }

  void ExpectFront(const Bytes& m, const std::string& what) {
    if (shadow.q.empty()) Fail(what + ": got " + Show(m) + " from an empty ring");
    const Msg& f = shadow.q.front();
    if (m != MakeMessage(f.id, f.len))
      Fail(what + ": got " + Show(m) + ", expected <id " + std::to_string(f.id) + ", " +
           std::to_string(f.len) + " bytes>");
    shadow.q.pop_front();
  }
};

using Cmd = rc::state::Command<Model, Sut>;

std::string ShowCmd(const Cmd& c) {
  std::ostringstream os;
  c.show(os);
  return os.str();
}

WaitKind GenWait() { return *rc::gen::element(WaitKind::kBlock, WaitKind::kNoWait, WaitKind::kTimed); }

Status WantPush(const Model& s, WaitKind k) {
  if (s.closed) return Status::kClosed;
  if (!s.full()) return Status::kOk;
  return k == WaitKind::kNoWait ? Status::kWouldBlock : Status::kTimedOut;
}

Status WantPop(const Model& s, WaitKind k) {
  if (s.closed) return Status::kClosed;
  if (!s.q.empty()) return Status::kOk;
  return k == WaitKind::kNoWait ? Status::kWouldBlock : Status::kTimedOut;
}

struct PushCmd : Cmd {
  WaitKind kind;
  uint32_t id, len;
  explicit PushCmd(const Model& m)
      : kind(GenWait()), id(m.next_id), len(*rc::gen::inRange<uint32_t>(kMinLen, m.slot_bytes + 1)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(kind != WaitKind::kBlock || m.closed || !m.full());
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (!m.closed && !m.full()) m.q.push_back({id, len});
  }
  void run(const Model&, Sut& sut) const override {
    if (kind == WaitKind::kBlock && !sut.shadow.closed && sut.shadow.full()) return;  // would never return
    Wait w = sut.MakeWait(kind);
    Status want = WantPush(sut.shadow, kind);
    if (sut.Accept(sut.ring.Push(MakeMessage(id, len), w), want, w, ShowCmd(*this)) && want == Status::kOk)
      sut.shadow.q.push_back({id, len});
  }
  void show(std::ostream& os) const override {
    os << "push(" << WaitName(kind) << ", id " << id << ", " << len << " bytes)";
  }
};

struct PopCmd : Cmd {
  WaitKind kind;
  explicit PopCmd(const Model&) : kind(GenWait()) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(kind != WaitKind::kBlock || m.closed || !m.q.empty());
  }
  void apply(Model& m) const override {
    if (!m.closed && !m.q.empty()) m.q.pop_front();
  }
  void run(const Model&, Sut& sut) const override {
    if (kind == WaitKind::kBlock && !sut.shadow.closed && sut.shadow.q.empty()) return;
    Wait w = sut.MakeWait(kind);
    Status want = WantPop(sut.shadow, kind);
    Bytes m;
    Status got = sut.ring.Pop(&m, w);
    if (got == Status::kOk && want != Status::kOk)
      Fail(ShowCmd(*this) + ": got " + Show(m) + ", expected " + StatusName(want));
    if (sut.Accept(got, want, w, ShowCmd(*this)) && want == Status::kOk) sut.ExpectFront(m, ShowCmd(*this));
  }
  void show(std::ostream& os) const override { os << "pop(" << WaitName(kind) << ")"; }
};

struct CloseCmd : Cmd {
  explicit CloseCmd(const Model&) {}
  void apply(Model& m) const override { m.closed = true; }
  void run(const Model&, Sut& sut) const override {
    Status want = sut.shadow.closed ? Status::kClosed : Status::kOk;
    sut.Accept(sut.ring.Close(), want, Wait::Block(), "close");
    sut.shadow.closed = true;
  }
  void show(std::ostream& os) const override { os << "close"; }
};

// Another process pushes 1..3 messages (blocking) and exits. Its SEM_UNDO adjustments must all have
// been cancelled by its commits: its exit may not change the ring.
struct SpawnProducerCmd : Cmd {
  std::vector<Msg> msgs;
  explicit SpawnProducerCmd(const Model& m) {
    int k = *rc::gen::inRange(1, 4);
    for (int i = 0; i < k; ++i)
      msgs.push_back(
          {m.next_id + static_cast<uint32_t>(i), *rc::gen::inRange<uint32_t>(kMinLen, m.slot_bytes + 1)});
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && m.q.size() + msgs.size() <= m.slots);
  }
  void apply(Model& m) const override {
    for (const Msg& x : msgs) m.q.push_back(x), m.next_id = std::max(m.next_id, x.id + 1);
  }
  void run(const Model&, Sut& sut) const override {
    if (sut.shadow.closed || sut.shadow.q.size() + msgs.size() > sut.shadow.slots) return;
    Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = Fork([&](int fd) {
      for (const Msg& x : msgs) SendStatus(fd, sut.ring.Push(MakeMessage(x.id, x.len), w));
    });
    for (const Msg& x : msgs)
      if (sut.Accept(ReadStatus(wk, ShowCmd(*this)), Status::kOk, w, ShowCmd(*this)))
        sut.shadow.q.push_back(x);
    Reap(wk);
  }
  void show(std::ostream& os) const override {
    os << "producer process pushes";
    for (const Msg& x : msgs) os << " (id " << x.id << ", " << x.len << " bytes)";
    os << " and exits";
  }
};

struct SpawnConsumerCmd : Cmd {
  size_t k;
  explicit SpawnConsumerCmd(const Model&) : k(static_cast<size_t>(*rc::gen::inRange(1, 4))) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.closed && m.q.size() >= k); }
  void apply(Model& m) const override {
    for (size_t i = 0; i < k; ++i) m.q.pop_front();
  }
  void run(const Model&, Sut& sut) const override {
    if (sut.shadow.closed || sut.shadow.q.size() < k) return;
    Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = Fork([&](int fd) {
      for (size_t i = 0; i < k; ++i) {
        Bytes m;
        Status s = sut.ring.Pop(&m, w);
        SendMessage(fd, s, m);
      }
    });
    for (size_t i = 0; i < k; ++i) {
      Status s = ReadStatus(wk, ShowCmd(*this));
      Bytes m = ReadMessage(wk, ShowCmd(*this));
      if (sut.Accept(s, Status::kOk, w, ShowCmd(*this))) sut.ExpectFront(m, ShowCmd(*this));
    }
    Reap(wk);
  }
  void show(std::ostream& os) const override { os << "consumer process pops " << k << " and exits"; }
};

// A process is SIGKILLed at a stage of a push or pop (stopped there by the ring's stage hook): before
// its commit the operation must not have happened, after it it must have; either way nobody hangs and
// no torn message is ever delivered.
struct KillMidOpCmd : Cmd {
  bool producer;
  Stage stage;
  uint32_t id, len;
  explicit KillMidOpCmd(const Model& m)
      : producer(*rc::gen::arbitrary<bool>()),
        stage(*rc::gen::element(Stage::kClaimed, Stage::kHalfCopied, Stage::kCommitted)),
        id(m.next_id),
        len(*rc::gen::inRange<uint32_t>(kMinLen, m.slot_bytes + 1)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? !m.full() : !m.q.empty()));
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (stage != Stage::kCommitted) return;
    if (producer)
      m.q.push_back({id, len});
    else
      m.q.pop_front();
  }
  void run(const Model&, Sut& sut) const override {
    if (sut.shadow.closed || (producer ? sut.shadow.full() : sut.shadow.q.empty())) return;
    Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = Fork([&](int fd) {
      g_stop_fd = fd;
      g_stop_at = stage;
      SetStageHook(StopHere);
      Bytes m;
      Status s = producer ? sut.ring.Push(MakeMessage(id, len), w) : sut.ring.Pop(&m, w);
      char c = 'R';
      WriteAll(fd, &c, 1);
      SendStatus(fd, s);
    });
    char c;
    if (!ReadAll(wk.fd, &c, 1)) Fail(ShowCmd(*this) + ": the process ended without reaching the stage");
    if (c == 'S') {
      Reap(wk, /*kill_first=*/true);
      if (stage == Stage::kCommitted) {
        if (producer)
          sut.shadow.q.push_back({id, len});
        else
          sut.shadow.q.pop_front();
      }
      return;
    }
    Status s = ReadStatus(wk, ShowCmd(*this));
    Reap(wk);
    if (sut.Accept(s, Status::kOk, w, ShowCmd(*this)))
      Fail(ShowCmd(*this) + ": the operation completed without passing the " + StageName(stage) + " stage");
  }
  void show(std::ostream& os) const override {
    os << "kill a " << (producer ? "producer" : "consumer") << " process at stage " << StageName(stage);
    if (producer) os << " (id " << id << ", " << len << " bytes)";
  }
};

// A process blocks in a push on a full ring (or a pop on an empty one); then one of:
//   kKill   it is SIGKILLed: nothing changes;
//   kClose  the ring is closed: it returns kClosed;
//   kServe  this process pops (pushes) one: the blocked one completes.
struct BlockedCmd : Cmd {
  enum class Then { kKill, kClose, kServe } then;
  bool producer;
  uint32_t id, len;
  explicit BlockedCmd(const Model& m)
      : then(*rc::gen::element(Then::kKill, Then::kClose, Then::kServe)),
        producer(*rc::gen::arbitrary<bool>()),
        id(m.next_id),
        len(*rc::gen::inRange<uint32_t>(kMinLen, m.slot_bytes + 1)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? m.full() : m.q.empty()));
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (then == Then::kClose) m.closed = true;
    if (then == Then::kServe && producer) m.q.pop_front(), m.q.push_back({id, len});
  }
  void run(const Model&, Sut& sut) const override {
    const std::string what = ShowCmd(*this);
    if (sut.shadow.closed || (producer ? !sut.shadow.full() : !sut.shadow.q.empty())) {
      if (then == Then::kClose) CloseCmd(sut.shadow).run(sut.shadow, sut);
      return;
    }
    Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = Fork([&](int fd) {
      Bytes m;
      Status s = producer ? sut.ring.Push(MakeMessage(id, len), w) : sut.ring.Pop(&m, w);
      SendMessage(fd, s, m);
    });
    auto blocked = WaitUntilBlockedIn(wk.pid, SYS_semtimedop, std::chrono::milliseconds(2000));
    if (!blocked && !sut.faults) {
      Reap(wk, true);
      Fail(what + ": the process did not block: " + blocked.message());
    }
    if (then == Then::kKill) {
      Reap(wk, true);
      return;
    }
    if (then == Then::kClose) {
      sut.Accept(sut.ring.Close(), Status::kOk, Wait::Block(), what + ": close");
      sut.shadow.closed = true;
      Status s = ReadStatus(wk, what);
      ReadMessage(wk, what);
      Reap(wk);
      sut.Accept(s, Status::kClosed, w, what + ": the blocked process");
      return;
    }
    // kServe
    if (producer) {
      Bytes m;
      if (sut.Accept(sut.ring.Pop(&m, Wait::Block()), Status::kOk, Wait::Block(), what + ": pop"))
        sut.ExpectFront(m, what + ": pop");
    } else {
      if (sut.Accept(sut.ring.Push(MakeMessage(id, len), Wait::Block()), Status::kOk, Wait::Block(),
                     what + ": push"))
        sut.shadow.q.push_back({id, len});
    }
    Status s = ReadStatus(wk, what);
    Bytes m = ReadMessage(wk, what);
    Reap(wk);
    if (!sut.Accept(s, Status::kOk, w, what + ": the blocked process")) return;
    if (producer)
      sut.shadow.q.push_back({id, len});
    else
      sut.ExpectFront(m, what + ": the blocked process");
  }
  void show(std::ostream& os) const override {
    os << (producer ? "a producer process blocks on a full ring"
                    : "a consumer process blocks on an empty ring")
       << ", then "
       << (then == Then::kKill    ? "is killed"
           : then == Then::kClose ? "the ring is closed"
                                  : "is served");
    if (producer || then == Then::kServe) os << " (id " << id << ", " << len << " bytes)";
  }
};

Model GenModel() {
  Model m;
  m.slots = *rc::gen::inRange<uint32_t>(1, 5);
  m.slot_bytes = *rc::gen::element<uint32_t>(16, 64, 256);
  return m;
}

auto GenCommands(const Model& m0) {
  return *rc::state::gen::commands(m0, [](const Model& m) {
    return rc::state::gen::execOneOfWithArgs<PushCmd, PushCmd, PushCmd, PopCmd, PopCmd, PopCmd, CloseCmd,
                                             SpawnProducerCmd, SpawnConsumerCmd, KillMidOpCmd, KillMidOpCmd,
                                             BlockedCmd, BlockedCmd>()(m);
  });
}

// The case's driver: create the ring, run the commands, remove the ring.
void RunCommands(const Model& m0, const rc::state::Commands<Cmd>& cmds, const Flaws& flaws, bool faults,
                 bool retry_eintr, Report* report) {
  auto created = Ring::Create({.slots = m0.slots, .slot_bytes = m0.slot_bytes}, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  Sut sut{std::move(created).value(), m0, faults, retry_eintr, 0};
  try {
    for (const auto& c : cmds) {
      c->run(sut.shadow, sut);
      report->spurious = sut.spurious;
    }
  } catch (...) {
    sut.ring.Close();
    throw;
  }
  sut.ring.Close();
}

std::string ShowCommands(const rc::state::Commands<Cmd>& cmds) {
  std::ostringstream os;
  for (const auto& c : cmds) {
    os << "  ";
    c->show(os);
    os << "\n";
  }
  return os.str();
}

// The first failure of the property being checked, kept because a shrunk case that depends on
// timing (concurrency) may pass when rapidcheck re-runs it.
std::string g_first_failure;

[[noreturn]] void CaseFails(const std::string& message) {
  if (g_first_failure.empty()) g_first_failure = message;
  RC_FAIL(message);
}

// --- running a property --------------------------------------------------------------------------

int SoakFactor() {
  const char* s = std::getenv("IPCSUITE_SOAK");
  if (s == nullptr || *s == '\0' || std::strcmp(s, "0") == 0) return 1;
  int n = std::atoi(s);
  return n < 1 ? 20 : n;  // a non-number asks for "a soak": 20x
}

template <typename Testable>
Outcome CheckProperty(const std::string& id, const Budget& budget, Testable&& testable) {
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
  auto result = rc::detail::checkTestable(std::forward<Testable>(testable), md, params);
  Outcome out;
  out.seed = params.seed;
  std::ostringstream os;
  rc::detail::printResultMessage(result, os);
  if (result.template is<rc::detail::SuccessResult>()) {
    out.passed = true;
    out.cases = result.template get<rc::detail::SuccessResult>().numSuccess;
  } else if (result.template is<rc::detail::FailureResult>()) {
    const auto& f = result.template get<rc::detail::FailureResult>();
    out.cases = f.numSuccess + 1;
    if (!g_first_failure.empty()) os << "\nfirst failing case (before shrinking): " << g_first_failure;
    os << "\nseed " << params.seed
       << "; reproduce with: RC_PARAMS=\"reproduce=" << rc::detail::reproduceMapToString({{id, f.reproduce}})
       << "\" (or RC_PARAMS=\"seed=" << params.seed << "\")";
  }
  out.text = os.str();
  return out;
}

fault::Plan MakePlan(const std::vector<std::string>& specs) {
  fault::Plan plan;
  std::string error;
  if (!fault::ParseRules(specs, &plan, &error)) throw std::runtime_error("bad fault plan: " + error);
  return plan;
}

struct FaultSpec {
  std::string name;
  int err;
  int at;
  std::string Text() const {
    return name + "=" +
           (err == EINTR    ? "EINTR"
            : err == EAGAIN ? "EAGAIN"
            : err == ENOMEM ? "ENOMEM"
                            : "ENOSPC") +
           "@" + std::to_string(at);
  }
};

// How rapidcheck prints a fault in a counterexample.
[[maybe_unused]] void showValue(const FaultSpec& f, std::ostream& os) { os << f.Text(); }

std::string ShowFaults(const std::vector<FaultSpec>& faults) {
  std::string s;
  for (const auto& f : faults) s += (s.empty() ? "" : " ") + f.Text();
  return s.empty() ? "(none)" : s;
}

}  // namespace

Budget DefaultBudget(int base) {
  Budget b;
  b.max_success = base * SoakFactor();
  return b;
}

Outcome SequentialModel(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, [&] {
    const Model m0 = GenModel();
    const auto cmds = GenCommands(m0);
    RC_CLASSIFY(cmds.size() > 20, "long");
    CaseResult r = RunCase(
        fault::Plan{}, [&](Report* rep) { RunCommands(m0, cmds, flaws, false, true, rep); }, budget.deadline,
        "running ring commands");
    if (!r.ok)
      CaseFails("ring of " + std::to_string(m0.slots) + " slots of " + std::to_string(m0.slot_bytes) +
                " bytes; commands:\n" + ShowCommands(cmds) + "failure: " + r.message);
  });
}

Outcome SequentialUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, [&] {
    const Model m0 = GenModel();
    const bool retry_eintr = *rc::gen::arbitrary<bool>();
    // 1..6 faults, each at one call index of semop or semtimedop (counted over the whole process tree).
    const auto faults = *rc::gen::container<std::vector<FaultSpec>>(
        static_cast<size_t>(*rc::gen::inRange(1, 7)),
        rc::gen::construct<FaultSpec>(rc::gen::element<std::string>("semop", "semtimedop"),
                                      rc::gen::element(EINTR, EAGAIN), rc::gen::inRange(1, 40)));
    const auto cmds = GenCommands(m0);
    std::vector<std::string> specs;
    for (const auto& f : faults) specs.push_back(f.Text());
    CaseResult r = RunCase(
        MakePlan(specs), [&](Report* rep) { RunCommands(m0, cmds, flaws, true, retry_eintr, rep); },
        budget.deadline, "running ring commands under faults");
    std::string where = "faults: " + ShowFaults(faults) + "; retry EINTR: " + (retry_eintr ? "yes" : "no") +
                        "; ring of " + std::to_string(m0.slots) + " slots of " +
                        std::to_string(m0.slot_bytes) + " bytes; commands:\n" + ShowCommands(cmds);
    if (!r.ok) CaseFails(where + "failure: " + r.message);
    if (static_cast<size_t>(r.spurious) > r.faults)
      CaseFails(where + "failure: the ring reported " + std::to_string(r.spurious) +
                " no-effect failures in place of success, but only " + std::to_string(r.faults) +
                " faults were injected");
  });
}

// --- concurrent ----------------------------------------------------------------------------------
//
// Producer and consumer processes run their generated operations at once; every operation records its
// invocation and response (logical times from one shared counter) in a history that lives in memory
// shared with the property's own process, so that it survives kills and is checked there, next to
// the fault layer's log. Optionally, the case
//   - injects a per-process fault schedule (semop/semtimedop EINTR/EAGAIN: "semop=EINTR@3" is the
//     third semop call of every process of the case) and a creation fault (semget/shmget ENOMEM/ENOSPC
//     at the first call: Create must return that errno, leave nothing behind, and work the next time);
//   - kills processes mid-operation, one of four ways:
//       at a stage   the process SIGKILLs itself at a stage of its k-th operation (the ring's test hook);
//                    the outcome is then known exactly: before the commit the operation did not
//                    happen, after it it did (a pop that committed removed a message nobody receives);
//       after semop  it SIGKILLs itself right after the n-th successful semop call of its k-th
//                    operation, whatever that call was (claim, commit, or part of a broken commit);
//       when blocked once it sleeps in semtimedop (seen in /proc, with a deadline), it is SIGKILLed;
//       at a time    a POSIX timer sends SIGKILL after a generated number of microseconds: any point;
//     an operation cut by the last three is pending: it may or may not have taken effect (whole).
// After the run the ring is drained, its capacity checked (exactly `slots` try-pushes fit: a crash
// neither loses nor invents a slot), and the history checked for linearizability (linearizability.h).

namespace {

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

enum class Side : uint8_t { kPush, kPop };

struct Event {
  uint32_t state;  // 0: reserved, 1: invoked (no response yet), 2: responded
  Side side;
  uint8_t wait;  // WaitKind
  uint8_t status;
  uint8_t torn;
  uint16_t process;
  uint16_t op;     // index of the operation in its process's list
  uint32_t value;  // pushed value; popped id (if intact)
  uint64_t invoke, response;
};

struct ProcEntry {
  int32_t pid;
  uint16_t process;
  uint8_t killed;  // ended by SIGKILL
  uint8_t other;   // ended any other way than exit 0 or SIGKILL
  uint64_t death;  // logical time after it was reaped
};

constexpr size_t kMaxEvents = 16384;
constexpr size_t kMaxWorkers = 8;
struct History {
  uint64_t clock;
  uint64_t count;
  uint32_t nprocs;
  ProcEntry procs[kMaxWorkers + 1];
  Event events[kMaxEvents];
};

using SharedHistory = SharedPage<History>;

uint64_t Tick(History* h) { return __atomic_add_fetch(&h->clock, 1, __ATOMIC_SEQ_CST); }

// Invocation: the record is complete before the operation starts (state 1 is stored last), so a
// process killed at any point leaves either no record (it had not started) or a whole one.
Event* Begin(History* h, Side side, WaitKind wait, uint16_t process, uint16_t op, uint32_t value) {
  uint64_t i = __atomic_fetch_add(&h->count, 1, __ATOMIC_SEQ_CST);
  if (i >= kMaxEvents) Fail("history overflow");
  Event* e = &h->events[i];
  e->side = side;
  e->wait = static_cast<uint8_t>(wait);
  e->process = process;
  e->op = op;
  e->value = value;
  e->invoke = Tick(h);
  __atomic_store_n(&e->state, 1u, __ATOMIC_SEQ_CST);
  return e;
}

void End(History* h, Event* e, Status s, uint32_t value, bool torn) {
  e->response = Tick(h);
  e->status = static_cast<uint8_t>(s);
  e->value = value;
  e->torn = torn ? 1 : 0;
  __atomic_store_n(&e->state, 2u, __ATOMIC_SEQ_CST);
}

struct Op {
  WaitKind kind;
  uint32_t len;
};

struct Kill {
  enum class How { kAtStage, kAfterSemop, kWhenBlocked, kAfterMicros } how;
  bool producer;
  size_t index;  // which producer / consumer (modulo their number)
  size_t op;     // kAtStage, kAfterSemop: which of its operations
  Stage stage;   // kAtStage
  int semops;    // kAfterSemop: right after the n-th semop call of the operation that succeeded
  int micros;    // kAfterMicros
};

struct Scenario {
  uint32_t slots = 1, slot_bytes = 16;
  std::vector<std::vector<Op>> producers;
  std::vector<std::vector<WaitKind>> consumers;
  bool retry_eintr = true;
  std::vector<FaultSpec> faults;         // counted per process
  std::vector<FaultSpec> create_faults;  // at most one: semget/shmget @1
  std::vector<Kill> kills;               // at most one per process
};

uint16_t ProducerId(size_t p) { return static_cast<uint16_t>(p + 1); }
uint16_t ConsumerId(size_t c) { return static_cast<uint16_t>(100 + c); }
constexpr uint16_t kDriverId = 200;
uint32_t ValueOf(size_t p, size_t i) { return static_cast<uint32_t>((p + 1) * 1000 + i); }

std::string ProcessName(uint16_t id) {
  if (id == kDriverId) return "the draining process";
  if (id >= 100) return "consumer " + std::to_string(id - 100);
  return "producer " + std::to_string(id - 1);
}

const Kill* KillFor(const Scenario& sc, bool producer, size_t index) {
  for (const Kill& k : sc.kills)
    if (k.producer == producer && k.index == index) return &k;
  return nullptr;
}

std::string ShowKill(const Kill& k) {
  std::string who = (k.producer ? "producer " : "consumer ") + std::to_string(k.index);
  switch (k.how) {
    case Kill::How::kAtStage:
      return "kill " + who + " at stage " + StageName(k.stage) + " of its operation " + std::to_string(k.op);
    case Kill::How::kAfterSemop:
      return "kill " + who + " right after semop call " + std::to_string(k.semops) + " of its operation " +
             std::to_string(k.op);
    case Kill::How::kWhenBlocked:
      return "kill " + who + " once blocked in semtimedop";
    case Kill::How::kAfterMicros:
      return "kill " + who + " after " + std::to_string(k.micros) + " us";
  }
  return "?";
}

std::string ShowScenario(const Scenario& sc) {
  std::ostringstream os;
  os << "ring of " << sc.slots << " slots of " << sc.slot_bytes
     << " bytes; retry EINTR: " << (sc.retry_eintr ? "yes" : "no") << "\n";
  for (size_t p = 0; p < sc.producers.size(); ++p) {
    os << "  producer " << p << ":";
    for (size_t i = 0; i < sc.producers[p].size(); ++i)
      os << " " << WaitName(sc.producers[p][i].kind) << "-push(" << ValueOf(p, i) << ", "
         << sc.producers[p][i].len << " B)";
    os << "\n";
  }
  for (size_t c = 0; c < sc.consumers.size(); ++c) {
    os << "  consumer " << c << ":";
    for (WaitKind k : sc.consumers[c]) os << " " << WaitName(k) << "-pop";
    os << "\n";
  }
  if (!sc.faults.empty()) os << "  faults (per process): " << ShowFaults(sc.faults) << "\n";
  if (!sc.create_faults.empty()) os << "  creation fault: " << ShowFaults(sc.create_faults) << "\n";
  for (const Kill& k : sc.kills) os << "  " << ShowKill(k) << "\n";
  return os.str();
}

// The stage kill: armed for one operation, the ring's hook kills the process at that stage (or after
// that many semop calls).
Stage g_kill_stage = Stage::kClaimed;
int g_kill_semops = 0;
bool g_kill_armed = false;
int g_semops_seen = 0;
void KillAtStage(Stage s) {
  if (!g_kill_armed) return;
  if (g_kill_semops > 0) {
    if (s == Stage::kSemopDone && ++g_semops_seen == g_kill_semops) raise(SIGKILL);
  } else if (s == g_kill_stage) {
    raise(SIGKILL);
  }
}
bool Armed(const Kill* k, size_t op) {
  g_semops_seen = 0;
  return k != nullptr && (k->how == Kill::How::kAtStage || k->how == Kill::How::kAfterSemop) && k->op == op;
}

void StartTimerKill(int micros) {
  timer_t t;
  sigevent se{};
  se.sigev_notify = SIGEV_SIGNAL;
  se.sigev_signo = SIGKILL;
  if (timer_create(CLOCK_MONOTONIC, &se, &t) != 0) Fail("timer_create: " + std::string(strerror(errno)));
  itimerspec its{};
  its.it_value.tv_sec = micros / 1000000;
  its.it_value.tv_nsec = (micros % 1000000) * 1000L + 1;  // 0 would disarm
  if (timer_settime(t, 0, &its, nullptr) != 0) Fail("timer_settime: " + std::string(strerror(errno)));
}

Wait WaitFor(WaitKind k, bool retry_eintr) {
  switch (k) {
    case WaitKind::kBlock:
      return Wait::Block(retry_eintr);
    case WaitKind::kNoWait:
      return Wait::NoWait();
    case WaitKind::kTimed:
      return Wait::For(1, retry_eintr);
  }
  return Wait::Block();
}

// The driver of one case (runs in the case's forked child, under the fault plan).
void ConcurrentCase(const Flaws& flaws, const Scenario& sc, History* h) {
  const size_t baseline = CountSysv();
  const Config config{.slots = sc.slots, .slot_bytes = sc.slot_bytes};
  for (const FaultSpec& f : sc.create_faults) {
    auto failed = Ring::Create(config, flaws);
    if (failed.ok()) Fail("creating the ring succeeded although " + f.Text() + " was injected");
    if (failed.error_number() != f.err) Fail("creating the ring under " + f.Text() + ": " + failed.error());
    if (CountSysv() != baseline) Fail("the failed creation (" + f.Text() + ") left SysV objects behind");
  }
  auto created = Ring::Create(config, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  Ring ring = std::move(created).value();
  std::unordered_map<uint32_t, uint32_t> lens;
  for (size_t p = 0; p < sc.producers.size(); ++p)
    for (size_t i = 0; i < sc.producers[p].size(); ++i) lens[ValueOf(p, i)] = sc.producers[p][i].len;

  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) Fail("pipe2 failed");
  auto wait_gate = [&] {
    close(gate[1]);
    char c;
    while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
  };
  auto pop_one = [&](uint16_t process, uint16_t op, WaitKind kind, bool retry_eintr) {
    Event* e = Begin(h, Side::kPop, kind, process, op, 0);
    Bytes m;
    Status s = ring.Pop(&m, WaitFor(kind, retry_eintr));
    uint32_t id = 0;
    bool torn = false;
    if (s == Status::kOk) {
      id = IntactId(m, lens);
      torn = id == 0;
      if (torn && m.size() >= kMinLen) std::memcpy(&id, m.data(), sizeof id);
    } else if (s == Status::kError) {
      torn = ring.last_errno() == EBADMSG;  // a length word no writer wrote
    }
    End(h, e, s, id, torn);
    return s;
  };
  auto start_kill = [&](const Kill* k) {
    if (k == nullptr) return;
    if (k->how == Kill::How::kAfterMicros) StartTimerKill(k->micros);
    if (k->how == Kill::How::kAtStage || k->how == Kill::How::kAfterSemop) {
      g_kill_stage = k->how == Kill::How::kAtStage ? k->stage : Stage::kSemopDone;
      g_kill_semops = k->how == Kill::How::kAfterSemop ? k->semops : 0;
      SetStageHook(KillAtStage);
    }
  };
  std::vector<Worker> workers;
  for (size_t p = 0; p < sc.producers.size(); ++p) {
    workers.push_back(Fork([&, p](int) {
      wait_gate();
      const Kill* k = KillFor(sc, true, p);
      start_kill(k);
      for (size_t i = 0; i < sc.producers[p].size(); ++i) {
        const Op& op = sc.producers[p][i];
        g_kill_armed = Armed(k, i);
        Event* e = Begin(h, Side::kPush, op.kind, ProducerId(p), static_cast<uint16_t>(i), ValueOf(p, i));
        Status s = ring.Push(MakeMessage(ValueOf(p, i), op.len), WaitFor(op.kind, sc.retry_eintr));
        End(h, e, s, ValueOf(p, i), false);
        g_kill_armed = false;
      }
    }));
    h->procs[h->nprocs++] = {workers.back().pid, ProducerId(p), 0, 0, 0};
  }
  for (size_t c = 0; c < sc.consumers.size(); ++c) {
    workers.push_back(Fork([&, c](int) {
      wait_gate();
      const Kill* k = KillFor(sc, false, c);
      start_kill(k);
      for (size_t i = 0; i < sc.consumers[c].size(); ++i) {
        g_kill_armed = Armed(k, i);
        pop_one(ConsumerId(c), static_cast<uint16_t>(i), sc.consumers[c][i], sc.retry_eintr);
        g_kill_armed = false;
      }
    }));
    h->procs[h->nprocs++] = {workers.back().pid, ConsumerId(c), 0, 0, 0};
  }
  h->procs[h->nprocs++] = {getpid(), kDriverId, 0, 0, 0};
  auto reap = [&](size_t i, int flags) {
    if (workers[i].pid < 0) return true;
    int st;
    pid_t r;
    while ((r = waitpid(workers[i].pid, &st, flags)) < 0 && errno == EINTR) {
    }
    if (r != workers[i].pid) return false;
    ProcEntry& pe = h->procs[i];
    pe.death = Tick(h);
    pe.killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    pe.other = !pe.killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(workers[i].fd);
    workers[i].pid = -1;
    return true;
  };
  close(gate[0]);
  close(gate[1]);  // go
  // Kills when blocked: wait (bounded) until the target sleeps in semtimedop, then kill it. If it
  // ends first, the kill finds a zombie and changes nothing.
  for (const Kill& k : sc.kills) {
    if (k.how != Kill::How::kWhenBlocked) continue;
    size_t i = k.producer ? k.index : sc.producers.size() + k.index;
    (void)WaitUntilBlockedIn(workers[i].pid, SYS_semtimedop, std::chrono::milliseconds(1000));
    kill(workers[i].pid, SIGKILL);
  }
  for (size_t c = 0; c < sc.consumers.size(); ++c) reap(sc.producers.size() + c, 0);
  // Drain while producers run; then until empty. Under faults, a would-block may be an injected
  // EAGAIN (at most one per rule, as they are counted per process): only sc.faults.size() + 1
  // would-blocks in a row prove the ring empty.
  uint16_t n = 0;
  for (;;) {
    if (pop_one(kDriverId, n++, WaitKind::kTimed, true) == Status::kOk) continue;
    bool all_done = true;
    for (size_t p = 0; p < sc.producers.size(); ++p) all_done &= reap(p, WNOHANG);
    if (all_done) break;
  }
  for (size_t empty = 0; empty <= sc.faults.size();)
    empty = pop_one(kDriverId, n++, WaitKind::kNoWait, true) == Status::kOk ? 0 : empty + 1;

  // Capacity: nobody else is left, the ring is empty: exactly `slots` messages fit, and come back
  // in order. A crash that lost or invented a slot shows here.
  auto retry = [&](const std::function<Status()>& op) {
    Status s = Status::kWouldBlock;
    for (size_t i = 0; i <= sc.faults.size() && s == Status::kWouldBlock; ++i) s = op();
    return s;
  };
  for (uint32_t i = 0; i < sc.slots; ++i) {
    Status s = retry([&] { return ring.Push(MakeMessage(900000 + i, kMinLen), Wait::NoWait()); });
    if (s != Status::kOk)
      Fail("after the run, try-push " + std::to_string(i + 1) + " of " + std::to_string(sc.slots) +
           " into the drained ring: " + StatusName(s) + " (capacity lost)");
  }
  Bytes extra;
  if (ring.Push(MakeMessage(999999, kMinLen), Wait::NoWait()) == Status::kOk)
    Fail("after the run, the drained ring took " + std::to_string(sc.slots + 1) +
         " messages (a slot counted twice)");
  for (uint32_t i = 0; i < sc.slots; ++i) {
    Bytes m;
    Status s = retry([&] { return ring.Pop(&m, Wait::NoWait()); });
    if (s != Status::kOk || m != MakeMessage(900000 + i, kMinLen))
      Fail("after the run, try-pop " + std::to_string(i + 1) + ": " + StatusName(s) + " " + Show(m) +
           ", expected <id " + std::to_string(900000 + i) + ">");
  }
  if (ring.Pop(&extra, Wait::NoWait()) == Status::kOk)
    Fail("after the run, popped " + Show(extra) + " from a ring that should be empty");
  ring.Close();
}

// Turns the recorded history into linearizability operations, judging operations cut by kills by
// how they were killed. "" when everything holds.
struct Judged {
  int killed = 0, pending = 0, exact = 0;  // processes killed; operations cut, judged pending / exactly
};

std::string Judge(const Scenario& sc, const History* h, const std::vector<fault::FaultEvent>& log,
                  Judged* stats) {
  std::unordered_map<int, uint16_t> process_of;
  std::unordered_map<uint16_t, const ProcEntry*> entry;
  for (uint32_t i = 0; i < h->nprocs; ++i) {
    process_of[h->procs[i].pid] = h->procs[i].process;
    entry[h->procs[i].process] = &h->procs[i];
  }
  std::unordered_map<uint16_t, int> eintr, eagain;  // semop/semtimedop faults per process
  for (const auto& f : log) {
    auto it = process_of.find(f.pid);
    if (it == process_of.end()) continue;
    if (f.err == EINTR) ++eintr[it->second];
    if (f.err == EAGAIN && f.name == "semop") ++eagain[it->second];  // try-pops: false "empty"
  }
  std::unordered_map<uint16_t, const Kill*> kill_of;
  for (size_t p = 0; p < sc.producers.size(); ++p) kill_of[ProducerId(p)] = KillFor(sc, true, p);
  for (size_t c = 0; c < sc.consumers.size(); ++c) kill_of[ConsumerId(c)] = KillFor(sc, false, c);
  for (uint32_t i = 0; i < h->nprocs; ++i) {
    const ProcEntry& pe = h->procs[i];
    if (pe.process == kDriverId) continue;
    stats->killed += pe.killed;
    if (pe.other || (pe.killed && kill_of[pe.process] == nullptr))
      return ProcessName(pe.process) + (pe.killed ? " was SIGKILLed although no kill was planned for it"
                                                  : " ended abnormally (not exit 0, not a planned kill)");
  }

  std::vector<lin::Op> ops;
  std::unordered_map<uint16_t, int> interrupted;
  const uint64_t n = std::min<uint64_t>(h->count, kMaxEvents);
  // A pop cut by a kill may hold a claimed message until the kernel undoes its claim at its death; a
  // try-pop in that window may find nothing to claim although the message is still in the queue
  // (whether or not the cut pop took effect). Such an "empty" claims nothing.
  std::vector<std::pair<uint64_t, uint64_t>> held;
  for (uint64_t i = 0; i < n; ++i) {
    const Event& e = h->events[i];
    const ProcEntry* pe = entry[e.process];
    if (e.state == 1 && e.side == Side::kPop && pe != nullptr) held.push_back({e.invoke, pe->death});
  }
  auto during_held = [&](const Event& e) {
    for (const auto& [from, to] : held)
      if (e.invoke < to && from < e.response) return true;
    return false;
  };
  for (uint64_t i = 0; i < n; ++i) {
    const Event& e = h->events[i];
    if (e.state == 0) continue;  // killed before it started
    const std::string who = ProcessName(e.process);
    const auto kind = static_cast<WaitKind>(e.wait);
    const bool push = e.side == Side::kPush;
    if (e.state == 1) {
      const ProcEntry* pe = entry[e.process];
      const Kill* k = kill_of[e.process];
      if (pe == nullptr || !pe->killed || k == nullptr)
        return who + ": an operation without a response, but the process was not killed";
      lin::Op op{push ? lin::Op::Kind::kPush : lin::Op::Kind::kPop, e.value, e.invoke, pe->death, e.process};
      ++(k->how == Kill::How::kAtStage ? stats->exact : stats->pending);
      if (k->how == Kill::How::kAtStage) {
        // Exactly known: before the commit nothing happened; after it the operation did.
        if (k->stage != Stage::kCommitted) continue;
        if (push) {
          ops.push_back(op);
        } else {
          op.pending = op.must = true;
          ops.push_back(op);
        }
      } else {
        op.pending = true;
        ops.push_back(op);
      }
      continue;
    }
    const auto s = static_cast<Status>(e.status);
    const bool no_effect = (s == Status::kWouldBlock && kind == WaitKind::kNoWait) ||
                           (s == Status::kTimedOut && kind == WaitKind::kTimed);
    if (e.torn)
      return "torn message delivered to " + who + " (its first bytes say id " + std::to_string(e.value) + ")";
    if (s == Status::kInterrupted && !sc.retry_eintr) {
      ++interrupted[e.process];
      continue;
    }
    if (s == Status::kOk) {
      ops.push_back(
          {push ? lin::Op::Kind::kPush : lin::Op::Kind::kPop, e.value, e.invoke, e.response, e.process});
      continue;
    }
    if (!no_effect)
      return who + ": " + WaitName(kind) + (push ? "-push" : "-pop") + " returned " + StatusName(s);
    if (!push && kind == WaitKind::kNoWait && !during_held(e))
      ops.push_back({lin::Op::Kind::kPopEmpty, 0, e.invoke, e.response, e.process});
  }
  for (const auto& [process, count] : interrupted)
    if (count > eintr[process])
      return ProcessName(process) + " was interrupted " + std::to_string(count) + " times, but only " +
             std::to_string(eintr[process]) + " EINTR faults were injected into it";
  lin::Options o;
  o.drained = true;
  for (const auto& [process, count] : eagain) o.excused_empties[process] = count;
  std::string problem = lin::Check(ops, o);
  if (!problem.empty()) problem += " (history of " + std::to_string(ops.size()) + " operations)";
  return problem;
}

Scenario GenScenario(bool faults, bool kills) {
  Scenario sc;
  sc.slots = *rc::gen::inRange<uint32_t>(1, 5);
  sc.slot_bytes = *rc::gen::element<uint32_t>(16, 64, 256);
  const auto genop =
      rc::gen::construct<Op>(rc::gen::element(WaitKind::kBlock, WaitKind::kNoWait, WaitKind::kTimed),
                             rc::gen::inRange<uint32_t>(kMinLen, sc.slot_bytes + 1));
  const int nproducers = *rc::gen::inRange(1, 4);
  const int nconsumers = *rc::gen::inRange(1, 3);
  for (int p = 0; p < nproducers; ++p)
    sc.producers.push_back(*rc::gen::nonEmpty(rc::gen::container<std::vector<Op>>(genop)));
  for (int c = 0; c < nconsumers; ++c)
    sc.consumers.push_back(
        *rc::gen::container<std::vector<WaitKind>>(rc::gen::element(WaitKind::kNoWait, WaitKind::kTimed)));
  if (faults) {
    sc.retry_eintr = *rc::gen::arbitrary<bool>();
    sc.faults = *rc::gen::container<std::vector<FaultSpec>>(
        static_cast<size_t>(*rc::gen::element(0, 1, 2, 3, 4)),
        rc::gen::construct<FaultSpec>(rc::gen::element<std::string>("semop", "semtimedop"),
                                      rc::gen::element(EINTR, EAGAIN), rc::gen::inRange(1, 25)));
    if (*rc::gen::element(false, false, false, true))
      sc.create_faults.push_back(
          {*rc::gen::element<std::string>("semget", "shmget"), *rc::gen::element(ENOMEM, ENOSPC), 1});
  }
  if (kills) {
    const int nkills = *rc::gen::element(0, 1, 1, 2);
    for (int i = 0; i < nkills; ++i) {
      Kill k{};
      k.how = *rc::gen::element(Kill::How::kAtStage, Kill::How::kAfterSemop, Kill::How::kWhenBlocked,
                                Kill::How::kAfterMicros);
      k.producer = *rc::gen::arbitrary<bool>();
      k.index = *rc::gen::inRange<size_t>(0, k.producer ? sc.producers.size() : sc.consumers.size());
      const size_t nops = k.producer ? sc.producers[k.index].size() : sc.consumers[k.index].size();
      k.op = nops == 0 ? 0 : *rc::gen::inRange<size_t>(0, nops);
      k.stage = *rc::gen::element(Stage::kClaimed, Stage::kHalfCopied, Stage::kCommitted);
      k.semops = *rc::gen::element(1, 2, 3);
      k.micros = *rc::gen::inRange(0, 400);  // a worker is active for tens to hundreds of us
      if (KillFor(sc, k.producer, k.index) == nullptr) sc.kills.push_back(k);
    }
  }
  return sc;
}

Outcome ConcurrentProperty(const Flaws& flaws, const Budget& budget, const std::string& id, bool faults,
                           bool kills) {
  return CheckProperty(id, budget, [&] {
    const Scenario sc = GenScenario(faults, kills);
    RC_CLASSIFY(!sc.faults.empty(), "faults");
    std::vector<std::string> specs;
    for (const auto& f : sc.faults) specs.push_back(f.Text());
    for (const auto& f : sc.create_faults) specs.push_back(f.Text());
    fault::Plan plan = MakePlan(specs);
    plan.per_process = true;
    SharedHistory history;
    CaseResult r = RunCase(
        plan, [&](Report*) { ConcurrentCase(flaws, sc, history.get()); }, budget.deadline,
        "running producers and consumers");
    Judged stats;
    std::string problem = r.ok ? Judge(sc, history.get(), r.log, &stats) : r.message;
    RC_TAG(stats.killed > 0 ? "processes killed" : "no process killed");
    if (stats.exact > 0) RC_TAG("operation cut at a known stage");
    if (stats.pending > 0) RC_TAG("operation cut pending");
    if (!problem.empty()) CaseFails(ShowScenario(sc) + "failure: " + problem);
  });
}

}  // namespace

Outcome Concurrent(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return ConcurrentProperty(flaws, budget, id, false, false);
}

Outcome ConcurrentUnderFaultsAndKills(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return ConcurrentProperty(flaws, budget, id, true, true);
}

// --- creation ------------------------------------------------------------------------------------

Outcome CreationUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, [&] {
    const FaultSpec fault{*rc::gen::element<std::string>("semget", "shmget"),
                          *rc::gen::element(ENOMEM, ENOSPC), *rc::gen::inRange(1, 3)};
    const int attempts = *rc::gen::inRange(1, 4);
    const bool keyed = *rc::gen::arbitrary<bool>();
    CaseResult r = RunCase(
        MakePlan({fault.Text()}),
        [&](Report*) {
          const size_t baseline = CountSysv();
          int semgets = 0, shmgets = 0;
          for (int a = 0; a < attempts; ++a) {
            ++semgets;
            int want = 0;
            if (fault.name == "semget" && fault.at == semgets) {
              want = fault.err;
            } else {
              ++shmgets;
              if (fault.name == "shmget" && fault.at == shmgets) want = fault.err;
            }
            const key_t key = keyed ? static_cast<key_t>(0x52490000 + a) : IPC_PRIVATE;
            auto ring = Ring::Create({.slots = 2, .slot_bytes = 32, .key = key}, flaws);
            std::string what =
                "attempt " + std::to_string(a + 1) + " (" + (keyed ? "keyed" : "IPC_PRIVATE") + ")";
            if (want != 0) {
              if (ring.ok()) Fail(what + ": created a ring although " + fault.Text() + " was injected");
              if (ring.error_number() != want)
                Fail(what + ": " + ring.error() + ", expected " + ErrnoName(want));
              if (CountSysv() != baseline)
                Fail(what + ": the failed creation left " + std::to_string(CountSysv() - baseline) +
                     " SysV object(s) behind");
              continue;
            }
            if (!ring.ok()) Fail(what + ": " + ring.error());
            if (keyed) {
              // The key is taken now: a second exclusive creation must say EEXIST and leave the first alone.
              ++semgets;
              const int want_again = fault.name == "semget" && fault.at == semgets ? fault.err : EEXIST;
              auto again = Ring::Create({.slots = 2, .slot_bytes = 32, .key = key}, flaws);
              if (again.ok() || again.error_number() != want_again)
                Fail(what + ": second creation with the same key: " +
                     (again.ok() ? std::string("succeeded") : again.error()) + ", expected " +
                     ErrnoName(want_again));
            }
            Bytes m;
            if (ring.value().Push(MakeMessage(7, 9), Wait::NoWait()) != Status::kOk ||
                ring.value().Pop(&m, Wait::NoWait()) != Status::kOk || m != MakeMessage(7, 9))
              Fail(what + ": the new ring does not carry a message");
            ring.value().Close();
            // IPC_RMID destroys a segment only at its last detach (shmctl(2)): drop the attachment first.
            { Ring gone = std::move(ring).value(); }
            if (CountSysv() != baseline) Fail(what + ": closing did not remove both objects");
          }
        },
        budget.deadline, "creating rings under faults");
    if (!r.ok)
      CaseFails("fault " + fault.Text() + ", " + std::to_string(attempts) + " attempts" +
                (keyed ? " with keys" : "") + ": " + r.message);
  });
}

}  // namespace ipc::ring::prop
