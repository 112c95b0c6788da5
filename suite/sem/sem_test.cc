// System V semaphores: semget(2), semop(2)/semtimedop(2), semctl(2), with the parts of clone(2), unshare(2),
// signal(7) and ipc_namespaces(7) that concern semaphore sets.
//
// Every documented error that Linux can be made to return is provoked here through the C library's
// wrappers (see suite/rules/sem.ini for the catalogue, including the errors that cannot be provoked).
// Synchronisation with children that block in semop(2) is by blocked-state detection
// (WaitUntilBlockedIn(pid, SYS_semtimedop): glibc implements semop() with the semtimedop system call) and by
// the kernel's own counters (GETNCNT/GETZCNT), never by sleeping. (One test waits for the wall clock to
// reach the next second, to make a change of the one-second sem_ctime stamp visible; it synchronises
// nothing.)
//
// Other users: tests that use fixed keys or limits run only in the private IPC namespace the test main
// entered; tests that lower limits or fill the semaphore tables do it in a further, new IPC namespace made
// by a child (unshare(CLONE_NEWIPC)), whose /proc/sys/kernel/sem is its own.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Fixed keys: used only by tests that require the private IPC namespace (or a new one made by a child).
constexpr key_t kKeyA = 0x53454d01;
constexpr key_t kKeyB = 0x53454d02;

// The unprivileged user and group isolation::DropPrivileges() switches to.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// ---------------------------------------------------------------------------------------------------------
// Helpers.

sembuf Op(unsigned short num, short op, short flg = 0) {
  sembuf s{};
  s.sem_num = num;
  s.sem_op = op;
  s.sem_flg = flg;
  return s;
}

int Semop(int id, std::vector<sembuf> ops) { return semop(id, ops.data(), ops.size()); }

int Semtimedop(int id, std::vector<sembuf> ops, const timespec* timeout) {
  return semtimedop(id, ops.data(), ops.size(), timeout);
}

int GetVal(int id, int num) {
  semun arg{};
  return semctl(id, num, GETVAL, arg);
}

int SetVal(int id, int num, int val) {
  semun arg{};
  arg.val = val;
  return semctl(id, num, SETVAL, arg);
}

int GetNcnt(int id, int num) {
  semun arg{};
  return semctl(id, num, GETNCNT, arg);
}

int GetZcnt(int id, int num) {
  semun arg{};
  return semctl(id, num, GETZCNT, arg);
}

int GetPid(int id, int num) {
  semun arg{};
  return semctl(id, num, GETPID, arg);
}

int SetAll(int id, std::vector<unsigned short> values) {
  semun arg{};
  arg.array = values.data();
  return semctl(id, 0, SETALL, arg);
}

// GETALL into a vector of `nsems` values; an empty vector (and a test failure) when it fails.
std::vector<unsigned short> GetAll(int id, size_t nsems) {
  std::vector<unsigned short> values(nsems, 0xdead);
  semun arg{};
  arg.array = values.data();
  if (semctl(id, 0, GETALL, arg) != 0) {
    ADD_FAILURE() << "semctl(GETALL) failed with " << DescribeErrno(errno);
    return {};
  }
  return values;
}

PosixResult<semid_ds> Stat(int id, int cmd = IPC_STAT) {
  semid_ds ds{};
  semun arg{};
  arg.buf = &ds;
  if (semctl(id, 0, cmd, arg) < 0) return PosixResult<semid_ds>::Error(errno, "semctl(IPC_STAT)");
  return ds;
}

int SetDs(int id, const semid_ds& ds) {
  semid_ds copy = ds;
  semun arg{};
  arg.buf = &copy;
  return semctl(id, 0, IPC_SET, arg);
}

// IPC_INFO or SEM_INFO; `ret` receives semctl's return value (the highest used index).
PosixResult<seminfo> Info(int cmd, int* ret = nullptr) {
  seminfo info{};
  semun arg{};
  arg.__buf = &info;
  int r = semctl(0, 0, cmd, arg);
  if (r < 0)
    return PosixResult<seminfo>::Error(errno, cmd == IPC_INFO ? "semctl(IPC_INFO)" : "semctl(SEM_INFO)");
  if (ret != nullptr) *ret = r;
  return info;
}

// SEMVMX, the largest value a semaphore can hold, as the kernel reports it (seminfo.semvmx, IPC_INFO).
// semop(2) and semctl(2) document it as implementation dependent (32767); SemctlInfo.SemvmxIs32767 pins
// the documented number separately.
PosixResult<int> SemVmx() {
  auto info = Info(IPC_INFO);
  if (!info.ok()) return PosixResult<int>::Error(info.error_number(), "semctl(IPC_INFO) for semvmx");
  return info.value().semvmx;
}

// An address that is never accessible: one PROT_NONE page kept for the life of the process.
void* BadAddress() {
  static void* page =
      mmap(nullptr, static_cast<size_t>(limits::PageSize()), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return page;
}

// Index (slot) of set `id` in the kernel's table, found with SEM_STAT_ANY; -1 when not found.
int IndexOf(int id) {
  int max_index = -1;
  if (!Info(IPC_INFO, &max_index).ok()) return -1;
  for (int i = 0; i <= max_index; ++i) {
    semid_ds ds{};
    semun arg{};
    arg.buf = &ds;
    if (semctl(i, 0, SEM_STAT_ANY, arg) == id) return i;
  }
  return -1;
}

double ElapsedMs(const timespec& a, const timespec& b) {
  return static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e6;
}

timespec Monotonic() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts;
}

// Waits until the wall clock (the seconds the kernel stamps sem_ctime/sem_otime with) has moved past `t`.
// Needed to see a time stamp change, which has a resolution of one second; not a synchronisation.
::testing::AssertionResult WaitForWallClockPast(time_t t) {
  for (int i = 0; i < 200 && time(nullptr) <= t; ++i) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec <= t) {
      timespec next{t + 1, 0};
      clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &next, nullptr);
    } else {
      timespec tick{0, 1000000};  // time() reads a clock that lags by at most a scheduler tick
      nanosleep(&tick, nullptr);
    }
  }
  if (time(nullptr) > t) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the wall clock did not move past " << t;
}

// Waits until `pid` is stopped (state T), with the usual blocked-state deadline.
::testing::AssertionResult WaitUntilStopped(pid_t pid) {
  auto until = std::chrono::steady_clock::now() + ScaledDeadline(kDefaultBlockDeadline);
  long pause_ns = 20000;
  for (;;) {
    auto st = ReadTaskState(pid);
    if (!st) return ::testing::AssertionFailure() << "pid " << pid << " exited instead of stopping";
    if (st->state == 'T') return ::testing::AssertionSuccess();
    if (std::chrono::steady_clock::now() >= until)
      return ::testing::AssertionFailure()
             << "pid " << pid << " did not stop (last seen: " << st->Describe() << ")";
    timespec ts{0, pause_ns};
    nanosleep(&ts, nullptr);
    pause_ns = std::min(pause_ns * 2, 5000000L);
  }
}

// A one-shot "go" from the test to a child: the child blocks in read(2) in AwaitGate() until OpenGate().
void AwaitGate(const Pipe& gate) {
  char b = 0;
  ASSERT_THAT(read(gate.read.get(), &b, 1), SyscallSucceedsWithValue(1));
}
void OpenGate(const Pipe& gate) { ASSERT_THAT(write(gate.write.get(), "g", 1), SyscallSucceedsWithValue(1)); }

// A child that runs semop(id, ops) and expects it to fail with `err`, or to succeed when `err` is 0.
Child SemopChild(int id, std::vector<sembuf> ops, int err, std::string what) {
  return Child::Spawn(
      [=] {
        if (err == 0) {
          EXPECT_THAT(Semop(id, ops), SyscallSucceeds()) << what;
        } else {
          EXPECT_THAT(Semop(id, ops), SyscallFailsWithErrno(err)) << what;
        }
      },
      {.what = what});
}

// Writes the four /proc/sys/kernel/sem limits (SEMMSL SEMMNS SEMOPM SEMMNI) of the caller's IPC namespace.
bool WriteSemLimits(const limits::SemLimits& l) {
  std::string s = std::to_string(l.semmsl) + " " + std::to_string(l.semmns) + " " + std::to_string(l.semopm) +
                  " " + std::to_string(l.semmni) + "\n";
  auto fd = Open("/proc/sys/kernel/sem", O_WRONLY);
  if (!fd.ok()) {
    errno = fd.error_number();
    return false;
  }
  return WriteAll(fd.value().get(), s.data(), s.size());
}

// Runs `body` in a child that has first moved into a new, empty IPC namespace (unshare(CLONE_NEWIPC)):
// there it may lower /proc/sys/kernel/sem and fill the tables without disturbing the host or other tests.
// Returns "" when the body ran, else why the namespace could not be made (the caller skips with it).
std::string RunInNewIpcNamespace(const std::function<void()>& body, const std::string& what) {
  auto made = Pipe::Create(O_CLOEXEC);
  if (!made.ok()) {
    ADD_FAILURE() << made.error();
    return "";
  }
  Pipe& report = made.value();
  Child c = Child::Spawn(
      [&] {
        report.read.reset();
        if (unshare(CLONE_NEWIPC) != 0) {
          int err = errno;
          (void)!write(report.write.get(), &err, sizeof err);
          return;
        }
        report.write.reset();
        body();
      },
      {.what = what});
  report.write.reset();
  c.ExpectExited(0);
  int err = 0;
  if (read(report.read.get(), &err, sizeof err) == static_cast<ssize_t>(sizeof err))
    return "unshare(CLONE_NEWIPC) failed with " + DescribeErrno(err);
  return "";
}

