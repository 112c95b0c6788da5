// shmctl(2) IPC_STAT and IPC_SET: what they report and change, who may IPC_SET and IPC_RMID, and the
// EPERM, EACCES, EFAULT and EINVAL errors of those commands. Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmCtl, IpcStatReportsTheCreatorPidNotTheCaller, "shm.ctl-ipc-stat") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(SegmentFromChild made,
                       CreateSegmentInChild(12345, IPC_CREAT | 0604, "creating a segment in a child"));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(made.seg.id()));
  EXPECT_EQ(ds.shm_cpid, made.creator);
  EXPECT_EQ(ds.shm_segsz, 12345u);
  EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_nattch, 0u);
}

// The one test that waits for the clock: shm_ctime only shows that IPC_SET set it once it differs from the
// creation time, and the kernel keeps whole seconds.
IPC_TEST(ShmCtl, IpcSetAttachAndDetachStampTheCurrentTime, "shm.ctl-ipc-set", "shm.at-updates-ds",
         "shm.dt-updates-ds") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds created, Stat(seg.id()));
  ASSERT_TRUE(WaitForWallClockPast(created.shm_ctime));
  time_t before = ::time(nullptr);
  struct shmid_ds set = created;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &set), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(at.Detach(), SyscallSucceeds());
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_GT(ds.shm_ctime, created.shm_ctime) << "IPC_SET did not update shm_ctime";
  EXPECT_GE(ds.shm_ctime, before);
  EXPECT_LE(ds.shm_ctime, after);
  EXPECT_GE(ds.shm_atime, before);
  EXPECT_LE(ds.shm_atime, after);
  EXPECT_GE(ds.shm_dtime, before);
  EXPECT_LE(ds.shm_dtime, after);
}

IPC_TEST(ShmCtl, IpcSetChangesOwnerGroupAndPermissionBits, "shm.ctl-ipc-set") {
  IPC_REQUIRE_MAPPED_IDS(kOtherUid, kNobodyGid);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.uid = kOtherUid;
  ds.shm_perm.gid = kNobodyGid;
  ds.shm_perm.mode = 0640;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.uid, kOtherUid);
  EXPECT_EQ(after.shm_perm.gid, kNobodyGid);
  EXPECT_EQ(after.shm_perm.mode, 0640) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.cuid, ::geteuid()) << "IPC_SET changed the creator";
  EXPECT_EQ(after.shm_perm.cgid, ::getegid()) << "IPC_SET changed the creator's group";
  // The creator keeps the right to IPC_SET after giving the segment away.
  after.shm_perm.mode = 0600;
  EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &after), SyscallSucceeds());
}

IPC_TEST(ShmCtl, IpcSetIgnoresEverythingButUidGidAndTheLowNineModeBits, "shm.ctl-ipc-set") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 3 * Page(), IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds before, Stat(seg.id()));
  struct shmid_ds ds = before;
  ds.shm_perm.mode = 07777 | SHM_DEST | SHM_LOCKED;
  ds.shm_perm.cuid = kOtherUid;
  ds.shm_perm.cgid = kOtherUid;
  ds.shm_segsz = 1;
  ds.shm_cpid = 1;
  ds.shm_lpid = 1;
  ds.shm_nattch = 42;
  ds.shm_atime = 12345;
  ds.shm_dtime = 12345;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.mode, 0777) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.cuid, before.shm_perm.cuid);
  EXPECT_EQ(after.shm_perm.cgid, before.shm_perm.cgid);
  EXPECT_EQ(after.shm_segsz, 3 * Page());
  EXPECT_EQ(after.shm_cpid, before.shm_cpid);
  EXPECT_EQ(after.shm_lpid, before.shm_lpid);
  EXPECT_EQ(after.shm_nattch, 1u);
  EXPECT_EQ(after.shm_atime, before.shm_atime);
  EXPECT_EQ(after.shm_dtime, before.shm_dtime);
  EXPECT_EQ(after.shm_perm.__key, before.shm_perm.__key);
}

