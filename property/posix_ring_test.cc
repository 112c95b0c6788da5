// Properties of the POSIX reference ring (property/posix_ring.h: POSIX shared memory, a robust
// process-shared mutex and process-shared POSIX semaphores), checked with rapidcheck against the same
// model as the System V ring (model.h): command sequences across processes with kills while the mutex is
// held, the same under injected sem_wait/sem_timedwait faults, concurrent histories with faults and kills,
// and creation under injected shm_open/ftruncate/mmap failures. A test claims a rule only if its property
// reaches the cases that show it (ExpectPasses). Rules: suite/rules/posix_property.ini.
#include "expect.h"
#include "ipcsuite/fixtures.h"
#include "posix_ring_properties.h"
#include "property_util.h"

namespace ipc {
namespace {

using ring::posix::PosixFlaws;
using ring::prop::ExpectPasses;
namespace prop = ring::prop;

// Why the property tests cannot run under ThreadSanitizer (as property_test.cc).
constexpr const char* kPosixRingTsan =
    "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory";

IPC_TEST(PosixRingModel, CommandSequencesMatchTheQueueModel, "property.posix-ring-fifo",
         "property.posix-ring-nonblocking", "property.posix-ring-timed",
         "property.posix-sem-timedwait-etimedout", "property.posix-ring-close",
         "property.posix-shm-unlink-enoent", "property.posix-ring-processes",
         "property.posix-shm-open-shared", "property.posix-mmap-shared", "property.posix-sem-process-shared",
         "property.posix-ring-crash-safe", "property.posix-mutex-eownerdead",
         "property.posix-mutex-consistent", "property.posix-ring-no-lost-wakeup",
         "property.posix-sem-trywait-eagain") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixRingTsan);
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(
      prop::PosixSequentialModel(PosixFlaws{}, prop::DefaultBudget(150), "PosixRingModel/CommandSequences"),
      "POSIX ring: model-based command sequences");
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm";
}

IPC_TEST(PosixRingFaults, NoPartialEffectsUnderInjectedSemWaitFaults, "property.posix-ring-faults",
         "property.posix-sem-wait-eintr") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixRingTsan);
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(
      prop::PosixSequentialUnderFaults(PosixFlaws{}, prop::DefaultBudget(100), "PosixRingFaults/SemWait"),
      "POSIX ring: command sequences under sem_wait/sem_timedwait faults");
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm";
}

IPC_TEST(PosixRingFaults, CreationErrorsAreReturnedAndLeaveNoName, "property.posix-ring-create-errors",
         "property.posix-shm-open-eexist") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixRingTsan);
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(
      prop::PosixCreationUnderFaults(PosixFlaws{}, prop::DefaultBudget(40), "PosixRingFaults/Creation"),
      "POSIX ring: creation under shm_open/ftruncate/mmap faults");
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm";
}

IPC_TEST(PosixRingConcurrent, HistoriesStayLinearizableUnderFaultsAndKills,
         "property.posix-ring-linearizable", "property.posix-ring-crash-safe", "property.posix-ring-faults",
         "property.posix-mutex-eownerdead") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kPosixRingTsan);
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(prop::PosixConcurrentUnderFaultsAndKills(PosixFlaws{}, prop::DefaultBudget(100),
                                                        "PosixRingConcurrent/FaultsKills"),
               "POSIX ring: concurrent histories under faults and kills");
  EXPECT_EQ(prop::PosixNamesLeft(), 0u) << "shm_open names left in /dev/shm";
}

}  // namespace
}  // namespace ipc
