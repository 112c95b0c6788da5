// semctl(2) permissions: EACCES for each command that needs read or alter permission, and
// SEM_STAT_ANY, which needs none.
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EACCES for each command that needs read or alter permission.

class SemCtlEacces : public ::testing::TestWithParam<CommandCase> {};

IPC_TEST_P(SemCtlEacces, WithoutPermissionFailsEacces, "sem.semctl-eacces") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  const int cmd = GetParam().cmd;
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0600));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallFailsWithErrno(EACCES));
      },
      {.what = std::string("semctl ") + GetParam().name + " on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
  // Nothing was changed, and the same call is fine for the owner.
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(0, 0, 0));
  EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallSucceeds());
}

INSTANTIATE_TEST_SUITE_P(Commands, SemCtlEacces,
                         ::testing::Values(CommandCase{"GETALL", GETALL}, CommandCase{"GETNCNT", GETNCNT},
                                           CommandCase{"GETPID", GETPID}, CommandCase{"GETVAL", GETVAL},
                                           CommandCase{"GETZCNT", GETZCNT}, CommandCase{"IPC_STAT", IPC_STAT},
                                           CommandCase{"SEM_STAT", SEM_STAT}, CommandCase{"SETALL", SETALL},
                                           CommandCase{"SETVAL", SETVAL}),
                         CommandName);

IPC_TEST(SemCtlPerm, ReadPermissionAllowsQueriesNotChanges, "sem.semctl-eacces", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0604));
  ASSERT_THAT(SetAll(set.id(), {1, 2, 3}), SyscallSucceeds());
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        for (int cmd : {GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_STAT, SEM_STAT})
          EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallSucceeds()) << "cmd " << cmd;
        EXPECT_THAT(CallCommand(set.id(), index, SETVAL), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(CallCommand(set.id(), index, SETALL), SyscallFailsWithErrno(EACCES));
      },
      {.what = "semctl on a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
}

IPC_TEST(SemCtlPerm, AlterPermissionAllowsChangesNotQueries, "sem.semctl-eacces", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
        EXPECT_THAT(SetAll(set.id(), {5, 6, 7}), SyscallSucceeds());
        EXPECT_THAT(GetVal(set.id(), 0), SyscallFailsWithErrno(EACCES));
        EXPECT_EQ(Stat(set.id()).error_number(), EACCES);
      },
      {.what = "semctl on a 0602 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(5, 6, 7));
}

IPC_TEST(SemCtlPerm, SemStatAnyIgnoresReadPermission, "sem.semctl-sem-stat-any") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 4, IPC_CREAT | 0600));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        semid_ds ds{};
        semun arg{};
        arg.buf = &ds;
        EXPECT_THAT(semctl(index, 0, SEM_STAT_ANY, arg), SyscallSucceedsWithValue(set.id()));
        EXPECT_EQ(ds.sem_nsems, 4u);
        EXPECT_EQ(ds.sem_perm.mode & 0777, 0600u);
        EXPECT_EQ(ds.sem_perm.uid, 0u);
      },
      {.what = "SEM_STAT_ANY on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
