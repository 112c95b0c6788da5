// pipe(2) and pipe2(2): which end is which, the flags pipe2() accepts, and the creation errors.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

// The flag pipe2(2) documents for notification pipes (linux/watch_queue.h, which cannot be included
// together with glibc's <fcntl.h>); it is O_EXCL's value.
#ifndef O_NOTIFICATION_PIPE
#define O_NOTIFICATION_PIPE O_EXCL
#endif

namespace ipc {
namespace {

using pipe_util::Fionread;
using pipe_util::ReadReady;

// The lowest descriptor number that is free right now (the one the next open(2) would get).
int LowestFreeFd() {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return fd;
}

// Sets RLIMIT_NOFILE so that exactly `free_slots` descriptors can still be allocated: the limit is one
// above the highest of the `free_slots` lowest free descriptor numbers. Returns those numbers in
// increasing order (empty on failure; with free_slots == 0, the one number that became unusable).
std::vector<int> LeaveOnlyFreeDescriptors(int free_slots) {
  std::vector<int> held;
  for (int i = 0; i < std::max(free_slots, 1); ++i) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    held.push_back(fd);
  }
  for (int fd : held) close(fd);
  if (held.size() != static_cast<size_t>(std::max(free_slots, 1))) return {};
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  rl.rlim_cur = free_slots == 0 ? static_cast<rlim_t>(held[0]) : static_cast<rlim_t>(held.back() + 1);
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  return held;
}

// Runs this binary's "fd-open N" helper through execv(2) in a child and returns the child.
Child ExecFdOpen(int fd) {
  return Child::Spawn(
      [fd] {
        ExecHelper({"fd-open", std::to_string(fd)});
        ADD_FAILURE() << "execv of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "exec'ing the fd-open helper for fd " + std::to_string(fd)});
}

// --- pipe(2): the two ends -------------------------------------------------------------------------

IPC_TEST(PipeEnds, DataWrittenToWriteEndIsReadFromReadEnd, "pipe.ends") {
  int fds[2] = {-1, -1};
  ASSERT_THAT(pipe(fds), SyscallSucceedsWithValue(0));
  FileDescriptor r(fds[0]), w(fds[1]);
  ASSERT_THAT(write(fds[1], "hello", 5), SyscallSucceedsWithValue(5));
  char buf[5] = {};
  ASSERT_THAT(ReadReady(fds[0], buf, sizeof buf), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "hello");
}

IPC_TEST(PipeEnds, ReturnsTwoDistinctOpenDescriptors, "pipe.ends") {
  int fds[2] = {-1, -1};
  ASSERT_THAT(pipe(fds), SyscallSucceedsWithValue(0));
  FileDescriptor r(fds[0]), w(fds[1]);
  EXPECT_GE(fds[0], 0);
  EXPECT_GE(fds[1], 0);
  EXPECT_NE(fds[0], fds[1]);
  EXPECT_TRUE(IsFdOpen(fds[0]));
  EXPECT_TRUE(IsFdOpen(fds[1]));
}

IPC_TEST(PipeEnds, ReadEndIsReadOnlyAndWriteEndIsWriteOnly, "pipe.ends") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int rfl = fcntl(p.read.get(), F_GETFL);
  int wfl = fcntl(p.write.get(), F_GETFL);
  ASSERT_THAT(rfl, SyscallSucceeds());
  ASSERT_THAT(wfl, SyscallSucceeds());
  EXPECT_EQ(rfl & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(wfl & O_ACCMODE, O_WRONLY);
}

// Pipes are unidirectional on Linux (pipe(7), Portability notes): the read end is not open for writing
// and the write end is not open for reading.
IPC_TEST(PipeEnds, ReadingTheWriteEndFailsWithEbadf, "pipe.read-write-end-ebadf") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  char buf[4];
  EXPECT_THAT(read(p.write.get(), buf, sizeof buf), SyscallFailsWithErrno(EBADF));
  // The failed read consumed nothing.
  EXPECT_EQ(Fionread(p.read.get()), 2);
}

IPC_TEST(PipeEnds, WritingTheReadEndFailsWithEbadf, "pipe.write-read-end-ebadf") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  EXPECT_THAT(write(p.read.get(), "ab", 2), SyscallFailsWithErrno(EBADF));
  // Nothing entered the pipe.
  EXPECT_EQ(Fionread(p.read.get()), 0);
  char buf[4];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeEnds, BothEndsAreFifosForFstat, "pipe.fstat-fifo") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  struct stat rs {};
  struct stat ws {};
  ASSERT_THAT(fstat(p.read.get(), &rs), SyscallSucceeds());
  ASSERT_THAT(fstat(p.write.get(), &ws), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(rs.st_mode)) << std::oct << rs.st_mode;
  EXPECT_TRUE(S_ISFIFO(ws.st_mode)) << std::oct << ws.st_mode;
}

