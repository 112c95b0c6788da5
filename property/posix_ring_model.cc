// The POSIX ring's model-based properties (posix_ring_properties.h): the commands of model.h's one model
// run against the POSIX ring (posix_ring.h), sequentially, under injected sem_wait/sem_timedwait faults,
// and its creation under injected shm_open/ftruncate/mmap faults. Rules: suite/rules/posix_property.ini.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include "ipcsuite/blocked.h"
#include "model.h"
#include "posix_ring_properties.h"

namespace ipc::ring::prop {

namespace {

using posix::PosixFlaws;
using posix::PosixRing;

// --- the classes of cases (bits of Report::reached above the model's kModelClasses) ---------------------

enum PosixClass : uint32_t {
  kPosixRolledBack = 1u << 12,    // EOWNERDEAD: the dead owner had not committed; its operation undone
  kPosixCompleted = 1u << 13,     // EOWNERDEAD: the dead owner had committed; its operation stands
  kPosixWokenKilled = 1u << 14,   // a sleeper killed after sem_wait returned, before locking: other served
  kPosixDrained = 1u << 15,       // stale tokens taken by sem_trywait, until it said EAGAIN
  kPosixSemTimedOut = 1u << 16,   // sem_timedwait returned ETIMEDOUT at the call's deadline
  kPosixByName = 1u << 17,        // another process mapped the ring by name (shm_open + mmap) and used it
  kPosixUnlinked = 1u << 18,      // after close, opening the name failed with ENOENT
  kPosixInjected = 1u << 20,      // a fault was injected into sem_wait/sem_timedwait
  kPosixEintr = 1u << 21,         // ... an EINTR
  kPosixEarlyTimeout = 1u << 22,  // ... an ETIMEDOUT before the deadline: the ring slept again
  kPosixEagain = 1u << 23,        // ... an EAGAIN (glibc retries its futex wait)
};

constexpr const char* kTagRolledBack = "EOWNERDEAD: a dead owner's uncommitted operation rolled back";
constexpr const char* kTagCompleted = "EOWNERDEAD: a dead owner's committed operation completed";
constexpr const char* kTagWokenKilled =
    "sleeper killed after sem_wait returned, before locking: other served";
constexpr const char* kTagDrained = "stale wakeup tokens drained by sem_trywait until EAGAIN";
constexpr const char* kTagSemTimedOut = "sem_timedwait returned ETIMEDOUT at the deadline";
constexpr const char* kTagByName = "another process mapped the ring by name and used it";
constexpr const char* kTagUnlinked = "after close, shm_open of the name: ENOENT";
constexpr const char* kTagPosixInjected = "fault injected into sem_wait/sem_timedwait";
constexpr const char* kTagPosixEintr = "EINTR injected into sem_wait/sem_timedwait";
constexpr const char* kTagEarlyTimeout = "ETIMEDOUT injected before the deadline: slept again";
constexpr const char* kTagPosixEagain = "EAGAIN injected into sem_wait's futex wait";

const std::vector<CaseClass> kPosixClasses = {
    {kPosixRolledBack, kTagRolledBack},   {kPosixCompleted, kTagCompleted},
    {kPosixWokenKilled, kTagWokenKilled}, {kPosixDrained, kTagDrained},
    {kPosixSemTimedOut, kTagSemTimedOut}, {kPosixByName, kTagByName},
    {kPosixUnlinked, kTagUnlinked},       {kPosixInjected, kTagPosixInjected},
    {kPosixEintr, kTagPosixEintr},        {kPosixEarlyTimeout, kTagEarlyTimeout},
    {kPosixEagain, kTagPosixEagain},
};

// The model's own classes (model.h, kModelClasses), worded for this ring where the System V wording
// names its calls.
const std::vector<CaseClass>& PosixModelClasses() {
  static const std::vector<CaseClass> classes = [] {
    std::vector<CaseClass> v = kModelClasses;
    for (CaseClass& c : v) {
      if (c.bit == kKilledHolding) c.tag = "process killed holding the mutex before its commit";
      if (c.bit == kBlockedServed) c.tag = "process blocked in sem_wait, then served";
      if (c.bit == kBlockedClosed) c.tag = "process blocked in sem_wait, then woken by close";
      if (c.bit == kBlockedKilled) c.tag = "process blocked in sem_wait, then killed";
    }
    return v;
  }();
  return classes;
}
const char* ModelTag(uint32_t bit) {
  for (const CaseClass& c : PosixModelClasses())
    if (c.bit == bit) return c.tag;
  return "?";
}

const std::vector<RuleClass>& PosixModelRules() {
  static const std::vector<RuleClass> rules = {
      {"property.posix-ring-fifo", ModelTag(kPopped)},
      {"property.posix-ring-fifo", ModelTag(kFilled)},
      {"property.posix-ring-nonblocking", ModelTag(kTryWouldBlock)},
      {"property.posix-ring-timed", ModelTag(kTimedOut)},
      {"property.posix-sem-timedwait-etimedout", kTagSemTimedOut},
      {"property.posix-ring-close", ModelTag(kClosedCall)},
      {"property.posix-ring-close", ModelTag(kBlockedClosed)},
      {"property.posix-shm-unlink-enoent", kTagUnlinked},
      {"property.posix-ring-processes", ModelTag(kOtherProcess)},
      {"property.posix-shm-open-shared", kTagByName},
      {"property.posix-mmap-shared", kTagByName},
      {"property.posix-mmap-shared", ModelTag(kOtherProcess)},
      {"property.posix-sem-process-shared", ModelTag(kBlockedServed)},
      {"property.posix-ring-crash-safe", ModelTag(kKilledHolding)},
      {"property.posix-ring-crash-safe", ModelTag(kBlockedKilled)},
      {"property.posix-mutex-eownerdead", kTagRolledBack},
      {"property.posix-mutex-eownerdead", kTagCompleted},
      {"property.posix-mutex-consistent", kTagRolledBack},
      {"property.posix-ring-no-lost-wakeup", kTagWokenKilled},
      {"property.posix-ring-no-lost-wakeup", ModelTag(kBlockedServed)},
      {"property.posix-sem-trywait-eagain", kTagDrained},
  };
  return rules;
}

const std::vector<RuleClass> kPosixFaultRules = {
    {"property.posix-ring-faults", kTagPosixInjected},
    {"property.posix-sem-wait-eintr", kTagPosixEintr},
    {"property.posix-ring-faults", kTagEarlyTimeout},
};

// Whether a POSIX shared memory object of that name exists (shm_open without O_CREAT).
bool NameExists(const std::string& name) {
  const int fd = shm_open(name.c_str(), O_RDONLY, 0);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// --- the system under test -------------------------------------------------------------------------

// The POSIX ring as one case's driver process sees it (the counterpart of model.h's Sut).
struct PosixSut {
  PosixRing ring;
  Report* report;
  bool faults = false;
  bool retry_eintr = true;
  int max_spurious = 0;
  std::chrono::milliseconds deadline{4000};

  Wait WaitOf(WaitKind k) const { return MakeWait(k, retry_eintr, 2); }
  void Reached(uint32_t bit) const { report->reached |= bit; }
  // `attempt` until it returns `want`; a no-effect failure in its place counts against the faults planned.
  Status Expect(const std::function<Status()>& attempt, Status want, const Wait& w, const std::string& what) {
    Status got = attempt();
    while (got != want && Excused(got, w, what)) got = attempt();
    if (got != want) {
      const std::string err =
          got == Status::kError ? std::string(" (") + strerror(ring.last_errno()) + ")" : "";
      Fail(what + ": got " + StatusName(got) + err + ", expected " + StatusName(want));
    }
    return got;
  }
  bool Excused(Status got, const Wait& w, const std::string& what) {
    if (!faults || !NoEffectFailure(got, w)) return false;
    if (++report->spurious > max_spurious)
      Fail(what + ": " + std::to_string(report->spurious) + " no-effect failures (" + StatusName(got) +
           ") but only " + std::to_string(max_spurious) + " faults were planned");
    Reached(kFaultRetried);
    return true;
  }
  Worker Start(const std::function<void(int fd)>& body, const std::string& what) const {
    return Worker::Start(body, what, deadline);
  }
};

using PosixCmd = rc::state::Command<Model, PosixSut>;

std::string Shown(const PosixCmd& c) {
  std::ostringstream os;
  c.show(os);
  return os.str();
}

// A helper process's ring: the inherited mapping, or its own mapping of the name.
PosixRing* RingIn(PosixSut& sut, bool by_name, std::optional<PosixRing>* own) {
  if (!by_name) return &sut.ring;
  auto opened = PosixRing::Open(sut.ring.name());
  if (!opened.ok()) Fail("opening the ring by name: " + opened.error());
  own->emplace(std::move(opened).value());
  return &**own;
}

// --- where a process is stopped or killed inside an operation (SetPosixStageHook) ------------------------

// A point of an operation: a stage, or the n-th step (kSemopDone) of the operation.
struct Point {
  Stage stage;
  int step;  // with kSemopDone
};
int g_posix_fd = -1;
Point g_posix_point{Stage::kClaimed, 0};
int g_posix_steps = 0;
void AtPoint(Stage s) {
  if (s == Stage::kSemopDone) ++g_posix_steps;
  if (s != g_posix_point.stage || (s == Stage::kSemopDone && g_posix_steps != g_posix_point.step)) return;
  ReportStoppedAndWait(g_posix_fd);
}
void ArmPoint(int fd, Point p) {
  g_posix_fd = fd;
  g_posix_point = p;
  g_posix_steps = 0;
  posix::SetPosixStageHook(AtPoint);
}

// --- commands on the ring itself ---------------------------------------------------------------------

Status Wanted(const Model& m, bool push, WaitKind k) {
  if (m.closed) return Status::kClosed;
  if (push ? !m.full() : !m.q.empty()) return Status::kOk;
  return k == WaitKind::kNoWait ? Status::kWouldBlock : Status::kTimedOut;
}

// A push or a pop by this process, try, timed or blocking (a blocking call that cannot proceed is
// PosixBlockedCmd's).
struct PosixOpCmd : PosixCmd {
  bool push;
  WaitKind kind;
  uint32_t id, len;
  explicit PosixOpCmd(const Model& m)
      : push(*rc::gen::arbitrary<bool>()), kind(GenWait()), id(m.next_id), len(GenLen(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(kind != WaitKind::kBlock || m.closed || (push ? !m.full() : !m.q.empty()));
  }
  void apply(Model& m) const override {
    if (push) m.next_id = std::max(m.next_id, id + 1);
    if (m.closed || (push ? m.full() : m.q.empty())) return;
    if (push)
      m.q.push_back({id, len});
    else
      m.q.pop_front();
  }
  void run(const Model& m, PosixSut& sut) const override {
    const std::string what = Shown(*this);
    const Wait w = sut.WaitOf(kind);
    const Status want = Wanted(m, push, kind);
    Bytes got;
    sut.Expect(
        [&] {
          if (push) return sut.ring.Push(MakeMessage(id, len), w);
          const Status s = sut.ring.Pop(&got, w);
          if (s == Status::kOk && want != Status::kOk)
            Fail(what + ": got " + Show(got) + ", expected " + StatusName(want));
          return s;
        },
        want, w, what);
    if (want == Status::kWouldBlock) sut.Reached(kTryWouldBlock);
    if (want == Status::kTimedOut) sut.Reached(kTimedOut);
    if (want == Status::kClosed) sut.Reached(kClosedCall);
    if (want != Status::kOk) return;
    if (push && m.q.size() + 1 == m.slots) sut.Reached(kFilled);
    if (!push) prop::Sut::ExpectMessage(got, m.q.front(), what), sut.Reached(kPopped);
  }
  void show(std::ostream& os) const override {
    if (push)
      os << "push(" << WaitName(kind) << ", id " << id << ", " << len << " bytes)";
    else
      os << "pop(" << WaitName(kind) << ")";
  }
};

// Close; afterwards the name is gone (shm_open of it: ENOENT).
struct PosixCloseCmd : PosixCmd {
  explicit PosixCloseCmd(const Model&) {}
  void apply(Model& m) const override { m.closed = true; }
  void run(const Model& m, PosixSut& sut) const override {
    sut.Expect([&] { return sut.ring.Close(); }, m.closed ? Status::kClosed : Status::kOk, Wait::Block(),
               "close");
    if (m.closed) sut.Reached(kClosedCall);
    auto again = PosixRing::Open(sut.ring.name());
    if (again.ok() || again.error_number() != ENOENT)
      Fail("close: opening the ring's name afterwards: " +
           (again.ok() ? std::string("succeeded") : again.error()) + ", expected ENOENT");
    sut.Reached(kPosixUnlinked);
  }
  void show(std::ostream& os) const override { os << "close"; }
};

// --- commands with other processes ---------------------------------------------------------------------

// Another process pushes or pops 1..3 messages (blocking) and exits; it maps the ring by name or uses the
// mapping it inherited.
struct PosixSpawnCmd : PosixCmd {
  bool producer, by_name;
  std::vector<Msg> msgs;  // producer: what it pushes; consumer: msgs.size() pops
  explicit PosixSpawnCmd(const Model& m)
      : producer(*rc::gen::arbitrary<bool>()), by_name(*rc::gen::arbitrary<bool>()) {
    const int k = *rc::gen::inRange(1, 4);
    for (int i = 0; i < k; ++i) msgs.push_back({m.next_id + static_cast<uint32_t>(i), GenLen(m)});
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? m.q.size() + msgs.size() <= m.slots : m.q.size() >= msgs.size()));
  }
  void apply(Model& m) const override {
    for (const Msg& x : msgs) {
      if (producer)
        m.q.push_back(x), m.next_id = std::max(m.next_id, x.id + 1);
      else
        m.q.pop_front();
    }
  }
  void run(const Model& m, PosixSut& sut) const override {
    const std::string what = Shown(*this);
    const Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = sut.Start(
        [&](int fd) {
          std::optional<PosixRing> own;
          PosixRing* ring = RingIn(sut, by_name, &own);
          for (const Msg& x : msgs) {
            Bytes got;
            Attempts(
                sut.max_spurious + 1, w,
                [&] { return producer ? ring->Push(MakeMessage(x.id, x.len), w) : ring->Pop(&got, w); },
                [&](Status s) { SendMessage(fd, s, got); });
          }
        },
        what);
    for (size_t i = 0; i < msgs.size(); ++i) {
      Bytes got;
      sut.Expect([&] { return wk.ReadMessage(&got, what); }, Status::kOk, w, what);
      if (!producer) prop::Sut::ExpectMessage(got, m.q[i], what);
    }
    prop::Sut::Reap(wk, what);
    sut.Reached(kOtherProcess);
    if (by_name) sut.Reached(kPosixByName);
  }
  void show(std::ostream& os) const override {
    os << (producer ? "producer" : "consumer") << " process" << (by_name ? " (maps the ring by name)" : "");
    if (producer) {
      os << " pushes";
      for (const Msg& x : msgs) os << " (id " << x.id << ", " << x.len << " bytes)";
    } else {
      os << " pops " << msgs.size();
    }
    os << " and exits";
  }
};

// A process is stopped at a point of a push or pop while it holds the mutex, and SIGKILLed there: before
// its commit the operation must not have happened, after it it must have. The next process to lock the
// mutex gets EOWNERDEAD and recovers (posix_ring.h, point 3); nobody hangs, no torn message.
struct PosixKillHoldingCmd : PosixCmd {
  enum class At { kClaimed, kHalfCopied, kWoke, kCommitted, kUnlocked } at;
  bool producer;
  uint32_t id, len;
  explicit PosixKillHoldingCmd(const Model& m)
      : at(*rc::gen::element(At::kClaimed, At::kHalfCopied, At::kWoke, At::kCommitted, At::kUnlocked)),
        producer(*rc::gen::arbitrary<bool>()),
        id(m.next_id),
        len(GenLen(m)) {}
  bool Done() const { return at == At::kCommitted || at == At::kUnlocked; }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? !m.full() : !m.q.empty()));
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (!Done()) return;
    if (producer)
      m.q.push_back({id, len});
    else
      m.q.pop_front();
  }
  void run(const Model&, PosixSut& sut) const override {
    const std::string what = Shown(*this);
    const Wait w = Wait::Block(sut.retry_eintr);
    // The ring can proceed at once: step 1 is the lock, step 2 the wakeup of the other side, step 3 the
    // unlock (after it the process holds nothing: the operation is simply done).
    const Point p = at == At::kClaimed      ? Point{Stage::kClaimed, 0}
                    : at == At::kHalfCopied ? Point{Stage::kHalfCopied, 0}
                    : at == At::kWoke       ? Point{Stage::kSemopDone, 2}
                    : at == At::kCommitted  ? Point{Stage::kCommitted, 0}
                                            : Point{Stage::kSemopDone, 3};
    Bytes got;
    KillAtStage(
        what, sut.deadline, "the point", sut.max_spurious + 1, w, [&](int fd) { ArmPoint(fd, p); },
        [&] { return producer ? sut.ring.Push(MakeMessage(id, len), w) : sut.ring.Pop(&got, w); },
        [&](Status s) { return sut.Excused(s, w, what); });
    sut.Reached(kKilledMidOp);
    if (!Done()) sut.Reached(kKilledHolding);
  }
  void show(std::ostream& os) const override {
    static const char* const names[] = {"claimed (mutex held, transaction recorded)", "half-copied",
                                        "other side woken, not committed", "committed, mutex still held",
                                        "unlocked (operation done)"};
    os << "kill a " << (producer ? "producer" : "consumer") << " process at " << names[static_cast<int>(at)];
    if (producer) os << " (id " << id << ", " << len << " bytes)";
  }
};

