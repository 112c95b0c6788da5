// System V shared memory conformance: shmget(2), shmop(2) (shmat/shmdt), shmctl(2) and the
// /proc/sys/kernel/shm* files of proc(5). Rules: suite/rules/shm.ini.
//
// Isolation. The test main runs in a private IPC namespace when it can: tests that use fixed keys or read
// limits require it. Tests that change a limit (shmmni, shmall, shmmax, shm_rmid_forced) do it in a child
// that unshare(CLONE_NEWIPC)s a fresh namespace of its own and writes the namespaced sysctl there, so
// neither the host nor the other tests ever see the change; the namespace and its segments die with the
// child. Tests that need another user drop to uid/gid 65534 without capabilities in a child.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

constexpr uid_t kNobody = 65534;        // the uid isolation::DropPrivileges() switches to
constexpr gid_t kNogroup = 65534;       // and its gid
constexpr uid_t kOtherUid = 4321;       // an owner that is neither root nor kNobody
constexpr key_t kKeyBase = 0x53480000;  // fixed keys: only used inside the private IPC namespace

constexpr char kShmRmidForced[] = "/proc/sys/kernel/shm_rmid_forced";
constexpr char kShmMni[] = "/proc/sys/kernel/shmmni";
constexpr char kShmAll[] = "/proc/sys/kernel/shmall";
constexpr char kShmMax[] = "/proc/sys/kernel/shmmax";

size_t Page() { return static_cast<size_t>(limits::PageSize()); }

// ------------------------------------------------------------------------------------------ helpers

PosixResult<struct shmid_ds> Stat(int id) {
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  if (::shmctl(id, IPC_STAT, &ds) != 0) return PosixResult<struct shmid_ds>::Error(errno, "shmctl(IPC_STAT)");
  return ds;
}

// shmget must fail with `err`; a segment it creates by mistake is removed again.
#define EXPECT_SHMGET_FAILS(key, size, flg, err)                                                    \
  do {                                                                                              \
    int shmget_id_ = ::shmget((key), (size), (flg));                                                \
    EXPECT_THAT(shmget_id_, SyscallFailsWithErrno(err)) << "shmget(" #key ", " #size ", " #flg ")"; \
    if (shmget_id_ >= 0) ::shmctl(shmget_id_, IPC_RMID, nullptr);                                   \
  } while (0)

// shmat must fail with `err`; an attachment made by mistake is detached again.
#define EXPECT_SHMAT_FAILS(id, addr, flg, err)                                                     \
  do {                                                                                             \
    void* shmat_addr_ = ::shmat((id), (addr), (flg));                                              \
    EXPECT_THAT(shmat_addr_, SyscallFailsWithErrno(err)) << "shmat(" #id ", " #addr ", " #flg ")"; \
    if (shmat_addr_ != reinterpret_cast<void*>(-1)) ::shmdt(shmat_addr_);                          \
  } while (0)

// In a child: become uid/gid 65534 with no capabilities; the child fails when that is impossible.
#define SHM_DROP_PRIVILEGES()                                    \
  do {                                                           \
    ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds()); \
    ASSERT_EQ(::geteuid(), kNobody);                             \
  } while (0)

bool SetRlimit(int resource, rlim_t value) {
  struct rlimit rl = {value, value};
  return ::setrlimit(resource, &rl) == 0;
}

// Writes a /proc/sys file. Only used for the namespaced kernel.shm* files, and only inside a fresh IPC
// namespace (or the test's private one), never in the host's.
bool WriteProcSys(const char* path, const std::string& value) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  errno = err;
  return n == static_cast<ssize_t>(value.size());
}

// Why a child cannot get an IPC namespace of its own ("" when it can). Probed once, in a child.
const std::string& FreshIpcNamespaceUnavailable() {
  static const std::string reason = [] {
    Child c = Child::SpawnWithExitCode([] { return ::unshare(CLONE_NEWIPC) == 0 ? 0 : errno; },
                                       {.what = "probing unshare(CLONE_NEWIPC)"});
    ExitStatus st = c.Wait();
    if (st.Exited(0)) return std::string();
    if (st.kind == ExitStatus::Kind::kExited)
      return "unshare(CLONE_NEWIPC) failed with " + DescribeErrno(st.code);
    return "the unshare(CLONE_NEWIPC) probe " + st.Describe();
  }();
  return reason;
}

#define SHM_REQUIRE_FRESH_IPC_NAMESPACE()                                                   \
  do {                                                                                      \
    if (!FreshIpcNamespaceUnavailable().empty())                                            \
      GTEST_SKIP() << "needs a fresh IPC namespace to change limits in without disturbing " \
                      "anyone: "                                                            \
                   << FreshIpcNamespaceUnavailable();                                       \
  } while (0)

// A child that runs `body` in a new IPC namespace of its own (empty, default limits, shm_rmid_forced 0).
Child SpawnInFreshIpcNamespace(std::function<void()> body, std::string what) {
  return Child::Spawn(
      [body = std::move(body)] {
        ASSERT_THAT(::unshare(CLONE_NEWIPC), SyscallSucceeds());
        body();
      },
      {.what = std::move(what)});
}

// proc(5): with shm_rmid_forced = 1 a segment dies on its last detach (also when a failed shmat drops its
// provisional attach) and when its creator exits without ever attaching it. Tests that use a segment after
// its attach count fell to zero, or after its creator exited, need it to be 0. In the test's private
// namespace the setting belongs to this binary alone and is reset to 0; in the host's namespace a 1 cannot be
// changed, so such tests skip.
std::string RmidForcedOffOrWhyNot() {
  auto v = limits::ReadProcSysLong(kShmRmidForced);
  if (!v.ok()) return v.error();
  if (v.value() == 0) return "";
  if (!isolation::InPrivateIpcNamespace())
    return std::string(
               "kernel.shm_rmid_forced is 1 (segments die on their last detach) and there is no "
               "private IPC namespace to reset it in: ") +
           isolation::IpcNamespaceUnavailableReason();
  if (!WriteProcSys(kShmRmidForced, "0"))
    return "resetting shm_rmid_forced to 0 in the private IPC namespace failed with " + DescribeErrno(errno);
  return "";
}

#define SHM_REQUIRE_RMID_FORCED_OFF()                                \
  do {                                                               \
    std::string rmid_forced_why_ = RmidForcedOffOrWhyNot();          \
    if (!rmid_forced_why_.empty()) GTEST_SKIP() << rmid_forced_why_; \
  } while (0)

// Removes (IPC_RMID) a segment the test did not create through ShmSegment, e.g. one a child created and
// left behind, when the scope ends in the process that made the guard.
class ScopedShmId {
 public:
  explicit ScopedShmId(int id) : id_(id), owner_(::getpid()) {}
  ScopedShmId(const ScopedShmId&) = delete;
  ScopedShmId& operator=(const ScopedShmId&) = delete;
  ~ScopedShmId() {
    if (id_ >= 0 && owner_ == ::getpid()) {
      int saved = errno;
      ::shmctl(id_, IPC_RMID, nullptr);
      errno = saved;
    }
  }
  int id() const { return id_; }

 private:
  int id_;
  pid_t owner_;
};

// An anonymous private mapping, unmapped on destruction by the process that made it.
class AnonMapping {
 public:
  explicit AnonMapping(size_t len, int prot = PROT_READ | PROT_WRITE) : len_(len), owner_(::getpid()) {
    addr_ = ::mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  AnonMapping(const AnonMapping&) = delete;
  AnonMapping& operator=(const AnonMapping&) = delete;
  ~AnonMapping() {
    if (ok() && owner_ == ::getpid()) ::munmap(addr_, len_);
  }
  bool ok() const { return addr_ != MAP_FAILED; }
  char* get() const { return static_cast<char*>(addr_); }

 private:
  void* addr_;
  size_t len_;
  pid_t owner_;
};

// An address at which `len` bytes, aligned to `align`, are unmapped right now: a reservation is made and
// released again. The test process is single-threaded, so nothing maps there before the caller attaches.
PosixResult<char*> FreeAlignedRange(size_t len, size_t align) {
  size_t total = len + 2 * align;
  void* p = ::mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return PosixResult<char*>::Error(errno, "mmap");
  uintptr_t start = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = (start + align - 1) / align * align;
  ::munmap(p, total);
  return reinterpret_cast<char*>(base);
}

// The permissions column of /proc/self/maps ("rw-s") for the mapping that contains `addr`, "" if none.
std::string MappingPerms(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) return perms;
  }
  return "";
}

// In a child that is meant to die of SIGSEGV: default action, not blocked, and no core dump (a core file or
// a core_pattern helper would only slow the run down). The child dies, so nothing needs restoring.
void PrepareToDieOfSigsegv() {
  ::prctl(PR_SET_DUMPABLE, 0);
  SetRlimit(RLIMIT_CORE, 0);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGSEGV, &dfl, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSEGV);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

