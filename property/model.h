// The model-based property's one model: the deque the ring must behave like (rapidcheck's state, the
// model passed to every command's apply and run), the ring as a case's driver process sees it, and the
// commands checked against the model. Commands on the ring itself are in model.cc; commands that start,
// stop or kill other processes in model_processes.cc. Rules: suite/rules/property.ini.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "property_util.h"
#include "ring.h"

namespace ipc::ring::prop {

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

// The classes of cases the model-based property reaches (Report::reached); see kModelClasses.
enum ModelClass : uint32_t {
  kPopped = 1u << 0,          // a pop delivered the model's front message
  kFilled = 1u << 1,          // the ring held `slots` messages
  kTryWouldBlock = 1u << 2,   // a try call on a full / empty ring returned would-block
  kTimedOut = 1u << 3,        // a timed call on a full / empty ring returned timed-out
  kClosedCall = 1u << 4,      // a call on a closed ring returned closed
  kOtherProcess = 1u << 5,    // another process pushed or popped and exited
  kKilledMidOp = 1u << 6,     // a process was killed inside a push or pop
  kKilledHolding = 1u << 7,   // ... between its claim and its commit (SEM_UNDO gives the claim back)
  kBlockedServed = 1u << 8,   // a process blocked in the kernel was served and returned ok
  kBlockedClosed = 1u << 9,   // a process blocked in the kernel was woken by close (EIDRM): closed
  kBlockedKilled = 1u << 10,  // a process blocked in the kernel was killed
  kFaultRetried = 1u << 11,   // an injected fault made a call fail without effect, and it was retried
};
extern const std::vector<CaseClass> kModelClasses;
inline constexpr const char* kTagFaultRetried =
    "injected fault: a call failed without effect and was retried";

// The ring as one case's driver process sees it. It holds no model: every check compares with the
// model rapidcheck passes to the command.
struct Sut {
  Ring ring;
  Report* report;
  bool faults = false;      // faults are injected into semop/semtimedop
  bool retry_eintr = true;  // the calls this case makes ask to retry EINTR
  int max_spurious = 0;     // faults planned: the most no-effect failures that faults can explain
  std::chrono::milliseconds deadline{4000};  // of the case: for the helper processes too

  Wait MakeWait(WaitKind k) const { return prop::MakeWait(k, retry_eintr, 2); }
  void Reached(uint32_t bit) const { report->reached |= bit; }