// This process serves a sleeper: pops the model's front for a blocked producer, pushes `msg` for a blocked
// consumer.
void ServeOne(const Model& m, PosixSut& sut, bool producer, const Msg& msg, const std::string& what) {
  if (producer) {
    Bytes popped;
    sut.Expect([&] { return sut.ring.Pop(&popped, Wait::Block()); }, Status::kOk, Wait::Block(),
               what + ": pop");
    prop::Sut::ExpectMessage(popped, m.q.front(), what + ": pop");
  } else {
    sut.Expect([&] { return sut.ring.Push(MakeMessage(msg.id, msg.len), Wait::Block()); }, Status::kOk,
               Wait::Block(), what + ": push");
  }
}

// A process that pushes `msg` (pops) on a full (empty) ring, reporting each attempt; returns once it is
// seen asleep in futex (sem_wait).
Worker StartSleeper(PosixSut& sut, bool producer, const Msg& msg, const Wait& w, const std::string& what) {
  Worker wk = sut.Start(
      [&](int fd) {
        Bytes got;
        Attempts(
            sut.max_spurious + 1, w,
            [&] { return producer ? sut.ring.Push(MakeMessage(msg.id, msg.len), w) : sut.ring.Pop(&got, w); },
            [&](Status s) { SendMessage(fd, s, got); });
      },
      what);
  auto blocked = WaitUntilBlockedIn(wk.pid(), SYS_futex, std::chrono::milliseconds(2000));
  if (!blocked) Fail(what + ": the process did not block: " + blocked.message());
  return wk;
}

