// Teeth of the POSIX ring's properties: each deliberately broken variant (posix_ring.h, PosixFlaws) must be
// caught by the property that covers its defect; a property that passed against a broken ring would prove
// nothing about the real one. Area selftest (run by ./ipcsuite test). Rules: suite/rules/posix_property.ini.
#include <iostream>

#include "ipcsuite/fixtures.h"
#include "posix_ring_properties.h"
#include "property_util.h"

namespace ipc {
namespace {

using ring::posix::PosixFlaws;
namespace prop = ring::prop;

// Enough cases to find the defect, a short deadline per case (the defects that deadlock cost one deadline
// each) and no shrinking (the minimal case is not the point here).
prop::Budget PosixTeethBudget(int cases) {
  prop::Budget b;
  b.max_success = cases;
  b.deadline = std::chrono::milliseconds(1500);
  b.shrink = false;
  return b;
}

// Under ThreadSanitizer no case could start (the fault layer's trampoline lies in its shadow memory): every
// property would "fail", which would show nothing. Skip there, as the property area does.
constexpr const char* kPosixTeethTsan =
    "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory";

void ExpectPosixCaught(const prop::Outcome& out, const char* flaw) {
  EXPECT_FALSE(out.passed) << "the properties did not catch the broken POSIX ring (" << flaw << ") in "
                           << out.cases << " cases (seed " << out.seed << ")";
  // Caught by a case that ran: a case the fault layer could not even start shows nothing about the ring.
  EXPECT_EQ(out.text.find("could not start the case"), std::string::npos) << out.text.substr(0, 1500);
  std::cout << flaw << ": " << (out.passed ? "NOT caught" : "caught") << " after " << out.cases << " cases\n"
            << out.text.substr(0, 1500) << std::endl;
  // The broken ring's failed cases (hangs killed at their deadline included) leave no name behind.
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm after " << flaw;
}

// A plain (not robust) mutex: a process killed while it holds it leaves it locked for ever.
IPC_TEST(PosixRingTeeth, WithoutARobustMutexAKilledHolderDeadlocksTheRing, "property.posix-mutex-eownerdead",
         "property.posix-ring-crash-safe") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(
      prop::PosixSequentialModel(PosixFlaws{.no_robust = true}, PosixTeethBudget(200), "PosixTeeth/NoRobust"),
      "no robust mutex");
}

IPC_TEST(PosixRingTeeth, WithoutARobustMutexAKillInAConcurrentRunDeadlocksTheRing,
         "property.posix-mutex-eownerdead", "property.posix-ring-crash-safe") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(
      prop::PosixConcurrentUnderFaultsAndKills(PosixFlaws{.no_robust = true}, PosixTeethBudget(300),
                                               "PosixTeeth/NoRobustConcurrent"),
      "no robust mutex (concurrent, kills)");
}

// Recovering without pthread_mutex_consistent: the unlock makes the mutex ENOTRECOVERABLE for everyone.
IPC_TEST(PosixRingTeeth, RecoveringWithoutConsistentMakesTheMutexUnusable,
         "property.posix-mutex-consistent") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(prop::PosixSequentialModel(PosixFlaws{.no_consistent = true}, PosixTeethBudget(200),
                                               "PosixTeeth/NoConsistent"),
                    "no pthread_mutex_consistent");
}

// Committing before copying: a holder killed mid-copy leaves a committed, half-written message.
IPC_TEST(PosixRingTeeth, PublishingBeforeCopyingDeliversTornMessages, "property.posix-ring-crash-safe") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(prop::PosixSequentialModel(PosixFlaws{.publish_before_copy = true}, PosixTeethBudget(200),
                                               "PosixTeeth/PublishFirst"),
                    "publish before copy");
}

// One wakeup token per change: the sleeper it wakes is killed before it locks, the other sleeps for ever.
IPC_TEST(PosixRingTeeth, OneWakeupPerChangeStrandsASleeperWhenTheWokenOneDies,
         "property.posix-ring-no-lost-wakeup") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(prop::PosixSequentialModel(PosixFlaws{.single_wakeup = true}, PosixTeethBudget(300),
                                               "PosixTeeth/SingleWakeup"),
                    "one wakeup per change");
}

// A commit in two stores: a consumer killed between them (its third step, where the ring unlocks) leaves a
// state word no operation wrote, which recovery takes for the commit: a phantom message.
IPC_TEST(PosixRingTeeth, SplittingTheCommitIsCaughtByAKillBetweenTheStores,
         "property.posix-ring-crash-safe") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(prop::PosixSequentialModel(PosixFlaws{.split_commit = true}, PosixTeethBudget(300),
                                               "PosixTeeth/SplitCommit"),
                    "split commit");
}

IPC_TEST(PosixRingTeeth, LeakingTheNameOnCreationFailureIsCaught, "property.posix-ring-create-errors") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixTeethTsan);
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectPosixCaught(prop::PosixCreationUnderFaults(PosixFlaws{.leak_on_create_error = true},
                                                   PosixTeethBudget(100), "PosixTeeth/Leak"),
                    "leak the name on creation failure");
}

}  // namespace
}  // namespace ipc