bool SendInt(int fd, int v) { return WriteAll(fd, &v, sizeof v); }

PosixResult<int> ReceiveInt(int fd) {
  int v = 0;
  if (!ReadAll(fd, &v, sizeof v))
    return PosixResult<int>::Error(errno ? errno : EPIPE, "reading from the child");
  return v;
}

// Lock-step between the test and one child: the child Signal()s after each step and AwaitGo()es; the test
// AwaitSignal()s (with a deadline, so a dead or stuck child becomes a failure) and says Go().
struct Handshake {
  Pipe up;    // child -> test
  Pipe down;  // test -> child

  static PosixResult<Handshake> Create() {
    auto u = Pipe::Create(O_CLOEXEC);
    if (!u.ok()) return PosixResult<Handshake>::Error(u.error_number(), "pipe2");
    auto d = Pipe::Create(O_CLOEXEC);
    if (!d.ok()) return PosixResult<Handshake>::Error(d.error_number(), "pipe2");
    return Handshake{std::move(u).value(), std::move(d).value()};
  }

  // Child side.
  bool Signal() { return WriteAll(up.write.get(), "s", 1); }
  bool AwaitGo() {
    char c;
    return ReadAll(down.read.get(), &c, 1);
  }

  // Test side: call once after spawning, so that a dead child shows as end of file.
  void CloseChildEnds() {
    up.write.Close();
    down.read.Close();
  }
  ::testing::AssertionResult AwaitSignal() {
    milliseconds deadline = ScaledDeadline(milliseconds(5000));
    struct pollfd pfd = {up.read.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(deadline.count()));
    if (n < 0) return ::testing::AssertionFailure() << "poll failed with " << DescribeErrno(errno);
    if (n == 0)
      return ::testing::AssertionFailure() << "the child did not report within " << deadline.count() << " ms";
    char c;
    ssize_t r = ::read(up.read.get(), &c, 1);
    if (r != 1) return ::testing::AssertionFailure() << "the child ended before reporting its step";
    return ::testing::AssertionSuccess();
  }
  bool Go() {
    ScopedSigaction no_sigpipe(SIGPIPE, SIG_IGN);  // a child that died must not kill the test
    return WriteAll(down.write.get(), "g", 1);
  }
};

// Creates a segment as uid/gid 65534 in a child and returns its identifier; the segment outlives the child.
PosixResult<int> CreateAsNobody(size_t size, int mode) {
  auto p = Pipe::Create(O_CLOEXEC);
  if (!p.ok()) return PosixResult<int>::Error(p.error_number(), "pipe2");
  Pipe& pipe = p.value();
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size, IPC_CREAT | mode));
        ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
      },
      {.what = "creating a segment as uid 65534"});
  pipe.write.Close();
  auto id = ReceiveInt(pipe.read.get());
  c.ExpectExited(0);
  return id;
}

// Waits for the wall clock (time(2), the clock the kernel stamps shm_*time with) to pass `t`. Used once,
// where a timestamp has to be seen changing; it waits for the clock, not for another process.
void WaitUntilClockPasses(time_t t) {
  struct timespec next = {t + 1, 0};
  while (::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &next, nullptr) == EINTR) {
  }
  while (::time(nullptr) <= t) {  // time(2) is the coarse clock: it may lag one tick behind
    struct timespec tick = {0, 1000000};
    ::nanosleep(&tick, nullptr);
  }
}

// Memory (RAM + swap) in bytes, for a request the kernel cannot commit.
unsigned long long TotalMemory() {
  struct sysinfo si;
  if (::sysinfo(&si) != 0) return 0;
  return (static_cast<unsigned long long>(si.totalram) + si.totalswap) * si.mem_unit;
}

// Huge page size in bytes from /proc/meminfo, 0 when the kernel has no hugetlb support.
size_t HugePageSize() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  std::string unit;
  while (in >> key) {
    if (key == "Hugepagesize:") {
      in >> kb >> unit;
      return kb * 1024;
    }
    std::getline(in, unit);
  }
  return 0;
}

// Current address-space size of the calling process in bytes (/proc/self/statm, first field).
size_t AddressSpaceSize() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0;
  in >> pages;
  return pages * Page();
}

void Fill(void* p, size_t len, unsigned seed) {
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<unsigned char>((i * 31 + seed) & 0xff);
}

// Index of the first byte that differs from Fill(len, seed), or len when all match.
size_t FirstMismatch(const void* p, size_t len, unsigned seed) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < len; ++i)
    if (b[i] != static_cast<unsigned char>((i * 31 + seed) & 0xff)) return i;
  return len;
}

// ============================================================================================ shmget(2)

IPC_TEST(ShmGet, NewSegmentIsZeroFilled, "shm.get-new-zeroed") {
  const size_t size = 3 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  const auto* p = static_cast<const unsigned char*>(at.get());
  size_t nonzero = 0;
  for (size_t i = 0; i < size; ++i) nonzero += p[i] != 0;
  EXPECT_EQ(nonzero, 0u) << "bytes of a new segment that are not zero";
}

IPC_TEST(ShmGet, SizeIsRoundedUpToAPageButSegszIsTheRequestedSize, "shm.get-size-rounded") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  const size_t size = 100;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, size);
  // The rest of the page belongs to the segment: a child writes its last byte (a SIGBUS would kill it)...
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
        static_cast<volatile char*>(at.get())[Page() - 1] = 0x5a;
      },
      {.what = "writing the last byte of the page of a 100-byte segment"});
  c.ExpectExited(0);
  // ...and it is shared memory like the rest: another attachment sees it.
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  EXPECT_EQ(static_cast<const char*>(at.get())[Page() - 1], 0x5a);
}

IPC_TEST(ShmGet, NewSegmentShmidDsIsInitialized, "shm.get-init-ds", "shm.ctl-ipc-stat") {
  time_t before = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 5000, IPC_CREAT | 0641));
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.__key, IPC_PRIVATE);
  EXPECT_EQ(ds.shm_perm.uid, ::geteuid());
  EXPECT_EQ(ds.shm_perm.cuid, ::geteuid());
  EXPECT_EQ(ds.shm_perm.gid, ::getegid());
  EXPECT_EQ(ds.shm_perm.cgid, ::getegid());
  EXPECT_EQ(ds.shm_perm.mode, 0641) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_segsz, 5000u);
  EXPECT_EQ(ds.shm_cpid, ::getpid());
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_atime, 0);
  EXPECT_EQ(ds.shm_dtime, 0);
  EXPECT_GE(ds.shm_ctime, before);
  EXPECT_LE(ds.shm_ctime, after);
}

IPC_TEST(ShmGet, ModeTakesOnlyTheLowNineBitsOfShmflg, "shm.get-init-ds") {
  // IPC_CREAT and IPC_EXCL have the values of SHM_DEST and SHM_LOCKED: they must not reach the mode.
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | SHM_NORESERVE | 0777));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0777) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmGet, SegmentCreatedByAnotherUserRecordsItsCredentials, "shm.get-init-ds", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_OTHER_USERS("to create a segment as another user");
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(int id, CreateAsNobody(Page(), 0640));
  ScopedShmId guard(id);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.uid, kNobody);
  EXPECT_EQ(ds.shm_perm.cuid, kNobody);
  EXPECT_EQ(ds.shm_perm.gid, kNogroup);
  EXPECT_EQ(ds.shm_perm.cgid, kNogroup);
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmGet, IpcPrivateAlwaysCreatesANewSegment, "shm.get-ipc-private") {
  ASSERT_OK_AND_ASSIGN(ShmSegment a, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment b, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment c, ShmSegment::Create(IPC_PRIVATE, Page(), 0600));  // no IPC_CREAT
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.id(), c.id());
  EXPECT_NE(b.id(), c.id());
  // Separate memory, not three names for one segment.
  ASSERT_OK_AND_ASSIGN(ShmAttachment pa, ShmAttachment::Attach(a.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment pb, ShmAttachment::Attach(b.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment pc, ShmAttachment::Attach(c.id()));
  static_cast<char*>(pa.get())[0] = 'a';
  EXPECT_EQ(static_cast<char*>(pb.get())[0], 0);
  EXPECT_EQ(static_cast<char*>(pc.get())[0], 0);
}

IPC_TEST(ShmGet, ExistingKeyReturnsTheSameIdentifier, "shm.get-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 1;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, 2 * Page(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(::shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
  EXPECT_THAT(::shmget(key, 2 * Page(), 0600), SyscallSucceedsWithValue(seg.id()));
  EXPECT_THAT(::shmget(key, Page(), IPC_CREAT | 0644), SyscallSucceedsWithValue(seg.id()));
  // Looking it up changes nothing: neither the size nor the mode of the later calls applies.
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 2 * Page());
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_perm.__key, key);
}

