// shmget(2): creating a segment, looking a key up, its initial shmid_ds, and the ERRORS that need no
// change of limits (EEXIST, ENOENT, EINVAL, EACCES, ENOMEM, EPERM). Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmGet, NewSegmentIsZeroFilled, "shm.get-new-zeroed") {
  const size_t size = 3 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  const auto* p = static_cast<const unsigned char*>(at.get());
  size_t nonzero = 0;
  for (size_t i = 0; i < size; ++i) nonzero += p[i] != 0;
  EXPECT_EQ(nonzero, 0u) << "bytes of a new segment that are not zero";
}

IPC_TEST(ShmGet, SizeIsRoundedUpToAPageButSegszIsTheRequestedSize, "shm.get-size-rounded") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  const size_t size = 100;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, size);
  // The rest of the page belongs to the segment: a child writes its last byte (a SIGBUS would kill it)...
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
        static_cast<volatile char*>(at.get())[Page() - 1] = 0x5a;
      },
      {.what = "writing the last byte of the page of a 100-byte segment"});
  c.ExpectExited(0);
  // ...and it is shared memory like the rest: another attachment sees it.
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  EXPECT_EQ(static_cast<const char*>(at.get())[Page() - 1], 0x5a);
}

IPC_TEST(ShmGet, NewSegmentShmidDsIsInitialized, "shm.get-init-ds", "shm.ctl-ipc-stat") {
  time_t before = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 5000, IPC_CREAT | 0641));
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_TRUE(CreatedByCaller(ds.shm_perm, IPC_PRIVATE));
  EXPECT_EQ(ds.shm_perm.mode, 0641) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_segsz, 5000u);
  EXPECT_EQ(ds.shm_cpid, ::getpid());
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_atime, 0);
  EXPECT_EQ(ds.shm_dtime, 0);
  EXPECT_GE(ds.shm_ctime, before);
  EXPECT_LE(ds.shm_ctime, after);
}

IPC_TEST(ShmGet, ModeTakesOnlyTheLowNineBitsOfShmflg, "shm.get-init-ds") {
  // IPC_CREAT and IPC_EXCL have the values of SHM_DEST and SHM_LOCKED: they must not reach the mode.
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | SHM_NORESERVE | 0777));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0777) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmGet, SegmentCreatedByAnotherUserRecordsItsCredentials, "shm.get-init-ds", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_OTHER_USERS("to create a segment as another user");
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "read (IPC_STAT) another user's 0640 segment");
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, CreateShmSegmentAsNobody(Page(), 0640));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.uid, kNobodyUid);
  EXPECT_EQ(ds.shm_perm.cuid, kNobodyUid);
  EXPECT_EQ(ds.shm_perm.gid, kNobodyGid);
  EXPECT_EQ(ds.shm_perm.cgid, kNobodyGid);
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmGet, IpcPrivateAlwaysCreatesANewSegment, "shm.get-ipc-private") {
  ASSERT_OK_AND_ASSIGN(ShmSegment a, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment b, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment c, ShmSegment::Create(IPC_PRIVATE, Page(), 0600));  // no IPC_CREAT
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.id(), c.id());
  EXPECT_NE(b.id(), c.id());
  // Separate memory, not three names for one segment.
  ASSERT_OK_AND_ASSIGN(ShmAttachment pa, ShmAttachment::Attach(a.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment pb, ShmAttachment::Attach(b.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment pc, ShmAttachment::Attach(c.id()));
  static_cast<char*>(pa.get())[0] = 'a';
  EXPECT_EQ(static_cast<char*>(pb.get())[0], 0);
  EXPECT_EQ(static_cast<char*>(pc.get())[0], 0);
}

IPC_TEST(ShmGet, ExistingKeyReturnsTheSameIdentifier, "shm.get-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 1;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, 2 * Page(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(::shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
  EXPECT_THAT(::shmget(key, 2 * Page(), 0600), SyscallSucceedsWithValue(seg.id()));
  EXPECT_THAT(::shmget(key, Page(), IPC_CREAT | 0644), SyscallSucceedsWithValue(seg.id()));
  // Looking it up changes nothing: neither the size nor the mode of the later calls applies.
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 2 * Page());
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_perm.__key, key);
}

IPC_TEST(ShmGet, OneByteSegmentIsAccepted, "shm.get-shmmin") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 1u);
}

