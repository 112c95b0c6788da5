// semctl(2) errors: EFAULT for each command that takes a buffer, EINVAL (command, id, SEM_STAT index) and
// EIDRM (SETALL racing with IPC_RMID, parked on a userfaultfd page).
// Rules: suite/rules/sem.ini. Helpers: sem_util.h.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "sem_util.h"

namespace ipc {
namespace {

using namespace sem_util;

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EFAULT for each command that takes a buffer.

class SemCtlEfault : public ::testing::TestWithParam<CommandCase> {};

IPC_TEST_P(SemCtlEfault, InaccessibleBufferFailsEfault, "sem.semctl-efault") {
  const int cmd = GetParam().cmd;
  InaccessiblePage bad;
  ASSERT_TRUE(bad.ok());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0600));
  ASSERT_THAT(SetAll(set.id(), {1, 2, 3}), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds before, Stat(set.id()));
  int target = set.id();
  if (cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
    target = IndexOf(set.id());
    ASSERT_GE(target, 0);
  }
  if (cmd == IPC_INFO || cmd == SEM_INFO) target = 0;
  Child c = Child::Spawn(
      [&] {
        semun arg{};
        arg.buf = bad.as<semid_ds>();
        EXPECT_THAT(semctl(target, 0, cmd, arg), SyscallFailsWithErrno(EFAULT));
      },
      {.what = std::string("semctl ") + GetParam().name + " with an inaccessible buffer"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode, before.sem_perm.mode);
  EXPECT_EQ(after.sem_perm.uid, before.sem_perm.uid);
}

INSTANTIATE_TEST_SUITE_P(Commands, SemCtlEfault,
                         ::testing::Values(CommandCase{"IPC_STAT", IPC_STAT}, CommandCase{"IPC_SET", IPC_SET},
                                           CommandCase{"GETALL", GETALL}, CommandCase{"SETALL", SETALL},
                                           CommandCase{"IPC_INFO", IPC_INFO},
                                           CommandCase{"SEM_INFO", SEM_INFO},
                                           CommandCase{"SEM_STAT", SEM_STAT},
                                           CommandCase{"SEM_STAT_ANY", SEM_STAT_ANY}),
                         CommandName);

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EINVAL and EIDRM.

IPC_TEST(SemCtlErrors, UnknownCommandFailsEinval, "sem.semctl-einval-cmd") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  semun arg{};
  EXPECT_THAT(semctl(set.id(), 0, 12345, arg), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semctl(set.id(), 0, -1, arg), SyscallFailsWithErrno(EINVAL));
  // The set is still there.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemCtlErrors, NegativeIdFailsEinval, "sem.semctl-einval-id") {
  EXPECT_THAT(GetVal(-1, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(SetVal(-1, 0, 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(Stat(-1).error_number(), EINVAL);
  EXPECT_THAT(semctl(-1, 0, IPC_RMID), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemCtlErrors, RemovedIdFailsEinval, "sem.semctl-einval-id", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  const int id = set.id();
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(GetVal(id, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(SetVal(id, 0, 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetNcnt(id, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(SetAll(id, {1, 1}), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(Stat(id).error_number(), EINVAL);
  EXPECT_THAT(semctl(id, 0, IPC_RMID), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemCtlErrors, SemStatOfUnusedIndexFailsEinval, "sem.semctl-einval-sem-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  ASSERT_THAT(CallCommand(set.id(), index, SEM_STAT), SyscallSucceedsWithValue(set.id()));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(CallCommand(-1, index, SEM_STAT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(CallCommand(-1, index, SEM_STAT_ANY), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemCtlErrors, SetallRacingWithRemovalFailsEidrm, "sem.semctl-eidrm") {
  IPC_REQUIRE_EFFECTIVE_CAPABILITY(CAP_SYS_PTRACE, "handle kernel-mode faults with userfaultfd");
  {
    FileDescriptor probe(static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC)));
    if (!probe.valid()) GTEST_SKIP() << "userfaultfd is not available: " << DescribeErrno(errno);
  }
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  // SETALL copies the new values from the caller after looking the set up and before locking it. The
  // values live in a page whose first touch is held by userfaultfd, so the call is parked exactly in that
  // window while the set is removed; when the page is supplied, SETALL finds the set gone: EIDRM.
  Child c = Child::Spawn(
      [&] {
        const size_t page = Page();
        FileDescriptor uffd(static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC)));
        ASSERT_TRUE(uffd.valid()) << DescribeErrno(errno);
        uffdio_api api{};
        api.api = UFFD_API;
        ASSERT_THAT(ioctl(uffd.get(), UFFDIO_API, &api), SyscallSucceeds());
        void* area = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(area, MAP_FAILED);
        uffdio_register reg{};
        reg.range.start = reinterpret_cast<uintptr_t>(area);
        reg.range.len = page;
        reg.mode = UFFDIO_REGISTER_MODE_MISSING;
        ASSERT_THAT(ioctl(uffd.get(), UFFDIO_REGISTER, &reg), SyscallSucceeds());

        std::atomic<pid_t> tid{0};
        int rc = 0;
        int err = 0;
        std::thread setter([&] {
          tid = gettid();
          semun arg{};
          arg.array = static_cast<unsigned short*>(area);
          rc = semctl(set.id(), 0, SETALL, arg);
          err = errno;
        });
        while (tid.load() == 0) sched_yield();
        ::testing::AssertionResult parked =
            WaitUntilBlockedIn(getpid(), SYS_semctl, kDefaultBlockDeadline, tid);
        EXPECT_TRUE(parked);
        if (parked) {
          EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallSucceeds());
        }
        // Supply the page (zeros: valid values) whatever happened, so that the thread can finish.
        std::vector<char> zeros(page, 0);
        uffdio_copy copy{};
        copy.dst = reinterpret_cast<uintptr_t>(area);
        copy.src = reinterpret_cast<uintptr_t>(zeros.data());
        copy.len = page;
        EXPECT_THAT(ioctl(uffd.get(), UFFDIO_COPY, &copy), SyscallSucceeds());
        setter.join();
        if (parked) {
          EXPECT_EQ(rc, -1);
          EXPECT_EQ(err, EIDRM) << "SETALL failed with " << DescribeErrno(err);
        }
      },
      {.what = "SETALL parked on a userfaultfd page while the set is removed"});
  c.ExpectExited(0);
  EXPECT_TRUE(set.ConfirmRemoved());
}

}  // namespace
}  // namespace ipc