#define SEM_RUN_IN_NEW_IPC_NAMESPACE(what, ...)                            \
  do {                                                                     \
    IPC_REQUIRE_ROOT("unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN");         \
    std::string sem_skip_reason = RunInNewIpcNamespace(__VA_ARGS__, what); \
    if (!sem_skip_reason.empty()) GTEST_SKIP() << sem_skip_reason;         \
  } while (0)

#define SEM_REQUIRE_OTHER_USER() IPC_REQUIRE_OTHER_USERS("switching to an unprivileged user needs root")

#define ASSERT_DROPPED_PRIVILEGES()                                                                    \
  do {                                                                                                 \
    ASSERT_TRUE(isolation::DropPrivileges()) << "DropPrivileges failed with " << DescribeErrno(errno); \
    ASSERT_EQ(geteuid(), kNobody);                                                                     \
  } while (0)

// For a set that another process was to remove: checks that its id is now invalid and stops owning it. If
// the set still exists, the SemSet keeps it and removes it at the end of the test.
void ExpectRemovedElsewhere(SemSet& set) {
  errno = 0;
  if (GetVal(set.id(), 0) == -1 && errno == EINVAL) {
    set.Release();
    return;
  }
  ADD_FAILURE() << "semaphore set " << set.id() << " was not removed (GETVAL: " << DescribeErrno(errno)
                << ")";
}

// A set whose id came from another process (created with semget(2) in a child): removed on destruction.
struct AdoptedSet {
  int id = -1;
  ~AdoptedSet() {
    if (id >= 0) semctl(id, 0, IPC_RMID);
  }
};

// Creates an IPC_PRIVATE set as the unprivileged user, in a child that dropped privileges, and returns its id
// (-1 on failure). The set outlives the child: its creator (cuid) and owner are that user.
int CreateSetAsNobody(int nsems, int mode) {
  auto made = Pipe::Create(O_CLOEXEC);
  if (!made.ok()) {
    ADD_FAILURE() << made.error();
    return -1;
  }
  Pipe& out = made.value();
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        int id = semget(IPC_PRIVATE, nsems, IPC_CREAT | mode);
        ASSERT_THAT(id, SyscallSucceeds());
        ASSERT_TRUE(WriteAll(out.write.get(), &id, sizeof id));
      },
      {.what = "creating a semaphore set as an unprivileged user"});
  out.write.reset();
  c.ExpectExited(0);
  int id = -1;
  if (!ReadAll(out.read.get(), &id, sizeof id)) return -1;
  return id;
}

// ---------------------------------------------------------------------------------------------------------
// semget(2)

IPC_TEST(Semget, PrivateKeyCreatesDistinctSets, "sem.semget-create", "sem.semget-private") {
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_NE(a.id(), b.id());
  // They are different sets: a change to one is not seen in the other.
  ASSERT_THAT(SetVal(a.id(), 0, 5), SyscallSucceeds());
  EXPECT_THAT(GetVal(b.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semget, PrivateKeyIgnoresCreatAndExcl, "sem.semget-private") {
  // IPC_PRIVATE is not a flag: with IPC_CREAT|IPC_EXCL every call still creates a new set (no EEXIST).
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(a.id(), b.id());
  // Without IPC_CREAT too.
  ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 1, 0600));
  EXPECT_NE(c.id(), a.id());
  EXPECT_NE(c.id(), b.id());
}

IPC_TEST(Semget, CreatOnNewKeyCreatesSet, "sem.semget-create") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 3, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, 3u);
  EXPECT_EQ(ds.sem_perm.__key, kKeyA);
}

IPC_TEST(Semget, KeyLookupReturnsExistingId, "sem.semget-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 3, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 3, 0), SyscallSucceedsWithValue(set.id()));
  // IPC_CREAT without IPC_EXCL on an existing key also returns the existing set.
  EXPECT_THAT(semget(kKeyA, 3, IPC_CREAT | 0600), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(Semget, ZeroOrSmallerNsemsFindsExistingSet, "sem.semget-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 4, IPC_CREAT | IPC_EXCL | 0600));
  // nsems is a don't-care (0) or at most the set's size when the set is not being created.
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(set.id()));
  EXPECT_THAT(semget(kKeyA, 1, 0), SyscallSucceedsWithValue(set.id()));
  EXPECT_THAT(semget(kKeyA, 4, 0), SyscallSucceedsWithValue(set.id()));
  // The set keeps its size.
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, 4u);
}

IPC_TEST(Semget, ExclOnExistingKeyFailsEexist, "sem.semget-eexist") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
  // Also when the request would otherwise be a valid lookup (nsems 0).
  EXPECT_THAT(semget(kKeyA, 0, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
}

IPC_TEST(Semget, MissingKeyWithoutCreatFailsEnoent, "sem.semget-enoent") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(semget(kKeyB, 1, 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(semget(kKeyB, 0, 0), SyscallFailsWithErrno(ENOENT));
  // IPC_EXCL alone is not IPC_CREAT.
  EXPECT_THAT(semget(kKeyB, 1, IPC_EXCL | 0600), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(Semget, RemovedKeyFailsEnoentAndCanBeReused, "sem.semget-enoent", "sem.semctl-ipc-rmid") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
  ASSERT_OK_AND_ASSIGN(SemSet again, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
}

IPC_TEST(Semget, NegativeNsemsFailsEinval, "sem.semget-einval-nsems") {
  EXPECT_THAT(semget(IPC_PRIVATE, -1, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(IPC_PRIVATE, INT32_MIN, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(Semget, NsemsAboveSemmslFailsEinval, "sem.semget-einval-nsems") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_LT(l.semmsl, INT32_MAX);
  EXPECT_THAT(semget(IPC_PRIVATE, static_cast<int>(l.semmsl) + 1, IPC_CREAT | 0600),
              SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(Semget, NsemsEqualToSemmslSucceeds, "sem.semget-nsems-semmsl") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_LE(l.semmsl, l.semmns) << "a set of SEMMSL semaphores does not fit in SEMMNS";
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, static_cast<int>(l.semmsl)));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_nsems, static_cast<unsigned long>(l.semmsl));
  // The last semaphore is addressable.
  EXPECT_THAT(Semop(set.id(), {Op(static_cast<unsigned short>(l.semmsl - 1), 1)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), static_cast<int>(l.semmsl - 1)), SyscallSucceedsWithValue(1));
}

IPC_TEST(Semget, ZeroNsemsOnCreateFailsEinval, "sem.semget-einval-create-zero") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyB, 0, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  // Nothing was created for the key.
  EXPECT_THAT(semget(kKeyB, 0, 0), SyscallFailsWithErrno(ENOENT));
}

IPC_TEST(Semget, NsemsLargerThanExistingSetFailsEinval, "sem.semget-einval-existing-smaller") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 2, IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(semget(kKeyA, 3, 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyA, 3, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semget(kKeyA, 2, 0600), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(Semget, NoPermissionOnExistingSetFailsEacces, "sem.semget-eacces") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(semget(kKeyA, 0, 0600), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 1, 0400), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(EACCES));
      },
      {.what = "looking up a 0600 set owned by root as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(Semget, PermissionCheckUsesRequestedBits, "sem.semget-eacces") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  SEM_REQUIRE_OTHER_USER();
  // Others may read but not alter: asking for read works, asking for alter is refused.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(semget(kKeyA, 0, 0400), SyscallSucceedsWithValue(set.id()));
        EXPECT_THAT(semget(kKeyA, 0, 0200), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(semget(kKeyA, 0, 0600), SyscallFailsWithErrno(EACCES));
      },
      {.what = "looking up a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(Semget, NewSetDataStructure, "sem.semget-init-ds", "sem.semctl-ipc-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  time_t before = time(nullptr);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 5, IPC_CREAT | IPC_EXCL | 0640));
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_EQ(ds.sem_perm.__key, kKeyA);
  EXPECT_EQ(ds.sem_perm.uid, geteuid());
  EXPECT_EQ(ds.sem_perm.cuid, geteuid());
  EXPECT_EQ(ds.sem_perm.gid, getegid());
  EXPECT_EQ(ds.sem_perm.cgid, getegid());
  EXPECT_EQ(ds.sem_perm.mode & 0777, 0640u);
  EXPECT_EQ(ds.sem_nsems, 5u);
  EXPECT_EQ(ds.sem_otime, 0);
  EXPECT_GE(ds.sem_ctime, before);
  EXPECT_LE(ds.sem_ctime, after);
}

IPC_TEST(Semget, NewSetOwnedByUnprivilegedCreator, "sem.semget-init-ds") {
  SEM_REQUIRE_OTHER_USER();
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0460));
        ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
        EXPECT_EQ(ds.sem_perm.uid, kNobody);
        EXPECT_EQ(ds.sem_perm.cuid, kNobody);
        EXPECT_EQ(ds.sem_perm.gid, kNogroup);
        EXPECT_EQ(ds.sem_perm.cgid, kNogroup);
        EXPECT_EQ(ds.sem_perm.mode & 0777, 0460u);
        EXPECT_EQ(ds.sem_nsems, 2u);
      },
      {.what = "creating a set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(Semget, NewSetValuesAreZero, "sem.semget-init-values") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 7));
  EXPECT_THAT(GetAll(set.id(), 7), ElementsAre(0, 0, 0, 0, 0, 0, 0));
  for (int i = 0; i < 7; ++i)
    EXPECT_THAT(GetVal(set.id(), i), SyscallSucceedsWithValue(0)) << "semaphore " << i;
}

IPC_TEST(Semget, SemmniExhaustedFailsEnospc, "sem.semget-enospc-semmni") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("filling SEMMNI = 2 in a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
    l.semmni = 2;
    ASSERT_THAT(WriteSemLimits(l), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
    ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
    EXPECT_THAT(semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
    EXPECT_THAT(semget(kKeyB, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
    // An existing set can still be looked up: only creation needs a free identifier.
    EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(b.id()));
    // Removing a set makes room again.
    ASSERT_THAT(a.Remove(), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(kKeyB, 1, IPC_CREAT | IPC_EXCL | 0600));
  });
}

IPC_TEST(Semget, SemmnsExhaustedFailsEnospc, "sem.semget-enospc-semmns") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("filling SEMMNS = 10 in a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
    l.semmns = 10;
    ASSERT_THAT(WriteSemLimits(l), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 6));
    EXPECT_THAT(semget(IPC_PRIVATE, 5, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
    // Exactly up to the limit is allowed.
    ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 4));
    EXPECT_THAT(semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), SyscallFailsWithErrno(ENOSPC));
    ASSERT_THAT(a.Remove(), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 6));
  });
}

