// signalfd(2): reading signals as struct signalfd_siginfo, several per read, blocking and SFD_NONBLOCK
// reads, poll(2) readiness, replacing the mask, SFD_CLOEXEC, a descriptor shared across fork(2) reading the
// reader's own signals, and the errors EINVAL (flags, not a signalfd, short read buffer), EBADF, EMFILE.
// Rules in suite/rules/signal-delivery.ini.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

IPC_TEST(SignalSignalfd, ReadGivesTheSignalAsSignalfdSiginfo, "signal.signalfd-read-siginfo") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR1});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, SFD_CLOEXEC));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        union sigval v;
        v.sival_int = 1234;
        ASSERT_THAT(sigqueue(getpid(), SIGUSR1, v), SyscallSucceeds());
        struct signalfd_siginfo info = {};
        ASSERT_THAT(read(sfd.get(), &info, sizeof info), SyscallSucceedsWithValue(sizeof info));
        EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR1));
        EXPECT_EQ(info.ssi_code, SI_QUEUE);
        EXPECT_EQ(info.ssi_int, 1234);
        EXPECT_EQ(info.ssi_pid, static_cast<uint32_t>(getpid()));
        EXPECT_EQ(info.ssi_uid, static_cast<uint32_t>(getuid()));
        EXPECT_FALSE(IsSignalPending(SIGUSR1)) << "reading did not consume the signal";
      },
      {.what = "reading a queued SIGUSR1 from a signalfd"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, OneReadReturnsAsManySignalsAsFit, "signal.signalfd-read-multiple") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGRTMIN});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, SFD_NONBLOCK));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        for (int i = 0; i < 3; ++i) {
          union sigval v;
          v.sival_int = i;
          ASSERT_THAT(sigqueue(getpid(), SIGRTMIN, v), SyscallSucceeds());
        }
        struct signalfd_siginfo info[5] = {};
        ASSERT_THAT(read(sfd.get(), info, sizeof info), SyscallSucceedsWithValue(3 * sizeof info[0]));
        for (int i = 0; i < 3; ++i) EXPECT_EQ(info[i].ssi_int, i);
        EXPECT_THAT(read(sfd.get(), info, sizeof info), SyscallFailsWithErrno(EAGAIN));
      },
      {.what = "reading three queued real-time signals in one read"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, BufferSmallerThanOneSiginfoIsEinval, "signal.signalfd-read-einval-size") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR1});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, SFD_NONBLOCK));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        char buf[sizeof(struct signalfd_siginfo) - 1];
        EXPECT_THAT(read(sfd.get(), buf, sizeof buf), SyscallFailsWithErrno(EINVAL));
        EXPECT_TRUE(IsSignalPending(SIGUSR1)) << "the failed read consumed the signal";
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR1));
      },
      {.what = "reading a signalfd into a short buffer"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, NonblockingReadWithNothingPendingIsEagain, "signal.signalfd-nonblock-eagain") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR1});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, SFD_NONBLOCK));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        EXPECT_NE(fcntl(sfd.get(), F_GETFL) & O_NONBLOCK, 0);
        struct signalfd_siginfo info;
        EXPECT_THAT(read(sfd.get(), &info, sizeof info), SyscallFailsWithErrno(EAGAIN));
      },
      {.what = "reading an empty SFD_NONBLOCK signalfd"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, BlockingReadWaitsForASignal, "signal.signalfd-read-blocks") {
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  int wfd = ready.write.get();
  Child c = Child::Spawn(
      [=] {
        sigset_t set = SetOf({SIGUSR1});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, 0));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        ASSERT_THAT(write(wfd, "r", 1), SyscallSucceedsWithValue(1));
        struct signalfd_siginfo info = {};
        ASSERT_THAT(read(sfd.get(), &info, sizeof info), SyscallSucceedsWithValue(sizeof info));
        EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR1));
        EXPECT_EQ(info.ssi_pid, static_cast<uint32_t>(getppid()));
      },
      {.what = "blocking in read on a signalfd"});
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, PollReportsReadableOnlyWhileASignalIsPending, "signal.signalfd-poll") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR1});
        ScopedSigmask block(SIG_BLOCK, SetOf({SIGUSR1, SIGUSR2}));
        FileDescriptor sfd(signalfd(-1, &set, SFD_NONBLOCK));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        struct pollfd pfd = {sfd.get(), POLLIN, 0};
        EXPECT_THAT(poll(&pfd, 1, 0), SyscallSucceedsWithValue(0));
        ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
        EXPECT_THAT(poll(&pfd, 1, 0), SyscallSucceedsWithValue(0))
            << "a signal outside the mask made it readable";
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        ASSERT_THAT(poll(&pfd, 1, 0), SyscallSucceedsWithValue(1));
        EXPECT_EQ(pfd.revents, POLLIN);
        struct signalfd_siginfo info;
        ASSERT_THAT(read(sfd.get(), &info, sizeof info), SyscallSucceedsWithValue(sizeof info));
        pfd.revents = 0;
        EXPECT_THAT(poll(&pfd, 1, 0), SyscallSucceedsWithValue(0));
        sigset_t u2 = SetOf({SIGUSR2});
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&u2, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR2));
      },
      {.what = "polling a signalfd"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, SecondCallReplacesTheMask, "signal.signalfd-replace-mask") {
  Child c = Child::Spawn(
      [&] {
        sigset_t u1 = SetOf({SIGUSR1}), u2 = SetOf({SIGUSR2});
        ScopedSigmask block(SIG_BLOCK, SetOf({SIGUSR1, SIGUSR2}));
        FileDescriptor sfd(signalfd(-1, &u1, SFD_NONBLOCK));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        ASSERT_THAT(signalfd(sfd.get(), &u2, 0), SyscallSucceedsWithValue(sfd.get()));
        ASSERT_THAT(kill(getpid(), SIGUSR1), SyscallSucceeds());
        struct signalfd_siginfo info;
        EXPECT_THAT(read(sfd.get(), &info, sizeof info), SyscallFailsWithErrno(EAGAIN))
            << "the old mask still applies";
        ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());
        ASSERT_THAT(read(sfd.get(), &info, sizeof info), SyscallSucceedsWithValue(sizeof info));
        EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR2));
        EXPECT_TRUE(IsSignalPending(SIGUSR1));
        struct timespec zero = {0, 0};
        EXPECT_THAT(sigtimedwait(&u1, nullptr, &zero), SyscallSucceedsWithValue(SIGUSR1));
      },
      {.what = "changing a signalfd's mask"});
  c.ExpectExited(0);
}

