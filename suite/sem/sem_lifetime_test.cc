// A semaphore set outlives the process that created it: it exists, with its values, until IPC_RMID
// removes it (semctl(2) IPC_RMID); the exit of its creator and of every process that used it changes
// nothing. Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

IPC_TEST(SemLifetime, SetOutlivesItsCreatorWithItsValues, "sem.persist-until-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyA + 0x100;
  Child creator = Child::Spawn(
      [&] {
        const int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_THAT(SetAll(id, {4, 5, 6}), SyscallSucceeds());
        ASSERT_THAT(Semop(id, {Op(1, -2)}), SyscallSucceeds());
      },
      {.what = "creating a set, setting its values and exiting"});
  const pid_t creator_pid = creator.pid();
  creator.ExpectExited(0);
  const int id = semget(key, 0, 0);
  ASSERT_THAT(id, SyscallSucceeds()) << "the set is gone with its creator";
  SemSet set = SemSet::Adopt(id);
  EXPECT_EQ(GetAll(id, 3), (std::vector<unsigned short>{4, 3, 6}));
  EXPECT_THAT(GetPid(id, 1), SyscallSucceedsWithValue(creator_pid));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(id));
  EXPECT_EQ(ds.sem_nsems, 3u);
}

IPC_TEST(SemLifetime, OnlyIpcRmidRemovesTheSet, "sem.persist-until-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyA + 0x101;
  Child creator = Child::Spawn(
      [&] {
        const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_THAT(SetVal(id, 0, 2), SyscallSucceeds());
      },
      {.what = "creating a set and exiting"});
  creator.ExpectExited(0);
  const int id = semget(key, 0, 0);
  ASSERT_THAT(id, SyscallSucceeds());
  SemSet set = SemSet::Adopt(id);
  Child user = Child::Spawn([&] { EXPECT_THAT(Semop(id, {Op(0, 1)}), SyscallSucceeds()); },
                            {.what = "incrementing the semaphore and exiting"});
  user.ExpectExited(0);
  EXPECT_THAT(GetVal(id, 0), SyscallSucceedsWithValue(3)) << "without SEM_UNDO the exit undoes nothing";
  Child remover = Child::Spawn([&] { EXPECT_THAT(semctl(id, 0, IPC_RMID), SyscallSucceeds()); },
                               {.what = "removing the set"});
  remover.ExpectExited(0);
  EXPECT_THAT(semget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_TRUE(set.ConfirmRemoved());
}

}  // namespace
}  // namespace ipc
