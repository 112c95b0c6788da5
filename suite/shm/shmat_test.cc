// shmat(2) (shmop(2)): where a segment is attached (NULL, fixed, SHM_RND, SHM_REMAP), SHM_RDONLY, what
// an attach records in shmid_ds, and the EINVAL/ENOMEM errors. Permissions: shmat_perm_test.cc.
// Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmAt, NullAddressAttachesAtAPageAlignedAddress, "shm.at-null-addr") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  auto* p = static_cast<char*>(at.get());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Page(), 0u) << static_cast<void*>(p);
  // The whole segment is mapped there, shared and read-write.
  EXPECT_EQ(MappingPerms(p), "rw-s");
  EXPECT_EQ(MappingPerms(p + 3 * Page() - 1), "rw-s");
  p[3 * Page() - 1] = 'z';
  EXPECT_EQ(p[3 * Page() - 1], 'z');
}

IPC_TEST(ShmAt, PageAlignedAddressIsUsedExactly, "shm.at-fixed-addr") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(2 * Page(), Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where));
  EXPECT_EQ(at.get(), where);
  EXPECT_EQ(MappingPerms(where + Page()), "rw-s");
}

IPC_TEST(ShmAt, ShmRndRoundsTheAddressDownToShmlba, "shm.at-rnd") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  const size_t lba = SHMLBA;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), lba));
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where + 123, SHM_RND));
    EXPECT_EQ(at.get(), where);
  }
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where + lba - 1, SHM_RND));
    EXPECT_EQ(at.get(), where);
  }
}

IPC_TEST(ShmAt, ShmRndKeepsAnAlignedAddress, "shm.at-rnd") {
  const size_t lba = SHMLBA;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), lba));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where, SHM_RND | SHM_RDONLY));
  EXPECT_EQ(at.get(), where);
  EXPECT_EQ(MappingPerms(where), "r--s");
}

IPC_TEST(ShmAt, UnalignedAddressWithoutShmRndFailsWithEinval, "shm.at-einval-unaligned") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), Page()));
  EXPECT_SHMAT_FAILS(seg.id(), where + 1, 0, EINVAL);
  EXPECT_SHMAT_FAILS(seg.id(), where + Page() / 2, SHM_RDONLY, EINVAL);
  EXPECT_EQ(MappingPerms(where), "") << "a failed shmat left a mapping behind";
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, InvalidIdentifierFailsWithEinval, "shm.at-einval-id") {
  EXPECT_SHMAT_FAILS(-1, nullptr, 0, EINVAL);
  EXPECT_SHMAT_FAILS(-1, nullptr, SHM_RDONLY, EINVAL);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int gone = seg.id();
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());  // not attached: destroyed at once
  EXPECT_SHMAT_FAILS(gone, nullptr, 0, EINVAL);
}

IPC_TEST(ShmAt, RangeThatIsAlreadyMappedFailsWithEinval, "shm.at-einval-addr") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  AnonMapping m(2 * Page());
  ASSERT_TRUE(m.ok());
  std::memset(m.get(), 'm', 2 * Page());
  EXPECT_SHMAT_FAILS(seg.id(), m.get(), 0, EINVAL);
  EXPECT_SHMAT_FAILS(seg.id(), m.get() + Page(), 0, EINVAL);  // overlaps only the second page
  EXPECT_EQ(m.get()[0], 'm');
  EXPECT_EQ(m.get()[2 * Page() - 1], 'm');
  EXPECT_EQ(MappingPerms(m.get()), "rw-p");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, ShmRemapReplacesAnExistingMapping, "shm.at-remap") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment other, ShmAttachment::Attach(seg.id()));
  std::memset(other.get(), 'S', 2 * Page());
  AnonMapping m(2 * Page());
  ASSERT_TRUE(m.ok());
  std::memset(m.get(), 'm', 2 * Page());
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), m.get(), SHM_REMAP));
  EXPECT_EQ(at.get(), m.get());
  EXPECT_EQ(m.get()[0], 'S');
  EXPECT_EQ(m.get()[2 * Page() - 1], 'S');
  EXPECT_EQ(MappingPerms(m.get()), "rw-s");
  m.get()[5] = 'r';
  EXPECT_EQ(static_cast<char*>(other.get())[5], 'r');
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 2u);
}

