// The concurrent properties (concurrent.h): generating a scenario, the case's driver that runs its
// producer and consumer processes (fixtures Child, as Worker) with their faults and kills and drains the
// ring, and the properties. Rules: suite/rules/property.ini.
#include "concurrent.h"

#include <fcntl.h>
#include <rapidcheck.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <sstream>
#include <unordered_map>

#include "ipcsuite/blocked.h"
#include "ipcsuite/result.h"

namespace ipc::ring::prop {

namespace {

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

std::string ShowKill(const Kill& k, const RingWords& words) {
  std::string who = (k.producer ? "producer " : "consumer ") + std::to_string(k.index);
  switch (k.how) {
    case Kill::How::kAtStage:
      return "kill " + who + " at stage " + StageName(k.stage) + " of its operation " + std::to_string(k.op);
    case Kill::How::kAfterSemop:
      return "kill " + who + " right after " + words.step + " " + std::to_string(k.semops) +
             " of its operation " + std::to_string(k.op);
    case Kill::How::kWhenBlocked:
      return "kill " + who + " once blocked in " + words.sleep;
    case Kill::How::kAfterMicros:
      return "kill " + who + " after " + std::to_string(k.micros) + " us";
  }
  return "?";
}

}  // namespace

std::string ShowScenario(const Scenario& sc, const RingWords& words) {
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
  for (const Kill& k : sc.kills) os << "  " << ShowKill(k, words) << "\n";
  return os.str();
}

namespace {

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

Wait WaitFor(WaitKind k, bool retry_eintr) { return MakeWait(k, retry_eintr, 1); }

// The driver of one case (runs in the case's forked child, under the fault plan).
void ConcurrentCase(const Flaws& flaws, const Scenario& sc, History* h, std::chrono::milliseconds deadline) {
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
  Ring sysv = std::move(created).value();
  RunScenario({.push = [&](std::span<const std::byte> m, const Wait& w) { return sysv.Push(m, w); },
               .pop = [&](Bytes* m, const Wait& w) { return sysv.Pop(m, w); },
               .last_errno = [&] { return sysv.last_errno(); },
               .close = [&] { return sysv.Close(); },
               .set_stage_hook = SetStageHook,
               .sleep_syscall = SYS_semtimedop},
              sc, h, deadline);
}

}  // namespace

void RunScenario(const RingCalls& ring, const Scenario& sc, History* h, std::chrono::milliseconds deadline) {
  std::unordered_map<uint32_t, uint32_t> lens;
  for (size_t p = 0; p < sc.producers.size(); ++p)
    for (size_t i = 0; i < sc.producers[p].size(); ++i) lens[ValueOf(p, i)] = sc.producers[p][i].len;

  // The workers start together: each waits for the end of this pipe, which the driver closes once all
  // of them exist.
  auto made = Pipe::Create(O_CLOEXEC);
  if (!made.ok()) throw Infrastructure(InfrastructureTag(made.error_number()) + made.error());
  Pipe gate = std::move(made).value();
  auto wait_gate = [&] {
    gate.write.reset();
    char c;
    (void)ReadAll(gate.read.get(), &c, 1);
  };
  auto pop_one = [&](uint16_t process, uint16_t op, WaitKind kind, bool retry_eintr) {
    Event* e = Begin(h, Side::kPop, kind, process, op, 0);
    Bytes m;
    Status s = ring.pop(&m, WaitFor(kind, retry_eintr));
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
      ring.set_stage_hook(KillAtStage);
    }
  };
  std::vector<Worker> workers;
  for (size_t p = 0; p < sc.producers.size(); ++p) {
    workers.push_back(Worker::Start(
        [&, p](int) {
          wait_gate();
          const Kill* k = KillFor(sc, true, p);
          start_kill(k);
          for (size_t i = 0; i < sc.producers[p].size(); ++i) {
            const Op& op = sc.producers[p][i];
            g_kill_armed = Armed(k, i);
            Event* e = Begin(h, Side::kPush, op.kind, ProducerId(p), static_cast<uint16_t>(i), ValueOf(p, i));
            Status s = ring.push(MakeMessage(ValueOf(p, i), op.len), WaitFor(op.kind, sc.retry_eintr));
            End(h, e, s, ValueOf(p, i), false);
            g_kill_armed = false;
          }
        },
        ProcessName(ProducerId(p)), deadline));
    h->procs[h->nprocs++] = {workers.back().pid(), ProducerId(p), 0, 0, 0};
  }
  for (size_t c = 0; c < sc.consumers.size(); ++c) {
    workers.push_back(Worker::Start(
        [&, c](int) {
          wait_gate();
          const Kill* k = KillFor(sc, false, c);
          start_kill(k);
          for (size_t i = 0; i < sc.consumers[c].size(); ++i) {
            g_kill_armed = Armed(k, i);
            pop_one(ConsumerId(c), static_cast<uint16_t>(i), sc.consumers[c][i], sc.retry_eintr);
            g_kill_armed = false;
          }
        },
        ProcessName(ConsumerId(c)), deadline));
    h->procs[h->nprocs++] = {workers.back().pid(), ConsumerId(c), 0, 0, 0};
  }
  h->procs[h->nprocs++] = {getpid(), kDriverId, 0, 0, 0};
  // Reaps worker i (waiting for it when `wait`, else only when it has ended) and records how it ended.
  std::vector<bool> reaped(workers.size(), false);
  auto reap = [&](size_t i, bool wait) {
    if (reaped[i]) return true;
    if (!wait && !workers[i].Ended()) return false;
    const ExitStatus st = workers[i].Wait();
    ProcEntry& pe = h->procs[i];
    pe.death = Tick(h);
    pe.killed = st.KilledBy(SIGKILL);
    pe.other = !pe.killed && !st.Exited(0);
    reaped[i] = true;
    return true;
  };
  gate.read.reset();
  gate.write.reset();  // go
  // Kills when blocked: wait (bounded) until the target sleeps in semtimedop, then kill it. If it
  // ends first, the kill finds a zombie and changes nothing.
  for (const Kill& k : sc.kills) {
    if (k.how != Kill::How::kWhenBlocked) continue;
    size_t i = k.producer ? k.index : sc.producers.size() + k.index;
    (void)WaitUntilBlockedIn(workers[i].pid(), ring.sleep_syscall, std::chrono::milliseconds(1000));
    workers[i].Kill();
  }
  for (size_t c = 0; c < sc.consumers.size(); ++c) reap(sc.producers.size() + c, true);
  // Drain while producers run; then until empty. Under faults, a would-block may be an injected
  // EAGAIN (at most one per rule, as they are counted per process): only sc.faults.size() + 1
  // would-blocks in a row prove the ring empty.
  uint16_t n = 0;
  for (;;) {
    if (pop_one(kDriverId, n++, WaitKind::kTimed, true) == Status::kOk) continue;
    bool all_done = true;
    for (size_t p = 0; p < sc.producers.size(); ++p) all_done &= reap(p, false);
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
    Status s = retry([&] { return ring.push(MakeMessage(900000 + i, kMinLen), Wait::NoWait()); });
    if (s != Status::kOk)
      Fail("after the run, try-push " + std::to_string(i + 1) + " of " + std::to_string(sc.slots) +
           " into the drained ring: " + StatusName(s) + " (capacity lost)");
  }
  Bytes extra;
  if (ring.push(MakeMessage(999999, kMinLen), Wait::NoWait()) == Status::kOk)
    Fail("after the run, the drained ring took " + std::to_string(sc.slots + 1) +
         " messages (a slot counted twice)");
  for (uint32_t i = 0; i < sc.slots; ++i) {
    Bytes m;
    Status s = retry([&] { return ring.pop(&m, Wait::NoWait()); });
    if (s != Status::kOk || m != MakeMessage(900000 + i, kMinLen))
      Fail("after the run, try-pop " + std::to_string(i + 1) + ": " + StatusName(s) + " " + Show(m) +
           ", expected <id " + std::to_string(900000 + i) + ">");
  }
  if (ring.pop(&extra, Wait::NoWait()) == Status::kOk)
    Fail("after the run, popped " + Show(extra) + " from a ring that should be empty");
  (void)ring.close();
}