IPC_TEST(ShmGet, CreatExclOnAnExistingKeyFailsWithEexist, "shm.get-eexist") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 2;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_SHMGET_FAILS(key, Page(), IPC_CREAT | IPC_EXCL | 0600, EEXIST);
  EXPECT_SHMGET_FAILS(key, 1, IPC_CREAT | IPC_EXCL | 0666, EEXIST);
  EXPECT_THAT(::shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

IPC_TEST(ShmGet, MissingKeyWithoutCreatFailsWithEnoent, "shm.get-enoent") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 3;
  EXPECT_SHMGET_FAILS(key, Page(), 0600, ENOENT);
  EXPECT_SHMGET_FAILS(key, 0, 0, ENOENT);
  EXPECT_SHMGET_FAILS(key, Page(), IPC_EXCL | 0600, ENOENT);  // IPC_EXCL alone does not create
}

IPC_TEST(ShmGet, SizeZeroIsBelowShmminAndFailsWithEinval, "shm.get-einval-size") {
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, 0, IPC_CREAT | 0600, EINVAL);
}

IPC_TEST(ShmGet, OneByteSegmentIsAccepted, "shm.get-shmmin") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 1));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 1u);
}

IPC_TEST(ShmGet, SizeAboveShmmaxFailsWithEinval, "shm.get-einval-size") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(unsigned long shmmax, limits::ShmMaxUnsigned());
  if (shmmax >= SIZE_MAX) GTEST_SKIP() << "kernel.shmmax is SIZE_MAX: no size is above it";
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, shmmax + 1, IPC_CREAT | 0600, EINVAL);
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, SIZE_MAX, IPC_CREAT | 0600, EINVAL);
}

IPC_TEST(ShmGet, LoweredShmmaxIsEnforcedExactly, "shm.get-einval-size", "shm.proc-limits") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmMax, std::to_string(2 * Page())), SyscallSucceeds());
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page() + 1, IPC_CREAT | 0600, EINVAL);
        ASSERT_OK_AND_ASSIGN(ShmSegment at_limit, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment below, ShmSegment::Create(IPC_PRIVATE, Page() + 1));
      },
      "creating segments around shmmax = 2 pages in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, SizeLargerThanTheExistingSegmentFailsWithEinval, "shm.get-einval-existing-size",
         "shm.get-existing") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 4;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, 100, IPC_CREAT | IPC_EXCL | 0600));
  // The segment's size is shm_segsz (100), not the page it occupies.
  EXPECT_SHMGET_FAILS(key, 101, 0600, EINVAL);
  EXPECT_SHMGET_FAILS(key, Page() + 1, IPC_CREAT | 0600, EINVAL);
  EXPECT_THAT(::shmget(key, 100, 0600), SyscallSucceedsWithValue(seg.id()));
  EXPECT_THAT(::shmget(key, 99, 0600), SyscallSucceedsWithValue(seg.id()));
}

IPC_TEST(ShmGet, UnprivilegedCallerWithoutPermissionGetsEacces, "shm.get-eacces") {
  IPC_REQUIRE_OTHER_USERS("to look a key up as another user");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 5;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMGET_FAILS(key, 0, 0600, EACCES);
        EXPECT_SHMGET_FAILS(key, 0, 0400, EACCES);
        EXPECT_SHMGET_FAILS(key, Page(), IPC_CREAT | 0200, EACCES);
      },
      {.what = "looking up a 0600 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, PermissionCheckUsesTheRequestedModeBits, "shm.get-eacces", "shm.get-existing") {
  IPC_REQUIRE_OTHER_USERS("to look a key up as another user");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 6;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0604));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_THAT(::shmget(key, 0, 0400), SyscallSucceedsWithValue(seg.id()));  // others may read
        EXPECT_THAT(::shmget(key, 0, 0004), SyscallSucceedsWithValue(seg.id()));
        EXPECT_SHMGET_FAILS(key, 0, 0600, EACCES);  // but not write
        EXPECT_SHMGET_FAILS(key, 0, 0020, EACCES);
      },
      {.what = "looking up a 0604 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, CapIpcOwnerBypassesThePermissionCheck, "shm.get-eacces") {
  IPC_REQUIRE_ROOT("CAP_IPC_OWNER");
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 7;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0000));
  EXPECT_THAT(::shmget(key, 0, 0666), SyscallSucceedsWithValue(seg.id()));
}

IPC_TEST(ShmGet, ShmmniLimitGivesEnospc, "shm.get-enospc-shmmni", "shm.proc-limits") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmMni, "3"), SyscallSucceeds());
        std::vector<ShmSegment> segs;
        for (int i = 0; i < 3; ++i) {
          ASSERT_OK_AND_ASSIGN(ShmSegment s, ShmSegment::Create(IPC_PRIVATE, 1));
          segs.push_back(std::move(s));
        }
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);
        // A freed identifier can be taken again, and then the table is full again.
        ASSERT_THAT(segs.back().Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment again, ShmSegment::Create(IPC_PRIVATE, 1));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);
      },
      "filling shmmni = 3 in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, ShmmniLimitAlsoAppliesToFixedKeys, "shm.get-enospc-shmmni") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmMni, "1"), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment first, ShmSegment::Create(kKeyBase + 8, 1));
        EXPECT_SHMGET_FAILS(kKeyBase + 9, 1, IPC_CREAT | 0600, ENOSPC);
        // Looking up the existing key needs no new identifier.
        EXPECT_THAT(::shmget(kKeyBase + 8, 0, 0), SyscallSucceedsWithValue(first.id()));
      },
      "filling shmmni = 1 in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, ShmallLimitGivesEnospc, "shm.get-enospc-shmall", "shm.proc-limits") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmAll, "4"), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment three, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page(), IPC_CREAT | 0600, ENOSPC);         // 3 + 2 > 4
        ASSERT_OK_AND_ASSIGN(ShmSegment one, ShmSegment::Create(IPC_PRIVATE, Page()));  // 3 + 1 == 4
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 1, IPC_CREAT | 0600, ENOSPC);  // one byte takes a whole page
        ASSERT_THAT(three.Remove(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment again, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
      },
      "filling shmall = 4 pages in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmGet, SegmentLargerThanShmallFailsEvenWhenNoneExist, "shm.get-enospc-shmall") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmAll, "2"), SyscallSucceeds());
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, 2 * Page() + 1, IPC_CREAT | 0600, ENOSPC);
        ASSERT_OK_AND_ASSIGN(ShmSegment fits, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
      },
      "creating a segment above shmall = 2 pages in a fresh IPC namespace");
  c.ExpectExited(0);
}

// A request larger than RAM + swap cannot be committed under heuristic (0) or strict (2) overcommit.
PosixResult<size_t> UncommittableSize(std::string* skip) {
  auto mode = limits::ReadProcSysLong("/proc/sys/vm/overcommit_memory");
  if (!mode.ok()) return PosixResult<size_t>::Error(mode.error_number(), mode.error());
  if (mode.value() == 1) {
    *skip = "vm.overcommit_memory is 1 (always overcommit): any size can be committed";
    return size_t{0};
  }
  unsigned long long mem = TotalMemory();
  if (mem == 0) return PosixResult<size_t>::Error(errno, "sysinfo");
  size_t size = static_cast<size_t>(2 * mem) / Page() * Page();
  auto shmmax = limits::ShmMaxUnsigned();
  auto shmall = limits::ShmAllUnsigned();
  if (!shmmax.ok() || !shmall.ok()) return PosixResult<size_t>::Error(EINVAL, "reading shmmax/shmall");
  if (size > shmmax.value() || size / Page() > shmall.value())
    *skip = "shmmax or shmall is below twice the machine's memory, so EINVAL/ENOSPC would come first";
  return size;
}

IPC_TEST(ShmGet, SegmentLargerThanMemoryFailsWithEnomem, "shm.get-enomem") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  std::string skip;
  ASSERT_OK_AND_ASSIGN(size_t size, UncommittableSize(&skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, size, IPC_CREAT | 0600, ENOMEM);
}

IPC_TEST(ShmGet, NoreserveCreatesASegmentLargerThanMemory, "shm.get-noreserve") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  std::string skip;
  ASSERT_OK_AND_ASSIGN(size_t size, UncommittableSize(&skip));
  if (!skip.empty()) GTEST_SKIP() << skip;
  auto mode = limits::ReadProcSysLong("/proc/sys/vm/overcommit_memory");
  if (mode.ok() && mode.value() == 2)
    GTEST_SKIP() << "vm.overcommit_memory is 2: strict accounting ignores it";
  EXPECT_SHMGET_FAILS(IPC_PRIVATE, size, IPC_CREAT | 0600, ENOMEM);  // the same request, reserving
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, size, IPC_CREAT | SHM_NORESERVE | 0600));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, size);
}

