// Shared memory across fork(2) and execve(2): MAP_SHARED mappings stay shared and MAP_PRIVATE ones are copied
// on write after fork; shared anonymous memory; the inherited descriptor, /proc/<pid>/fd/N, and a memfd
// passed to an exec'd program. Rules: suite/rules/pshm.ini.
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

// A step-by-step exchange with one child over two pipes.
struct Steps {
  Pipe up, down;
  static PosixResult<Steps> Create() {
    PosixResult<Pipe> a = Pipe::Create();
    if (!a.ok()) return PosixResult<Steps>::Error(a.error_number(), "pipe");
    PosixResult<Pipe> b = Pipe::Create();
    if (!b.ok()) return PosixResult<Steps>::Error(b.error_number(), "pipe");
    return Steps{std::move(a).value(), std::move(b).value()};
  }
  bool ChildSays() { return WriteAll(up.write.get(), "c", 1); }
  bool ChildHears() {
    char x;
    return ReadAll(down.read.get(), &x, 1);
  }
  bool ParentHears() {
    char x;
    return ReadAll(up.read.get(), &x, 1);
  }
  bool ParentSays() { return WriteAll(down.write.get(), "p", 1); }
};

IPC_TEST(PshmFork, SharedMappingCarriesTheChildsWritesToTheParent, "pshm.fork-shared") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "fork-shared");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  std::memcpy(m.data(), "before", 6);
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(std::string(m.data(), 6), "before");
        std::memcpy(m.data(), "child!", 6);
      },
      {.what = "writing the inherited shared mapping"});
  c.ExpectExited(0);
  EXPECT_EQ(std::string(m.data(), 6), "child!");
}

IPC_TEST(PshmFork, SharedMappingCarriesTheParentsLaterWritesToTheChild, "pshm.fork-shared") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "fork-shared-later");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  ASSERT_OK_AND_ASSIGN(Steps s, Steps::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(s.ChildSays());
        ASSERT_TRUE(s.ChildHears());
        EXPECT_EQ(std::string(m.data() + 8, 6), "parent");
      },
      {.what = "reading the parent's write after the fork"});
  ASSERT_TRUE(s.ParentHears());
  std::memcpy(m.data() + 8, "parent", 6);
  ASSERT_TRUE(s.ParentSays());
  c.ExpectExited(0);
}

IPC_TEST(PshmFork, PrivateMappingHidesTheChildsWritesFromTheParent, "pshm.fork-private-cow") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "fork-private");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  std::memcpy(m.data(), "parent", 6);  // the parent's own private copy of the page
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(std::string(m.data(), 6), "parent");
        std::memcpy(m.data(), "child!", 6);
        EXPECT_EQ(std::string(m.data(), 6), "child!");
      },
      {.what = "writing the inherited private mapping"});
  c.ExpectExited(0);
  EXPECT_EQ(std::string(m.data(), 6), "parent");
  char buf[6] = {};
  EXPECT_THAT(pread(fd.get(), buf, 6, 0), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(buf, 6), std::string(6, '\0'));
}

IPC_TEST(PshmFork, PrivateMappingHidesTheParentsLaterWritesFromTheChild, "pshm.fork-private-cow") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "fork-private-later");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  std::memcpy(m.data(), "first", 5);
  ASSERT_OK_AND_ASSIGN(Steps s, Steps::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(s.ChildSays());
        ASSERT_TRUE(s.ChildHears());
        EXPECT_EQ(std::string(m.data(), 5), "first");
      },
      {.what = "reading the private mapping after the parent wrote"});
  ASSERT_TRUE(s.ParentHears());
  std::memcpy(m.data(), "later", 5);
  ASSERT_TRUE(s.ParentSays());
  c.ExpectExited(0);
}

IPC_TEST(PshmFork, AnonymousSharedMappingIsZeroedAndShared, "pshm.fork-anon-shared") {
  ASSERT_OK_AND_ASSIGN(Mapping m,
                       Mapping::Map(2 * Page(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1));
  for (size_t i = 0; i < 2 * Page(); ++i) ASSERT_EQ(m.get()[i], 0) << i;
  Child c = Child::Spawn([&] { std::memcpy(m.data() + Page(), "anon", 4); },
                         {.what = "writing shared anonymous memory"});
  c.ExpectExited(0);
  EXPECT_EQ(std::string(m.data() + Page(), 4), "anon");
}

IPC_TEST(PshmFork, AnonymousPrivateMappingIsCopiedOnWrite, "pshm.fork-private-cow") {
  ASSERT_OK_AND_ASSIGN(Mapping m,
                       Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1));
  m.get()[0] = 'p';
  Child c = Child::Spawn([&] { m.get()[0] = 'c'; }, {.what = "writing private anonymous memory"});
  c.ExpectExited(0);
  EXPECT_EQ(m.get()[0], 'p');
}

IPC_TEST(PshmFork, ChildMapsTheInheritedDescriptor, "pshm.fd-inherited") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "fork-fd");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Shared(fd.get(), Page()));
        std::memcpy(cm.data() + 3, "inherited", 9);
      },
      {.what = "mapping the inherited descriptor"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  EXPECT_EQ(std::string(m.data() + 3, 9), "inherited");
}

IPC_TEST(PshmFork, ProcPidFdGivesAnotherProcessTheSameMemfd, "pshm.fd-proc-reopen") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  const std::string path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd.get());
  const int inherited = fd.get();
  Child c = Child::Spawn(
      [&] {
        close(inherited);  // reach the memfd only through the parent's /proc entry
        ASSERT_OK_AND_ASSIGN(FileDescriptor other, Open(path, O_RDWR));
        ASSERT_OK_AND_ASSIGN(Mapping cm, Mapping::Shared(other.get(), Page()));
        std::memcpy(cm.data(), "via-proc", 8);
      },
      {.what = "opening the parent's memfd through /proc/<pid>/fd"});
  c.ExpectExited(0);
  EXPECT_EQ(std::string(m.data(), 8), "via-proc");
}

IPC_TEST(PshmFork, ProcSelfFdReopenOfAnObjectSharesItsMemory, "pshm.fd-proc-reopen") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "reopen");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(FileDescriptor again, Reopen(fd.get(), O_RDWR));
  ASSERT_OK_AND_ASSIGN(Mapping a, Mapping::Shared(fd.get(), Page()));
  ASSERT_OK_AND_ASSIGN(Mapping b, Mapping::Shared(again.get(), Page()));
  a.get()[1] = 'r';
  EXPECT_EQ(b.get()[1], 'r');
}

IPC_TEST(PshmFork, ExecdProgramWritesThroughAnInheritedMemfd, "pshm.memfd-exec-shared",
         "pshm.memfd-cloexec") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(Page(), 0));  // no MFD_CLOEXEC: it survives execve
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  const int n = fd.get();
  Child c = Child::SpawnWithExitCode(
      [n] {
        ExecHelper({"write-byte", std::to_string(n)});
        return 99;
      },
      {.what = "exec'ing a helper that writes through the memfd"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe();
  EXPECT_EQ(m.get()[0], 'h');  // the helper writes "h" at the shared offset 0
}

}  // namespace
}  // namespace ipc