// A process blocks in sem_wait on a full (empty) ring, seen asleep in futex; then it is killed, the ring is
// closed, or this process serves it.
struct PosixBlockedCmd : PosixCmd {
  enum class Then { kKill, kClose, kServe } then;
  bool producer;
  uint32_t id, len;
  explicit PosixBlockedCmd(const Model& m)
      : then(*rc::gen::element(Then::kKill, Then::kClose, Then::kServe)),
        producer(*rc::gen::arbitrary<bool>()),
        id(m.next_id),
        len(GenLen(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? m.full() : m.q.empty()));
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (then == Then::kClose) m.closed = true;
    if (then == Then::kServe && producer) m.q.pop_front(), m.q.push_back({id, len});
  }
  void run(const Model& m, PosixSut& sut) const override {
    const std::string what = Shown(*this);
    const Wait w = Wait::Block(sut.retry_eintr);
    Worker wk = StartSleeper(sut, producer, {id, len}, w, what);
    EndBlocked(sut, wk, then, producer, {id, len}, w, what, what + ": the blocked process", [&] {
      ServeOne(m, sut, producer, {id, len}, what);
    });
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

// Two processes block in sem_wait on a full (empty) ring; this process serves one operation; the first
// sleeper SIGKILLs itself right after its sem_wait returns (it took a wakeup token, before it locks). The
// second must still be served: a change wakes every registered sleeper (posix_ring.h, point 4).
struct PosixWokenKilledCmd : PosixCmd {
  bool producer;
  uint32_t id, len;  // the second sleeper's message (producer) / what this process pushes (consumer)
  explicit PosixWokenKilledCmd(const Model& m)
      : producer(*rc::gen::arbitrary<bool>()), id(m.next_id), len(GenLen(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(!m.closed && (producer ? m.full() : m.q.empty()));
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (producer) m.q.pop_front(), m.q.push_back({id, len});
  }
  void run(const Model& m, PosixSut& sut) const override {
    const std::string what = Shown(*this);
    const Wait w = Wait::Block(sut.retry_eintr);
    Worker first = sut.Start(
        [&](int) {
          posix::SetPosixWokenHook([] { raise(SIGKILL); });
          Bytes got;
          for (;;)
            (void)(producer ? sut.ring.Push(MakeMessage(id + 1000000, len), w) : sut.ring.Pop(&got, w));
        },
        what + " (first sleeper)");
    // Under faults its sem_wait may end at once (an injected EINTR or ETIMEDOUT): it dies there, before
    // it could be seen asleep, which is the same case (a registered sleeper dies after sem_wait returned).
    auto blocked = WaitUntilBlockedIn(first.pid(), SYS_futex, std::chrono::milliseconds(2000));
    if (!blocked && !(sut.faults && first.Ended()))
      Fail(what + ": the first sleeper did not block: " + blocked.message());
    Worker second = StartSleeper(sut, producer, {id, len}, w, what + " (second sleeper)");
    ServeOne(m, sut, producer, {id, len}, what);
    // The first sleeper got a token too (or a fault ended its wait), and died with it.
    ExitStatus st = first.Wait();
    if (!st.KilledBy(SIGKILL))
      Fail(what + ": the first sleeper " + st.Describe() + ", expected its own SIGKILL");
    Bytes got;
    const std::string sleeper = what + ": the second sleeper";
    sut.Expect([&] { return second.ReadMessage(&got, sleeper); }, Status::kOk, w, sleeper);
    if (!producer) prop::Sut::ExpectMessage(got, {id, len}, sleeper);
    prop::Sut::Reap(second, sleeper);
    sut.Reached(kPosixWokenKilled);
  }
  void show(std::ostream& os) const override {
    os << "two " << (producer ? "producers block on a full ring" : "consumers block on an empty ring")
       << "; the first woken is killed before it locks; the second is served (id " << id << ", " << len
       << " bytes)";
  }
};

rc::state::Commands<PosixCmd> GenPosixCommands(const Model& m0) {
  return *rc::state::gen::commands(m0, [](const Model& m) {
    return rc::state::gen::execOneOfWithArgs<PosixOpCmd, PosixOpCmd, PosixOpCmd, PosixOpCmd, PosixOpCmd,
                                             PosixCloseCmd, PosixSpawnCmd, PosixSpawnCmd, PosixKillHoldingCmd,
                                             PosixKillHoldingCmd, PosixKillHoldingCmd, PosixBlockedCmd,
                                             PosixBlockedCmd, PosixWokenKilledCmd>()(m);
  });
}

std::string ShowPosixCommands(const rc::state::Commands<PosixCmd>& cmds) {
  std::ostringstream os;
  for (const auto& c : cmds) os << "  " << Shown(*c) << "\n";
  return os.str();
}

// The case's driver: create the ring (under a name the property's own process owns, so that it is
// unlinked even if this process is killed), run the commands, close, read the recoveries' counters.
void RunPosixCommands(const Model& m0, const rc::state::Commands<PosixCmd>& cmds, const PosixFlaws& flaws,
                      const CaseOptions& options, const std::string& name, Report* report) {
  auto created = PosixRing::Create({.slots = m0.slots, .slot_bytes = m0.slot_bytes, .name = name}, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  PosixSut sut{std::move(created).value(), report,          options.faults, options.retry_eintr,
               options.max_spurious,       options.deadline};
  RunAllClosingOnThrow(m0, cmds, sut);
  // A dead owner not yet recovered is recovered by this close (it locks the mutex).
  const Status closed = sut.ring.Close();
  if (closed == Status::kError)
    Fail(std::string("close at the end: error (") + strerror(sut.ring.last_errno()) + ")");
  const posix::PosixRingStats st = sut.ring.stats();
  if (st.rolled_back > 0) sut.Reached(kPosixRolledBack);
  if (st.completed > 0) sut.Reached(kPosixCompleted);
  if (st.drained > 0) sut.Reached(kPosixDrained);
  if (st.timeouts > 0) sut.Reached(kPosixSemTimedOut);
  if (st.early_timeouts > 0) sut.Reached(kPosixEarlyTimeout);
}

}  // namespace

// --- the properties ------------------------------------------------------------------------------------

size_t PosixNamesLeft() {
  const std::string prefix = "ipcsuite.pring." + std::to_string(getpid()) + ".";
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

Outcome PosixSequentialModel(const PosixFlaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, PosixModelRules(), [&] {
    const Model m0 = GenModel();
    const auto cmds = GenPosixCommands(m0);
    const PosixName name(PosixIpcKind::kSharedMemory, "pring");
    CaseResult r = RunCase(
        fault::Plan{},
        [&](Report* rep) {
          RunPosixCommands(m0, cmds, flaws, {.deadline = budget.deadline}, name.str(), rep);
        },
        budget.deadline, "running POSIX ring commands");
    if (!r.ok)
      CaseFails(ShowRing(m0) + "; commands:\n" + ShowPosixCommands(cmds) + "failure: " + r.message,
                r.infrastructure);
    if (NameExists(name.str()))
      CaseFails(ShowRing(m0) + "; commands:\n" + ShowPosixCommands(cmds) +
                "failure: the ring's name was left behind");
    TagReached(r.reached, PosixModelClasses());
    TagReached(r.reached, kPosixClasses);
  });
}

Outcome PosixSequentialUnderFaults(const PosixFlaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, kPosixFaultRules, [&] {
    const Model m0 = GenModel();
    const bool retry_eintr = *rc::gen::arbitrary<bool>();
    // 1..6 faults, each at one call index of sem_wait's or sem_timedwait's futex wait (whole process tree).
    const auto faults = *rc::gen::container<std::vector<FaultSpec>>(
        static_cast<size_t>(*rc::gen::inRange(1, 7)),
        rc::gen::construct<FaultSpec>(rc::gen::element<std::string>("sem_wait", "sem_timedwait"),
                                      rc::gen::element(EINTR, ETIMEDOUT, EAGAIN),
                                      rc::gen::element(1, 2, 3, 4)));
    const auto cmds = GenPosixCommands(m0);
    const CaseOptions options{.faults = true,
                              .retry_eintr = retry_eintr,
                              .max_spurious = static_cast<int>(faults.size()),
                              .deadline = budget.deadline};
    const PosixName name(PosixIpcKind::kSharedMemory, "pring");
    CaseResult r = RunCase(
        MakePlan(faults), [&](Report* rep) { RunPosixCommands(m0, cmds, flaws, options, name.str(), rep); },
        budget.deadline, "running POSIX ring commands under sem_wait faults");
    const std::string where = "faults: " + ShowFaults(faults) +
                              "; retry EINTR: " + (retry_eintr ? "yes" : "no") + "; " + ShowRing(m0) +
                              "; commands:\n" + ShowPosixCommands(cmds);
    if (!r.ok) CaseFails(where + "failure: " + r.message, r.infrastructure);
    if (NameExists(name.str())) CaseFails(where + "failure: the ring's name was left behind");
    const size_t eintr = r.Injected("sem_wait", EINTR) + r.Injected("sem_timedwait", EINTR);
    // Only an injected EINTR may end a call without effect (as `interrupted`); ETIMEDOUT and EAGAIN never.
    if (static_cast<size_t>(r.spurious) > eintr)
      CaseFails(where + "failure: the ring reported " + std::to_string(r.spurious) +
                    " no-effect failures in place of the expected result, but only " + std::to_string(eintr) +
                    " EINTR faults were injected",
                r.infrastructure);
    uint32_t reached = r.reached;
    if (r.faults > 0) reached |= kPosixInjected;
    if (eintr > 0) reached |= kPosixEintr;
    if (r.Injected("sem_wait", EAGAIN) + r.Injected("sem_timedwait", EAGAIN) > 0) reached |= kPosixEagain;
    TagReached(reached, PosixModelClasses());
    TagReached(reached, kPosixClasses);
  });
}

// --- creation ------------------------------------------------------------------------------------

namespace {

enum PosixCreationClass : uint32_t {
  kPosixCreateFailed = 1u << 0,  // creation returned the injected errno and left no name behind
  kPosixEexist = 1u << 1,        // a second exclusive creation with a taken name: EEXIST
};
constexpr const char* kTagPosixCreateFailed = "creation returned the injected errno and left no name";
constexpr const char* kTagPosixEexist = "second creation with a taken name: EEXIST";
const std::vector<CaseClass> kPosixCreationClasses = {
    {kPosixCreateFailed, kTagPosixCreateFailed},
    {kPosixEexist, kTagPosixEexist},
};
const std::vector<RuleClass> kPosixCreationRules = {
    {"property.posix-ring-create-errors", kTagPosixCreateFailed},
    {"property.posix-shm-open-eexist", kTagPosixEexist},
};

// shm_open(name, O_RDWR | O_CREAT | O_EXCL) is openat(AT_FDCWD, "/dev/shm/...", these flags) in glibc
// 2.36 (it adds O_NOFOLLOW | O_CLOEXEC); the condition keeps the fault off every other open of the case.
const std::string kShmCreateOpen =
    "open[flags=" + std::to_string(O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC) + "]";
// The ring's mmap is the only MAP_SHARED mapping of a file in the case (the C library maps privately).
const std::string kRingMmap = "mmap[flags=" + std::to_string(MAP_SHARED) + "]";

}  // namespace

Outcome PosixCreationUnderFaults(const PosixFlaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, kPosixCreationRules, [&] {
    // (gen::element, not inRange: rapidcheck scales inRange by the size, so small cases would see only 0.)
    const FaultSpec fault =
        *rc::gen::element(FaultSpec{kShmCreateOpen, EMFILE, 1}, FaultSpec{kShmCreateOpen, ENFILE, 1},
                          FaultSpec{"ftruncate", EFBIG, 1}, FaultSpec{kRingMmap, ENOMEM, 1});
    const bool taken = *rc::gen::arbitrary<bool>();
    const PosixName name(PosixIpcKind::kSharedMemory, "pring");
    CaseResult r = RunCase(
        MakePlan({fault}),
        [&](Report* rep) {
          const posix::PosixConfig config{.slots = 2, .slot_bytes = 32, .name = name.str()};
          auto failed = PosixRing::Create(config, flaws);
          if (failed.ok()) Fail("created a ring although " + fault.Text() + " was injected");
          if (failed.error_number() != fault.err) Fail(failed.error() + ", expected " + ErrnoName(fault.err));
          if (NameExists(name.str()))
            Fail("the failed creation (" + failed.error() + ") left its name behind");
          rep->reached |= kPosixCreateFailed;
          auto ring = PosixRing::Create(config, flaws);
          if (!ring.ok()) Fail("the next creation: " + ring.error());
          if (taken) {
            auto again = PosixRing::Create(config, flaws);
            if (again.ok() || again.error_number() != EEXIST)
              Fail("second creation with the same name: " +
                   (again.ok() ? std::string("succeeded") : again.error()) + ", expected EEXIST");
            rep->reached |= kPosixEexist;
          }
          Bytes m;
          if (ring.value().Push(MakeMessage(7, 9), Wait::NoWait()) != Status::kOk ||
              ring.value().Pop(&m, Wait::NoWait()) != Status::kOk || m != MakeMessage(7, 9))
            Fail("the new ring does not carry a message");
          if (ring.value().Close() != Status::kOk || NameExists(name.str()))
            Fail("close did not unlink the name");
        },
        budget.deadline, "creating POSIX rings under faults");
    if (!r.ok)
      CaseFails("fault " + fault.Text() + (taken ? ", name taken twice" : "") + ": " + r.message,
                r.infrastructure);
    if (r.faults != 1)
      CaseFails("fault " + fault.Text() + " was injected " + std::to_string(r.faults) + " times");
    RC_TAG(fault.Text());
    TagReached(r.reached, kPosixCreationClasses);
  });
}

}  // namespace ipc::ring::prop
