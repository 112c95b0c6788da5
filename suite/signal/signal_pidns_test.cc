// pid_namespaces(7) and signals: a namespace's init gets only the signals it has a handler for, from inside
// its namespace and from an ancestor (where si_pid reads 0), except SIGKILL and SIGSTOP from an ancestor;
// its death kills the namespace; kill(2) with pid -1 (every process the caller may signal, except init and
// itself), tested only inside a new PID namespace so that nothing outside the test is signalled;
// pidfd_send_signal(2) to a process outside the caller's namespace (EINVAL). Rules in
// suite/rules/signal-delivery.ini.
//
// Each test's Child calls unshare(CLONE_NEWPID) and forks the namespace's init (pid 1 there). Processes in
// the namespace make no gtest assertions: their result is their exit status. Skips when a PID namespace
// cannot be made (IPC_REQUIRE_NEW_PID_NAMESPACE names why).
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

// fork(2) inside the namespace (no ForkRaw: its parent check needs getppid, fine here, but keep it plain).
pid_t ForkPlain(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  return pid;
}

int WaitExitCode(pid_t pid) {
  int st = 0;
  if (WaitPid(pid, &st, 0) != pid) return 200;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

void DefaultDisposition(int sig) { (void)InstallHandler(sig, SIG_DFL); }

// Waits for end of file on `fd`.
void WaitEof(int fd) {
  char b;
  while (read(fd, &b, 1) != 0) {
    if (errno != EINTR) break;
  }
}

IPC_TEST(SignalPidNamespace, InitIgnoresSignalsWithoutHandlerFromInside,
         "signal.pidns-init-unhandled-ignored") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        pid_t init = ForkInitOfNewPidNamespace([] {
          for (int sig : {SIGTERM, SIGUSR1, SIGINT}) DefaultDisposition(sig);
          pid_t member = ForkPlain([] {
            for (int sig : {SIGTERM, SIGUSR1, SIGINT, SIGKILL})
              if (kill(1, sig) != 0) return 10;  // accepted, and dropped
            return 0;
          });
          if (member < 0) return 20;
          int code = WaitExitCode(member);
          return code;  // init is still alive to say so
        });
        ASSERT_THAT(init, SyscallSucceeds());
        ExpectReapedExit(init, 0, " (10: kill failed)");
      },
      {.what = "signalling a PID namespace's init from inside without a handler"});
  c.ExpectExited(0);
}

std::atomic<int> g_init_usr1{0};
std::atomic<long> g_init_usr1_pid{-1};
void InitUsr1(int, siginfo_t* info, void*) {
  g_init_usr1.fetch_add(1);
  g_init_usr1_pid = info->si_pid;
}

void InstallInitUsr1() { (void)InstallSiginfoHandler(SIGUSR1, InitUsr1, SA_RESTART); }

