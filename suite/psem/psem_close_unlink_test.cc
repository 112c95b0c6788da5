// sem_close(3) and sem_unlink(3): what closing releases, closing something that is not an open named
// semaphore, the name removed at once while open handles live on, and sem_unlink's errors (ENOENT,
// ENAMETOOLONG, EACCES).
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

// ---------------------------------------------------------------------------------------------------------
// sem_close(3)

IPC_TEST(PsemClose, LastCloseUnmapsTheSemaphoreButKeepsIt, "psem.close-releases") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "close");
  ASSERT_OK_AND_ASSIGN(NamedSem created, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 3));
  ASSERT_THAT(created.Close(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), 0));
  std::string path = DevShmPath(name.str());
  ASSERT_TRUE(MapsFile(path)) << "an open named semaphore is not mapped from " << path;
  EXPECT_THAT(s.Close(), SyscallSucceeds());
  EXPECT_FALSE(MapsFile(path)) << path << " is still mapped after sem_close";
  ASSERT_OK_AND_ASSIGN(NamedSem again, Open(name.c_str(), 0));
  EXPECT_EQ(Value(again.get()), 3);
}

struct CloseEinvalRow {
  const char* name;
  rules::RuleList rules;
  int pshared;
};
const CloseEinvalRow kCloseEinval[] = {
    {"UnnamedThreadShared", {}, 0},
    {"UnnamedProcessShared", {}, 1},
};
class PsemCloseEinval : public ::testing::TestWithParam<CloseEinvalRow> {};

IPC_TEST_P(PsemCloseEinval, UnnamedSemaphoreIsNotAnOpenNamedOne, "psem.close-einval") {
  ASSERT_OK_AND_ASSIGN(SharedSem s, SharedSem::Create(2, GetParam().pshared));
  EXPECT_THAT(sem_close(s.get()), SyscallFailsWithErrno(EINVAL));
  // The failed close left the semaphore alone.
  EXPECT_THAT(sem_trywait(s.get()), SyscallSucceeds());
  EXPECT_EQ(Value(s.get()), 1);
}
IPC_INSTANTIATE_TABLE(Table, PsemCloseEinval, kCloseEinval);

IPC_TEST(PsemClose, CloseOfANamedSemaphoreNoLongerOpenIsEinval, "psem.close-einval") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "closed-twice");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  sem_t* addr = s.get();
  ASSERT_THAT(s.Close(), SyscallSucceeds());
  // glibc finds the address in its table of open semaphores before touching it; the address is not
  // dereferenced.
  EXPECT_THAT(sem_close(addr), SyscallFailsWithErrno(EINVAL));
}

// ---------------------------------------------------------------------------------------------------------
// sem_unlink(3)

IPC_TEST(PsemUnlink, NameIsRemovedAtOnce, "psem.unlink-removes-name", "psem.overview-dev-shm") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "unlink");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 1));
  ASSERT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
  errno = 0;
  EXPECT_EQ(sem_open(name.c_str(), 0), SEM_FAILED);
  EXPECT_EQ(errno, ENOENT) << DescribeErrno(errno);
  struct stat st {};
  EXPECT_THAT(stat(DevShmPath(name.str()).c_str(), &st), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(PsemUnlink, SameNameThenMakesANewSemaphore, "psem.unlink-removes-name",
         "psem.unlink-open-handles-live") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "recreate");
  ASSERT_OK_AND_ASSIGN(NamedSem old, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 5));
  ASSERT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(NamedSem fresh, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  EXPECT_NE(fresh.get(), old.get()) << "the new semaphore has the unlinked one's address";
  EXPECT_THAT(sem_post(old.get()), SyscallSucceeds());
  EXPECT_EQ(Value(old.get()), 6);
  EXPECT_EQ(Value(fresh.get()), 0) << "a post on the unlinked semaphore reached the new one";
  EXPECT_THAT(sem_trywait(fresh.get()), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PsemUnlink, HandlesOpenedBeforeKeepWorkingAcrossProcesses, "psem.unlink-open-handles-live",
         "psem.post-wakes-waiter") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "live");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  ASSERT_OK_AND_ASSIGN(SharedSem opened, SharedSem::Create(0));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(sem_close(s.get()), SyscallSucceeds());
        sem_t* mine = sem_open(name.c_str(), 0);
        ASSERT_NE(mine, SEM_FAILED) << DescribeErrno(errno);
        EXPECT_THAT(sem_post(opened.get()), SyscallSucceeds());
        EXPECT_THAT(sem_wait(mine), SyscallSucceeds());  // blocks until the parent's post, after the unlink
        EXPECT_EQ(Value(mine), 0);
        EXPECT_THAT(sem_post(mine), SyscallSucceeds());
        EXPECT_THAT(sem_post(mine), SyscallSucceeds());
        EXPECT_THAT(sem_close(mine), SyscallSucceeds());
      },
      {.what = "using a semaphore whose name was unlinked"});
  timespec deadline = RealtimeIn(ScaledDeadline(milliseconds(5000)).count());
  ASSERT_THAT(sem_timedwait(opened.get(), &deadline), SyscallSucceeds()) << "the child did not open the name";
  ASSERT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 2) << "the child's posts after the unlink are not seen here";
}

