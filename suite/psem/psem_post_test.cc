// sem_post(3): increments by one, EOVERFLOW at SEM_VALUE_MAX with the value unchanged, and
// async-signal-safety (a post from a signal handler).
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

IPC_TEST(PsemPost, IncrementsByOne, "psem.post-increments", "psem.getvalue-value") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_THAT(sem_post(s.get()), SyscallSucceedsWithValue(0));
    EXPECT_EQ(Value(s.get()), i);
  }
}

IPC_TEST(PsemPost, NamedSemaphoreIncrementsByOne, "psem.post-increments") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "post");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 10));
  EXPECT_THAT(sem_post(s.get()), SyscallSucceedsWithValue(0));
  EXPECT_EQ(Value(s.get()), 11);
}

class PsemPostOverflow : public ::testing::TestWithParam<SemKindRow> {};

IPC_TEST_P(PsemPostOverflow, AtSemValueMaxFailsWithEoverflowAndKeepsTheValue, "psem.post-eoverflow") {
  const SemKindRow& row = GetParam();
  std::unique_ptr<PosixName> name;
  NamedSem named;
  std::unique_ptr<SharedSem> shared;
  sem_t* s = nullptr;
  if (row.kind == SemKind::kNamed) {
    IPC_REQUIRE_DEV_SHM();
    name = std::make_unique<PosixName>(PosixIpcKind::kSemaphore, "overflow");
    // One below the maximum: the first post reaches it, the second overflows.
    ASSERT_OK_AND_ASSIGN(NamedSem n, Open(name->c_str(), O_CREAT | O_EXCL, 0600, SEM_VALUE_MAX - 1));
    named = std::move(n);
    s = named.get();
  } else {
    ASSERT_OK_AND_ASSIGN(SharedSem m,
                         SharedSem::Create(SEM_VALUE_MAX - 1, row.kind == SemKind::kProcessShared));
    shared = std::make_unique<SharedSem>(std::move(m));
    s = shared->get();
  }
  EXPECT_THAT(sem_post(s), SyscallSucceeds());
  EXPECT_EQ(Value(s), SEM_VALUE_MAX);
  EXPECT_THAT(sem_post(s), SyscallFailsWithErrno(EOVERFLOW));
  EXPECT_EQ(Value(s), SEM_VALUE_MAX);
  EXPECT_THAT(sem_post(s), SyscallFailsWithErrno(EOVERFLOW));
  // Still a working semaphore at the maximum.
  EXPECT_THAT(sem_trywait(s), SyscallSucceeds());
  EXPECT_EQ(Value(s), SEM_VALUE_MAX - 1);
  EXPECT_THAT(sem_post(s), SyscallSucceeds());
}
IPC_INSTANTIATE_TABLE(Table, PsemPostOverflow, kSemKinds);

// The handler's semaphore (a handler takes no argument).
sem_t* g_handler_sem = nullptr;
void PostFromHandler(int) {
  int saved = errno;
  sem_post(g_handler_sem);
  errno = saved;
}

IPC_TEST(PsemPost, CalledFromASignalHandler, "psem.post-async-signal-safe") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  g_handler_sem = s.get();
  {
    ScopedSigaction act(SIGUSR1, PostFromHandler);
    ASSERT_TRUE(act.ok());
    ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
    ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
    ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
  }
  g_handler_sem = nullptr;
  EXPECT_EQ(Value(s.get()), 2);
}

IPC_TEST(PsemPost, FromASignalHandlerWakesAWaitingProcess, "psem.post-async-signal-safe",
         "psem.post-wakes-waiter") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(0));
  Child waiter = Child::Spawn([&] { EXPECT_THAT(sem_wait(s.get()), SyscallSucceeds()); },
                              {.what = "waiting for a post made by a signal handler"});
  // The poster blocks in sigsuspend and posts from its SIGUSR1 handler.
  Child poster = Child::Spawn(
      [&] {
        g_handler_sem = s.get();
        ScopedSigaction act(SIGUSR1, PostFromHandler);
        ASSERT_TRUE(act.ok());
        sigset_t none;
        sigemptyset(&none);
        sigsuspend(&none);
      },
      {.what = "posting from a SIGUSR1 handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(waiter.pid(), SYS_futex));
  ASSERT_TRUE(WaitUntilBlockedIn(poster.pid(), SYS_rt_sigsuspend));
  ASSERT_THAT(poster.Kill(SIGUSR1), SyscallSucceeds());
  poster.ExpectExited(0);
  waiter.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 0);
}

}  // namespace
}  // namespace ipc
