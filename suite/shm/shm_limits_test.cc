// The limits of proc(5) /proc/sys/kernel/shm* (shmmax, shmmni, shmall, shm_rmid_forced), each changed in
// a fresh IPC namespace of a child so that nobody else sees the change. Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmGet, LoweredShmmaxIsEnforcedExactly, "shm.get-einval-size", "shm.proc-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmMax, std::to_string(2 * Page())));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page() + 1, IPC_CREAT | 0600, EINVAL);
        ASSERT_OK_AND_ASSIGN(ShmSegment at_limit, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment below, ShmSegment::Create(IPC_PRIVATE, Page() + 1));
      },
      {.what = "creating segments around shmmax = 2 pages in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, ShmmniLimitGivesEnospc, "shm.get-enospc-shmmni", "shm.proc-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmMni, "3"));
        std::vector<ShmSegment> segs;
        for (int i = 0; i < 3; ++i) {
          ASSERT_OK_AND_ASSIGN(ShmSegment s, ShmSegment::Create(IPC_PRIVATE, 1));
          segs.push_back(std::move(s));
        }
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);
        // A freed identifier can be taken again, and then the table is full again.
        ASSERT_THAT(segs.back().Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment again, ShmSegment::Create(IPC_PRIVATE, 1));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);
      },
      {.what = "filling shmmni = 3 in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, ShmmniLimitAlsoAppliesToFixedKeys, "shm.get-enospc-shmmni") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmMni, "1"));
        ASSERT_OK_AND_ASSIGN(ShmSegment first, ShmSegment::Create(kKeyBase + 8, 1));
        EXPECT_SHMGET_FAILS(kKeyBase + 9, 1, IPC_CREAT | 0600, ENOSPC);
        // Looking up the existing key needs no new identifier.
        EXPECT_THAT(::shmget(kKeyBase + 8, 0, 0), SyscallSucceedsWithValue(first.id()));
      },
      {.what = "filling shmmni = 1 in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, ShmallLimitGivesEnospc, "shm.get-enospc-shmall", "shm.proc-limits") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmAll, "4"));
        ASSERT_OK_AND_ASSIGN(ShmSegment three, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page(), IPC_CREAT | 0600, ENOSPC);         // 3 + 2 > 4
        ASSERT_OK_AND_ASSIGN(ShmSegment one, ShmSegment::Create(IPC_PRIVATE, Page()));  // 3 + 1 == 4
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);  // one byte takes a whole page
        ASSERT_THAT(three.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment again, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
      },
      {.what = "filling shmall = 4 pages in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, SegmentLargerThanShmallFailsEvenWhenNoneExist, "shm.get-enospc-shmall") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmAll, "2"));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page() + 1, IPC_CREAT | 0600, ENOSPC);
        ASSERT_OK_AND_ASSIGN(ShmSegment fits, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
      },
      {.what = "creating a segment above shmall = 2 pages in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmRmidForced, LastDetachDestroysTheSegment, "shm.proc-rmid-forced-detach") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmRmidForced, "1"));
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
        const int id = seg.Release();
        ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
        ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
        ASSERT_THAT(a1.Detach(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));  // still attached once: alive
        EXPECT_EQ(ds.shm_nattch, 1u);
        ASSERT_THAT(a2.Detach(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "detaching with shm_rmid_forced = 1 in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmRmidForced, EnablingItDestroysOrphanedUnattachedSegments, "shm.proc-rmid-forced-orphans",
         "shm.proc-rmid-forced-detach") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        // A grandchild creates two segments and exits: both are orphans with no attach.
        auto p = Pipe::Create(O_CLOEXEC);
        ASSERT_TRUE(p.ok()) << p.error();
        Pipe& pipe = p.value();
        Child creator = Child::Spawn(
            [&] {
              for (int i = 0; i < 2; ++i) {
                ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
                ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
              }
            },
            {.what = "creating two segments and exiting"});
        pipe.write.Close();
        ASSERT_OK_AND_ASSIGN(int unattached, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(int attached, ReceiveInt(pipe.read.get()));
        creator.ExpectExited(0);
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(attached));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(unattached));  // survives with the setting at 0
        ASSERT_TRUE(limits::WriteProcSys(kShmRmidForced, "1"));
        EXPECT_THAT(::shmctl(unattached, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(ds, Stat(attached));  // attached to a process: kept
        EXPECT_EQ(ds.shm_nattch, 1u);
        ASSERT_THAT(at.Detach(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(attached, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "turning shm_rmid_forced on in a fresh IPC namespace"});
  c.ExpectExited(0);
}

IPC_TEST(ShmRmidForced, NeverAttachedSegmentsDieWithTheirCreator, "shm.proc-rmid-forced-exit") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  Child c = SpawnInNewIpcNamespace(
      [] {
        ASSERT_TRUE(limits::WriteProcSys(kShmRmidForced, "1"));
        auto p = Pipe::Create(O_CLOEXEC);
        ASSERT_TRUE(p.ok()) << p.error();
        Pipe& pipe = p.value();
        ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
        Child creator = Child::Spawn(
            [&] {
              for (int i = 0; i < 2; ++i) {
                ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
                ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
              }
              ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
            },
            {.what = "creating two segments, waiting, exiting"});
        pipe.write.Close();
        hs.CloseChildEnds();
        ASSERT_OK_AND_ASSIGN(int never, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(int used, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(never));  // the creator still lives: kept
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(used));
        ASSERT_TRUE(hs.Go());
        creator.ExpectExited(0);
        EXPECT_THAT(::shmctl(never, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(ds, Stat(used));  // attached elsewhere: kept
        EXPECT_EQ(ds.shm_nattch, 1u);
      },
      {.what = "letting a creator exit with shm_rmid_forced = 1 in a fresh IPC namespace"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