IPC_TEST(PipeEnds, PipeBufIsAtLeast512AndIs4096OnLinux, "pipe.pipe-buf") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  static_assert(PIPE_BUF >= 512, "POSIX requires PIPE_BUF >= 512");
  EXPECT_EQ(PIPE_BUF, 4096);
  EXPECT_EQ(limits::PipeBuf(p.read.get()), PIPE_BUF);
  EXPECT_EQ(limits::PipeBuf(p.write.get()), PIPE_BUF);
}

// --- lseek(2), pread(2), pwrite(2): a pipe is not seekable -------------------------------------------

IPC_TEST(PipeSeek, LseekFailsWithEspipeOnBothEnds, "pipe.lseek-espipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(lseek(p.read.get(), 0, SEEK_SET), SyscallFailsWithErrno(ESPIPE));
  EXPECT_THAT(lseek(p.read.get(), 0, SEEK_CUR), SyscallFailsWithErrno(ESPIPE));
  EXPECT_THAT(lseek(p.write.get(), 0, SEEK_SET), SyscallFailsWithErrno(ESPIPE));
  EXPECT_THAT(lseek(p.write.get(), 0, SEEK_END), SyscallFailsWithErrno(ESPIPE));
}

IPC_TEST(PipeSeek, LseekOnAPipeHoldingDataLeavesTheDataUnread, "pipe.lseek-espipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  EXPECT_THAT(lseek(p.read.get(), 4, SEEK_SET), SyscallFailsWithErrno(ESPIPE));
  char buf[16] = {};
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(10));
  EXPECT_EQ(std::string(buf, 10), "0123456789");
}

IPC_TEST(PipeSeek, PreadFailsWithEspipeAndConsumesNothing, "pipe.pread-espipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  char buf[8];
  EXPECT_THAT(pread(p.read.get(), buf, sizeof buf, 0), SyscallFailsWithErrno(ESPIPE));
  EXPECT_EQ(Fionread(p.read.get()), 3);
}

IPC_TEST(PipeSeek, PwriteFailsWithEspipeAndWritesNothing, "pipe.pwrite-espipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  EXPECT_THAT(pwrite(p.write.get(), "abc", 3, 0), SyscallFailsWithErrno(ESPIPE));
  EXPECT_EQ(Fionread(p.read.get()), 0);
}

// --- FIONREAD ----------------------------------------------------------------------------------------

IPC_TEST(PipeFionread, EmptyPipeReportsZero, "pipe.fionread") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int n = -1;
  ASSERT_THAT(ioctl(p.read.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 0);
}

IPC_TEST(PipeFionread, CountsUnreadBytesAcrossWritesAndReads, "pipe.fionread") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  EXPECT_EQ(Fionread(p.read.get()), 3);
  ASSERT_THAT(write(p.write.get(), "defgh", 5), SyscallSucceedsWithValue(5));
  EXPECT_EQ(Fionread(p.read.get()), 8);
  char buf[2];
  ASSERT_THAT(read(p.read.get(), buf, 2), SyscallSucceedsWithValue(2));
  EXPECT_EQ(Fionread(p.read.get()), 6);
}

IPC_TEST(PipeFionread, WriteEndReportsTheSameCount, "pipe.fionread") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "0123456", 7), SyscallSucceedsWithValue(7));
  int n = -1;
  ASSERT_THAT(ioctl(p.write.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 7);
}

IPC_TEST(PipeFionread, FullPipeReportsEveryBufferedByte, "pipe.fionread") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  ASSERT_GT(filled, 0u);
  EXPECT_EQ(Fionread(p.read.get()), static_cast<int>(filled));
}

