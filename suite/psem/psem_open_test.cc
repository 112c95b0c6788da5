// sem_open(3) and the named semaphores of sem_overview(7): creation and initial value, owner and mode,
// opening an existing semaphore, one address per process, names and their length, persistence, the file in
// /dev/shm, and the errors (EEXIST, ENOENT, EINVAL, ENAMETOOLONG, EACCES, EMFILE, ENOMEM).
// Rules: suite/rules/psem.ini. Helpers: psem_util.h.
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "psem_util.h"

namespace ipc {
namespace {

using namespace psem_util;

// ---------------------------------------------------------------------------------------------------------
// Creation with an initial value.

struct OpenValueRow {
  const char* name;
  rules::RuleList rules;
  unsigned value;
};
const OpenValueRow kOpenValues[] = {
    {"Zero", {}, 0},
    {"One", {}, 1},
    {"Seven", {}, 7},
    {"SemValueMax", {}, SEM_VALUE_MAX},
};
class PsemOpenValue : public ::testing::TestWithParam<OpenValueRow> {};

IPC_TEST_P(PsemOpenValue, CreatedWithTheGivenValue, "psem.open-create-value", "psem.getvalue-value") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "value");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, GetParam().value));
  int v = -1;
  EXPECT_THAT(sem_getvalue(s.get(), &v), SyscallSucceeds());
  EXPECT_EQ(v, static_cast<int>(GetParam().value));
}
IPC_INSTANTIATE_TABLE(Table, PsemOpenValue, kOpenValues);

IPC_TEST(PsemOpen, CreatesFileSemDotNameInDevShm, "psem.overview-dev-shm") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "devshm");
  std::string path = DevShmPath(name.str());
  struct stat st {};
  ASSERT_THAT(stat(path.c_str(), &st), SyscallFailsWithErrno(ENOENT)) << path << " exists before sem_open";
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 1));
  ASSERT_THAT(stat(path.c_str(), &st), SyscallSucceeds()) << path;
  EXPECT_TRUE(S_ISREG(st.st_mode)) << path << " mode " << std::oct << st.st_mode;
  // The process maps the file: the semaphore lives there.
  EXPECT_TRUE(MapsFile(path)) << path << " is not mapped by the process that opened it";
  // Another process opening the name maps the same file.
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(sem_close(s.get()), SyscallSucceeds());
        EXPECT_FALSE(MapsFile(path));
        sem_t* again = sem_open(name.c_str(), 0);
        ASSERT_NE(again, SEM_FAILED) << DescribeErrno(errno);
        EXPECT_TRUE(MapsFile(path));
        EXPECT_THAT(sem_post(again), SyscallSucceeds());
      },
      {.what = "opening the semaphore by name"});
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 2);
  ASSERT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
  EXPECT_THAT(stat(path.c_str(), &st), SyscallFailsWithErrno(ENOENT))
      << path << " is still there after sem_unlink";
}

struct OpenModeRow {
  const char* name;
  rules::RuleList rules;
  mode_t mode;
  mode_t umask;
};
const OpenModeRow kOpenModes[] = {
    {"Mode0600Umask0", {}, 0600, 0},
    {"Mode0666Umask022", {}, 0666, 022},
    {"Mode0660Umask007", {}, 0660, 007},
    {"Mode0644Umask077", {}, 0644, 077},
};
class PsemOpenMode : public ::testing::TestWithParam<OpenModeRow> {};