// ---------------------------------------------------------------------------------------------------------
// IPC namespaces (ipc_namespaces(7)).

IPC_TEST(SemNamespace, SetsAreInvisibleInAnotherNamespace, "sem.ns-isolation") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 9), SyscallSucceeds());
  const int outer_id = set.id();
  SEM_RUN_IN_NEW_IPC_NAMESPACE("looking for the outer set from a new IPC namespace", [&] {
    EXPECT_THAT(semget(kKeyA, 0, 0), SyscallFailsWithErrno(ENOENT));
    EXPECT_THAT(GetVal(outer_id, 0), SyscallFailsWithErrno(EINVAL));
    // The same key is free here, and what is done to it stays here.
    ASSERT_OK_AND_ASSIGN(SemSet inner, SemSet::Create(kKeyA, 1, IPC_CREAT | IPC_EXCL | 0600));
    ASSERT_THAT(SetVal(inner.id(), 0, 3), SyscallSucceeds());
  });
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(9));
  EXPECT_THAT(semget(kKeyA, 0, 0), SyscallSucceedsWithValue(set.id()));
}

IPC_TEST(SemNamespace, LimitsArePerNamespace, "sem.ns-limits", "sem.semctl-ipc-info") {
  ASSERT_OK_AND_ASSIGN(limits::SemLimits outer, limits::Sem());
  SEM_RUN_IN_NEW_IPC_NAMESPACE("changing /proc/sys/kernel/sem in a new IPC namespace", [&] {
    limits::SemLimits l{.semmsl = 17, .semmns = 1234, .semopm = 7, .semmni = 11};
    ASSERT_THAT(WriteSemLimits(l), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(limits::SemLimits now, limits::Sem());
    EXPECT_EQ(now.semmsl, 17);
    EXPECT_EQ(now.semmns, 1234);
    EXPECT_EQ(now.semopm, 7);
    EXPECT_EQ(now.semmni, 11);
    ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
    EXPECT_EQ(info.semmsl, 17);
    EXPECT_EQ(info.semmns, 1234);
    EXPECT_EQ(info.semopm, 7);
    EXPECT_EQ(info.semmni, 11);
  });
  ASSERT_OK_AND_ASSIGN(limits::SemLimits after, limits::Sem());
  EXPECT_EQ(after.semmsl, outer.semmsl);
  EXPECT_EQ(after.semmns, outer.semmns);
  EXPECT_EQ(after.semopm, outer.semopm);
  EXPECT_EQ(after.semmni, outer.semmni);
}

IPC_TEST(SemNamespace, LoweredSemmslAndSemopmApply, "sem.ns-limits", "sem.semget-einval-nsems",
         "sem.semop-e2big", "sem.semop-semopm-limit") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("lowering SEMMSL and SEMOPM in a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
    l.semmsl = 8;
    l.semopm = 3;
    ASSERT_THAT(WriteSemLimits(l), SyscallSucceeds());
    EXPECT_THAT(semget(IPC_PRIVATE, 9, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
    ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 8));
    EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1), Op(3, 1)}), SyscallFailsWithErrno(E2BIG));
    EXPECT_THAT(GetAll(set.id(), 8), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
    EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1)}), SyscallSucceeds());
    EXPECT_THAT(GetAll(set.id(), 8), ElementsAre(1, 1, 1, 0, 0, 0, 0, 0));
  });
}

// ---------------------------------------------------------------------------------------------------------
// semop(2): the three kinds of operation.

IPC_TEST(SemopBasic, PositiveOpAddsWithoutWaiting, "sem.semop-positive") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(Semop(set.id(), {Op(0, 3)}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, 4)}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(1, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 1));
}

