// ipc_namespaces(7) for shared memory segments: a segment is visible only in the IPC namespace it was
// created in, by key and by id; the same key names a different segment in another namespace. (msg and
// sem have the same tests in msg_namespace_test.cc and sem_namespace_test.cc.) Rules: suite/rules/shm.ini.
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>

#include "ipcsuite/fixtures.h"
#include "shm_util.h"

namespace ipc {
namespace {

using namespace shm_util;

IPC_TEST(ShmNamespace, SegmentIsNotFoundByKeyFromAnotherIpcNamespace, "shm.namespace-objects") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  const key_t key = kKeyBase + 0x4e01;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, 3 * Page(), IPC_CREAT | IPC_EXCL | 0600));
  SpawnInNewIpcNamespace(
      [&] {
        EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
        struct shm_info info {};
        ASSERT_THAT(shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.used_ids, 0) << "a new IPC namespace has no segments";
        // The same key is free here and names a segment of its own.
        ASSERT_OK_AND_ASSIGN(ShmSegment mine, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(mine.id()));
        EXPECT_EQ(ds.shm_segsz, Page());
      },
      {.what = "looking for the segment by key from a new IPC namespace"})
      .ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 3 * Page()) << "the child's segment is not this one";
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

IPC_TEST(ShmNamespace, SegmentIdIsInvalidInAnotherIpcNamespace, "shm.namespace-objects") {
  IPC_REQUIRE_NEW_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  SpawnInNewIpcNamespace(
      [&] {
        struct shmid_ds ds {};
        EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        EXPECT_EQ(shmat(id, nullptr, 0), reinterpret_cast<void*>(-1));
        EXPECT_EQ(errno, EINVAL) << DescribeErrno(errno);
        EXPECT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "using the segment's id from a new IPC namespace"})
      .ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_segsz, Page()) << "the IPC_RMID in the other namespace did not reach it";
}

}  // namespace
}  // namespace ipc