IPC_TEST(ShmGet, UnprivilegedCallerWithoutPermissionGetsEacces, "shm.get-eacces") {
  IPC_REQUIRE_OTHER_USERS("to look a key up as another user");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 5;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMGET_FAILS(key, 0, 0600, EACCES);
        EXPECT_SHMGET_FAILS(key, 0, 0400, EACCES);
        EXPECT_SHMGET_FAILS(key, Page(), IPC_CREAT | 0200, EACCES);
      },
      {.what = "looking up a 0600 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, PermissionCheckUsesTheRequestedModeBits, "shm.get-eacces", "shm.get-existing") {
  IPC_REQUIRE_OTHER_USERS("to look a key up as another user");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 6;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(::shmget(key, 0, 0400), SyscallSucceedsWithValue(seg.id()));  // others may read
        EXPECT_THAT(::shmget(key, 0, 0004), SyscallSucceedsWithValue(seg.id()));
        EXPECT_SHMGET_FAILS(key, 0, 0600, EACCES);  // but not write
        EXPECT_SHMGET_FAILS(key, 0, 0020, EACCES);
      },
      {.what = "looking up a 0604 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, CapIpcOwnerBypassesThePermissionCheck, "shm.get-eacces") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_IPC_OWNER, "look up a 0000 segment");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 7;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0000));
  EXPECT_THAT(::shmget(key, 0, 0666), SyscallSucceedsWithValue(seg.id()));
}

// A request larger than RAM + swap cannot be committed under heuristic (0) or strict (2) overcommit.
PosixResult<size_t> UncommittableSize(std::string* skip) {
  auto mode = limits::ReadProcSysLong("/proc/sys/vm/overcommit_memory");
  if (!mode.ok()) return PosixResult<size_t>::Error(mode.error_number(), mode.error());
  if (mode.value() == 1) {
    *skip = "vm.overcommit_memory is 1 (always overcommit): any size can be committed";
    return size_t{0};
  }
  unsigned long long mem = TotalMemory();
  if (mem == 0) return PosixResult<size_t>::Error(errno, "sysinfo");
  size_t size = static_cast<size_t>(2 * mem) / Page() * Page();
  auto shmmax = limits::ShmMaxUnsigned();
  auto shmall = limits::ShmAllUnsigned();
  if (!shmmax.ok() || !shmall.ok()) return PosixResult<size_t>::Error(EINVAL, "reading shmmax/shmall");
  if (size > shmmax.value() || size / Page() > shmall.value())
    *skip = "shmmax or shmall is below twice the machine's memory, so EINVAL/ENOSPC would come first";
  return size;
}

IPC_TEST(ShmGet, NoreserveCreatesASegmentLargerThanMemory, "shm.get-noreserve") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  std::string skip;
  ASSERT_OK_AND_ASSIGN(size_t size, UncommittableSize(&skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  auto mode = limits::ReadProcSysLong("/proc/sys/vm/overcommit_memory");
  if (mode.ok() && mode.value() == 2)
    GTEST_SKIP() << "vm.overcommit_memory is 2: strict accounting ignores it";
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, size, IPC_CREAT | 0600, ENOMEM);  // the same request, reserving
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, size, IPC_CREAT | SHM_NORESERVE | 0600));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, size);
}

IPC_TEST(ShmGet, HugetlbWithoutCapIpcLockFailsWithEperm, "shm.get-eperm-hugetlb") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  const size_t huge = HugePageSize();
  if (huge == 0) GTEST_SKIP() << "the kernel has no hugetlb support (no Hugepagesize in /proc/meminfo)";
  auto group = limits::ReadProcSysLong("/proc/sys/vm/hugetlb_shm_group");
  if (group.ok() && group.value() == static_cast<long>(kNobodyGid))
    GTEST_SKIP() << "vm.hugetlb_shm_group is the unprivileged test group " << kNobodyGid;
  Child c = Child::Spawn(
      [&] {
        // Older kernels let an RLIMIT_MEMLOCK large enough stand in for the capability: make it 0.
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 0));
        ASSERT_DROP_PRIVILEGES();
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, huge, IPC_CREAT | SHM_HUGETLB | 0600, EPERM);
      },
      {.what = "creating a SHM_HUGETLB segment as uid 65534"});
  c.ExpectExited(0);
}

// ------------------------------------------------------------------------- shmget(2) ERRORS as a table
//
// A row: the key (IPC_PRIVATE, or a fixed one in the private IPC namespace, with or without a 0600 segment
// under it), the shmget calls that must fail with the row's errno (a segment one creates by mistake is
// removed again), and the lookups that must still return the existing segment afterwards.

struct ShmGetCall {
  size_t size;
  int flags;
};
using ShmGetCalls = std::vector<ShmGetCall>;

struct ShmGetErrorRow {
  const char* name;
  rules::RuleList rules;
  int err;
  bool private_namespace = false;       // needs the private IPC namespace (fixed keys, limits from /proc/sys)
  key_t key_offset = 0;                 // the key is kKeyBase + key_offset; 0: IPC_PRIVATE
  size_t (*existing_size)() = nullptr;  // a 0600 segment of this size under the key first (nullptr: none)
  // The calls that must fail; may instead set *skip to why the case cannot be made on this machine.
  PosixResult<ShmGetCalls> (*calls)(std::string* skip) = nullptr;
  ShmGetCalls lookups = {};  // afterwards each must return the existing segment's identifier
};

