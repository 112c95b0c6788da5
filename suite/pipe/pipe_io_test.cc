// read(2), write(2), readv(2)/writev(2) on pipes in blocking mode: byte stream, order, blocking,
// how much a read returns, and interruption by signal handlers.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::ExpectZeroCountReadConsumesNothing;
using pipe_util::Fionread;
using pipe_util::Pattern;
using pipe_util::ReadReady;

// Reads until end of file with bounded waits; stops (returning what it has) on an error.
std::string ReadToEof(int fd, size_t chunk = 65536) {
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    ssize_t n = ReadReady(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) ADD_FAILURE() << "read while draining failed with " << DescribeErrno(errno);
      return out;
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
}

// A signal handler that reports its run through a pipe, so the parent knows the handler has run
// (write(2) is async-signal-safe).
int g_notify_fd = -1;
void NotifyingHandler(int) {
  int saved = errno;
  if (write(g_notify_fd, "s", 1) < 0) {
  }
  errno = saved;
}

// --- byte stream and order --------------------------------------------------------------------------

// The pipes that a test reads with a buffer larger than the data are non-blocking in this process, so
// that a read which wrongly waits for more becomes a failure instead of a hang.

IPC_TEST(PipeIo, SeparateWritesAreReadAsOneByteStream, "pipe.byte-stream", "pipe.read-returns-available") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(write(p.write.get(), "defg", 4), SyscallSucceedsWithValue(4));
  char buf[100];
  // No message boundaries: one read returns the bytes of both writes.
  ASSERT_THAT(ReadReady(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(7));
  EXPECT_EQ(std::string(buf, 7), "abcdefg");
}

IPC_TEST(PipeIo, OneWriteCanBeReadInPieces, "pipe.byte-stream") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  char buf[10];
  ASSERT_THAT(ReadReady(p.read.get(), buf, 4), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "0123");
  // The rest of the write is still there (unlike packet mode, nothing is discarded).
  EXPECT_EQ(Fionread(p.read.get()), 6);
  ASSERT_THAT(ReadReady(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(buf, 6), "456789");
}

IPC_TEST(PipeIo, BytesAreReadInTheOrderTheyWereWritten, "pipe.data-order") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  std::string all = Pattern(20000, 3);
  std::string got;
  // Interleave writes and reads of unrelated sizes.
  size_t written = 0;
  const size_t wsizes[] = {1, 4095, 4097, 333, 7000, 10, 4474};
  const size_t rsizes[] = {5, 3000, 1, 8191, 2000};
  size_t wi = 0, ri = 0;
  while (got.size() < all.size()) {
    if (written < all.size()) {
      size_t n = std::min(wsizes[wi++ % std::size(wsizes)], all.size() - written);
      ASSERT_THAT(write(p.write.get(), all.data() + written, n), SyscallSucceedsWithValue(n));
      written += n;
    }
    char buf[8192];
    size_t want = std::min(rsizes[ri++ % std::size(rsizes)], sizeof buf);
    ssize_t r = ReadReady(p.read.get(), buf, want);
    ASSERT_THAT(r, SyscallSucceeds());
    ASSERT_GT(r, 0);
    got.append(buf, static_cast<size_t>(r));
  }
  EXPECT_TRUE(got == all) << "the bytes came out in a different order";
}

IPC_TEST(PipeIo, TransferLargerThanCapacityKeepsOrder, "pipe.data-order", "pipe.blocking-large-complete") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  long cap = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(cap, 0);
  const std::string data = Pattern(static_cast<size_t>(cap) * 5 + 123, 9);
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        // Several writes, each larger than PIPE_BUF and the last larger than the capacity.
        size_t off = 0;
        for (size_t n : {size_t{10000}, size_t{5000}, data.size() - 15000}) {
          EXPECT_THAT(write(p.write.get(), data.data() + off, n), SyscallSucceedsWithValue(n));
          off += n;
        }
      },
      {.what = "writing five pipe capacities"});
  p.write.Close();
  std::string got = ReadToEof(p.read.get(), 1000);
  c.ExpectExited(0);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "data differs from what was written";
}

// --- how much a read returns ------------------------------------------------------------------------

IPC_TEST(PipeIo, ReadReturnsTheAvailableBytesWithoutWaitingForMore, "pipe.read-returns-available") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  // A blocking read in a child, with the write end still open: it must return 3 rather than wait.
  Child c = Child::Spawn(
      [&] {
        char buf[100];
        ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
        EXPECT_EQ(std::string(buf, 3), "abc");
      },
      {.what = "reading 100 bytes from a pipe holding 3"});
  c.ExpectExited(0);
}

IPC_TEST(PipeIo, BlockedReadReturnsWhatArrivesWithoutWaitingForTheFullCount, "pipe.read-returns-available",
         "pipe.read-blocks-empty") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        char buf[100];
        ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(5));
        EXPECT_EQ(std::string(buf, 5), "hello");
      },
      {.what = "reading 100 bytes from an empty pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(p.write.get(), "hello", 5), SyscallSucceedsWithValue(5));
  c.ExpectExited(0);
}

