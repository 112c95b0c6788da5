// kill(2): the four kinds of pid (> 0, 0, -1 in signal_pidns_test.cc, < -1), signal 0 as an existence and
// permission probe, zombies, the permission rule (same user, SIGCONT within a session) and the errors
// EINVAL, ESRCH and EPERM. Rules in suite/rules/signal-delivery.ini.
//
// Every test that changes dispositions runs in a Child that forks its own grandchildren with fork(2)
// (signal_util::ForkRaw) and collects them with waitpid(2); a grandchild that must stay alive waits for
// end of file on a pipe (ForkWaiter).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

// A Child that blocks until end of file on `p` (the test closes its write end), then exits 0.
Child SpawnWaiter(const Pipe& p, const char* what) {
  int rfd = p.read.get(), wfd = p.write.get();
  return Child::Spawn(
      [=] {
        close(wfd);
        char b;
        ssize_t n;
        while ((n = read(rfd, &b, 1)) < 0 && errno == EINTR) {
        }
        ASSERT_EQ(n, 0) << "the waiter expected end of file";
      },
      {.what = what});
}

IPC_TEST(SignalKill, PositivePidSignalsThatProcessOnly, "signal.kill-positive-pid") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t a = ForkWaiter(p);
        ASSERT_THAT(a, SyscallSucceeds());
        pid_t b = ForkWaiter(p);
        ASSERT_THAT(b, SyscallSucceeds());
        ASSERT_THAT(kill(a, SIGTERM), SyscallSucceeds());
        ExpectReapedKilledBy(a, SIGTERM);
        // The other process of the same group was not touched.
        p.write.Close();
        ExpectReapedExit(b);
      },
      {.what = "killing one of two waiting grandchildren"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, SiginfoSaysSiUserWithTheSendersPidAndUid, "signal.kill-si-user") {
  Child c = Child::Spawn(
      [&] {
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1);
        EXPECT_EQ(rec->signo.load(), SIGUSR1);
        EXPECT_EQ(rec->code.load(), SI_USER);
        EXPECT_EQ(rec->pid.load(), getpid());
        EXPECT_EQ(rec->uid.load(), static_cast<long>(getuid()));
      },
      {.what = "sending SIGUSR1 to itself with kill"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, PidZeroSignalsEveryProcessOfTheCallersGroup, "signal.kill-pid-zero-group") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t same1 = ForkWaiter(p);
        ASSERT_THAT(same1, SyscallSucceeds());
        pid_t same2 = ForkWaiter(p);
        ASSERT_THAT(same2, SyscallSucceeds());
        pid_t other = ForkWaiter(p);
        ASSERT_THAT(other, SyscallSucceeds());
        ASSERT_THAT(setpgid(other, other), SyscallSucceeds());
        RecordSignal rec(SIGUSR1);  // after the forks: the grandchildren keep SIG_DFL
        ASSERT_TRUE(rec.ok());
        ASSERT_THAT(kill(0, SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(rec->count.load(), 1) << "the caller is in its own group and gets the signal too";
        for (pid_t pid : {same1, same2}) {
          ExpectReapedKilledBy(pid, SIGUSR1);
        }
        p.write.Close();
        ExpectReapedExit(other, 0, " (a process of another group was signalled)");
      },
      {.what = "kill(0, SIGUSR1) with two grandchildren in the group and one outside"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, NegativePidSignalsEveryProcessOfThatGroup, "signal.kill-negative-pgid") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t leader = ForkWaiter(p);
        ASSERT_THAT(leader, SyscallSucceeds());
        ASSERT_THAT(setpgid(leader, leader), SyscallSucceeds());
        pid_t member = ForkWaiter(p);
        ASSERT_THAT(member, SyscallSucceeds());
        ASSERT_THAT(setpgid(member, leader), SyscallSucceeds());
        pid_t outsider = ForkWaiter(p);  // stays in the caller's group
        ASSERT_THAT(outsider, SyscallSucceeds());
        RecordSignal rec(SIGUSR1);
        ASSERT_TRUE(rec.ok());
        ASSERT_THAT(kill(-leader, SIGUSR1), SyscallSucceeds());
        for (pid_t pid : {leader, member}) {
          ExpectReapedKilledBy(pid, SIGUSR1);
        }
        p.write.Close();
        ExpectReapedExit(outsider);
        EXPECT_EQ(rec->count.load(), 0) << "the caller is not in the signalled group";
      },
      {.what = "kill(-pgid, SIGUSR1) with a group of two"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, SignalZeroProbesWithoutSending, "signal.kill-sig-zero-probe") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        pid_t pid = ForkWaiter(p, 7);
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_THAT(kill(pid, 0), SyscallSucceeds());
        ASSERT_THAT(kill(-pid, 0), SyscallFailsWithErrno(ESRCH)) << "pid is not a group leader";
        ASSERT_THAT(kill(0, 0), SyscallSucceeds());
        p.write.Close();
        ExpectReapedExit(pid, 7);
        // The caller itself got nothing either.
        sigset_t pend;
        ASSERT_THAT(sigpending(&pend), SyscallSucceeds());
        EXPECT_TRUE(sigisemptyset(&pend));
      },
      {.what = "probing a live grandchild with kill(pid, 0)"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, ZombieIsStillATarget, "signal.kill-zombie-not-esrch") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 5; });
        ASSERT_THAT(pid, SyscallSucceeds());
        siginfo_t info = {};
        ASSERT_THAT(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), SyscallSucceeds());
        EXPECT_THAT(kill(pid, 0), SyscallSucceeds());
        EXPECT_THAT(kill(pid, SIGKILL), SyscallSucceeds());
        ExpectReapedExit(pid, 5, " (the zombie's status changed)");
      },
      {.what = "signalling an unreaped zombie"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, ReapedProcessIsEsrch, "signal.kill-esrch") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 0; });
        ASSERT_THAT(pid, SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_THAT(kill(pid, 0), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(kill(pid, SIGTERM), SyscallFailsWithErrno(ESRCH));
        // A pid above pid_max never names a process.
        EXPECT_THAT(kill(INT_MAX, 0), SyscallFailsWithErrno(ESRCH));
      },
      {.what = "signalling a reaped grandchild"});
  c.ExpectExited(0);
}

