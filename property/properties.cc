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
  if (pipe2(p, O_CLOEXEC) != 0) Fail("pipe2 failed: " + std::string(strerror(errno)));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) Fail("fork failed: " + std::string(strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    close(p[0]);
    body(p[1]);
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
  }
  return "?";
}

// --- harness -------------------------------------------------------------------------------------

// What the child of a case tells its parent, in a shared page (the child may be killed at any time).
struct Report {
  int spurious;
  char text[60000];
};

class SharedReport {
 public:
  SharedReport() {
    void* p = mmap(nullptr, sizeof(Report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    r_ = static_cast<Report*>(p);
  }
  ~SharedReport() { munmap(r_, sizeof(Report)); }
  SharedReport(const SharedReport&) = delete;
  SharedReport& operator=(const SharedReport&) = delete;
  Report* get() const { return r_; }
  void Set(const std::string& s) const {
    size_t n = std::min(s.size(), sizeof r_->text - 1);
    std::memcpy(r_->text, s.data(), n);
    r_->text[n] = '\0';
  }

 private:
  Report* r_;
};

struct CaseResult {
  bool ok = true;
  std::string message;
  size_t faults = 0;  // faults the layer injected
  int spurious = 0;   // no-effect failures the ring reported in place of success
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
  return n <= 1 ? 20 : n;
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

namespace {

struct Event {
  uint8_t kind;  // 0 push ok, 1 pop ok, 2 pop saw empty, 3 no effect (push or pop), 4 torn pop, 5 unexpected
                 // status
  uint8_t status;
  uint16_t process;
  uint32_t value;
  uint64_t invoke, response;
};

constexpr size_t kMaxEvents = 16384;
struct History {
  uint64_t clock;
  uint64_t count;
  Event events[kMaxEvents];
};

uint64_t Tick(History* h) { return __atomic_add_fetch(&h->clock, 1, __ATOMIC_SEQ_CST); }

void Record(History* h, const Event& e) {
  uint64_t i = __atomic_fetch_add(&h->count, 1, __ATOMIC_SEQ_CST);
  if (i < kMaxEvents) h->events[i] = e;
}

struct Op {
  WaitKind kind;
  uint32_t len;
};

void ConcurrentCase(const Flaws& flaws, uint32_t slots, uint32_t slot_bytes,
                    const std::vector<std::vector<Op>>& producers,
                    const std::vector<std::vector<WaitKind>>& consumers) {
  auto created = Ring::Create({.slots = slots, .slot_bytes = slot_bytes}, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  Ring ring = std::move(created).value();
  void* mem = mmap(nullptr, sizeof(History), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Fail("mmap failed");
  auto* h = static_cast<History*>(mem);
  std::unordered_map<uint32_t, uint32_t> lens;
  for (size_t p = 0; p < producers.size(); ++p)
    for (size_t i = 0; i < producers[p].size(); ++i)
      lens[static_cast<uint32_t>((p + 1) * 1000 + i)] = producers[p][i].len;

  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) Fail("pipe2 failed");
  auto wait_gate = [&] {
    close(gate[1]);
    char c;
    while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
  };
  std::vector<Worker> prod, cons;
  for (size_t p = 0; p < producers.size(); ++p) {
    prod.push_back(Fork([&, p](int) {
      wait_gate();
      for (size_t i = 0; i < producers[p].size(); ++i) {
        const Op& op = producers[p][i];
        auto value = static_cast<uint32_t>((p + 1) * 1000 + i);
        Wait w = op.kind == WaitKind::kBlock    ? Wait::Block()
                 : op.kind == WaitKind::kNoWait ? Wait::NoWait()
                                                : Wait::For(1);
        Bytes m = MakeMessage(value, op.len);
        Event e{};
        e.process = static_cast<uint16_t>(p + 1);
        e.value = value;
        e.invoke = Tick(h);
        Status s = ring.Push(m, w);
        e.response = Tick(h);
        e.status = static_cast<uint8_t>(s);
        e.kind = s == Status::kOk ? 0
                 : (s == Status::kWouldBlock && op.kind == WaitKind::kNoWait) ||
                         (s == Status::kTimedOut && op.kind == WaitKind::kTimed)
                     ? 3
                     : 5;
        Record(h, e);
      }
    }));
  }
  auto pop_one = [&](uint16_t process, WaitKind kind) {
    Wait w = kind == WaitKind::kNoWait ? Wait::NoWait() : Wait::For(1);
    Bytes m;
    Event e{};
    e.process = process;
    e.invoke = Tick(h);
    Status s = ring.Pop(&m, w);
    e.response = Tick(h);
    e.status = static_cast<uint8_t>(s);
    if (s == Status::kOk) {
      e.value = IntactId(m, lens);
      e.kind = e.value != 0 ? 1 : 4;
      if (e.kind == 4 && m.size() >= kMinLen) std::memcpy(&e.value, m.data(), sizeof e.value);
    } else {
      // A try-pop that fails saw kFilled at 0: the queue was empty at that instant (or every message
      // in it was being taken by a pop already under way). A timed pop that times out says less: its
      // timeout also covers waiting for the mutex, so it is recorded without a claim of emptiness.
      e.kind = s == Status::kWouldBlock && kind == WaitKind::kNoWait ? 2
               : s == Status::kTimedOut && kind == WaitKind::kTimed  ? 3
                                                                     : 5;
    }
    Record(h, e);
    return s;
  };
  for (size_t c = 0; c < consumers.size(); ++c) {
    cons.push_back(Fork([&, c](int) {
      wait_gate();
      for (WaitKind k : consumers[c]) pop_one(static_cast<uint16_t>(100 + c), k);
    }));
  }
  close(gate[0]);
  close(gate[1]);  // go
  for (auto& w : cons) Reap(w);
  // Drain until every producer has finished and the ring is empty.
  for (;;) {
    if (pop_one(200, WaitKind::kTimed) == Status::kOk) continue;
    bool all_done = true;
    for (auto& w : prod) {
      if (w.pid > 0) {
        int st;
        if (waitpid(w.pid, &st, WNOHANG) == w.pid) {
          close(w.fd);
          w.pid = -1;
        } else {
          all_done = false;
        }
      }
    }
    if (all_done) {
      while (pop_one(200, WaitKind::kNoWait) == Status::kOk) {
      }
      break;
    }
  }
  ring.Close();

  std::vector<lin::Op> history;
  uint64_t n = std::min<uint64_t>(h->count, kMaxEvents);
  std::string problem;
  for (uint64_t i = 0; i < n && problem.empty(); ++i) {
    const Event& e = h->events[i];
    switch (e.kind) {
      case 0:
        history.push_back({lin::Op::Kind::kPush, e.value, e.invoke, e.response, e.process});
        break;
      case 1:
        history.push_back({lin::Op::Kind::kPop, e.value, e.invoke, e.response, e.process});
        break;
      case 2:
        history.push_back({lin::Op::Kind::kPopEmpty, 0, e.invoke, e.response, e.process});
        break;
      case 3:
        break;
      case 4:
        problem = "torn message delivered to process " + std::to_string(e.process) + " (first bytes say id " +
                  std::to_string(e.value) + ")";
        break;
      default:
        problem = "process " + std::to_string(e.process) + " got unexpected status " +
                  StatusName(static_cast<Status>(e.status));
    }
  }
  munmap(mem, sizeof(History));
  if (problem.empty()) problem = lin::Check(history, /*drained=*/true);
  if (!problem.empty()) Fail(problem + " (history of " + std::to_string(history.size()) + " operations)");
}

}  // namespace

Outcome Concurrent(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, [&] {
    const uint32_t slots = *rc::gen::inRange<uint32_t>(1, 5);
    const uint32_t slot_bytes = *rc::gen::element<uint32_t>(16, 64, 256);
    const auto genop =
        rc::gen::construct<Op>(rc::gen::element(WaitKind::kBlock, WaitKind::kNoWait, WaitKind::kTimed),
                               rc::gen::inRange<uint32_t>(kMinLen, slot_bytes + 1));
    const int nproducers = *rc::gen::inRange(1, 4);
    const int nconsumers = *rc::gen::inRange(1, 3);
    std::vector<std::vector<Op>> producers;
    std::vector<std::vector<WaitKind>> consumers;
    for (int p = 0; p < nproducers; ++p)
      producers.push_back(*rc::gen::nonEmpty(rc::gen::container<std::vector<Op>>(genop)));
    for (int c = 0; c < nconsumers; ++c)
      consumers.push_back(
          *rc::gen::container<std::vector<WaitKind>>(rc::gen::element(WaitKind::kNoWait, WaitKind::kTimed)));
    size_t pushes = 0;
    for (const auto& p : producers) pushes += p.size();
    RC_CLASSIFY(producers.size() > 1, "several producers");
    CaseResult r = RunCase(
        fault::Plan{}, [&](Report*) { ConcurrentCase(flaws, slots, slot_bytes, producers, consumers); },
        budget.deadline, "running producers and consumers");
    if (!r.ok)
      CaseFails(std::to_string(producers.size()) + " producers (" + std::to_string(pushes) + " pushes), " +
                std::to_string(consumers.size()) + " consumers, ring of " + std::to_string(slots) +
                " slots: " + r.message);
  });
}

// --- creation ------------------------------------------------------------------------------------

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

}  // namespace

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
