// The properties under injected faults (properties.h): the model's command sequences while the fault
// layer injects EINTR/EAGAIN into semop/semtimedop, and ring creation while it injects ENOMEM/ENOSPC into
// semget/shmget. Rules: suite/rules/property.ini.
#include <sys/ipc.h>

#include "model.h"

namespace ipc::ring::prop {

namespace {

// Classes the parent reads from the fault layer's log (bits above the model's).
enum FaultClass : uint32_t {
  kInjected = 1u << 20,       // a fault was injected into semop/semtimedop
  kEintrInjected = 1u << 21,  // ... an EINTR
  kCreateFailed = 1u << 22,   // creation returned the injected semget/shmget errno, leaving nothing
  kEexist = 1u << 23,         // a second exclusive creation with a taken key returned EEXIST
};

constexpr const char* kTagInjected = "fault injected into semop/semtimedop";
constexpr const char* kTagEintrInjected = "EINTR injected into semop/semtimedop";

const std::vector<CaseClass> kFaultClasses = {
    {kInjected, kTagInjected},
    {kEintrInjected, kTagEintrInjected},
};

const std::vector<RuleClass> kFaultRules = {
    {"property.ring-faults", kTagInjected},
    {"property.ring-faults", kTagFaultRetried},
    {"property.semop-eintr", kTagEintrInjected},
};

}  // namespace

Outcome SequentialUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, kFaultRules, [&] {
    const Model m0 = GenModel();
    const bool retry_eintr = *rc::gen::arbitrary<bool>();
    // 1..6 faults, each at one call index of semop or semtimedop (counted over the whole process tree).
    const auto faults = *rc::gen::container<std::vector<FaultSpec>>(
        static_cast<size_t>(*rc::gen::inRange(1, 7)),
        rc::gen::construct<FaultSpec>(rc::gen::element<std::string>("semop", "semtimedop"),
                                      rc::gen::element(EINTR, EAGAIN), rc::gen::inRange(1, 40)));
    const auto cmds = GenCommands(m0);
    const CaseOptions options{.faults = true,
                              .retry_eintr = retry_eintr,
                              .max_spurious = static_cast<int>(faults.size()),
                              .deadline = budget.deadline};
    CaseResult r = RunCase(
        MakePlan(faults), [&](Report* rep) { RunCommands(m0, cmds, flaws, options, rep); }, budget.deadline,
        "running ring commands under faults");
    std::string where = "faults: " + ShowFaults(faults) + "; retry EINTR: " + (retry_eintr ? "yes" : "no") +
                        "; " + ShowRing(m0) + "; commands:\n" + ShowCommands(cmds);
    if (!r.ok) CaseFails(where + "failure: " + r.message, r.infrastructure);
    if (static_cast<size_t>(r.spurious) > r.faults)
      CaseFails(where + "failure: the ring reported " + std::to_string(r.spurious) +
                " no-effect failures in place of the expected result, but only " + std::to_string(r.faults) +
                " faults were injected");
    uint32_t reached = r.reached;
    if (r.faults > 0) reached |= kInjected;
    if (r.Injected("semop", EINTR) + r.Injected("semtimedop", EINTR) > 0) reached |= kEintrInjected;
    TagReached(reached, kModelClasses);
    TagReached(reached, kFaultClasses);
  });
}

// --- creation ------------------------------------------------------------------------------------

namespace {

constexpr const char* kTagCreateFailed = "creation returned the injected errno and left nothing";
constexpr const char* kTagEexist = "second creation with a taken key: EEXIST";

const std::vector<CaseClass> kCreationClasses = {
    {kCreateFailed, kTagCreateFailed},
    {kEexist, kTagEexist},
};

const std::vector<RuleClass> kCreationRules = {
    {"property.ring-create-errors", kTagCreateFailed},
    {"property.ring-eexist", kTagEexist},
};

}  // namespace

Outcome CreationUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id) {
  return CheckProperty(id, budget, kCreationRules, [&] {
    const FaultSpec fault{*rc::gen::element<std::string>("semget", "shmget"),
                          *rc::gen::element(ENOMEM, ENOSPC), *rc::gen::inRange(1, 3)};
    const int attempts = *rc::gen::inRange(1, 4);
    const bool keyed = *rc::gen::arbitrary<bool>();
    CaseResult r = RunCase(
        MakePlan({fault}),
        [&](Report* rep) {
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
              rep->reached |= kCreateFailed;
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
              if (want_again == EEXIST) rep->reached |= kEexist;
            }
            Bytes m;
            if (ring.value().Push(MakeMessage(7, 9), Wait::NoWait()) != Status::kOk ||
                ring.value().Pop(&m, Wait::NoWait()) != Status::kOk || m != MakeMessage(7, 9))
              Fail(what + ": the new ring does not carry a message");
            (void)ring.value().Close();
            // IPC_RMID destroys a segment only at its last detach (shmctl(2)): drop the attachment first.
            { Ring gone = std::move(ring).value(); }
            if (CountSysv() != baseline) Fail(what + ": closing did not remove both objects");
          }
        },
        budget.deadline, "creating rings under faults");
    if (!r.ok)
      CaseFails("fault " + fault.Text() + ", " + std::to_string(attempts) + " attempts" +
                    (keyed ? " with keys" : "") + ": " + r.message,
                r.infrastructure);
    TagReached(r.reached, kCreationClasses);
  });
}

}  // namespace ipc::ring::prop
