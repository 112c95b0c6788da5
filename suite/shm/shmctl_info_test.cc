// shmctl(2) IPC_INFO, SHM_INFO, SHM_STAT and SHM_STAT_ANY: the limits and usage of the namespace and
// the walk over its segment array. Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmCtl, IpcInfoMatchesProcSysKernel, "shm.ctl-ipc-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  struct shminfo info;
  std::memset(&info, 0xa5, sizeof info);
  ASSERT_THAT(::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(unsigned long shmmax, limits::ShmMaxUnsigned());
  ASSERT_OK_AND_ASSIGN(unsigned long shmall, limits::ShmAllUnsigned());
  ASSERT_OK_AND_ASSIGN(long shmmni, limits::ShmMni());
  EXPECT_EQ(info.shmmax, shmmax);
  EXPECT_EQ(info.shmall, shmall);
  EXPECT_EQ(info.shmmni, static_cast<unsigned long>(shmmni));
  EXPECT_EQ(info.shmmin, 1u);
}

IPC_TEST(ShmCtl, IpcInfoFollowsWritesToProcSysKernel, "shm.ctl-ipc-info", "shm.proc-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmMax, "1234567"));
        ASSERT_TRUE(limits::WriteProcSys(kShmMni, "17"));
        ASSERT_TRUE(limits::WriteProcSys(kShmAll, "4321"));
        struct shminfo info;
        std::memset(&info, 0, sizeof info);
        ASSERT_THAT(::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.shmmax, 1234567u);
        EXPECT_EQ(info.shmmni, 17u);
        EXPECT_EQ(info.shmall, 4321u);
        EXPECT_EQ(info.shmmin, 1u);
        auto shmmax = limits::ShmMaxUnsigned();
        ASSERT_TRUE(shmmax.ok()) << shmmax.error();
        EXPECT_EQ(shmmax.value(), 1234567u);
      },
      {.what = "changing shmmax, shmmni and shmall in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmInfoCountsSegmentsPagesAndResidentPages, "shm.ctl-shm-info") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        struct shm_info info;
        std::memset(&info, 0xa5, sizeof info);
        ASSERT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.used_ids, 0);
        EXPECT_EQ(info.shm_tot, 0u);
        EXPECT_EQ(info.shm_rss + info.shm_swp, 0u);
        ASSERT_OK_AND_ASSIGN(ShmSegment untouched, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment touched, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment small, ShmSegment::Create(IPC_PRIVATE, 100));
        {
          ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(touched.id()));
          std::memset(at.get(), 1, 3 * Page());
        }
        ASSERT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.used_ids, 3);
        EXPECT_EQ(info.shm_tot, 5u);  // 1 + 3 + 1 (100 bytes take a page)
        EXPECT_EQ(info.shm_rss + info.shm_swp, 3u);
      },
      {.what = "counting segments in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, InfoCommandsReturnTheHighestUsedIndex, "shm.ctl-info-index", "shm.ctl-shm-stat") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment a, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment b, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment gone, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_THAT(gone.Remove(), SyscallSucceeds());
        struct shminfo info;
        struct shm_info usage;
        int top = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(top, SyscallSucceeds());
        EXPECT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&usage)),
                    SyscallSucceedsWithValue(top));
        // Every index up to `top` either holds one of the two segments or is unused, and `top` is used.
        std::set<int> found;
        struct shmid_ds ds;
        for (int i = 0; i <= top; ++i) {
          int r = ::shmctl(i, SHM_STAT, &ds);
          if (r >= 0) found.insert(r);
        }
        EXPECT_EQ(found, (std::set<int>{a.id(), b.id()}));
        EXPECT_THAT(::shmctl(top, SHM_STAT, &ds), SyscallSucceeds());
      },
      {.what = "walking the segment array of a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatReturnsTheIdentifierAndFillsBuf, "shm.ctl-shm-stat", "shm.ctl-info-index") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0640));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));  // the only one
        ASSERT_THAT(index, SyscallSucceeds());
        struct shmid_ds ds;
        std::memset(&ds, 0, sizeof ds);
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallSucceedsWithValue(seg.id()));
        EXPECT_EQ(ds.shm_segsz, 777u);
        EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
        EXPECT_EQ(ds.shm_cpid, ::getpid());
      },
      {.what = "SHM_STAT in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatNeedsReadPermissionButShmStatAnyDoesNot, "shm.ctl-shm-stat-any", "shm.ctl-shm-stat",
         "shm.ctl-eacces") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0600));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(index, SyscallSucceeds());
        const int id = seg.Release();  // the namespace removes it when this child exits
        ASSERT_DROP_PRIVILEGES();
        struct shmid_ds ds;
        std::memset(&ds, 0, sizeof ds);
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(index, SHM_STAT_ANY, &ds), SyscallSucceedsWithValue(id));
        EXPECT_EQ(ds.shm_segsz, 777u);
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_STAT and SHM_STAT_ANY as uid 65534 in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatOnAnUnusedIndexFailsWithEinval, "shm.ctl-einval-shm-stat") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(index, SyscallSucceeds());
        struct shmid_ds ds;
        EXPECT_THAT(::shmctl(index + 1, SHM_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(::shmctl(index + 1, SHM_STAT_ANY, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallSucceedsWithValue(seg.id()));
        ASSERT_THAT(seg.Remove(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(::shmctl(index, SHM_STAT_ANY, &ds), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "SHM_STAT on unused slots in a fresh IPC namespace"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
