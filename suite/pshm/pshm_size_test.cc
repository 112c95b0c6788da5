// ftruncate(2) on shared memory objects and memfds: the size, zeros when growing (also after a shrink threw
// data away), the partial last page of a mapping, and EINVAL. SIGBUS after a shrink: pshm_sigbus_test.cc.
// Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

IPC_TEST(PshmSize, FtruncateSetsTheSizeEveryDescriptorSees, "pshm.ftruncate-size") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "size");
  ASSERT_OK_AND_ASSIGN(FileDescriptor a, CreateObject(name, 0));
  ASSERT_OK_AND_ASSIGN(FileDescriptor b, ShmOpen(name, O_RDONLY));
  for (off_t size : {off_t{1}, off_t{4097}, off_t{3 * 4096}, off_t{10}, off_t{0}}) {
    ASSERT_THAT(ftruncate(a.get(), size), SyscallSucceeds());
    EXPECT_EQ(SizeOf(a.get()), size);
    EXPECT_EQ(SizeOf(b.get()), size);
  }
  // And in another process.
  ASSERT_THAT(ftruncate(a.get(), 12345), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDONLY));
        EXPECT_EQ(SizeOf(cfd.get()), 12345);
      },
      {.what = "checking the size in another process"});
  c.ExpectExited(0);
}

IPC_TEST(PshmSize, GrowingReadsZerosThroughReadAndMapping, "pshm.ftruncate-grow-zeros") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "grow");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 100));
  ASSERT_THAT(pwrite(fd.get(), std::string(100, 'd').data(), 100, 0), SyscallSucceedsWithValue(100));
  ASSERT_THAT(ftruncate(fd.get(), 3 * Page()), SyscallSucceeds());
  std::vector<char> buf(3 * Page() - 100, '?');
  EXPECT_THAT(pread(fd.get(), buf.data(), buf.size(), 100), SyscallSucceedsWithValue(buf.size()));
  EXPECT_TRUE(AllZero(buf.data(), buf.size()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 3 * Page()));
  EXPECT_EQ(m.get()[99], 'd');
  EXPECT_TRUE(AllZero(m.data() + 100, 3 * Page() - 100));
}

IPC_TEST(PshmSize, ShrinkThenGrowGivesZerosWhereDataWas, "pshm.ftruncate-grow-zeros",
         "pshm.ftruncate-shrink-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "shrink-grow");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  std::memset(m.data(), 'x', 2 * Page());
  ASSERT_THAT(ftruncate(fd.get(), 10), SyscallSucceeds());
  ASSERT_THAT(ftruncate(fd.get(), 2 * Page()), SyscallSucceeds());
  EXPECT_EQ(std::string(m.data(), 10), std::string(10, 'x'));
  EXPECT_TRUE(AllZero(m.data() + 10, 2 * Page() - 10)) << "data beyond the shrunk size came back";
}

IPC_TEST(PshmSize, GrowingMakesTheMappedTailAccessible, "pshm.ftruncate-grow-zeros", "pshm.mmap-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "grow-mapped");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 3 * Page()));
  ASSERT_THAT(ftruncate(fd.get(), 3 * Page()), SyscallSucceeds());
  // The mapping made when the object was one page long now reaches the new pages.
  EXPECT_TRUE(AllZero(m.data() + Page(), 2 * Page()));
  m.get()[3 * Page() - 1] = 't';
  char c = 0;
  EXPECT_THAT(pread(fd.get(), &c, 1, 3 * Page() - 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(c, 't');
}

IPC_TEST(PshmSize, PartialLastPageReadsZerosAndWritesThereDoNotReachTheFile, "pshm.mmap-eof-partial-page") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "partial");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 100));
  ASSERT_THAT(pwrite(fd.get(), std::string(100, 'o').data(), 100, 0), SyscallSucceedsWithValue(100));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  EXPECT_EQ(m.get()[99], 'o');
  EXPECT_TRUE(AllZero(m.data() + 100, Page() - 100));
  m.get()[200] = 'w';
  EXPECT_EQ(SizeOf(fd.get()), 100);
  char buf[8];
  EXPECT_THAT(pread(fd.get(), buf, sizeof buf, 200), SyscallSucceedsWithValue(0));
}

IPC_TEST(PshmSize, MemfdGrowsAndShrinksLikeAnObject, "pshm.ftruncate-size", "pshm.ftruncate-grow-zeros",
         "pshm.memfd-create") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(0));
  ASSERT_THAT(ftruncate(fd.get(), 2 * Page() + 1), SyscallSucceeds());
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(2 * Page() + 1));
  std::vector<char> buf(2 * Page() + 1, '?');
  EXPECT_THAT(pread(fd.get(), buf.data(), buf.size(), 0), SyscallSucceedsWithValue(buf.size()));
  EXPECT_TRUE(AllZero(buf.data(), buf.size()));
  ASSERT_THAT(ftruncate(fd.get(), 1), SyscallSucceeds());
  EXPECT_EQ(SizeOf(fd.get()), 1);
}

IPC_TEST(PshmSize, NegativeLengthFailsWithEinval, "pshm.ftruncate-einval-negative") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "negative");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  EXPECT_THAT(ftruncate(fd.get(), -1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(ftruncate(fd.get(), -static_cast<off_t>(Page())), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
}

IPC_TEST(PshmSize, ReadOnlyMemfdDescriptorFailsWithEinval, "pshm.ftruncate-einval-rdonly") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Reopen(fd.get(), O_RDONLY));
  EXPECT_THAT(ftruncate(r.get(), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(ftruncate(r.get(), 2 * Page()), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
}

}  // namespace
}  // namespace ipc