IPC_TEST(SemopBasic, DecrementProceedsWhenValueSuffices, "sem.semop-decrement") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 5), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, -3)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  // semval equal to |sem_op| also proceeds, down to zero.
  ASSERT_THAT(Semop(set.id(), {Op(0, -2)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopBasic, DecrementBlocksUntilValueSuffices, "sem.semop-decrement", "sem.semctl-getncnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -2)}, 0, "decrementing by 2 from 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  // 1 is not enough: the waiter stays queued and the value is untouched.
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  // 2 is: the waiter's decrement is applied.
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopBasic, WaitForZeroProceedsAtZero, "sem.semop-wait-zero") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopBasic, WaitForZeroBlocksUntilZero, "sem.semop-wait-zero", "sem.semctl-getzcnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0)}, 0, "waiting for zero from 2");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1)) << "woken at 1, not 0";
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopBasic, IncrementAndWaitForZeroExample, "sem.semop-atomic", "sem.semop-wait-zero") {
  // The example of semop(2): wait for zero, then increment, as one atomic call.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 0), Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  // The second time the value is 1: the call waits (here: fails with IPC_NOWAIT) and increments nothing.
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT), Op(0, 1)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

// ---------------------------------------------------------------------------------------------------------
// semop(2): atomicity and order.

IPC_TEST(SemopAtomic, LaterOpThatCannotProceedLeavesEarlierUnapplied, "sem.semop-atomic",
         "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {1, 5, 0}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -1), Op(1, 2), Op(2, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 5, 0));
}

IPC_TEST(SemopAtomic, BlockedMultiOpAppliesNothingUntilAllCanProceed, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, -1), Op(1, -1)}, 0, "decrementing two semaphores, one at 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  // The first operation could proceed but is not applied while the second waits.
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(1, 0));
  ASSERT_THAT(Semop(set.id(), {Op(1, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemopAtomic, BlockedMultiOpDoesNotHoldWhatItCouldTake, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, -1), Op(1, -1)}, EIDRM, "decrementing two semaphores, one at 0");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  // Semaphore 0 is still free for others while the child waits for semaphore 1.
  EXPECT_THAT(Semop(set.id(), {Op(0, -1, IPC_NOWAIT)}), SyscallSucceeds());
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopAtomic, OperationsApplyInArrayOrder, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // The decrement sees the increment before it in the array.
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(0, -1, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  // Reversed, the decrement comes first and cannot proceed: nothing is applied.
  EXPECT_THAT(Semop(set.id(), {Op(0, -1, IPC_NOWAIT), Op(0, 1)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  // A wait-for-zero after an increment of the same semaphore sees the increment.
  EXPECT_THAT(Semop(set.id(), {Op(0, 2), Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopAtomic, ErangeInLaterOpLeavesEarlierUnapplied, "sem.semop-atomic", "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {3, static_cast<unsigned short>(vmx)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(3, vmx));
}

IPC_TEST(SemopAtomic, EfbigInLaterOpLeavesEarlierUnapplied, "sem.semop-atomic", "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  EXPECT_THAT(Semop(set.id(), {Op(0, 1), Op(2, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemopAtomic, SeveralSemaphoresChangeTogether, "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 4));
  ASSERT_THAT(SetAll(set.id(), {5, 5, 0, 1}), SyscallSucceeds());
  ASSERT_THAT(Semop(set.id(), {Op(0, -2), Op(1, 3), Op(2, 0), Op(3, -1), Op(2, 4)}), SyscallSucceeds());
  EXPECT_THAT(GetAll(set.id(), 4), ElementsAre(3, 8, 4, 0));
}

// ---------------------------------------------------------------------------------------------------------
// semop(2) errors.

IPC_TEST(SemopErrors, NsopsAboveSemopmFailsE2big, "sem.semop-e2big") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  std::vector<sembuf> ops(static_cast<size_t>(l.semopm) + 1, Op(0, 1));
  EXPECT_THAT(semop(set.id(), ops.data(), ops.size()), SyscallFailsWithErrno(E2BIG));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, NsopsEqualToSemopmSucceeds, "sem.semop-semopm-limit") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  if (l.semopm > vmx) GTEST_SKIP() << "SEMOPM " << l.semopm << " increments would exceed SEMVMX " << vmx;
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  std::vector<sembuf> ops(static_cast<size_t>(l.semopm), Op(0, 1));
  EXPECT_THAT(semop(set.id(), ops.data(), ops.size()), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(l.semopm));
}

IPC_TEST(SemopErrors, DecrementWithNowaitFailsEagain, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -3, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, WaitForZeroWithNowaitFailsEagain, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, NowaitOnlyMattersWhenTheOpWouldWait, "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, -3, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, InaccessibleSopsFailsEfault, "sem.semop-efault-sops") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_NE(BadAddress(), MAP_FAILED);
  // In a child: a library that touches the bad address itself is then reported as killed by SIGSEGV.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(semop(set.id(), static_cast<sembuf*>(BadAddress()), 1), SyscallFailsWithErrno(EFAULT));
        EXPECT_THAT(semop(set.id(), static_cast<sembuf*>(BadAddress()), 3), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "semop with an inaccessible sops"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, SemNumEqualToNsemsFailsEfbig, "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  EXPECT_THAT(Semop(set.id(), {Op(3, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(3, 0)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(2, 1)}), SyscallSucceeds());
}

IPC_TEST(SemopErrors, LargestSemNumFailsEfbig, "sem.semop-efbig") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semop(set.id(), {Op(USHRT_MAX, 1)}), SyscallFailsWithErrno(EFBIG));
  EXPECT_THAT(Semop(set.id(), {Op(USHRT_MAX, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EFBIG));
}

IPC_TEST(SemopErrors, NegativeIdFailsEinval, "sem.semop-einval-id") {
  EXPECT_THAT(Semop(-1, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semop(INT32_MIN, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemopErrors, RemovedSetFailsEinval, "sem.semop-einval-id") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const int id = set.id();
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(Semop(id, {Op(0, 1)}), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semop(id, {Op(0, -1, IPC_NOWAIT)}), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemopErrors, ZeroNsopsFailsEinval, "sem.semop-einval-nsops") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  sembuf op = Op(0, 1);
  EXPECT_THAT(semop(set.id(), &op, 0), SyscallFailsWithErrno(EINVAL));
  timespec ts{1, 0};
  EXPECT_THAT(semtimedop(set.id(), &op, 0, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopErrors, IncrementAboveSemvmxFailsErange, "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
  ASSERT_THAT(SetVal(set.id(), 0, vmx - 5), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 6)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx - 5));
}

IPC_TEST(SemopErrors, IncrementUpToSemvmxSucceeds, "sem.semop-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx - 5), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 5)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
}

IPC_TEST(SemopErrors, SumOfIncrementsAboveSemvmxFailsErange, "sem.semop-erange", "sem.semop-atomic") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const short half = static_cast<short>(vmx / 2 + 1);
  EXPECT_THAT(Semop(set.id(), {Op(0, half), Op(0, half)}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------------------------------------------------
// semop(2) permissions (EACCES), judged by the owner, group or other bits of the mode.

IPC_TEST(SemopPerm, NoPermissionFailsEacces, "sem.semop-eacces") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, 0, IPC_NOWAIT)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemopPerm, ReadOnlyPermissionRefusesAlteringOps, "sem.semop-eacces", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0604));
  ASSERT_THAT(SetAll(set.id(), {1, 0}), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EACCES));
        // Wait-for-zero needs only read permission.
        EXPECT_THAT(Semop(set.id(), {Op(1, 0)}), SyscallSucceeds());
      },
      {.what = "operating on a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(1, 0));
}

IPC_TEST(SemopPerm, AlterOnlyPermissionRefusesWaitForZero, "sem.semop-eacces", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EACCES));
        // Write means alter: increments and decrements are allowed.
        EXPECT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
      },
      {.what = "operating on a 0602 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemopPerm, OwnerIsJudgedByOwnerBits, "sem.semop-eacces", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        // Others may read and alter, the owner may not: the owner bits apply to the owner.
        ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0066));
        EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating on an own 0066 set as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(SemopPerm, GroupMemberIsJudgedByGroupBits, "sem.semop-eacces", "sem.perm-classes",
         "sem.semctl-ipc-set") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet group_ok, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(SemSet group_denied, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  for (auto [id, mode] : {std::pair{group_ok.id(), 0060}, std::pair{group_denied.id(), 0606}}) {
    ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(id));
    ds.sem_perm.gid = kNogroup;
    ds.sem_perm.mode = static_cast<unsigned short>(mode);
    ASSERT_THAT(SetDs(id, ds), SyscallSucceeds());
  }
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(Semop(group_ok.id(), {Op(0, 1)}), SyscallSucceeds());
        // In the group, the group bits (none) apply even though the other bits would allow it.
        EXPECT_THAT(Semop(group_denied.id(), {Op(0, 1)}), SyscallFailsWithErrno(EACCES));
      },
      {.what = "operating as a member of the set's group"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(group_ok.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetVal(group_denied.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopPerm, CapIpcOwnerOverridesMode, "sem.semop-eacces", "sem.semctl-eacces") {
  IPC_REQUIRE_ROOT("CAP_IPC_OWNER");
  // Mode 0000 grants nothing, but a caller with CAP_IPC_OWNER is not checked.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0000));
  EXPECT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  EXPECT_THAT(SetVal(set.id(), 0, 0), SyscallSucceeds());
  EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
}

// ---------------------------------------------------------------------------------------------------------
// Removal of a set with blocked callers: EIDRM.

IPC_TEST(SemopBlocked, RemovalFailsBlockedDecrementWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -1)}, EIDRM, "blocked decrementing, set removed");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopBlocked, RemovalFailsBlockedWaitForZeroWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0)}, EIDRM, "blocked waiting for zero, set removed");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopBlocked, RemovalFailsBlockedSemtimedopWithEidrm, "sem.semop-eidrm", "sem.semctl-ipc-rmid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "blocked in semtimedop with a 60 s timeout, set removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopBlocked, RemovalWakesEveryWaiterWithEidrm, "sem.semctl-ipc-rmid", "sem.semop-eidrm") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {0, 1, 0}), SyscallSucceeds());
  std::vector<Child> waiters;
  waiters.push_back(SemopChild(set.id(), {Op(0, -1)}, EIDRM, "waiter 1: decrement"));
  waiters.push_back(SemopChild(set.id(), {Op(0, -2)}, EIDRM, "waiter 2: decrement by 2"));
  waiters.push_back(SemopChild(set.id(), {Op(1, 0)}, EIDRM, "waiter 3: wait for zero"));
  waiters.push_back(SemopChild(set.id(), {Op(2, 1), Op(0, -1)}, EIDRM, "waiter 4: increment and decrement"));
  waiters.push_back(Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(1, 0)}, &ts), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "waiter 5: semtimedop wait for zero"}));
  for (auto& w : waiters) ASSERT_TRUE(WaitUntilBlockedIn(w.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(3));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(2));
  EXPECT_THAT(GetVal(set.id(), 2), SyscallSucceedsWithValue(0)) << "waiter 4's increment was applied";
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  for (auto& w : waiters) w.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// Signals: EINTR, never restarted.

IPC_TEST(SemopSignal, CaughtSignalFailsBlockedDecrementWithEintr, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        // semncnt was decremented when the call failed.
        EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked decrementing, interrupted by SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopSignal, CaughtSignalFailsBlockedWaitForZeroWithEintr, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr2(SIGUSR2);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR2);
        EXPECT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr2.count(), 1);
        // semzcnt was decremented when the call failed.
        EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked waiting for zero, interrupted by SIGUSR2"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(c.Kill(SIGUSR2), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(SemopSignal, SaRestartDoesNotRestartSemop, "sem.semop-no-restart", "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "blocked in semop, interrupted by a SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopSignal, SaRestartDoesNotRestartSemtimedop, "sem.semop-no-restart", "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, 0)}, &ts), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "blocked in semtimedop, interrupted by a SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopSignal, SemtimedopEintrLeavesTimeoutUnchanged, "sem.semtimedop-eintr-timeout",
         "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        timespec ts{45, 123456789};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(ts.tv_sec, 45);
        EXPECT_EQ(ts.tv_nsec, 123456789);
      },
      {.what = "blocked in semtimedop, interrupted by SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SemopSignal, StopAndContinueFailsWithEintr, "sem.semop-eintr-stop") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // No handler at all: SIGSTOP then SIGCONT makes the blocked semop fail with EINTR on Linux.
  Child c = SemopChild(set.id(), {Op(0, -1)}, EINTR, "blocked in semop, stopped and continued");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemopSignal, BlockedSignalDoesNotInterrupt, "sem.semop-eintr") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        // A signal that is blocked is not caught: the call goes on waiting and then succeeds.
        EXPECT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
        EXPECT_TRUE(IsSignalPending(SIGUSR1));
        EXPECT_EQ(usr1.count(), 0);
      },
      {.what = "blocked in semop with SIGUSR1 blocked"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------------------------------------------------
// semtimedop(2).

IPC_TEST(Semtimedop, TimeoutFailsEagainNotBeforeTheTimeout, "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  constexpr long kTimeoutNs = 60 * 1000 * 1000;
  timespec ts{0, kTimeoutNs};
  timespec t0 = Monotonic();
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EAGAIN));
  timespec t1 = Monotonic();
  // The elapsed time of the call itself: the sleep may overrun, never end early.
  EXPECT_GE(ElapsedMs(t0, t1), kTimeoutNs / 1e6);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, WaitForZeroTimeoutFailsEagainNotBefore, "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetVal(set.id(), 1, 1), SyscallSucceeds());
  constexpr long kTimeoutNs = 30 * 1000 * 1000;
  timespec ts{0, kTimeoutNs};
  timespec t0 = Monotonic();
  // The increment of semaphore 0 is not applied when the wait for semaphore 1 times out.
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1), Op(1, 0)}, &ts), SyscallFailsWithErrno(EAGAIN));
  timespec t1 = Monotonic();
  EXPECT_GE(ElapsedMs(t0, t1), kTimeoutNs / 1e6);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 1));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, ZeroTimeoutFailsEagainWhenTheOpWouldWait, "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts{0, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, OpThatCanProceedDoesNotWaitForTheTimeout, "sem.semtimedop-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  timespec zero{0, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &zero), SyscallSucceeds());
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 0)}, &zero), SyscallSucceeds());
  timespec long_timeout{3600, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 2)}, &long_timeout), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
}

