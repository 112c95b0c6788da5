// signal(7), sigaction(2), nptl(7), write(2) EPIPE: SIGPIPE from pipes, signal masks and pending
// signals, inheritance across fork(2) and execve(2), sigaction(2) flags and errors.
//
// Everything that changes dispositions or masks runs in a Child. Handlers are declared before the
// masks that block their signal, so that leaving a scope unblocks (and delivers to the handler) first,
// and restores the disposition afterwards.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"
#include "signal_util.h"

namespace ipc {
namespace {

using signal_util::SetOf;

using ::testing::HasSubstr;

// The calling thread's signal mask.
sigset_t CurrentMask() {
  sigset_t s;
  sigemptyset(&s);
  sigprocmask(SIG_BLOCK, nullptr, &s);
  return s;
}

// Reads until end of file (the caller closed its own write end and the writers are gone).
std::string ReadToEof(int fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A pipe whose read end is closed: every write raises SIGPIPE / fails with EPIPE.
PosixResult<Pipe> BrokenPipe() {
  auto p = Pipe::Create();
  if (p.ok()) p.value().read.Close();
  return p;
}

void Noop(int) {}

// ---------------------------------------------------------------------------------------------------
// SIGPIPE from writes to a pipe with no reader.

IPC_TEST(SignalSigpipe, DefaultActionTerminatesWithoutCoreDump, "signal.sigpipe-default-term") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  Child c = Child::Spawn(
      [&] {
        // Allow core files (in a private directory): were SIGPIPE's default action Core instead of Term,
        // the child would dump core and WCOREDUMP would say so.
        struct rlimit rl;
        if (getrlimit(RLIMIT_CORE, &rl) == 0) {
          rl.rlim_cur = rl.rlim_max;
          setrlimit(RLIMIT_CORE, &rl);
        }
        ASSERT_THAT(chdir(dir.path().c_str()), SyscallSucceeds());
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        (void)write(p.write.get(), "x", 1);
        ADD_FAILURE() << "write to a pipe with no reader returned with SIGPIPE's default action";
      },
      {.what = "writing to a pipe with no reader, SIGPIPE at its default action"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.KilledBy(SIGPIPE)) << st.Describe();
  EXPECT_FALSE(st.core_dumped) << st.Describe();
}

IPC_TEST(SignalSigpipe, CaughtOncePerWriteAndWriteFailsWithEpipe, "signal.write-epipe-sigpipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        SignalCounter pipe_signals(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(pipe_signals.count(), 1);
        EXPECT_THAT(write(p.write.get(), "yy", 2), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(pipe_signals.count(), 2);
      },
      {.what = "writing to a pipe with no reader with a SIGPIPE handler"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigpipe, BlockedStaysPendingAndWriteFailsWithEpipe, "signal.write-epipe-sigpipe",
         "signal.blocked-signal-pending") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        SignalCounter pipe_signals(SIGPIPE);
        {
          ScopedSigmask block(SIG_BLOCK, SIGPIPE);
          EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
          EXPECT_EQ(pipe_signals.count(), 0) << "a blocked SIGPIPE was delivered";
          EXPECT_TRUE(IsSignalPending(SIGPIPE));
        }  // unblocked here: the pending SIGPIPE is delivered now
        EXPECT_EQ(pipe_signals.count(), 1);
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
      },
      {.what = "writing to a pipe with no reader with SIGPIPE blocked"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigpipe, TwoWhileBlockedAreDeliveredOnce, "signal.standard-signals-not-queued") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        SignalCounter pipe_signals(SIGPIPE);
        {
          ScopedSigmask block(SIG_BLOCK, SIGPIPE);
          EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
          EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
          EXPECT_TRUE(IsSignalPending(SIGPIPE));
        }
        EXPECT_EQ(pipe_signals.count(), 1) << "two SIGPIPEs generated while blocked must be one pending";
      },
      {.what = "two writes to a pipe with no reader with SIGPIPE blocked"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Masks, pending signals and queueing.

IPC_TEST(SignalMask, ThreeKillsWhileBlockedAreDeliveredOnceWhenUnblocked, "signal.blocked-signal-pending",
         "signal.standard-signals-not-queued") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        {
          ScopedSigmask block(SIG_BLOCK, SIGUSR1);
          for (int i = 0; i < 3; ++i) ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
          EXPECT_EQ(usr1.count(), 0);
          EXPECT_TRUE(IsSignalPending(SIGUSR1));
        }
        EXPECT_EQ(usr1.count(), 1);
        EXPECT_FALSE(IsSignalPending(SIGUSR1));
      },
      {.what = "sending SIGUSR1 three times while blocked"});
  c.ExpectExited(0);
}

