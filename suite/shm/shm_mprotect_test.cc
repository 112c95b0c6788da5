// An attached segment under mprotect(2) and munmap(2): a SHM_RDONLY attach cannot be made writable
// (mprotect(2) EACCES), a read-write attach can be made read-only and writable again, and a partial
// munmap(2) of an attach leaves the rest mapped and shared, with shmdt(2) at the attach address still
// detaching it. Rules: suite/rules/shm.ini.
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ipcsuite/fixtures.h"
#include "shm_util.h"

namespace ipc {
namespace {

using namespace shm_util;

IPC_TEST(ShmMprotect, ReadOnlyAttachCannotBeMadeWritable, "shm.mprotect-rdonly-eacces") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_THAT(mprotect(ro.get(), 2 * Page(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
  EXPECT_THAT(mprotect(ro.get(), Page(), PROT_WRITE), SyscallFailsWithErrno(EACCES));
  EXPECT_EQ(MappingPerms(ro.get()), "r--s") << "the attach stays read-only";
}

IPC_TEST(ShmMprotect, ReadOnlyAttachStaysReadOnlyAfterAWriteAttachExists, "shm.mprotect-rdonly-eacces") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_THAT(mprotect(ro.get(), Page(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES))
      << "the caller may write the segment, but this attach was made read-only";
  static_cast<char*>(rw.get())[0] = 'w';
  EXPECT_EQ(static_cast<char*>(ro.get())[0], 'w');
}

IPC_TEST(ShmMprotect, ReadOnlyAttachOfAnUnwritableSegmentCannotBeMadeWritable, "shm.mprotect-rdonly-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0644));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
        EXPECT_THAT(mprotect(ro.get(), Page(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
        EXPECT_EQ(MappingPerms(ro.get()), "r--s");
      },
      {.what = "making a read-only attach writable as another user"});
  c.ExpectExited(0);
}

IPC_TEST(ShmMprotect, ReadOnlyAttachCanBeMadeInaccessibleAndReadableAgain, "shm.mprotect-attach") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  ASSERT_THAT(mprotect(ro.get(), Page(), PROT_NONE), SyscallSucceeds());
  EXPECT_EQ(MappingPerms(ro.get()), "---s");
  ASSERT_THAT(mprotect(ro.get(), Page(), PROT_READ), SyscallSucceeds());
  EXPECT_EQ(MappingPerms(ro.get()), "r--s");
}

IPC_TEST(ShmMprotect, ReadWriteAttachMadeReadOnlyFaultsOnWriteUntilMadeWritableAgain, "shm.mprotect-attach") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(mprotect(at.get(), Page(), PROT_READ), SyscallSucceeds());
  EXPECT_EQ(MappingPerms(at.get()), "r--s");
  Child c = Child::Spawn(
      [&] {
        PrepareToDieOf(SIGSEGV);
        *static_cast<volatile char*>(at.get()) = 'x';
      },
      {.what = "writing a read-only protected attach"});
  c.ExpectKilledBy(SIGSEGV);
  ASSERT_THAT(mprotect(at.get(), Page(), PROT_READ | PROT_WRITE), SyscallSucceeds());
  static_cast<char*>(at.get())[0] = 'y';
  EXPECT_EQ(static_cast<char*>(at.get())[0], 'y');
}

// --- partial munmap ----------------------------------------------------------------------------------

IPC_TEST(ShmMunmap, PartialMunmapLeavesTheRestMappedAndShared, "shm.munmap-partial") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 4 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment b, ShmAttachment::Attach(seg.id()));
  char* pa = static_cast<char*>(a.get());
  char* pb = static_cast<char*>(b.get());
  ASSERT_THAT(munmap(pa + Page(), Page()), SyscallSucceeds());
  EXPECT_EQ(MappingPerms(pa + Page()), "") << "the second page is gone";
  for (size_t page : {0u, 2u, 3u}) {
    EXPECT_EQ(MappingPerms(pa + page * Page()), "rw-s") << "page " << page;
    pa[page * Page()] = static_cast<char>('a' + page);
    EXPECT_EQ(pb[page * Page()], static_cast<char>('a' + page)) << "page " << page << " is still shared";
  }
  pb[Page()] = 'z';  // the segment's second page itself is untouched by the munmap
  EXPECT_EQ(pb[Page()], 'z');
}

IPC_TEST(ShmMunmap, TheUnmappedPartFaults, "shm.munmap-partial") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a, ShmAttachment::Attach(seg.id()));
  char* pa = static_cast<char*>(a.get());
  ASSERT_THAT(munmap(pa + Page(), Page()), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        PrepareToDieOf(SIGSEGV);
        *static_cast<volatile char*>(pa + Page()) = 'x';
      },
      {.what = "touching the unmapped half of an attach"});
  c.ExpectKilledBy(SIGSEGV);
}

IPC_TEST(ShmMunmap, ShmdtAtTheAttachAddressStillDetachesAfterAPartialMunmap, "shm.munmap-partial",
         "shm.dt-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 4 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a, ShmAttachment::Attach(seg.id()));
  char* pa = static_cast<char*>(a.get());
  ASSERT_THAT(munmap(pa + 2 * Page(), Page()), SyscallSucceeds());
  EXPECT_THAT(a.Detach(), SyscallSucceeds()) << "the segment is still attached at shmaddr";
  EXPECT_EQ(MappingPerms(pa), "") << "the part at shmaddr is detached";
}

}  // namespace
}  // namespace ipc
