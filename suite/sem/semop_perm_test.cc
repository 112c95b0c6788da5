// semop(2) permissions (EACCES): read permission for wait-for-zero, alter permission for increments and
// decrements, judged by the owner, group or other bits; CAP_IPC_OWNER.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semop(2) permissions (EACCES), judged by the owner, group or other bits of the mode.

IPC_TEST(SemOpPerm, NoPermissionFailsEacces, "sem.semop-eacces") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemOpPerm, ReadOnlyPermissionRefusesAlteringOps, "sem.semop-eacces", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0604));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EACCES));
        // Wait-for-zero needs only read permission.
        EXPECT_THAT(Semop(set.id(), {Op(1, 0)}), SyscallSucceeds());
      },
      {.what = "operating on a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(1, 0));
}

IPC_TEST(SemOpPerm, AlterOnlyPermissionRefusesWaitForZero, "sem.semop-eacces", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EACCES));
        // Write means alter: increments and decrements are allowed.
        EXPECT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
      },
      {.what = "operating on a 0602 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemOpPerm, OwnerIsJudgedByOwnerBits, "sem.semop-eacces", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        // Others may read and alter, the owner may not: the owner bits apply to the owner.
        ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0066));
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating on an own 0066 set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(SemOpPerm, GroupMemberIsJudgedByGroupBits, "sem.semop-eacces", "sem.perm-classes",
         "sem.semctl-ipc-set") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read back (GETVAL) a set whose mode denies its owner");
  ASSERT_OK_AND_ASSIGN(SemSet group_ok, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(SemSet group_denied, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  for (auto [id, mode] : {std::pair{group_ok.id(), 0060}, std::pair{group_denied.id(), 0606}}) {
    ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(id));
    ds.sem_perm.gid = kNobodyGid;
    ds.sem_perm.mode = static_cast<unsigned short>(mode);
    ASSERT_THAT(SetDs(id, ds), SyscallSucceeds());
  }
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(Semop(group_ok.id(), {Op(0, 1)}), SyscallSucceeds());
        // In the group, the group bits (none) apply even though the other bits would allow it.
        EXPECT_THAT(Semop(group_denied.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating as a member of the set's group"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(group_ok.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetVal(group_denied.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemOpPerm, CapIpcOwnerOverridesMode, "sem.semop-eacces", "sem.semctl-eacces") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "operate on a set whose mode grants nothing");
  // Mode 0000 grants nothing, but a caller with CAP_IPC_OWNER is not checked.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0000));
  EXPECT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  EXPECT_THAT(SetVal(set.id(), 0, 0), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
}

}  // namespace
}  // namespace ipc
