// shmctl(2) IPC_RMID and a segment's lifetime: destroyed at once or on the last detach (also by exit,
// kill and exec), SHM_DEST, the key released, attaching a marked segment (Linux), and a segment that
// outlives its creator. Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmRmid, UnattachedSegmentIsDestroyedAtOnce, "shm.ctl-rmid-immediate", "shm.ctl-einval-id",
         "shm.at-einval-id") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_SHMAT_FAILS(id, nullptr, 0, EINVAL);
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, AttachedSegmentStaysUsableWithItsData, "shm.ctl-rmid-deferred", "shm.fork-inherits") {
  const size_t size = 2 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  Fill(at.get(), size, 5);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_EQ(FirstMismatch(at.get(), size, 5), size) << "IPC_RMID lost the data of an attached segment";
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_segsz, size);
  EXPECT_EQ(ds.shm_nattch, 1u);
  Fill(at.get(), size, 6);  // still writable
  Child c = Child::Spawn([&] { EXPECT_EQ(FirstMismatch(at.get(), size, 6), size); },
                         {.what = "reading a removed segment through an inherited attachment"});
  c.ExpectExited(0);
}

IPC_TEST(ShmRmid, MarkedSegmentHasShmDestInItsMode, "shm.ctl-rmid-shm-dest") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0640));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, SHM_DEST | 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmRmid, KeyIsReleasedWhileTheSegmentIsStillAttached, "shm.ctl-rmid-key-released") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 20;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_SHMGET_FAILS(key, 0, 0, ENOENT);
  EXPECT_SHMGET_FAILS(key, Page(), 0600, ENOENT);
}

IPC_TEST(ShmRmid, SameKeyThenCreatesANewSeparateSegment, "shm.ctl-rmid-key-released", "shm.get-new-zeroed") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 21;
  ASSERT_OK_AND_ASSIGN(ShmSegment old_seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  const int old_id = old_seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment old_at, ShmAttachment::Attach(old_id));
  std::memcpy(old_at.get(), "old", 4);
  ASSERT_THAT(old_seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmSegment new_seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(new_seg.id(), old_id);
  EXPECT_THAT(::shmget(key, 0, 0), SyscallSucceedsWithValue(new_seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment new_at, ShmAttachment::Attach(new_seg.id()));
  EXPECT_EQ(static_cast<const char*>(new_at.get())[0], 0) << "the new segment is not zero-filled";
  std::memcpy(new_at.get(), "new", 4);
  EXPECT_STREQ(static_cast<const char*>(old_at.get()), "old");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(old_id));
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachmentIsDetached, "shm.ctl-rmid-last-detach",
         "shm.ctl-rmid-deferred") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  static_cast<char*>(a2.get())[0] = 'k';
  EXPECT_EQ(static_cast<char*>(a2.get())[0], 'k');
  ASSERT_THAT(a2.Detach(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_SHMAT_FAILS(id, nullptr, 0, EINVAL);
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessExits, "shm.ctl-rmid-last-detach", "shm.exit-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "holding the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessIsKilled, "shm.ctl-rmid-last-detach",
         "shm.exit-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        hs.AwaitGo();  // killed here
      },
      {.what = "holding the last attachment of a removed segment until killed"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(c.Kill(SIGKILL), SyscallSucceeds());
  c.ExpectKilledBy(SIGKILL);
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessExecs, "shm.ctl-rmid-last-detach", "shm.exec-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Pipe full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(full.write.get()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        ExecHelper({"write-byte", std::to_string(full.write.get())});
        ADD_FAILURE() << "exec of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "exec'ing with the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_TRUE(hs.Go());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));  // the exec'd helper, alive
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL)) << "still there after the exec";
  std::vector<char> drain(filled);
  ASSERT_THAT(ReadAll(full.read.get(), drain.data(), drain.size()), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(ShmRmid, MarkedSegmentCanStillBeAttached, "shm.at-removed-linux", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
  std::memcpy(a1.get(), "marked", 7);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
  EXPECT_STREQ(static_cast<const char*>(a2.get()), "marked");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 2u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST) << "attaching undid the removal";
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_THAT(a2.Detach(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, AnotherProcessCanAttachAMarkedSegment, "shm.at-removed-linux", "shm.shared-data") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  std::memcpy(at.get(), "kept", 5);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmdt(at.get()), SyscallSucceeds());  // only its own attach from here on
        ASSERT_OK_AND_ASSIGN(ShmAttachment its, ShmAttachment::Attach(id));
        EXPECT_STREQ(static_cast<const char*>(its.get()), "kept");
        std::memcpy(its.get(), "seen", 5);
      },
      {.what = "attaching a removed segment in another process"});
  c.ExpectExited(0);
  EXPECT_STREQ(static_cast<const char*>(at.get()), "seen");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmRmid, ChildKeepsAMarkedSegmentAliveAfterTheParentDetaches, "shm.ctl-rmid-deferred",
         "shm.ctl-rmid-last-detach", "shm.fork-inherits") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  std::memcpy(at.get(), "parent", 7);
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        EXPECT_STREQ(static_cast<const char*>(at.get()), "parent");
        std::memcpy(at.get(), "child", 6);
        EXPECT_STREQ(static_cast<const char*>(at.get()), "child");
      },
      {.what = "using the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(at.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, RemovalIgnoresBuf, "shm.ctl-rmid-buf-ignored") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  // In a child, so that a library which touched buf would die there rather than take the test down.
  Child c =
      Child::Spawn([&] { EXPECT_THAT(::shmctl(id, IPC_RMID, bad.as<struct shmid_ds>()), SyscallSucceeds()); },
                   {.what = "IPC_RMID with an inaccessible buf"});
  c.ExpectExited(0);
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmLifetime, SegmentOutlivesItsLastDetachAndItsCreator, "shm.ctl-persist") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(
      SegmentFromChild made,
      CreateSegmentInChild(Page(), IPC_CREAT | 0600, "creating, filling and leaving a segment",
                           [](const ShmSegment& seg) {
                             ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
                             std::memcpy(at.get(), "persist", 8);
                           }));
  const int id = made.seg.id();
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_cpid, made.creator);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, 0);
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  EXPECT_STREQ(static_cast<const char*>(at.get()), "persist");
}

}  // namespace
}  // namespace ipc
