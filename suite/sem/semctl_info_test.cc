// semctl(2) IPC_INFO, SEM_INFO and SEM_STAT: limits, usage counts, the highest used index, SEMVMX.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semctl(2): IPC_INFO, SEM_INFO, SEM_STAT.

IPC_TEST(SemCtlInfo, IpcInfoMatchesProcSysKernelSem, "sem.semctl-ipc-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
  EXPECT_EQ(info.semmsl, l.semmsl);
  EXPECT_EQ(info.semmns, l.semmns);
  EXPECT_EQ(info.semopm, l.semopm);
  EXPECT_EQ(info.semmni, l.semmni);
}

IPC_TEST(SemCtlInfo, SemvmxIs32767, "sem.semop-semvmx") {
  ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
  EXPECT_EQ(info.semvmx, 32767);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(SetVal(set.id(), 0, 32767), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, 32768), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(ERANGE));
}

IPC_TEST(SemCtlInfo, SemInfoCountsSetsAndSemaphores, "sem.semctl-sem-info") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(seminfo empty, Info(SEM_INFO));
        EXPECT_EQ(empty.semusz, 0);
        EXPECT_EQ(empty.semaem, 0);
        ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 3));
        ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 5));
        ASSERT_OK_AND_ASSIGN(seminfo two, Info(SEM_INFO));
        EXPECT_EQ(two.semusz, 2);
        EXPECT_EQ(two.semaem, 8);
        ASSERT_THAT(a.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(seminfo one, Info(SEM_INFO));
        EXPECT_EQ(one.semusz, 1);
        EXPECT_EQ(one.semaem, 5);
        // The limits are reported as by IPC_INFO.
        ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
        EXPECT_EQ(one.semmsl, l.semmsl);
        EXPECT_EQ(one.semmns, l.semmns);
        EXPECT_EQ(one.semopm, l.semopm);
        EXPECT_EQ(one.semmni, l.semmni);
      },
      {.what = "counting sets in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(SemCtlInfo, IpcInfoUsageFieldsDoNotCountSets, "sem.semctl-ipc-info", "sem.semctl-sem-info") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(seminfo before, Info(IPC_INFO));
        ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 6));
        ASSERT_OK_AND_ASSIGN(seminfo after, Info(IPC_INFO));
        // IPC_INFO's semusz and semaem are limits, not usage (only SEM_INFO reports usage there).
        EXPECT_EQ(after.semusz, before.semusz);
        EXPECT_EQ(after.semaem, before.semaem);
        ASSERT_OK_AND_ASSIGN(seminfo usage, Info(SEM_INFO));
        EXPECT_EQ(usage.semusz, 1);
        EXPECT_EQ(usage.semaem, 6);
      },
      {.what = "IPC_INFO with and without sets in a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(SemCtlInfo, IpcInfoReturnsHighestIndexAndSemStatFindsEverySet, "sem.semctl-ipc-info",
         "sem.semctl-sem-stat", "sem.semctl-einval-sem-stat") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
        ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 2));
        ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 3));
        int max_index = -1;
        ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO, &max_index));
        int sem_info_max = -1;
        ASSERT_OK_AND_ASSIGN(seminfo usage, Info(SEM_INFO, &sem_info_max));
        EXPECT_EQ(sem_info_max, max_index);
        EXPECT_EQ(usage.semusz, 3);
        EXPECT_EQ(info.semmni, usage.semmni);
        ASSERT_GE(max_index, 2);
        std::set<int> found;
        for (int i = 0; i <= max_index; ++i) {
          semid_ds ds{};
          semun arg{};
          arg.buf = &ds;
          int id = semctl(i, 0, SEM_STAT, arg);
          if (id < 0) {
            EXPECT_EQ(errno, EINVAL) << "index " << i;
            continue;
          }
          found.insert(id);
          // The semid_ds is the one of the set whose id is returned.
          ASSERT_OK_AND_ASSIGN(semid_ds direct, Stat(id));
          EXPECT_EQ(ds.sem_nsems, direct.sem_nsems);
        }
        EXPECT_EQ(found, (std::set<int>{a.id(), b.id(), c.id()}));
        // The highest used entry is in use; the one after it is not.
        EXPECT_THAT(CallCommand(-1, max_index, SEM_STAT), SyscallSucceeds());
        EXPECT_THAT(CallCommand(-1, max_index + 1, SEM_STAT), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "walking the set table of a new IPC namespace"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
