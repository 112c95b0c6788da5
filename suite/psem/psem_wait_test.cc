// sem_wait(3) and sem_trywait(3), sem_getvalue(3): decrement when positive, block at zero until a post
// (from another process or thread), EAGAIN from sem_trywait, the value never below zero, and the value
// sem_getvalue reports while processes wait (Linux: 0).
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/seed.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

class AnySem {
 public:
  static PosixResult<std::unique_ptr<AnySem>> Create(SemKind kind, unsigned value) {
    auto s = std::unique_ptr<AnySem>(new AnySem);
    if (kind == SemKind::kNamed) {
      s->name_ = std::make_unique<PosixName>(PosixIpcKind::kSemaphore, "any");
      PosixResult<NamedSem> r = Open(s->name_->c_str(), O_CREAT | O_EXCL, 0600, value);
      if (!r.ok()) return PosixResult<std::unique_ptr<AnySem>>::Error(r.error_number(), r.error());
      s->named_ = std::move(r).value();
      s->sem_ = s->named_.get();
    } else {
      PosixResult<SharedSem> r = SharedSem::Create(value, kind == SemKind::kProcessShared ? 1 : 0);
      if (!r.ok()) return PosixResult<std::unique_ptr<AnySem>>::Error(r.error_number(), r.error());
      s->shared_ = std::make_unique<SharedSem>(std::move(r).value());
      s->sem_ = s->shared_->get();
    }
    return s;
  }
  sem_t* get() const { return sem_; }

 private:
  AnySem() = default;
  std::unique_ptr<PosixName> name_;
  NamedSem named_;
  std::unique_ptr<SharedSem> shared_;
  sem_t* sem_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------------
// Decrement when positive

class PsemWaitKind : public ::testing::TestWithParam<SemKindRow> {};

IPC_TEST_P(PsemWaitKind, PositiveValueIsDecrementedAtOnce, "psem.wait-decrements", "psem.getvalue-value") {
  if (GetParam().kind == SemKind::kNamed) IPC_REQUIRE_DEV_SHM();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AnySem> s, AnySem::Create(GetParam().kind, 3));
  EXPECT_THAT(sem_wait(s->get()), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Value(s->get()), 2);
  EXPECT_THAT(sem_trywait(s->get()), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Value(s->get()), 1);
  timespec later = RealtimeIn(60000);
  EXPECT_THAT(sem_timedwait(s->get(), &later), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Value(s->get()), 0);
}

IPC_TEST_P(PsemWaitKind, TrywaitAtZeroFailsWithEagain, "psem.trywait-eagain",
           "psem.overview-value-never-negative") {
  if (GetParam().kind == SemKind::kNamed) IPC_REQUIRE_DEV_SHM();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AnySem> s, AnySem::Create(GetParam().kind, 1));
  EXPECT_THAT(sem_trywait(s->get()), SyscallSucceeds());
  EXPECT_THAT(sem_trywait(s->get()), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(sem_trywait(s->get()), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(Value(s->get()), 0);
  EXPECT_THAT(sem_post(s->get()), SyscallSucceeds());
  EXPECT_THAT(sem_trywait(s->get()), SyscallSucceeds()) << "a failed trywait changed the value";
}

IPC_TEST_P(PsemWaitKind, PostsAndWaitsBalanceExactly, "psem.overview-value-never-negative",
           "psem.post-increments", "psem.wait-decrements") {
  if (GetParam().kind == SemKind::kNamed) IPC_REQUIRE_DEV_SHM();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AnySem> s, AnySem::Create(GetParam().kind, 0));
  std::mt19937_64& rng = TestRandom();
  int n = 1 + static_cast<int>(rng() % 50);
  for (int i = 0; i < n; ++i) ASSERT_THAT(sem_post(s->get()), SyscallSucceeds());
  EXPECT_EQ(Value(s->get()), n);
  for (int i = 0; i < n; ++i) ASSERT_THAT(sem_trywait(s->get()), SyscallSucceeds()) << i << " of " << n;
  EXPECT_THAT(sem_trywait(s->get()), SyscallFailsWithErrno(EAGAIN)) << "more waits than posts succeeded";
}
IPC_INSTANTIATE_TABLE(Table, PsemWaitKind, kSemKinds);

// ---------------------------------------------------------------------------------------------------------
// Blocking at zero