IPC_TEST(Semtimedop, WokenBeforeTheTimeoutSucceeds, "sem.semtimedop-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        timespec ts{60, 0};
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallSucceeds());
      },
      {.what = "blocked in semtimedop with a 60 s timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, NullTimeoutBlocksLikeSemop, "sem.semtimedop-null") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn([&] { EXPECT_THAT(Semtimedop(set.id(), {Op(0, -3)}, nullptr), SyscallSucceeds()); },
                         {.what = "blocked in semtimedop without a timeout"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 3)}), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, NullTimeoutWithNowaitFailsEagain, "sem.semtimedop-null", "sem.semop-eagain-nowait") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1, IPC_NOWAIT)}, nullptr), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(Semtimedop, InaccessibleTimeoutFailsEfault, "sem.semtimedop-efault-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_NE(BadAddress(), MAP_FAILED);
  // The increment could proceed at once; the bad timeout address still fails the call and nothing is done.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, static_cast<const timespec*>(BadAddress())),
                    SyscallFailsWithErrno(EFAULT));
      },
      {.what = "semtimedop with an inaccessible timeout"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, NanosecondsTooLargeFailsEinval, "sem.semtimedop-einval-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts{0, 1000000000};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, NegativeNanosecondsFailsEinval, "sem.semtimedop-einval-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts{1, -1};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(Semtimedop, NegativeSecondsFailsEinval, "sem.semtimedop-einval-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  timespec ts{-1, 0};
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, 1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------------------------------------------------
// SEM_UNDO.

IPC_TEST(SemUndo, IncrementReversedOnExit, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding a SEM_UNDO increment"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, DecrementReversedOnExit, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  Child c = Child::Spawn([&] { ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds()); },
                         {.what = "taking a semaphore with SEM_UNDO and exiting"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemUndo, ReversedWhenKilledBySigkill, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 3), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding a semaphore taken with SEM_UNDO until killed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
  ASSERT_THAT(c.Kill(SIGKILL), SyscallSucceeds());
  c.ExpectKilledBy(SIGKILL);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemUndo, ReversedAcrossSetsAndOperations, "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(a.id(), {0, 5, 7}), SyscallSucceeds());
  ASSERT_THAT(SetAll(b.id(), {10, 4}), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(a.id(), {Op(0, 3, SEM_UNDO), Op(1, -1, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(a.id(), {Op(1, 4)}), SyscallSucceeds());  // not undone
        ASSERT_THAT(Semop(a.id(), {Op(2, -7, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, 5, SEM_UNDO), Op(1, -4, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(Semop(b.id(), {Op(0, -4, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding SEM_UNDO operations on two sets"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  EXPECT_THAT(GetAll(a.id(), 3), ElementsAre(3, 8, 0));
  EXPECT_THAT(GetAll(b.id(), 2), ElementsAre(13, 0));
  OpenGate(gate);
  c.ExpectExited(0);
  // Every SEM_UNDO operation is reversed (the net adjustment per semaphore); the plain +4 stays.
  EXPECT_THAT(GetAll(a.id(), 3), ElementsAre(0, 9, 7));
  EXPECT_THAT(GetAll(b.id(), 2), ElementsAre(10, 4));
}

IPC_TEST(SemUndo, ExitAdjustmentWakesWaiter, "sem.semop-undo-exit", "sem.semop-decrement") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child holder = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding the semaphore with SEM_UNDO"});
  ASSERT_TRUE(WaitUntilBlockedIn(holder.pid(), SYS_read));
  Child waiter = SemopChild(set.id(), {Op(0, -1)}, 0, "waiting for the holder's semaphore");
  ASSERT_TRUE(WaitUntilBlockedIn(waiter.pid(), SYS_semtimedop));
  // The holder dies without releasing; its adjustment gives the semaphore to the waiter.
  ASSERT_THAT(holder.Kill(SIGKILL), SyscallSucceeds());
  holder.ExpectKilledBy(SIGKILL);
  waiter.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, AdjustmentClampedAtZero, "sem.semop-undo-clamp") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 5, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding a SEM_UNDO increment of 5"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(Semop(set.id(), {Op(0, -3)}), SyscallSucceeds());
  OpenGate(gate);
  // The adjustment of -5 on a value of 2 goes as far as it can (0) and the exit is not held up.
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, SetvalClearsAdjustmentOfThatSemaphore, "sem.semop-undo-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO), Op(1, 3, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding SEM_UNDO increments on two semaphores"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(SetVal(set.id(), 0, 7), SyscallSucceeds());
  OpenGate(gate);
  c.ExpectExited(0);
  // Semaphore 0's adjustment was cleared by SETVAL; semaphore 1's still applied.
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 0));
}

IPC_TEST(SemUndo, SetallClearsAdjustments, "sem.semop-undo-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO), Op(1, 3, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding SEM_UNDO increments on two semaphores"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(SetAll(set.id(), {7, 9}), SyscallSucceeds());
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(7, 9));
}

IPC_TEST(SemUndo, NotInheritedByForkChild, "sem.semop-undo-fork") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 1, SEM_UNDO)}), SyscallSucceeds());
        Child grandchild = Child::Spawn(
            [&] {
              ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
              EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
            },
            {.what = "adding with SEM_UNDO in a forked child"});
        grandchild.ExpectExited(0);
        // The fork child undid only its own +2, not the parent's +1.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
      },
      {.what = "adding with SEM_UNDO, then forking"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, KeptAcrossExecve, "sem.semop-undo-exec") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  // The exec'd helper blocks writing to this full pipe until the test drains it.
  ASSERT_OK_AND_ASSIGN(Pipe full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(full.write.get()));
  Child c = Child::SpawnWithExitCode(
      [&] {
        full.read.reset();
        if (Semop(set.id(), {Op(0, 1, SEM_UNDO)}) != 0) return 10;
        ExecHelper({"write-byte", std::to_string(full.write.get())});
        return 11;
      },
      {.what = "adding with SEM_UNDO, then exec'ing the write-byte helper"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  // After execve the adjustment is still pending: the value is still raised.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  std::vector<char> drain(filled);
  ASSERT_TRUE(ReadAll(full.read.get(), drain.data(), drain.size()));
  c.ExpectExited(0);
  // And it was applied when the exec'd program exited.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, ThreadsShareAdjustmentsUntilProcessExit, "sem.clone-sysvsem") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        int rc = -1;
        int err = 0;
        std::thread t([&] {
          rc = Semop(set.id(), {Op(0, 1, SEM_UNDO)});
          err = errno;
        });
        t.join();
        ASSERT_EQ(rc, 0) << DescribeErrno(err);
        // The thread has exited, but its adjustment belongs to the list it shares with the process.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
      },
      {.what = "adding with SEM_UNDO from a thread that exits"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemUndo, UnshareSysvsemAppliesAdjustments, "sem.unshare-sysvsem") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "its runtime thread shares the semadj list, so unsharing it in one thread applies nothing until every "
      "sharer has exited (svipc(7))");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
        ASSERT_THAT(unshare(CLONE_SYSVSEM), SyscallSucceeds());
        // The process held the only reference to its list: the adjustments were applied now.
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
        // And the new list starts empty: a new adjustment is undone at exit, the old one is not repeated.
        ASSERT_THAT(Semop(set.id(), {Op(0, 5)}), SyscallSucceeds());
        ASSERT_THAT(Semop(set.id(), {Op(0, -1, SEM_UNDO)}), SyscallSucceeds());
      },
      {.what = "unsharing the semadj list"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(5));
}

IPC_TEST(SemUndo, UnshareNewipcAppliesAdjustments, "sem.unshare-newipc") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "its runtime thread shares the semadj list, so unsharing it in one thread applies nothing until every "
      "sharer has exited (svipc(7))");
  IPC_REQUIRE_ROOT("unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN");
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 2, SEM_UNDO)}), SyscallSucceeds());
        ASSERT_THAT(unshare(CLONE_NEWIPC), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "moving to a new IPC namespace with a SEM_UNDO increment"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  // The child is alive, but CLONE_NEWIPC implied CLONE_SYSVSEM: its adjustment was applied.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): values.

IPC_TEST(SemctlVal, SetvalThenGetval, "sem.semctl-getval-setval") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetVal(set.id(), 1, 42), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 1), SyscallSucceedsWithValue(42));
  EXPECT_THAT(GetVal(set.id(), 2), SyscallSucceedsWithValue(0));
  ASSERT_THAT(SetVal(set.id(), 1, 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetVal(set.id(), 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemctlVal, SetvalToSemvmxSucceeds, "sem.semctl-getval-setval", "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, vmx), SyscallSucceeds());
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(vmx));
}

IPC_TEST(SemctlVal, SetvalAboveSemvmxFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, vmx + 1), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetVal(set.id(), 0, INT32_MAX), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(4));
}