IPC_TEST(ShmGet, HugetlbWithoutCapIpcLockFailsWithEperm, "shm.get-eperm-hugetlb") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  const size_t huge = HugePageSize();
  if (huge == 0) GTEST_SKIP() << "the kernel has no hugetlb support (no Hugepagesize in /proc/meminfo)";
  auto group = limits::ReadProcSysLong("/proc/sys/vm/hugetlb_shm_group");
  if (group.ok() && group.value() == static_cast<long>(kNogroup))
    GTEST_SKIP() << "vm.hugetlb_shm_group is the unprivileged test group " << kNogroup;
  Child c = Child::Spawn(
      [&] {
        // Older kernels let an RLIMIT_MEMLOCK large enough stand in for the capability: make it 0.
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 0));
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMGET_FAILS(IPC_PRIVATE, huge, IPC_CREAT | SHM_HUGETLB | 0600, EPERM);
      },
      {.what = "creating a SHM_HUGETLB segment as uid 65534"});
  c.ExpectExited(0);
}

// ========================================================================================= shmat(2)

IPC_TEST(ShmAt, NullAddressAttachesAtAPageAlignedAddress, "shm.at-null-addr") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  auto* p = static_cast<char*>(at.get());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Page(), 0u) << static_cast<void*>(p);
  // The whole segment is mapped there, shared and read-write.
  EXPECT_EQ(MappingPerms(p), "rw-s");
  EXPECT_EQ(MappingPerms(p + 3 * Page() - 1), "rw-s");
  p[3 * Page() - 1] = 'z';
  EXPECT_EQ(p[3 * Page() - 1], 'z');
}

IPC_TEST(ShmAt, PageAlignedAddressIsUsedExactly, "shm.at-fixed-addr") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(2 * Page(), Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where));
  EXPECT_EQ(at.get(), where);
  EXPECT_EQ(MappingPerms(where + Page()), "rw-s");
}

IPC_TEST(ShmAt, ShmRndRoundsTheAddressDownToShmlba, "shm.at-rnd") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  const size_t lba = SHMLBA;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), lba));
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where + 123, SHM_RND));
    EXPECT_EQ(at.get(), where);
  }
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where + lba - 1, SHM_RND));
    EXPECT_EQ(at.get(), where);
  }
}

IPC_TEST(ShmAt, ShmRndKeepsAnAlignedAddress, "shm.at-rnd") {
  const size_t lba = SHMLBA;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), lba));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), where, SHM_RND | SHM_RDONLY));
  EXPECT_EQ(at.get(), where);
  EXPECT_EQ(MappingPerms(where), "r--s");
}

IPC_TEST(ShmAt, UnalignedAddressWithoutShmRndFailsWithEinval, "shm.at-einval-unaligned") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(char* where, FreeAlignedRange(Page(), Page()));
  EXPECT_SHMAT_FAILS(seg.id(), where + 1, 0, EINVAL);
  EXPECT_SHMAT_FAILS(seg.id(), where + Page() / 2, SHM_RDONLY, EINVAL);
  EXPECT_EQ(MappingPerms(where), "") << "a failed shmat left a mapping behind";
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, InvalidIdentifierFailsWithEinval, "shm.at-einval-id") {
  EXPECT_SHMAT_FAILS(-1, nullptr, 0, EINVAL);
  EXPECT_SHMAT_FAILS(-1, nullptr, SHM_RDONLY, EINVAL);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int gone = seg.id();
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());  // not attached: destroyed at once
  EXPECT_SHMAT_FAILS(gone, nullptr, 0, EINVAL);
}

IPC_TEST(ShmAt, RangeThatIsAlreadyMappedFailsWithEinval, "shm.at-einval-addr") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  AnonMapping m(2 * Page());
  ASSERT_TRUE(m.ok());
  std::memset(m.get(), 'm', 2 * Page());
  EXPECT_SHMAT_FAILS(seg.id(), m.get(), 0, EINVAL);
  EXPECT_SHMAT_FAILS(seg.id(), m.get() + Page(), 0, EINVAL);  // overlaps only the second page
  EXPECT_EQ(m.get()[0], 'm');
  EXPECT_EQ(m.get()[2 * Page() - 1], 'm');
  EXPECT_EQ(MappingPerms(m.get()), "rw-p");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, ShmRemapReplacesAnExistingMapping, "shm.at-remap") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment other, ShmAttachment::Attach(seg.id()));
  std::memset(other.get(), 'S', 2 * Page());
  AnonMapping m(2 * Page());
  ASSERT_TRUE(m.ok());
  std::memset(m.get(), 'm', 2 * Page());
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id(), m.get(), SHM_REMAP));
  EXPECT_EQ(at.get(), m.get());
  EXPECT_EQ(m.get()[0], 'S');
  EXPECT_EQ(m.get()[2 * Page() - 1], 'S');
  EXPECT_EQ(MappingPerms(m.get()), "rw-s");
  m.get()[5] = 'r';
  EXPECT_EQ(static_cast<char*>(other.get())[5], 'r');
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 2u);
}

IPC_TEST(ShmAt, ShmRemapWithANullAddressFailsWithEinval, "shm.at-einval-remap-null") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_REMAP, EINVAL);
  // An address below SHMLBA that SHM_RND rounds down to NULL counts as NULL.
  EXPECT_SHMAT_FAILS(seg.id(), reinterpret_cast<void*>(uintptr_t{1}), SHM_RND | SHM_REMAP, EINVAL);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
}

IPC_TEST(ShmAt, ReadOnlyAttachSeesTheData, "shm.at-rdonly") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw, ShmAttachment::Attach(seg.id()));
  std::memcpy(rw.get(), "hello", 6);
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_STREQ(static_cast<const char*>(ro.get()), "hello");
  EXPECT_EQ(MappingPerms(ro.get()), "r--s");
  std::memcpy(rw.get(), "world", 6);
  EXPECT_STREQ(static_cast<const char*>(ro.get()), "world");
}

IPC_TEST(ShmAt, WriteThroughAReadOnlyAttachRaisesSigsegv, "shm.at-rdonly") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  Child c = Child::Spawn(
      [&] {
        void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
        ASSERT_THAT(p, SyscallSucceeds());
        PrepareToDieOfSigsegv();
        static_cast<volatile char*>(p)[0] = 'w';
        ADD_FAILURE() << "writing through a SHM_RDONLY attachment did not raise SIGSEGV";
      },
      {.what = "writing through a SHM_RDONLY attachment"});
  c.ExpectKilledBy(SIGSEGV);
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  EXPECT_EQ(static_cast<const char*>(at.get())[0], 0) << "the write went through";
}

IPC_TEST(ShmAt, ReadOnlyAttachNeedsOnlyReadPermission, "shm.at-rdonly-perm", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0644));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0644 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmAt, WritePermissionAloneAllowsNoAttach, "shm.at-rdonly-perm", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0602));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_RDONLY, EACCES);
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0602 root segment as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmAt, NoPermissionFailsWithEacces, "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0660));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, SHM_RDONLY, EACCES);
      },
      {.what = "attaching a 0660 root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_atime, 0);
}

IPC_TEST(ShmAt, OwnerIsJudgedByTheOwnerBitsOnly, "shm.at-eacces", "shm.ctl-ipc-set") {
  IPC_REQUIRE_OTHER_USERS("to give the segment to another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0066));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.uid = kNobody;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  // Group and others may read and write, the owner may not: the owner class alone decides.
  Child denied = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);
      },
      {.what = "attaching a 0066 segment as its owner"});
  denied.ExpectExited(0);
  ds.shm_perm.mode = 0600;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child allowed = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
      },
      {.what = "attaching a 0600 segment as its owner"});
  allowed.ExpectExited(0);
}

IPC_TEST(ShmAt, GroupMemberIsJudgedByTheGroupBits, "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0606));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.gid = kNogroup;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child denied = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, EACCES);  // others may, the group may not
      },
      {.what = "attaching a 0606 segment as a member of its group"});
  denied.ExpectExited(0);
  ds.shm_perm.mode = 0060;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  Child allowed = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
      },
      {.what = "attaching a 0060 segment as a member of its group"});
  allowed.ExpectExited(0);
}

IPC_TEST(ShmAt, CapIpcOwnerBypassesAttachPermissions, "shm.at-eacces") {
  IPC_REQUIRE_ROOT("CAP_IPC_OWNER");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0000));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_EQ(MappingPerms(rw.get()), "rw-s");
}

