// Teeth of the POSIX ring's properties: each deliberately broken variant (posix_ring.h, PosixFlaws) must be
// caught by the property that covers its defect; a property that passed against a broken ring would prove
// nothing about the real one. Area selftest (run by ./ipcsuite test). Rules: suite/rules/posix_property.ini.
#include "ipcsuite/fixtures.h"
#include "posix_ring_properties.h"
#include "property_util.h"
#include "teeth_util.h"

namespace ipc {
namespace {

using ring::posix::PosixFlaws;
namespace prop = ring::prop;
using prop::TeethBudget;

// Every test: under ThreadSanitizer no case could start (the fault layer's trampoline lies in its shadow
// memory), and without the fault layer every case fails: every property would "fail", which would show
// nothing. Skip there, as the property area does.
class PosixRingTeeth : public ::testing::Test {
 protected:
  void SetUp() override {
    IPC_SKIP_UNDER_THREAD_SANITIZER(
        "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory");
    IPC_REQUIRE_FAULT_LAYER();  // else every case fails and the flaw looks caught
  }
};

void ExpectPosixCaught(const prop::Outcome& out, const char* flaw) {
  prop::ExpectCaught(out, flaw);
  // Caught by a case that ran: a case the fault layer could not even start shows nothing about the ring.
  EXPECT_EQ(out.text.find("could not start the case"), std::string::npos) << out.text.substr(0, 1500);
  // The broken ring's failed cases (hangs killed at their deadline included) leave no name behind.
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm after " << flaw;
}

// The sequential model-based property, `cases` cases at the most, catches the ring broken by `flaws`.
void ExpectSequentialModelCatches(const PosixFlaws& flaws, int cases, const char* id, const char* flaw) {
  ExpectPosixCaught(prop::PosixSequentialModel(flaws, TeethBudget(cases), id), flaw);
}

// A plain (not robust) mutex: a process killed while it holds it leaves it locked for ever.
IPC_TEST_F(PosixRingTeeth, WithoutARobustMutexAKilledHolderDeadlocksTheRing,
           "property.posix-mutex-eownerdead", "property.posix-ring-crash-safe") {
  ExpectSequentialModelCatches(PosixFlaws{.no_robust = true}, 200, "PosixTeeth/NoRobust", "no robust mutex");
}

IPC_TEST_F(PosixRingTeeth, WithoutARobustMutexAKillInAConcurrentRunDeadlocksTheRing,
           "property.posix-mutex-eownerdead", "property.posix-ring-crash-safe") {
  ExpectPosixCaught(prop::PosixConcurrentUnderFaultsAndKills(PosixFlaws{.no_robust = true}, TeethBudget(300),
                                                             "PosixTeeth/NoRobustConcurrent"),
                    "no robust mutex (concurrent, kills)");
}

// Recovering without pthread_mutex_consistent: the unlock makes the mutex ENOTRECOVERABLE for everyone.
IPC_TEST_F(PosixRingTeeth, RecoveringWithoutConsistentMakesTheMutexUnusable,
           "property.posix-mutex-consistent") {
  ExpectSequentialModelCatches(PosixFlaws{.no_consistent = true}, 200, "PosixTeeth/NoConsistent",
                               "no pthread_mutex_consistent");
}

// Committing before copying: a holder killed mid-copy leaves a committed, half-written message.
IPC_TEST_F(PosixRingTeeth, PublishingBeforeCopyingDeliversTornMessages, "property.posix-ring-crash-safe") {
  ExpectSequentialModelCatches(PosixFlaws{.publish_before_copy = true}, 200, "PosixTeeth/PublishFirst",
                               "publish before copy");
}

// One wakeup token per change: the sleeper it wakes is killed before it locks, the other sleeps for ever.
IPC_TEST_F(PosixRingTeeth, OneWakeupPerChangeStrandsASleeperWhenTheWokenOneDies,
           "property.posix-ring-no-lost-wakeup") {
  ExpectSequentialModelCatches(PosixFlaws{.single_wakeup = true}, 300, "PosixTeeth/SingleWakeup",
                               "one wakeup per change");
}

// A commit in two stores: a consumer killed between them (its third step, where the ring unlocks) leaves a
// state word no operation wrote, which recovery takes for the commit: a phantom message.
IPC_TEST_F(PosixRingTeeth, SplittingTheCommitIsCaughtByAKillBetweenTheStores,
           "property.posix-ring-crash-safe") {
  ExpectSequentialModelCatches(PosixFlaws{.split_commit = true}, 300, "PosixTeeth/SplitCommit",
                               "split commit");
}

IPC_TEST_F(PosixRingTeeth, LeakingTheNameOnCreationFailureIsCaught, "property.posix-ring-create-errors") {
  ExpectPosixCaught(prop::PosixCreationUnderFaults(PosixFlaws{.leak_on_create_error = true}, TeethBudget(100),
                                                   "PosixTeeth/Leak"),
                    "leak the name on creation failure");
}

}  // namespace
}  // namespace ipc