IPC_TEST(SemctlVal, SetvalNegativeFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, -1), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetVal(set.id(), 0, INT32_MIN), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(4));
}

IPC_TEST(SemctlVal, SetallAboveSemvmxFailsErange, "sem.semctl-erange") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_LT(vmx, USHRT_MAX) << "no unsigned short value above SEMVMX";
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {1, 2, 3}), SyscallSucceeds());
  EXPECT_THAT(SetAll(set.id(), {4, static_cast<unsigned short>(vmx + 1), 6}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(SetAll(set.id(), {4, 5, USHRT_MAX}), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
}

IPC_TEST(SemctlVal, SetallThenGetall, "sem.semctl-getall-setall") {
  ASSERT_OK_AND_ASSIGN(int vmx, SemVmx());
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 5));
  std::vector<unsigned short> values = {3, 0, 17, static_cast<unsigned short>(vmx), 1};
  ASSERT_THAT(SetAll(set.id(), values), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetAll(set.id(), 5), ElementsAreArray(values));
  for (int i = 0; i < 5; ++i) EXPECT_THAT(GetVal(set.id(), i), SyscallSucceedsWithValue(values[i]));
}

IPC_TEST(SemctlVal, GetallWritesExactlyNsemsValues, "sem.semctl-getall-setall") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(SetAll(set.id(), {7, 8, 9}), SyscallSucceeds());
  std::vector<unsigned short> buf(6, 0xbeef);
  semun arg{};
  arg.array = buf.data();
  ASSERT_THAT(semctl(set.id(), 0, GETALL, arg), SyscallSucceedsWithValue(0));
  EXPECT_THAT(buf, ElementsAre(7, 8, 9, 0xbeef, 0xbeef, 0xbeef));
}

IPC_TEST(SemctlVal, SetvalWakesBlockedDecrement, "sem.semctl-set-wakes") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  Child c = SemopChild(set.id(), {Op(0, -2)}, 0, "blocked decrementing by 2");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(SetVal(set.id(), 0, 5), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(3));
}

IPC_TEST(SemctlVal, SetallWakesBlockedWaitForZero, "sem.semctl-set-wakes") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {4, 4}), SyscallSucceeds());
  Child c = SemopChild(set.id(), {Op(0, 0), Op(1, 0)}, 0, "blocked waiting for two zeros");
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_semtimedop));
  ASSERT_THAT(SetAll(set.id(), {0, 0}), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): GETNCNT, GETZCNT, GETPID.

IPC_TEST(SemctlCount, NcntAndZcntCountEveryBlockedWaiter, "sem.semctl-getncnt", "sem.semctl-getzcnt") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(SetAll(set.id(), {0, 1}), SyscallSucceeds());
  std::vector<Child> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(SemopChild(set.id(), {Op(0, -1)}, 0, "decrementer"));
  for (int i = 0; i < 2; ++i) waiters.push_back(SemopChild(set.id(), {Op(1, 0)}, 0, "zero waiter"));
  for (auto& w : waiters) ASSERT_TRUE(WaitUntilBlockedIn(w.pid(), SYS_semtimedop));
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(3));
  EXPECT_THAT(GetZcnt(set.id(), 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetNcnt(set.id(), 1), SyscallSucceedsWithValue(0));
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(2));
  // Two decrementers can proceed: the count drops by exactly two.
  ASSERT_THAT(Semop(set.id(), {Op(0, 2)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(1));
  ASSERT_THAT(SetVal(set.id(), 1, 0), SyscallSucceeds());
  EXPECT_THAT(GetZcnt(set.id(), 1), SyscallSucceedsWithValue(0));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
  for (auto& w : waiters) w.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 2), ElementsAre(0, 0));
}

IPC_TEST(SemctlCount, CountsDropWhenWaitersTimeOut, "sem.semctl-getncnt", "sem.semtimedop-eagain-timeout") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        // Wait for the test's go, then time out: semncnt must be back at 0 afterwards.
        timespec ts{0, 1000000};
        AwaitGate(gate);
        EXPECT_THAT(Semtimedop(set.id(), {Op(0, -1)}, &ts), SyscallFailsWithErrno(EAGAIN));
        EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
      },
      {.what = "timing out in semtimedop"});
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetNcnt(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemctlPid, SemopSetsSempidOfEveryOperatedSemaphore, "sem.semctl-getpid", "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 0)}), SyscallSucceeds());
  for (int i = 0; i < 3; ++i) EXPECT_THAT(GetPid(set.id(), i), SyscallSucceedsWithValue(getpid()));
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn(
        [&] {
          ASSERT_THAT(Semop(set.id(), {Op(0, -1), Op(2, 0)}), SyscallSucceeds());
        },
        {.what = "operating on semaphores 0 and 2"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  // Semaphores 0 and 2 (also the wait-for-zero) name the child; semaphore 1 was not in its call.
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(child_pid));
  EXPECT_THAT(GetPid(set.id(), 1), SyscallSucceedsWithValue(getpid()));
  EXPECT_THAT(GetPid(set.id(), 2), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemctlPid, FailedSemopLeavesSempid, "sem.semctl-getpid", "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] { EXPECT_THAT(Semop(set.id(), {Op(0, -2, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN)); },
      {.what = "a semop that fails with EAGAIN"});
  c.ExpectExited(0);
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
}

IPC_TEST(SemctlPid, SetvalSetsSempid, "sem.semctl-getpid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1)}), SyscallSucceeds());
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn([&] { ASSERT_THAT(SetVal(set.id(), 1, 9), SyscallSucceeds()); },
                           {.what = "SETVAL of semaphore 1"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
  EXPECT_THAT(GetPid(set.id(), 1), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemctlPid, SetallSetsSempid, "sem.semctl-getpid") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1), Op(1, 1), Op(2, 1)}), SyscallSucceeds());
  pid_t child_pid = -1;
  {
    Child c = Child::Spawn(
        [&] {
          ASSERT_THAT(SetAll(set.id(), {4, 5, 6}), SyscallSucceeds());
        },
        {.what = "SETALL"});
    child_pid = c.pid();
    c.ExpectExited(0);
  }
  for (int i = 0; i < 3; ++i) EXPECT_THAT(GetPid(set.id(), i), SyscallSucceedsWithValue(child_pid));
}

IPC_TEST(SemctlPid, UndoAdjustmentSetsSempid, "sem.semctl-getpid", "sem.semop-undo-exit") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(Pipe gate, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(Semop(set.id(), {Op(0, 1, SEM_UNDO)}), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = "holding a SEM_UNDO increment"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallSucceeds());
  ASSERT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(getpid()));
  const pid_t child_pid = c.pid();
  OpenGate(gate);
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(1));
  EXPECT_THAT(GetPid(set.id(), 0), SyscallSucceedsWithValue(child_pid));
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): IPC_STAT, IPC_SET, times.

IPC_TEST(SemctlStat, OtimeSetBySuccessfulSemopOnly, "sem.semop-sempid-otime", "sem.semctl-ipc-stat") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  ASSERT_THAT(SetVal(set.id(), 0, 1), SyscallSucceeds());
  // A failed semop and semctl calls do not count as operations.
  ASSERT_THAT(Semop(set.id(), {Op(0, -2, IPC_NOWAIT)}), SyscallFailsWithErrno(EAGAIN));
  ASSERT_OK_AND_ASSIGN(semid_ds before, Stat(set.id()));
  EXPECT_EQ(before.sem_otime, 0);
  time_t t0 = time(nullptr);
  ASSERT_THAT(Semop(set.id(), {Op(0, -1)}), SyscallSucceeds());
  time_t t1 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_GE(after.sem_otime, t0);
  EXPECT_LE(after.sem_otime, t1);
}

IPC_TEST(SemctlStat, WaitForZeroSetsOtime, "sem.semop-sempid-otime") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  time_t t0 = time(nullptr);
  ASSERT_THAT(Semop(set.id(), {Op(0, 0)}), SyscallSucceeds());
  time_t t1 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  EXPECT_GE(ds.sem_otime, t0);
  EXPECT_LE(ds.sem_otime, t1);
}

