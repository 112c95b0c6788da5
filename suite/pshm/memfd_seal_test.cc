// File seals (fcntl(2) F_ADD_SEALS / F_GET_SEALS, "File Sealing") on memfds: how seals accumulate and belong
// to the inode, each seal's effect (F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE,
// F_SEAL_FUTURE_WRITE) and errors (EPERM, EBUSY, EINVAL), and mmap's EPERM for a sealed file. Rules:
// suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

PosixResult<FileDescriptor> Sealable(size_t size) {
  return CreateMemfd(size, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

IPC_TEST(MemfdSeal, SealsAccumulateAndAddingOneTwiceIsANoOp, "pshm.seal-add-get") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SHRINK));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SHRINK | F_SEAL_GROW));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, 0), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SHRINK | F_SEAL_GROW));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_FUTURE_WRITE), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS),
              SyscallSucceedsWithValue(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
}

IPC_TEST(MemfdSeal, SealsBelongToTheInode, "pshm.seal-inode") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor other, Reopen(fd.get(), O_RDWR));
  ASSERT_THAT(fcntl(other.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_GROW));
  EXPECT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallFailsWithErrno(EPERM));
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor mine, Reopen(fd.get(), O_RDWR));
        EXPECT_THAT(fcntl(mine.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_GROW));
        EXPECT_THAT(ftruncate(mine.get(), 2 * Page()), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(fcntl(mine.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
      },
      {.what = "using the sealed memfd in another process"});
  c.ExpectExited(0);
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_GROW | F_SEAL_SHRINK));
}

IPC_TEST(MemfdSeal, SealSealRefusesEveryFurtherSeal, "pshm.seal-seal") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SHRINK | F_SEAL_SEAL));
  EXPECT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallSucceeds()) << "F_SEAL_GROW was added after all";
}

IPC_TEST(MemfdSeal, ShmOpenObjectCannotBeSealed, "pshm.seal-not-allowed") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "seal");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SEAL));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(write(fd.get(), "w", 1), SyscallSucceedsWithValue(1));
}

IPC_TEST(MemfdSeal, ReadOnlyDescriptorCannotAddSeals, "pshm.seal-eperm-not-writable") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Reopen(fd.get(), O_RDONLY));
  EXPECT_THAT(fcntl(r.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(r.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
}

IPC_TEST(MemfdSeal, UnknownSealBitFailsWithEinval, "pshm.seal-einval-bit") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, 0x1000), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW | 0x4000), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
}

IPC_TEST(MemfdSeal, PipeDoesNotSupportSealing, "pshm.seal-einval-fs") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(fcntl(p.write.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(fcntl(p.write.get(), F_GET_SEALS), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MemfdSeal, ShrinkSealRefusesShrinkingButNotGrowing, "pshm.seal-shrink") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(2 * Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), Page()), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(ftruncate(fd.get(), 0), SyscallFailsWithErrno(EPERM));
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(2 * Page()));
  EXPECT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), 3 * Page()), SyscallSucceeds());
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(3 * Page()));
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 4 * Page()), SyscallSucceedsWithValue(1));
}

IPC_TEST(MemfdSeal, GrowSealRefusesGrowingAndWritesBeyondTheEnd, "pshm.seal-grow") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(2 * Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), 3 * Page()), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 2 * Page()), SyscallFailsWithErrno(EPERM));
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(2 * Page()));
  // Writing inside, keeping the size and shrinking still work.
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 2 * Page() - 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), Page()), SyscallSucceeds());
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
}

