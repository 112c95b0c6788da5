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
#include <optional>
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
        PrepareToDieOf(SIGSEGV);
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

// -------------------------------------------------------------------------- shmat(2) EINVAL as a table
//
// A row: a segment of `pages` pages (none when 0), the address its calls start from, and the shmat calls that
// must fail with the row's errno (an attachment made by mistake is detached again). Afterwards the segment
// has no attach, and the address range is as it was: still unmapped, or still the test's own private mapping.

enum class AtId { kSegment, kMinusOne, kRemoved };  // the row's segment, -1, or one removed before the call
enum class AtBase {
  kNull,         // address 0
  kFreeRange,    // a page-aligned range that nothing maps
  kAnonMapping,  // a private anonymous mapping of the segment's size, filled with 'm'
};

struct ShmAtCall {
  AtId id;
  size_t half_pages;  // the address: base + half_pages * Page() / 2 + bytes
  uintptr_t bytes;
  int flags;
};

struct ShmAtErrorRow {
  const char* name;
  rules::RuleList rules;
  int err;
  bool rmid_forced_off = false;  // the segment must survive a failed attach's provisional attach count
  size_t pages = 0;
  AtBase base = AtBase::kNull;
  std::vector<ShmAtCall> calls = {};
};

const ShmAtErrorRow kShmAtErrors[] = {
    {.name = "EinvalForAnUnalignedAddressWithoutShmRnd",
     .rules = {"shm.at-einval-unaligned"},
     .err = EINVAL,
     .pages = 1,
     .base = AtBase::kFreeRange,
     .calls = {{AtId::kSegment, 0, 1, 0}, {AtId::kSegment, 1, 0, SHM_RDONLY}}},
    {.name = "EinvalForAnInvalidIdentifier",
     .rules = {"shm.at-einval-id"},
     .err = EINVAL,
     .calls = {{AtId::kMinusOne, 0, 0, 0}, {AtId::kMinusOne, 0, 0, SHM_RDONLY}, {AtId::kRemoved, 0, 0, 0}}},
    // The second call overlaps only the second page of the mapping.
    {.name = "EinvalForARangeThatIsAlreadyMapped",
     .rules = {"shm.at-einval-addr"},
     .err = EINVAL,
     .rmid_forced_off = true,
     .pages = 2,
     .base = AtBase::kAnonMapping,
     .calls = {{AtId::kSegment, 0, 0, 0}, {AtId::kSegment, 2, 0, 0}}},
    // An address below SHMLBA that SHM_RND rounds down to NULL counts as NULL.
    {.name = "EinvalForShmRemapWithANullAddress",
     .rules = {"shm.at-einval-remap-null"},
     .err = EINVAL,
     .pages = 1,
     .calls = {{AtId::kSegment, 0, 0, SHM_REMAP}, {AtId::kSegment, 0, 1, SHM_RND | SHM_REMAP}}},
};

class ShmAtError : public ::testing::TestWithParam<ShmAtErrorRow> {};

IPC_TEST_P(ShmAtError, FailsWithTheRowsErrno) {
  const ShmAtErrorRow& row = GetParam();
  if (row.rmid_forced_off) IPC_REQUIRE_RMID_FORCED_OFF();
  std::optional<ShmSegment> seg;
  if (row.pages > 0) {
    ASSERT_OK_AND_ASSIGN(ShmSegment s, ShmSegment::Create(IPC_PRIVATE, row.pages * Page()));
    seg.emplace(std::move(s));
  }
  int removed = -1;
  for (const ShmAtCall& call : row.calls) {
    if (call.id == AtId::kRemoved && removed < 0) {
      ASSERT_OK_AND_ASSIGN(ShmSegment gone, ShmSegment::Create(IPC_PRIVATE, Page()));
      removed = gone.id();
      ASSERT_THAT(gone.Remove(), SyscallSucceeds());  // not attached: destroyed at once
    }
  }
  char* base = nullptr;
  std::optional<AnonMapping> mapping;
  if (row.base == AtBase::kFreeRange) {
    ASSERT_OK_AND_ASSIGN(base, FreeAlignedRange(row.pages * Page(), Page()));
  } else if (row.base == AtBase::kAnonMapping) {
    mapping.emplace(row.pages * Page());
    ASSERT_TRUE(mapping->ok());
    base = mapping->get();
    std::memset(base, 'm', row.pages * Page());
  }
  for (const ShmAtCall& call : row.calls) {
    const int id = call.id == AtId::kSegment ? seg->id() : call.id == AtId::kMinusOne ? -1 : removed;
    void* addr = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(base) + call.half_pages * Page() / 2 +
                                         call.bytes);
    void* at = ::shmat(id, addr, call.flags);
    EXPECT_THAT(at, SyscallFailsWithErrno(row.err))
        << "shmat(" << id << ", " << addr << ", " << std::hex << call.flags << ")";
    if (at != reinterpret_cast<void*>(-1)) ::shmdt(at);
  }
  if (row.base == AtBase::kFreeRange) {
    EXPECT_EQ(MappingPerms(base), "") << "a failed shmat left a mapping behind";
  }
  if (row.base == AtBase::kAnonMapping) {
    EXPECT_EQ(base[0], 'm');
    EXPECT_EQ(base[row.pages * Page() - 1], 'm');
    EXPECT_EQ(MappingPerms(base), "rw-p");
  }
  if (seg.has_value()) {
    ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg->id()));
    EXPECT_EQ(ds.shm_nattch, 0u);
  }
}

}  // namespace

IPC_INSTANTIATE_TABLE(Errors, ShmAtError, kShmAtErrors);

}  // namespace ipc