IPC_TEST(PsemWait, BlocksAtZeroUntilAnotherProcessPosts, "psem.wait-blocks-until-post",
         "psem.post-wakes-waiter") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child c = Child::Spawn([&] { EXPECT_THAT(sem_wait(s.get()), SyscallSucceedsWithValue(0)); },
                         {.what = "sem_wait on a semaphore of value 0"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  // Still blocked: nothing but a post releases it.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex, milliseconds(0)));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0) << "the waiter did not consume the post";
}

IPC_TEST(PsemWait, NamedSemaphoreWaiterWokenByPostFromAnotherProcess, "psem.wait-blocks-until-post",
         "psem.post-wakes-waiter", "psem.overview-named-shared-by-name") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "wake");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  Child poster = Child::Spawn(
      [&] {
        sem_t* mine = sem_open(name.c_str(), 0);
        ASSERT_NE(mine, SEM_FAILED) << DescribeErrno(errno);
        EXPECT_THAT(sem_post(mine), SyscallSucceeds());
      },
      {.what = "posting a named semaphore"});
  // The parent waits (in the futex) until the child's post arrives: a timed wait bounds it.
  timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(5000)).count());
  EXPECT_THAT(sem_timedwait(s.get(), &deadline), SyscallSucceedsWithValue(0));
  poster.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemWait, OnePostReleasesExactlyOneOfTwoWaiters, "psem.post-wakes-waiter",
         "psem.overview-value-never-negative") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  ASSERT_OK_AND_ASSIGN(SharedSem done, SharedSem::Create(0));
  auto waiter = [&] {
    EXPECT_THAT(sem_wait(s.get()), SyscallSucceeds());
    EXPECT_THAT(sem_post(done.get()), SyscallSucceeds());
  };
  Child a = Child::Spawn(waiter, {.what = "first waiter"});
  Child b = Child::Spawn(waiter, {.what = "second waiter"});
  ASSERT_TRUE(WaitUntilBlockedIn(a.pid(), SYS_futex));
  ASSERT_TRUE(WaitUntilBlockedIn(b.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(5000)).count());
  ASSERT_THAT(sem_timedwait(done.get(), &deadline), SyscallSucceeds()) << "no waiter was woken";
  // The other one is still waiting: exactly one of them is asleep in the futex again (or still).
  bool a_blocked = static_cast<bool>(WaitUntilBlockedIn(a.pid(), SYS_futex, milliseconds(0)));
  bool b_blocked = static_cast<bool>(WaitUntilBlockedIn(b.pid(), SYS_futex, milliseconds(0)));
  EXPECT_NE(a_blocked, b_blocked) << "one post should release exactly one waiter";
  // (Not sem_getvalue: with a waiter left, what it reports is rule psem.getvalue-waiters-zero.)
  EXPECT_THAT(sem_trywait(done.get()), SyscallFailsWithErrno(EAGAIN)) << "both waiters passed one post";
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  a.ExpectExited(0);
  b.ExpectExited(0);
  EXPECT_EQ(Value(done.get()), 1);
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemGetvalue, ZeroWhileSeveralProcessesWait, "psem.getvalue-waiters-zero") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  constexpr int kWaiters = 3;
  std::vector<Child> waiters;
  for (int i = 0; i < kWaiters; ++i)
    waiters.push_back(Child::Spawn([&] { EXPECT_THAT(sem_wait(s.get()), SyscallSucceeds()); },
                                   {.what = "waiting on a semaphore of value 0"}));
  for (Child& w : waiters) ASSERT_TRUE(WaitUntilBlockedIn(w.pid(), SYS_futex));
  int v = 12345;
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceedsWithValue(0));
  EXPECT_EQ(v, 0) << "Linux reports 0, not minus the number of waiters";
  for (int i = 0; i < kWaiters; ++i) ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  for (Child& w : waiters) w.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

IPC_TEST(PsemGetvalue, ZeroWhileAThreadWaits, "psem.getvalue-waiters-zero") {
  // In a child, so that a waiter that is never released is bounded by the child's deadline.
  Child c = Child::Spawn(
      [&] {
        sem_t s;
        ASSERT_THAT(sem_init(&s, 0, 0), SyscallSucceeds());
        std::atomic<pid_t> tid{0};
        std::thread t([&] {
          tid = gettid();
          EXPECT_THAT(sem_wait(&s), SyscallSucceeds());
        });
        while (tid.load() == 0) std::this_thread::yield();
        EXPECT_TRUE(WaitUntilBlockedIn(getpid(), SYS_futex, kDefaultBlockDeadline, tid.load()));
        int v = 12345;
        EXPECT_THAT(sem_getvalue(&s, &v), SyscallSucceedsWithValue(0));
        EXPECT_EQ(v, 0) << "Linux reports 0, not minus the number of waiters";
        EXPECT_THAT(sem_post(&s), SyscallSucceeds());
        t.join();
      },
      {.what = "sem_getvalue while a thread waits"});
  c.ExpectExited(0);
}

IPC_TEST(PsemGetvalue, FollowsEveryPostAndWait, "psem.getvalue-value") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(2));
  int v = -1;
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceedsWithValue(0));
  EXPECT_EQ(v, 2);
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceedsWithValue(0));
  EXPECT_EQ(v, 3);
  ASSERT_THAT(sem_wait(s.get()), SyscallSucceeds());
  ASSERT_THAT(sem_wait(s.get()), SyscallSucceeds());
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceedsWithValue(0));
  EXPECT_EQ(v, 1);
  // A child's change is seen too (the value lives in the shared semaphore, not in the handle).
  Child c =
      Child::Spawn([&] { EXPECT_THAT(sem_post(s.get()), SyscallSucceeds()); }, {.what = "posting once"});
  c.ExpectExited(0);
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceedsWithValue(0));
  EXPECT_EQ(v, 2);
}

}  // namespace
}  // namespace ipc