IPC_TEST(ShmAt, ShmRemapWithANullAddressFailsWithEinval, "shm.at-einval-remap-null") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_REMAP, EINVAL);
  // An address below SHMLBA that SHM_RND rounds down to NULL counts as NULL.
  EXPECT_SHMAT_FAILS(seg.id(), reinterpret_cast<void*>(uintptr_t{1}), SHM_RND | SHM_REMAP, EINVAL);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, ReadOnlyAttachSeesTheData, "shm.at-rdonly") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw, ShmAttachment::Attach(seg.id()));
  std::memcpy(rw.get(), "hello", 6);
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_STREQ(static_cast<const char*>(ro.get()), "hello");
  EXPECT_EQ(MappingPerms(ro.get()), "r--s");
  std::memcpy(rw.get(), "world", 6);
  EXPECT_STREQ(static_cast<const char*>(ro.get()), "world");
}

IPC_TEST(ShmAt, WriteThroughAReadOnlyAttachRaisesSigsegv, "shm.at-rdonly") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  Child c = Child::Spawn(
      [&] {
        void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
        ASSERT_THAT(p, SyscallSucceeds());
        PrepareToDieOfSigsegv();
        static_cast<volatile char*>(p)[0] = 'w';
        ADD_FAILURE() << "writing through a SHM_RDONLY attachment did not raise SIGSEGV";
      },
      {.what = "writing through a SHM_RDONLY attachment"});
  c.ExpectKilledBy(SIGSEGV);
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  EXPECT_EQ(static_cast<const char*>(at.get())[0], 0) << "the write went through";
}

IPC_TEST(ShmAt, AttachSetsAtimeLpidAndIncrementsNattch, "shm.at-updates-ds", "shm.ctl-nattch",
         "shm.ctl-ipc-stat") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  time_t before = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(seg.id()));
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_GE(ds.shm_atime, before);
  EXPECT_LE(ds.shm_atime, after);
  EXPECT_EQ(ds.shm_lpid, ::getpid());
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_dtime, 0);
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 2u);
}

IPC_TEST(ShmAt, AttachAndDetachByAnotherProcessSetItsPid, "shm.at-updates-ds", "shm.dt-updates-ds") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        void* p = ::shmat(seg.id(), nullptr, 0);
        ASSERT_THAT(p, SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        ASSERT_THAT(::shmdt(p), SyscallSucceeds());
      },
      {.what = "attaching and detaching in a child"});
  const pid_t child_pid = c.pid();  // Wait() forgets it
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, child_pid) << "after the child's shmat";
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, child_pid) << "after the child's shmdt";
  EXPECT_EQ(ds.shm_nattch, 0u);
  ASSERT_OK_AND_ASSIGN(ShmAttachment mine, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, ::getpid()) << "after this process's shmat";
}

IPC_TEST(ShmAt, SameSegmentAttachedReadOnlyAndReadWriteSeveralTimes, "shm.at-multiple", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw1, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw2, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_NE(rw1.get(), rw2.get());
  EXPECT_NE(rw1.get(), ro.get());
  EXPECT_NE(rw2.get(), ro.get());
  Fill(rw1.get(), 2 * Page(), 7);
  EXPECT_EQ(FirstMismatch(rw2.get(), 2 * Page(), 7), 2 * Page());
  EXPECT_EQ(FirstMismatch(ro.get(), 2 * Page(), 7), 2 * Page());
  Fill(rw2.get(), 2 * Page(), 9);
  EXPECT_EQ(FirstMismatch(rw1.get(), 2 * Page(), 9), 2 * Page());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 3u);
}

IPC_TEST(ShmAt, AttachDoesNotMoveTheProgramBreak, "shm.at-brk") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 16 * Page()));
  void* brk_before = ::sbrk(0);
  void* p = ::shmat(seg.id(), nullptr, 0);
  void* brk_after = ::sbrk(0);
  ASSERT_THAT(p, SyscallSucceeds());
  EXPECT_EQ(brk_before, brk_after);
  EXPECT_THAT(::shmdt(p), SyscallSucceeds());
}

IPC_TEST(ShmAt, AddressSpaceLimitGivesEnomem, "shm.at-enomem") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  const size_t big = 256u << 20;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, big, IPC_CREAT | SHM_NORESERVE | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment small, ShmSegment::Create(IPC_PRIVATE, Page()));
  Child c = Child::Spawn(
      [&] {
        // Room for half of the big segment: the page-sized one still fits, the big one cannot be mapped.
        ASSERT_TRUE(SetRlimit(RLIMIT_AS, AddressSpaceSize() + big / 2));
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, ENOMEM);
        ASSERT_OK_AND_ASSIGN(ShmAttachment fits, ShmAttachment::Attach(small.id()));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_nattch, 0u) << "a failed shmat left an attach counted";
      },
      {.what = "attaching 256 MiB under a tight RLIMIT_AS"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