IPC_TEST(SignalMask, PendingStandardSignalKeepsTheFirstSiginfo, "signal.standard-siginfo-first-instance") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);  // never runs: the signal is accepted with sigtimedwait
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        union sigval first = {}, second = {};
        first.sival_int = 1111;
        second.sival_int = 2222;
        ASSERT_THAT(sigqueue(getpid(), SIGUSR1, first), SyscallSucceeds());
        ASSERT_THAT(sigqueue(getpid(), SIGUSR1, second), SyscallSucceeds());
        sigset_t set = SetOf({SIGUSR1});
        siginfo_t info = {};
        struct timespec zero = {0, 0};
        ASSERT_THAT(sigtimedwait(&set, &info, &zero), SyscallSucceedsWithValue(SIGUSR1));
        EXPECT_EQ(info.si_code, SI_QUEUE);
        EXPECT_EQ(info.si_value.sival_int, 1111)
            << "the pending siginfo was overwritten by the second instance";
        EXPECT_FALSE(IsSignalPending(SIGUSR1)) << "a second instance of a standard signal was queued";
        EXPECT_EQ(usr1.count(), 0);
      },
      {.what = "queueing SIGUSR1 twice while blocked"});
  c.ExpectExited(0);
}

constexpr int kMaxRecords = 8;
std::atomic<int> g_rt_count{0};
std::atomic<int> g_rt_signo[kMaxRecords];
std::atomic<int> g_rt_value[kMaxRecords];

void RecordRt(int sig, siginfo_t* info, void*) {
  int i = g_rt_count.fetch_add(1);
  if (i < kMaxRecords) {
    g_rt_signo[i] = sig;
    g_rt_value[i] = info->si_value.sival_int;
  }
}

IPC_TEST(SignalMask, RealTimeSignalsAreQueuedAndDeliveredInOrder, "signal.rt-queued-in-order") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it funnels asynchronous signals through its own queue, which does not keep real-time signals' count "
      "and order");
  Child c = Child::Spawn(
      [&] {
        const int lo = SIGRTMIN + 1, hi = SIGRTMIN + 2;
        ASSERT_LE(hi, SIGRTMAX);
        g_rt_count = 0;
        // Both signals blocked during the handler, so that deliveries do not nest.
        struct sigaction act = {};
        act.sa_sigaction = RecordRt;
        act.sa_flags = SA_SIGINFO;
        act.sa_mask = SetOf({lo, hi});
        ScopedSigaction a_lo(lo, act);
        ScopedSigaction a_hi(hi, act);
        ASSERT_TRUE(a_lo.ok() && a_hi.ok());
        {
          ScopedSigmask block(SIG_BLOCK, SetOf({lo, hi}));
          union sigval v = {};
          v.sival_int = 100;  // the higher-numbered signal is sent first
          ASSERT_THAT(sigqueue(getpid(), hi, v), SyscallSucceeds());
          for (int i = 1; i <= 3; ++i) {
            v.sival_int = i;
            ASSERT_THAT(sigqueue(getpid(), lo, v), SyscallSucceeds());
          }
          EXPECT_EQ(g_rt_count.load(), 0);
        }
        ASSERT_EQ(g_rt_count.load(), 4) << "real-time signals were not all queued";
        const int want_signo[] = {lo, lo, lo, hi};
        const int want_value[] = {1, 2, 3, 100};
        for (int i = 0; i < 4; ++i) {
          EXPECT_EQ(g_rt_signo[i].load(), want_signo[i]) << "delivery " << i;
          EXPECT_EQ(g_rt_value[i].load(), want_value[i]) << "delivery " << i;
        }
      },
      {.what = "queueing real-time signals while blocked"});
  c.ExpectExited(0);
}

IPC_TEST(SignalMask, SigkillAndSigstopCannotBeBlocked, "signal.kill-stop-cannot-be-blocked") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGKILL, SIGSTOP, SIGUSR2});
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &set, nullptr), SyscallSucceeds());
        sigset_t now = CurrentMask();
        EXPECT_EQ(sigismember(&now, SIGUSR2), 1);
        EXPECT_EQ(sigismember(&now, SIGKILL), 0);
        EXPECT_EQ(sigismember(&now, SIGSTOP), 0);
        std::optional<uint64_t> blk = ProcStatusSigset(getpid(), "SigBlk");
        ASSERT_TRUE(blk.has_value());
        EXPECT_EQ(*blk & (SigBit(SIGKILL) | SigBit(SIGSTOP)), 0u) << "the kernel mask holds SIGKILL/SIGSTOP";
      },
      {.what = "blocking SIGKILL and SIGSTOP"});
  c.ExpectExited(0);
}

