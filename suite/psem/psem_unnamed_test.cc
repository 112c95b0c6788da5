// Unnamed semaphores, sem_init(3) and sem_destroy(3): initial values and EINVAL, thread-shared (pshared 0)
// between threads, process-shared (pshared 1) in MAP_SHARED anonymous memory across fork, in a POSIX shared
// memory object mapped at two addresses, and in a System V segment; destroy and initialise again.
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

// ---------------------------------------------------------------------------------------------------------
// sem_init(3) values

struct InitValueRow {
  const char* name;
  rules::RuleList rules;
  int pshared;
  unsigned value;
};
const InitValueRow kInitValues[] = {
    {"ThreadSharedZero", {}, 0, 0},
    {"ThreadSharedSemValueMax", {}, 0, SEM_VALUE_MAX},
    {"ProcessSharedZero", {}, 1, 0},
    {"ProcessSharedFive", {}, 1, 5},
    {"ProcessSharedSemValueMax", {}, 1, SEM_VALUE_MAX},
};
class PsemInitValue : public ::testing::TestWithParam<InitValueRow> {};

IPC_TEST_P(PsemInitValue, StartsWithTheGivenValue, "psem.init-value", "psem.getvalue-value") {
  const InitValueRow& row = GetParam();
  void* p = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED) << DescribeErrno(errno);
  sem_t* s = static_cast<sem_t*>(p);
  EXPECT_THAT(sem_init(s, row.pshared, row.value), SyscallSucceedsWithValue(0));
  int v = -1;
  EXPECT_THAT(sem_getvalue(s, &v), SyscallSucceeds());
  EXPECT_EQ(v, static_cast<int>(row.value));
  if (row.value > 0) {
    EXPECT_THAT(sem_trywait(s), SyscallSucceeds());
    EXPECT_EQ(Value(s), static_cast<int>(row.value) - 1);
  } else {
    EXPECT_THAT(sem_trywait(s), SyscallFailsWithErrno(EAGAIN));
  }
  EXPECT_THAT(sem_destroy(s), SyscallSucceeds());
  munmap(p, sizeof(sem_t));
}
IPC_INSTANTIATE_TABLE(Table, PsemInitValue, kInitValues);

struct InitEinvalRow {
  const char* name;
  rules::RuleList rules;
  int pshared;
  unsigned value;
};
const InitEinvalRow kInitEinval[] = {
    {"ThreadSharedSemValueMaxPlusOne", {}, 0, static_cast<unsigned>(SEM_VALUE_MAX) + 1},
    {"ProcessSharedSemValueMaxPlusOne", {}, 1, static_cast<unsigned>(SEM_VALUE_MAX) + 1},
    {"ProcessSharedUintMax", {}, 1, UINT_MAX},
};
class PsemInitEinval : public ::testing::TestWithParam<InitEinvalRow> {};

IPC_TEST_P(PsemInitEinval, ValueAboveSemValueMaxFails, "psem.init-einval") {
  const InitEinvalRow& row = GetParam();
  sem_t s;
  EXPECT_THAT(sem_init(&s, row.pshared, row.value), SyscallFailsWithErrno(EINVAL));
}
IPC_INSTANTIATE_TABLE(Table, PsemInitEinval, kInitEinval);

// ---------------------------------------------------------------------------------------------------------
// Thread-shared

IPC_TEST(PsemInit, ThreadSharedSemaphoreWakesAnotherThread, "psem.init-pshared-threads",
         "psem.overview-thread-shared", "psem.post-wakes-waiter", "psem.wait-blocks-until-post") {
  sem_t s;  // on this thread's stack: visible to every thread of the process
  ASSERT_THAT(sem_init(&s, 0, 0), SyscallSucceeds());
  std::atomic<pid_t> tid{0};
  std::atomic<int> result{-2};
  std::atomic<int> result_errno{0};
  std::thread waiter([&] {
    tid = gettid();
    int r = sem_wait(&s);
    result_errno = errno;
    result = r;
  });
  while (tid.load() == 0) std::this_thread::yield();
  ::testing::AssertionResult blocked =
      WaitUntilBlockedIn(getpid(), SYS_futex, kDefaultBlockDeadline, tid.load());
  EXPECT_TRUE(blocked);
  EXPECT_EQ(result.load(), -2) << "sem_wait returned on a semaphore of value 0";
  EXPECT_THAT(sem_post(&s), SyscallSucceeds());
  waiter.join();
  EXPECT_EQ(result.load(), 0) << DescribeErrno(result_errno.load());
  EXPECT_EQ(Value(&s), 0);
  EXPECT_THAT(sem_destroy(&s), SyscallSucceeds());
}

IPC_TEST(PsemInit, ThreadSharedSemaphoreCountsPostsOfManyThreads, "psem.init-pshared-threads",
         "psem.post-increments") {
  sem_t s;
  ASSERT_THAT(sem_init(&s, 0, 0), SyscallSucceeds());
  constexpr int kThreads = 4;
  constexpr int kPosts = 250;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t)
    posters.emplace_back([&] {
      for (int i = 0; i < kPosts; ++i) sem_post(&s);
    });
  for (auto& t : posters) t.join();
  EXPECT_EQ(Value(&s), kThreads * kPosts);
  EXPECT_THAT(sem_destroy(&s), SyscallSucceeds());
}

// ---------------------------------------------------------------------------------------------------------
// Process-shared