IPC_TEST_P(PsemOpenMode, OwnerIsCallerAndModeIsMaskedByUmask, "psem.open-create-owner-mode",
           "psem.overview-dev-shm") {
  IPC_REQUIRE_DEV_SHM();
  const OpenModeRow& row = GetParam();
  PosixName name(PosixIpcKind::kSemaphore, "mode");
  mode_t old = umask(row.umask);
  sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, row.mode, 0);
  int err = errno;
  umask(old);
  ASSERT_NE(s, SEM_FAILED) << "sem_open failed with " << DescribeErrno(err);
  NamedSem owner(s);
  struct stat st {};
  ASSERT_THAT(stat(DevShmPath(name.str()).c_str(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_mode & 07777, row.mode & ~row.umask)
      << std::oct << "mode " << row.mode << " umask " << row.umask;
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
}
IPC_INSTANTIATE_TABLE(Table, PsemOpenMode, kOpenModes);

IPC_TEST(PsemOpen, ExistingSemaphoreIgnoresModeAndValue, "psem.open-existing-ignores-mode-value") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "existing");
  ASSERT_OK_AND_ASSIGN(NamedSem first, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 3));
  ASSERT_THAT(sem_post(first.get()), SyscallSucceeds());  // 4
  ASSERT_THAT(first.Close(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(NamedSem again, Open(name.c_str(), O_CREAT, 0666, 9));
  EXPECT_EQ(Value(again.get()), 4);
  struct stat st {};
  ASSERT_THAT(stat(DevShmPath(name.str()).c_str(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the second sem_open's mode was applied";
}

IPC_TEST(PsemOpen, SecondOpenInOneProcessReturnsTheSameAddress, "psem.open-same-address") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "same");
  ASSERT_OK_AND_ASSIGN(NamedSem a, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  ASSERT_OK_AND_ASSIGN(NamedSem b, Open(name.c_str(), 0));
  ASSERT_OK_AND_ASSIGN(NamedSem c, Open(name.c_str(), O_CREAT, 0600, 5));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a.get(), c.get());
}

IPC_TEST(PsemOpen, SameAddressStaysUsableUntilEveryOpenIsClosed, "psem.open-same-address",
         "psem.close-releases") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "refcount");
  ASSERT_OK_AND_ASSIGN(NamedSem a, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  ASSERT_OK_AND_ASSIGN(NamedSem b, Open(name.c_str(), 0));
  ASSERT_EQ(a.get(), b.get());
  sem_t* addr = b.get();
  ASSERT_THAT(a.Close(), SyscallSucceeds());
  // One open is not matched by a close yet: the address still refers to the semaphore.
  EXPECT_TRUE(MapsFile(DevShmPath(name.str())));
  EXPECT_THAT(sem_post(addr), SyscallSucceeds());
  EXPECT_EQ(Value(addr), 1);
  ASSERT_THAT(b.Close(), SyscallSucceeds());
  EXPECT_FALSE(MapsFile(DevShmPath(name.str()))) << "still mapped after every open was closed";
}

IPC_TEST(PsemOpen, AnotherProcessOpensTheSameSemaphoreByName, "psem.overview-named-shared-by-name",
         "psem.post-wakes-waiter") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "byname");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  // The child opens the name itself (exec-free, but not relying on the inherited mapping: it closes that).
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(sem_close(s.get()), SyscallSucceeds());
        sem_t* mine = sem_open(name.c_str(), 0);
        ASSERT_NE(mine, SEM_FAILED) << DescribeErrno(errno);
        EXPECT_THAT(sem_wait(mine), SyscallSucceeds());
        EXPECT_THAT(sem_post(mine), SyscallSucceeds());
        EXPECT_THAT(sem_post(mine), SyscallSucceeds());
      },
      {.what = "waiting on a semaphore opened by name"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_futex));
  ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_EQ(Value(s.get()), 2) << "the child's two posts are not seen through the parent's handle";
}

IPC_TEST(PsemOpen, NameOfNameMaxMinus4CharactersWorks, "psem.overview-name-length") {
  IPC_REQUIRE_DEV_SHM();
  LongName name("long", NAME_MAX - 4);
  ASSERT_EQ(name.str().size(), static_cast<size_t>(NAME_MAX - 4 + 1));
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 2));
  EXPECT_EQ(Value(s.get()), 2);
  ASSERT_OK_AND_ASSIGN(NamedSem again, Open(name.c_str(), 0));
  EXPECT_EQ(again.get(), s.get());
  EXPECT_THAT(sem_unlink(name.c_str()), SyscallSucceeds());
}

IPC_TEST(PsemOpen, ValueSurvivesTheExitOfEveryProcessThatOpenedIt, "psem.overview-persistence") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "persist");
  Child c = Child::Spawn(
      [&] {
        sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 2);
        ASSERT_NE(s, SEM_FAILED) << DescribeErrno(errno);
        EXPECT_THAT(sem_post(s), SyscallSucceeds());
        EXPECT_THAT(sem_post(s), SyscallSucceeds());
        EXPECT_THAT(sem_wait(s), SyscallSucceeds());
        // Exits without sem_close: termination closes it.
      },
      {.what = "creating a semaphore and exiting"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), 0));
  EXPECT_EQ(Value(s.get()), 3);
}

