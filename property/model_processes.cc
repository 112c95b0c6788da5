// The model-based property's commands that involve other processes (model.h): a producer or consumer
// process that exits, a process killed at a stage of its operation, a process blocked in the kernel that
// is then served, woken by close or killed. Each helper process is a fixtures Child (Worker) that reports
// every attempt of its calls over a pipe: under faults a no-effect failure is retried there and counted
// here, so the model stays exact. Rules: suite/rules/property.ini.
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcsuite/blocked.h"
#include "model.h"

namespace ipc::ring::prop {

namespace {

// Stopping a process inside an operation: the hook reports "stopped" and waits to be killed.
int g_stop_fd = -1;
Stage g_stop_at = Stage::kClaimed;
void StopHere(Stage s) {
  if (s != g_stop_at) return;
  ReportStoppedAndWait(g_stop_fd);
}

}  // namespace

// --- a producer process --------------------------------------------------------------------------------

SpawnProducerCmd::SpawnProducerCmd(const Model& m) {
  int k = *rc::gen::inRange(1, 4);
  for (int i = 0; i < k; ++i) msgs.push_back({m.next_id + static_cast<uint32_t>(i), GenLen(m)});
}

void SpawnProducerCmd::checkPreconditions(const Model& m) const {
  RC_PRE(!m.closed && m.q.size() + msgs.size() <= m.slots);
}

void SpawnProducerCmd::apply(Model& m) const {
  for (const Msg& x : msgs) m.q.push_back(x), m.next_id = std::max(m.next_id, x.id + 1);
}

void SpawnProducerCmd::run(const Model&, Sut& sut) const {
  const std::string what = ShowCmd(*this);
  const Wait w = Wait::Block(sut.retry_eintr);
  Worker wk = sut.StartWorker(
      [&](int fd) {
        for (const Msg& x : msgs)
          Attempts(
              sut.attempts(), w, [&] { return sut.ring.Push(MakeMessage(x.id, x.len), w); },
              [&](Status s) { SendStatus(fd, s); });
      },
      what);
  for (size_t i = 0; i < msgs.size(); ++i)
    sut.Expect([&] { return wk.ReadStatus(what); }, Status::kOk, w, what);
  Sut::Reap(wk, what);
  sut.Reached(kOtherProcess);
}

void SpawnProducerCmd::show(std::ostream& os) const {
  os << "producer process pushes";
  for (const Msg& x : msgs) os << " (id " << x.id << ", " << x.len << " bytes)";
  os << " and exits";
}

// --- a consumer process --------------------------------------------------------------------------------

SpawnConsumerCmd::SpawnConsumerCmd(const Model&) : k(static_cast<size_t>(*rc::gen::inRange(1, 4))) {}

void SpawnConsumerCmd::checkPreconditions(const Model& m) const { RC_PRE(!m.closed && m.q.size() >= k); }

void SpawnConsumerCmd::apply(Model& m) const {
  for (size_t i = 0; i < k; ++i) m.q.pop_front();
}

void SpawnConsumerCmd::run(const Model& m, Sut& sut) const {
  const std::string what = ShowCmd(*this);
  const Wait w = Wait::Block(sut.retry_eintr);
  Worker wk = sut.StartWorker(
      [&](int fd) {
        for (size_t i = 0; i < k; ++i) {
          Bytes got;
          Attempts(
              sut.attempts(), w, [&] { return sut.ring.Pop(&got, w); },
              [&](Status s) { SendMessage(fd, s, got); });
        }
      },
      what);
  for (size_t i = 0; i < k; ++i) {
    Bytes got;
    sut.Expect([&] { return wk.ReadMessage(&got, what); }, Status::kOk, w, what);
    Sut::ExpectMessage(got, m.q[i], what);
  }
  Sut::Reap(wk, what);
  sut.Reached(kOtherProcess);
}

void SpawnConsumerCmd::show(std::ostream& os) const { os << "consumer process pops " << k << " and exits"; }

// --- a process killed at a stage -----------------------------------------------------------------------

KillMidOpCmd::KillMidOpCmd(const Model& m)
    : producer(*rc::gen::arbitrary<bool>()),
      stage(*rc::gen::element(Stage::kClaimed, Stage::kHalfCopied, Stage::kCommitted)),
      id(m.next_id),
      len(GenLen(m)) {}

void KillMidOpCmd::checkPreconditions(const Model& m) const {
  RC_PRE(!m.closed && (producer ? !m.full() : !m.q.empty()));
}

void KillMidOpCmd::apply(Model& m) const {
  m.next_id = std::max(m.next_id, id + 1);
  if (stage != Stage::kCommitted) return;
  if (producer)
    m.q.push_back({id, len});
  else
    m.q.pop_front();
}

void KillMidOpCmd::run(const Model&, Sut& sut) const {
  const std::string what = ShowCmd(*this);
  const Wait w = Wait::Block(sut.retry_eintr);
  Bytes got;
  KillAtStage(
      what, sut.deadline, "the " + std::string(StageName(stage)) + " stage", sut.attempts(), w,
      [&](int fd) {
        g_stop_fd = fd;
        g_stop_at = stage;
        SetStageHook(StopHere);
      },
      [&] { return producer ? sut.ring.Push(MakeMessage(id, len), w) : sut.ring.Pop(&got, w); },
      [&](Status s) { return sut.Spurious(s, w, what); });
  sut.Reached(kKilledMidOp);
  if (stage != Stage::kCommitted) sut.Reached(kKilledHolding);
}

void KillMidOpCmd::show(std::ostream& os) const {
  os << "kill a " << (producer ? "producer" : "consumer") << " process at stage " << StageName(stage);
  if (producer) os << " (id " << id << ", " << len << " bytes)";
}

// --- a process blocked in the kernel -------------------------------------------------------------------

BlockedCmd::BlockedCmd(const Model& m)
    : then(*rc::gen::element(Then::kKill, Then::kClose, Then::kServe)),
      producer(*rc::gen::arbitrary<bool>()),
      id(m.next_id),
      len(GenLen(m)) {}

void BlockedCmd::checkPreconditions(const Model& m) const {
  RC_PRE(!m.closed && (producer ? m.full() : m.q.empty()));
}

void BlockedCmd::apply(Model& m) const {
  m.next_id = std::max(m.next_id, id + 1);
  if (then == Then::kClose) m.closed = true;
  if (then == Then::kServe && producer) m.q.pop_front(), m.q.push_back({id, len});
}

void BlockedCmd::run(const Model& m, Sut& sut) const {
  const std::string what = ShowCmd(*this);
  const Wait w = Wait::Block(sut.retry_eintr);
  Worker wk = sut.StartWorker(
      [&](int fd) {
        Bytes got;
        Attempts(
            sut.attempts(), w,
            [&] { return producer ? sut.ring.Push(MakeMessage(id, len), w) : sut.ring.Pop(&got, w); },
            [&](Status s) { SendMessage(fd, s, got); });
      },
      what);
  // The model says the call cannot proceed: it must be asleep in the kernel, whatever happens next.
  auto blocked = WaitUntilBlockedIn(wk.pid(), SYS_semtimedop, std::chrono::milliseconds(2000));
  if (!blocked) Fail(what + ": the process did not block: " + blocked.message());
  EndBlocked(sut, wk, then, producer, {id, len}, w, what, what + ": the blocked process", [&] {
    if (producer) {
      Bytes popped;
      sut.Expect([&] { return sut.ring.Pop(&popped, Wait::Block()); }, Status::kOk, Wait::Block(),
                 what + ": pop");
      Sut::ExpectMessage(popped, m.q.front(), what + ": pop");
    } else {
      sut.Expect([&] { return sut.ring.Push(MakeMessage(id, len), Wait::Block()); }, Status::kOk,
                 Wait::Block(), what + ": push");
    }
  });
}

void BlockedCmd::show(std::ostream& os) const {
  os << (producer ? "a producer process blocks on a full ring" : "a consumer process blocks on an empty ring")
     << ", then "
     << (then == Then::kKill    ? "is killed"
         : then == Then::kClose ? "the ring is closed"
                                : "is served");
  if (producer || then == Then::kServe) os << " (id " << id << ", " << len << " bytes)";
}

}  // namespace ipc::ring::prop
