// shm_open(3) and shm_unlink(3) permissions: EACCES for a mode that lacks the bits (also for O_TRUNC), for
// another user's object and for unlinking another user's object in the sticky /dev/shm; CAP_DAC_OVERRIDE and
// CAP_FOWNER lift those checks. Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

// A child that drops to nobody creates `name` with `mode` and `size`, and exits; the test's PosixName unlinks
// it.
void CreateAsNobody(const PosixName& name, mode_t mode, size_t size) {
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, size, mode));
      },
      {.what = "creating an object as nobody"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, OwnerWithoutTheModeBitsGetsEacces, "pshm.open-eacces") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  PosixName readonly(PosixIpcKind::kSharedMemory, "perm-0400");
  PosixName none(PosixIpcKind::kSharedMemory, "perm-0000");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(readonly, Page(), 0400));
        ASSERT_OK_AND_ASSIGN(FileDescriptor b, CreateObject(none, Page(), 0));
        EXPECT_FD_CALL_FAILS(shm_open(readonly.c_str(), O_RDWR, 0), EACCES);
        EXPECT_FD_CALL_FAILS(shm_open(none.c_str(), O_RDONLY, 0), EACCES);
        EXPECT_FD_CALL_FAILS(shm_open(none.c_str(), O_RDWR | O_CREAT, 0600), EACCES);
        // The bits that are there still work.
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(readonly, O_RDONLY));
      },
      {.what = "opening objects whose mode lacks the owner's bits"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, TruncWithoutWritePermissionFailsAndKeepsTheSize, "pshm.open-eacces-trunc") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  PosixName name(PosixIpcKind::kSharedMemory, "perm-trunc");
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, 2 * Page(), 0400));
        ASSERT_THAT(pwrite(a.get(), "k", 1, 0), SyscallSucceedsWithValue(1));
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY | O_TRUNC, 0), EACCES);
        EXPECT_EQ(SizeOf(a.get()), static_cast<off_t>(2 * Page()));
        char ch = 0;
        EXPECT_THAT(pread(a.get(), &ch, 1, 0), SyscallSucceedsWithValue(1));
        EXPECT_EQ(ch, 'k');
      },
      {.what = "O_TRUNC on an object without write permission"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, AnotherUserCannotOpenAnOwnerOnlyObject, "pshm.open-eacces") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to open the object as another user");
  PosixName name(PosixIpcKind::kSharedMemory, "perm-other");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page(), 0600));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY, 0), EACCES);
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR, 0), EACCES);
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR | O_CREAT, 0666), EACCES);
      },
      {.what = "opening root's 0600 object as nobody"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, AnotherUserReadsAWorldReadableObjectButCannotWriteIt, "pshm.open-eacces",
         "pshm.mmap-eacces") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to open the object as another user");
  PosixName name(PosixIpcKind::kSharedMemory, "perm-0644");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page(), 0644));
  ASSERT_THAT(pwrite(a.get(), "r", 1, 0), SyscallSucceedsWithValue(1));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR, 0), EACCES);
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(name, O_RDONLY));
        ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Map(Page(), PROT_READ, MAP_SHARED, r.get()));
        EXPECT_EQ(m.get()[0], 'r');
        EXPECT_THAT(mmap(nullptr, Page(), PROT_READ | PROT_WRITE, MAP_SHARED, r.get(), 0),
                    SyscallFailsWithErrno(EACCES));
      },
      {.what = "opening root's 0644 object as nobody"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, CapDacOverrideOpensAnotherUsersOwnerOnlyObject, "pshm.open-cap-dac-override") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to create the object as another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_DAC_OVERRIDE, "open another user's 0600 object read-write");
  PosixName name(PosixIpcKind::kSharedMemory, "perm-override");
  CreateAsNobody(name, 0600, Page());
  {
    ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDWR));
    struct stat st;
    ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
    EXPECT_EQ(st.st_uid, kNobodyUid);
  }
  // The same uid 0 without the capability is refused.
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_DAC_OVERRIDE)) << DescribeErrno(errno);
        ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_DAC_READ_SEARCH)) << DescribeErrno(errno);
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR, 0), EACCES);
        EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY, 0), EACCES);
      },
      {.what = "opening nobody's 0600 object without CAP_DAC_OVERRIDE"});
  c.ExpectExited(0);
}

IPC_TEST(PshmOpenPerm, AnotherUserCannotUnlinkAnObjectInStickyDevShm, "pshm.unlink-eacces") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to unlink the object as another user");
  struct stat dir;
  ASSERT_THAT(stat(kDevShm, &dir), SyscallSucceeds());
  if (!(dir.st_mode & S_ISVTX))
    GTEST_SKIP() << "/dev/shm is not sticky here (mode " << std::oct << dir.st_mode << ")";
  // Owned by uid 65534 (or by an id this user namespace does not map, which shows as the overflow uid 65534):
  // the unprivileged child might be its owner, whom the sticky bit lets unlink anything.
  if (dir.st_uid == kNobodyUid)
    GTEST_SKIP()
        << "/dev/shm shows as owned by uid 65534 (nobody, or an id unmapped in this user namespace), "
           "the unprivileged child's uid: the sticky-bit refusal cannot be told apart";
  PosixName name(PosixIpcKind::kSharedMemory, "perm-unlink");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, Page(), 0666));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(shm_unlink(name.c_str()), SyscallFailsWithErrno(EACCES));
      },
      {.what = "unlinking root's object as nobody"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDONLY));
}

IPC_TEST(PshmOpenPerm, CapFownerUnlinksAnotherUsersObject, "pshm.unlink-cap-fowner") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to create the object as another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_FOWNER, "unlink another user's object in the sticky /dev/shm");
  PosixName name(PosixIpcKind::kSharedMemory, "perm-fowner");
  CreateAsNobody(name, 0600, 0);
  EXPECT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY, 0), ENOENT);
}

}  // namespace
}  // namespace ipc
