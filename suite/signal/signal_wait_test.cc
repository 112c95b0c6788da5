// SIGCHLD (signal(7), sigaction(2)) and wait(2): status decoding, WNOHANG/WUNTRACED/WCONTINUED/WNOWAIT,
// zombies under SIG_IGN and SA_NOCLDWAIT, and errors.
//
// Every test runs in a Child that forks its own grandchildren with fork(2) and collects them with the
// wait calls under test (the test process's own children are the fixture's business). Grandchildren make
// no gtest assertions: their result is their exit status. A grandchild that must stay alive waits for end
// of file on a pipe whose write end its parent (or the test process) closes to release it.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <functional>
#include <initializer_list>
#include <string>

#include "ipcsuite/fixtures.h"
#include "signal_util.h"

namespace ipc {
namespace {

using namespace signal_util;

// Grandchild body: wait for end of file on `fd` (after closing `close_fd`, the caller's write end),
// then exit with `code`.
std::function<int()> ExitAfterEof(int fd, int close_fd, int code) {
  return [=] {
    if (close_fd >= 0) close(close_fd);
    char b;
    ssize_t n;
    while ((n = read(fd, &b, 1)) < 0 && errno == EINTR) {
    }
    return n == 0 ? code : 120;
  };
}

// ---------------------------------------------------------------------------------------------------
// SIGCHLD.

IPC_TEST(SignalSigchld, SentToTheParentWhenAChildExits, "signal.sigchld-on-child-exit") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter chld(SIGCHLD);
        {
          ScopedSigmask block(SIG_BLOCK, SIGCHLD);
          pid_t pid = ForkRaw([] { return 0; });
          ASSERT_THAT(pid, SyscallSucceeds());
          ASSERT_THAT(waitpid(pid, nullptr, 0), SyscallSucceedsWithValue(pid));
          // The notification is generated before the child can be waited for.
          EXPECT_TRUE(IsSignalPending(SIGCHLD));
          EXPECT_EQ(chld.count(), 0);
        }
        EXPECT_EQ(chld.count(), 1);
      },
      {.what = "forking a grandchild that exits, with a SIGCHLD handler"});
  c.ExpectExited(0);
}

std::atomic<int> g_chld_calls{0}, g_chld_signo{0}, g_chld_code{0}, g_chld_pid{0}, g_chld_status{-1};
std::atomic<long> g_chld_uid{-1};

void RecordSigchld(int sig, siginfo_t* info, void*) {
  g_chld_calls.fetch_add(1);
  g_chld_signo = sig;
  g_chld_code = info->si_code;
  g_chld_pid = info->si_pid;
  g_chld_status = info->si_status;
  g_chld_uid = static_cast<long>(info->si_uid);
}

IPC_TEST(SignalSigchld, SiginfoDescribesTheExitedChild, "signal.sigchld-siginfo") {
  Child c = Child::Spawn(
      [&] {
        struct sigaction act = {};
        act.sa_sigaction = RecordSigchld;
        act.sa_flags = SA_SIGINFO;
        sigemptyset(&act.sa_mask);
        ScopedSigaction chld(SIGCHLD, act);
        ASSERT_TRUE(chld.ok());
        pid_t pid;
        {
          ScopedSigmask block(SIG_BLOCK, SIGCHLD);
          pid = ForkRaw([] { return 42; });
          ASSERT_THAT(pid, SyscallSucceeds());
          ASSERT_THAT(waitpid(pid, nullptr, 0), SyscallSucceedsWithValue(pid));
        }
        EXPECT_EQ(g_chld_calls.load(), 1);
        EXPECT_EQ(g_chld_signo.load(), SIGCHLD);
        EXPECT_EQ(g_chld_code.load(), CLD_EXITED);
        EXPECT_EQ(g_chld_pid.load(), pid);
        EXPECT_EQ(g_chld_status.load(), 42);
        EXPECT_EQ(g_chld_uid.load(), static_cast<long>(getuid()));
      },
      {.what = "catching SIGCHLD with SA_SIGINFO"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigchld, DefaultActionIgnoresTheSignal, "signal.sigchld-default-ign") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGCHLD, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGCHLD);
        ASSERT_THAT(kill(getpid(), SIGCHLD), SyscallSucceeds());
        // Still running, and nothing is left pending.
        EXPECT_FALSE(IsSignalPending(SIGCHLD));
        ASSERT_THAT(raise(SIGCHLD), SyscallSucceeds());
        EXPECT_FALSE(IsSignalPending(SIGCHLD));
      },
      {.what = "sending SIGCHLD to a process with the default disposition"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigchld, DefaultDispositionKeepsTheChildAsZombie, "signal.sigchld-default-keeps-zombie") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGCHLD, SIG_DFL);
        pid_t pid = ForkRaw([] { return 9; });
        ASSERT_THAT(pid, SyscallSucceeds());
        // Wait until it has terminated without collecting it.
        siginfo_t info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), SyscallSucceeds());
        std::optional<TaskState> st = ReadTaskState(pid);
        ASSERT_TRUE(st.has_value()) << "the terminated child is gone without being waited for";
        EXPECT_EQ(st->state, 'Z');
        int status = 0;
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 9) << "status " << status;
      },
      {.what = "collecting a zombie with SIGCHLD at its default disposition"});
  c.ExpectExited(0);
}

