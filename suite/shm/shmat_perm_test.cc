// shmat(2) permissions: read, write and execute (SHM_EXEC) bits by owner, group and others, EACCES,
// and CAP_IPC_OWNER. Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmAt, ReadOnlyAttachNeedsOnlyReadPermission, "shm.at-rdonly-perm", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0644));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0644 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmAt, WritePermissionAloneAllowsNoAttach, "shm.at-rdonly-perm", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_RDONLY, EACCES);
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0602 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmAt, NoPermissionFailsWithEacces, "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0660));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_RDONLY, EACCES);
      },
      {.what = "attaching a 0660 root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_atime, 0);
}

IPC_TEST(ShmAt, OwnerIsJudgedByTheOwnerBitsOnly, "shm.at-eacces", "shm.ctl-ipc-set") {
  IPC_REQUIRE_OTHER_USERS("to give the segment to another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) a segment whose mode denies its owner");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0066));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.uid = kNobodyUid;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  // Group and others may read and write, the owner may not: the owner class alone decides.
  Child denied = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0066 segment as its owner"});
  denied.ExpectExited(0);
  ds.shm_perm.mode = 0600;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child allowed = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
      },
      {.what = "attaching a 0600 segment as its owner"});
  allowed.ExpectExited(0);
}

IPC_TEST(ShmAt, GroupMemberIsJudgedByTheGroupBits, "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0606));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.gid = kNobodyGid;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child denied = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);  // others may, the group may not
      },
      {.what = "attaching a 0606 segment as a member of its group"});
  denied.ExpectExited(0);
  ds.shm_perm.mode = 0060;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child allowed = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
      },
      {.what = "attaching a 0060 segment as a member of its group"});
  allowed.ExpectExited(0);
}

IPC_TEST(ShmAt, CapIpcOwnerBypassesAttachPermissions, "shm.at-eacces") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "attach a 0000 segment");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0000));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_EQ(MappingPerms(rw.get()), "rw-s");
}

IPC_TEST(ShmAt, ShmExecMapsTheSegmentExecutable, "shm.at-exec") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0700));
  ASSERT_OK_AND_ASSIGN(ShmAttachment plain, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment exec, ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC));
  ASSERT_OK_AND_ASSIGN(ShmAttachment exec_ro,
                       ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC | SHM_RDONLY));
  EXPECT_EQ(MappingPerms(plain.get()), "rw-s");
  EXPECT_EQ(MappingPerms(exec.get()), "rwxs");
  EXPECT_EQ(MappingPerms(exec_ro.get()), "r-xs");
}

// shmop(2) says SHM_EXEC needs execute permission (shmctl(2) says it does not; Linux follows shmop(2)).
IPC_TEST(ShmAt, ShmExecNeedsExecutePermission, "shm.at-exec", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment rw, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(ShmSegment rwx, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0777));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(rw.id(), nullptr, SHM_EXEC, EACCES);
        EXPECT_SHMAT_FAILS(rw.id(), nullptr, SHM_EXEC | SHM_RDONLY, EACCES);
        ASSERT_OK_AND_ASSIGN(ShmAttachment plain, ShmAttachment::Attach(rw.id()));  // no x needed without it
        ASSERT_OK_AND_ASSIGN(ShmAttachment exec, ShmAttachment::Attach(rwx.id(), nullptr, SHM_EXEC));
        EXPECT_EQ(MappingPerms(exec.get()), "rwxs");
      },
      {.what = "attaching with SHM_EXEC as uid 65534"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
