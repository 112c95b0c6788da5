// shm_unlink(3): the name goes, the object lives on for its descriptors and mappings, a new shm_open O_CREAT
// makes a new empty object, and ENOENT. Permissions: pshm_perm_test.cc. Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

IPC_TEST(PshmUnlink, RemovesTheName, "pshm.unlink-name") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-name");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDONLY, 0), ENOENT);
  EXPECT_FD_CALL_FAILS(shm_open(name.c_str(), O_RDWR, 0), ENOENT);
  struct stat st;
  EXPECT_THAT(stat(DevShmPath(name).c_str(), &st), SyscallFailsWithErrno(ENOENT));
  ASSERT_THAT(fstat(fd.get(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_nlink, 0u);
}

IPC_TEST(PshmUnlink, MappedDataOutlivesTheName, "pshm.unlink-mapped-lives") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-mapped");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  std::memcpy(m.data(), "before", 6);
  std::memcpy(m.data() + Page() + 1, "second", 6);
  ASSERT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  // Through the descriptor: size and contents stay.
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(2 * Page()));
  char buf[7] = {};
  EXPECT_THAT(pread(fd.get(), buf, 6, 0), SyscallSucceedsWithValue(6));
  EXPECT_STREQ(buf, "before");
  EXPECT_THAT(pread(fd.get(), buf, 6, Page() + 1), SyscallSucceedsWithValue(6));
  EXPECT_STREQ(buf, "second");
  // Through the mapping (in a child, which a shrunk object would kill with SIGBUS).
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(std::string(m.data(), 6), "before");
        EXPECT_EQ(std::string(m.data() + Page() + 1, 6), "second");
        std::memcpy(m.data() + 100, "after", 5);
      },
      {.what = "using the mapping of an unlinked object"});
  c.ExpectExited(0);
  EXPECT_THAT(pread(fd.get(), buf, 5, 100), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "after");
}

IPC_TEST(PshmUnlink, MappingAloneKeepsTheObject, "pshm.unlink-mapped-lives") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-maponly");
  Mapping m;
  {
    ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
    ASSERT_OK_AND_ASSIGN(m, Mapping::Shared(fd.get(), Page()));
  }
  std::memcpy(m.data(), "kept", 4);
  ASSERT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  // No descriptor and no name: the mapping is all that holds the object.
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(std::string(m.data(), 4), "kept");
        m.data()[Page() - 1] = 'z';
        EXPECT_EQ(m.data()[Page() - 1], 'z');
      },
      {.what = "using the only mapping of an unlinked object"});
  c.ExpectExited(0);
  EXPECT_EQ(m.data()[Page() - 1], 'z');
}

IPC_TEST(PshmUnlink, CreatAfterUnlinkMakesANewEmptyObject, "pshm.unlink-recreate") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-recreate");
  ASSERT_OK_AND_ASSIGN(FileDescriptor old_fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping old_map, Mapping::Shared(old_fd.get(), Page()));
  std::memcpy(old_map.data(), "old", 3);
  ASSERT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(FileDescriptor new_fd, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  EXPECT_EQ(SizeOf(new_fd.get()), 0);
  struct stat so, sn;
  ASSERT_THAT(fstat(old_fd.get(), &so), SyscallSucceeds());
  ASSERT_THAT(fstat(new_fd.get(), &sn), SyscallSucceeds());
  EXPECT_NE(so.st_ino, sn.st_ino);
  ASSERT_THAT(ftruncate(new_fd.get(), Page()), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Mapping new_map, Mapping::Shared(new_fd.get(), Page()));
  EXPECT_EQ(new_map.data()[0], '\0');
  std::memcpy(new_map.data(), "new", 3);
  Child c = Child::Spawn([&] { EXPECT_EQ(std::string(old_map.data(), 3), "old"); },
                         {.what = "reading the old object's mapping"});
  c.ExpectExited(0);
}

IPC_TEST(PshmUnlink, UnknownNameFailsWithEnoent, "pshm.unlink-enoent") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-unknown");
  EXPECT_THAT(shm_unlink(name.c_str()), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(PshmUnlink, SecondUnlinkFailsWithEnoent, "pshm.unlink-enoent", "pshm.unlink-name") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-twice");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 0));
  EXPECT_THAT(shm_unlink(name.c_str()), SyscallSucceeds());
  EXPECT_THAT(shm_unlink(name.c_str()), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(PshmUnlink, UnlinkInAnotherProcessLeavesOurMappingIntact, "pshm.unlink-mapped-lives") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "unlink-other");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  std::memcpy(m.data(), "ours", 4);
  Child c = Child::Spawn([&] { EXPECT_THAT(shm_unlink(name.c_str()), SyscallSucceeds()); },
                         {.what = "unlinking the object in another process"});
  c.ExpectExited(0);
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
  char buf[4] = {};
  EXPECT_THAT(pread(fd.get(), buf, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "ours");
}

}  // namespace
}  // namespace ipc
