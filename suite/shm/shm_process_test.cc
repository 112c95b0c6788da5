// Segments between processes: data shared while attached, attachments inherited across fork(2), and
// detached by exit and execve(2) (shmop(2), fork(2), execve(2)). Rules: suite/rules/shm.ini.
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

IPC_TEST(ShmShare, ChildWritesAndTheParentSeesItWhileBothAreAttached, "shm.shared-data") {
  const size_t size = 2 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  ASSERT_OK_AND_ASSIGN(ShmAttachment mine, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmAttachment its, ShmAttachment::Attach(seg.id()));  // its own attach
        Fill(its.get(), size, 3);
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "writing a segment in a child"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  EXPECT_EQ(FirstMismatch(mine.get(), size, 3), size);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
}

IPC_TEST(ShmShare, ParentWritesAfterTheForkAndTheChildSeesIt, "shm.shared-data", "shm.fork-inherits") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  std::memcpy(at.get(), "before fork", 12);
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        EXPECT_STREQ(static_cast<const char*>(at.get()), "before fork");
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        // Not a copy made at fork time: the parent's later write shows through the inherited attachment.
        EXPECT_STREQ(static_cast<const char*>(at.get()), "after fork");
      },
      {.what = "reading an inherited attachment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  std::memcpy(at.get(), "after fork", 11);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
}

IPC_TEST(ShmShare, OneChildWritesAndAnotherReadsLater, "shm.shared-data", "shm.ctl-persist") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  const size_t size = 3 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  Child writer = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
        Fill(at.get(), size, 11);
      },
      {.what = "writing the segment"});
  writer.ExpectExited(0);
  Child reader = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
        EXPECT_EQ(FirstMismatch(at.get(), size, 11), size);
      },
      {.what = "reading the segment"});
  reader.ExpectExited(0);
}

IPC_TEST(ShmShare, AtomicIncrementsFromTwoProcessesAllLand, "shm.shared-data") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  auto* counter = static_cast<long*>(at.get());
  constexpr long kPerChild = 100000;
  auto body = [&] {
    ASSERT_OK_AND_ASSIGN(ShmAttachment its, ShmAttachment::Attach(seg.id()));
    auto* c = static_cast<long*>(its.get());
    for (long i = 0; i < kPerChild; ++i) __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
  };
  Child a = Child::Spawn(body, {.what = "incrementing a shared counter"});
  Child b = Child::Spawn(body, {.what = "incrementing a shared counter"});
  a.ExpectExited(0);
  b.ExpectExited(0);
  EXPECT_EQ(__atomic_load_n(counter, __ATOMIC_SEQ_CST), 2 * kPerChild);
}

IPC_TEST(ShmFork, ForkedChildInheritsTheAttachmentAndIsCounted, "shm.fork-inherits", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  std::memcpy(at.get(), "inherited", 10);
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(MappingPerms(at.get()), "rw-s");
        EXPECT_STREQ(static_cast<const char*>(at.get()), "inherited");
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "holding an inherited attachment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 2u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmFork, ChildDetachingItsInheritedCopyLeavesTheParentAttached, "shm.fork-inherits",
         "shm.dt-updates-ds", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmdt(at.get()), SyscallSucceeds());
        EXPECT_EQ(MappingPerms(at.get()), "");
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "detaching an inherited attachment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_lpid, c.pid());
  EXPECT_EQ(MappingPerms(at.get()), "rw-s");
  static_cast<char*>(at.get())[0] = 'p';  // still usable here
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmExit, ExitDetachesEverySegment, "shm.exit-detaches", "shm.ctl-nattch") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment s1, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmSegment s2, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        // Plain shmat without shmdt: only the exit detaches these.
        ASSERT_THAT(::shmat(s1.id(), nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(::shmat(s1.id(), nullptr, SHM_RDONLY), SyscallSucceeds());
        ASSERT_THAT(::shmat(s2.id(), nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "exiting with segments attached"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds d1, Stat(s1.id()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds d2, Stat(s2.id()));
  EXPECT_EQ(d1.shm_nattch, 2u);
  EXPECT_EQ(d2.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(d1, Stat(s1.id()));
  ASSERT_OK_AND_ASSIGN(d2, Stat(s2.id()));
  EXPECT_EQ(d1.shm_nattch, 0u);
  EXPECT_EQ(d2.shm_nattch, 0u);
}

IPC_TEST(ShmExit, KilledProcessIsDetached, "shm.exit-detaches", "shm.ctl-nattch") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(seg.id(), nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        hs.AwaitGo();  // killed here
      },
      {.what = "waiting with a segment attached until killed"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_THAT(c.Kill(SIGKILL), SyscallSucceeds());
  c.ExpectKilledBy(SIGKILL);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

// The child attaches, then execs this binary's "write-byte" helper on a full pipe: the helper blocks in
// write(2), and while it does, the test looks at shm_nattch of the exec'd process.
IPC_TEST(ShmExec, ExecDetachesEverySegment, "shm.exec-detaches", "shm.ctl-nattch") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment s1, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmSegment s2, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment mine, ShmAttachment::Attach(s1.id()));
  ASSERT_OK_AND_ASSIGN(Pipe full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(full.write.get()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(s1.id(), nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(::shmat(s2.id(), nullptr, SHM_RDONLY), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        ExecHelper({"write-byte", std::to_string(full.write.get())});
        ADD_FAILURE() << "exec of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "exec'ing with segments attached"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds d1, Stat(s1.id()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds d2, Stat(s2.id()));
  EXPECT_EQ(d1.shm_nattch, 3u);  // this process, the child's inherited copy and the child's own attach
  EXPECT_EQ(d2.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));  // the exec'd helper, alive
  ASSERT_OK_AND_ASSIGN(d1, Stat(s1.id()));
  ASSERT_OK_AND_ASSIGN(d2, Stat(s2.id()));
  EXPECT_EQ(d1.shm_nattch, 1u) << "the exec'd process still has s1 attached";
  EXPECT_EQ(d2.shm_nattch, 0u) << "the exec'd process still has s2 attached";
  std::vector<char> drain(filled);
  ASSERT_THAT(ReadAll(full.read.get(), drain.data(), drain.size()), SyscallSucceeds());
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