IPC_TEST(ShmAt, ShmExecMapsTheSegmentExecutable, "shm.at-exec") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0700));
  ASSERT_OK_AND_ASSIGN(ShmAttachment plain, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment exec, ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC));
  ASSERT_OK_AND_ASSIGN(ShmAttachment exec_ro,
                       ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC | SHM_RDONLY));
  EXPECT_EQ(MappingPerms(plain.get()), "rw-s");
  EXPECT_EQ(MappingPerms(exec.get()), "rwxs");
  EXPECT_EQ(MappingPerms(exec_ro.get()), "r-xs");
}

// shmop(2) says SHM_EXEC needs execute permission (shmctl(2) says it does not; Linux follows shmop(2)).
IPC_TEST(ShmAt, ShmExecNeedsExecutePermission, "shm.at-exec", "shm.at-eacces") {
  IPC_REQUIRE_OTHER_USERS("to attach as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment rw, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(ShmSegment rwx, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0777));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_SHMAT_FAILS(rw.id(), nullptr, SHM_EXEC, EACCES);
        EXPECT_SHMAT_FAILS(rw.id(), nullptr, SHM_EXEC | SHM_RDONLY, EACCES);
        ASSERT_OK_AND_ASSIGN(ShmAttachment plain, ShmAttachment::Attach(rw.id()));  // no x needed without it
        ASSERT_OK_AND_ASSIGN(ShmAttachment exec, ShmAttachment::Attach(rwx.id(), nullptr, SHM_EXEC));
        EXPECT_EQ(MappingPerms(exec.get()), "rwxs");
      },
      {.what = "attaching with SHM_EXEC as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmAt, AttachSetsAtimeLpidAndIncrementsNattch, "shm.at-updates-ds", "shm.ctl-nattch",
         "shm.ctl-ipc-stat") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  time_t before = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(seg.id()));
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_GE(ds.shm_atime, before);
  EXPECT_LE(ds.shm_atime, after);
  EXPECT_EQ(ds.shm_lpid, ::getpid());
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_dtime, 0);
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 2u);
}

IPC_TEST(ShmAt, AttachAndDetachByAnotherProcessSetItsPid, "shm.at-updates-ds", "shm.dt-updates-ds") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        void* p = ::shmat(seg.id(), nullptr, 0);
        ASSERT_THAT(p, SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        ASSERT_THAT(::shmdt(p), SyscallSucceeds());
      },
      {.what = "attaching and detaching in a child"});
  const pid_t child_pid = c.pid();  // Wait() forgets it
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, child_pid) << "after the child's shmat";
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, child_pid) << "after the child's shmdt";
  EXPECT_EQ(ds.shm_nattch, 0u);
  ASSERT_OK_AND_ASSIGN(ShmAttachment mine, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_lpid, ::getpid()) << "after this process's shmat";
}

IPC_TEST(ShmAt, SameSegmentAttachedReadOnlyAndReadWriteSeveralTimes, "shm.at-multiple", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 2 * Page()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw1, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment rw2, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment ro, ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_NE(rw1.get(), rw2.get());
  EXPECT_NE(rw1.get(), ro.get());
  EXPECT_NE(rw2.get(), ro.get());
  Fill(rw1.get(), 2 * Page(), 7);
  EXPECT_EQ(FirstMismatch(rw2.get(), 2 * Page(), 7), 2 * Page());
  EXPECT_EQ(FirstMismatch(ro.get(), 2 * Page(), 7), 2 * Page());
  Fill(rw2.get(), 2 * Page(), 9);
  EXPECT_EQ(FirstMismatch(rw1.get(), 2 * Page(), 9), 2 * Page());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_nattch, 3u);
}

IPC_TEST(ShmAt, AttachDoesNotMoveTheProgramBreak, "shm.at-brk") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 16 * Page()));
  void* brk_before = ::sbrk(0);
  void* p = ::shmat(seg.id(), nullptr, 0);
  void* brk_after = ::sbrk(0);
  ASSERT_THAT(p, SyscallSucceeds());
  EXPECT_EQ(brk_before, brk_after);
  EXPECT_THAT(::shmdt(p), SyscallSucceeds());
}

IPC_TEST(ShmAt, AddressSpaceLimitGivesEnomem, "shm.at-enomem") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  const size_t big = 256u << 20;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg,
                       ShmSegment::Create(IPC_PRIVATE, big, IPC_CREAT | SHM_NORESERVE | 0600));
  ASSERT_OK_AND_ASSIGN(ShmSegment small, ShmSegment::Create(IPC_PRIVATE, Page()));
  Child c = Child::Spawn(
      [&] {
        // Room for half of the big segment: the page-sized one still fits, the big one cannot be mapped.
        ASSERT_TRUE(SetRlimit(RLIMIT_AS, AddressSpaceSize() + big / 2));
        EXPECT_SHMAT_FAILS(seg.id(), nullptr, 0, ENOMEM);
        ASSERT_OK_AND_ASSIGN(ShmAttachment fits, ShmAttachment::Attach(small.id()));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_nattch, 0u) << "a failed shmat left an attach counted";
      },
      {.what = "attaching 256 MiB under a tight RLIMIT_AS"});
  c.ExpectExited(0);
}

// ========================================================================================= shmdt(2)

IPC_TEST(ShmDt, DetachSetsDtimeLpidAndDecrementsNattch, "shm.dt-updates-ds", "shm.ctl-nattch") {
  SHM_REQUIRE_RMID_FORCED_OFF();
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
        PrepareToDieOfSigsegv();  // before shmdt, so that nothing gets mapped at p in between
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

// ============================================================== sharing between processes, fork, exit, exec

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
  SHM_REQUIRE_RMID_FORCED_OFF();
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
  SHM_REQUIRE_RMID_FORCED_OFF();
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
  SHM_REQUIRE_RMID_FORCED_OFF();
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
  SHM_REQUIRE_RMID_FORCED_OFF();
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

// ======================================================================================= IPC_RMID lifetime

IPC_TEST(ShmRmid, UnattachedSegmentIsDestroyedAtOnce, "shm.ctl-rmid-immediate", "shm.ctl-einval-id",
         "shm.at-einval-id") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_SHMAT_FAILS(id, nullptr, 0, EINVAL);
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, AttachedSegmentStaysUsableWithItsData, "shm.ctl-rmid-deferred", "shm.fork-inherits") {
  const size_t size = 2 * Page();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  Fill(at.get(), size, 5);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_EQ(FirstMismatch(at.get(), size, 5), size) << "IPC_RMID lost the data of an attached segment";
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_segsz, size);
  EXPECT_EQ(ds.shm_nattch, 1u);
  Fill(at.get(), size, 6);  // still writable
  Child c = Child::Spawn([&] { EXPECT_EQ(FirstMismatch(at.get(), size, 6), size); },
                         {.what = "reading a removed segment through an inherited attachment"});
  c.ExpectExited(0);
}

IPC_TEST(ShmRmid, MarkedSegmentHasShmDestInItsMode, "shm.ctl-rmid-shm-dest") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0640));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, SHM_DEST | 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmRmid, KeyIsReleasedWhileTheSegmentIsStillAttached, "shm.ctl-rmid-key-released") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 20;
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_SHMGET_FAILS(key, 0, 0, ENOENT);
  EXPECT_SHMGET_FAILS(key, Page(), 0600, ENOENT);
}