IPC_TEST(PipeIo, ZeroCountReadReturnsZeroAndConsumesNothing, "pipe.read-zero-count") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ExpectZeroCountReadConsumesNothing(p, "hello");
}

IPC_TEST(PipeIo, ZeroCountReadOnEmptyPipeReturnsZeroWithoutBlocking, "pipe.read-zero-count") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  // Blocking descriptor, writer still open: a read of 0 bytes must not wait for data.
  Child c = Child::Spawn(
      [&] {
        char buf[1];
        EXPECT_THAT(read(p.read.get(), buf, 0), SyscallSucceedsWithValue(0));
      },
      {.what = "reading 0 bytes from an empty pipe"});
  c.ExpectExited(0);
}

// --- blocking ---------------------------------------------------------------------------------------

IPC_TEST(PipeIo, ReadOnEmptyPipeBlocksUntilDataArrives, "pipe.read-blocks-empty") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.write.Close();
        char b = 0;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'y');
      },
      {.what = "reading an empty pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(p.write.get(), "y", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST(PipeIo, WriteToFullPipeBlocksUntilDataIsRead, "pipe.write-blocks-full") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        EXPECT_THAT(write(p.write.get(), "Z", 1), SyscallSucceedsWithValue(1));
      },
      {.what = "writing one byte to a full pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  // While blocked, nothing was added.
  EXPECT_EQ(Fionread(p.read.get()), static_cast<int>(filled));
  // Reading one PIPE_BUF-sized chunk makes room; the writer completes.
  std::vector<char> buf(PIPE_BUF);
  ASSERT_THAT(ReadReady(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(PIPE_BUF));
  c.ExpectExited(0);
  p.write.Close();
  std::string rest = ReadToEof(p.read.get());
  ASSERT_EQ(rest.size(), filled - PIPE_BUF + 1);
  EXPECT_EQ(rest.back(), 'Z');
}

// A blocking write of n <= PIPE_BUF bytes is atomic: when there is room for some but not all n bytes
// it waits and writes nothing meanwhile. The pipe is one page; 4000 bytes leave 96 bytes of room.
class PipeBlockingSmallWrite : public ::testing::TestWithParam<size_t> {};

IPC_TEST_P(PipeBlockingSmallWrite, WaitsForRoomAndWritesAllBytesContiguously, "pipe.atomic-blocking-small",
           "pipe.write-blocks-full") {
  const size_t n = GetParam();
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  const long page = static_cast<long>(Page());
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, page), SyscallSucceedsWithValue(page));
  const std::string head(4000, 'h');
  ASSERT_THAT(write(p.write.get(), head.data(), head.size()), SyscallSucceedsWithValue(4000));
  const std::string rec = Pattern(n, 77);
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        EXPECT_THAT(write(p.write.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(n));
      },
      {.what = "writing " + std::to_string(n) + " bytes into a pipe with 96 bytes free"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  // No part of the record went in while the writer waits.
  EXPECT_EQ(Fionread(p.read.get()), 4000);
  p.write.Close();
  std::string got = ReadToEof(p.read.get(), 1000);
  c.ExpectExited(0);
  EXPECT_TRUE(got == head + rec) << "got " << got.size()
                                 << " bytes; expected the 4000-byte head then the record";
}

INSTANTIATE_TEST_SUITE_P(Sizes, PipeBlockingSmallWrite, ::testing::Values(size_t{200}, size_t{PIPE_BUF}),
                         [](const ::testing::TestParamInfo<size_t>& pi) {
                           return pi.param == PIPE_BUF ? std::string("PipeBuf")
                                                       : "Bytes" + std::to_string(pi.param);
                         });

IPC_TEST(PipeIo, BlockingWriteLargerThanCapacityReturnsOnlyWhenAllIsWritten, "pipe.blocking-large-complete") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  long cap = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(cap, 0);
  const std::string data = Pattern(static_cast<size_t>(cap) * 3 + 1, 5);
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        EXPECT_THAT(write(p.write.get(), data.data(), data.size()), SyscallSucceedsWithValue(data.size()));
      },
      {.what = "writing three pipe capacities at once"});
  // The writer stays in write(2) while the data does not fit.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  EXPECT_EQ(Fionread(p.read.get()), cap);
  p.write.Close();
  std::string got = ReadToEof(p.read.get());
  c.ExpectExited(0);
  EXPECT_TRUE(got == data) << "got " << got.size() << " of " << data.size() << " bytes";
}

// --- readv(2) / writev(2) ---------------------------------------------------------------------------

IPC_TEST(PipeIo, WritevWritesBuffersInArrayOrder, "pipe.writev-order") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  char a[] = "first-", b[] = "second-", c[] = "third";
  struct iovec iov[3] = {{a, 6}, {b, 7}, {c, 5}};
  ASSERT_THAT(writev(p.write.get(), iov, 3), SyscallSucceedsWithValue(18));
  char buf[32];
  ASSERT_THAT(ReadReady(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(18));
  EXPECT_EQ(std::string(buf, 18), "first-second-third");
}