#ifdef __GLIBC__
// Direct access to a glibc sigset_t, bypassing sigaddset/sigismember (which refuse the NPTL signals).
constexpr int kBitsPerWord = 8 * sizeof(unsigned long);
void RawAdd(sigset_t* s, int sig) { s->__val[(sig - 1) / kBitsPerWord] |= 1UL << ((sig - 1) % kBitsPerWord); }
bool RawHas(const sigset_t& s, int sig) {
  return (s.__val[(sig - 1) / kBitsPerWord] >> ((sig - 1) % kBitsPerWord)) & 1;
}
// nptl(7): signals 32 and 33 (the first two real-time signals of the kernel).
constexpr int kNptlInternal[] = {__SIGRTMIN, __SIGRTMIN + 1};
#endif

IPC_TEST(SignalNptl, SigprocmaskSilentlyIgnoresTheInternalSignals, "signal.nptl-mask-ignores-internal") {
#ifndef __GLIBC__
  GTEST_SKIP() << "nptl(7) describes glibc";
#else
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR2});
        for (int sig : kNptlInternal) RawAdd(&set, sig);
        EXPECT_THAT(sigprocmask(SIG_BLOCK, &set, nullptr), SyscallSucceeds());
        EXPECT_THAT(pthread_sigmask(SIG_BLOCK, &set, nullptr), SyscallSucceedsWithValue(0));
        std::optional<uint64_t> blk = ProcStatusSigset(getpid(), "SigBlk");
        ASSERT_TRUE(blk.has_value());
        EXPECT_NE(*blk & SigBit(SIGUSR2), 0u) << "the rest of the set was not blocked";
        for (int sig : kNptlInternal) EXPECT_EQ(*blk & SigBit(sig), 0u) << "signal " << sig << " was blocked";
      },
      {.what = "blocking the NPTL-internal signals"});
  c.ExpectExited(0);
#endif
}

IPC_TEST(SignalNptl, SigfillsetLeavesOutTheInternalSignals, "signal.nptl-sigfillset-excludes-internal") {
#ifndef __GLIBC__
  GTEST_SKIP() << "nptl(7) describes glibc";
#else
  sigset_t full;
  ASSERT_THAT(sigfillset(&full), SyscallSucceeds());
  for (int sig : kNptlInternal) EXPECT_FALSE(RawHas(full, sig)) << "sigfillset included signal " << sig;
  EXPECT_TRUE(RawHas(full, SIGUSR1));
  EXPECT_TRUE(RawHas(full, SIGRTMIN));
  EXPECT_TRUE(RawHas(full, SIGRTMAX));
#endif
}

IPC_TEST(SignalNptl, SigactionFailsWithEinvalForTheInternalSignals, "signal.sigaction-einval-nptl-internal") {
#ifndef __GLIBC__
  GTEST_SKIP() << "this is a glibc wrapper rule";
#else
  Child c = Child::Spawn(
      [&] {
        struct sigaction act = {};
        act.sa_handler = Noop;
        sigemptyset(&act.sa_mask);
        for (int sig : kNptlInternal) {
          EXPECT_THAT(sigaction(sig, &act, nullptr), SyscallFailsWithErrno(EINVAL)) << "signal " << sig;
          struct sigaction old;
          EXPECT_THAT(sigaction(sig, nullptr, &old), SyscallFailsWithErrno(EINVAL)) << "signal " << sig;
        }
        // The first real-time signal left to applications is fine.
        struct sigaction old;
        EXPECT_THAT(sigaction(SIGRTMIN, &act, &old), SyscallSucceeds());
      },
      {.what = "changing the disposition of the NPTL-internal signals"});
  c.ExpectExited(0);
#endif
}

// ---------------------------------------------------------------------------------------------------
// Threads share dispositions.

std::atomic<int> g_shared_handler_calls{0};
void CountShared(int) { g_shared_handler_calls.fetch_add(1); }

IPC_TEST(SignalThreadsShare, DispositionSetByOneThreadAppliesToAll, "signal.disposition-per-process") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction restore(SIGUSR1, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        g_shared_handler_calls = 0;
        int rc = -1;
        std::thread other([&] {
          struct sigaction act = {};
          act.sa_handler = CountShared;
          sigemptyset(&act.sa_mask);
          rc = sigaction(SIGUSR1, &act, nullptr);
        });
        other.join();
        ASSERT_EQ(rc, 0);
        struct sigaction now;
        ASSERT_THAT(sigaction(SIGUSR1, nullptr, &now), SyscallSucceeds());
        EXPECT_EQ(now.sa_handler, &CountShared);
        ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());  // delivered to this (main) thread
        EXPECT_EQ(g_shared_handler_calls.load(), 1);
      },
      {.what = "installing a handler from a second thread"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// fork(2) and execve(2).

IPC_TEST(SignalFork, IgnoredSigpipeIsInherited, "signal.fork-inherits-dispositions",
         "signal.write-epipe-sigpipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction ign(SIGPIPE, SIG_IGN);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        ASSERT_TRUE(ign.ok());
        Child inner = Child::Spawn(
            [&] {
              struct sigaction now;
              ASSERT_THAT(sigaction(SIGPIPE, nullptr, &now), SyscallSucceeds());
              EXPECT_EQ(now.sa_handler, SIG_IGN);
              // Ignored: the write fails with EPIPE instead of killing the process.
              EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
            },
            {.what = "writing to a pipe with no reader in a fork child of a process ignoring SIGPIPE"});
        inner.ExpectExited(0);
      },
      {.what = "ignoring SIGPIPE and forking"});
  c.ExpectExited(0);
}