IPC_TEST(ShmRmid, SameKeyThenCreatesANewSeparateSegment, "shm.ctl-rmid-key-released", "shm.get-new-zeroed") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  const key_t key = kKeyBase + 21;
  ASSERT_OK_AND_ASSIGN(ShmSegment old_seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  const int old_id = old_seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment old_at, ShmAttachment::Attach(old_id));
  std::memcpy(old_at.get(), "old", 4);
  ASSERT_THAT(old_seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmSegment new_seg, ShmSegment::Create(key, Page(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(new_seg.id(), old_id);
  EXPECT_THAT(::shmget(key, 0, 0), SyscallSucceedsWithValue(new_seg.id()));
  ASSERT_OK_AND_ASSIGN(ShmAttachment new_at, ShmAttachment::Attach(new_seg.id()));
  EXPECT_EQ(static_cast<const char*>(new_at.get())[0], 0) << "the new segment is not zero-filled";
  std::memcpy(new_at.get(), "new", 4);
  EXPECT_STREQ(static_cast<const char*>(old_at.get()), "old");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(old_id));
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachmentIsDetached, "shm.ctl-rmid-last-detach",
         "shm.ctl-rmid-deferred") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  static_cast<char*>(a2.get())[0] = 'k';
  EXPECT_EQ(static_cast<char*>(a2.get())[0], 'k');
  ASSERT_THAT(a2.Detach(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_SHMAT_FAILS(id, nullptr, 0, EINVAL);
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessExits, "shm.ctl-rmid-last-detach", "shm.exit-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
      },
      {.what = "holding the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessIsKilled, "shm.ctl-rmid-last-detach",
         "shm.exit-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        hs.AwaitGo();  // killed here
      },
      {.what = "holding the last attachment of a removed segment until killed"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(c.Kill(SIGKILL), SyscallSucceeds());
  c.ExpectKilledBy(SIGKILL);
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, DestroyedWhenTheLastAttachedProcessExecs, "shm.ctl-rmid-last-detach", "shm.exec-detaches") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(Pipe full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(full.write.get()));
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmat(id, nullptr, 0), SyscallSucceeds());
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        ExecHelper({"write-byte", std::to_string(full.write.get())});
        ADD_FAILURE() << "exec of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "exec'ing with the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_TRUE(hs.Go());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));  // the exec'd helper, alive
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL)) << "still there after the exec";
  std::vector<char> drain(filled);
  ASSERT_THAT(ReadAll(full.read.get(), drain.data(), drain.size()), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(ShmRmid, MarkedSegmentCanStillBeAttached, "shm.at-removed-linux", "shm.ctl-nattch") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
  std::memcpy(a1.get(), "marked", 7);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
  EXPECT_STREQ(static_cast<const char*>(a2.get()), "marked");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 2u);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, SHM_DEST) << "attaching undid the removal";
  ASSERT_THAT(a1.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_THAT(a2.Detach(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, AnotherProcessCanAttachAMarkedSegment, "shm.at-removed-linux", "shm.shared-data") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  std::memcpy(at.get(), "kept", 5);
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(::shmdt(at.get()), SyscallSucceeds());  // only its own attach from here on
        ASSERT_OK_AND_ASSIGN(ShmAttachment its, ShmAttachment::Attach(id));
        EXPECT_STREQ(static_cast<const char*>(its.get()), "kept");
        std::memcpy(its.get(), "seen", 5);
      },
      {.what = "attaching a removed segment in another process"});
  c.ExpectExited(0);
  EXPECT_STREQ(static_cast<const char*>(at.get()), "seen");
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
}

IPC_TEST(ShmRmid, ChildKeepsAMarkedSegmentAliveAfterTheParentDetaches, "shm.ctl-rmid-deferred",
         "shm.ctl-rmid-last-detach", "shm.fork-inherits") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  std::memcpy(at.get(), "parent", 7);
  ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(hs.Signal(), SyscallSucceeds());
        ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
        EXPECT_STREQ(static_cast<const char*>(at.get()), "parent");
        std::memcpy(at.get(), "child", 6);
        EXPECT_STREQ(static_cast<const char*>(at.get()), "child");
      },
      {.what = "using the last attachment of a removed segment"});
  hs.CloseChildEnds();
  ASSERT_TRUE(hs.AwaitSignal());
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  ASSERT_THAT(at.Detach(), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 1u);
  ASSERT_TRUE(hs.Go());
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmRmid, RemovalIgnoresBuf, "shm.ctl-rmid-buf-ignored") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.Release();
  ScopedShmId guard(id);
  AnonMapping bad(Page(), PROT_NONE);
  ASSERT_TRUE(bad.ok());
  // In a child, so that a library which touched buf would die there rather than take the test down.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(::shmctl(id, IPC_RMID, reinterpret_cast<struct shmid_ds*>(bad.get())), SyscallSucceeds());
      },
      {.what = "IPC_RMID with an inaccessible buf"});
  c.ExpectExited(0);
  struct shmid_ds ds;
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmLifetime, SegmentOutlivesItsLastDetachAndItsCreator, "shm.ctl-persist") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  auto p = Pipe::Create(O_CLOEXEC);
  ASSERT_TRUE(p.ok()) << p.error();
  Pipe& pipe = p.value();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
        {
          ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
          std::memcpy(at.get(), "persist", 8);
        }
        ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
      },
      {.what = "creating, filling and leaving a segment"});
  const pid_t child_pid = c.pid();  // Wait() forgets it
  pipe.write.Close();
  ASSERT_OK_AND_ASSIGN(int id, ReceiveInt(pipe.read.get()));
  ScopedShmId guard(id);
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_cpid, child_pid);
  EXPECT_EQ(ds.shm_perm.mode & SHM_DEST, 0);
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(id));
  EXPECT_STREQ(static_cast<const char*>(at.get()), "persist");
}

// ================================================================ /proc/sys/kernel/shm_rmid_forced (proc(5))

IPC_TEST(ShmRmidForced, LastDetachDestroysTheSegment, "shm.proc-rmid-forced-detach") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmRmidForced, "1"), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
        const int id = seg.Release();
        ASSERT_OK_AND_ASSIGN(ShmAttachment a1, ShmAttachment::Attach(id));
        ASSERT_OK_AND_ASSIGN(ShmAttachment a2, ShmAttachment::Attach(id));
        ASSERT_THAT(a1.Detach(), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));  // still attached once: alive
        EXPECT_EQ(ds.shm_nattch, 1u);
        ASSERT_THAT(a2.Detach(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
      },
      "detaching with shm_rmid_forced = 1 in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmRmidForced, EnablingItDestroysOrphanedUnattachedSegments, "shm.proc-rmid-forced-orphans",
         "shm.proc-rmid-forced-detach") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        // A grandchild creates two segments and exits: both are orphans with no attach.
        auto p = Pipe::Create(O_CLOEXEC);
        ASSERT_TRUE(p.ok()) << p.error();
        Pipe& pipe = p.value();
        Child creator = Child::Spawn(
            [&] {
              for (int i = 0; i < 2; ++i) {
                ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
                ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
              }
            },
            {.what = "creating two segments and exiting"});
        pipe.write.Close();
        ASSERT_OK_AND_ASSIGN(int unattached, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(int attached, ReceiveInt(pipe.read.get()));
        creator.ExpectExited(0);
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(attached));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(unattached));  // survives with the setting at 0
        ASSERT_THAT(WriteProcSys(kShmRmidForced, "1"), SyscallSucceeds());
        EXPECT_THAT(::shmctl(unattached, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(ds, Stat(attached));  // attached to a process: kept
        EXPECT_EQ(ds.shm_nattch, 1u);
        ASSERT_THAT(at.Detach(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(attached, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
      },
      "turning shm_rmid_forced on in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmRmidForced, NeverAttachedSegmentsDieWithTheirCreator, "shm.proc-rmid-forced-exit") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmRmidForced, "1"), SyscallSucceeds());
        auto p = Pipe::Create(O_CLOEXEC);
        ASSERT_TRUE(p.ok()) << p.error();
        Pipe& pipe = p.value();
        ASSERT_OK_AND_ASSIGN(Handshake hs, Handshake::Create());
        Child creator = Child::Spawn(
            [&] {
              for (int i = 0; i < 2; ++i) {
                ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
                ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
              }
              ASSERT_THAT(hs.AwaitGo(), SyscallSucceeds());
            },
            {.what = "creating two segments, waiting, exiting"});
        pipe.write.Close();
        hs.CloseChildEnds();
        ASSERT_OK_AND_ASSIGN(int never, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(int used, ReceiveInt(pipe.read.get()));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(never));  // the creator still lives: kept
        ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(used));
        ASSERT_TRUE(hs.Go());
        creator.ExpectExited(0);
        EXPECT_THAT(::shmctl(never, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_OK_AND_ASSIGN(ds, Stat(used));  // attached elsewhere: kept
        EXPECT_EQ(ds.shm_nattch, 1u);
      },
      "letting a creator exit with shm_rmid_forced = 1 in a fresh IPC namespace");
  c.ExpectExited(0);
}

// ============================================================================================ shmctl(2)

IPC_TEST(ShmCtl, IpcStatReportsTheCreatorPidNotTheCaller, "shm.ctl-ipc-stat") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  auto p = Pipe::Create(O_CLOEXEC);
  ASSERT_TRUE(p.ok()) << p.error();
  Pipe& pipe = p.value();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 12345, IPC_CREAT | 0604));
        ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
      },
      {.what = "creating a segment in a child"});
  const pid_t child_pid = c.pid();  // Wait() forgets it
  pipe.write.Close();
  ASSERT_OK_AND_ASSIGN(int id, ReceiveInt(pipe.read.get()));
  ScopedShmId guard(id);
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  EXPECT_EQ(ds.shm_cpid, child_pid);
  EXPECT_EQ(ds.shm_segsz, 12345u);
  EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_nattch, 0u);
}

// The one test that waits for the clock: shm_ctime only shows that IPC_SET set it once it differs from the
// creation time, and the kernel keeps whole seconds.
IPC_TEST(ShmCtl, IpcSetAttachAndDetachStampTheCurrentTime, "shm.ctl-ipc-set", "shm.at-updates-ds",
         "shm.dt-updates-ds") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds created, Stat(seg.id()));
  WaitUntilClockPasses(created.shm_ctime);
  time_t before = ::time(nullptr);
  struct shmid_ds set = created;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &set), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(at.Detach(), SyscallSucceeds());
  time_t after = ::time(nullptr);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_GT(ds.shm_ctime, created.shm_ctime) << "IPC_SET did not update shm_ctime";
  EXPECT_GE(ds.shm_ctime, before);
  EXPECT_LE(ds.shm_ctime, after);
  EXPECT_GE(ds.shm_atime, before);
  EXPECT_LE(ds.shm_atime, after);
  EXPECT_GE(ds.shm_dtime, before);
  EXPECT_LE(ds.shm_dtime, after);
}