IPC_TEST(PsemOpen, ValueSurvivesTheLastClose, "psem.overview-persistence", "psem.close-releases") {
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "closed");
  {
    ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
    for (int i = 0; i < 5; ++i) ASSERT_THAT(sem_post(s.get()), SyscallSucceeds());
    ASSERT_THAT(s.Close(), SyscallSucceeds());
  }
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), 0));
  EXPECT_EQ(Value(s.get()), 5);
}

// ---------------------------------------------------------------------------------------------------------
// Errors that depend only on the name, the flags and the value.

enum class Existing { kNo, kYes };
enum class NameKind { kUnique, kJustSlash, kLength252, kLengthNameMax };

struct OpenErrorRow {
  const char* name;
  rules::RuleList rules;
  Existing existing;  // whether the unique name exists (value 4) before the call
  NameKind name_kind;
  int oflag;
  unsigned value;
  int err;
};
const OpenErrorRow kOpenErrors[] = {
    {"CreatExclOnExisting",
     {"psem.open-eexist"},
     Existing::kYes,
     NameKind::kUnique,
     O_CREAT | O_EXCL,
     1,
     EEXIST},
    {"NoCreatOnMissing", {"psem.open-enoent"}, Existing::kNo, NameKind::kUnique, 0, 0, ENOENT},
    {"ExclWithoutCreatOnMissing", {"psem.open-enoent"}, Existing::kNo, NameKind::kUnique, O_EXCL, 0, ENOENT},
    {"JustSlash", {"psem.open-einval-name"}, Existing::kNo, NameKind::kJustSlash, 0, 0, EINVAL},
    {"JustSlashWithCreat",
     {"psem.open-einval-name"},
     Existing::kNo,
     NameKind::kJustSlash,
     O_CREAT,
     0,
     EINVAL},
    {"ValueAboveSemValueMax",
     {"psem.open-einval-value"},
     Existing::kNo,
     NameKind::kUnique,
     O_CREAT | O_EXCL,
     static_cast<unsigned>(SEM_VALUE_MAX) + 1,
     EINVAL},
    {"ValueUintMax", {"psem.open-einval-value"}, Existing::kNo, NameKind::kUnique, O_CREAT, UINT_MAX, EINVAL},
    {"NameLength252",
     {"psem.open-enametoolong"},
     Existing::kNo,
     NameKind::kLength252,
     O_CREAT,
     0,
     ENAMETOOLONG},
    {"NameLengthNameMax",
     {"psem.open-enametoolong"},
     Existing::kNo,
     NameKind::kLengthNameMax,
     O_CREAT,
     0,
     ENAMETOOLONG},
};
class PsemOpenError : public ::testing::TestWithParam<OpenErrorRow> {};

IPC_TEST_P(PsemOpenError, FailsWithTheRowsErrnoAndChangesNothing) {
  IPC_REQUIRE_DEV_SHM();
  const OpenErrorRow& row = GetParam();
  PosixName unique(PosixIpcKind::kSemaphore, "err");
  NamedSem existing;
  if (row.existing == Existing::kYes) {
    ASSERT_OK_AND_ASSIGN(NamedSem s, Open(unique.c_str(), O_CREAT | O_EXCL, 0600, 4));
    existing = std::move(s);
  }
  std::string name;
  switch (row.name_kind) {
    case NameKind::kUnique:
      name = unique.str();
      break;
    case NameKind::kJustSlash:
      name = "/";
      break;
    case NameKind::kLength252:
      name = unique.str() + std::string(NAME_MAX - 4 + 1 - unique.str().size() + 1, 'x');
      break;
    case NameKind::kLengthNameMax:
      name = unique.str() + std::string(NAME_MAX + 1 - unique.str().size(), 'x');
      break;
  }
  struct Unlinker {
    std::string n;
    pid_t pid;
    ~Unlinker() {
      if (pid == getpid() && n != "/") sem_unlink(n.c_str());
    }
  } unlink_after{row.name_kind == NameKind::kUnique ? std::string() : name, getpid()};
  errno = 0;
  sem_t* s = (row.oflag & O_CREAT) ? sem_open(name.c_str(), row.oflag, 0600, row.value)
                                   : sem_open(name.c_str(), row.oflag);
  int err = errno;
  if (s != SEM_FAILED) sem_close(s);
  EXPECT_EQ(s, SEM_FAILED) << "sem_open(" << name.size() - 1 << "-character name) succeeded";
  EXPECT_EQ(err, row.err) << "got " << DescribeErrno(err) << ", want " << ErrnoName(row.err);
  if (row.existing == Existing::kYes) {
    EXPECT_EQ(Value(existing.get()), 4) << "the existing semaphore changed";
  } else if (row.name_kind == NameKind::kUnique) {
    EXPECT_EQ(sem_open(unique.c_str(), 0), SEM_FAILED) << "the failed call created the semaphore";
  }
}
IPC_INSTANTIATE_TABLE(Table, PsemOpenError, kOpenErrors);