IPC_TEST(SignalFork, SigpipeHandlerIsInherited, "signal.fork-inherits-dispositions",
         "signal.write-epipe-sigpipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        SignalCounter pipe_signals(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        Child inner = Child::Spawn(
            [&] {
              EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
              EXPECT_EQ(pipe_signals.count(), 1) << "the inherited handler did not run";
            },
            {.what = "writing to a pipe with no reader in a fork child of a process catching SIGPIPE"});
        inner.ExpectExited(0);
        EXPECT_EQ(pipe_signals.count(), 0) << "the parent's handler ran for the child's SIGPIPE";
      },
      {.what = "catching SIGPIPE and forking"});
  c.ExpectExited(0);
}

IPC_TEST(SignalFork, SignalMaskIsInherited, "signal.fork-inherits-mask") {
  Child c = Child::Spawn(
      [&] {
        ScopedSigmask block(SIG_BLOCK, SIGUSR2);
        Child inner = Child::Spawn(
            [&] {
              sigset_t now = CurrentMask();
              EXPECT_EQ(sigismember(&now, SIGUSR2), 1);
              // Blocked, a default-action (Term) SIGUSR2 stays pending instead of killing the child.
              ScopedSigaction dfl(SIGUSR2, SIG_DFL);
              ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
              EXPECT_TRUE(IsSignalPending(SIGUSR2));
            },
            {.what = "checking the signal mask of a fork child"});
        inner.ExpectExited(0);
      },
      {.what = "blocking SIGUSR2 and forking"});
  c.ExpectExited(0);
}

IPC_TEST(SignalFork, PendingSignalsAreNotInherited, "signal.fork-empty-pending") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);
        SignalCounter usr2(SIGUSR2);
        {
          ScopedSigmask block(SIG_BLOCK, SetOf({SIGUSR1, SIGUSR2}));
          ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());           // pending for this thread
          ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());  // pending for the process
          ASSERT_TRUE(IsSignalPending(SIGUSR1));
          ASSERT_TRUE(IsSignalPending(SIGUSR2));
          Child inner = Child::Spawn(
              [&] {
                EXPECT_FALSE(IsSignalPending(SIGUSR1));
                EXPECT_FALSE(IsSignalPending(SIGUSR2));
                std::optional<uint64_t> shd = ProcStatusSigset(getpid(), "ShdPnd");
                std::optional<uint64_t> pnd = ProcStatusSigset(getpid(), "SigPnd");
                ASSERT_TRUE(shd.has_value() && pnd.has_value());
                EXPECT_EQ(*shd | *pnd, 0u) << "the fork child has pending signals";
                // Unblocking delivers nothing.
                sigset_t set = SetOf({SIGUSR1, SIGUSR2});
                ASSERT_THAT(sigprocmask(SIG_UNBLOCK, &set, nullptr), SyscallSucceeds());
                EXPECT_EQ(usr1.count(), 0);
                EXPECT_EQ(usr2.count(), 0);
              },
              {.what = "checking the pending signals of a fork child"});
          inner.ExpectExited(0);
          EXPECT_TRUE(IsSignalPending(SIGUSR1));
          EXPECT_TRUE(IsSignalPending(SIGUSR2));
        }
        EXPECT_EQ(usr1.count(), 1);
        EXPECT_EQ(usr2.count(), 1);
      },
      {.what = "forking with SIGUSR1 and SIGUSR2 pending"});
  c.ExpectExited(0);
}

// The exec tests run the test binary's "write-byte FD" helper on a pipe whose read end is closed: it
// exits 3 after printing "write failed with EPIPE ..." on stderr (which the test captures) when SIGPIPE
// is ignored or blocked, and is killed by SIGPIPE when SIGPIPE has its default action.
struct ExecResult {
  ExitStatus status;
  std::string stderr_text;
};