// Stops a grandchild with SIGSTOP, continues it, lets it exit and reaps it, with SIGCHLD blocked and a
// handler installed with `sa_flags`; returns the si_code of the first SIGCHLD that became pending (the
// later ones do not replace it) via sigtimedwait, or -1.
int FirstSigchldCodeAcrossStopContinueExit(int sa_flags) {
  struct sigaction act = {};
  act.sa_handler = [](int) {};
  act.sa_flags = sa_flags;
  sigemptyset(&act.sa_mask);
  ScopedSigaction chld(SIGCHLD, act);
  EXPECT_TRUE(chld.ok());
  ScopedSigmask block(SIG_BLOCK, SIGCHLD);
  pid_t pid = ForkRaw([] {
    raise(SIGSTOP);
    return 0;
  });
  EXPECT_THAT(pid, SyscallSucceeds());
  if (pid < 0) return -1;
  int status = 0;
  EXPECT_THAT(waitpid(pid, &status, WUNTRACED), SyscallSucceedsWithValue(pid));
  EXPECT_TRUE(WIFSTOPPED(status)) << "status " << status;
  EXPECT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
  EXPECT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
  EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
  sigset_t set = SetOf({SIGCHLD});
  siginfo_t info = {};
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&set, &info, &zero);
  EXPECT_EQ(sig, SIGCHLD) << "no SIGCHLD pending: " << DescribeErrno(errno);
  return sig == SIGCHLD ? info.si_code : -1;
}