IPC_TEST(SemctlStat, CtimeChangesOnlyForSetOperations, "sem.semctl-ctime", "sem.semctl-ipc-set") {
  ASSERT_OK_AND_ASSIGN(SemSet by_set, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet by_setval, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet by_setall, SemSet::Create(IPC_PRIVATE, 2));
  ASSERT_OK_AND_ASSIGN(SemSet untouched, SemSet::Create(IPC_PRIVATE, 2));
  time_t created = 0;
  for (const SemSet* s : {&by_set, &by_setval, &by_setall, &untouched}) {
    ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(s->id()));
    created = std::max(created, ds.sem_ctime);
  }
  // Time stamps have a resolution of one second: let the clock move on so that a change is visible.
  ASSERT_TRUE(WaitForWallClockPast(created));
  time_t t0 = time(nullptr);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(by_set.id()));
  ASSERT_THAT(SetDs(by_set.id(), ds), SyscallSucceeds());
  ASSERT_THAT(SetVal(by_setval.id(), 1, 3), SyscallSucceeds());
  ASSERT_THAT(SetAll(by_setall.id(), {1, 2}), SyscallSucceeds());
  // semop and the read-only semctl commands are not changes of the set.
  ASSERT_THAT(Semop(untouched.id(), {Op(0, 1), Op(1, 0)}), SyscallSucceeds());
  ASSERT_THAT(GetVal(untouched.id(), 0), SyscallSucceeds());
  ASSERT_THAT(GetPid(untouched.id(), 0), SyscallSucceeds());
  EXPECT_EQ(GetAll(untouched.id(), 2).size(), 2u);
  time_t t1 = time(nullptr);
  for (const SemSet* s : {&by_set, &by_setval, &by_setall}) {
    ASSERT_OK_AND_ASSIGN(semid_ds now, Stat(s->id()));
    EXPECT_GE(now.sem_ctime, t0) << "set " << s->id();
    EXPECT_LE(now.sem_ctime, t1) << "set " << s->id();
  }
  ASSERT_OK_AND_ASSIGN(semid_ds u, Stat(untouched.id()));
  EXPECT_LT(u.sem_ctime, t0);
}

IPC_TEST(SemctlSet, ModeChangeTakesEffect, "sem.semctl-ipc-set", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_THAT(SetVal(set.id(), 0, 6), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ds.sem_perm.mode = 0604;
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode & 0777, 0604u);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(6));
        EXPECT_THAT(SetVal(set.id(), 0, 1), SyscallFailsWithErrno(EACCES));
      },
      {.what = "reading a set whose mode was changed to 0604"});
  c.ExpectExited(0);
}

IPC_TEST(SemctlSet, OwnerChangeKeepsCreator, "sem.semctl-ipc-set") {
  IPC_REQUIRE_MAPPED_IDS(kNobody, kNogroup);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 2, IPC_CREAT | 0640));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  const uid_t creator = ds.sem_perm.cuid;
  const gid_t creator_group = ds.sem_perm.cgid;
  ds.sem_perm.uid = kNobody;
  ds.sem_perm.gid = kNogroup;
  ds.sem_perm.mode = 0660;
  ds.sem_nsems = 99;  // not settable
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.uid, kNobody);
  EXPECT_EQ(after.sem_perm.gid, kNogroup);
  EXPECT_EQ(after.sem_perm.mode & 0777, 0660u);
  EXPECT_EQ(after.sem_perm.cuid, creator);
  EXPECT_EQ(after.sem_perm.cgid, creator_group);
  EXPECT_EQ(after.sem_nsems, 2u);
}

IPC_TEST(SemctlSet, NewOwnerMaySetAndRemove, "sem.semctl-ipc-set-rmid-owner") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  ds.sem_perm.uid = kNobody;
  ASSERT_THAT(SetDs(set.id(), ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(semid_ds mine, Stat(set.id()));
        mine.sem_perm.mode = 0640;
        EXPECT_THAT(SetDs(set.id(), mine), SyscallSucceeds());
        EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the set's new owner"});
  c.ExpectExited(0);
  ExpectRemovedElsewhere(set);
}

IPC_TEST(SemctlSet, CreatorMaySetAndRemoveAfterGivingAway, "sem.semctl-ipc-set-rmid-owner") {
  SEM_REQUIRE_OTHER_USER();
  AdoptedSet set{CreateSetAsNobody(1, 0600)};
  ASSERT_GE(set.id, 0);
  // Root gives the set to a third user; nobody remains the creator.
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id));
  ds.sem_perm.uid = 4321;
  ASSERT_THAT(SetDs(set.id, ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        semid_ds mine = ds;
        mine.sem_perm.mode = 0644;
        EXPECT_THAT(SetDs(set.id, mine), SyscallSucceeds());
        EXPECT_THAT(semctl(set.id, 0, IPC_RMID), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the set's creator"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(std::exchange(set.id, -1), 0), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemctlSet, PrivilegedCallerMaySetAndRemoveForeignSet, "sem.semctl-ipc-set-rmid-owner") {
  SEM_REQUIRE_OTHER_USER();
  AdoptedSet set{CreateSetAsNobody(1, 0600)};
  ASSERT_GE(set.id, 0);
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id));
  ASSERT_EQ(ds.sem_perm.cuid, kNobody);
  ds.sem_perm.mode = 0640;
  EXPECT_THAT(SetDs(set.id, ds), SyscallSucceeds());
  EXPECT_THAT(semctl(set.id, 0, IPC_RMID), SyscallSucceeds());
  EXPECT_THAT(GetVal(std::exchange(set.id, -1), 0), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemctlSet, NonOwnerIpcSetFailsEperm, "sem.semctl-eperm") {
  SEM_REQUIRE_OTHER_USER();
  // Mode 0666 gives others every permission, but IPC_SET is for the owner and creator only.
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(semid_ds ds, Stat(set.id()));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        semid_ds change = ds;
        change.sem_perm.mode = 0600;
        EXPECT_THAT(SetDs(set.id(), change), SyscallFailsWithErrno(EPERM));
        change = ds;
        change.sem_perm.uid = kNobody;
        EXPECT_THAT(SetDs(set.id(), change), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_SET on root's set as an unprivileged user"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode & 0777, 0666u);
  EXPECT_EQ(after.sem_perm.uid, ds.sem_perm.uid);
}

IPC_TEST(SemctlSet, NonOwnerIpcRmidFailsEperm, "sem.semctl-eperm") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1, IPC_CREAT | 0666));
  ASSERT_THAT(SetVal(set.id(), 0, 2), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(semctl(set.id(), 0, IPC_RMID), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_RMID on root's set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(2));
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EACCES for each command that needs read or alter permission.

struct CommandCase {
  const char* name;
  int cmd;
};

std::string CommandName(const ::testing::TestParamInfo<CommandCase>& info) { return info.param.name; }

// Calls semctl with `cmd` on a 3-semaphore set, with a valid argument for the command. SEM_STAT and
// SEM_STAT_ANY take the set's index instead of its id.
int CallCommand(int id, int index, int cmd) {
  semid_ds ds{};
  unsigned short values[3] = {1, 1, 1};
  semun arg{};
  switch (cmd) {
    case GETALL:
    case SETALL:
      arg.array = values;
      break;
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      arg.buf = &ds;
      break;
    case SETVAL:
      arg.val = 1;
      break;
    default:
      break;
  }
  bool by_index = cmd == SEM_STAT || cmd == SEM_STAT_ANY;
  return semctl(by_index ? index : id, 0, cmd, arg);
}

class SemctlEacces : public ::testing::TestWithParam<CommandCase> {};

IPC_TEST_P(SemctlEacces, WithoutPermissionFailsEacces, "sem.semctl-eacces") {
  SEM_REQUIRE_OTHER_USER();
  const int cmd = GetParam().cmd;
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0600));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallFailsWithErrno(EACCES));
      },
      {.what = std::string("semctl ") + GetParam().name + " on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
  // Nothing was changed, and the same call is fine for the owner.
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(0, 0, 0));
  EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallSucceeds());
}

INSTANTIATE_TEST_SUITE_P(Commands, SemctlEacces,
                         ::testing::Values(CommandCase{"GETALL", GETALL}, CommandCase{"GETNCNT", GETNCNT},
                                           CommandCase{"GETPID", GETPID}, CommandCase{"GETVAL", GETVAL},
                                           CommandCase{"GETZCNT", GETZCNT}, CommandCase{"IPC_STAT", IPC_STAT},
                                           CommandCase{"SEM_STAT", SEM_STAT}, CommandCase{"SETALL", SETALL},
                                           CommandCase{"SETVAL", SETVAL}),
                         CommandName);

IPC_TEST(SemctlPerm, ReadPermissionAllowsQueriesNotChanges, "sem.semctl-eacces", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0604));
  ASSERT_THAT(SetAll(set.id(), {1, 2, 3}), SyscallSucceeds());
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        for (int cmd : {GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_STAT, SEM_STAT})
          EXPECT_THAT(CallCommand(set.id(), index, cmd), SyscallSucceeds()) << "cmd " << cmd;
        EXPECT_THAT(CallCommand(set.id(), index, SETVAL), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(CallCommand(set.id(), index, SETALL), SyscallFailsWithErrno(EACCES));
      },
      {.what = "semctl on a 0604 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
}

IPC_TEST(SemctlPerm, AlterPermissionAllowsChangesNotQueries, "sem.semctl-eacces", "sem.perm-classes") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 3, IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        EXPECT_THAT(SetVal(set.id(), 0, 4), SyscallSucceeds());
        EXPECT_THAT(SetAll(set.id(), {5, 6, 7}), SyscallSucceeds());
        EXPECT_THAT(GetVal(set.id(), 0), SyscallFailsWithErrno(EACCES));
        EXPECT_EQ(Stat(set.id()).error_number(), EACCES);
      },
      {.what = "semctl on a 0602 set as an unprivileged user"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(5, 6, 7));
}