ExecResult RunWriteByteHelper(const std::function<void()>& before_exec) {
  ExecResult result;
  auto p = BrokenPipe();
  auto err = Pipe::Create(O_CLOEXEC);
  if (!p.ok() || !err.ok()) {
    ADD_FAILURE() << p.error() << " " << err.error();
    return result;
  }
  int fd = p.value().write.get();
  int err_fd = err.value().write.get();
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(dup2(err_fd, STDERR_FILENO), SyscallSucceeds());
        before_exec();
        if (::testing::Test::HasFailure()) return;
        ExecHelper({"write-byte", std::to_string(fd)});
        ADD_FAILURE() << "execv of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "running the write-byte helper on a pipe with no reader"});
  result.status = c.Wait();
  err.value().write.Close();
  result.stderr_text = ReadToEof(err.value().read.get());
  return result;
}

IPC_TEST(SignalExec, IgnoredSigpipeStaysIgnoredAcrossExecve, "signal.execve-keeps-ignored") {
  ExecResult r = RunWriteByteHelper([] {
    struct sigaction act = {};
    act.sa_handler = SIG_IGN;
    sigemptyset(&act.sa_mask);
    ASSERT_THAT(sigaction(SIGPIPE, &act, nullptr), SyscallSucceeds());
    sigset_t none;
    sigemptyset(&none);
    ASSERT_THAT(sigprocmask(SIG_SETMASK, &none, nullptr), SyscallSucceeds());
  });
  EXPECT_TRUE(r.status.Exited(kHelperNo)) << r.status.Describe() << "; stderr: " << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("EPIPE"));
}

IPC_TEST(SignalExec, CaughtSigpipeIsResetToDefaultByExecve, "signal.execve-resets-caught") {
  ExecResult r = RunWriteByteHelper([] {
    struct sigaction act = {};
    act.sa_handler = Noop;
    sigemptyset(&act.sa_mask);
    ASSERT_THAT(sigaction(SIGPIPE, &act, nullptr), SyscallSucceeds());
    sigset_t none;
    sigemptyset(&none);
    ASSERT_THAT(sigprocmask(SIG_SETMASK, &none, nullptr), SyscallSucceeds());
  });
  EXPECT_TRUE(r.status.KilledBy(SIGPIPE)) << r.status.Describe() << "; stderr: " << r.stderr_text;
}

IPC_TEST(SignalExec, BlockedSigpipeStaysBlockedAcrossExecve, "signal.execve-keeps-mask") {
  ExecResult r = RunWriteByteHelper([] {
    struct sigaction act = {};
    act.sa_handler = SIG_DFL;
    sigemptyset(&act.sa_mask);
    ASSERT_THAT(sigaction(SIGPIPE, &act, nullptr), SyscallSucceeds());
    sigset_t set = SetOf({SIGPIPE});
    ASSERT_THAT(sigprocmask(SIG_BLOCK, &set, nullptr), SyscallSucceeds());
  });
  // Default action but blocked: the write fails with EPIPE instead of killing the helper.
  EXPECT_TRUE(r.status.Exited(kHelperNo)) << r.status.Describe() << "; stderr: " << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("EPIPE"));
}

// The helper reports its signal state after execve from inside (sigpending, sigprocmask, sigaction): /proc's
// view would also show a tool's own handlers (valgrind catches every signal itself).
IPC_TEST(SignalExec, PendingSignalMaskAndDispositionsAfterExecve, "signal.execve-keeps-pending",
         "signal.execve-keeps-mask", "signal.execve-resets-caught", "signal.execve-keeps-ignored") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        struct sigaction act = {};
        sigemptyset(&act.sa_mask);
        act.sa_handler = SIG_DFL;
        ASSERT_THAT(sigaction(SIGUSR1, &act, nullptr), SyscallSucceeds());
        act.sa_handler = Noop;
        ASSERT_THAT(sigaction(SIGUSR2, &act, nullptr), SyscallSucceeds());
        act.sa_handler = SIG_IGN;
        ASSERT_THAT(sigaction(SIGHUP, &act, nullptr), SyscallSucceeds());
        sigset_t set = SetOf({SIGUSR1});
        ASSERT_THAT(sigprocmask(SIG_BLOCK, &set, nullptr), SyscallSucceeds());
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        ASSERT_TRUE(IsSignalPending(SIGUSR1));
        ExecHelper({"signal-state", std::to_string(p.write.get())});
        ADD_FAILURE() << "execv of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "running the signal-state helper with SIGUSR1 pending"});
  p.write.Close();
  std::string line;
  char ch = 0;
  while (read(p.read.get(), &ch, 1) == 1 && ch != '\n') line += ch;
  c.ExpectExited(0);
  unsigned long long pnd = 0, blk = 0, cgt = 0, ign = 0;
  ASSERT_EQ(std::sscanf(line.c_str(), "%llx %llx %llx %llx", &pnd, &blk, &cgt, &ign), 4) << line;
  EXPECT_NE(pnd & SigBit(SIGUSR1), 0u) << "the pending SIGUSR1 was lost across execve";
  EXPECT_NE(blk & SigBit(SIGUSR1), 0u) << "the blocked SIGUSR1 was unblocked by execve";
  EXPECT_EQ(cgt & SigBit(SIGUSR2), 0u) << "the SIGUSR2 handler survived execve";
  EXPECT_EQ(ign & SigBit(SIGUSR2), 0u) << "the caught SIGUSR2 became ignored";
  EXPECT_NE(ign & SigBit(SIGHUP), 0u) << "the ignored SIGHUP is no longer ignored";
}