IPC_TEST(SignalPidNamespace, InitWithAHandlerGetsTheSignalFromInside, "signal.pidns-init-handled-delivered") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        pid_t init = ForkInitOfNewPidNamespace([] {
          InstallInitUsr1();
          pid_t member = ForkPlain([] { return kill(1, SIGUSR1) == 0 ? 0 : 10; });
          if (member < 0) return 20;
          int code = WaitExitCode(member);
          if (code != 0) return code;
          if (g_init_usr1.load() != 1) return 11;
          return g_init_usr1_pid.load() == member ? 0 : 12;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        ExpectReapedExit(init, 0, " (10 kill failed, 11 handler count, 12 si_pid)");
      },
      {.what = "signalling a PID namespace's init that has a handler, from inside"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidNamespace, FromAnAncestorOnlyHandledSignalsReachInit, "signal.pidns-init-unhandled-ignored",
         "signal.pidns-ancestor-si-pid-zero") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        int rw = ready.write.get(), rr = release.read.get(), rel_w = release.write.get();
        pid_t init = ForkInitOfNewPidNamespace([=] {
          close(rel_w);
          DefaultDisposition(SIGTERM);
          InstallInitUsr1();
          if (write(rw, "r", 1) != 1) return 30;
          WaitEof(rr);
          if (g_init_usr1.load() != 1) return 11;
          return g_init_usr1_pid.load() == 0 ? 0 : 12;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        char b;
        ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        ASSERT_THAT(kill(init, SIGTERM), SyscallSucceeds());  // no handler: dropped
        ASSERT_THAT(kill(init, SIGUSR1), SyscallSucceeds());  // handler: delivered
        release.write.Close();
        ExpectReapedExit(init, 0, " (11 handler count, 12 si_pid not 0)");
      },
      {.what = "signalling a PID namespace's init from the parent namespace"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidNamespace, SigkillAndSigstopFromAnAncestorReachInit,
         "signal.pidns-init-sigkill-sigstop-from-ancestor") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
        int rr = release.read.get(), rel_w = release.write.get();
        pid_t init = ForkInitOfNewPidNamespace([=] {
          close(rel_w);
          WaitEof(rr);
          return 0;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        ASSERT_THAT(kill(init, SIGSTOP), SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(init, &st, WUNTRACED), SyscallSucceedsWithValue(init));
        EXPECT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP) << "status " << st;
        ASSERT_THAT(kill(init, SIGKILL), SyscallSucceeds());
        ExpectReapedKilledBy(init, SIGKILL);
      },
      {.what = "stopping and killing a PID namespace's init from the parent namespace"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidNamespace, InitsDeathKillsTheOtherMembers, "signal.pidns-init-exit-kills-members") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe alive, Pipe::Create());    // member holds the write end
        ASSERT_OK_AND_ASSIGN(Pipe forever, Pipe::Create());  // the member waits on it; never closed here
        ASSERT_OK_AND_ASSIGN(Pipe go, Pipe::Create());       // init exits when this one is closed
        int aw = alive.write.get(), fr = forever.read.get(), fw = forever.write.get();
        int gr = go.read.get(), gw = go.write.get();
        pid_t init = ForkInitOfNewPidNamespace([=] {
          close(gw);
          pid_t member = ForkPlain([=] {
            close(fw);
            if (write(aw, "r", 1) != 1) return 30;
            WaitEof(fr);
            return 31;  // only when released, which the test never does
          });
          if (member < 0) return 20;
          close(aw);
          WaitEof(gr);
          return 0;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        alive.write.Close();
        char b;
        ASSERT_THAT(read(alive.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        go.write.Close();
        ExpectReapedExit(init);
        // The member still held the write end: end of file means it is gone.
        EXPECT_THAT(read(alive.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "ending a PID namespace's init while another member waits"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidNamespace, KillMinusOneSignalsEveryoneButInitAndTheCaller, "signal.kill-minus-one-all") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        RecordSignal outside(SIGUSR1);  // the Child, outside the namespace, must not be reached
        ASSERT_TRUE(outside.ok());
        ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
        int hr = hold.read.get(), hw = hold.write.get();
        pid_t init = ForkInitOfNewPidNamespace([=] {
          close(hw);
          DefaultDisposition(SIGUSR1);  // the members start with SIG_DFL
          pid_t a = ForkPlain([=] {
            WaitEof(hr);
            return 0;
          });
          pid_t b = ForkPlain([=] {
            WaitEof(hr);
            return 0;
          });
          if (a < 0 || b < 0) return 20;
          InstallInitUsr1();
          pid_t sender = ForkPlain([] {
            InstallInitUsr1();  // its own counter (a copy of init's, at 0)
            if (kill(-1, SIGUSR1) != 0) return 10;
            return g_init_usr1.load() == 0 ? 0 : 11;
          });
          if (sender < 0) return 21;
          int code = WaitExitCode(sender);
          // A member that survived would wait forever: end it with SIGTERM (one SIGUSR1 killed already
          // reports SIGUSR1).
          kill(a, SIGTERM);
          kill(b, SIGTERM);
          if (code != 0) return code;
          if (WaitExitCode(a) != 128 + SIGUSR1) return 12;
          if (WaitExitCode(b) != 128 + SIGUSR1) return 13;
          return g_init_usr1.load() == 0 ? 0 : 14;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        // hold's write end stays open here: the members end only by a signal.
        ExpectReapedExit(
            init, 0,
            " (10 kill failed, 11 sent to itself, 12/13 a member was not killed by SIGUSR1, 14 init got "
            "it)");
        EXPECT_EQ(outside->count.load(), 0) << "kill(-1) left the namespace";
      },
      {.what = "kill(-1, SIGUSR1) inside a new PID namespace"});
  c.ExpectExited(0);
}

IPC_TEST(SignalPidNamespace, PidfdOfAProcessOutsideTheNamespaceIsEinval,
         "signal.pidfd-send-signal-einval-pidns") {
  IPC_REQUIRE_NEW_PID_NAMESPACE();
  Child c = Child::Spawn(
      [&] {
        FileDescriptor self(pidfd_open(getpid(), 0));
        ASSERT_TRUE(self.valid()) << DescribeErrno(errno);
        int fd = self.get();
        pid_t init = ForkInitOfNewPidNamespace([=] {
          if (pidfd_send_signal(fd, 0, nullptr, 0) == 0) return 10;
          return errno == EINVAL ? 0 : 11;
        });
        ASSERT_THAT(init, SyscallSucceeds());
        ExpectReapedExit(init, 0, " (10 succeeded, 11 other errno)");
        // From its own namespace the same descriptor works.
        EXPECT_THAT(pidfd_send_signal(fd, 0, nullptr, 0), SyscallSucceeds());
      },
      {.what = "pidfd_send_signal from a child PID namespace to its parent's process"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