  // One call, whose attempts `attempt` makes (or reads from a worker): each attempt's result must be
  // `want`; under faults a no-effect failure in its place (NoEffectFailure) is counted (at most as many
  // as faults were planned) and the call is made again, so that the model stays exact.
  Status Expect(const std::function<Status()>& attempt, Status want, const Wait& w, const std::string& what);
  // Whether `got` is a no-effect failure that a fault explains (then it is counted).
  bool Spurious(Status got, const Wait& w, const std::string& what);
  // The message `m` is `want`.
  static void ExpectMessage(const Bytes& m, const Msg& want, const std::string& what);
  // A helper process that makes `attempts()` attempts of its calls at the most, and reaping it.
  int attempts() const { return max_spurious + 1; }
  Worker StartWorker(const std::function<void(int fd)>& body, const std::string& what) const {
    return Worker::Start(body, what, deadline);
  }
  static void Reap(Worker& w, const std::string& what);
};

using Cmd = rc::state::Command<Model, Sut>;
std::string ShowCmd(const Cmd& c);

WaitKind GenWait();
uint32_t GenLen(const Model& m);

// Another process pushes 1..3 messages (blocking) and exits. Its SEM_UNDO adjustments must all have
// been cancelled by its commits: its exit may not change the ring.
struct SpawnProducerCmd : Cmd {
  std::vector<Msg> msgs;
  explicit SpawnProducerCmd(const Model& m);
  void checkPreconditions(const Model& m) const override;
  void apply(Model& m) const override;
  void run(const Model& m, Sut& sut) const override;
  void show(std::ostream& os) const override;
};

// Another process pops 1..3 messages (blocking) and exits.
struct SpawnConsumerCmd : Cmd {
  size_t k;
  explicit SpawnConsumerCmd(const Model& m);
  void checkPreconditions(const Model& m) const override;
  void apply(Model& m) const override;
  void run(const Model& m, Sut& sut) const override;
  void show(std::ostream& os) const override;
};

// A process is SIGKILLed at a stage of a push or pop (stopped there by the ring's stage hook): before
// its commit the operation must not have happened, after it it must have; either way nobody hangs and
// no torn message is ever delivered.
struct KillMidOpCmd : Cmd {
  bool producer;
  Stage stage;
  uint32_t id, len;
  explicit KillMidOpCmd(const Model& m);
  void checkPreconditions(const Model& m) const override;
  void apply(Model& m) const override;
  void run(const Model& m, Sut& sut) const override;
  void show(std::ostream& os) const override;
};

// A process blocks in a push on a full ring (or a pop on an empty one), and is seen asleep in
// semtimedop; then one of:
//   kKill   it is SIGKILLed: nothing changes;
//   kClose  the ring is closed: it returns kClosed;
//   kServe  this process pops (pushes) one: the blocked one completes.
struct BlockedCmd : Cmd {
  enum class Then { kKill, kClose, kServe } then;
  bool producer;
  uint32_t id, len;
  explicit BlockedCmd(const Model& m);
  void checkPreconditions(const Model& m) const override;
  void apply(Model& m) const override;
  void run(const Model& m, Sut& sut) const override;
  void show(std::ostream& os) const override;
};

// A ring shape and a command sequence for it.
Model GenModel();
rc::state::Commands<Cmd> GenCommands(const Model& m0);
std::string ShowCommands(const rc::state::Commands<Cmd>& cmds);
std::string ShowRing(const Model& m0);  // "ring of 2 slots of 16 bytes"
// How a case runs its commands.
struct CaseOptions {
  bool faults = false;
  bool retry_eintr = true;
  int max_spurious = 0;
  std::chrono::milliseconds deadline{4000};
};
// The case's driver: create the ring, run the commands against the model, remove the ring.
void RunCommands(const Model& m0, const rc::state::Commands<Cmd>& cmds, const Flaws& flaws,
                 const CaseOptions& options, Report* report);

// For the drivers and commands of both rings (the System V ring's Sut, the POSIX ring's PosixSut).

// rc::state::runAll of `cmds` from `m0` against `sut`; when a command throws (the case failed), the ring is
// closed before the exception goes on, so that no process stays blocked in it.
template <class SutT, class CmdT>
void RunAllClosingOnThrow(const Model& m0, const rc::state::Commands<CmdT>& cmds, SutT& sut) {
  try {
    // Each command runs against the model as it stands before it, then applies itself to the model.
    rc::state::runAll(cmds, m0, sut);
  } catch (...) {
    (void)sut.ring.Close();
    throw;
  }
}

// The end of a blocked-process command (BlockedCmd, the POSIX ring's PosixBlockedCmd), once the process
// `wk` (a producer or a consumer of `msg`, waiting as `w`) is asleep in the ring. `then`:
//   kKill   it is SIGKILLed (kBlockedKilled);
//   kClose  the ring is closed, which must wake it with kClosed (kBlockedClosed);
//   kServe  `serve()` pops (pushes) one in this process; the blocked call must then complete, a consumer's
//           with `msg` (kBlockedServed).
// `blocked` names the process in messages.
template <class SutT, class ThenT>
void EndBlocked(SutT& sut, Worker& wk, ThenT then, bool producer, const Msg& msg, const Wait& w,
                const std::string& what, const std::string& blocked, const std::function<void()>& serve) {
  Bytes got;
  switch (then) {
    case ThenT::kKill:
      (void)wk.KillAndWait();
      sut.Reached(kBlockedKilled);
      return;
    case ThenT::kClose:
      sut.Expect([&] { return sut.ring.Close(); }, Status::kOk, Wait::Block(), what + ": close");
      sut.Expect([&] { return wk.ReadMessage(&got, blocked); }, Status::kClosed, w, blocked);
      Sut::Reap(wk, blocked);
      sut.Reached(kBlockedClosed);
      return;
    case ThenT::kServe:
      serve();
      sut.Expect([&] { return wk.ReadMessage(&got, blocked); }, Status::kOk, w, blocked);
      if (!producer) Sut::ExpectMessage(got, msg, blocked);
      Sut::Reap(wk, blocked);
      sut.Reached(kBlockedServed);
      return;
  }
}

}  // namespace ipc::ring::prop
