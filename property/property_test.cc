// Properties of the reference ring (property/ring.h), checked with rapidcheck: model-based command
// sequences across processes (with kills mid-operation), the same under injected semop/semtimedop
// faults, concurrent histories checked for linearizability, creation under injected semget/shmget
// failures. Each generated case runs in a forked child with a deadline. The seed and a reproduce
// string are printed on failure; IPCSUITE_SOAK=N runs N times more cases (see properties.h). A test
// claims a rule only if its property has classes of cases that show the rule and the run reaches them
// (ExpectPasses). Rules: suite/rules/property.ini.
#include <iostream>

#include "expect.h"
#include "ipcsuite/fixtures.h"
#include "linearizability.h"
#include "properties.h"
#include "property_util.h"

namespace ipc {
namespace {

using ring::Flaws;
using ring::prop::ExpectPasses;
namespace prop = ring::prop;

// Why the property tests cannot run under ThreadSanitizer.
constexpr const char* kTrampolineInTsanShadow =
    "the fault layer maps its trampoline at a fixed address inside ThreadSanitizer's shadow memory";

// One generator of command sequences, with every command among them (try, timed and blocking calls,
// other processes, kills mid-operation, processes blocked then served, closed or killed): the classes
// of cases it reaches show each rule (model.cc, kModelRules).
IPC_TEST(RingModel, CommandSequencesMatchTheQueueModel, "property.ring-fifo", "property.ring-nonblocking",
         "property.ring-timed", "property.semop-atomic", "property.semop-nowait-eagain",
         "property.semtimedop-eagain", "property.ring-processes", "property.ring-crash-safe",
         "property.sem-undo", "property.semop-eidrm", "property.ring-close") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTrampolineInTsanShadow);
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(prop::SequentialModel(Flaws{}, prop::DefaultBudget(250), "RingModel/CommandSequences"),
               "model-based command sequences");
}

IPC_TEST(RingFaults, NoPartialEffectsUnderInjectedSemopFaults, "property.ring-faults",
         "property.semop-eintr") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTrampolineInTsanShadow);
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(prop::SequentialUnderFaults(Flaws{}, prop::DefaultBudget(150), "RingFaults/Semop"),
               "command sequences under semop faults");
}

IPC_TEST(RingFaults, CreationErrorsAreReturnedAndLeaveNothingBehind, "property.ring-create-errors",
         "property.ring-eexist") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTrampolineInTsanShadow);
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(prop::CreationUnderFaults(Flaws{}, prop::DefaultBudget(60), "RingFaults/Creation"),
               "creation under semget/shmget faults");
}

IPC_TEST(RingConcurrent, HistoriesAreLinearizable, "property.ring-linearizable") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTrampolineInTsanShadow);
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(prop::Concurrent(Flaws{}, prop::DefaultBudget(100), "RingConcurrent/Linearizable"),
               "concurrent histories");
}

IPC_TEST(RingConcurrent, HistoriesStayLinearizableUnderFaultsAndKills, "property.ring-linearizable",
         "property.ring-crash-safe", "property.ring-faults", "property.sem-undo") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(kTrampolineInTsanShadow);
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_FAULT_LAYER();
  ExpectPasses(
      prop::ConcurrentUnderFaultsAndKills(Flaws{}, prop::DefaultBudget(100), "RingConcurrent/FaultsKills"),
      "concurrent histories under faults and kills");
}

// The checker itself must reject each forbidden pattern (otherwise the concurrent property has no
// teeth). Times: [invoke, response].
using K = ring::lin::Op::Kind;
std::string Lin(std::vector<ring::lin::Op> h, bool drained = true) { return ring::lin::Check(h, drained); }

IPC_TEST(RingLinearizability, CheckerRejectsEachForbiddenPattern, "property.ring-linearizable") {
  EXPECT_EQ(Lin({{K::kPush, 1, 1, 2, 1}, {K::kPop, 1, 3, 4, 2}}), "");
  // Overlapping pushes may be popped in either order.
  EXPECT_EQ(
      Lin({{K::kPush, 1, 1, 4, 1}, {K::kPush, 2, 2, 3, 2}, {K::kPop, 2, 5, 6, 3}, {K::kPop, 1, 7, 8, 3}}),
      "");
  EXPECT_THAT(Lin({{K::kPop, 9, 1, 2, 1}}), ::testing::StartsWith("fresh"));
  EXPECT_THAT(Lin({{K::kPop, 1, 1, 2, 2}, {K::kPush, 1, 3, 4, 1}}), ::testing::StartsWith("fresh"));
  EXPECT_THAT(Lin({{K::kPush, 1, 1, 2, 1}, {K::kPop, 1, 3, 4, 2}, {K::kPop, 1, 5, 6, 3}}),
              ::testing::StartsWith("repeat"));
  EXPECT_THAT(Lin({{K::kPush, 1, 1, 2, 1}}), ::testing::StartsWith("lost"));
  EXPECT_EQ(Lin({{K::kPush, 1, 1, 2, 1}}, /*drained=*/false), "");
  EXPECT_THAT(
      Lin({{K::kPush, 1, 1, 2, 1}, {K::kPush, 2, 3, 4, 1}, {K::kPop, 2, 5, 6, 2}, {K::kPop, 1, 7, 8, 2}}),
      ::testing::StartsWith("order"));
  EXPECT_THAT(Lin({{K::kPush, 1, 1, 2, 1}, {K::kPopEmpty, 0, 3, 4, 2}, {K::kPop, 1, 5, 6, 2}}),
              ::testing::StartsWith("empty"));
  // An empty result that overlaps the pop of the only value is fine.
  EXPECT_EQ(Lin({{K::kPush, 1, 1, 2, 1}, {K::kPop, 1, 3, 6, 3}, {K::kPopEmpty, 0, 4, 5, 2}}), "");
}

