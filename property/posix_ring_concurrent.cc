// The POSIX ring's concurrent property (posix_ring_properties.h): the System V ring's scenarios, history
// and judge (concurrent.h) with the POSIX ring: producer and consumer processes at once, a per-process
// sem_wait/sem_timedwait fault schedule, and kills at a point of an operation, after its n-th step, once
// asleep in sem_wait, or after a time. Rules: suite/rules/posix_property.ini.
#include <rapidcheck.h>
#include <sys/syscall.h>

#include "concurrent.h"
#include "posix_ring_properties.h"

namespace ipc::ring::prop {

namespace {

using posix::PosixFlaws;
using posix::PosixRing;

// Steps of the POSIX ring (posix_ring.h, kSemopDone): lock, wakeup, unlock for an operation that proceeds;
// lock, unlock, token, lock, ... for one that sleeps.
constexpr RingWords kPosixWords{"step (lock, wakeup, unlock, token)", "sem_wait"};

// The driver of one case (the case's forked child, under the fault plan).
void PosixConcurrentCase(const PosixFlaws& flaws, const Scenario& sc, History* h, const std::string& name,
                         std::chrono::milliseconds deadline, Report* report) {
  auto created = PosixRing::Create({.slots = sc.slots, .slot_bytes = sc.slot_bytes, .name = name}, flaws);
  if (!created.ok()) Fail("creating the ring: " + created.error());
  PosixRing ring = std::move(created).value();
  RunScenario({.push = [&](std::span<const std::byte> m, const Wait& w) { return ring.Push(m, w); },
               .pop = [&](Bytes* m, const Wait& w) { return ring.Pop(m, w); },
               .last_errno = [&] { return ring.last_errno(); },
               .close = [&] { return ring.Close(); },
               .set_stage_hook = posix::SetPosixStageHook,
               .sleep_syscall = SYS_futex},
              sc, h, deadline);
  const posix::PosixRingStats st = ring.stats();
  if (st.recoveries > 0) report->reached |= 1u << 8;
  if (st.rolled_back > 0) report->reached |= 1u << 9;
  if (st.completed > 0) report->reached |= 1u << 10;
}

// The System V ring's workload and kills (concurrent.h), with a per-process fault schedule for sem_wait and
// sem_timedwait's futex wait, and kills after any of the first four steps of an operation.
Scenario GenPosixScenario() {
  Scenario sc = GenWorkload();
  sc.retry_eintr = *rc::gen::arbitrary<bool>();
  sc.faults = *rc::gen::container<std::vector<FaultSpec>>(
      static_cast<size_t>(*rc::gen::element(0, 1, 2, 3, 4)),
      rc::gen::construct<FaultSpec>(rc::gen::element<std::string>("sem_wait", "sem_timedwait"),
                                    rc::gen::element(EINTR, ETIMEDOUT, EAGAIN),
                                    rc::gen::element(1, 2, 3, 4, 5, 6)));
  GenKills(&sc, {1, 2, 3, 4});
  return sc;
}

enum PosixConcurrentClass : uint32_t {
  kCcOverlap = 1u << 0,
  kCcFaults = 1u << 1,
  kCcKilled = 1u << 2,
  kCcCutExact = 1u << 3,
  kCcCutPending = 1u << 4,
  kCcCutHolding = 1u << 5,
  kCcRecovered = 1u << 8,   // set by the case (PosixConcurrentCase): a lock returned EOWNERDEAD
  kCcRolledBack = 1u << 9,  // ... and the dead owner's operation was rolled back
  kCcCompleted = 1u << 10,  // ... and the dead owner's operation was complete
};
constexpr const char* kTagCcOverlap = "operations of different processes overlapped";
constexpr const char* kTagCcFaults = "faults injected into sem_wait/sem_timedwait";
constexpr const char* kTagCcKilled = "processes killed";
constexpr const char* kTagCcRecovered = "a lock returned EOWNERDEAD and the ring recovered";
const std::vector<CaseClass> kPosixConcurrentClasses = {
    {kCcOverlap, kTagCcOverlap},
    {kCcFaults, kTagCcFaults},
    {kCcKilled, kTagCcKilled},
    {kCcCutExact, "operation cut at a known stage"},
    {kCcCutPending, "operation cut pending"},
    {kCcCutHolding, "operation cut holding the mutex before its commit"},
    {kCcRecovered, kTagCcRecovered},
    {kCcRolledBack, "EOWNERDEAD: a dead owner's uncommitted operation rolled back"},
    {kCcCompleted, "EOWNERDEAD: a dead owner's committed operation completed"},
};
const std::vector<RuleClass> kPosixConcurrentRules = {
    {"property.posix-ring-linearizable", kTagCcOverlap},
    {"property.posix-ring-faults", kTagCcFaults},
    {"property.posix-ring-crash-safe", kTagCcKilled},
    {"property.posix-mutex-eownerdead", kTagCcRecovered},
};

}  // namespace

Outcome PosixConcurrentUnderFaultsAndKills(const PosixFlaws& flaws, const Budget& budget,
                                           const std::string& id) {
  return CheckProperty(id, budget, kPosixConcurrentRules, [&] {
    const Scenario sc = GenPosixScenario();
    fault::Plan plan = MakePlan(sc.faults);
    plan.per_process = true;
    SharedPage<History> history;
    const PosixName name(PosixIpcKind::kSharedMemory, "pring");
    CaseResult r = RunCase(
        plan,
        [&](Report* rep) { PosixConcurrentCase(flaws, sc, history.get(), name.str(), budget.deadline, rep); },
        budget.deadline, "running producers and consumers on the POSIX ring");
    Judged stats;
    const std::string problem = r.ok ? Judge(sc, history.get(), r.log, &stats) : r.message;
    if (!problem.empty()) CaseFails(ShowScenario(sc, kPosixWords) + "failure: " + problem, r.infrastructure);
    uint32_t reached = r.reached & (kCcRecovered | kCcRolledBack | kCcCompleted);
    if (stats.killed > 0) reached |= kCcKilled;
    if (stats.overlap) reached |= kCcOverlap;
    if (r.faults > 0) reached |= kCcFaults;
    if (stats.exact > 0) reached |= kCcCutExact;
    if (stats.pending > 0) reached |= kCcCutPending;
    if (stats.held > 0) reached |= kCcCutHolding;
    TagReached(reached, kPosixConcurrentClasses);
  });
}

}  // namespace ipc::ring::prop