// --- pipe2(2) flags ----------------------------------------------------------------------------------

IPC_TEST(Pipe2Flags, ZeroFlagsGiveTheSameDescriptorsAsPipe, "pipe.pipe2-zero-flags") {
  int a[2] = {-1, -1};
  int b[2] = {-1, -1};
  ASSERT_THAT(pipe(a), SyscallSucceedsWithValue(0));
  FileDescriptor a0(a[0]), a1(a[1]);
  ASSERT_THAT(pipe2(b, 0), SyscallSucceedsWithValue(0));
  FileDescriptor b0(b[0]), b1(b[1]);
  for (int end = 0; end < 2; ++end) {
    EXPECT_EQ(fcntl(b[end], F_GETFL), fcntl(a[end], F_GETFL)) << "status flags of end " << end;
    EXPECT_EQ(fcntl(b[end], F_GETFD), fcntl(a[end], F_GETFD)) << "descriptor flags of end " << end;
    EXPECT_EQ(fcntl(b[end], F_GETFD) & FD_CLOEXEC, 0) << "end " << end;
    EXPECT_EQ(fcntl(b[end], F_GETFL) & (O_NONBLOCK | O_DIRECT), 0) << "end " << end;
  }
  // And it carries data from b[1] to b[0].
  ASSERT_THAT(write(b[1], "xyz", 3), SyscallSucceedsWithValue(3));
  char buf[3] = {};
  ASSERT_THAT(ReadReady(b[0], buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "xyz");
}

IPC_TEST(Pipe2Flags, CloexecSetsFdCloexecOnBothEnds, "pipe.pipe2-cloexec") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_CLOEXEC));
  EXPECT_EQ(fcntl(p.read.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(fcntl(p.write.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // O_CLOEXEC is a descriptor flag, not a status flag: O_NONBLOCK stays clear.
  EXPECT_EQ(fcntl(p.read.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_NONBLOCK, 0);
}

IPC_TEST(Pipe2Flags, CloexecReadEndIsClosedAcrossExec, "pipe.pipe2-cloexec") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_CLOEXEC));
  Child c = ExecFdOpen(p.read.get());
  c.ExpectExited(kHelperNo);
}

IPC_TEST(Pipe2Flags, CloexecWriteEndIsClosedAcrossExec, "pipe.pipe2-cloexec") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_CLOEXEC));
  Child c = ExecFdOpen(p.write.get());
  c.ExpectExited(kHelperNo);
}

IPC_TEST(Pipe2Flags, WithoutCloexecBothEndsSurviveExec, "pipe.no-cloexec-survives-exec") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child r = ExecFdOpen(p.read.get());
  r.ExpectExited(0);
  Child w = ExecFdOpen(p.write.get());
  w.ExpectExited(0);
}

IPC_TEST(Pipe2Flags, ExecedProgramWritesThroughInheritedWriteEnd, "pipe.no-cloexec-survives-exec") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int wfd = p.write.get();
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        ExecHelper({"write-byte", std::to_string(wfd)});
        ADD_FAILURE() << "execv of the helper failed with " << DescribeErrno(errno);
      },
      {.what = "exec'ing the write-byte helper"});
  c.ExpectExited(0);
  char b = 0;
  ASSERT_THAT(ReadReady(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'h');
}