IPC_TEST(ShmCtl, IpcSetChangesOwnerGroupAndPermissionBits, "shm.ctl-ipc-set") {
  IPC_REQUIRE_MAPPED_IDS(kOtherUid, kNogroup);
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  ds.shm_perm.uid = kOtherUid;
  ds.shm_perm.gid = kNogroup;
  ds.shm_perm.mode = 0640;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.uid, kOtherUid);
  EXPECT_EQ(after.shm_perm.gid, kNogroup);
  EXPECT_EQ(after.shm_perm.mode, 0640) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.cuid, ::geteuid()) << "IPC_SET changed the creator";
  EXPECT_EQ(after.shm_perm.cgid, ::getegid()) << "IPC_SET changed the creator's group";
  // The creator keeps the right to IPC_SET after giving the segment away.
  after.shm_perm.mode = 0600;
  EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &after), SyscallSucceeds());
}

IPC_TEST(ShmCtl, IpcSetIgnoresEverythingButUidGidAndTheLowNineModeBits, "shm.ctl-ipc-set") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 3 * Page(), IPC_CREAT | 0600));
  ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds before, Stat(seg.id()));
  struct shmid_ds ds = before;
  ds.shm_perm.mode = 07777 | SHM_DEST | SHM_LOCKED;
  ds.shm_perm.cuid = kOtherUid;
  ds.shm_perm.cgid = kOtherUid;
  ds.shm_segsz = 1;
  ds.shm_cpid = 1;
  ds.shm_lpid = 1;
  ds.shm_nattch = 42;
  ds.shm_atime = 12345;
  ds.shm_dtime = 12345;
  ASSERT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.mode, 0777) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.cuid, before.shm_perm.cuid);
  EXPECT_EQ(after.shm_perm.cgid, before.shm_perm.cgid);
  EXPECT_EQ(after.shm_segsz, 3 * Page());
  EXPECT_EQ(after.shm_cpid, before.shm_cpid);
  EXPECT_EQ(after.shm_lpid, before.shm_lpid);
  EXPECT_EQ(after.shm_nattch, 1u);
  EXPECT_EQ(after.shm_atime, before.shm_atime);
  EXPECT_EQ(after.shm_dtime, before.shm_dtime);
  EXPECT_EQ(after.shm_perm.__key, before.shm_perm.__key);
}

IPC_TEST(ShmCtl, OwnerWhoIsNotTheCreatorMayIpcSetAndIpcRmid, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("to give the segment to another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  const int id = seg.Release();
  ScopedShmId guard(id);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.uid = kNobody;
  ASSERT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(struct shmid_ds mine, Stat(id));
        mine.shm_perm.mode = 0640;
        EXPECT_THAT(::shmctl(id, IPC_SET, &mine), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(mine, Stat(id));
        EXPECT_EQ(mine.shm_perm.mode, 0640) << std::oct << mine.shm_perm.mode;
        EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_SET and IPC_RMID as the owner (uid 65534) of a root-created segment"});
  c.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL)) << "IPC_RMID did not remove it";
}

IPC_TEST(ShmCtl, CreatorWhoIsNoLongerTheOwnerMayIpcSetAndIpcRmid, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("to create as one user and give the segment to another");
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(int id, CreateAsNobody(Page(), 0600));
  ScopedShmId guard(id);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.uid = kOtherUid;
  ASSERT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  Child setter = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        struct shmid_ds mine = ds;
        mine.shm_perm.mode = 0604;
        EXPECT_THAT(::shmctl(id, IPC_SET, &mine), SyscallSucceeds());
      },
      {.what = "IPC_SET as the creator (uid 65534) of a segment owned by uid 4321"});
  setter.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_perm.uid, kOtherUid);
  Child remover = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
      },
      {.what = "IPC_RMID as the creator (uid 65534) of a segment owned by uid 4321"});
  remover.ExpectExited(0);
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, IpcSetByAnotherUserFailsWithEperm, "shm.ctl-eperm-set-rmid") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds before, Stat(seg.id()));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));  // reading is allowed (0666)
        ds.shm_perm.mode = 0777;
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
        ds.shm_perm.uid = kNobody;
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, &ds), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_SET on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds after, Stat(seg.id()));
  EXPECT_EQ(after.shm_perm.mode, 0666) << std::oct << after.shm_perm.mode;
  EXPECT_EQ(after.shm_perm.uid, before.shm_perm.uid);
  EXPECT_EQ(after.shm_ctime, before.shm_ctime);
}

IPC_TEST(ShmCtl, IpcRmidByAnotherUserFailsWithEperm, "shm.ctl-eperm-set-rmid") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(seg.id(), IPC_RMID, nullptr), SyscallFailsWithErrno(EPERM));
      },
      {.what = "IPC_RMID on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0666) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, PrivilegedCallerMayIpcSetAndIpcRmidAnySegment, "shm.ctl-ipc-set-who", "shm.ctl-rmid-who") {
  IPC_REQUIRE_OTHER_USERS("CAP_SYS_ADMIN");
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(int id, CreateAsNobody(Page(), 0600));
  ScopedShmId guard(id);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(id));
  ds.shm_perm.mode = 0644;
  EXPECT_THAT(::shmctl(id, IPC_SET, &ds), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  EXPECT_EQ(ds.shm_perm.mode, 0644) << std::oct << ds.shm_perm.mode;
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, IpcStatWithoutReadPermissionFailsWithEacces, "shm.ctl-eacces", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment hidden, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0662));
  ASSERT_OK_AND_ASSIGN(ShmSegment shown, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        SHM_DROP_PRIVILEGES();
        struct shmid_ds ds;
        EXPECT_THAT(::shmctl(hidden.id(), IPC_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(shown.id(), IPC_STAT, &ds), SyscallSucceeds());
        EXPECT_EQ(ds.shm_perm.mode, 0604) << std::oct << ds.shm_perm.mode;
      },
      {.what = "IPC_STAT as uid 65534"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, CapIpcOwnerBypassesTheReadCheck, "shm.ctl-eacces", "shm.ctl-ipc-stat") {
  IPC_REQUIRE_ROOT("CAP_IPC_OWNER");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0000));
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 777u);
  EXPECT_EQ(ds.shm_perm.mode, 0);
}

IPC_TEST(ShmCtl, IpcStatIntoAnInaccessibleBufferFailsWithEfault, "shm.ctl-efault") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  AnonMapping bad(Page(), PROT_NONE);
  ASSERT_TRUE(bad.ok());
  // In a child: a library that dereferenced buf itself would die of SIGSEGV there, a visible failure.
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(::shmctl(seg.id(), IPC_STAT, reinterpret_cast<struct shmid_ds*>(bad.get())),
                    SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_STAT into a PROT_NONE page"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, IpcSetFromAnInaccessibleBufferFailsWithEfault, "shm.ctl-efault") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0640));
  AnonMapping bad(Page(), PROT_NONE);
  ASSERT_TRUE(bad.ok());
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(::shmctl(seg.id(), IPC_SET, reinterpret_cast<struct shmid_ds*>(bad.get())),
                    SyscallFailsWithErrno(EFAULT));
      },
      {.what = "IPC_SET from a PROT_NONE page"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, NegativeOrStaleIdentifierFailsWithEinval, "shm.ctl-einval-id") {
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  EXPECT_THAT(::shmctl(-1, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(-1, SHM_LOCK, nullptr), SyscallFailsWithErrno(EINVAL));
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
  const int id = seg.id();
  ASSERT_OK_AND_ASSIGN(ds, Stat(id));
  ASSERT_THAT(seg.Remove(), SyscallSucceeds());
  EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, IPC_SET, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, IPC_RMID, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, SHM_LOCK, nullptr), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(::shmctl(id, SHM_UNLOCK, nullptr), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(ShmCtl, UnknownCommandFailsWithEinval, "shm.ctl-einval-cmd") {
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  for (int cmd : {-1, 4, 10, 16, 12345}) {
    EXPECT_THAT(::shmctl(seg.id(), cmd, &ds), SyscallFailsWithErrno(EINVAL)) << "cmd " << cmd;
  }
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));  // and the segment is untouched
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, IpcInfoMatchesProcSysKernel, "shm.ctl-ipc-info") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  struct shminfo info;
  std::memset(&info, 0xa5, sizeof info);
  ASSERT_THAT(::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(unsigned long shmmax, limits::ShmMaxUnsigned());
  ASSERT_OK_AND_ASSIGN(unsigned long shmall, limits::ShmAllUnsigned());
  ASSERT_OK_AND_ASSIGN(long shmmni, limits::ShmMni());
  EXPECT_EQ(info.shmmax, shmmax);
  EXPECT_EQ(info.shmall, shmall);
  EXPECT_EQ(info.shmmni, static_cast<unsigned long>(shmmni));
  EXPECT_EQ(info.shmmin, 1u);
}

