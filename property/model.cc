// The model-based property (properties.h, SequentialModel): the driver, the commands on the ring itself
// (push, pop, close: try, timed or blocking) and the generator of command sequences; the commands that
// involve other processes are in model_processes.cc. Rules: suite/rules/property.ini.
#include "model.h"

#include <cstring>
#include <sstream>

namespace ipc::ring::prop {

// --- the classes of cases --------------------------------------------------------------------------

namespace {
constexpr const char* kTagPopped = "pop delivered the model's front message";
constexpr const char* kTagFilled = "ring held as many messages as it has slots";
constexpr const char* kTagTryWouldBlock = "try call on a full or empty ring: would-block";
constexpr const char* kTagTimedOut = "timed call on a full or empty ring: timed-out";
constexpr const char* kTagClosedCall = "call on a closed ring: closed";
constexpr const char* kTagOtherProcess = "another process pushed or popped and exited";
constexpr const char* kTagKilledMidOp = "process killed inside an operation";
constexpr const char* kTagKilledHolding = "process killed between its claim and its commit";
constexpr const char* kTagBlockedServed = "process blocked in semtimedop, then served";
constexpr const char* kTagBlockedClosed = "process blocked in semtimedop, then woken by close";
constexpr const char* kTagBlockedKilled = "process blocked in semtimedop, then killed";
}  // namespace

const std::vector<CaseClass> kModelClasses = {
    {kPopped, kTagPopped},
    {kFilled, kTagFilled},
    {kTryWouldBlock, kTagTryWouldBlock},
    {kTimedOut, kTagTimedOut},
    {kClosedCall, kTagClosedCall},
    {kOtherProcess, kTagOtherProcess},
    {kKilledMidOp, kTagKilledMidOp},
    {kKilledHolding, kTagKilledHolding},
    {kBlockedServed, kTagBlockedServed},
    {kBlockedClosed, kTagBlockedClosed},
    {kBlockedKilled, kTagBlockedKilled},
    {kFaultRetried, kTagFaultRetried},
};

namespace {

// Which classes of cases show which rule (a test claiming the rule must reach each of its classes).
const std::vector<RuleClass> kModelRules = {
    {"property.ring-fifo", kTagPopped},
    {"property.ring-fifo", kTagFilled},
    {"property.ring-nonblocking", kTagTryWouldBlock},
    {"property.semop-nowait-eagain", kTagTryWouldBlock},
    // The claim is one semop of the slot (IPC_NOWAIT for a try) and the lock: a try on a full ring fails
    // on the slot, and atomicity means it did not take the lock either (the next calls show it).
    {"property.semop-atomic", kTagTryWouldBlock},
    {"property.ring-timed", kTagTimedOut},
    {"property.semtimedop-eagain", kTagTimedOut},
    {"property.ring-processes", kTagOtherProcess},
    {"property.ring-crash-safe", kTagKilledMidOp},
    {"property.ring-crash-safe", kTagBlockedKilled},
    // SEM_UNDO both ways: applied when a process dies holding a claim, cancelled by the commits of a
    // process that exits normally.
    {"property.sem-undo", kTagKilledHolding},
    {"property.sem-undo", kTagOtherProcess},
    {"property.semop-eidrm", kTagBlockedClosed},
    {"property.ring-close", kTagClosedCall},
    {"property.ring-close", kTagBlockedClosed},
};

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

// The class a call's expected non-ok result shows.
void ReachedFailure(const Sut& sut, Status want) {
  if (want == Status::kWouldBlock) sut.Reached(kTryWouldBlock);
  if (want == Status::kTimedOut) sut.Reached(kTimedOut);
  if (want == Status::kClosed) sut.Reached(kClosedCall);
}

}  // namespace

// --- the system under test -------------------------------------------------------------------------

bool Sut::Spurious(Status got, const Wait& w, const std::string& what) {
  if (!faults || !NoEffectFailure(got, w)) return false;
  if (++report->spurious > max_spurious)
    Fail(what + ": the ring reported " + std::to_string(report->spurious) + " no-effect failures (" +
         StatusName(got) + ") in place of the expected result, but only " + std::to_string(max_spurious) +
         " faults were planned");
  Reached(kFaultRetried);
  return true;
}

Status Sut::Expect(const std::function<Status()>& attempt, Status want, const Wait& w,
                   const std::string& what) {
  Status got = attempt();
  while (got != want && Spurious(got, w, what)) got = attempt();
  if (got != want) {
    std::string err = got == Status::kError ? " (" + std::string(strerror(ring.last_errno())) + ")" : "";
    Fail(what + ": got " + StatusName(got) + err + ", expected " + StatusName(want));
  }
  return got;
}

void Sut::ExpectMessage(const Bytes& m, const Msg& want, const std::string& what) {
  if (m != MakeMessage(want.id, want.len))
    Fail(what + ": got " + Show(m) + ", expected <id " + std::to_string(want.id) + ", " +
         std::to_string(want.len) + " bytes>");
}

void Sut::Reap(Worker& w, const std::string& what) {
  ExitStatus st = w.Wait();
  if (!st.Exited(0)) Fail(what + ": the helper process " + st.Describe());
}

std::string ShowCmd(const Cmd& c) {
  std::ostringstream os;
  c.show(os);
  return os.str();
}

WaitKind GenWait() { return *rc::gen::element(WaitKind::kBlock, WaitKind::kNoWait, WaitKind::kTimed); }

uint32_t GenLen(const Model& m) { return *rc::gen::inRange<uint32_t>(kMinLen, m.slot_bytes + 1); }

// --- commands on the ring itself ---------------------------------------------------------------------

namespace {

// A blocking call on a full (empty) ring would never return here: BlockedCmd is that case.
struct PushCmd : Cmd {
  WaitKind kind;
  uint32_t id, len;
  explicit PushCmd(const Model& m) : kind(GenWait()), id(m.next_id), len(GenLen(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(kind != WaitKind::kBlock || m.closed || !m.full());
  }
  void apply(Model& m) const override {
    m.next_id = std::max(m.next_id, id + 1);
    if (!m.closed && !m.full()) m.q.push_back({id, len});
  }
  void run(const Model& m, Sut& sut) const override {
    const Wait w = sut.MakeWait(kind);
    const Status want = WantPush(m, kind);
    sut.Expect([&] { return sut.ring.Push(MakeMessage(id, len), w); }, want, w, ShowCmd(*this));
    ReachedFailure(sut, want);
    if (want == Status::kOk && m.q.size() + 1 == m.slots) sut.Reached(kFilled);
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
  void run(const Model& m, Sut& sut) const override {
    const std::string what = ShowCmd(*this);
    const Wait w = sut.MakeWait(kind);
    const Status want = WantPop(m, kind);
    Bytes got;
    sut.Expect(
        [&] {
          Status s = sut.ring.Pop(&got, w);
          if (s == Status::kOk && want != Status::kOk)
            Fail(what + ": got " + Show(got) + ", expected " + StatusName(want));
          return s;
        },
        want, w, what);
    ReachedFailure(sut, want);
    if (want != Status::kOk) return;
    Sut::ExpectMessage(got, m.q.front(), what);
    sut.Reached(kPopped);
  }
  void show(std::ostream& os) const override { os << "pop(" << WaitName(kind) << ")"; }
};

struct CloseCmd : Cmd {
  explicit CloseCmd(const Model&) {}
  void apply(Model& m) const override { m.closed = true; }
  void run(const Model& m, Sut& sut) const override {
    const Status want = m.closed ? Status::kClosed : Status::kOk;
    sut.Expect([&] { return sut.ring.Close(); }, want, Wait::Block(), "close");
    if (m.closed) sut.Reached(kClosedCall);
  }
  void show(std::ostream& os) const override { os << "close"; }
};

}  // namespace

// --- command sequences -------------------------------------------------------------------------------

Model GenModel() {
  Model m;
  m.slots = *rc::gen::inRange<uint32_t>(1, 5);
  m.slot_bytes = *rc::gen::element<uint32_t>(16, 64, 256);
  return m;
}

rc::state::Commands<Cmd> GenCommands(const Model& m0) {
  return *rc::state::gen::commands(m0, [](const Model& m) {
    return rc::state::gen::execOneOfWithArgs<PushCmd, PushCmd, PushCmd, PopCmd, PopCmd, PopCmd, CloseCmd,
                                             SpawnProducerCmd, SpawnConsumerCmd, KillMidOpCmd, KillMidOpCmd,
                                             BlockedCmd, BlockedCmd>()(m);
  });
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

void RunCommands(const Model& m0, const rc::state::Commands<Cmd>& cmds, const Flaws& flaws,
                 const CaseOptions& options, Report* report) {
  auto created = Ring::Create({.slots = m0.slots, .slot_bytes = m0.slot_bytes}, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  Sut sut{std::move(created).value(), report,          options.faults, options.retry_eintr,
          options.max_spurious,       options.deadline};
  RunAllClosingOnThrow(m0, cmds, sut);
  (void)sut.ring.Close();
}

std::string ShowRing(const Model& m0) {
  return "ring of " + std::to_string(m0.slots) + " slots of " + std::to_string(m0.slot_bytes) + " bytes";
}

// --- the property ------------------------------------------------------------------------------------

Outcome SequentialModel(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, kModelRules, [&] {
    const Model m0 = GenModel();
    const auto cmds = GenCommands(m0);
    RC_CLASSIFY(cmds.size() > 20, "long");
    CaseResult r = RunCase(
        fault::Plan{}, [&](Report* rep) { RunCommands(m0, cmds, flaws, {.deadline = budget.deadline}, rep); },
        budget.deadline, "running ring commands");
    if (!r.ok)
      CaseFails(ShowRing(m0) + "; commands:\n" + ShowCommands(cmds) + "failure: " + r.message,
                r.infrastructure);
    TagReached(r.reached, kModelClasses);
  });
}

}  // namespace ipc::ring::prop