IPC_TEST(SignalSignalfd, CloexecFlagSetsFdCloexec, "signal.signalfd-cloexec") {
  sigset_t set = SetOf({SIGUSR1});
  FileDescriptor a(signalfd(-1, &set, SFD_CLOEXEC));
  ASSERT_TRUE(a.valid()) << DescribeErrno(errno);
  EXPECT_EQ(fcntl(a.get(), F_GETFD), FD_CLOEXEC);
  FileDescriptor b(signalfd(-1, &set, 0));
  ASSERT_TRUE(b.valid()) << DescribeErrno(errno);
  EXPECT_EQ(fcntl(b.get(), F_GETFD), 0);
}

IPC_TEST(SignalSignalfd, ForkedChildReadsItsOwnSignals, "signal.signalfd-fork") {
  Child c = Child::Spawn(
      [&] {
        sigset_t set = SetOf({SIGUSR1, SIGUSR2});
        ScopedSigmask block(SIG_BLOCK, set);
        FileDescriptor sfd(signalfd(-1, &set, 0));
        ASSERT_TRUE(sfd.valid()) << DescribeErrno(errno);
        ASSERT_THAT(kill(getpid(), SIGUSR2), SyscallSucceeds());  // the parent's own signal
        int fd = sfd.get();
        pid_t parent = getpid();
        pid_t pid = ForkRaw([=] {
          struct signalfd_siginfo info = {};
          // Blocks until the parent's SIGUSR1 for this process arrives; never sees the parent's SIGUSR2.
          if (read(fd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 10;
          if (info.ssi_signo != static_cast<uint32_t>(SIGUSR1)) return 11;
          if (info.ssi_pid != static_cast<uint32_t>(parent)) return 12;
          return 0;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        ASSERT_TRUE(WaitUntilBlockedIn(pid, SYS_read));
        ASSERT_THAT(kill(pid, SIGUSR1), SyscallSucceeds());
        ExpectReapedExit(pid, 0, " (10 read failed, 11 wrong signal, 12 wrong sender)");
        struct signalfd_siginfo info = {};
        ASSERT_THAT(read(fd, &info, sizeof info), SyscallSucceedsWithValue(sizeof info));
        EXPECT_EQ(info.ssi_signo, static_cast<uint32_t>(SIGUSR2)) << "the parent's own signal was lost";
      },
      {.what = "reading a signalfd shared with a forked grandchild"});
  c.ExpectExited(0);
}

struct SignalfdFlagsRow {
  const char* name;
  rules::RuleList rules;
  int flags;
};
const SignalfdFlagsRow kSignalfdBadFlags[] = {
    {"LowBit", {}, 1},
    {"ORdwr", {}, O_RDWR},
    {"NonblockPlusUnknown", {}, SFD_NONBLOCK | 0x10},
    {"IntMin", {}, INT_MIN},
};
class SignalSignalfdEinvalFlags : public ::testing::TestWithParam<SignalfdFlagsRow> {};
IPC_TEST_P(SignalSignalfdEinvalFlags, FailsAndCreatesNothing, "signal.signalfd-einval-flags") {
  sigset_t set = SetOf({SIGUSR1});
  int before = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_THAT(before, SyscallSucceeds());
  close(before);
  EXPECT_THAT(signalfd(-1, &set, GetParam().flags), SyscallFailsWithErrno(EINVAL));
  int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(after, before) << "a descriptor was allocated";
  if (after >= 0) close(after);
}
IPC_INSTANTIATE_TABLE(Table, SignalSignalfdEinvalFlags, kSignalfdBadFlags);

IPC_TEST(SignalSignalfd, DescriptorThatIsNotASignalfdIsEinval, "signal.signalfd-einval-not-signalfd") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  sigset_t set = SetOf({SIGUSR1});
  EXPECT_THAT(signalfd(p.read.get(), &set, 0), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(SignalSignalfd, InvalidDescriptorIsEbadf, "signal.signalfd-ebadf") {
  sigset_t set = SetOf({SIGUSR1});
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_THAT(fd, SyscallSucceeds());
  ASSERT_THAT(close(fd), SyscallSucceeds());
  EXPECT_THAT(signalfd(fd, &set, 0), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(signalfd(-2, &set, 0), SyscallFailsWithErrno(EBADF)) << "only -1 asks for a new descriptor";
}

IPC_TEST(SignalSignalfd, DescriptorLimitReachedIsEmfile, "signal.signalfd-emfile") {
  Child c = Child::Spawn(
      [&] {
        int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_THAT(probe, SyscallSucceeds());
        close(probe);
        // Lower the limit so that `probe` is the lowest descriptor not allowed.
        struct rlimit rl;
        ASSERT_THAT(getrlimit(RLIMIT_NOFILE, &rl), SyscallSucceeds());
        rl.rlim_cur = static_cast<rlim_t>(probe);
        ASSERT_THAT(setrlimit(RLIMIT_NOFILE, &rl), SyscallSucceeds());
        sigset_t set = SetOf({SIGUSR1});
        EXPECT_THAT(signalfd(-1, &set, 0), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "signalfd with RLIMIT_NOFILE reached"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
