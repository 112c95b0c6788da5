// Stop and continue: a signal sent to a stopped process stays pending until SIGCONT, SIGKILL ends a stopped
// process, SIGCONT discards pending stop signals and a stop signal discards a pending SIGCONT, SIGCONT
// continues even when ignored and blocked, and the parent's view: SIGCHLD with CLD_STOPPED/CLD_CONTINUED,
// waitid(2) with WSTOPPED/WCONTINUED. Rules in suite/rules/signal-delivery.ini.
//
// The stopped process is a grandchild (signal_util::ForkRaw) of a Child that collects it with the wait calls.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

int g_note_fd = -1;
void NoteHandler(int) { (void)!write(g_note_fd, "h", 1); }

// Grandchild body: set up with `setup`, say ready on `ready_fd`, then wait for end of file on `release_fd`
// (closing `close_fd`, the caller's write end) and exit 0.
std::function<int()> ReadyThenWait(int ready_fd, int release_fd, int close_fd, std::function<void()> setup) {
  return [=] {
    close(close_fd);
    setup();
    if (write(ready_fd, "r", 1) != 1) return 120;
    char b;
    ssize_t n;
    while ((n = read(release_fd, &b, 1)) < 0 && errno == EINTR) {
    }
    return n == 0 ? 0 : 121;
  };
}

// Stops `pid` with `sig` and waits until waitpid(WUNTRACED) reports it.
void StopAndWait(pid_t pid, int sig = SIGSTOP) {
  ASSERT_THAT(kill(pid, sig), SyscallSucceeds());
  int st = 0;
  ASSERT_THAT(WaitPid(pid, &st, WUNTRACED), SyscallSucceedsWithValue(pid));
  ASSERT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == sig) << "status " << st;
}