namespace {}  // namespace

Scenario GenWorkload() {
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
  return sc;
}

void GenKills(Scenario* scenario, const std::vector<int>& steps) {
  Scenario& sc = *scenario;
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
    k.semops = *rc::gen::elementOf(steps);
    k.micros = *rc::gen::inRange(0, 400);  // a worker is active for tens to hundreds of us
    if (KillFor(sc, k.producer, k.index) == nullptr) sc.kills.push_back(k);
  }
}

namespace {

Scenario GenScenario(bool faults, bool kills) {
  Scenario sc = GenWorkload();
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
  if (kills) GenKills(&sc, {1, 2, 3});
  return sc;
}

// The classes of cases of the concurrent properties, and the rules they show.
enum ConcurrentClass : uint32_t {
  kOverlap = 1u << 0,      // operations of different processes overlapped in time
  kFaults = 1u << 1,       // a fault was injected into semop/semtimedop
  kCreateFault = 1u << 2,  // a creation fault was injected (and returned)
  kKilled = 1u << 3,       // processes were killed
  kNotKilled = 1u << 4,    // no process was killed
  kCutExact = 1u << 5,     // an operation was cut at a known stage (judged exactly)
  kCutPending = 1u << 6,   // an operation was cut anywhere else (judged as pending)
  kCutHolding = 1u << 7,   // an operation was cut at a known stage between its claim and its commit
};
constexpr const char* kTagOverlap = "operations of different processes overlapped";
constexpr const char* kTagFaults = "faults";
constexpr const char* kTagKilled = "processes killed";
constexpr const char* kTagCutHolding = "operation cut between its claim and its commit";
const std::vector<CaseClass> kConcurrentClasses = {
    {kOverlap, kTagOverlap},
    {kFaults, kTagFaults},
    {kCreateFault, "creation fault"},
    {kKilled, kTagKilled},
    {kNotKilled, "no process killed"},
    {kCutExact, "operation cut at a known stage"},
    {kCutPending, "operation cut pending"},
    {kCutHolding, kTagCutHolding},
};
const std::vector<RuleClass> kConcurrentRules = {
    {"property.ring-linearizable", kTagOverlap},
};
const std::vector<RuleClass> kFaultsAndKillsRules = {
    {"property.ring-linearizable", kTagOverlap},
    {"property.ring-faults", kTagFaults},
    {"property.ring-crash-safe", kTagKilled},
    {"property.sem-undo", kTagCutHolding},
};

Outcome ConcurrentProperty(const Flaws& flaws, const Budget& budget, const std::string& id, bool faults,
                           bool kills) {
  return CheckProperty(id, budget, faults ? kFaultsAndKillsRules : kConcurrentRules, [&] {
    const Scenario sc = GenScenario(faults, kills);
    std::vector<FaultSpec> specs = sc.faults;
    specs.insert(specs.end(), sc.create_faults.begin(), sc.create_faults.end());
    fault::Plan plan = MakePlan(specs);
    plan.per_process = true;
    SharedPage<History> history;
    CaseResult r = RunCase(
        plan, [&](Report*) { ConcurrentCase(flaws, sc, history.get(), budget.deadline); }, budget.deadline,
        "running producers and consumers");
    Judged stats;
    std::string problem = r.ok ? Judge(sc, history.get(), r.log, &stats) : r.message;
    if (!problem.empty()) CaseFails(ShowScenario(sc, kSysvWords) + "failure: " + problem, r.infrastructure);
    uint32_t reached = stats.killed > 0 ? kKilled : kNotKilled;
    if (stats.overlap) reached |= kOverlap;
    for (const char* name : {"semop", "semtimedop"})
      if (r.Injected(name, EINTR) + r.Injected(name, EAGAIN) > 0) reached |= kFaults;
    if (r.Injected("semget", ENOMEM) + r.Injected("semget", ENOSPC) + r.Injected("shmget", ENOMEM) +
            r.Injected("shmget", ENOSPC) >
        0)
      reached |= kCreateFault;
    if (stats.exact > 0) reached |= kCutExact;
    if (stats.pending > 0) reached |= kCutPending;
    if (stats.held > 0) reached |= kCutHolding;
    TagReached(reached, kConcurrentClasses);
  });
}

}  // namespace

Outcome Concurrent(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return ConcurrentProperty(flaws, budget, id, false, false);
}

Outcome ConcurrentUnderFaultsAndKills(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return ConcurrentProperty(flaws, budget, id, true, true);
}

}  // namespace ipc::ring::prop