// ---------------------------------------------------------------------------------------------------------
// EACCES: sem_open asks for read and write access to the file.

struct OpenEaccesRow {
  const char* name;
  rules::RuleList rules;
  bool created_by_child;  // the unprivileged child creates it itself (else: the test process, as root)
  mode_t mode;
  int oflag;
};
const OpenEaccesRow kOpenEacces[] = {
    {"OtherUsersMode0600", {}, false, 0600, 0},
    {"OtherUsersMode0600WithCreat", {}, false, 0600, O_CREAT},
    {"OtherUsersMode0644ReadOnlyForOthers", {}, false, 0644, 0},
    {"OwnMode0400WithoutWrite", {}, true, 0400, 0},
};
class PsemOpenEacces : public ::testing::TestWithParam<OpenEaccesRow> {};

IPC_TEST_P(PsemOpenEacces, FailsWithEacces, "psem.open-eacces") {
  IPC_REQUIRE_DEV_SHM();
  const OpenEaccesRow& row = GetParam();
  if (row.created_by_child) {
    IPC_REQUIRE_UNPRIVILEGED_CHILD();
  } else {
    IPC_REQUIRE_OTHER_USERS("to open a semaphore created by another user");
  }
  PosixName name(PosixIpcKind::kSemaphore, "eacces");
  NamedSem mine;
  if (!row.created_by_child) {
    mode_t old = umask(0);
    sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, row.mode, 1);
    int err = errno;
    umask(old);
    ASSERT_NE(s, SEM_FAILED) << DescribeErrno(err);
    mine = NamedSem(s);
  }
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        if (row.created_by_child) {
          umask(0);
          sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, row.mode, 1);
          ASSERT_NE(s, SEM_FAILED) << DescribeErrno(errno);
        }
        errno = 0;
        sem_t* s = (row.oflag & O_CREAT) ? sem_open(name.c_str(), row.oflag, 0666, 0)
                                         : sem_open(name.c_str(), row.oflag);
        int err = errno;
        EXPECT_EQ(s, SEM_FAILED);
        EXPECT_EQ(err, EACCES) << "got " << DescribeErrno(err);
      },
      {.what = "opening a semaphore without permission"});
  c.ExpectExited(0);
  if (mine.get() != SEM_FAILED) {
    EXPECT_EQ(Value(mine.get()), 1);
  }
}
IPC_INSTANTIATE_TABLE(Table, PsemOpenEacces, kOpenEacces);

// ---------------------------------------------------------------------------------------------------------
// Resource errors, each in a child that lowers its own limit.