IPC_TEST(ShmCtl, OwnerWhoIsNotTheCreatorMayIpcSetAndIpcRmid, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("to give the segment to another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.uid = kNobodyUid;
  ASSERT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(struct shmid_ds mine, Stat(id));
        mine.shm_perm.mode = 0640;
        EXPECT_THAT(::shmctl(id, IPC_SET, &mine), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(mine, Stat(id));
        EXPECT_EQ(mine.shm_perm.mode, 0640) << std::oct << mine.shm_perm.mode;
        EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the owner (uid 65534) of a root-created segment"});
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL)) << "IPC_RMID did not remove it";
}

IPC_TEST(ShmCtl, CreatorWhoIsNoLongerTheOwnerMayIpcSetAndIpcRmid, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("to create as one user and give the segment to another");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) another user's 0600 segment");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "give away (IPC_SET) a segment it neither owns nor made");
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, CreateShmSegmentAsNobody(Page(), 0600));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.uid = kOtherUid;
  ASSERT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  Child setter = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        struct shmid_ds mine = ds;
        mine.shm_perm.mode = 0604;
        EXPECT_THAT(::shmctl(id, IPC_SET, &mine), SyscallSucceeds());
      },
      {.what = "IPC_SET as the creator (uid 65534) of a segment owned by uid 4321"});
  setter.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_perm.uid, kOtherUid);
  Child remover = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_RMID as the creator (uid 65534) of a segment owned by uid 4321"});
  remover.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, IpcSetByAnotherUserFailsWithEperm, "shm.ctl-eperm-set-rmid") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds before, Stat(seg.id()));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));  // reading is allowed (0666)
        ds.shm_perm.mode = 0777;
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
        ds.shm_perm.uid = kNobodyUid;
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_SET on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.mode, 0666) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.uid, before.shm_perm.uid);
  EXPECT_EQ(after.shm_ctime, before.shm_ctime);
}

IPC_TEST(ShmCtl, IpcRmidByAnotherUserFailsWithEperm, "shm.ctl-eperm-set-rmid") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(seg.id(), IPC_RMID, nullptr), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_RMID on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0666) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, PrivilegedCallerMayIpcSetAndIpcRmidAnySegment, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("to create a segment as another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_ADMIN, "IPC_SET and IPC_RMID another user's segment");
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, CreateShmSegmentAsNobody(Page(), 0600));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.mode = 0644;
  EXPECT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0644) << std::oct << ds.shm_perm.mode;
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, IpcStatWithoutReadPermissionFailsWithEacces, "shm.ctl-eacces", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment hidden, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0662));
  ASSERT_OK_AND_ASSIGN(ShmSegment shown, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        struct shmid_ds ds;
        EXPECT_THAT(::shmctl(hidden.id(), IPC_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(shown.id(), IPC_STAT, &ds), SyscallSucceeds());
        EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
      },
      {.what = "IPC_STAT as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, CapIpcOwnerBypassesTheReadCheck, "shm.ctl-eacces", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read a 0000 segment's shmid_ds");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0000));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 777u);
  EXPECT_EQ(ds.shm_perm.mode, 0);
}

IPC_TEST(ShmCtl, IpcStatIntoAnInaccessibleBufferFailsWithEfault, "shm.ctl-efault") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  // In a child: a library that dereferenced buf itself would die of SIGSEGV there, a visible failure.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(::shmctl(seg.id(), IPC_STAT, bad.as<struct shmid_ds>()), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_STAT into a PROT_NONE page"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, IpcSetFromAnInaccessibleBufferFailsWithEfault, "shm.ctl-efault") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0640));
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, bad.as<struct shmid_ds>()), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_SET from a PROT_NONE page"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, NegativeOrStaleIdentifierFailsWithEinval, "shm.ctl-einval-id") {
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  EXPECT_THAT(::shmctl(-1, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, SHM_LOCK, nullptr), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, SHM_LOCK, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, SHM_UNLOCK, nullptr), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, UnknownCommandFailsWithEinval, "shm.ctl-einval-cmd") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  for (int cmd : {-1, 4, 10, 16, 12345}) {
    EXPECT_THAT(::shmctl(seg.id(), cmd, &ds), SyscallFailsWithErrno(EINVAL)) << "cmd " << cmd;
  }
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));  // and the segment is untouched
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
}

}  // namespace
}  // namespace ipc
