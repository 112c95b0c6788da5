// shmctl(2) SHM_LOCK and SHM_UNLOCK: SHM_LOCKED in the mode, RLIMIT_MEMLOCK for unprivileged owners,
// and their ENOMEM and EPERM errors. Rules: suite/rules/shm.ini.
#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "shm_util.h"

namespace ipc {
namespace {

using namespace shm_util;

IPC_TEST(ShmCtl, ShmLockSetsAndShmUnlockClearsShmLocked, "shm.ctl-shm-lock") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  ASSERT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0600) << std::oct << ds.shm_perm.mode;
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));  // still usable
    static_cast<char*>(at.get())[0] = 'l';
  }
  ASSERT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, UnprivilegedOwnerMayLockWithinRlimitMemlock, "shm.ctl-shm-lock-unprivileged",
         "shm.ctl-shm-lock") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        // Room for 64 pages, so that another run locking a page as the same user cannot tip it over.
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 64 * Page()));
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0600) << std::oct << ds.shm_perm.mode;
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK as uid 65534 with RLIMIT_MEMLOCK 64 pages"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, UnprivilegedLockBeyondRlimitMemlockFailsWithEnomem, "shm.ctl-enomem-lock") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 2 * Page()));
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 4 * Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(ENOMEM));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK of 4 pages as uid 65534 with RLIMIT_MEMLOCK 2 pages"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, UnprivilegedLockWithZeroRlimitMemlockFailsWithEperm, "shm.ctl-eperm-lock",
         "shm.ctl-shm-lock-unprivileged") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 0));
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());  // the limit is for SHM_LOCK
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK as uid 65534 with RLIMIT_MEMLOCK 0"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, LockByAnUnprivilegedNonOwnerFailsWithEperm, "shm.ctl-eperm-lock") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());  // for the SHM_UNLOCK attempt
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 64 * Page()));
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(EPERM));
      },
      {.what = "SHM_LOCK and SHM_UNLOCK on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0666) << "the refused SHM_UNLOCK unlocked it";
}

}  // namespace
}  // namespace ipc