IPC_TEST(PipeIo, ReadvFillsBuffersInArrayOrderWithTheAvailableBytes, "pipe.readv-order",
         "pipe.read-returns-available") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  char a[3] = {}, b[4] = {}, c[100] = {};
  struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
  struct pollfd pfd = {p.read.get(), POLLIN, 0};
  ASSERT_THAT(poll(&pfd, 1, 5000), SyscallSucceedsWithValue(1));
  ASSERT_THAT(readv(p.read.get(), iov, 3), SyscallSucceedsWithValue(10));
  EXPECT_EQ(std::string(a, 3), "012");
  EXPECT_EQ(std::string(b, 4), "3456");
  EXPECT_EQ(std::string(c, 3), "789");
}

// --- interruption by signal handlers ----------------------------------------------------------------

IPC_TEST(PipeSignalsIo, BlockedReadInterruptedByHandlerFailsWithEintr, "pipe.read-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1);  // no SA_RESTART
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "reading an empty pipe until SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(PipeSignalsIo, BlockedWriteInterruptedBeforeAnyDataFailsWithEintr, "pipe.write-eintr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
        int n = -1;
        ASSERT_THAT(ioctl(p.read.get(), FIONREAD, &n), SyscallSucceeds());
        EXPECT_EQ(static_cast<size_t>(n), filled) << "the interrupted write added data";
      },
      {.what = "writing to a full pipe until SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// signal(7): a slow-device call interrupted after transferring data returns the bytes transferred.
IPC_TEST(PipeSignalsIo, BlockedWriteInterruptedAfterPartialTransferReturnsTheCount,
         "pipe.write-partial-signal") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        long cap = fcntl(p.write.get(), F_GETPIPE_SZ);
        ASSERT_GT(cap, 0);
        std::string data = Pattern(static_cast<size_t>(cap) + 2 * PIPE_BUF, 1);
        SignalCounter usr1(SIGUSR1);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ssize_t n = write(p.write.get(), data.data(), data.size());
        EXPECT_EQ(usr1.count(), 1);
        ASSERT_THAT(n, SyscallSucceeds());
        EXPECT_GT(n, 0);
        EXPECT_LT(n, static_cast<ssize_t>(data.size()));
        // The count is exactly what entered the pipe.
        int in_pipe = -1;
        ASSERT_THAT(ioctl(p.read.get(), FIONREAD, &in_pipe), SyscallSucceeds());
        EXPECT_EQ(in_pipe, n);
        std::string got(static_cast<size_t>(n), '\0');
        ASSERT_TRUE(ReadAll(p.read.get(), got.data(), got.size()));
        EXPECT_TRUE(got == data.substr(0, static_cast<size_t>(n))) << "the transferred prefix differs";
      },
      {.what = "writing more than the capacity until SIGUSR1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

// signal(7): with SA_RESTART a blocked pipe read resumes after the handler instead of failing.
IPC_TEST(PipeSignalsIo, BlockedReadResumesAfterSaRestartHandler, "pipe.sa-restart") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it runs signal handlers at its own safe points, not inside the interrupted blocking call");
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe note, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        g_notify_fd = note.write.get();
        ScopedSigaction act(SIGUSR1, NotifyingHandler, SA_RESTART);
        ASSERT_TRUE(act.ok());
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        char buf[8];
        ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
        EXPECT_EQ(std::string(buf, 2), "ok");
      },
      {.what = "reading an empty pipe with an SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  char s;
  ASSERT_THAT(ReadReady(note.read.get(), &s, 1), SyscallSucceedsWithValue(1)) << "the handler did not run";
  // The handler has run; the read must be waiting again, not failed with EINTR.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(p.write.get(), "ok", 2), SyscallSucceedsWithValue(2));
  c.ExpectExited(0);
}

IPC_TEST(PipeSignalsIo, BlockedWriteResumesAfterSaRestartHandler, "pipe.sa-restart") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it runs signal handlers at its own safe points, not inside the interrupted blocking call");
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe note, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        g_notify_fd = note.write.get();
        ScopedSigaction act(SIGUSR1, NotifyingHandler, SA_RESTART);
        ASSERT_TRUE(act.ok());
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(write(p.write.get(), "W", 1), SyscallSucceedsWithValue(1));
      },
      {.what = "writing to a full pipe with an SA_RESTART handler"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  char s;
  ASSERT_THAT(ReadReady(note.read.get(), &s, 1), SyscallSucceedsWithValue(1)) << "the handler did not run";
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  p.write.Close();
  std::string got = ReadToEof(p.read.get());
  c.ExpectExited(0);
  ASSERT_EQ(got.size(), filled + 1);
  EXPECT_EQ(got.back(), 'W');
}

}  // namespace
}  // namespace ipc