enum class UnlinkName { kNeverCreated, kAlreadyUnlinked, kLength252, kLengthNameMax };
struct UnlinkErrorRow {
  const char* name;
  rules::RuleList rules;
  UnlinkName kind;
  int err;
};
const UnlinkErrorRow kUnlinkErrors[] = {
    {"NeverCreated", {"psem.unlink-enoent"}, UnlinkName::kNeverCreated, ENOENT},
    {"AlreadyUnlinked", {"psem.unlink-enoent"}, UnlinkName::kAlreadyUnlinked, ENOENT},
    {"NameLength252", {"psem.unlink-enametoolong"}, UnlinkName::kLength252, ENAMETOOLONG},
    {"NameLengthNameMax", {"psem.unlink-enametoolong"}, UnlinkName::kLengthNameMax, ENAMETOOLONG},
};
class PsemUnlinkError : public ::testing::TestWithParam<UnlinkErrorRow> {};

IPC_TEST_P(PsemUnlinkError, FailsWithTheRowsErrno) {
  IPC_REQUIRE_DEV_SHM();
  const UnlinkErrorRow& row = GetParam();
  PosixName unique(PosixIpcKind::kSemaphore, "unlink-err");
  std::string name = unique.str();
  switch (row.kind) {
    case UnlinkName::kNeverCreated:
      break;
    case UnlinkName::kAlreadyUnlinked: {
      ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
      ASSERT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
      break;
    }
    case UnlinkName::kLength252:
      name += std::string(NAME_MAX - 4 + 2 - name.size(), 'x');
      break;
    case UnlinkName::kLengthNameMax:
      name += std::string(NAME_MAX + 1 - name.size(), 'x');
      break;
  }
  EXPECT_THAT(sem_unlink(name.c_str()), SyscallFailsWithErrno(row.err)) << name.size() - 1 << " characters";
}
IPC_INSTANTIATE_TABLE(Table, PsemUnlinkError, kUnlinkErrors);

IPC_TEST(PsemUnlink, OtherUsersSemaphoreIsEaccesAndStays, "psem.unlink-eacces") {
  IPC_REQUIRE_DEV_SHM();
  IPC_REQUIRE_OTHER_USERS("to unlink a semaphore as a user who does not own it");
  struct stat dir {};
  ASSERT_THAT(stat(kDevShm, &dir), SyscallSucceeds());
  if ((dir.st_mode & S_ISVTX) == 0)
    GTEST_SKIP() << "/dev/shm is not sticky (mode " << std::oct << (dir.st_mode & 07777)
                 << "): any user who can write it may unlink another's semaphore";
  PosixName name(PosixIpcKind::kSemaphore, "eacces");
  // Mode 0666: the other user may use the semaphore, but not remove its name.
  mode_t old = umask(0);
  sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, 0666, 1);
  int err = errno;
  umask(old);
  ASSERT_NE(s, SEM_FAILED) << DescribeErrno(err);
  NamedSem owner(s);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(sem_unlink(name.c_str()), SyscallFailsWithErrno(EACCES));
      },
      {.what = "unlinking another user's semaphore"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(NamedSem again, Open(name.c_str(), 0));
  EXPECT_EQ(again.get(), owner.get());
  struct stat st {};
  EXPECT_THAT(stat(DevShmPath(name.str()).c_str(), &st), SyscallSucceeds()) << "the name is gone";
}

}  // namespace
}  // namespace ipc
