// Helpers for the signal-delivery test files (kill, sigqueue, rt_sigqueueinfo, sigprocmask, sigpending,
// sigwaitinfo/sigtimedwait, signalfd, tgkill/tkill, pidfd_send_signal, default actions, stop/continue, PID
// namespaces). Rules in suite/rules/signal-delivery.ini.
#pragma once

#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>
#include <string_view>

#include "ipcsuite/fixtures.h"
#include "signal_util.h"

// pidfd_open(2) and pidfd_send_signal(2): glibc 2.36 has the wrappers (pidfd_open@GLIBC_2.36,
// pidfd_send_signal@GLIBC_2.36), but its <sys/pidfd.h> lacks __BEGIN_DECLS (fixed in 2.37), so C++ would
// look for mangled names: include it inside extern "C". The tests call the C library's wrappers, so
// interposers see them.
extern "C" {
#include <sys/pidfd.h>
}

namespace ipc::signal_util {

// What the last delivery of a recorded signal carried (written by RecordingHandler, async-signal-safe).
struct Delivery {
  std::atomic<int> count{0};
  std::atomic<int> signo{0};
  std::atomic<int> code{0};
  std::atomic<int> value{0};  // si_value.sival_int
  std::atomic<long> pid{0};
  std::atomic<long> uid{-1};
  std::atomic<long> tid{0};  // the thread the handler ran on
  void Reset() {
    count = 0;
    signo = 0;
    code = 0;
    value = 0;
    pid = 0;
    uid = -1;
    tid = 0;
  }
};

inline Delivery g_delivery[NSIG];

inline void RecordingHandler(int sig, siginfo_t* info, void*) {
  Delivery& d = g_delivery[sig];
  d.signo = info->si_signo;
  d.code = info->si_code;
  d.value = info->si_value.sival_int;
  d.pid = info->si_pid;
  d.uid = static_cast<long>(info->si_uid);
  d.tid = static_cast<long>(gettid());
  d.count.fetch_add(1);
}

// Installs RecordingHandler (SA_SIGINFO) for `sig`, resetting its record; restored on scope exit.
class RecordSignal {
 public:
  explicit RecordSignal(int sig, int flags = 0) : sig_(sig), action_(sig, Action(flags)) {
    g_delivery[sig].Reset();
  }
  bool ok() const { return action_.ok(); }
  const Delivery& operator*() const { return g_delivery[sig_]; }
  const Delivery* operator->() const { return &g_delivery[sig_]; }

 private:
  static struct sigaction Action(int flags) {
    struct sigaction act = {};
    act.sa_sigaction = RecordingHandler;
    act.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&act.sa_mask);
    return act;
  }
  int sig_;
  ScopedSigaction action_;
};

// rt_sigqueueinfo(2) has no glibc wrapper (glibc 2.36): raw syscall(2).
inline int RtSigqueueinfo(pid_t tgid, int sig, siginfo_t* info) {
  return static_cast<int>(syscall(SYS_rt_sigqueueinfo, tgid, sig, info));
}

// tkill(2) has no glibc wrapper (glibc 2.36; tgkill has one since 2.30): raw syscall(2).
inline int Tkill(pid_t tid, int sig) { return static_cast<int>(syscall(SYS_tkill, tid, sig)); }

// A siginfo_t as a process would forge it for rt_sigqueueinfo/pidfd_send_signal.
inline siginfo_t Forged(int sig, int code, int value) {
  siginfo_t si = {};
  si.si_signo = sig;
  si.si_code = code;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = value;
  return si;
}

// waitpid(2) retrying EINTR.
inline pid_t WaitPid(pid_t pid, int* status, int options) {
  pid_t r;
  while ((r = waitpid(pid, status, options)) < 0 && errno == EINTR) {
  }
  return r;
}

// Reaps the grandchild `pid` (WaitPid) and expects it to have exited with `code`; `note` (what its other
// exit codes mean, or what a wrong status shows) follows the status in the failure message.
inline void ExpectReapedExit(pid_t pid, int code = 0, std::string_view note = {}) {
  int st = 0;
  ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == code) << ExitStatus::FromWaitStatus(st).Describe() << note;
}

// Reaps the grandchild `pid` (WaitPid) and expects it to have been killed by `sig`.
inline void ExpectReapedKilledBy(pid_t pid, int sig) {
  int st = 0;
  ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sig) << ExitStatus::FromWaitStatus(st).Describe();
}

// A grandchild that waits for end of file on a pipe (its parent closes the write end to release it), then
// exits with `code`. Returns the pid (-1 after a reported fork failure). The pipe's read end is kept by
// the caller's Pipe; the caller closes its write end.
inline pid_t ForkWaiter(const Pipe& p, int code = 0) {
  int rfd = p.read.get(), wfd = p.write.get();
  return ForkRaw([=] {
    close(wfd);
    char b;
    ssize_t n;
    while ((n = read(rfd, &b, 1)) < 0 && errno == EINTR) {
    }
    return n == 0 ? code : 120;
  });
}

