// pipe(7) "I/O on pipes and FIFOs": end of file once every write end is closed, SIGPIPE/EPIPE once
// every read end is closed, also for descriptors duplicated by dup(2) and fork(2) and for callers
// blocked in read(2)/write(2) when the other side goes away.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::ReadReady;

// --- end of file ------------------------------------------------------------------------------------

IPC_TEST(PipeEof, ReadReturnsBufferedDataThenZero, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  // Blocking reads in a child: a missing end of file would block until the deadline.
  Child c = Child::Spawn(
      [&] {
        char buf[8];
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
        EXPECT_EQ(std::string(buf, 3), "abc");
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
        // End of file persists.
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
      },
      {.what = "reading a pipe whose writer closed"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEof, EmptyPipeWithNoWriterReadsZeroAtOnce, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "reading an empty pipe without writers"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEof, NonblockingReaderGetsBufferedDataThenZeroNotEagain, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "abcde", 5), SyscallSucceedsWithValue(5));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  char buf[8];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "abcde");
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipeEof, NonblockingReaderSeesEagainWhileAWriterRemainsThenZero, "pipe.eof-after-last-writer",
         "pipe.read-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  char b;
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipeEof, EofOnlyAfterTheDupOfTheWriteEndIsClosedToo, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  FileDescriptor dup_w(dup(p.write.get()));
  ASSERT_TRUE(dup_w.valid()) << DescribeErrno(errno);
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  char b;
  // The duplicate still refers to the write end: no end of file yet.
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(write(dup_w.get(), "d", 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'd');
  ASSERT_THAT(dup_w.Close(), SyscallSucceeds());
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipeEof, EofOnlyAfterAForkedChildClosesItsCopyOfTheWriteEnd, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());
  // The child keeps its copy of the write end until `hold` reaches end of file.
  Child c = Child::Spawn(
      [&] {
        hold.write.Close();
        p.read.Close();
        ASSERT_THAT(write(p.write.get(), "c", 1), SyscallSucceedsWithValue(1));
        char b;
        EXPECT_THAT(read(hold.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "holding the write end of a pipe"});
  hold.read.Close();
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  char b = 0;
  ASSERT_THAT(ReadReady(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'c');
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN))
      << "end of file while the child holds the write end";
  ASSERT_THAT(hold.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipeEof, BlockedReaderIsWokenWithZeroWhenTheLastWriterCloses, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.write.Close();
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "reading an empty pipe until its writer closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

// Closing one of two write descriptors must not wake the blocked reader with end of file: the byte
// written after that close is what its read returns.
IPC_TEST(PipeEof, BlockedReaderGetsNoEofWhileADuplicateWriteEndRemains, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  FileDescriptor dup_w(dup(p.write.get()));
  ASSERT_TRUE(dup_w.valid()) << DescribeErrno(errno);
  Child c = Child::Spawn(
      [&] {
        p.write.Close();
        dup_w.Close();
        char b = 0;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1))
            << "woken with end of file too early";
        EXPECT_EQ(b, 'x');
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "reading while two write descriptors exist"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  // Still asleep: a wrong end of file would have woken it (and its first read would return 0).
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(dup_w.get(), "x", 1), SyscallSucceedsWithValue(1));
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(dup_w.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

// --- SIGPIPE and EPIPE ------------------------------------------------------------------------------

IPC_TEST(PipeEpipe, DefaultActionKillsWriterWithSigpipe, "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        (void)write(p.write.get(), "x", 1);
        ADD_FAILURE() << "write to a pipe with no reader returned instead of raising SIGPIPE";
      },
      {.what = "writing to a pipe with no reader"});
  c.ExpectKilledBy(SIGPIPE);
}

IPC_TEST(PipeEpipe, CaughtSigpipeIsRaisedOnceAndWriteFailsWithEpipe, "pipe.epipe-no-reader",
         "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing to a pipe with no reader, SIGPIPE caught"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, IgnoredSigpipeWriteFailsWithEpipeAndNothingIsPending, "pipe.epipe-no-reader",
         "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction ign(SIGPIPE, SIG_IGN);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
        // Nothing shows up later either.
        SignalCounter sigpipe(SIGPIPE);
        EXPECT_EQ(sigpipe.count(), 0);
      },
      {.what = "writing to a pipe with no reader, SIGPIPE ignored"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, BlockedSigpipeWriteFailsWithEpipeAndLeavesTheSignalPendingOnce, "pipe.epipe-no-reader",
         "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        {
          ScopedSigmask block(SIG_BLOCK, SIGPIPE);
          EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
          EXPECT_TRUE(IsSignalPending(SIGPIPE));
          EXPECT_EQ(sigpipe.count(), 0);
        }  // unblocked here: the pending signal is delivered
        EXPECT_EQ(sigpipe.count(), 1);
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
      },
      {.what = "writing to a pipe with no reader, SIGPIPE blocked"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, EveryFailingWriteRaisesItsOwnSigpipe, "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        for (int i = 1; i <= 3; ++i) {
          EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
          EXPECT_EQ(sigpipe.count(), i);
        }
      },
      {.what = "writing three times to a pipe with no reader"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WritevWithNoReaderRaisesOneSigpipeAndFailsWithEpipe, "pipe.epipe-no-reader",
         "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        char a[] = "ab", b[] = "cd";
        struct iovec iov[2] = {{a, 2}, {b, 2}};
        EXPECT_THAT(writev(p.write.get(), iov, 2), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writev to a pipe with no reader"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WritevWithNoReaderDefaultActionKills, "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  p.read.Close();
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        char a[] = "ab";
        struct iovec iov[1] = {{a, 2}};
        (void)writev(p.write.get(), iov, 1);
        ADD_FAILURE() << "writev to a pipe with no reader returned instead of raising SIGPIPE";
      },
      {.what = "writev to a pipe with no reader"});
  c.ExpectKilledBy(SIGPIPE);
}