IPC_TEST(SemctlPerm, SemStatAnyIgnoresReadPermission, "sem.semctl-sem-stat-any") {
  SEM_REQUIRE_OTHER_USER();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 4, IPC_CREAT | 0600));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROPPED_PRIVILEGES();
        semid_ds ds{};
        semun arg{};
        arg.buf = &ds;
        EXPECT_THAT(semctl(index, 0, SEM_STAT_ANY, arg), SyscallSucceedsWithValue(set.id()));
        EXPECT_EQ(ds.sem_nsems, 4u);
        EXPECT_EQ(ds.sem_perm.mode & 0777, 0600u);
        EXPECT_EQ(ds.sem_perm.uid, 0u);
      },
      {.what = "SEM_STAT_ANY on a 0600 set as an unprivileged user"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EFAULT for each command that takes a buffer.

class SemctlEfault : public ::testing::TestWithParam<CommandCase> {};

IPC_TEST_P(SemctlEfault, InaccessibleBufferFailsEfault, "sem.semctl-efault") {
  const int cmd = GetParam().cmd;
  ASSERT_NE(BadAddress(), MAP_FAILED);
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
        arg.buf = static_cast<semid_ds*>(BadAddress());  // the same address for every member
        EXPECT_THAT(semctl(target, 0, cmd, arg), SyscallFailsWithErrno(EFAULT));
      },
      {.what = std::string("semctl ") + GetParam().name + " with an inaccessible buffer"});
  c.ExpectExited(0);
  EXPECT_THAT(GetAll(set.id(), 3), ElementsAre(1, 2, 3));
  ASSERT_OK_AND_ASSIGN(semid_ds after, Stat(set.id()));
  EXPECT_EQ(after.sem_perm.mode, before.sem_perm.mode);
  EXPECT_EQ(after.sem_perm.uid, before.sem_perm.uid);
}

INSTANTIATE_TEST_SUITE_P(Commands, SemctlEfault,
                         ::testing::Values(CommandCase{"IPC_STAT", IPC_STAT}, CommandCase{"IPC_SET", IPC_SET},
                                           CommandCase{"GETALL", GETALL}, CommandCase{"SETALL", SETALL},
                                           CommandCase{"IPC_INFO", IPC_INFO},
                                           CommandCase{"SEM_INFO", SEM_INFO},
                                           CommandCase{"SEM_STAT", SEM_STAT},
                                           CommandCase{"SEM_STAT_ANY", SEM_STAT_ANY}),
                         CommandName);

// ---------------------------------------------------------------------------------------------------------
// semctl(2): EINVAL and EIDRM.

IPC_TEST(SemctlErrors, UnknownCommandFailsEinval, "sem.semctl-einval-cmd") {
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  semun arg{};
  EXPECT_THAT(semctl(set.id(), 0, 12345, arg), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(semctl(set.id(), 0, -1, arg), SyscallFailsWithErrno(EINVAL));
  // The set is still there.
  EXPECT_THAT(GetVal(set.id(), 0), SyscallSucceedsWithValue(0));
}

IPC_TEST(SemctlErrors, NegativeIdFailsEinval, "sem.semctl-einval-id") {
  EXPECT_THAT(GetVal(-1, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(SetVal(-1, 0, 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(Stat(-1).error_number(), EINVAL);
  EXPECT_THAT(semctl(-1, 0, IPC_RMID), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemctlErrors, RemovedIdFailsEinval, "sem.semctl-einval-id", "sem.semctl-ipc-rmid") {
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

IPC_TEST(SemctlErrors, SemStatOfUnusedIndexFailsEinval, "sem.semctl-einval-sem-stat") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  const int index = IndexOf(set.id());
  ASSERT_GE(index, 0);
  ASSERT_THAT(CallCommand(set.id(), index, SEM_STAT), SyscallSucceedsWithValue(set.id()));
  ASSERT_THAT(set.Remove(), SyscallSucceeds());
  EXPECT_THAT(CallCommand(-1, index, SEM_STAT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(CallCommand(-1, index, SEM_STAT_ANY), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SemctlErrors, SetallRacingWithRemovalFailsEidrm, "sem.semctl-eidrm") {
  IPC_REQUIRE_ROOT("userfaultfd handling of kernel-mode faults needs CAP_SYS_PTRACE");
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
        const size_t page = static_cast<size_t>(limits::PageSize());
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
  ExpectRemovedElsewhere(set);
}

// ---------------------------------------------------------------------------------------------------------
// semctl(2): IPC_INFO, SEM_INFO, SEM_STAT.

IPC_TEST(SemctlInfo, IpcInfoMatchesProcSysKernelSem, "sem.semctl-ipc-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
  ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
  EXPECT_EQ(info.semmsl, l.semmsl);
  EXPECT_EQ(info.semmns, l.semmns);
  EXPECT_EQ(info.semopm, l.semopm);
  EXPECT_EQ(info.semmni, l.semmni);
}

IPC_TEST(SemctlInfo, SemvmxIs32767, "sem.semop-semvmx") {
  ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO));
  EXPECT_EQ(info.semvmx, 32767);
  ASSERT_OK_AND_ASSIGN(SemSet set, SemSet::Create(IPC_PRIVATE, 1));
  EXPECT_THAT(SetVal(set.id(), 0, 32767), SyscallSucceeds());
  EXPECT_THAT(SetVal(set.id(), 0, 32768), SyscallFailsWithErrno(ERANGE));
  EXPECT_THAT(Semop(set.id(), {Op(0, 1)}), SyscallFailsWithErrno(ERANGE));
}

IPC_TEST(SemctlInfo, SemInfoCountsSetsAndSemaphores, "sem.semctl-sem-info") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("counting sets in a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(seminfo empty, Info(SEM_INFO));
    EXPECT_EQ(empty.semusz, 0);
    EXPECT_EQ(empty.semaem, 0);
    ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 3));
    ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 5));
    ASSERT_OK_AND_ASSIGN(seminfo two, Info(SEM_INFO));
    EXPECT_EQ(two.semusz, 2);
    EXPECT_EQ(two.semaem, 8);
    ASSERT_THAT(a.Remove(), SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(seminfo one, Info(SEM_INFO));
    EXPECT_EQ(one.semusz, 1);
    EXPECT_EQ(one.semaem, 5);
    // The limits are reported as by IPC_INFO.
    ASSERT_OK_AND_ASSIGN(limits::SemLimits l, limits::Sem());
    EXPECT_EQ(one.semmsl, l.semmsl);
    EXPECT_EQ(one.semmns, l.semmns);
    EXPECT_EQ(one.semopm, l.semopm);
    EXPECT_EQ(one.semmni, l.semmni);
  });
}

IPC_TEST(SemctlInfo, IpcInfoUsageFieldsDoNotCountSets, "sem.semctl-ipc-info", "sem.semctl-sem-info") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("IPC_INFO with and without sets in a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(seminfo before, Info(IPC_INFO));
    ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 6));
    ASSERT_OK_AND_ASSIGN(seminfo after, Info(IPC_INFO));
    // IPC_INFO's semusz and semaem are limits, not usage (only SEM_INFO reports usage there).
    EXPECT_EQ(after.semusz, before.semusz);
    EXPECT_EQ(after.semaem, before.semaem);
    ASSERT_OK_AND_ASSIGN(seminfo usage, Info(SEM_INFO));
    EXPECT_EQ(usage.semusz, 1);
    EXPECT_EQ(usage.semaem, 6);
  });
}

IPC_TEST(SemctlInfo, IpcInfoReturnsHighestIndexAndSemStatFindsEverySet, "sem.semctl-ipc-info",
         "sem.semctl-sem-stat", "sem.semctl-einval-sem-stat") {
  SEM_RUN_IN_NEW_IPC_NAMESPACE("walking the set table of a new IPC namespace", [&] {
    ASSERT_OK_AND_ASSIGN(SemSet a, SemSet::Create(IPC_PRIVATE, 1));
    ASSERT_OK_AND_ASSIGN(SemSet b, SemSet::Create(IPC_PRIVATE, 2));
    ASSERT_OK_AND_ASSIGN(SemSet c, SemSet::Create(IPC_PRIVATE, 3));
    int max_index = -1;
    ASSERT_OK_AND_ASSIGN(seminfo info, Info(IPC_INFO, &max_index));
    int sem_info_max = -1;
    ASSERT_OK_AND_ASSIGN(seminfo usage, Info(SEM_INFO, &sem_info_max));
    EXPECT_EQ(sem_info_max, max_index);
    EXPECT_EQ(usage.semusz, 3);
    EXPECT_EQ(info.semmni, usage.semmni);
    ASSERT_GE(max_index, 2);
    std::set<int> found;
    for (int i = 0; i <= max_index; ++i) {
      semid_ds ds{};
      semun arg{};
      arg.buf = &ds;
      int id = semctl(i, 0, SEM_STAT, arg);
      if (id < 0) {
        EXPECT_EQ(errno, EINVAL) << "index " << i;
        continue;
      }
      found.insert(id);
      // The semid_ds is the one of the set whose id is returned.
      ASSERT_OK_AND_ASSIGN(semid_ds direct, Stat(id));
      EXPECT_EQ(ds.sem_nsems, direct.sem_nsems);
    }
    EXPECT_EQ(found, (std::set<int>{a.id(), b.id(), c.id()}));
    // The highest used entry is in use; the one after it is not.
    EXPECT_THAT(CallCommand(-1, max_index, SEM_STAT), SyscallSucceeds());
    EXPECT_THAT(CallCommand(-1, max_index + 1, SEM_STAT), SyscallFailsWithErrno(EINVAL));
  });
}

}  // namespace
}  // namespace ipc