IPC_TEST(SignalKill, GroupWithoutMembersIsEsrch, "signal.kill-esrch") {
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([] { return 0; });
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_THAT(setpgid(pid, pid), SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, 0), SyscallSucceedsWithValue(pid));
        EXPECT_THAT(kill(-pid, 0), SyscallFailsWithErrno(ESRCH));
        EXPECT_THAT(kill(-pid, SIGTERM), SyscallFailsWithErrno(ESRCH));
      },
      {.what = "signalling the group of a reaped group leader"});
  c.ExpectExited(0);
}

struct KillEinvalRow {
  const char* name;
  rules::RuleList rules;
  int sig;
};
const KillEinvalRow kKillEinval[] = {
    {"SignalNsig", {}, NSIG},
    {"SignalAboveNsig", {}, NSIG + 1},
    {"NegativeSignal", {}, -1},
    {"SignalIntMax", {}, INT_MAX},
};
class SignalKillEinval : public ::testing::TestWithParam<KillEinvalRow> {};
IPC_TEST_P(SignalKillEinval, FailsForAnInvalidSignalNumber, "signal.kill-einval") {
  const KillEinvalRow& row = GetParam();
  EXPECT_THAT(kill(getpid(), row.sig), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(kill(0, row.sig), SyscallFailsWithErrno(EINVAL));
}
IPC_INSTANTIATE_TABLE(Table, SignalKillEinval, kKillEinval);

IPC_TEST(SignalKill, UnprivilegedCallerGetsEpermForAnotherUsersProcess, "signal.kill-eperm") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child target = SpawnWaiter(p, "waiting as root to be signalled");
  pid_t tpid = target.pid();
  Child sender = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(kill(tpid, SIGTERM), SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(kill(tpid, 0), SyscallFailsWithErrno(EPERM)) << "signal 0 checks permission too";
        EXPECT_THAT(kill(-tpid, SIGTERM), SyscallFailsWithErrno(EPERM))
            << "nobody of the group may be signalled";
      },
      {.what = "signalling a root process as uid 65534"});
  sender.ExpectExited(0);
  p.write.Close();
  target.ExpectExited(0);
}

IPC_TEST(SignalKill, SameUserMaySignalWithoutPrivilege, "signal.kill-permission-same-uid") {
  IPC_REQUIRE_OTHER_USERS("to run two processes as uid 65534");
  ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  int rfd = release.read.get(), wfd = release.write.get(), readyw = ready.write.get();
  Child target = Child::SpawnWithExitCode(
      [=] {
        close(wfd);
        if (!isolation::DropPrivileges()) return 3;
        if (write(readyw, "r", 1) != 1) return 4;
        char b;
        while (read(rfd, &b, 1) < 0 && errno == EINTR) {
        }
        return 0;
      },
      {.what = "waiting as uid 65534 to be signalled"});
  ready.write.Close();
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  pid_t tpid = target.pid();
  Child sender = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(kill(tpid, 0), SyscallSucceeds());
        EXPECT_THAT(kill(tpid, SIGUSR1), SyscallSucceeds());
      },
      {.what = "signalling a process of the same user as uid 65534"});
  sender.ExpectExited(0);
  target.ExpectKilledBy(SIGUSR1);
}

IPC_TEST(SignalKill, SigcontMayBeSentToAnyProcessOfTheSameSession, "signal.kill-sigcont-same-session") {
  IPC_REQUIRE_OTHER_USERS("to signal a root process as uid 65534");
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child target = SpawnWaiter(p, "waiting as root in the test's session");
  pid_t tpid = target.pid();
  Child sender = Child::Spawn(
      [&] {
        ASSERT_EQ(getsid(0), getsid(tpid)) << "the premise: both in one session";
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(kill(tpid, SIGCONT), SyscallSucceeds());
        EXPECT_THAT(kill(tpid, SIGUSR1), SyscallFailsWithErrno(EPERM)) << "only SIGCONT is exempt";
      },
      {.what = "sending SIGCONT to a root process of the same session as uid 65534"});
  sender.ExpectExited(0);
  p.write.Close();
  target.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
