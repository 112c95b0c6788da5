// The msg_next_id, sem_next_id and shm_next_id sysctls (Linux's admin-guide/sysctl/kernel.rst; built with
// CONFIG_CHECKPOINT_RESTORE): -1 by default; a value N >= 0 asks that the next object of that kind get id N,
// and the kernel sets the sysctl back to -1 once it has used it. They belong to the IPC namespace, and
// writing them needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) over the namespace's user namespace. Every
// write happens in a new IPC namespace of the test's own (SpawnInNewIpcNamespace), so the host's values
// are never touched. Rules: suite/rules/sysv.ini.
#include <fcntl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

constexpr int kSeqMultiplier = 32768;  // ipc ids are seq * SEQ_MULTIPLIER + index (IPCMNI)

std::string NextIdPath(const char* kind) { return std::string("/proc/sys/kernel/") + kind + "_next_id"; }

#define IPC_REQUIRE_NEXT_ID_SYSCTLS()                                                      \
  do {                                                                                     \
    if (access("/proc/sys/kernel/shm_next_id", F_OK) != 0)                                 \
      GTEST_SKIP() << "needs /proc/sys/kernel/{msg,sem,shm}_next_id (a kernel built with " \
                      "CONFIG_CHECKPOINT_RESTORE)";                                        \
  } while (0)

int CreateShm() { return shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600); }
int CreateMsg() { return msgget(IPC_PRIVATE, IPC_CREAT | 0600); }
int CreateSem() { return semget(IPC_PRIVATE, 1, IPC_CREAT | 0600); }

// In a new IPC namespace: ask for id `want` and check that the next object gets it and that the sysctl
// reads -1 again. Objects made in the namespace die with it.
void ExpectNextIdIsUsed(const char* kind, int (*create)(), int want) {
  IPC_REQUIRE_NEXT_ID_SYSCTLS();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long host_before, limits::ReadProcSysLong(NextIdPath(kind)));
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(limits::WriteProcSys(NextIdPath(kind), std::to_string(want)));
        ASSERT_OK_AND_ASSIGN(long now, limits::ReadProcSysLong(NextIdPath(kind)));
        EXPECT_EQ(now, want);
        EXPECT_THAT(create(), SyscallSucceedsWithValue(want)) << kind << "_next_id " << want;
        ASSERT_OK_AND_ASSIGN(long after, limits::ReadProcSysLong(NextIdPath(kind)));
        EXPECT_EQ(after, -1) << "set back to -1 once used";
        const int next = create();
        ASSERT_THAT(next, SyscallSucceeds());
        EXPECT_NE(next, want);
      },
      {.what = std::string("asking for the next ") + kind + " id in a new IPC namespace"})
      .ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(long host_after, limits::ReadProcSysLong(NextIdPath(kind)));
  EXPECT_EQ(host_after, host_before) << "the sysctl belongs to the IPC namespace";
}

IPC_TEST(SysvNextId, AllThreeAreMinusOneInANewNamespace, "sysv.next-id-default") {
  IPC_REQUIRE_NEXT_ID_SYSCTLS();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  SpawnInNewIpcNamespace(
      [&] {
        for (const char* kind : {"msg", "sem", "shm"}) {
          ASSERT_OK_AND_ASSIGN(long v, limits::ReadProcSysLong(NextIdPath(kind)));
          EXPECT_EQ(v, -1) << kind << "_next_id";
        }
      },
      {.what = "reading the *_next_id sysctls of a new IPC namespace"})
      .ExpectExited(0);
}

IPC_TEST(SysvNextId, ShmNextIdGivesTheNextSegmentThatId, "sysv.next-id") {
  ExpectNextIdIsUsed("shm", CreateShm, 3 * kSeqMultiplier + 5);
}

IPC_TEST(SysvNextId, MsgNextIdGivesTheNextQueueThatId, "sysv.next-id") {
  ExpectNextIdIsUsed("msg", CreateMsg, 2 * kSeqMultiplier + 9);
}

IPC_TEST(SysvNextId, SemNextIdGivesTheNextSetThatId, "sysv.next-id") {
  ExpectNextIdIsUsed("sem", CreateSem, kSeqMultiplier + 3);
}

IPC_TEST(SysvNextId, EachSysctlAppliesToItsOwnKindOnly, "sysv.next-id") {
  IPC_REQUIRE_NEXT_ID_SYSCTLS();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  const int want = 4 * kSeqMultiplier + 11;
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_TRUE(limits::WriteProcSys(NextIdPath("sem"), std::to_string(want)));
        const int q = CreateMsg(), s = CreateShm();
        ASSERT_THAT(q, SyscallSucceeds());
        ASSERT_THAT(s, SyscallSucceeds());
        EXPECT_NE(q, want);
        EXPECT_NE(s, want);
        ASSERT_OK_AND_ASSIGN(long still, limits::ReadProcSysLong(NextIdPath("sem")));
        EXPECT_EQ(still, want) << "a queue or segment does not use sem_next_id";
        EXPECT_THAT(CreateSem(), SyscallSucceedsWithValue(want));
      },
      {.what = "setting sem_next_id and creating other kinds first"})
      .ExpectExited(0);
}

IPC_TEST(SysvNextId, WritingNeedsCapSysAdminOverTheNamespace, "sysv.next-id-privilege") {
  IPC_REQUIRE_NEXT_ID_SYSCTLS();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  SpawnInNewIpcNamespace(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        for (const char* kind : {"msg", "sem", "shm"}) {
          const int fd = open(NextIdPath(kind).c_str(), O_WRONLY);
          EXPECT_THAT(fd, SyscallFailsWithErrno(EACCES)) << kind
                                                         << "_next_id opened for writing without "
                                                            "CAP_SYS_ADMIN";
          if (fd >= 0) {
            EXPECT_THAT(write(fd, "7", 1), SyscallFails())
                << kind << "_next_id written without CAP_SYS_ADMIN";
            close(fd);
          }
          ASSERT_OK_AND_ASSIGN(long v, limits::ReadProcSysLong(NextIdPath(kind)));
          EXPECT_EQ(v, -1) << kind << "_next_id is readable and unchanged";
        }
      },
      {.what = "writing the *_next_id sysctls without capabilities"})
      .ExpectExited(0);
}

}  // namespace
}  // namespace ipc
