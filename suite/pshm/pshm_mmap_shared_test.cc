// mmap(2) of shared memory objects: MAP_SHARED coherence between two mappings in one process, between
// processes and with read(2)/write(2); offsets; MAP_PRIVATE copy-on-write; read-only mappings (SIGSEGV on
// write, mprotect EACCES). Signals beyond the object: pshm_sigbus_test.cc; fork: pshm_fork_test.cc. Rules:
// suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

IPC_TEST(PshmMmapShared, TwoMappingsOfOneDescriptorSeeEachOther, "pshm.mmap-shared-mappings") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "two-maps");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping a, Mapping::Shared(fd.get(), 2 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping b, Mapping::Shared(fd.get(), 2 * Page()));
  ASSERT_NE(a.data(), b.data());
  a.get()[0] = 'a';
  a.get()[2 * Page() - 1] = 'A';
  EXPECT_EQ(b.get()[0], 'a');
  EXPECT_EQ(b.get()[2 * Page() - 1], 'A');
  b.get()[Page()] = 'b';
  EXPECT_EQ(a.get()[Page()], 'b');
}

IPC_TEST(PshmMmapShared, MappingsThroughTwoOpensOfTheNameSeeEachOther, "pshm.mmap-shared-mappings",
         "pshm.open-existing") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "two-opens");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fa, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor fb, ShmOpen(name, O_RDWR));
  ASSERT_OK_AND_ASSIGN(Mapping a, Mapping::Shared(fa.get(), Page()));
  ASSERT_OK_AND_ASSIGN(Mapping b, Mapping::Shared(fb.get(), Page()));
  std::memcpy(a.data() + 17, "coherent", 8);
  EXPECT_EQ(std::string(b.data() + 17, 8), "coherent");
}

IPC_TEST(PshmMmapShared, MappingWritesShowInReadAndWritesShowInTheMapping, "pshm.mmap-shared-file") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "file-coherent");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  std::memcpy(m.data() + 5, "mapped", 6);
  char buf[7] = {};
  EXPECT_THAT(pread(fd.get(), buf, 6, 5), SyscallSucceedsWithValue(6));
  EXPECT_STREQ(buf, "mapped");
  ASSERT_THAT(pwrite(fd.get(), "written", 7, 300), SyscallSucceedsWithValue(7));
  EXPECT_EQ(std::string(m.data() + 300, 7), "written");
}

IPC_TEST(PshmMmapShared, UnrelatedProcessOpeningTheNameSeesOurWrites, "pshm.mmap-shared-processes") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "procs");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  std::memcpy(m.data(), "from-parent", 11);
  // The child opens and maps by name, writes, and the parent's mapping sees it.
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDWR));
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Shared(cfd.get(), Page()));
        EXPECT_EQ(std::string(cm.data(), 11), "from-parent");
        std::memcpy(cm.data() + 64, "from-child", 10);
      },
      {.what = "mapping the object by name in another process"});
  c.ExpectExited(0);
  EXPECT_EQ(std::string(m.data() + 64, 10), "from-child");
}

IPC_TEST(PshmMmapShared, ParentWritesAfterTheChildMappedReachTheChild, "pshm.mmap-shared-processes") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "procs-later");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe go, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDWR));
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Shared(cfd.get(), Page()));
        ASSERT_TRUE(WriteAll(ready.write.get(), "r", 1));
        char x;
        ASSERT_TRUE(ReadAll(go.read.get(), &x, 1)) << DescribeErrno(errno);
        EXPECT_EQ(std::string(cm.data() + 1000, 5), "later");
      },
      {.what = "waiting for the parent's write"});
  char x;
  ASSERT_TRUE(ReadAll(ready.read.get(), &x, 1)) << "the child never mapped the object";
  std::memcpy(m.data() + 1000, "later", 5);
  ASSERT_TRUE(WriteAll(go.write.get(), "g", 1));
  c.ExpectExited(0);
}