// In a Child: a root process waiting to be released (ForkWaiter) is sent a signal by a sibling that first
// drops to uid 65534 (isolation::DropPrivileges): `send(target, pidfd)` (0, or -1 with errno) must fail
// with EPERM, and the target must not have been signalled. With `open_pidfd`, `pidfd` is a pidfd of the
// target opened as root before the drop (else -1). `what` names the scenario for the Child's messages.
inline void ExpectSendAsAnotherUserIsEperm(const std::function<int(pid_t target, int pidfd)>& send,
                                           const std::string& what, bool open_pidfd = false) {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t target = ForkWaiter(p);
        ASSERT_THAT(target, SyscallSucceeds());
        FileDescriptor pfd(open_pidfd ? pidfd_open(target, 0) : -1);
        if (open_pidfd) {
          ASSERT_TRUE(pfd.valid()) << DescribeErrno(errno);
        }
        int fd = pfd.get();
        pid_t sender = ForkRaw([&] {
          if (!isolation::DropPrivileges()) return 3;
          if (send(target, fd) == 0) return 4;
          return errno == EPERM ? 0 : 5;
        });
        ASSERT_THAT(sender, SyscallSucceeds());
        ExpectReapedExit(sender, 0, " (3 drop failed, 4 succeeded, 5 other errno)");
        p.write.Close();
        ExpectReapedExit(target);
      },
      {.what = what});
  c.ExpectExited(0);
}

// A grandchild that takes SIGRTMIN (which the caller blocked before the fork) with sigwaitinfo and exits 0
// when it came with SI_QUEUE and si_value.sival_int `value` (and, unless `sender` is 0, si_pid `sender`);
// else with one of the codes kSiQueueWaiterCodes explains. Returns the pid (-1 after a reported failure).
inline constexpr const char* kSiQueueWaiterCodes = " (10 wrong signal, 11 si_code, 12 value, 13 si_pid)";
inline pid_t ForkSiQueueWaiter(int value, pid_t sender = 0) {
  return ForkRaw([=] {
    siginfo_t si = {};
    sigset_t set = SetOf({SIGRTMIN});
    if (sigwaitinfo(&set, &si) != SIGRTMIN) return 10;
    if (si.si_code != SI_QUEUE) return 11;
    if (si.si_value.sival_int != value) return 12;
    if (sender != 0 && si.si_pid != sender) return 13;
    return 0;
  });
}

// Why a child cannot make a new PID namespace (unshare(CLONE_NEWPID) then fork) ("" when it can). Probed
// once per process, in a child.
inline const std::string& NewPidNamespaceUnavailableReason() {
  static const std::string reason = [] {
    pid_t pid = fork();
    if (pid < 0) return "fork for the probe failed: " + DescribeErrno(errno);
    if (pid == 0) {
      if (unshare(CLONE_NEWPID) != 0) _exit(errno == EPERM ? 10 : errno == EINVAL ? 11 : 12);
      pid_t in = fork();
      if (in < 0) _exit(13);
      if (in == 0) _exit(getpid() == 1 ? 0 : 14);
      int st = 0;
      while (waitpid(in, &st, 0) < 0 && errno == EINTR) {
      }
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 15);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    switch (code) {
      case 0:
        return std::string();
      case 10:
        return std::string(
            "unshare(CLONE_NEWPID) fails with EPERM (needs CAP_SYS_ADMIN in the user namespace)");
      case 11:
        return std::string("unshare(CLONE_NEWPID) fails with EINVAL (no PID namespace support)");
      case 12:
        return std::string("unshare(CLONE_NEWPID) fails");
      case 13:
        return std::string("fork into the new PID namespace fails");
      default:
        return std::string("the first process of a new PID namespace is not pid 1");
    }
  }();
  return reason;
}

#define IPC_REQUIRE_NEW_PID_NAMESPACE()                                                       \
  do {                                                                                        \
    const std::string& ipc_no_pidns = ::ipc::signal_util::NewPidNamespaceUnavailableReason(); \
    if (!ipc_no_pidns.empty()) GTEST_SKIP() << "needs a new PID namespace: " << ipc_no_pidns; \
  } while (0)