// ---------------------------------------------------------------------------------------------------
// sigaction(2).

void HandlerA(int) {}
void HandlerB(int) {}

IPC_TEST(SignalSigaction, ReturnsThePreviousActionInOldact, "signal.sigaction-oldact") {
  Child c = Child::Spawn(
      [&] {
        struct sigaction a = {};
        a.sa_handler = HandlerA;
        a.sa_flags = SA_RESTART | SA_NODEFER;
        a.sa_mask = SetOf({SIGUSR2, SIGHUP});
        ASSERT_THAT(sigaction(SIGUSR1, &a, nullptr), SyscallSucceeds());
        struct sigaction b = {};
        b.sa_handler = HandlerB;
        sigemptyset(&b.sa_mask);
        struct sigaction old = {};
        ASSERT_THAT(sigaction(SIGUSR1, &b, &old), SyscallSucceeds());
        EXPECT_EQ(old.sa_handler, &HandlerA);
        EXPECT_EQ(old.sa_flags & (SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_SIGINFO),
                  SA_RESTART | SA_NODEFER);
        EXPECT_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);
        EXPECT_EQ(sigismember(&old.sa_mask, SIGHUP), 1);
        EXPECT_EQ(sigismember(&old.sa_mask, SIGTERM), 0);
        // And the one installed second comes back the same way.
        struct sigaction again = {};
        ASSERT_THAT(sigaction(SIGUSR1, &a, &again), SyscallSucceeds());
        EXPECT_EQ(again.sa_handler, &HandlerB);
        EXPECT_EQ(again.sa_flags & (SA_RESTART | SA_NODEFER), 0);
        EXPECT_EQ(sigismember(&again.sa_mask, SIGUSR2), 0);
      },
      {.what = "replacing a SIGUSR1 action"});
  c.ExpectExited(0);
}

std::atomic<int> g_query_handler_calls{0};
void CountQuery(int) { g_query_handler_calls.fetch_add(1); }