IPC_TEST(MemfdSeal, WriteSealRefusesWriteAndKeepsTheContents, "pshm.seal-write") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_THAT(pwrite(fd.get(), "sealed", 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
  EXPECT_THAT(pwrite(fd.get(), "XXXXXX", 6, 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(write(fd.get(), "y", 1), SyscallFailsWithErrno(EPERM));
  char buf[6] = {};
  EXPECT_THAT(pread(fd.get(), buf, 6, 0), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(buf, 6), "sealed");
  // Reading mappings, private writable mappings and size changes stay possible.
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, fd.get()));
  EXPECT_EQ(std::string(ro.data(), 6), "sealed");
  ASSERT_OK_AND_ASSIGN(Mapping priv, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  priv.get()[0] = 'P';
  EXPECT_EQ(ro.get()[0], 's');
  EXPECT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallSucceeds());
}

IPC_TEST(MemfdSeal, WriteSealRefusesNewSharedWritableMappings, "pshm.seal-write", "pshm.mmap-eperm-seal",
         "pshm.mprotect-eacces") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
  EXPECT_THAT(mmap(nullptr, Page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0),
              SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(mmap(nullptr, Page(), PROT_WRITE, MAP_SHARED, fd.get(), 0), SyscallFailsWithErrno(EPERM));
  // A read-only shared mapping of a write-sealed file can never be made writable.
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, fd.get()));
  EXPECT_THAT(mprotect(ro.data(), Page(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
}

IPC_TEST(MemfdSeal, WriteSealFailsWithEbusyWhileASharedWritableMappingExists, "pshm.seal-write-ebusy") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(Mapping rw, Mapping::Shared(fd.get(), Page()));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EBUSY));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
  rw.get()[0] = 'w';  // still writable
  ASSERT_THAT(rw.Unmap(), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_WRITE));
}

// Only mappings that are or can become shared and writable count: a PROT_READ MAP_SHARED mapping made through
// an O_RDWR descriptor could be mprotect'ed to PROT_WRITE, so (on Linux) it blocks the seal as well; one made
// through an O_RDONLY descriptor cannot, and neither can a private mapping.
IPC_TEST(MemfdSeal, WriteSealIsNotBlockedByReadOnlyDescriptorsOrPrivateMappings, "pshm.seal-write-ebusy") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Reopen(fd.get(), O_RDONLY));
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, r.get()));
  ASSERT_OK_AND_ASSIGN(Mapping priv, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  priv.get()[0] = 'p';
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
  EXPECT_EQ(ro.get()[0], '\0');
}

IPC_TEST(MemfdSeal, WriteSealIsBlockedByAChildsSharedWritableMapping, "pshm.seal-write-ebusy") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe done, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Mapping rw, Mapping::Shared(fd.get(), Page()));
        ASSERT_TRUE(WriteAll(ready.write.get(), "r", 1));
        char x;
        ASSERT_TRUE(ReadAll(done.read.get(), &x, 1)) << DescribeErrno(errno);
      },
      {.what = "holding a shared writable mapping"});
  char x;
  ASSERT_TRUE(ReadAll(ready.read.get(), &x, 1)) << "the child never mapped the memfd";
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EBUSY));
  ASSERT_TRUE(WriteAll(done.write.get(), "d", 1));
  c.ExpectExited(0);
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
}

IPC_TEST(MemfdSeal, FutureWriteSealRefusesWritesAndNewWritableMappings, "pshm.seal-future-write",
         "pshm.mmap-eperm-seal") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_FUTURE_WRITE));
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(mmap(nullptr, Page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0),
              SyscallFailsWithErrno(EPERM));
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, fd.get()));
  EXPECT_EQ(ro.get()[0], '\0');
}

IPC_TEST(MemfdSeal, FutureWriteSealKeepsAnEarlierWritableMappingWorking, "pshm.seal-future-write") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, Sealable(Page()));
  ASSERT_OK_AND_ASSIGN(Mapping rw, Mapping::Shared(fd.get(), Page()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), SyscallSucceeds())
      << "no EBUSY for this seal";
  std::memcpy(rw.data(), "owner", 5);
  char buf[5] = {};
  EXPECT_THAT(pread(fd.get(), buf, 5, 0), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "owner");
  EXPECT_THAT(write(fd.get(), "x", 1), SyscallFailsWithErrno(EPERM));
  // A reader in another process sees the owner's later writes.
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor mine, Reopen(fd.get(), O_RDONLY));
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Map(Page(), PROT_READ, MAP_SHARED, mine.get()));
        EXPECT_EQ(std::string(cm.data(), 5), "owner");
      },
      {.what = "reading the future-write-sealed memfd"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
