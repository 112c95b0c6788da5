// Helpers shared by the POSIX semaphore tests (suite/psem/*.cc; rules in suite/rules/psem.ini).
//
// Named semaphores get their names from ipc::PosixName(PosixIpcKind::kSemaphore, tag) (unique per process
// and test, unlinked when the test ends by the process that made the name). A handle from sem_open(3) is
// owned by NamedSem (sem_close on destruction, in the process that opened it). Unnamed process-shared
// semaphores live in MAP_SHARED anonymous memory (SharedSem) so that a forked child operates on the same
// semaphore.
//
// glibc 2.36 implements sem_wait/sem_timedwait with the futex system call: a waiter is seen blocked with
// WaitUntilBlockedIn(pid, SYS_futex) (never by sleeping).
#pragma once

#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/posix_ipc.h"

namespace ipc::psem_util {

// For a test of named semaphores: they are files in /dev/shm (sem_overview(7)).
#define IPC_REQUIRE_DEV_SHM() IPC_REQUIRE_DEV_SHM_BECAUSE("named POSIX semaphores need a writable /dev/shm")

// "/dev/shm/sem.<name without its slash>": the file behind a named semaphore.
inline std::string DevShmPath(const std::string& name) {
  return std::string(kDevShm) + "/sem." + name.substr(name.find_first_not_of('/'));
}

// The value of a semaphore (sem_getvalue), or INT_MIN (and a test failure) when the call fails.
inline int Value(sem_t* s) {
  int v = 0;
  if (sem_getvalue(s, &v) != 0) {
    ADD_FAILURE() << "sem_getvalue failed: " << DescribeErrno(errno);
    return INT_MIN;
  }
  return v;
}

// An open named semaphore: sem_close on destruction, only in the process that opened it.
class NamedSem {
 public:
  NamedSem() = default;
  explicit NamedSem(sem_t* s) : sem_(s), owner_(getpid()) {}
  NamedSem(NamedSem&& o) noexcept : sem_(o.sem_), owner_(o.owner_) { o.sem_ = SEM_FAILED; }
  NamedSem& operator=(NamedSem&& o) noexcept {
    if (this != &o) {
      if (sem_ != SEM_FAILED && owner_ == getpid()) sem_close(sem_);
      sem_ = o.sem_;
      owner_ = o.owner_;
      o.sem_ = SEM_FAILED;
    }
    return *this;
  }
  NamedSem(const NamedSem&) = delete;
  ~NamedSem() {
    if (sem_ != SEM_FAILED && owner_ == getpid()) sem_close(sem_);
  }
  sem_t* get() const { return sem_; }
  // Closes now; returns sem_close's result (errno intact).
  int Close() {
    sem_t* s = sem_;
    sem_ = SEM_FAILED;
    return sem_close(s);
  }

 private:
  sem_t* sem_ = SEM_FAILED;
  pid_t owner_ = -1;
};

// sem_open(name, oflag[, mode, value]) as a result: the handle or the errno.
inline PosixResult<NamedSem> Open(const char* name, int oflag, mode_t mode = 0600, unsigned value = 0) {
  sem_t* s = (oflag & O_CREAT) ? sem_open(name, oflag, mode, value) : sem_open(name, oflag);
  if (s == SEM_FAILED) return PosixResult<NamedSem>::Error(errno, std::string("sem_open ") + name);
  return NamedSem(s);
}

// An unnamed semaphore in a MAP_SHARED anonymous page, initialised with sem_init(sem, pshared, value);
// a forked child shares it. The mapping is removed (after sem_destroy) by the process that made it.
class SharedSem {
 public:
  static PosixResult<SharedSem> Create(unsigned value, int pshared = 1) {
    void* p = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return PosixResult<SharedSem>::Error(errno, "mmap MAP_SHARED|MAP_ANONYMOUS for a semaphore");
    SharedSem s(static_cast<sem_t*>(p));
    if (sem_init(s.sem_, pshared, value) != 0) return PosixResult<SharedSem>::Error(errno, "sem_init");
    s.initialised_ = true;
    return s;
  }
  SharedSem(SharedSem&& o) noexcept : sem_(o.sem_), owner_(o.owner_), initialised_(o.initialised_) {
    o.sem_ = nullptr;
  }
  SharedSem& operator=(SharedSem&&) = delete;
  SharedSem(const SharedSem&) = delete;
  ~SharedSem() {
    if (sem_ == nullptr || owner_ != getpid()) return;
    if (initialised_) sem_destroy(sem_);
    munmap(sem_, sizeof(sem_t));
  }
  sem_t* get() const { return sem_; }