IPC_TEST(SignalStop, SignalToAStoppedProcessWaitsForSigcont, "signal.stopped-pending-until-cont") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it runs signal handlers at its own safe points, not when the continued process receives the signal");
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe note, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        int note_w = note.write.get();
        pid_t pid = ForkRaw(ReadyThenWait(ready.write.get(), release.read.get(), release.write.get(), [=] {
          g_note_fd = note_w;
          (void)InstallHandler(SIGUSR1, NoteHandler, SA_RESTART);
        }));
        ASSERT_THAT(pid, SyscallSucceeds());
        note.write.Close();
        char b;
        ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        StopAndWait(pid);
        ASSERT_THAT(kill(pid, SIGUSR1), SyscallSucceeds());
        std::optional<uint64_t> pending = ProcStatusSigset(pid, "ShdPnd");
        ASSERT_TRUE(pending.has_value());
        EXPECT_NE(*pending & SigBit(SIGUSR1), 0u) << "SIGUSR1 is not pending in the stopped process";
        ASSERT_THAT(fcntl(note.read.get(), F_SETFL, O_NONBLOCK), SyscallSucceeds());
        EXPECT_THAT(read(note.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN))
            << "the handler ran while stopped";
        ASSERT_THAT(fcntl(note.read.get(), F_SETFL, 0), SyscallSucceeds());
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        EXPECT_THAT(read(note.read.get(), &b, 1), SyscallSucceedsWithValue(1)) << "the handler never ran";
        release.write.Close();
        ExpectReapedExit(pid);
      },
      {.what = "signalling a stopped grandchild, then continuing it"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, SigkillEndsAStoppedProcess, "signal.sigkill-stopped") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = signal_util::ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        StopAndWait(pid);
        ASSERT_THAT(kill(pid, SIGKILL), SyscallSucceeds());
        ExpectReapedKilledBy(pid, SIGKILL);
      },
      {.what = "killing a stopped grandchild"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, SigcontDiscardsPendingStopSignals, "signal.sigcont-discards-pending-stop") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        pid_t pid = ForkRaw(ReadyThenWait(ready.write.get(), release.read.get(), release.write.get(), [] {
          sigset_t s = SetOf({SIGTSTP, SIGTTIN});
          sigprocmask(SIG_BLOCK, &s, nullptr);
        }));
        ASSERT_THAT(pid, SyscallSucceeds());
        char b;
        ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        ASSERT_THAT(kill(pid, SIGTSTP), SyscallSucceeds());
        ASSERT_THAT(kill(pid, SIGTTIN), SyscallSucceeds());
        std::optional<uint64_t> pending = ProcStatusSigset(pid, "ShdPnd");
        ASSERT_TRUE(pending.has_value());
        ASSERT_EQ(*pending & (SigBit(SIGTSTP) | SigBit(SIGTTIN)), SigBit(SIGTSTP) | SigBit(SIGTTIN))
            << "the premise: both stop signals pending while blocked";
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        pending = ProcStatusSigset(pid, "ShdPnd");
        ASSERT_TRUE(pending.has_value());
        EXPECT_EQ(*pending & (SigBit(SIGTSTP) | SigBit(SIGTTIN)), 0u)
            << "stop signals still pending after SIGCONT";
        release.write.Close();
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, WUNTRACED), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
      },
      {.what = "sending SIGCONT to a grandchild with stop signals pending"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, StopSignalDiscardsAPendingSigcont, "signal.stop-discards-pending-sigcont") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        pid_t pid = ForkRaw(ReadyThenWait(ready.write.get(), release.read.get(), release.write.get(), [] {
          sigset_t s = SetOf({SIGCONT});
          sigprocmask(SIG_BLOCK, &s, nullptr);
        }));
        ASSERT_THAT(pid, SyscallSucceeds());
        char b;
        ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        std::optional<uint64_t> pending = ProcStatusSigset(pid, "ShdPnd");
        ASSERT_TRUE(pending.has_value());
        ASSERT_NE(*pending & SigBit(SIGCONT), 0u) << "the premise: SIGCONT pending while blocked";
        StopAndWait(pid);
        pending = ProcStatusSigset(pid, "ShdPnd");
        ASSERT_TRUE(pending.has_value());
        EXPECT_EQ(*pending & SigBit(SIGCONT), 0u) << "SIGCONT still pending after a stop signal";
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        release.write.Close();
        ExpectReapedExit(pid);
      },
      {.what = "stopping a grandchild with SIGCONT pending"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, SigcontContinuesEvenWhenIgnoredAndBlocked, "signal.sigcont-continues-ignored-blocked") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        pid_t pid = ForkRaw(ReadyThenWait(ready.write.get(), release.read.get(), release.write.get(), [] {
          signal(SIGCONT, SIG_IGN);
          sigset_t s = SetOf({SIGCONT});
          sigprocmask(SIG_BLOCK, &s, nullptr);
        }));
        ASSERT_THAT(pid, SyscallSucceeds());
        char b;
        ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        StopAndWait(pid);
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, WCONTINUED), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFCONTINUED(st)) << "status " << st;
        release.write.Close();
        ExpectReapedExit(pid);
      },
      {.what = "continuing a grandchild that ignores and blocks SIGCONT"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, SigchldSaysCldStoppedThenCldContinued, "signal.sigchld-cld-stopped-continued") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGCHLD);
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = signal_util::ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        sigset_t chld = SetOf({SIGCHLD});
        ASSERT_THAT(kill(pid, SIGTSTP), SyscallSucceeds());
        siginfo_t si = {};
        ASSERT_THAT(sigwaitinfo(&chld, &si), SyscallSucceedsWithValue(SIGCHLD));
        EXPECT_EQ(si.si_code, CLD_STOPPED);
        EXPECT_EQ(si.si_status, SIGTSTP);
        EXPECT_EQ(si.si_pid, pid);
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        si = {};
        ASSERT_THAT(sigwaitinfo(&chld, &si), SyscallSucceedsWithValue(SIGCHLD));
        EXPECT_EQ(si.si_code, CLD_CONTINUED);
        EXPECT_EQ(si.si_status, SIGCONT);
        EXPECT_EQ(si.si_pid, pid);
        p.write.Close();
        ExpectReapedExit(pid);
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&chld, nullptr, &zero);  // the exit's SIGCHLD
      },
      {.what = "taking SIGCHLD for a grandchild's stop and continue"});
  c.ExpectExited(0);
}

IPC_TEST(SignalStop, WaitidReportsStoppedAndContinued, "signal.waitid-wstopped-wcontinued") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = signal_util::ForkWaiter(p);
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_THAT(kill(pid, SIGTTOU), SyscallSucceeds());
        siginfo_t si = {};
        ASSERT_THAT(waitid(P_PID, static_cast<id_t>(pid), &si, WSTOPPED), SyscallSucceeds());
        EXPECT_EQ(si.si_pid, pid);
        EXPECT_EQ(si.si_code, CLD_STOPPED);
        EXPECT_EQ(si.si_status, SIGTTOU);
        // Reported once: a second WSTOPPED | WNOHANG finds nothing.
        si = {};
        ASSERT_THAT(waitid(P_PID, static_cast<id_t>(pid), &si, WSTOPPED | WNOHANG), SyscallSucceeds());
        EXPECT_EQ(si.si_pid, 0);
        ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
        si = {};
        ASSERT_THAT(waitid(P_PID, static_cast<id_t>(pid), &si, WCONTINUED), SyscallSucceeds());
        EXPECT_EQ(si.si_pid, pid);
        EXPECT_EQ(si.si_code, CLD_CONTINUED);
        EXPECT_EQ(si.si_status, SIGCONT);
        p.write.Close();
        ExpectReapedExit(pid);
      },
      {.what = "waitid on a grandchild's stop and continue"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