IPC_TEST(SignalSigaction, NullActQueriesWithoutChanging, "signal.sigaction-query") {
  Child c = Child::Spawn(
      [&] {
        g_query_handler_calls = 0;
        ScopedSigaction act(SIGUSR1, CountQuery, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ASSERT_TRUE(act.ok());
        for (int i = 0; i < 2; ++i) {
          struct sigaction now = {};
          ASSERT_THAT(sigaction(SIGUSR1, nullptr, &now), SyscallSucceeds());
          EXPECT_EQ(now.sa_handler, &CountQuery);
          EXPECT_NE(now.sa_flags & SA_RESTART, 0);
        }
        ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(g_query_handler_calls.load(), 1) << "the query changed the disposition";
        // NULL act and oldact: only a validity check.
        EXPECT_THAT(sigaction(SIGUSR1, nullptr, nullptr), SyscallSucceeds());
        EXPECT_THAT(sigaction(0, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(sigaction(NSIG, nullptr, nullptr), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "querying the SIGUSR1 action"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigaction, FailsWithEinvalForSigkillAndSigstop, "signal.sigaction-einval-kill-stop") {
  Child c = Child::Spawn(
      [&] {
        for (int sig : {SIGKILL, SIGSTOP}) {
          struct sigaction act = {};
          sigemptyset(&act.sa_mask);
          act.sa_handler = HandlerA;
          EXPECT_THAT(sigaction(sig, &act, nullptr), SyscallFailsWithErrno(EINVAL)) << SignalName(sig);
          act.sa_handler = SIG_IGN;
          EXPECT_THAT(sigaction(sig, &act, nullptr), SyscallFailsWithErrno(EINVAL)) << SignalName(sig);
          EXPECT_EQ(signal(sig, SIG_IGN), SIG_ERR) << SignalName(sig);
          struct sigaction now = {};
          ASSERT_THAT(sigaction(sig, nullptr, &now), SyscallSucceeds());
          EXPECT_EQ(now.sa_handler, SIG_DFL) << SignalName(sig) << " was changed anyway";
        }
      },
      {.what = "changing the actions of SIGKILL and SIGSTOP"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSigaction, FailsWithEinvalForInvalidSignalNumbers, "signal.sigaction-einval-invalid-signal") {
  Child c = Child::Spawn(
      [&] {
        struct sigaction act = {};
        act.sa_handler = HandlerA;
        sigemptyset(&act.sa_mask);
        struct sigaction old = {};
        for (int sig : {0, -1, NSIG, NSIG + 1, 1000}) {
          EXPECT_THAT(sigaction(sig, &act, nullptr), SyscallFailsWithErrno(EINVAL)) << "signal " << sig;
          EXPECT_THAT(sigaction(sig, nullptr, &old), SyscallFailsWithErrno(EINVAL)) << "signal " << sig;
        }
      },
      {.what = "calling sigaction with invalid signal numbers"});
  c.ExpectExited(0);
}

// Handler state for the mask tests.
std::atomic<int> g_calls{0};
std::atomic<int> g_depth{0};
std::atomic<int> g_max_depth{0};
std::atomic<int> g_own_blocked_in_handler{-1};
std::atomic<int> g_usr2_blocked_in_handler{-1};
std::atomic<int> g_kill_blocked_in_handler{-1};
std::atomic<int> g_stop_blocked_in_handler{-1};
std::atomic<int> g_usr2_count_in_handler{-1};
std::atomic<int> g_usr2_calls{0};

void ResetHandlerState() {
  g_calls = 0;
  g_depth = 0;
  g_max_depth = 0;
  g_own_blocked_in_handler = -1;
  g_usr2_blocked_in_handler = -1;
  g_kill_blocked_in_handler = -1;
  g_stop_blocked_in_handler = -1;
  g_usr2_count_in_handler = -1;
  g_usr2_calls = 0;
}

// Records nesting; on its first call raises its own signal again.
void NestingHandler(int sig) {
  int d = g_depth.fetch_add(1) + 1;
  if (d > g_max_depth.load()) g_max_depth = d;
  if (g_calls.fetch_add(1) == 0) {
    sigset_t now;
    sigprocmask(SIG_BLOCK, nullptr, &now);
    g_own_blocked_in_handler = sigismember(&now, sig);
    raise(sig);
  }
  g_depth.fetch_sub(1);
}

void CountUsr2(int) { g_usr2_calls.fetch_add(1); }

// Records the mask it runs with, and raises SIGUSR2 (in its sa_mask) to see it stay pending.
void MaskRecordingHandler(int) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, nullptr, &now);
  g_usr2_blocked_in_handler = sigismember(&now, SIGUSR2);
  g_kill_blocked_in_handler = sigismember(&now, SIGKILL);
  g_stop_blocked_in_handler = sigismember(&now, SIGSTOP);
  raise(SIGUSR2);
  g_usr2_count_in_handler = g_usr2_calls.load();
  g_calls.fetch_add(1);
}

IPC_TEST(SignalHandlerMask, SaMaskIsBlockedDuringTheHandlerAndRestoredAfter, "signal.handler-sa-mask") {
  Child c = Child::Spawn(
      [&] {
        ResetHandlerState();
        ScopedSigaction usr2(SIGUSR2, CountUsr2, 0);
        struct sigaction act = {};
        act.sa_handler = MaskRecordingHandler;
        act.sa_mask = SetOf({SIGUSR2});
        ScopedSigaction usr1(SIGUSR1, act);
        ScopedSigmask unblock(SIG_UNBLOCK, SetOf({SIGUSR1, SIGUSR2}));
        ASSERT_TRUE(usr1.ok() && usr2.ok());
        ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(g_calls.load(), 1);
        EXPECT_EQ(g_usr2_blocked_in_handler.load(), 1) << "sa_mask was not added during the handler";
        EXPECT_EQ(g_usr2_count_in_handler.load(), 0) << "SIGUSR2 was delivered inside the handler";
        EXPECT_EQ(g_usr2_calls.load(), 1) << "the SIGUSR2 raised in the handler was not delivered after it";
        sigset_t after = CurrentMask();
        EXPECT_EQ(sigismember(&after, SIGUSR2), 0) << "the mask was not restored after the handler";
      },
      {.what = "running a SIGUSR1 handler with SIGUSR2 in sa_mask"});
  c.ExpectExited(0);
}

IPC_TEST(SignalHandlerMask, SigkillAndSigstopInSaMaskAreSilentlyIgnored, "signal.sa-mask-kill-stop-ignored") {
  Child c = Child::Spawn(
      [&] {
        ResetHandlerState();
        ScopedSigaction usr2(SIGUSR2, CountUsr2, 0);
        struct sigaction act = {};
        act.sa_handler = MaskRecordingHandler;
        act.sa_mask = SetOf({SIGUSR2, SIGKILL, SIGSTOP});
        ScopedSigaction usr1(SIGUSR1, act);
        ScopedSigmask unblock(SIG_UNBLOCK, SetOf({SIGUSR1, SIGUSR2}));
        ASSERT_TRUE(usr1.ok()) << "sigaction refused SIGKILL/SIGSTOP in sa_mask instead of ignoring them";
        ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(g_calls.load(), 1);
        EXPECT_EQ(g_usr2_blocked_in_handler.load(), 1);
        EXPECT_EQ(g_kill_blocked_in_handler.load(), 0) << "SIGKILL was blocked during the handler";
        EXPECT_EQ(g_stop_blocked_in_handler.load(), 0) << "SIGSTOP was blocked during the handler";
      },
      {.what = "running a SIGUSR1 handler with SIGKILL and SIGSTOP in sa_mask"});
  c.ExpectExited(0);
}

IPC_TEST(SignalHandlerMask, OwnSignalIsBlockedWhileItsHandlerRuns, "signal.handler-blocks-own-signal") {
  Child c = Child::Spawn(
      [&] {
        ResetHandlerState();
        ScopedSigaction usr1(SIGUSR1, NestingHandler, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
        EXPECT_EQ(g_own_blocked_in_handler.load(), 1);
        EXPECT_EQ(g_calls.load(), 2) << "the instance raised in the handler was not delivered after it";
        EXPECT_EQ(g_max_depth.load(), 1) << "the handler was re-entered for its own signal";
      },
      {.what = "raising SIGUSR1 inside its own handler"});
  c.ExpectExited(0);
}

IPC_TEST(SignalHandlerMask, SaNodeferDeliversTheSignalInsideItsHandler, "signal.sa-nodefer") {
  IPC_SKIP_UNDER_THREAD_SANITIZER("it defers a signal raised inside a handler until the handler returns");
  Child c = Child::Spawn(
      [&] {
        {
          ResetHandlerState();
          ScopedSigaction usr1(SIGUSR1, NestingHandler, SA_NODEFER);
          ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
          ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
          EXPECT_EQ(g_own_blocked_in_handler.load(), 0);
          EXPECT_EQ(g_calls.load(), 2);
          EXPECT_EQ(g_max_depth.load(), 2) << "SA_NODEFER: the second instance was not delivered nested";
        }
        {
          // Unless the signal is in sa_mask.
          ResetHandlerState();
          struct sigaction act = {};
          act.sa_handler = NestingHandler;
          act.sa_flags = SA_NODEFER;
          act.sa_mask = SetOf({SIGUSR1});
          ScopedSigaction usr1(SIGUSR1, act);
          ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
          ASSERT_THAT(raise(SIGUSR1), SyscallSucceeds());
          EXPECT_EQ(g_own_blocked_in_handler.load(), 1);
          EXPECT_EQ(g_calls.load(), 2);
          EXPECT_EQ(g_max_depth.load(), 1) << "SA_NODEFER overrode the signal's presence in sa_mask";
        }
      },
      {.what = "raising SIGUSR1 inside its SA_NODEFER handler"});
  c.ExpectExited(0);
}

std::atomic<int> g_resethand_calls{0};
std::atomic<int> g_default_in_handler{-1};

void ResethandHandler(int sig) {
  struct sigaction now;
  if (sigaction(sig, nullptr, &now) == 0) g_default_in_handler = now.sa_handler == SIG_DFL ? 1 : 0;
  g_resethand_calls.fetch_add(1);
}

IPC_TEST(SignalSaResethand, SigpipeHandlerRunsOnceThenTheDefaultActionKills, "signal.sa-resethand",
         "signal.write-epipe-sigpipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, BrokenPipe());
  Child c = Child::Spawn(
      [&] {
        struct sigaction act = {};
        act.sa_handler = ResethandHandler;
        act.sa_flags = SA_RESETHAND;
        sigemptyset(&act.sa_mask);
        ASSERT_THAT(sigaction(SIGPIPE, &act, nullptr), SyscallSucceeds());
        sigset_t set = SetOf({SIGPIPE});
        ASSERT_THAT(sigprocmask(SIG_UNBLOCK, &set, nullptr), SyscallSucceeds());
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(g_resethand_calls.load(), 1);
        EXPECT_EQ(g_default_in_handler.load(), 1) << "the action was not reset on entry to the handler";
        struct sigaction now = {};
        ASSERT_THAT(sigaction(SIGPIPE, nullptr, &now), SyscallSucceeds());
        EXPECT_EQ(now.sa_handler, SIG_DFL);
        (void)write(p.write.get(), "x", 1);  // the default action now terminates the process
        ADD_FAILURE() << "the second SIGPIPE did not terminate the process (handler calls: "
                      << g_resethand_calls.load() << ")";
      },
      {.what = "writing twice to a pipe with no reader with an SA_RESETHAND handler"});
  c.ExpectKilledBy(SIGPIPE);
}

}  // namespace
}  // namespace ipc