// Operations cut by kills (pending): a push took effect whole or not at all, a pop may have taken one
// value nobody receives (must: it certainly did), each inside its window [invoke, death].
ring::lin::Op Pending(K kind, uint32_t value, uint64_t invoke, uint64_t death, int process,
                      bool must = false) {
  ring::lin::Op op{kind, value, invoke, death, process};
  op.pending = true;
  op.must = must;
  return op;
}

IPC_TEST(RingLinearizability, CheckerJudgesOperationsCutByKills, "property.ring-linearizable",
         "property.ring-crash-safe") {
  // A killed push: its value may be popped once, or never.
  EXPECT_EQ(Lin({Pending(K::kPush, 1, 1, 3, 1), {K::kPop, 1, 4, 5, 2}}), "");
  EXPECT_EQ(Lin({Pending(K::kPush, 1, 1, 3, 1)}), "");
  EXPECT_THAT(Lin({Pending(K::kPush, 1, 1, 3, 1), {K::kPop, 1, 4, 5, 2}, {K::kPop, 1, 6, 7, 2}}),
              ::testing::StartsWith("repeat"));
  // ... but not before it was invoked.
  EXPECT_THAT(Lin({{K::kPop, 1, 1, 2, 2}, Pending(K::kPush, 1, 3, 5, 1)}), ::testing::StartsWith("fresh"));
  // A killed pop may account for one value never received; not for two.
  EXPECT_EQ(Lin({{K::kPush, 1, 1, 2, 1}, Pending(K::kPop, 0, 3, 5, 2)}), "");
  EXPECT_THAT(Lin({{K::kPush, 1, 1, 2, 1}, {K::kPush, 2, 3, 4, 1}, Pending(K::kPop, 0, 5, 7, 2)}),
              ::testing::StartsWith("lost"));
  // Only a value it could have found: pushed before the pop's process died.
  EXPECT_THAT(Lin({Pending(K::kPop, 0, 1, 2, 2), {K::kPush, 1, 3, 4, 1}}), ::testing::StartsWith("fresh"));
  // In FIFO order: it cannot have taken 2 while 1 (pushed before 2) was popped after the killed pop died.
  EXPECT_THAT(Lin({{K::kPush, 1, 1, 2, 1},
                   {K::kPush, 2, 3, 4, 1},
                   Pending(K::kPop, 0, 5, 6, 2),
                   {K::kPop, 1, 7, 8, 3}}),
              ::testing::StartsWith("order"));
  // A pop killed after its commit took a value: with nothing left to take, that is a violation.
  EXPECT_EQ(Lin({Pending(K::kPop, 0, 1, 2, 2)}), "");
  EXPECT_NE(Lin({Pending(K::kPop, 0, 1, 2, 2, /*must=*/true)}), "");
  EXPECT_EQ(Lin({Pending(K::kPush, 1, 1, 4, 1), Pending(K::kPop, 0, 2, 5, 2, /*must=*/true)}), "");
  // Excused "empty" results (an injected EAGAIN made a try-pop fail), per process and counted.
  std::vector<ring::lin::Op> h = {{K::kPush, 1, 1, 2, 1}, {K::kPopEmpty, 0, 3, 4, 2}, {K::kPop, 1, 5, 6, 2}};
  ring::lin::Options o;
  EXPECT_THAT(ring::lin::Check(h, o), ::testing::StartsWith("empty"));
  o.excused_empties[3] = 1;
  EXPECT_THAT(ring::lin::Check(h, o), ::testing::StartsWith("empty"));
  o.excused_empties[2] = 1;
  EXPECT_EQ(ring::lin::Check(h, o), "");
}

}  // namespace
}  // namespace ipc