IPC_TEST(Pipe2Flags, NonblockSetsONonblockOnBothEnds, "pipe.pipe2-nonblock") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  EXPECT_EQ(fcntl(p.read.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  // A status flag, not a descriptor flag: FD_CLOEXEC stays clear.
  EXPECT_EQ(fcntl(p.read.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(fcntl(p.write.get(), F_GETFD) & FD_CLOEXEC, 0);
}

IPC_TEST(Pipe2Flags, NonblockReadEndReturnsEagainInsteadOfBlocking, "pipe.pipe2-nonblock") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  // In a child: if the flag were not applied, the read would block until the deadline.
  Child c = Child::Spawn(
      [&] {
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
      },
      {.what = "reading an empty pipe2(O_NONBLOCK) pipe"});
  c.ExpectExited(0);
}

IPC_TEST(Pipe2Flags, NonblockWriteEndReturnsEagainWhenFull, "pipe.pipe2-nonblock") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  Child c = Child::Spawn(
      [&] {
        // Write without FillPipe (which sets O_NONBLOCK itself) until the pipe refuses.
        std::string chunk(PIPE_BUF, 'n');
        long total = 0;
        ssize_t n;
        while ((n = write(p.write.get(), chunk.data(), chunk.size())) > 0) total += n;
        EXPECT_THAT(n, SyscallFailsWithErrno(EAGAIN));
        EXPECT_EQ(total, fcntl(p.write.get(), F_GETPIPE_SZ));
      },
      {.what = "filling a pipe2(O_NONBLOCK) pipe"});
  c.ExpectExited(0);
}

IPC_TEST(Pipe2Flags, CombinedFlagsAreAllApplied, "pipe.pipe2-cloexec", "pipe.pipe2-nonblock",
         "pipe.direct-packets") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_CLOEXEC | O_NONBLOCK | O_DIRECT));
  for (int fd : {p.read.get(), p.write.get()}) {
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "fd " << fd;
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK) << "fd " << fd;
  }
  // Packet mode is a property of the writing side (Linux shows O_DIRECT on the write end only).
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_DIRECT, O_DIRECT);
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(write(p.write.get(), "cd", 2), SyscallSucceedsWithValue(2));
  char buf[8];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
}

// --- pipe2(2) and pipe(2) errors ---------------------------------------------------------------------

class Pipe2InvalidFlags : public ::testing::TestWithParam<int> {};

IPC_TEST_P(Pipe2InvalidFlags, FailsWithEinvalLeavingArrayAndDescriptorsUntouched, "pipe.pipe2-einval",
           "pipe.unchanged-on-failure") {
  int lowest = LowestFreeFd();
  ASSERT_GE(lowest, 0);
  int fds[2] = {-7, -9};
  EXPECT_THAT(pipe2(fds, GetParam()), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(fds[0], -7);
  EXPECT_EQ(fds[1], -9);
  // No descriptor was left behind.
  EXPECT_EQ(LowestFreeFd(), lowest);
}

// O_APPEND and O_ASYNC are open-file flags that pipe2() does not take; O_TRUNC is a creation flag;
// the last case mixes a valid flag with an invalid one, which must still be refused as a whole.
INSTANTIATE_TEST_SUITE_P(Flags, Pipe2InvalidFlags,
                         ::testing::Values(O_APPEND, O_ASYNC, O_TRUNC, O_NONBLOCK | O_SYNC),
                         [](const ::testing::TestParamInfo<int>& pi) {
                           switch (pi.param) {
                             case O_APPEND:
                               return std::string("OAppend");
                             case O_ASYNC:
                               return std::string("OAsync");
                             case O_TRUNC:
                               return std::string("OTrunc");
                             default:
                               return std::string("ONonblockWithOSync");
                           }
                         });

// EFAULT: the glibc wrappers pass the array straight to the kernel, so an unmapped array is reported
// as EFAULT. Run in a child: an implementation that dereferences the array itself would crash.
IPC_TEST(PipeErrors, PipeWithUnmappedArrayFailsWithEfault, "pipe.efault") {
  Child c = Child::Spawn(
      [] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        int lowest = LowestFreeFd();
        EXPECT_THAT(pipe(page.as<int>()), SyscallFailsWithErrno(EFAULT));
        // The descriptors the kernel made were released again.
        EXPECT_EQ(LowestFreeFd(), lowest);
      },
      {.what = "calling pipe() with an unmapped array"});
  c.ExpectExited(0);
}

IPC_TEST(PipeErrors, Pipe2WithUnmappedArrayFailsWithEfault, "pipe.efault") {
  Child c = Child::Spawn(
      [] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        int lowest = LowestFreeFd();
        EXPECT_THAT(pipe2(page.as<int>(), O_CLOEXEC), SyscallFailsWithErrno(EFAULT));
        EXPECT_EQ(LowestFreeFd(), lowest);
      },
      {.what = "calling pipe2() with an unmapped array"});
  c.ExpectExited(0);
}