IPC_TEST(PsemInit, ProcessSharedSemaphoreInSharedMemorySyncsParentAndChild, "psem.init-pshared-processes",
         "psem.overview-process-shared", "psem.post-wakes-waiter", "psem.wait-blocks-until-post") {
  ASSERT_OK_AND_ASSIGN(SharedSem ping, SharedSem::Create(0));
  ASSERT_OK_AND_ASSIGN(SharedSem pong, SharedSem::Create(0));
  constexpr int kRounds = 20;
  Child c = Child::Spawn(
      [&] {
        for (int i = 0; i < kRounds; ++i) {
          ASSERT_THAT(sem_wait(ping.get()), SyscallSucceeds());
          ASSERT_THAT(sem_post(pong.get()), SyscallSucceeds());
        }
      },
      {.what = "ping-pong on process-shared semaphores"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_THAT(sem_post(ping.get()), SyscallSucceeds());
    timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(5000)).count());
    ASSERT_THAT(sem_timedwait(pong.get(), &deadline), SyscallSucceeds()) << "round " << i;
  }
  c.ExpectExited(0);
  EXPECT_EQ(Value(ping.get()), 0);
  EXPECT_EQ(Value(pong.get()), 0);
}

IPC_TEST(PsemInit, ProcessSharedSemaphoreInAShmOpenObjectMappedTwice, "psem.init-pshared-processes",
         "psem.overview-process-shared") {
  PosixName shm(PosixIpcKind::kSharedMemory, "psem-shm");
  int fd = shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && (errno == ENOENT || errno == ENOSYS))
    GTEST_SKIP() << "shm_open is unavailable (no /dev/shm?): " << DescribeErrno(errno);
  ASSERT_GE(fd, 0) << DescribeErrno(errno);
  FileDescriptor owner(fd);
  long page = sysconf(_SC_PAGESIZE);
  ASSERT_THAT(ftruncate(fd, page), SyscallSucceeds());
  void* a = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(a, MAP_FAILED) << DescribeErrno(errno);
  void* b = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(b, MAP_FAILED) << DescribeErrno(errno);
  ASSERT_NE(a, b);
  sem_t* sa = static_cast<sem_t*>(a);
  sem_t* sb = static_cast<sem_t*>(b);
  ASSERT_THAT(sem_init(sa, 1, 0), SyscallSucceeds());
  // The same semaphore through the other mapping.
  EXPECT_THAT(sem_post(sb), SyscallSucceeds());
  EXPECT_EQ(Value(sa), 1);
  EXPECT_THAT(sem_trywait(sa), SyscallSucceeds());
  EXPECT_EQ(Value(sb), 0);
  // A child that maps the object anew by name (its own address) waits; the parent posts via `b`.
  Child c = Child::Spawn(
      [&] {
        int cfd = shm_open(shm.c_str(), O_RDWR, 0);
        ASSERT_GE(cfd, 0) << DescribeErrno(errno);
        void* m = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        ASSERT_NE(m, MAP_FAILED) << DescribeErrno(errno);
        munmap(a, static_cast<size_t>(page));  // only the fresh mapping is left in the child
        munmap(b, static_cast<size_t>(page));
        EXPECT_THAT(sem_wait(static_cast<sem_t*>(m)), SyscallSucceeds());
        EXPECT_THAT(sem_post(static_cast<sem_t*>(m)), SyscallSucceeds());
        EXPECT_THAT(sem_post(static_cast<sem_t*>(m)), SyscallSucceeds());
      },
      {.what = "waiting on a semaphore in a shm_open object mapped anew"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(sb), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(sa), 2);
  EXPECT_THAT(sem_destroy(sa), SyscallSucceeds());
  munmap(a, static_cast<size_t>(page));
  munmap(b, static_cast<size_t>(page));
}

IPC_TEST(PsemInit, ProcessSharedSemaphoreInASysvSegment, "psem.init-pshared-processes",
         "psem.overview-process-shared") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, sizeof(sem_t)));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  sem_t* s = static_cast<sem_t*>(at.get());
  ASSERT_THAT(sem_init(s, 1, 0), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        // Attach again: a second address for the same semaphore.
        void* mine = shmat(seg.id(), nullptr, 0);
        ASSERT_NE(mine, reinterpret_cast<void*>(-1)) << DescribeErrno(errno);
        EXPECT_THAT(sem_wait(static_cast<sem_t*>(mine)), SyscallSucceeds());
        EXPECT_THAT(sem_post(static_cast<sem_t*>(mine)), SyscallSucceeds());
        EXPECT_THAT(sem_post(static_cast<sem_t*>(mine)), SyscallSucceeds());
        shmdt(mine);
      },
      {.what = "waiting on a semaphore in a System V segment"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s), 2);
  EXPECT_THAT(sem_destroy(s), SyscallSucceeds());
}

// ---------------------------------------------------------------------------------------------------------
// sem_destroy(3)

IPC_TEST(PsemDestroy, DestroyedSemaphoreCanBeInitialisedAgain, "psem.destroy-then-reinit",
         "psem.init-value") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(4));
  EXPECT_THAT(sem_destroy(s.get()), SyscallSucceedsWithValue(0));
  ASSERT_THAT(sem_init(s.get(), 1, 1), SyscallSucceeds());
  EXPECT_EQ(Value(s.get()), 1);
  EXPECT_THAT(sem_trywait(s.get()), SyscallSucceeds());
  EXPECT_THAT(sem_trywait(s.get()), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PsemDestroy, DestroyAfterWaitersAreGoneSucceeds, "psem.destroy-then-reinit") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn([&] { EXPECT_THAT(sem_wait(s.get()), SyscallSucceeds()); },
                         {.what = "waiting once on a process-shared semaphore"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(sem_destroy(s.get()), SyscallSucceedsWithValue(0));
  ASSERT_THAT(sem_init(s.get(), 1, 0), SyscallSucceeds());
  EXPECT_EQ(Value(s.get()), 0);
}

}  // namespace
}  // namespace ipc
