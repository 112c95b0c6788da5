// ipc_namespaces(7) for semaphore sets: sets and /proc/sys/kernel/sem limits are per IPC namespace.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// IPC namespaces (ipc_namespaces(7)).

IPC_TEST(SemNamespace, SetsAreInvisibleInAnotherNamespace, "sem.ns-isolation") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 9), SyscallSucceeds());
  const int outer_id = set.id();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        EXPECT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
        EXPECT_THAT(GetVal(outer_id, 0), SyscallFailsWithErrno(EINVAL));
        // The same key is free here, and what is done to it stays here.
        ASSERT_OK_AND_ASSIGN(SemSet inner, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
        ASSERT_THAT(SetVal(inner.id(), 0, 3), SyscallSucceeds());
      },
      {.what = "looking for the outer set from a new IPC namespace"})
      .ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(9));
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(SemNamespace, LimitsArePerNamespace, "sem.ns-limits", "sem.semctl-ipc-info") {
  ASSERT_OK_AND_ASSIGN(limits::SemLimits outer, limits::Sem());
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        limits::SemLimits l{.semmsl = 17, .semmns = 1234, .semopm = 7, .semmni = 11};
        ASSERT_TRUE(WriteSemLimits(l));
        ASSERT_OK_AND_ASSIGN(limits::SemLimits now, limits::Sem());
        EXPECT_EQ(now.semmsl, 17);
        EXPECT_EQ(now.semmns, 1234);
        EXPECT_EQ(now.semopm, 7);
        EXPECT_EQ(now.semmni, 11);
        ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
        EXPECT_EQ(info.semmsl, 17);
        EXPECT_EQ(info.semmns, 1234);
        EXPECT_EQ(info.semopm, 7);
        EXPECT_EQ(info.semmni, 11);
      },
      {.what = "changing /proc/sys/kernel/sem in a new IPC namespace"})
      .ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(limits::SemLimits after, limits::Sem());
  EXPECT_EQ(after.semmsl, outer.semmsl);
  EXPECT_EQ(after.semmns, outer.semmns);
  EXPECT_EQ(after.semopm, outer.semopm);
  EXPECT_EQ(after.semmni, outer.semmni);
}

IPC_TEST(SemNamespace, LoweredSemmslAndSemopmApply, "sem.ns-limits", "sem.semget-einval-nsems",
         "sem.semop-e2big", "sem.semop-semopm-limit") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
        l.semmsl = 8;
        l.semopm = 3;
        ASSERT_TRUE(WriteSemLimits(l));
        EXPECT_THAT(semget(IPC_PRIVATE, 9, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 8));
        EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1), Op(3, 1)}), SyscallFailsWithErrno(E2BIG));
        EXPECT_THAT(GetAll(set.id(), 8), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
        EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1)}), SyscallSucceeds());
        EXPECT_THAT(GetAll(set.id(), 8), ElementsAre(1, 1, 1, 0, 0, 0, 0, 0));
      },
      {.what = "lowering SEMMSL and SEMOPM in a new IPC namespace"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