// In a Child: unshare(CLONE_NEWPID) and fork the namespace's init (pid 1), which runs `init_body` and
// exits with its result. Returns init's pid as seen from the caller (-1 on failure, reported).
inline pid_t ForkInitOfNewPidNamespace(const std::function<int()>& init_body) {
  if (unshare(CLONE_NEWPID) != 0) {
    ADD_FAILURE() << "unshare(CLONE_NEWPID) failed with " << DescribeErrno(errno);
    return -1;
  }
  // Not ForkRaw: init sees its parent (outside the namespace) as pid 0, so getppid() cannot confirm it.
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    IPC_ADD_FAILURE_FOR_ERRNO(err) << "fork into the new PID namespace failed with " << DescribeErrno(err);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    _exit(init_body());
  }
  return pid;
}

// Lowers RLIMIT_SIGPENDING of the calling process to `n` (lowering needs no privilege).
inline bool LowerSigpendingLimit(rlim_t n) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_SIGPENDING, &rl) != 0) return false;
  rl.rlim_cur = n;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n) return false;
  return setrlimit(RLIMIT_SIGPENDING, &rl) == 0;
}

// RLIMIT_SIGPENDING is checked against the number of signals queued to all processes of the recipient's real
// user ID in its user namespace, so a test that fills it must have that count to itself: other tests
// running alongside as the same user take and free slots (seen: a re-queue after sigtimedwait refused with
// EAGAIN). In a child, EnterPrivateSignalCount moves into a new user namespace (a new, empty count; the
// limit is still the task's RLIMIT_SIGPENDING), or, where user namespaces are unavailable, to a user id of
// its own. Returns 0, or the errno of unshare(CLONE_NEWUSER) when neither worked.
inline int EnterPrivateSignalCount() {
  if (::unshare(CLONE_NEWUSER) == 0) return 0;
  int userns_err = errno;
  // A uid no other test uses (they use 0 and 65534), distinct per process.
  uid_t uid = 40000 + static_cast<uid_t>(getpid() % 20000);
  if (setgroups(0, nullptr) == 0 && setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0) return 0;
  return userns_err == 0 ? EPERM : userns_err;
}

// Why a child cannot get a pending-signal count of its own ("" when it can). Probed once, in a child.
inline const std::string& PrivateSignalCountUnavailableReason() {
  static const std::string reason = [] {
    Child c = Child::SpawnWithExitCode([] { return EnterPrivateSignalCount(); },
                                       {.what = "probing for a private pending-signal count"});
    ExitStatus st = c.Wait();
    if (st.Exited(0)) return std::string();
    if (st.kind != ExitStatus::Kind::kExited) return "the probe " + st.Describe();
    return "unshare(CLONE_NEWUSER) failed with " + DescribeErrno(st.code) +
           ", and switching to a user id of its own failed (" +
           (isolation::OtherUsersUnavailableReason().empty() ? std::string("setresuid refused")
                                                             : isolation::OtherUsersUnavailableReason()) +
           ")";
  }();
  return reason;
}

// For a test that fills RLIMIT_SIGPENDING: skips when the count cannot be made private.
#define IPC_REQUIRE_PRIVATE_SIGNAL_COUNT()                                                                  \
  do {                                                                                                      \
    if (!::ipc::signal_util::PrivateSignalCountUnavailableReason().empty())                                 \
      GTEST_SKIP() << "needs a pending-signal count of its own (RLIMIT_SIGPENDING counts every process of " \
                      "this user): "                                                                        \
                   << ::ipc::signal_util::PrivateSignalCountUnavailableReason();                            \
  } while (0)

// In a Child: with its pending-signal count made private (EnterPrivateSignalCount), SIGRTMIN blocked and
// RLIMIT_SIGPENDING lowered to `limit`, `queue_one(i)` (0, or -1 with errno) queues SIGRTMIN for the
// i-th time until it fails, which must be with EAGAIN; `then(queued)` runs with the signals still
// pending, and they are taken off the queue at the end.
inline void ExpectSigpendingLimitIsEagain(rlim_t limit, const std::function<int(int i)>& queue_one,
                                          const std::string& what,
                                          const std::function<void(int queued)>& then = nullptr) {
  Child c = Child::Spawn(
      [&] {
        ASSERT_EQ(EnterPrivateSignalCount(), 0);
        ScopedSigmask block(SIG_BLOCK, SIGRTMIN);
        ASSERT_TRUE(LowerSigpendingLimit(limit)) << DescribeErrno(errno);
        int r = 0, queued = 0;
        for (rlim_t i = 0; i <= limit; ++i) {
          r = queue_one(static_cast<int>(i));
          if (r != 0) break;
          ++queued;
        }
        EXPECT_THAT(r, SyscallFailsWithErrno(EAGAIN)) << "after " << queued << " queued, limit " << limit;
        if (then) then(queued);
        sigset_t set = SetOf({SIGRTMIN});
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, nullptr, &zero) == SIGRTMIN) {
        }
      },
      {.what = what});
  c.ExpectExited(0);
}

}  // namespace ipc::signal_util