IPC_TEST(PshmMmapShared, AtomicCountersOfTwoProcessesAddUp, "pshm.mmap-shared-processes") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "atomic");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  auto* counter = reinterpret_cast<std::atomic<long>*>(m.data());
  constexpr long kPerProcess = 20000;
  auto add = [&] {
    ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDWR));
    ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Shared(cfd.get(), Page()));
    auto* c = reinterpret_cast<std::atomic<long>*>(cm.data());
    for (long i = 0; i < kPerProcess; ++i) c->fetch_add(1);
  };
  Child c1 = Child::Spawn(add, {.what = "incrementing the shared counter"});
  Child c2 = Child::Spawn(add, {.what = "incrementing the shared counter"});
  c1.ExpectExited(0);
  c2.ExpectExited(0);
  EXPECT_EQ(counter->load(), 2 * kPerProcess);
}

IPC_TEST(PshmMmapShared, OffsetMapsThatPartOfTheObject, "pshm.mmap-offset") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "offset");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 4 * Page()));
  ASSERT_THAT(pwrite(fd.get(), "third", 5, 2 * Page()), SyscallSucceedsWithValue(5));
  ASSERT_OK_AND_ASSIGN(Mapping whole, Mapping::Shared(fd.get(), 4 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping part, Mapping::Shared(fd.get(), Page(), static_cast<off_t>(2 * Page())));
  EXPECT_EQ(std::string(part.data(), 5), "third");
  part.get()[Page() - 1] = 'e';
  EXPECT_EQ(whole.get()[3 * Page() - 1], 'e');
}

IPC_TEST(PshmMmapShared, PrivateMappingWritesStayPrivate, "pshm.mmap-private") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "private");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_THAT(pwrite(fd.get(), "orig", 4, 0), SyscallSucceedsWithValue(4));
  ASSERT_OK_AND_ASSIGN(Mapping shared, Mapping::Shared(fd.get(), Page()));
  ASSERT_OK_AND_ASSIGN(Mapping priv, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  EXPECT_EQ(std::string(priv.data(), 4), "orig");
  std::memcpy(priv.data(), "mine", 4);
  EXPECT_EQ(std::string(priv.data(), 4), "mine");
  EXPECT_EQ(std::string(shared.data(), 4), "orig");
  char buf[4] = {};
  EXPECT_THAT(pread(fd.get(), buf, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "orig");
  // Another process mapping the object sees the object, not the private copy.
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDONLY));
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Map(Page(), PROT_READ, MAP_SHARED, cfd.get()));
        EXPECT_EQ(std::string(cm.data(), 4), "orig");
      },
      {.what = "reading the object in another process"});
  c.ExpectExited(0);
}

IPC_TEST(PshmMmapShared, PrivateWritableMappingOfAReadOnlyDescriptorIsAllowed, "pshm.mmap-private-rdonly-fd",
         "pshm.mmap-private") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "private-rdonly");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(name, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(Mapping priv, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, r.get()));
  priv.get()[0] = 'p';
  EXPECT_EQ(priv.get()[0], 'p');
  char c = '?';
  EXPECT_THAT(pread(fd.get(), &c, 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_EQ(c, '\0');
}

IPC_TEST(PshmMmapShared, WriteIntoAReadOnlyMappingRaisesSigsegv, "pshm.mmap-sigsegv-readonly") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "ro-segv");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, fd.get()));
  EXPECT_EQ(ro.get()[0], '\0');
  Child c = Child::Spawn(
      [&] {
        PrepareToDieOf(SIGSEGV);
        ro.get()[0] = 'x';
        ADD_FAILURE() << "the write into a PROT_READ mapping went through";
      },
      {.what = "writing into a read-only mapping"});
  c.ExpectKilledBy(SIGSEGV);
  char ch = '?';
  EXPECT_THAT(pread(fd.get(), &ch, 1, 0), SyscallSucceedsWithValue(1));
  EXPECT_EQ(ch, '\0');
}

IPC_TEST(PshmMmapShared, SharedMappingOfAReadOnlyDescriptorCannotBecomeWritable, "pshm.mprotect-eacces",
         "pshm.mmap-eacces") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "ro-mprotect");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(name, O_RDONLY));
  EXPECT_THAT(mmap(nullptr, Page(), PROT_READ | PROT_WRITE, MAP_SHARED, r.get(), 0),
              SyscallFailsWithErrno(EACCES));
  ASSERT_OK_AND_ASSIGN(Mapping ro, Mapping::Map(Page(), PROT_READ, MAP_SHARED, r.get()));
  EXPECT_THAT(mprotect(ro.data(), Page(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
}

}  // namespace
}  // namespace ipc