IPC_TEST(PipeErrors, PipeFailsWithEmfileWhenOnlyOneDescriptorIsFree, "pipe.emfile",
         "pipe.unchanged-on-failure") {
  Child c = Child::Spawn(
      [] {
        std::vector<int> free_fds = LeaveOnlyFreeDescriptors(1);
        ASSERT_EQ(free_fds.size(), 1u) << DescribeErrno(errno);
        const int lowest = free_fds[0];
        int fds[2] = {-7, -9};
        EXPECT_THAT(pipe(fds), SyscallFailsWithErrno(EMFILE));
        EXPECT_EQ(fds[0], -7);
        EXPECT_EQ(fds[1], -9);
        // The one descriptor the kernel could allocate was not leaked.
        EXPECT_FALSE(IsFdOpen(lowest));
        EXPECT_EQ(LowestFreeFd(), lowest);
      },
      {.what = "calling pipe() with one free descriptor"});
  c.ExpectExited(0);
}

IPC_TEST(PipeErrors, Pipe2FailsWithEmfileWhenOnlyOneDescriptorIsFree, "pipe.emfile",
         "pipe.unchanged-on-failure") {
  Child c = Child::Spawn(
      [] {
        std::vector<int> free_fds = LeaveOnlyFreeDescriptors(1);
        ASSERT_EQ(free_fds.size(), 1u) << DescribeErrno(errno);
        const int lowest = free_fds[0];
        int fds[2] = {-7, -9};
        EXPECT_THAT(pipe2(fds, O_CLOEXEC | O_NONBLOCK), SyscallFailsWithErrno(EMFILE));
        EXPECT_EQ(fds[0], -7);
        EXPECT_EQ(fds[1], -9);
        EXPECT_FALSE(IsFdOpen(lowest));
      },
      {.what = "calling pipe2() with one free descriptor"});
  c.ExpectExited(0);
}

IPC_TEST(PipeErrors, PipeFailsWithEmfileWhenNoDescriptorIsFree, "pipe.emfile") {
  Child c = Child::Spawn(
      [] {
        ASSERT_FALSE(LeaveOnlyFreeDescriptors(0).empty()) << DescribeErrno(errno);
        int fds[2] = {-7, -9};
        EXPECT_THAT(pipe(fds), SyscallFailsWithErrno(EMFILE));
        EXPECT_EQ(fds[0], -7);
        EXPECT_EQ(fds[1], -9);
      },
      {.what = "calling pipe() with no free descriptor"});
  c.ExpectExited(0);
}

// The boundary of the EMFILE rule: with exactly two free descriptors pipe() succeeds and uses them.
IPC_TEST(PipeErrors, PipeSucceedsWhenExactlyTwoDescriptorsAreFree, "pipe.emfile", "pipe.ends") {
  Child c = Child::Spawn(
      [] {
        std::vector<int> free_fds = LeaveOnlyFreeDescriptors(2);
        ASSERT_EQ(free_fds.size(), 2u) << DescribeErrno(errno);
        int fds[2] = {-1, -1};
        ASSERT_THAT(pipe(fds), SyscallSucceedsWithValue(0));
        EXPECT_EQ(std::min(fds[0], fds[1]), free_fds[0]);
        EXPECT_EQ(std::max(fds[0], fds[1]), free_fds[1]);
        // Now the table is full.
        int more[2] = {-7, -9};
        EXPECT_THAT(pipe(more), SyscallFailsWithErrno(EMFILE));
      },
      {.what = "calling pipe() with two free descriptors"});
  c.ExpectExited(0);
}

// ENOPKG needs a kernel built without CONFIG_WATCH_QUEUE; with it, notification pipes are created.
IPC_TEST(PipeErrors, NotificationPipeFailsWithEnopkgWithoutWatchQueueSupport, "pipe.enopkg") {
  int fds[2] = {-7, -9};
  int r = pipe2(fds, O_NOTIFICATION_PIPE);
  int err = errno;
  if (r == 0) {
    close(fds[0]);
    close(fds[1]);
    GTEST_SKIP() << "this kernel supports notification pipes (CONFIG_WATCH_QUEUE=y); ENOPKG cannot occur";
  }
  EXPECT_EQ(r, -1);
  EXPECT_EQ(err, ENOPKG) << "pipe2(O_NOTIFICATION_PIPE) failed with " << DescribeErrno(err);
  EXPECT_EQ(fds[0], -7);
  EXPECT_EQ(fds[1], -9);
}

}  // namespace
}  // namespace ipc
