// Helpers shared by the POSIX shared memory tests (suite/pshm/*.cc; rules: suite/rules/pshm.ini).
//
// Names. Every shm_open name comes from ipc::PosixName(PosixIpcKind::kSharedMemory, tag) (posix_ipc.h):
// unique to the process and test, and unlinked when the test ends, only by the process that made it. Objects
// that a child creates under such a name are unlinked by the test process's owner too.
//
// /dev/shm. glibc's shm_open(3) creates its objects as files in /dev/shm (a tmpfs); where that directory is
// missing or not writable every test that uses a name skips with IPC_REQUIRE_DEV_SHM(). memfd_create(2) needs
// no directory.
//
// Signals. SIGBUS and SIGSEGV checks run in a Child (child.h) that is prepared with PrepareToDieOf(sig)
// (default action, unblocked, no core dump), and the test expects ExpectKilledBy(sig).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "ipcsuite/fixtures.h"

namespace ipc::pshm_util {

// The file that glibc's shm_open made for `name` ("/x" -> "/dev/shm/x").
inline std::string DevShmPath(const PosixName& name) { return std::string(kDevShm) + name.str(); }

// shm_open(3); the result owns the descriptor.
inline PosixResult<FileDescriptor> ShmOpen(const char* name, int oflag, mode_t mode = 0600) {
  int fd = ::shm_open(name, oflag, mode);
  if (fd < 0) return PosixResult<FileDescriptor>::Error(errno, std::string("shm_open(") + name + ")");
  return FileDescriptor(fd);
}
inline PosixResult<FileDescriptor> ShmOpen(const PosixName& name, int oflag, mode_t mode = 0600) {
  return ShmOpen(name.c_str(), oflag, mode);
}

// shm_open(O_RDWR | O_CREAT | O_EXCL) and ftruncate to `size`.
inline PosixResult<FileDescriptor> CreateObject(const PosixName& name, size_t size, mode_t mode = 0600) {
  PosixResult<FileDescriptor> fd = ShmOpen(name, O_RDWR | O_CREAT | O_EXCL, mode);
  if (!fd.ok()) return fd;
  if (size > 0 && ::ftruncate(fd.value().get(), static_cast<off_t>(size)) != 0)
    return PosixResult<FileDescriptor>::Error(errno, "ftruncate");
  return fd;
}

// memfd_create(2); the result owns the descriptor.
inline PosixResult<FileDescriptor> MemfdCreate(const char* name, unsigned flags) {
  int fd = ::memfd_create(name, flags);
  if (fd < 0) return PosixResult<FileDescriptor>::Error(errno, std::string("memfd_create(") + name + ")");
  return FileDescriptor(fd);
}

// memfd_create and ftruncate to `size`.
inline PosixResult<FileDescriptor> CreateMemfd(size_t size, unsigned flags = MFD_CLOEXEC) {
  PosixResult<FileDescriptor> fd = MemfdCreate("ipcsuite-pshm", flags);
  if (!fd.ok()) return fd;
  if (size > 0 && ::ftruncate(fd.value().get(), static_cast<off_t>(size)) != 0)
    return PosixResult<FileDescriptor>::Error(errno, "ftruncate");
  return fd;
}

// A new open file description of the file behind `fd`, opened through /proc/self/fd/<fd> with `flags`.
inline PosixResult<FileDescriptor> Reopen(int fd, int flags) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int r = ::open(path.c_str(), flags);
  if (r < 0) return PosixResult<FileDescriptor>::Error(errno, "open(" + path + ")");
  return FileDescriptor(r);
}

// A mapping, unmapped on destruction by the process that made it (a forked child leaves the parent's alone).
class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, MAP_FAILED)), len_(other.len_), owner_(other.owner_) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      Unmap();
      addr_ = std::exchange(other.addr_, MAP_FAILED);
      len_ = other.len_;
      owner_ = other.owner_;
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  ~Mapping() {
    if (addr_ != MAP_FAILED && owner_ == ::getpid()) ::munmap(addr_, len_);
  }

  static PosixResult<Mapping> Map(size_t len, int prot, int flags, int fd, off_t offset = 0) {
    void* p = ::mmap(nullptr, len, prot, flags, fd, offset);
    if (p == MAP_FAILED) return PosixResult<Mapping>::Error(errno, "mmap");
    Mapping m;
    m.addr_ = p;
    m.len_ = len;
    m.owner_ = ::getpid();
    return m;
  }
  // PROT_READ | PROT_WRITE, MAP_SHARED.
  static PosixResult<Mapping> Shared(int fd, size_t len, off_t offset = 0) {
    return Map(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  }

  volatile char* get() const { return static_cast<volatile char*>(addr_); }
  char* data() const { return static_cast<char*>(addr_); }
  size_t size() const { return len_; }
  // Unmaps now; returns munmap's result.
  int Unmap() {
    if (addr_ == MAP_FAILED) return 0;
    void* p = std::exchange(addr_, MAP_FAILED);
    return owner_ == ::getpid() ? ::munmap(p, len_) : 0;
  }

 private:
  void* addr_ = MAP_FAILED;
  size_t len_ = 0;
  pid_t owner_ = -1;
};

// An address range of `len` bytes that is unmapped right now (a reservation made and released again): a
// touch there raises SIGSEGV. The test process is single-threaded, so nothing is mapped there meanwhile.
inline PosixResult<char*> FreeRange(size_t len) {
  void* p = ::mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return PosixResult<char*>::Error(errno, "mmap(PROT_NONE)");
  ::munmap(p, len);
  return static_cast<char*>(p);
}

// In a child: lowers RLIMIT_NOFILE to the lowest free descriptor, so that no descriptor can be allocated.
// Returns false with errno set on failure.
inline bool LeaveNoFreeDescriptor() {
  int lowest = ::dup(0);
  if (lowest < 0) lowest = ::open("/dev/null", O_RDONLY);
  if (lowest < 0) return false;
  ::close(lowest);
  // The soft limit alone decides EMFILE; the hard one stays (a tool may refuse to lower it: valgrind, EPERM).
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  rl.rlim_cur = static_cast<rlim_t>(lowest);
  return ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

// The file's size (fstat), -1 with errno on failure.
inline off_t SizeOf(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

}  // namespace ipc::pshm_util

// For a test that uses shm_open(3): glibc keeps the objects in /dev/shm.
#define IPC_REQUIRE_DEV_SHM() \
  IPC_REQUIRE_DEV_SHM_BECAUSE("needs /dev/shm, where glibc's shm_open keeps its objects")

// The call must fail with `err`; a descriptor it opens by mistake is closed again.
#define EXPECT_FD_CALL_FAILS(call, err)                               \
  do {                                                                \
    int ipc_fd_ = (call);                                             \
    EXPECT_THAT(ipc_fd_, ::ipc::SyscallFailsWithErrno(err)) << #call; \
    if (ipc_fd_ >= 0) ::close(ipc_fd_);                               \
  } while (0)
