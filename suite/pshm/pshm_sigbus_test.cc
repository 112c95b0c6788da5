// Signals of a mapped shared memory object (mmap(2) ERRORS, "Use of a mapped region"): SIGBUS for a page of
// the mapping beyond the end of the object (also after ftruncate shrinks it, also for memfds and
// MAP_PRIVATE), with si_code BUS_ADRERR and si_addr, versus SIGSEGV beyond the mapping. Every touch runs in a
// Child. Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

// Touches `p` (a read, or a write of 'x') in a child that should die of `sig`.
void ExpectTouchKills(volatile char* p, bool write, int sig, const char* what) {
  Child c = Child::Spawn(
      [&] {
        PrepareToDieOf(sig);
        if (write) {
          *p = 'x';
        } else {
          char v = *p;
          (void)v;
        }
        ADD_FAILURE() << "the access went through";
      },
      {.what = what});
  c.ExpectKilledBy(sig);
}

IPC_TEST(PshmSigbus, ReadOfAPageBeyondTheObjectRaisesSigbus, "pshm.mmap-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-read");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 3 * Page()));
  m.get()[Page() - 1] = 'l';  // the last byte of the object is fine
  ExpectTouchKills(m.get() + Page(), false, SIGBUS, "reading the first page beyond the object");
  ExpectTouchKills(m.get() + 3 * Page() - 1, false, SIGBUS, "reading the last page of the mapping");
}

IPC_TEST(PshmSigbus, WriteToAPageBeyondTheObjectRaisesSigbusAndDoesNotGrowIt, "pshm.mmap-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-write");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  ExpectTouchKills(m.get() + Page() + 10, true, SIGBUS, "writing beyond the object");
  EXPECT_EQ(SizeOf(fd.get()), static_cast<off_t>(Page()));
}

IPC_TEST(PshmSigbus, EmptyObjectCanBeMappedButNotTouched, "pshm.mmap-sigbus", "pshm.open-create-empty") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-empty");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, ShmOpen(name, O_RDWR | O_CREAT | O_EXCL));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), Page()));
  ExpectTouchKills(m.get(), false, SIGBUS, "reading a mapping of an empty object");
}

IPC_TEST(PshmSigbus, ShrinkingTheObjectMakesTheMappedTailRaiseSigbus, "pshm.ftruncate-shrink-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-shrink");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 3 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 3 * Page()));
  std::memset(m.data(), 'f', 3 * Page());  // every page is resident before the shrink
  ASSERT_THAT(ftruncate(fd.get(), Page()), SyscallSucceeds());
  EXPECT_EQ(m.get()[Page() - 1], 'f');
  ExpectTouchKills(m.get() + Page(), false, SIGBUS, "reading a page the shrink cut off");
  ExpectTouchKills(m.get() + 2 * Page(), true, SIGBUS, "writing a page the shrink cut off");
}

IPC_TEST(PshmSigbus, ShrinkByAnotherProcessReachesOurMapping, "pshm.ftruncate-shrink-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-other");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  std::memset(m.data(), 'f', 2 * Page());
  Child shrinker = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor cfd, ShmOpen(name, O_RDWR));
        ASSERT_THAT(ftruncate(cfd.get(), 0), SyscallSucceeds());
      },
      {.what = "shrinking the object in another process"});
  shrinker.ExpectExited(0);
  ExpectTouchKills(m.get(), false, SIGBUS, "reading after another process shrank the object to 0");
}

IPC_TEST(PshmSigbus, HandlerSeesBusAdrerrAtTheFaultingAddress, "pshm.mmap-sigbus") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-info");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  volatile char* target = m.get() + Page() + 123;
  Child c = Child::Spawn(
      [&] {
        static sigjmp_buf env;
        static volatile sig_atomic_t signo = 0, code = 0;
        static void* volatile addr = nullptr;
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_flags = SA_SIGINFO;
        sa.sa_sigaction = [](int s, siginfo_t* si, void*) {
          signo = s;
          code = si->si_code;
          addr = si->si_addr;
          siglongjmp(env, 1);
        };
        ASSERT_THAT(sigaction(SIGBUS, &sa, nullptr), SyscallSucceeds());
        if (sigsetjmp(env, 1) == 0) {
          char v = *target;
          (void)v;
          ADD_FAILURE() << "the read beyond the object went through";
          return;
        }
        EXPECT_EQ(signo, SIGBUS);
        EXPECT_EQ(code, BUS_ADRERR);
        EXPECT_EQ(addr, const_cast<char*>(target));
      },
      {.what = "catching SIGBUS beyond the object"});
  c.ExpectExited(0);
}

IPC_TEST(PshmSigbus, BeyondTheMappingIsSigsegvNotSigbus, "pshm.mmap-sigsegv-unmapped") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "segv");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, 4 * Page()));
  // The object has 4 pages, the mapping only the first; the page after it is unmapped.
  ASSERT_OK_AND_ASSIGN(char* free_range, FreeRange(2 * Page()));
  void* p = mmap(free_range, Page(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED) << DescribeErrno(errno);
  ASSERT_EQ(p, static_cast<void*>(free_range));
  volatile char* base = static_cast<volatile char*>(p);
  base[Page() - 1] = 'k';
  ExpectTouchKills(base + Page(), false, SIGSEGV, "reading just beyond the mapping");
  munmap(p, Page());
}

IPC_TEST(PshmSigbus, MemfdBeyondItsSizeRaisesSigbus, "pshm.mmap-sigbus", "pshm.memfd-create") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Shared(fd.get(), 2 * Page()));
  m.get()[0] = 'm';
  ExpectTouchKills(m.get() + Page(), true, SIGBUS, "writing beyond a memfd's size");
}

IPC_TEST(PshmSigbus, PrivateMappingBeyondTheObjectRaisesSigbusToo, "pshm.mmap-sigbus", "pshm.mmap-private") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "sigbus-private");
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateObject(name, Page()));
  ASSERT_OK_AND_ASSIGN(Mapping m, Mapping::Map(2 * Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get()));
  m.get()[0] = 'p';
  ExpectTouchKills(m.get() + Page(), false, SIGBUS, "reading a private mapping beyond the object");
}

}  // namespace
}  // namespace ipc