// A failed sem_open(O_CREAT) also leaves nothing behind in /dev/shm: no sem.<name>, and none of glibc's
// temporary sem.XXXXXX files (open(2) creates nothing when it fails). The child runs on a private tmpfs on
// /dev/shm when it can (EnterPrivateDevShm), so that even a system that does leave one (valgrind:
// expectations/valgrind.txt) leaves it in nothing that outlives the child; otherwise, on the shared
// /dev/shm, it removes the temporary files it can attribute to its own call (TempNamesLeftBy).
IPC_TEST(PsemOpen, FailsWithEmfileAtTheDescriptorLimit, "psem.open-emfile") {
  IPC_REQUIRE_DEV_SHM();
  PosixName existing(PosixIpcKind::kSemaphore, "emfile");
  PosixName fresh(PosixIpcKind::kSemaphore, "emfile-new");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(existing.c_str(), O_CREAT | O_EXCL, 0600, 0));
  Child c = Child::Spawn(
      [&] {
        const std::string shared_why = EnterPrivateDevShm();
        const bool private_shm = shared_why.empty();
        NamedSem mine;  // on the private /dev/shm, the existing semaphore is made again there
        if (private_shm) {
          ASSERT_OK_AND_ASSIGN(mine, Open(existing.c_str(), O_CREAT | O_EXCL, 0600, 0));
        }
        const std::vector<std::string> before = private_shm ? std::vector<std::string>{} : DevShmTempNames();
        rlimit lim{};
        ASSERT_THAT(getrlimit(RLIMIT_NOFILE, &lim), SyscallSucceeds());
        lim.rlim_cur = 32;
        ASSERT_THAT(setrlimit(RLIMIT_NOFILE, &lim), SyscallSucceeds());
        // Fill every descriptor below the limit.
        std::vector<int> filler;
        for (;;) {
          int fd = open("/dev/null", O_RDONLY);
          if (fd < 0) {
            ASSERT_EQ(errno, EMFILE) << DescribeErrno(errno);
            break;
          }
          filler.push_back(fd);
        }
        errno = 0;
        EXPECT_EQ(sem_open(existing.c_str(), 0), SEM_FAILED);
        EXPECT_EQ(errno, EMFILE) << DescribeErrno(errno);
        errno = 0;
        EXPECT_EQ(sem_open(fresh.c_str(), O_CREAT | O_EXCL, 0600, 0), SEM_FAILED);
        EXPECT_EQ(errno, EMFILE) << DescribeErrno(errno);
        // Two descriptors free again, to look at /dev/shm (and /proc).
        ASSERT_GE(filler.size(), 2u);
        close(filler.back());
        filler.pop_back();
        close(filler.back());
        filler.pop_back();
        EXPECT_NE(access(DevShmPath(fresh.str()).c_str(), F_OK), 0)
            << "the failed O_CREAT made the semaphore";
        const std::vector<std::string> after = DevShmTempNames();
        const std::vector<std::string> left = private_shm ? after : TempNamesLeftBy(before, after);
        for (const std::string& name : left) {
          ADD_FAILURE() << "the failed sem_open(O_CREAT) left /dev/shm/" << name
                        << " behind (an open(O_CREAT) that failed created its file)"
                        << (private_shm ? "" : "; removed (on the shared /dev/shm: " + shared_why + ")");
          if (!private_shm) unlink((std::string(kDevShm) + "/" + name).c_str());
        }
      },
      {.what = "sem_open with every descriptor in use"});
  c.ExpectExited(0);
  EXPECT_EQ(sem_open(fresh.c_str(), 0), SEM_FAILED) << "the failed O_CREAT made the semaphore";
}

// VmSize of this process in bytes, read without allocating; 0 if unreadable.
unsigned long VmSizeBytes() {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* at = strstr(buf, "VmSize:");
  if (at == nullptr) return 0;
  return std::strtoul(at + 7, nullptr, 10) * 1024;
}

IPC_TEST(PsemOpen, FailsWithEnomemWhenNoAddressSpaceIsLeft, "psem.open-enomem") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's runtime reserves and maps address space on its own; RLIMIT_AS cannot be "
                  "set to the process's size under it";
#endif
  IPC_REQUIRE_DEV_SHM();
  PosixName name(PosixIpcKind::kSemaphore, "enomem");
  ASSERT_OK_AND_ASSIGN(NamedSem s, Open(name.c_str(), O_CREAT | O_EXCL, 0600, 0));
  ASSERT_THAT(s.Close(), SyscallSucceeds());  // the child must map it anew
  Child c = Child::Spawn(
      [&] {
        rlimit old{};
        ASSERT_THAT(getrlimit(RLIMIT_AS, &old), SyscallSucceeds());
        unsigned long size = VmSizeBytes();
        ASSERT_NE(size, 0u);
        rlimit lim = old;
        lim.rlim_cur = size;
        ASSERT_THAT(setrlimit(RLIMIT_AS, &lim), SyscallSucceeds());
        errno = 0;
        sem_t* r = sem_open(name.c_str(), 0);
        int err = errno;
        setrlimit(RLIMIT_AS, &old);
        EXPECT_EQ(r, SEM_FAILED);
        EXPECT_EQ(err, ENOMEM) << DescribeErrno(err);
      },
      {.what = "sem_open with RLIMIT_AS at the process's size"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