IPC_TEST(SignalSigchld, SentWithCldStoppedWhenAChildStops, "signal.sigchld-on-child-stop") {
  Child c = Child::Spawn([&] { EXPECT_EQ(FirstSigchldCodeAcrossStopContinueExit(0), CLD_STOPPED); },
                         {.what = "stopping a grandchild with a SIGCHLD handler"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigchld, SaNocldstopSuppressesStopAndContinueNotifications, "signal.sa-nocldstop") {
  Child c = Child::Spawn(
      [&] {
        EXPECT_EQ(FirstSigchldCodeAcrossStopContinueExit(SA_NOCLDSTOP), CLD_EXITED)
            << "a SIGCHLD was sent for the stop or the continue despite SA_NOCLDSTOP";
      },
      {.what = "stopping a grandchild with an SA_NOCLDSTOP handler"});
  c.ExpectExited(0);
}

// With SIGCHLD set up by `setup` (SA_NOCLDWAIT handler or SIG_IGN), the Child forks a grandchild that
// lives until the test process closes `release`, and waits for any child: wait blocks while the
// grandchild lives, and then fails with ECHILD because no zombie is left.
void ExpectWaitBlocksThenEchild(const std::function<void()>& setup) {
  ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        release.write.Close();
        setup();
        pid_t pid = ForkRaw(ExitAfterEof(release.read.get(), -1, 0));
        ASSERT_THAT(pid, SyscallSucceeds());
        int status = 0;
        EXPECT_THAT(waitpid(-1, &status, 0), SyscallFailsWithErrno(ECHILD));
        EXPECT_THAT(waitpid(pid, &status, WNOHANG), SyscallFailsWithErrno(ECHILD));
      },
      {.what = "waiting for a grandchild that leaves no zombie"});
  ASSERT_TRUE(WaitUntilBlockedInWait(c.pid())) << "wait did not block while a child was alive";
  ASSERT_THAT(release.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalSigchld, SaNocldwaitLeavesNoZombieAndWaitFailsWithEchild, "signal.sa-nocldwait") {
  ExpectWaitBlocksThenEchild([] {
    struct sigaction act = {};
    act.sa_handler = [](int) {};
    act.sa_flags = SA_NOCLDWAIT;
    sigemptyset(&act.sa_mask);
    ASSERT_THAT(sigaction(SIGCHLD, &act, nullptr), SyscallSucceeds());
  });
}

IPC_TEST(SignalSigchld, SigIgnLeavesNoZombieAndWaitFailsWithEchild, "signal.sigchld-ign-no-zombies") {
  ExpectWaitBlocksThenEchild([] { ASSERT_NE(signal(SIGCHLD, SIG_IGN), SIG_ERR); });
}

IPC_TEST(SignalSigchld, SaNocldwaitStillGeneratesSigchld, "signal.sa-nocldwait-sigchld") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter chld(SIGCHLD, SA_NOCLDWAIT);
        {
          ScopedSigmask block(SIG_BLOCK, SIGCHLD);
          pid_t pid = ForkRaw([] { return 0; });
          ASSERT_THAT(pid, SyscallSucceeds());
          EXPECT_THAT(waitpid(pid, nullptr, 0), SyscallFailsWithErrno(ECHILD));
          EXPECT_TRUE(IsSignalPending(SIGCHLD));
        }
        EXPECT_EQ(chld.count(), 1);
      },
      {.what = "forking a grandchild with an SA_NOCLDWAIT handler"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// wait(2) status decoding.

IPC_TEST(SignalWaitStatus, ExitStatusIsTheLow8Bits, "signal.wait-wifexited") {
  Child c = Child::Spawn(
      [&] {
        for (int code : {0, 1, 77, 255, 256 + 3, 0x1ff}) {
          pid_t pid = ForkRaw([code] { return code; });
          ASSERT_THAT(pid, SyscallSucceeds());
          int status = -1;
          ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
          EXPECT_TRUE(WIFEXITED(status)) << "_exit(" << code << "), status " << status;
          EXPECT_EQ(WEXITSTATUS(status), code & 0xff) << "_exit(" << code << ")";
          EXPECT_FALSE(WIFSIGNALED(status));
          EXPECT_FALSE(WIFSTOPPED(status));
        }
      },
      {.what = "collecting the exit statuses of grandchildren"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, ChildKilledBySigpipeIsDecoded, "signal.wait-wifsignaled") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([&] {
          signal(SIGPIPE, SIG_DFL);
          sigset_t set = SetOf({SIGPIPE});
          sigprocmask(SIG_UNBLOCK, &set, nullptr);
          (void)!write(p.write.get(), "x", 1);
          return 0;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        int status = 0;
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
        EXPECT_EQ(WTERMSIG(status), SIGPIPE);
        EXPECT_FALSE(WIFEXITED(status));
        EXPECT_FALSE(WIFSTOPPED(status));
        EXPECT_FALSE(WCOREDUMP(status));
      },
      {.what = "collecting a grandchild killed by SIGPIPE"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, StoppedChildIsReportedOnlyWithWuntraced, "signal.wait-wifstopped",
         "signal.waitpid-default-terminated-only") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid_t pid = ForkRaw([&] {
          close(hold.write.get());
          raise(SIGSTOP);
          return ExitAfterEof(hold.read.get(), -1, 3)();
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        hold.read.Close();
        // Wait until it has stopped, without consuming the event.
        siginfo_t info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WSTOPPED | WNOWAIT), SyscallSucceeds());
        EXPECT_EQ(info.si_code, CLD_STOPPED);
        int status = 0;
        EXPECT_THAT(waitpid(pid, &status, WNOHANG), SyscallSucceedsWithValue(0))
            << "waitpid without WUNTRACED reported the stopped child";
        ASSERT_THAT(waitpid(pid, &status, WUNTRACED), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFSTOPPED(status)) << "status " << status;
        EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
        EXPECT_FALSE(WIFEXITED(status));
        EXPECT_FALSE(WIFSIGNALED(status));
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        hold.write.Close();
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "status " << status;
      },
      {.what = "collecting a stopped grandchild"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, ContinuedChildIsReportedWithWcontinued, "signal.wait-wifcontinued") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid_t pid = ForkRaw([&] {
          close(hold.write.get());
          raise(SIGSTOP);
          return ExitAfterEof(hold.read.get(), -1, 4)();
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        hold.read.Close();
        int status = 0;
        ASSERT_THAT(waitpid(pid, &status, WUNTRACED), SyscallSucceedsWithValue(pid));
        ASSERT_TRUE(WIFSTOPPED(status)) << "status " << status;
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        // It now waits for end of file on `hold`: the continue is the only state change.
        ASSERT_THAT(waitpid(pid, &status, WCONTINUED), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFCONTINUED(status)) << "status " << status;
        EXPECT_FALSE(WIFSTOPPED(status));
        EXPECT_FALSE(WIFEXITED(status));
        EXPECT_FALSE(WIFSIGNALED(status));
        hold.write.Close();
        ASSERT_THAT(waitpid(pid, &status, WCONTINUED), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4) << "status " << status;
      },
      {.what = "collecting a continued grandchild"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, WnohangReturnsZeroForARunningChild, "signal.wait-wnohang") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid_t pid = ForkRaw(ExitAfterEof(hold.read.get(), hold.write.get(), 5));
        ASSERT_THAT(pid, SyscallSucceeds());
        int status = -1;
        EXPECT_THAT(waitpid(pid, &status, WNOHANG), SyscallSucceedsWithValue(0));
        EXPECT_THAT(waitpid(-1, &status, WNOHANG), SyscallSucceedsWithValue(0));
        hold.write.Close();
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 5) << "status " << status;
      },
      {.what = "polling a running grandchild with WNOHANG"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, WaitidWnohangZeroesSiPid, "signal.waitid-wnohang-zeroes-pid") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid_t pid = ForkRaw(ExitAfterEof(hold.read.get(), hold.write.get(), 5));
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t info;
        memset(&info, 0x5a, sizeof info);
        EXPECT_THAT(waitid(P_PID, pid, &info, WEXITED | WNOHANG), SyscallSucceedsWithValue(0));
        EXPECT_EQ(info.si_pid, 0);
        EXPECT_EQ(info.si_signo, 0);
        hold.write.Close();
        ASSERT_THAT(waitpid(pid, nullptr, 0), SyscallSucceedsWithValue(pid));
      },
      {.what = "polling a running grandchild with waitid(WNOHANG)"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, WaitidReportsExitAndKill, "signal.waitid-siginfo") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 17; });
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED), SyscallSucceedsWithValue(0));
        EXPECT_EQ(info.si_pid, pid);
        EXPECT_EQ(info.si_signo, SIGCHLD);
        EXPECT_EQ(info.si_code, CLD_EXITED);
        EXPECT_EQ(info.si_status, 17);
        EXPECT_EQ(info.si_uid, getuid());

        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid = ForkRaw(ExitAfterEof(hold.read.get(), hold.write.get(), 0));
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_THAT(kill(pid, SIGTERM), SyscallSucceeds());
        info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED), SyscallSucceedsWithValue(0));
        EXPECT_EQ(info.si_pid, pid);
        EXPECT_EQ(info.si_signo, SIGCHLD);
        EXPECT_EQ(info.si_code, CLD_KILLED);
        EXPECT_EQ(info.si_status, SIGTERM);
      },
      {.what = "collecting grandchildren with waitid"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitStatus, WaitidWnowaitLeavesTheChildWaitable, "signal.waitid-wnowait") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 6; });
        ASSERT_THAT(pid, SyscallSucceeds());
        for (int i = 0; i < 2; ++i) {
          siginfo_t info = {};
          ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), SyscallSucceedsWithValue(0));
          EXPECT_EQ(info.si_pid, pid);
          EXPECT_EQ(info.si_code, CLD_EXITED);
          EXPECT_EQ(info.si_status, 6);
        }
        int status = 0;
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 6) << "status " << status;
        EXPECT_THAT(waitpid(pid, &status, WNOHANG), SyscallFailsWithErrno(ECHILD));
      },
      {.what = "peeking at a grandchild's status with WNOWAIT"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// wait(2) errors.

IPC_TEST(SignalWaitErrors, EchildWithoutChildrenOrForANonChild, "signal.wait-echild") {
  Child c = Child::Spawn(
      [&] {
        int status;
        EXPECT_THAT(wait(&status), SyscallFailsWithErrno(ECHILD));
        EXPECT_THAT(waitpid(-1, &status, WNOHANG), SyscallFailsWithErrno(ECHILD));
        // The parent is not a child.
        EXPECT_THAT(waitpid(getppid(), &status, 0), SyscallFailsWithErrno(ECHILD));
        // Nor is a child already waited for.
        pid_t pid = ForkRaw([] { return 0; });
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_THAT(wait(&status), SyscallSucceedsWithValue(pid));
        EXPECT_THAT(waitpid(pid, &status, 0), SyscallFailsWithErrno(ECHILD));
        EXPECT_THAT(wait(&status), SyscallFailsWithErrno(ECHILD));
      },
      {.what = "waiting without children"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitErrors, EsrchForIntMin, "signal.waitpid-esrch-int-min") {
  Child c = Child::Spawn(
      [&] {
        int status;
        EXPECT_THAT(waitpid(INT_MIN, &status, WNOHANG), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(waitpid(INT_MIN, &status, 0), SyscallFailsWithErrno(ESRCH));
      },
      {.what = "waitpid(INT_MIN)"});
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitErrors, EinvalForInvalidOptions, "signal.wait-einval-options") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        pid_t pid = ForkRaw(ExitAfterEof(hold.read.get(), hold.write.get(), 0));
        ASSERT_THAT(pid, SyscallSucceeds());
        int status;
        // A bit that is no wait option.
        EXPECT_THAT(waitpid(pid, &status, WNOHANG | 0x100), SyscallFailsWithErrno(EINVAL));
        // waitid needs at least one of WEXITED, WSTOPPED, WCONTINUED.
        siginfo_t info = {};
        EXPECT_THAT(waitid(P_PID, pid, &info, WNOHANG), SyscallFailsWithErrno(EINVAL));
        hold.write.Close();
        ASSERT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
      },
      {.what = "waiting with invalid options"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