IPC_TEST(PipeEpipe, SuccessfulWriteRaisesNoSigpipe, "pipe.no-sigpipe-with-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "ok", 2), SyscallSucceedsWithValue(2));
        EXPECT_EQ(sigpipe.count(), 0);
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
      },
      {.what = "writing to a pipe with a reader"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WriteSucceedsWhileADuplicateReadEndRemains, "pipe.no-sigpipe-with-reader",
         "pipe.epipe-no-reader") {
  Child c = Child::Spawn(
      [] {
        // The pipe is made here so that no other process holds a copy of its read end.
        ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        FileDescriptor dup_r(dup(p.read.get()));
        ASSERT_TRUE(dup_r.valid());
        ASSERT_THAT(p.read.Close(), SyscallSucceeds());
        EXPECT_THAT(write(p.write.get(), "a", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigpipe.count(), 0);
        ASSERT_THAT(dup_r.Close(), SyscallSucceeds());
        EXPECT_THAT(write(p.write.get(), "b", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing while a duplicate read end exists"});
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WriteSucceedsWhileAnotherProcessHoldsTheReadEnd, "pipe.no-sigpipe-with-reader",
         "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe hold, Pipe::Create());  // the holder exits when this reaches end of file
  ASSERT_OK_AND_ASSIGN(Pipe go, Pipe::Create());    // the writer's second write waits for this
  Child holder = Child::Spawn(
      [&] {
        hold.write.Close();
        go.write.Close();
        p.write.Close();
        char b;
        EXPECT_THAT(read(hold.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "holding the read end of a pipe"});
  Child writer = Child::Spawn(
      [&] {
        hold.write.Close();
        go.write.Close();
        p.read.Close();
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "a", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigpipe.count(), 0);
        char b;
        ASSERT_THAT(read(go.read.get(), &b, 1), SyscallSucceedsWithValue(0));
        EXPECT_THAT(write(p.write.get(), "b", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing while another process holds the read end"});
  p.read.Close();
  p.write.Close();
  go.read.Close();
  hold.read.Close();
  // The writer's first write has happened once it waits for `go`.
  ASSERT_TRUE(WaitUntilBlockedIn(writer.pid(), SYS_read));
  ASSERT_THAT(hold.write.Close(), SyscallSucceeds());
  holder.ExpectExited(0);
  ASSERT_THAT(go.write.Close(), SyscallSucceeds());
  writer.ExpectExited(0);
}

// --- the last reader goes away while a writer is blocked --------------------------------------------

IPC_TEST(PipeEpipe, WriterBlockedOnFullPipeGetsEpipeWhenTheLastReaderCloses, "pipe.epipe-no-reader",
         "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
        ASSERT_GT(filled, 0u);
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing to a full pipe until its reader closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WriterBlockedOnFullPipeIsKilledWhenTheLastReaderCloses, "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
        ASSERT_GT(filled, 0u);
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        (void)write(p.write.get(), "x", 1);
        ADD_FAILURE() << "the blocked write returned instead of raising SIGPIPE";
      },
      {.what = "writing to a full pipe until its reader closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  c.ExpectKilledBy(SIGPIPE);
}

// A blocked write that already moved some bytes when the last reader goes away reports those bytes
// (write(2): a successful write may transfer fewer than count bytes); SIGPIPE is still raised, and
// the next write fails with EPIPE.
IPC_TEST(PipeEpipe, BlockedWriterThatTransferredSomeBytesReturnsTheirCount, "pipe.write-partial-then-epipe",
         "pipe.epipe-no-reader") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe ctl, Pipe::Create());  // the parent tells the child how many bytes went in
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        ctl.write.Close();
        long cap = fcntl(p.write.get(), F_GETPIPE_SZ);
        ASSERT_GT(cap, 0);
        std::string data(static_cast<size_t>(cap) + 3 * PIPE_BUF, 'w');
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        ssize_t n = write(p.write.get(), data.data(), data.size());
        int in_pipe = -1;
        ASSERT_TRUE(ReadAll(ctl.read.get(), &in_pipe, sizeof in_pipe));
        ASSERT_THAT(n, SyscallSucceeds());
        EXPECT_EQ(n, in_pipe) << "the count differs from the bytes that entered the pipe";
        EXPECT_EQ(sigpipe.count(), 1);
        EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 2);
      },
      {.what = "writing more than the capacity until the reader closes"});
  ctl.read.Close();
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  int in_pipe = -1;
  ASSERT_THAT(ioctl(p.read.get(), FIONREAD, &in_pipe), SyscallSucceeds());
  EXPECT_GT(in_pipe, 0);
  ASSERT_TRUE(WriteAll(ctl.write.get(), &in_pipe, sizeof in_pipe));
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(PipeEpipe, WritevBlockedOnFullPipeGetsEpipeWhenTheLastReaderCloses, "pipe.write-epipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.read.Close();
        ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
        ASSERT_GT(filled, 0u);
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        char a[] = "ab", b[] = "cd";
        struct iovec iov[2] = {{a, 2}, {b, 2}};
        EXPECT_THAT(writev(p.write.get(), iov, 2), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writev to a full pipe until its reader closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_writev));
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
