// signal(7) "Interruption of system calls and library functions by signal handlers", applied to IPC:
// blocking pipe read/write, FIFO open, waitpid, poll/select/epoll_wait on a pipe, pause/sigsuspend.
//
// Pattern: the blocking call runs in a Child that installed a handler (SignalCounter); the test process
// waits until the child sleeps inside the expected system call (WaitUntilBlockedIn), sends the signal,
// and for SA_RESTART cases waits until the child sleeps in the same call again before releasing it.
// kill(2) wakes the sleeping target before it returns, so the next sleep seen in /proc is the restarted
// call, after the handler ran.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/procfs.h"
#include "signal_util.h"

namespace ipc {
namespace {

using signal_util::ForkRaw;

// Reads whatever is buffered in a pipe without blocking (leaves the descriptor's flags as they were).
std::string DrainNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  fcntl(fd, F_SETFL, flags);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// read(2) and write(2) on pipes: restarted with SA_RESTART, EINTR without.

IPC_TEST(SignalPipeIo, SaRestartRestartsBlockedPipeRead, "signal.sa-restart-slow-io") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        char buf[8] = {};
        // The read is restarted after the handler, so it returns the data written afterwards.
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
        EXPECT_EQ(std::string(buf, 3), "abc");
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "reading an empty pipe with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read)) << "the interrupted read was not restarted";
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  c.ExpectExited(0);
}

IPC_TEST(SignalPipeIo, SaRestartRestartsBlockedWriteOnFullPipe, "signal.sa-restart-slow-io") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(write(p.write.get(), "w", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "writing to a full pipe with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write)) << "the interrupted write was not restarted";
  // Make room: the restarted write completes and the child exits.
  std::string fill(filled, '\0');
  ASSERT_TRUE(ReadAll(p.read.get(), fill.data(), filled)) << DescribeErrno(errno);
  EXPECT_EQ(fill, std::string(filled, 'f'));
  c.ExpectExited(0);
  // Exactly the one byte of the restarted write follows.
  EXPECT_EQ(DrainNonBlocking(p.read.get()), "w");
}

IPC_TEST(SignalPipeIo, BlockedPipeReadFailsWithEintrWithoutSaRestart, "signal.read-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "reading an empty pipe with a SIGUSR1 handler without SA_RESTART"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalPipeIo, BlockedWriteOnFullPipeFailsWithEintrAndWritesNothing, "signal.write-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(write(p.write.get(), "w", 1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "writing to a full pipe with a SIGUSR1 handler without SA_RESTART"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  // Nothing of the interrupted write reached the pipe.
  std::string got = DrainNonBlocking(p.read.get());
  EXPECT_EQ(got.size(), filled);
  EXPECT_EQ(got.find_first_not_of('f'), std::string::npos);
}

// A write larger than the pipe's capacity into an empty pipe fills it and then blocks; a handler that
// interrupts it then makes it return the count already transferred instead of failing with EINTR.
void ExpectInterruptedLargeWriteReturnsPartialCount(int sa_flags) {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe result, Pipe::Create());
  int capacity = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0) << DescribeErrno(errno);
  std::string data(2 * static_cast<size_t>(capacity), '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, sa_flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ssize_t n = write(p.write.get(), data.data(), data.size());
        int err = errno;
        EXPECT_GT(n, 0) << "write failed with " << DescribeErrno(err);
        EXPECT_LT(n, static_cast<ssize_t>(data.size()));
        EXPECT_EQ(usr1.count(), 1);
        int64_t v = n;
        EXPECT_THAT(write(result.write.get(), &v, sizeof v), SyscallSucceedsWithValue(sizeof v));
      },
      {.what = "writing twice the pipe capacity into an empty pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  int64_t reported = -1;
  ASSERT_THAT(read(result.read.get(), &reported, sizeof reported), SyscallSucceedsWithValue(sizeof reported));
  // The returned count is exactly what reached the pipe, in order.
  std::string got = DrainNonBlocking(p.read.get());
  EXPECT_EQ(static_cast<int64_t>(got.size()), reported);
  EXPECT_GT(got.size(), 0u);
  EXPECT_TRUE(got == data.substr(0, got.size())) << "the pipe holds other bytes than the start of the write";
}

IPC_TEST(SignalPipeIo, InterruptedPartialWriteReturnsCountWithoutSaRestart,
         "signal.interrupted-io-partial-count") {
  ExpectInterruptedLargeWriteReturnsPartialCount(0);
}

IPC_TEST(SignalPipeIo, InterruptedPartialWriteReturnsCountWithSaRestart,
         "signal.interrupted-io-partial-count") {
  ExpectInterruptedLargeWriteReturnsPartialCount(SA_RESTART);
}

// ---------------------------------------------------------------------------------------------------
// Blocking FIFO open(2).

IPC_TEST(SignalFifoOpen, SaRestartRestartsBlockedFifoOpen, "signal.sa-restart-blocking-open") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  ASSERT_OK_AND_ASSIGN(std::string fifo, dir.MakeFifo("fifo"));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        // Blocks until a writer opens; the restarted open then succeeds.
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo, O_RDONLY));
        EXPECT_EQ(usr1.count(), 1);
        char b = 0;
        EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'z');
      },
      {.what = "opening a FIFO for reading with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_openat));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_openat)) << "the interrupted open was not restarted";
  // A nonblocking open for writing succeeds only while a reader has the FIFO open (or is opening it).
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w.get(), "z", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST(SignalFifoOpen, BlockedFifoOpenFailsWithEintrWithoutSaRestart, "signal.open-eintr") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  ASSERT_OK_AND_ASSIGN(std::string fifo, dir.MakeFifo("fifo"));
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        int fd = open(fifo.c_str(), O_RDONLY);
        int err = errno;
        if (fd >= 0) close(fd);
        errno = err;
        EXPECT_THAT(fd, SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "opening a FIFO for reading with a SIGUSR1 handler without SA_RESTART"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_openat));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// waitpid(2).

