// Helpers shared by the System V shared memory tests (suite/shm/*.cc; rules: suite/rules/shm.ini).
//
// Isolation. The test main runs in a private IPC namespace when it can: tests that use fixed keys or read
// limits require it. Tests that change a limit (shmmni, shmall, shmmax, shm_rmid_forced) do it in a child
// that unshare(CLONE_NEWIPC)s a fresh namespace of its own and writes the namespaced sysctl there, so
// neither the host nor the other tests ever see the change; the namespace and its segments die with the
// child. Tests that need another user drop to uid/gid 65534 without capabilities in a child.
#pragma once

#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <string>

#include "ipcsuite/fixtures.h"

namespace ipc::shm_util {

inline constexpr uid_t kOtherUid = 4321;       // an owner that is neither root nor kNobodyUid
inline constexpr key_t kKeyBase = 0x53480000;  // fixed keys: only used inside the private IPC namespace

inline constexpr char kShmRmidForced[] = "/proc/sys/kernel/shm_rmid_forced";
inline constexpr char kShmMni[] = "/proc/sys/kernel/shmmni";
inline constexpr char kShmAll[] = "/proc/sys/kernel/shmall";
inline constexpr char kShmMax[] = "/proc/sys/kernel/shmmax";

// shmctl(IPC_STAT).
PosixResult<struct shmid_ds> Stat(int id);

bool SetRlimit(int resource, rlim_t value);

// proc(5): with shm_rmid_forced = 1 a segment dies on its last detach (also when a failed shmat drops its
// provisional attach) and when its creator exits without ever attaching it. Tests that use a segment after
// its attach count fell to zero, or after its creator exited, need it to be 0. In the test's private
// namespace the setting belongs to this binary alone and is reset to 0; in the host's namespace a 1 cannot be
// changed, so such tests skip.
std::string RmidForcedOffOrWhyNot();

// An anonymous private mapping, unmapped on destruction by the process that made it.
class AnonMapping {
 public:
  explicit AnonMapping(size_t len, int prot = PROT_READ | PROT_WRITE);
  AnonMapping(const AnonMapping&) = delete;
  AnonMapping& operator=(const AnonMapping&) = delete;
  ~AnonMapping();
  bool ok() const { return addr_ != MAP_FAILED; }
  char* get() const { return static_cast<char*>(addr_); }

 private:
  void* addr_;
  size_t len_;
  pid_t owner_;
};

// An address at which `len` bytes, aligned to `align`, are unmapped right now: a reservation is made and
// released again. The test process is single-threaded, so nothing maps there before the caller attaches.
PosixResult<char*> FreeAlignedRange(size_t len, size_t align);

// The permissions column of /proc/self/maps ("rw-s") for the mapping that contains `addr`, "" if none.
std::string MappingPerms(const void* addr);

bool SendInt(int fd, int v);
PosixResult<int> ReceiveInt(int fd);

// A segment that a child created (and the test owns): the child creates it with shmget(IPC_PRIVATE, size,
// flags), runs `use` on it, sends its id and exits without removing it; the test adopts the id (so it is
// removed at the end whatever happens) and expects the child to exit 0. Fails when the id never arrives (the
// child's own failures are forwarded to the test).
struct SegmentFromChild {
  ShmSegment seg;
  pid_t creator;  // the child's pid: shm_cpid
};
PosixResult<SegmentFromChild> CreateSegmentInChild(size_t size, int flags, const std::string& what,
                                                   const std::function<void(const ShmSegment&)>& use = {});

// Lock-step between the test and one child: the child Signal()s after each step and AwaitGo()es; the test
// AwaitSignal()s (with a deadline, so a dead or stuck child becomes a failure) and says Go().
struct Handshake {
  Pipe up;    // child -> test
  Pipe down;  // test -> child

  static PosixResult<Handshake> Create();

  // Child side.
  bool Signal();
  bool AwaitGo();

  // Test side: call once after spawning, so that a dead child shows as end of file.
  void CloseChildEnds();
  ::testing::AssertionResult AwaitSignal();
  bool Go();
};

// Memory (RAM + swap) in bytes, for a request the kernel cannot commit.
unsigned long long TotalMemory();

// Huge page size in bytes from /proc/meminfo, 0 when the kernel has no hugetlb support.
size_t HugePageSize();

// Current address-space size of the calling process in bytes (/proc/self/statm, first field).
size_t AddressSpaceSize();

// Fills `len` bytes with a pattern that depends on `seed`.
void Fill(void* p, size_t len, unsigned seed);

// Index of the first byte that differs from Fill(len, seed), or len when all match.
size_t FirstMismatch(const void* p, size_t len, unsigned seed);

}  // namespace ipc::shm_util

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

#define IPC_REQUIRE_RMID_FORCED_OFF()                                        \
  do {                                                                       \
    std::string rmid_forced_why_ = ::ipc::shm_util::RmidForcedOffOrWhyNot(); \
    if (!rmid_forced_why_.empty()) GTEST_SKIP() << rmid_forced_why_;         \
  } while (0)
