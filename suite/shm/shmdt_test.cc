// shmdt(2) (shmop(2)): what a detach unmaps and records in shmid_ds, and its EINVAL cases.
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

IPC_TEST(ShmDt, DetachSetsDtimeLpidAndDecrementsNattch, "shm.dt-updates-ds", "shm.ctl-nattch") {
  IPC_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_dtime, 0);
  time_t before = ::time(nullptr);
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_GE(ds.shm_dtime, before);
  EXPECT_LE(ds.shm_dtime, after);
  EXPECT_EQ(ds.shm_lpid, ::getpid());
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_THAT(a2.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmDt, DetachUnmapsOnlyThatAttachment, "shm.dt-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(seg.id()));
  char* p1 = static_cast<char*>(a1.get());
  p1[Page()] = 'x';
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  EXPECT_EQ(MappingPerms(p1), "");
  EXPECT_EQ(MappingPerms(p1 + Page()), "");
  EXPECT_EQ(static_cast<char*>(a2.get())[Page()], 'x');
  EXPECT_EQ(MappingPerms(a2.get()), "rw-s");
}

IPC_TEST(ShmDt, AccessAfterDetachRaisesSigsegv, "shm.dt-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  Child c = Child::Spawn(
      [&] {
        void* p = ::shmat(seg.id(), nullptr, 0);
        ASSERT_THAT(p, SyscallSucceeds());
        static_cast<volatile char*>(p)[0] = 'a';
        PrepareToDieOf(SIGSEGV);  // before shmdt, so that nothing gets mapped at p in between
        ASSERT_THAT(::shmdt(p), SyscallSucceeds());
        (void)static_cast<volatile char*>(p)[0];
        ADD_FAILURE() << "reading a detached segment did not raise SIGSEGV";
      },
      {.what = "reading a segment after shmdt"});
  c.ExpectKilledBy(SIGSEGV);
}

IPC_TEST(ShmDt, AddressWithNoSegmentFailsWithEinval, "shm.dt-einval-not-attached") {
  AnonMapping m(Page());
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(::shmdt(m.get()), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(MappingPerms(m.get()), "rw-p") << "shmdt removed a mapping that is not a segment";
  ASSERT_OK_AND_ASSIGN(char* nothing, FreeAlignedRange(Page(), Page()));
  EXPECT_THAT(::shmdt(nothing), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmDt, SecondDetachOfAnAddressFailsWithEinval, "shm.dt-einval-not-attached") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment keep, ShmAttachment::Attach(seg.id()));
  void* p = ::shmat(seg.id(), nullptr, 0);
  ASSERT_THAT(p, SyscallSucceeds());
  ASSERT_THAT(::shmdt(p), SyscallSucceeds());
  EXPECT_THAT(::shmdt(p), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u) << "the failed shmdt detached something else";
  EXPECT_EQ(MappingPerms(keep.get()), "rw-s");
}

IPC_TEST(ShmDt, AddressInsideASegmentFailsWithEinval, "shm.dt-einval-not-attached") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  char* p = static_cast<char*>(at.get());
  EXPECT_THAT(::shmdt(p + Page()), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmdt(p + 2 * Page()), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(MappingPerms(p), "rw-s");
  EXPECT_EQ(MappingPerms(p + 2 * Page()), "rw-s");
}

IPC_TEST(ShmDt, UnalignedAddressFailsWithEinval, "shm.dt-einval-unaligned") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  EXPECT_THAT(::shmdt(static_cast<char*>(at.get()) + 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmdt(static_cast<char*>(at.get()) + Page() / 2), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 1u);
}

}  // namespace
}  // namespace ipc
