// Teeth of the ring's properties: each deliberately broken variant of the reference ring (ring.h,
// Flaws) must be caught by the property that covers its defect. A property that passed against a
// broken ring would prove nothing about the real one. The coverage check that keeps a test from claiming
// a rule its property does not reach (expect.h) is checked here too.
#include <gtest/gtest-spi.h>

#include "expect.h"
#include "ipcsuite/fixtures.h"
#include "properties.h"
#include "property_util.h"
#include "teeth_util.h"

namespace ipc {
namespace {

using ring::Flaws;
namespace prop = ring::prop;

using prop::ExpectCaught;
using prop::TeethBudget;

IPC_TEST(RingTeeth, WithoutTheLockConcurrentPushesCollide, "property.ring-linearizable") {
  // A search of up to 1000 concurrent cases for a rare interleaving (caught after 114-810 cases in the plain
  // build): under ASan it outlasted the test's 60 s deadline in CI. The plain build shows these teeth.
  IPC_SKIP_UNDER_ADDRESS_SANITIZER("a search of up to 1000 concurrent cases outlasts the test's deadline");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::Concurrent(Flaws{.no_lock = true}, TeethBudget(1000), "Teeth/NoLock"), "no lock");
}

IPC_TEST(RingTeeth, WithoutSemUndoAKilledProcessDeadlocksTheRing, "property.sem-undo",
         "property.ring-crash-safe") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::SequentialModel(Flaws{.no_undo = true}, TeethBudget(200), "Teeth/NoUndo"),
               "no SEM_UNDO");
}

IPC_TEST(RingTeeth, UncancelledSemUndoChangesTheRingWhenAProcessExits, "property.sem-undo") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::SequentialModel(Flaws{.keep_undo = true}, TeethBudget(200), "Teeth/KeepUndo"),
               "SEM_UNDO never cancelled");
}

IPC_TEST(RingTeeth, RetryingEidrmForeverHangsAfterClose, "property.semop-eidrm", "property.ring-close") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::SequentialModel(Flaws{.retry_eidrm = true}, TeethBudget(200), "Teeth/RetryEidrm"),
               "retry EIDRM forever");
}

IPC_TEST(RingTeeth, PublishingBeforeCopyingDeliversTornMessages, "property.ring-crash-safe") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(
      prop::SequentialModel(Flaws{.publish_before_copy = true}, TeethBudget(200), "Teeth/PublishFirst"),
      "publish before copy");
}

IPC_TEST(RingTeeth, AbandoningAnInterruptedCommitIsCaughtUnderFaults, "property.ring-faults") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(
      prop::SequentialUnderFaults(Flaws{.abandon_commit = true}, TeethBudget(200), "Teeth/AbandonCommit"),
      "abandon commit on EINTR");
}

// Caught only by the concurrent property with kills: a process killed between the two semop calls of
// a split commit has published its slot, and its exit gives the claimed slot back as well. The
// sequential properties kill only at the stages (claimed, half-copied, committed), which lie outside
// that window, and the concurrent property without kills never exits early.
IPC_TEST(RingTeeth, SplittingTheCommitIsCaughtByKillsInConcurrentRuns, "property.ring-crash-safe",
         "property.ring-linearizable") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::ConcurrentUnderFaultsAndKills(Flaws{.split_commit = true}, TeethBudget(1000),
                                                   "Teeth/SplitCommit"),
               "split commit");
}

// The concurrent property's kills catch the missing SEM_UNDO as well (a killed holder of a lock
// stops everyone), independently of the sequential model.
IPC_TEST(RingTeeth, WithoutSemUndoAKillInAConcurrentRunDeadlocksTheRing, "property.sem-undo",
         "property.ring-crash-safe") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(
      prop::ConcurrentUnderFaultsAndKills(Flaws{.no_undo = true}, TeethBudget(300), "Teeth/NoUndoConcurrent"),
      "no SEM_UNDO (concurrent, kills)");
}

IPC_TEST(RingTeeth, LeakingOnCreationFailureIsCaught, "property.ring-create-errors") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  ExpectCaught(prop::CreationUnderFaults(Flaws{.leak_on_create_error = true}, TeethBudget(200), "Teeth/Leak"),
               "leak on creation failure");
}

// The coverage check itself: a passing property does not make a test pass that claims a rule the property
// cannot show (no class of cases for it), or whose run never reached that rule's class of cases.
prop::Outcome PassedWith(std::vector<prop::Coverage> coverage) {
  prop::Outcome out;
  out.passed = true;
  out.cases = 10;
  out.coverage = std::move(coverage);
  return out;
}

IPC_TEST(RingCoverageSelfTest, AClaimedRuleMustBeReachedByTheProperty, "property.ring-fifo",
         "property.ring-close") {
  const prop::Coverage fifo{"property.ring-fifo", "\"pop\"", 4};
  const prop::Coverage close_reached{"property.ring-close", "\"closed\"", 2};
  const prop::Coverage close_never{"property.ring-close", "\"closed\"", 0};
  prop::ExpectPasses(PassedWith({fifo, close_reached}), "every claim shown");
  EXPECT_NONFATAL_FAILURE(prop::ExpectPasses(PassedWith({fifo}), "a claim without a class"),
                          "the test claims property.ring-close, but the property has no class of cases");
  EXPECT_NONFATAL_FAILURE(prop::ExpectPasses(PassedWith({fifo, close_never}), "a class never reached"),
                          "the test claims property.ring-close, but none of its 10 cases reached \"closed\"");
}

}  // namespace
}  // namespace ipc