// The Child forks a grandchild that waits for end of file on `release` (whose only write end the test
// process holds), then waits for it with waitpid(2) under a SIGUSR1 handler with `sa_flags`.
IPC_TEST(SignalWaitpid, SaRestartRestartsBlockedWaitpid, "signal.sa-restart-wait") {
  ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        release.write.Close();
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        pid_t pid = ForkRaw([&] {
          char b;
          return read(release.read.get(), &b, 1) == 0 ? 7 : 1;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        int status = 0;
        EXPECT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << "status " << status;
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "waiting for a grandchild with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_wait4, SYS_waitid}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_wait4, SYS_waitid}))
      << "the interrupted waitpid was not restarted";
  ASSERT_THAT(release.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalWaitpid, BlockedWaitpidFailsWithEintrWithoutSaRestart, "signal.wait-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe release, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        release.write.Close();
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        pid_t pid = ForkRaw([&] {
          char b;
          return read(release.read.get(), &b, 1) == 0 ? 7 : 1;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        int status = 0;
        EXPECT_THAT(waitpid(pid, &status, 0), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        // The grandchild was not consumed by the interrupted call: it is still there to be waited for.
        EXPECT_THAT(waitpid(pid, &status, WNOHANG), SyscallSucceedsWithValue(0));
        kill(pid, SIGKILL);
        EXPECT_THAT(waitpid(pid, &status, 0), SyscallSucceedsWithValue(pid));
      },
      {.what = "waiting for a grandchild with a SIGUSR1 handler without SA_RESTART"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_wait4, SYS_waitid}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Calls that are never restarted: poll/select/epoll_wait on a pipe, pause, sigsuspend.

IPC_TEST(SignalNeverRestarted, PollOnPipeFailsWithEintrDespiteSaRestart,
         "signal.never-restarted-multiplexing") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        struct pollfd pfd = {p.read.get(), POLLIN, 0};
        EXPECT_THAT(poll(&pfd, 1, -1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "polling an empty pipe with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_poll, SYS_ppoll}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalNeverRestarted, SelectOnPipeFailsWithEintrDespiteSaRestart,
         "signal.never-restarted-multiplexing") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_LT(p.read.get(), FD_SETSIZE);
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        fd_set rfds;
        FD_ZERO(&rfds);
        FD_SET(p.read.get(), &rfds);
        EXPECT_THAT(select(p.read.get() + 1, &rfds, nullptr, nullptr, nullptr), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "select on an empty pipe with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_select, SYS_pselect6}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalNeverRestarted, EpollWaitOnPipeFailsWithEintrDespiteSaRestart,
         "signal.never-restarted-multiplexing") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        FileDescriptor ep(epoll_create1(EPOLL_CLOEXEC));
        ASSERT_TRUE(ep.valid()) << DescribeErrno(errno);
        struct epoll_event ev = {};
        ev.events = EPOLLIN;
        ev.data.fd = p.read.get();
        ASSERT_THAT(epoll_ctl(ep.get(), EPOLL_CTL_ADD, p.read.get(), &ev), SyscallSucceeds());
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        struct epoll_event out = {};
        EXPECT_THAT(epoll_wait(ep.get(), &out, 1, -1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "epoll_wait on an empty pipe with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {
                                                   SYS_epoll_wait,
                                                   SYS_epoll_pwait,
#ifdef SYS_epoll_pwait2
                                                   SYS_epoll_pwait2,
#endif
                                               }));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalNeverRestarted, PauseReturnsEintrDespiteSaRestart, "signal.never-restarted-signal-wait") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(pause(), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "pause() with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_pause, SYS_rt_sigsuspend, SYS_ppoll}));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalNeverRestarted, SigsuspendReturnsEintrAndRestoresTheMask, "signal.never-restarted-signal-wait",
         "signal.sigsuspend-temporary-mask") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, SA_RESTART);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);
        // While suspended: SIGUSR1 unblocked, SIGUSR2 blocked.
        sigset_t during;
        sigemptyset(&during);
        sigaddset(&during, SIGUSR2);
        EXPECT_THAT(sigsuspend(&during), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        sigset_t after;
        ASSERT_THAT(sigprocmask(SIG_BLOCK, nullptr, &after), SyscallSucceeds());
        EXPECT_EQ(sigismember(&after, SIGUSR1), 1) << "the mask before sigsuspend was not restored";
        EXPECT_EQ(sigismember(&after, SIGUSR2), 0) << "the temporary mask stayed after sigsuspend";
      },
      {.what = "sigsuspend() with an SA_RESTART handler for SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_rt_sigsuspend));
  std::optional<uint64_t> blocked = ProcStatusSigset(c.pid(), "SigBlk");
  ASSERT_TRUE(blocked.has_value());
  EXPECT_EQ(*blocked & SigBit(SIGUSR1), 0u) << "SIGUSR1 is still blocked while in sigsuspend";
  EXPECT_NE(*blocked & SigBit(SIGUSR2), 0u) << "the mask given to sigsuspend is not in effect";
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Process-directed signals and threads: the one thread that does not block SIGUSR1 gets it, and its
// blocking pipe read fails with EINTR.

std::atomic<pid_t> g_handler_tid{0};
void RecordHandlerTid(int) { g_handler_tid.store(gettid()); }

IPC_TEST(SignalThreads, ProcessDirectedSignalGoesToTheThreadNotBlockingIt,
         "signal.process-directed-to-unblocked-thread", "signal.read-eintr") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Pipe data, Pipe::Create());
        ASSERT_OK_AND_ASSIGN(Pipe hello, Pipe::Create());
        g_handler_tid = 0;
        ScopedSigaction act(SIGUSR1, RecordHandlerTid, 0);
        ScopedSigmask block(SIG_BLOCK, SIGUSR1);  // the main thread, and the new thread at first
        ssize_t r = 0;
        int err = 0;
        std::thread reader([&] {
          ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
          pid_t tid = gettid();
          (void)!write(hello.write.get(), &tid, sizeof tid);
          char b;
          r = read(data.read.get(), &b, 1);
          err = errno;
        });
        pid_t tid = 0;
        bool ok = read(hello.read.get(), &tid, sizeof tid) == sizeof tid;
        ::testing::AssertionResult blocked =
            ok ? WaitUntilBlockedIn(getpid(), SYS_read, kDefaultBlockDeadline, tid)
               : ::testing::AssertionFailure() << "no tid from the thread";
        EXPECT_TRUE(blocked);
        if (blocked) {
          EXPECT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        } else {
          (void)!write(data.write.get(), "x", 1);  // release the thread
        }
        reader.join();
        if (blocked) {
          EXPECT_EQ(g_handler_tid.load(), tid);
          EXPECT_EQ(r, -1);
          EXPECT_EQ(err, EINTR) << DescribeErrno(err);
        }
      },
      {.what = "sending SIGUSR1 to a process whose only unblocking thread reads a pipe"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