 private:
  explicit SharedSem(sem_t* s) : sem_(s), owner_(getpid()) {}
  sem_t* sem_ = nullptr;
  pid_t owner_ = -1;
  bool initialised_ = false;
};

// Whether CLOCK_REALTIME now is at or after `t`.
inline bool RealtimeReached(const timespec& t) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec >= t.tv_nsec);
}

// A name made by the test itself (e.g. padded to a given length): sem_unlink on destruction, only in the
// process that made it; ENOENT is fine. Its base is a PosixName, so the name is unique to this test.
class LongName {
 public:
  // The unique base name padded with 'x' to `length` characters after the slash.
  LongName(std::string_view tag, size_t length) : base_(PosixIpcKind::kSemaphore, tag), owner_(getpid()) {
    name_ = base_.str();
    if (name_.size() < length + 1) name_.append(length + 1 - name_.size(), 'x');
    name_.resize(length + 1);
  }
  LongName(const LongName&) = delete;
  LongName& operator=(const LongName&) = delete;
  ~LongName() {
    if (owner_ == getpid()) sem_unlink(name_.c_str());
  }
  const char* c_str() const { return name_.c_str(); }
  const std::string& str() const { return name_; }

 private:
  PosixName base_;
  std::string name_;
  pid_t owner_;
};

// Whether this process maps the file at `path` (matched in /proc/self/maps by device and inode).
bool MapsFile(const std::string& path);

// For a child that makes a semaphore fail on purpose: moves the calling process (a single-threaded Child)
// into a mount namespace of its own (unshare(CLONE_NEWNS); without CAP_SYS_ADMIN, together with a user
// namespace of its own, its uid and gid mapped to themselves) with an empty tmpfs on /dev/shm, so whatever a
// failed sem_open leaves behind there goes with the child. "" when done, else why not (the process is then
// still on the shared /dev/shm).
std::string EnterPrivateDevShm();

// The names in /dev/shm of glibc's temporary semaphore files ("sem.XXXXXX", sem_open(3) makes one before
// it links it to sem.<name>). Needs one free descriptor.
std::vector<std::string> DevShmTempNames();

// Of `after` (DevShmTempNames() after a call), the names not in `before` whose file is empty and open in no
// process this one can see: temporary files that the call itself left behind (glibc writes the semaphore
// into its temporary file, which it holds open, before it links or removes it). Needs two free descriptors.
std::vector<std::string> TempNamesLeftBy(const std::vector<std::string>& before,
                                         const std::vector<std::string>& after);

// The three kinds of semaphore the tables run over: named (sem_open), unnamed shared between threads
// (sem_init pshared 0) and unnamed shared between processes (pshared 1, in a MAP_SHARED mapping).
enum class SemKind { kNamed, kThreadShared, kProcessShared };

// One row per kind, for a parameterised test that runs over all three (the test names its rules):
// IPC_INSTANTIATE_TABLE(Table, Suite, kSemKinds).
struct SemKindRow {
  const char* name;
  rules::RuleList rules;
  SemKind kind;
};
inline const SemKindRow kSemKinds[] = {
    {"Named", {}, SemKind::kNamed},
    {"ThreadShared", {}, SemKind::kThreadShared},
    {"ProcessShared", {}, SemKind::kProcessShared},
};

}  // namespace ipc::psem_util