IPC_TEST(ShmCtl, IpcInfoFollowsWritesToProcSysKernel, "shm.ctl-ipc-info", "shm.proc-limits") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_THAT(WriteProcSys(kShmMax, "1234567"), SyscallSucceeds());
        ASSERT_THAT(WriteProcSys(kShmMni, "17"), SyscallSucceeds());
        ASSERT_THAT(WriteProcSys(kShmAll, "4321"), SyscallSucceeds());
        struct shminfo info;
        std::memset(&info, 0, sizeof info);
        ASSERT_THAT(::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.shmmax, 1234567u);
        EXPECT_EQ(info.shmmni, 17u);
        EXPECT_EQ(info.shmall, 4321u);
        EXPECT_EQ(info.shmmin, 1u);
        auto shmmax = limits::ShmMaxUnsigned();
        ASSERT_TRUE(shmmax.ok()) << shmmax.error();
        EXPECT_EQ(shmmax.value(), 1234567u);
      },
      "changing shmmax, shmmni and shmall in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmInfoCountsSegmentsPagesAndResidentPages, "shm.ctl-shm-info") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        struct shm_info info;
        std::memset(&info, 0xa5, sizeof info);
        ASSERT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.used_ids, 0);
        EXPECT_EQ(info.shm_tot, 0u);
        EXPECT_EQ(info.shm_rss + info.shm_swp, 0u);
        ASSERT_OK_AND_ASSIGN(ShmSegment untouched, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment touched, ShmSegment::Create(IPC_PRIVATE, 3 * Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment small, ShmSegment::Create(IPC_PRIVATE, 100));
        {
          ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(touched.id()));
          std::memset(at.get(), 1, 3 * Page());
        }
        ASSERT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)), SyscallSucceeds());
        EXPECT_EQ(info.used_ids, 3);
        EXPECT_EQ(info.shm_tot, 5u);  // 1 + 3 + 1 (100 bytes take a page)
        EXPECT_EQ(info.shm_rss + info.shm_swp, 3u);
      },
      "counting segments in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, InfoCommandsReturnTheHighestUsedIndex, "shm.ctl-info-index", "shm.ctl-shm-stat") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment a, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment b, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_OK_AND_ASSIGN(ShmSegment gone, ShmSegment::Create(IPC_PRIVATE, Page()));
        ASSERT_THAT(gone.Remove(), SyscallSucceeds());
        struct shminfo info;
        struct shm_info usage;
        int top = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(top, SyscallSucceeds());
        EXPECT_THAT(::shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&usage)),
                    SyscallSucceedsWithValue(top));
        // Every index up to `top` either holds one of the two segments or is unused, and `top` is used.
        std::set<int> found;
        struct shmid_ds ds;
        for (int i = 0; i <= top; ++i) {
          int r = ::shmctl(i, SHM_STAT, &ds);
          if (r >= 0) found.insert(r);
        }
        EXPECT_EQ(found, (std::set<int>{a.id(), b.id()}));
        EXPECT_THAT(::shmctl(top, SHM_STAT, &ds), SyscallSucceeds());
      },
      "walking the segment array of a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatReturnsTheIdentifierAndFillsBuf, "shm.ctl-shm-stat", "shm.ctl-info-index") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0640));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));  // the only one
        ASSERT_THAT(index, SyscallSucceeds());
        struct shmid_ds ds;
        std::memset(&ds, 0, sizeof ds);
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallSucceedsWithValue(seg.id()));
        EXPECT_EQ(ds.shm_segsz, 777u);
        EXPECT_EQ(ds.shm_perm.mode, 0640) << std::oct << ds.shm_perm.mode;
        EXPECT_EQ(ds.shm_cpid, ::getpid());
      },
      "SHM_STAT in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatNeedsReadPermissionButShmStatAnyDoesNot, "shm.ctl-shm-stat-any", "shm.ctl-shm-stat",
         "shm.ctl-eacces") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 777, IPC_CREAT | 0600));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(index, SyscallSucceeds());
        const int id = seg.Release();  // the namespace removes it when this child exits
        SHM_DROP_PRIVILEGES();
        struct shmid_ds ds;
        std::memset(&ds, 0, sizeof ds);
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(::shmctl(index, SHM_STAT_ANY, &ds), SyscallSucceedsWithValue(id));
        EXPECT_EQ(ds.shm_segsz, 777u);
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      "SHM_STAT and SHM_STAT_ANY as uid 65534 in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmStatOnAnUnusedIndexFailsWithEinval, "shm.ctl-einval-shm-stat") {
  SHM_REQUIRE_FRESH_IPC_NAMESPACE();
  Child c = SpawnInFreshIpcNamespace(
      [] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page()));
        struct shminfo info;
        int index = ::shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
        ASSERT_THAT(index, SyscallSucceeds());
        struct shmid_ds ds;
        EXPECT_THAT(::shmctl(index + 1, SHM_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(::shmctl(index + 1, SHM_STAT_ANY, &ds), SyscallFailsWithErrno(EINVAL));
        ASSERT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallSucceedsWithValue(seg.id()));
        ASSERT_THAT(seg.Remove(), SyscallSucceeds());
        EXPECT_THAT(::shmctl(index, SHM_STAT, &ds), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(::shmctl(index, SHM_STAT_ANY, &ds), SyscallFailsWithErrno(EINVAL));
      },
      "SHM_STAT on unused slots in a fresh IPC namespace");
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, ShmLockSetsAndShmUnlockClearsShmLocked, "shm.ctl-shm-lock") {
  SHM_REQUIRE_RMID_FORCED_OFF();
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
  ASSERT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0600) << std::oct << ds.shm_perm.mode;
  {
    ASSERT_OK_AND_ASSIGN(ShmAttachment at, ShmAttachment::Attach(seg.id()));  // still usable
    static_cast<char*>(at.get())[0] = 'l';
  }
  ASSERT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
}

IPC_TEST(ShmCtl, UnprivilegedOwnerMayLockWithinRlimitMemlock, "shm.ctl-shm-lock-unprivileged",
         "shm.ctl-shm-lock") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        // Room for 64 pages, so that another run locking a page as the same user cannot tip it over.
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 64 * Page()));
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0600) << std::oct << ds.shm_perm.mode;
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK as uid 65534 with RLIMIT_MEMLOCK 64 pages"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, UnprivilegedLockBeyondRlimitMemlockFailsWithEnomem, "shm.ctl-enomem-lock") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 2 * Page()));
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, 4 * Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(ENOMEM));
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK of 4 pages as uid 65534 with RLIMIT_MEMLOCK 2 pages"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, UnprivilegedLockWithZeroRlimitMemlockFailsWithEperm, "shm.ctl-eperm-lock",
         "shm.ctl-shm-lock-unprivileged") {
  IPC_REQUIRE_OTHER_USERS("to drop CAP_IPC_LOCK in a child");
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 0));
        SHM_DROP_PRIVILEGES();
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0600));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceeds());  // the limit is for SHM_LOCK
        ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
        EXPECT_EQ(ds.shm_perm.mode, 0600) << std::oct << ds.shm_perm.mode;
      },
      {.what = "SHM_LOCK as uid 65534 with RLIMIT_MEMLOCK 0"});
  c.ExpectExited(0);
}

IPC_TEST(ShmCtl, LockByAnUnprivilegedNonOwnerFailsWithEperm, "shm.ctl-eperm-lock") {
  IPC_REQUIRE_OTHER_USERS("to act as another user");
  ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, Page(), IPC_CREAT | 0666));
  ASSERT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceeds());  // for the SHM_UNLOCK attempt
  Child c = Child::Spawn(
      [&] {
        ASSERT_TRUE(SetRlimit(RLIMIT_MEMLOCK, 64 * Page()));
        SHM_DROP_PRIVILEGES();
        EXPECT_THAT(::shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(::shmctl(seg.id(), SHM_LOCK, nullptr), SyscallFailsWithErrno(EPERM));
      },
      {.what = "SHM_LOCK and SHM_UNLOCK on a root segment as uid 65534"});
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(struct shmid_ds ds, Stat(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, SHM_LOCKED | 0666) << "the refused SHM_UNLOCK unlocked it";
}

}  // namespace
}  // namespace ipc