const ShmGetErrorRow kShmGetErrors[] = {
    {.name = "EexistForCreatExclOnAnExistingKey",
     .rules = {"shm.get-eexist"},
     .err = EEXIST,
     .private_namespace = true,
     .key_offset = 2,
     .existing_size = [] { return Page(); },
     .calls = [](std::string*) -> PosixResult<ShmGetCalls> {
       return ShmGetCalls{{Page(), IPC_CREAT | IPC_EXCL | 0600}, {1, IPC_CREAT | IPC_EXCL | 0666}};
     },
     .lookups = {{0, 0}}},
    {.name = "EnoentForAMissingKeyWithoutCreat",
     .rules = {"shm.get-enoent"},
     .err = ENOENT,
     .private_namespace = true,
     .key_offset = 3,
     .calls = [](std::string*) -> PosixResult<ShmGetCalls> {
       // IPC_EXCL alone does not create.
       return ShmGetCalls{{Page(), 0600}, {0, 0}, {Page(), IPC_EXCL | 0600}};
     }},
    {.name = "EinvalForSizeZeroBelowShmmin",
     .rules = {"shm.get-einval-size"},
     .err = EINVAL,
     .calls = [](std::string*) -> PosixResult<ShmGetCalls> {
       return ShmGetCalls{{0, IPC_CREAT | 0600}};
     }},
    {.name = "EinvalForASizeAboveShmmax",
     .rules = {"shm.get-einval-size"},
     .err = EINVAL,
     .private_namespace = true,
     .calls = [](std::string* skip) -> PosixResult<ShmGetCalls> {
       auto shmmax = limits::ShmMaxUnsigned();
       if (!shmmax.ok()) return PosixResult<ShmGetCalls>::Error(shmmax.error_number(), shmmax.error());
       if (shmmax.value() >= SIZE_MAX) *skip = "kernel.shmmax is SIZE_MAX: no size is above it";
       return ShmGetCalls{{shmmax.value() + 1, IPC_CREAT | 0600}, {SIZE_MAX, IPC_CREAT | 0600}};
     }},
    // The segment's size is shm_segsz (100), not the page it occupies.
    {.name = "EinvalForASizeLargerThanTheExistingSegment",
     .rules = {"shm.get-einval-existing-size", "shm.get-existing"},
     .err = EINVAL,
     .private_namespace = true,
     .key_offset = 4,
     .existing_size = [] { return size_t{100}; },
     .calls = [](std::string*) -> PosixResult<ShmGetCalls> {
       return ShmGetCalls{{101, 0600}, {Page() + 1, IPC_CREAT | 0600}};
     },
     .lookups = {{100, 0600}, {99, 0600}}},
    {.name = "EnomemForASegmentLargerThanMemory",
     .rules = {"shm.get-enomem"},
     .err = ENOMEM,
     .private_namespace = true,
     .calls = [](std::string* skip) -> PosixResult<ShmGetCalls> {
       auto size = UncommittableSize(skip);
       if (!size.ok()) return PosixResult<ShmGetCalls>::Error(size.error_number(), size.error());
       return ShmGetCalls{{size.value(), IPC_CREAT | 0600}};
     }},
};

class ShmGetError : public ::testing::TestWithParam<ShmGetErrorRow> {};

IPC_TEST_P(ShmGetError, FailsWithTheRowsErrno) {
  const ShmGetErrorRow& row = GetParam();
  if (row.private_namespace) IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  std::string skip;
  ASSERT_OK_AND_ASSIGN(ShmGetCalls calls, row.calls(&skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  const key_t key = row.key_offset == 0 ? IPC_PRIVATE : kKeyBase + row.key_offset;
  std::optional<ShmSegment> existing;
  if (row.existing_size != nullptr) {
    ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                         ShmSegment::Create(key, row.existing_size(), IPC_CREAT | IPC_EXCL | 0600));
    existing.emplace(std::move(seg));
  }
  for (const ShmGetCall& call : calls) {
    int id = ::shmget(key, call.size, call.flags);
    EXPECT_THAT(id, SyscallFailsWithErrno(row.err)) << "shmget(" << std::hex << key << ", " << std::dec
                                                    << call.size << ", " << std::oct << call.flags << ")";
    if (id >= 0) ::shmctl(id, IPC_RMID, nullptr);
  }
  for (const ShmGetCall& lookup : row.lookups) {
    EXPECT_THAT(::shmget(key, lookup.size, lookup.flags), SyscallSucceedsWithValue(existing->id()))
        << "shmget(" << std::hex << key << ", " << std::dec << lookup.size << ", " << std::oct << lookup.flags
        << ")";
  }
}

}  // namespace

IPC_INSTANTIATE_TABLE(Errors, ShmGetError, kShmGetErrors);

}  // namespace ipc
