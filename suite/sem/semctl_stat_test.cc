// semctl(2) IPC_STAT and IPC_SET: time stamps (sem_otime, sem_ctime), changing mode and owner, who may
// IPC_SET and IPC_RMID (EPERM).
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semctl(2): IPC_STAT, IPC_SET, times.

IPC_TEST(SemCtlStat, OtimeSetBySuccessfulSemopOnly, "sem.semop-sempid-otime", "sem.semctl-ipc-stat") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  // A failed semop and semctl calls do not count as operations.
  ASSERT_THAT(Semop(set.id(), {Op(0, -2, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  ASSERT_OK_AND_ASSIGN(semid_ds before, Stat(set.id()));
  EXPECT_EQ(before.sem_otime, 0);
  time_t t0 = time(nullptr);
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  time_t t1 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_GE(after.sem_otime, t0);
  EXPECT_LE(after.sem_otime, t1);
}

IPC_TEST(SemCtlStat, WaitForZeroSetsOtime, "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  time_t t0 = time(nullptr);
  ASSERT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
  time_t t1 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_GE(ds.sem_otime, t0);
  EXPECT_LE(ds.sem_otime, t1);
}

IPC_TEST(SemCtlStat, CtimeChangesOnlyForSetOperations, "sem.semctl-ctime", "sem.semctl-ipc-set") {
  ASSERT_OK_AND_ASSIGN(SemSet by_set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet by_setval, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet by_setall, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet untouched, SemSet::Create(IPC_PRIVATE, 2));
  time_t created = 0;
  for (const SemSet* s : {&by_set, &by_setval, &by_setall, &untouched}) {
    ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(s->id()));
    created = std::max(created, ds.sem_ctime);
  }
  // Time stamps have a resolution of one second: let the clock move on so that a change is visible.
  ASSERT_TRUE(WaitForWallClockPast(created));
  time_t t0 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(by_set.id()));
  ASSERT_THAT(SetDs(by_set.id(), ds), SyscallSucceeds());
  ASSERT_THAT(SetVal(by_setval.id(), 1, 3), SyscallSucceeds());
  ASSERT_THAT(SetAll(by_setall.id(), {1, 2}), SyscallSucceeds());
  // semop and the read-only semctl commands are not changes of the set.
  ASSERT_THAT(Semop(untouched.id(), {Op(0, 1), Op(1, 0)}), SyscallSucceeds());
  ASSERT_THAT(GetVal(untouched.id(), 0), SyscallSucceeds());
  ASSERT_THAT(GetPid(untouched.id(), 0), SyscallSucceeds());
  EXPECT_EQ(GetAll(untouched.id(), 2).size(), 2u);
  time_t t1 = time(nullptr);
  for (const SemSet* s : {&by_set, &by_setval, &by_setall}) {
    ASSERT_OK_AND_ASSIGN(semid_ds now, Stat(s->id()));
    EXPECT_GE(now.sem_ctime, t0) << "set " << s->id();
    EXPECT_LE(now.sem_ctime, t1) << "set " << s->id();
  }
  ASSERT_OK_AND_ASSIGN(semid_ds u, Stat(untouched.id()));
  EXPECT_LT(u.sem_ctime, t0);
}

IPC_TEST(SemCtlSet, ModeChangeTakesEffect, "sem.semctl-ipc-set", "sem.perm-classes") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 6), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ds.sem_perm.mode = 0604;
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode & 0777, 0604u);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(6));
        EXPECT_THAT(SetVal(set.id(), 0, 1), SyscallFailsWithErrno(EACCES));
      },
      {.what = "reading a set whose mode was changed to 0604"});
  c.ExpectExited(0);
}

IPC_TEST(SemCtlSet, OwnerChangeKeepsCreator, "sem.semctl-ipc-set") {
  IPC_REQUIRE_MAPPED_IDS(kNobodyUid, kNobodyGid);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0640));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  const uid_t creator = ds.sem_perm.cuid;
  const gid_t creator_group = ds.sem_perm.cgid;
  ds.sem_perm.uid = kNobodyUid;
  ds.sem_perm.gid = kNobodyGid;
  ds.sem_perm.mode = 0660;
  ds.sem_nsems = 99;  // not settable
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.uid, kNobodyUid);
  EXPECT_EQ(after.sem_perm.gid, kNobodyGid);
  EXPECT_EQ(after.sem_perm.mode & 0777, 0660u);
  EXPECT_EQ(after.sem_perm.cuid, creator);
  EXPECT_EQ(after.sem_perm.cgid, creator_group);
  EXPECT_EQ(after.sem_nsems, 2u);
}

IPC_TEST(SemCtlSet, NewOwnerMaySetAndRemove, "sem.semctl-ipc-set-rmid-owner") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ds.sem_perm.uid = kNobodyUid;
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(semid_ds mine, Stat(set.id()));
        mine.sem_perm.mode = 0640;
        EXPECT_THAT(SetDs(set.id(), mine), SyscallSucceeds());
        EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the set's new owner"});
  c.ExpectExited(0);
  EXPECT_TRUE(set.ConfirmRemoved());
}

IPC_TEST(SemCtlSet, CreatorMaySetAndRemoveAfterGivingAway, "sem.semctl-ipc-set-rmid-owner") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) another user's 0600 set");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "give away (IPC_SET) a set it neither owns nor created");
  ASSERT_OK_AND_ASSIGN(SemSet set, CreateSemSetAsNobody(1, 0600));
  // Root gives the set to a third user; nobody remains the creator.
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ds.sem_perm.uid = 4321;
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        semid_ds mine = ds;
        mine.sem_perm.mode = 0644;
        EXPECT_THAT(SetDs(set.id(), mine), SyscallSucceeds());
        EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the set's creator"});
  c.ExpectExited(0);
  EXPECT_TRUE(set.ConfirmRemoved());
}

IPC_TEST(SemCtlSet, PrivilegedCallerMaySetAndRemoveForeignSet, "sem.semctl-ipc-set-rmid-owner") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) another user's 0600 set");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "IPC_SET and IPC_RMID a set it neither owns nor created");
  ASSERT_OK_AND_ASSIGN(SemSet set, CreateSemSetAsNobody(1, 0600));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ASSERT_EQ(ds.sem_perm.cuid, kNobodyUid);
  ds.sem_perm.mode = 0640;
  EXPECT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallSucceeds());
  EXPECT_TRUE(set.ConfirmRemoved());
}

IPC_TEST(SemCtlSet, NonOwnerIpcSetFailsEperm, "sem.semctl-eperm") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  // Mode 0666 gives others every permission, but IPC_SET is for the owner and creator only.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        semid_ds change = ds;
        change.sem_perm.mode = 0600;
        EXPECT_THAT(SetDs(set.id(), change), SyscallFailsWithErrno(EPERM));
        change = ds;
        change.sem_perm.uid = kNobodyUid;
        EXPECT_THAT(SetDs(set.id(), change), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_SET on root's set as an unprivileged user"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode & 0777, 0666u);
  EXPECT_EQ(after.sem_perm.uid, ds.sem_perm.uid);
}

IPC_TEST(SemCtlSet, NonOwnerIpcRmidFailsEperm, "sem.semctl-eperm") {
  IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0666));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_RMID on root's set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
}

}  // namespace
}  // namespace ipc
