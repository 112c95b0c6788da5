// The errors of mmap(2) (its whole ERRORS section, claimed in suite/rules/pshm.pages): a table of one-call
// cases (EACCES, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EPERM) on a shared memory object, and the resource
// limits (EAGAIN for RLIMIT_MEMLOCK, ENOMEM for RLIMIT_DATA) in children. ENFILE, EOVERFLOW and ETXTBSY are
// not-provokable (reasons in suite/rules/pshm.ini). Rules: suite/rules/pshm.ini.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pshm_util.h"

namespace ipc {
namespace {

using namespace pshm_util;

enum class Target { kRdwr, kRdonly, kWronly, kNoFd, kPipe, kWriteSealed };
enum class Where { kAnywhere, kUnaligned, kOccupied, kBeyondAddressSpace };

struct MmapErrorRow {
  const char* name;
  rules::RuleList rules;
  Target target;
  Where where;
  size_t length_pages;  // times the page size
  int prot;
  int flags;
  off_t offset;
  int err;
};

const MmapErrorRow kMmapErrors[] = {
    {"SharedWriteOfRdonlyFd",
     {"pshm.mmap-eacces"},
     Target::kRdonly,
     Where::kAnywhere,
     1,
     PROT_READ | PROT_WRITE,
     MAP_SHARED,
     0,
     EACCES},
    {"SharedValidateWriteOfRdonlyFd",
     {"pshm.mmap-eacces"},
     Target::kRdonly,
     Where::kAnywhere,
     1,
     PROT_WRITE,
     MAP_SHARED_VALIDATE,
     0,
     EACCES},
    {"ReadOfWronlyFd",
     {"pshm.mmap-eacces-not-readable"},
     Target::kWronly,
     Where::kAnywhere,
     1,
     PROT_READ,
     MAP_SHARED,
     0,
     EACCES},
    {"PrivateOfWronlyFd",
     {"pshm.mmap-eacces-not-readable"},
     Target::kWronly,
     Where::kAnywhere,
     1,
     PROT_READ,
     MAP_PRIVATE,
     0,
     EACCES},
    {"NegativeFd", {"pshm.mmap-ebadf"}, Target::kNoFd, Where::kAnywhere, 1, PROT_READ, MAP_SHARED, 0, EBADF},
    {"FixedNoreplaceOnAMapping",
     {"pshm.mmap-eexist"},
     Target::kRdwr,
     Where::kOccupied,
     1,
     PROT_READ,
     MAP_SHARED | MAP_FIXED_NOREPLACE,
     0,
     EEXIST},
    {"LengthZero",
     {"pshm.mmap-einval-length"},
     Target::kRdwr,
     Where::kAnywhere,
     0,
     PROT_READ,
     MAP_SHARED,
     0,
     EINVAL},
    {"NoSharingFlag",
     {"pshm.mmap-einval-flags"},
     Target::kRdwr,
     Where::kAnywhere,
     1,
     PROT_READ,
     0,
     0,
     EINVAL},
    {"NoSharingFlagAnonymous",
     {"pshm.mmap-einval-flags"},
     Target::kNoFd,
     Where::kAnywhere,
     1,
     PROT_READ,
     MAP_ANONYMOUS,
     0,
     EINVAL},
    {"UnalignedOffset",
     {"pshm.mmap-einval-offset"},
     Target::kRdwr,
     Where::kAnywhere,
     1,
     PROT_READ,
     MAP_SHARED,
     1,
     EINVAL},
    {"UnalignedFixedAddress",
     {"pshm.mmap-einval-addr"},
     Target::kRdwr,
     Where::kUnaligned,
     1,
     PROT_READ,
     MAP_SHARED | MAP_FIXED,
     0,
     EINVAL},
    {"Pipe", {"pshm.mmap-enodev"}, Target::kPipe, Where::kAnywhere, 1, PROT_READ, MAP_SHARED, 0, ENODEV},
    {"FixedBeyondTheAddressSpace",
     {"pshm.mmap-enomem-address"},
     Target::kRdwr,
     Where::kBeyondAddressSpace,
     1,
     PROT_READ,
     MAP_SHARED | MAP_FIXED,
     0,
     ENOMEM},
    {"SharedWriteOfWriteSealedMemfd",
     {"pshm.mmap-eperm-seal"},
     Target::kWriteSealed,
     Where::kAnywhere,
     1,
     PROT_READ | PROT_WRITE,
     MAP_SHARED,
     0,
     EPERM},
};

class PshmMmapError : public ::testing::TestWithParam<MmapErrorRow> {};

IPC_TEST_P(PshmMmapError, FailsAndMapsNothing) {
  const MmapErrorRow& row = GetParam();
  if (row.where == Where::kBeyondAddressSpace) {
    IPC_SKIP_UNDER_THREAD_SANITIZER(
        "its mmap interceptor refuses MAP_FIXED outside application memory with EINVAL before the kernel "
        "sees it");
  }
  const bool uses_name = row.target == Target::kRdwr || row.target == Target::kRdonly;
  if (uses_name) IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSharedMemory, "mmap-error");
  FileDescriptor owner, fd;
  Pipe pipe_ends;
  switch (row.target) {
    case Target::kRdwr:
    case Target::kRdonly: {
      ASSERT_OK_AND_ASSIGN(FileDescriptor created, CreateObject(name, 2 * Page()));
      owner = std::move(created);
      if (row.target == Target::kRdonly) {
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, ShmOpen(name, O_RDONLY));
        fd = std::move(r);
      } else {
        ASSERT_OK_AND_ASSIGN(FileDescriptor w, ShmOpen(name, O_RDWR));
        fd = std::move(w);
      }
      break;
    }
    case Target::kWronly: {
      ASSERT_OK_AND_ASSIGN(FileDescriptor m, CreateMemfd(2 * Page()));
      owner = std::move(m);
      ASSERT_OK_AND_ASSIGN(FileDescriptor w, Reopen(owner.get(), O_WRONLY));
      fd = std::move(w);
      break;
    }
    case Target::kWriteSealed: {
      ASSERT_OK_AND_ASSIGN(FileDescriptor m, CreateMemfd(2 * Page(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
      ASSERT_THAT(fcntl(m.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
      fd = std::move(m);
      break;
    }
    case Target::kPipe: {
      ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
      pipe_ends = std::move(p);
      break;
    }
    case Target::kNoFd:
      break;
  }
  const int target_fd = row.target == Target::kPipe ? pipe_ends.read.get() : (fd.valid() ? fd.get() : -1);
  Mapping occupied;
  void* addr = nullptr;
  switch (row.where) {
    case Where::kAnywhere:
      break;
    case Where::kUnaligned: {
      ASSERT_OK_AND_ASSIGN(char* free_range, FreeRange(2 * Page()));
      addr = free_range + 1;
      break;
    }
    case Where::kOccupied: {
      ASSERT_OK_AND_ASSIGN(Mapping m,
                           Mapping::Map(Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1));
      occupied = std::move(m);
      occupied.get()[0] = 'o';
      addr = occupied.data();
      break;
    }
    case Where::kBeyondAddressSpace:
      addr = reinterpret_cast<void*>(uintptr_t{1} << 62);
      break;
  }
  void* p = mmap(addr, row.length_pages * Page(), row.prot, row.flags, target_fd, row.offset);
  EXPECT_THAT(p, SyscallFailsWithErrno(row.err));
  if (p != MAP_FAILED && p != occupied.data()) munmap(p, row.length_pages * Page());
  if (row.where == Where::kOccupied) {
    EXPECT_EQ(occupied.get()[0], 'o') << "the existing mapping was replaced";
  }
}

IPC_INSTANTIATE_TABLE(Table, PshmMmapError, kMmapErrors);

// --- resource limits
// ----------------------------------------------------------------------------------------

IPC_TEST(PshmMmapLimits, LockedMappingBeyondRlimitMemlockFailsWithEagain, "pshm.mmap-eagain") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(4 * Page()));
  Child c = Child::Spawn(
      [&] {
        if (isolation::HasEffectiveCapability(CAP_IPC_LOCK)) {
          ASSERT_TRUE(isolation::DropEffectiveCapability(CAP_IPC_LOCK)) << DescribeErrno(errno);
        }
        struct rlimit rl = {Page(), Page()};
        ASSERT_THAT(setrlimit(RLIMIT_MEMLOCK, &rl), SyscallSucceeds());
        void* p = mmap(nullptr, 4 * Page(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd.get(), 0);
        EXPECT_THAT(p, SyscallFailsWithErrno(EAGAIN));
        if (p != MAP_FAILED) munmap(p, 4 * Page());
      },
      {.what = "mapping 4 locked pages with RLIMIT_MEMLOCK = 1 page, without CAP_IPC_LOCK"});
  c.ExpectExited(0);
}

// VmData of /proc/self/status in bytes, 0 when unreadable.
size_t DataVmBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long kb = 0;
    if (std::sscanf(line.c_str(), "VmData: %lu kB", &kb) == 1) return kb * 1024;
  }
  return 0;
}

IPC_TEST(PshmMmapLimits, PrivateWritableMappingBeyondRlimitDataFailsWithEnomem,
         "pshm.mmap-enomem-rlimit-data", "pshm.mmap-private") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor fd, CreateMemfd(64 * Page()));
  Child c = Child::Spawn(
      [&] {
        size_t used = DataVmBytes();
        ASSERT_GT(used, 0u) << "no VmData in /proc/self/status";
        struct rlimit old_limit;
        ASSERT_THAT(getrlimit(RLIMIT_DATA, &old_limit), SyscallSucceeds());
        struct rlimit rl = {used + 16 * Page(), old_limit.rlim_max};
        // Between the two setrlimit calls nothing allocates (a sanitizer's allocator may need fresh data
        // pages).
        ASSERT_THAT(setrlimit(RLIMIT_DATA, &rl), SyscallSucceeds());
        void* p = mmap(nullptr, 64 * Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
        const int private_errno = errno;
        // A shared mapping is not data: the limit does not apply to it.
        void* s = mmap(nullptr, 64 * Page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        const int shared_errno = errno;
        ASSERT_THAT(setrlimit(RLIMIT_DATA, &old_limit), SyscallSucceeds());
        EXPECT_EQ(p, MAP_FAILED);
        EXPECT_EQ(private_errno, ENOMEM) << DescribeErrno(private_errno);
        EXPECT_NE(s, MAP_FAILED) << DescribeErrno(shared_errno);
        if (p != MAP_FAILED) munmap(p, 64 * Page());
        if (s != MAP_FAILED) munmap(s, 64 * Page());
      },
      {.what = "mapping 64 private writable pages with RLIMIT_DATA 16 pages above VmData"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
