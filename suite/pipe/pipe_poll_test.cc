// poll(2) readiness on pipes (poll(2) DESCRIPTION, pipe(7)): POLLIN on the read end while data is
// buffered, POLLOUT on the write end while there is room, POLLHUP on the read end once every write end is
// closed, POLLERR on the write end once every read end is closed, POLLNVAL for a closed descriptor, and a
// poll blocked on a pipe woken by the event. Rules: suite/rules/pipe.ini.
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/poll.h"
#include "pipe_util.h"

namespace ipc {
namespace {

::testing::AssertionResult BlockedInPoll(pid_t pid) {
  return WaitUntilBlockedInOneOf(pid, {SYS_poll, SYS_ppoll});
}

// --- readiness of a quiet pipe ----------------------------------------------------------------------

IPC_TEST(PipePoll, EmptyPipeReadEndIsNotReadable, "pipe.poll-pollin") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), 0) << "an empty pipe with a writer has nothing to read";
}

IPC_TEST(PipePoll, EmptyPipeWriteEndIsWritable, "pipe.poll-pollout") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_EQ(PollNow(p.write.get(), POLLOUT), POLLOUT);
}

IPC_TEST(PipePoll, BufferedDataMakesTheReadEndReadableUntilConsumed, "pipe.poll-pollin") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLIN);
  char buf[2];
  ASSERT_THAT(read(p.read.get(), buf, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLIN) << "one byte is still buffered";
  ASSERT_THAT(read(p.read.get(), buf, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), 0) << "the pipe is empty again";
}

IPC_TEST(PipePoll, FullPipeWriteEndIsNotWritableUntilDrained, "pipe.poll-pollout") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  EXPECT_EQ(PollNow(p.write.get(), POLLOUT), 0) << "the pipe holds " << filled << " bytes and is full";
  std::string drain(filled, '\0');
  ASSERT_TRUE(ReadAll(p.read.get(), drain.data(), filled)) << DescribeErrno(errno);
  EXPECT_EQ(PollNow(p.write.get(), POLLOUT), POLLOUT);
}

IPC_TEST(PipePoll, ReadEndNeverReportsPolloutAndWriteEndNeverPollin, "pipe.poll-pollin",
         "pipe.poll-pollout") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "x", 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(PollNow(p.read.get(), POLLIN | POLLOUT), POLLIN);
  EXPECT_EQ(PollNow(p.write.get(), POLLIN | POLLOUT), POLLOUT);
}

// --- POLLHUP: every write end closed ----------------------------------------------------------------

IPC_TEST(PipePoll, LastWriterClosedGivesPollhup, "pipe.poll-pollhup") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLHUP) << "empty and no writer: hang-up, nothing to read";
}

IPC_TEST(PipePoll, PollhupWithBufferedDataKeepsPollinUntilDrained, "pipe.poll-pollhup", "pipe.poll-pollin") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLIN | POLLHUP);
  char buf[4];
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLHUP);
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipePoll, PollhupOnlyOnceEveryWriteEndIsClosed, "pipe.poll-pollhup") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  FileDescriptor dup_w(dup(p.write.get()));
  ASSERT_TRUE(dup_w.valid()) << DescribeErrno(errno);
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), 0) << "the duplicate still refers to the write end";
  ASSERT_THAT(dup_w.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.read.get(), POLLIN), POLLHUP);
}

IPC_TEST(PipePoll, PollhupAndPollerrAreReportedWithoutBeingRequested, "pipe.poll-pollhup",
         "pipe.poll-pollerr") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(a.write.Close(), SyscallSucceeds());
  ASSERT_THAT(b.read.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(a.read.get(), 0), POLLHUP) << "POLLHUP is ignored in events but always reported";
  EXPECT_EQ(PollNow(b.write.get(), 0), POLLERR) << "POLLERR is ignored in events but always reported";
}

// --- POLLERR: every read end closed -----------------------------------------------------------------

IPC_TEST(PipePoll, LastReaderClosedGivesPollerrOnTheWriteEnd, "pipe.poll-pollerr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_EQ(PollNow(p.write.get(), POLLOUT) & POLLERR, 0);
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  int rev = PollNow(p.write.get(), POLLOUT);
  ASSERT_THAT(rev, SyscallSucceeds());
  EXPECT_TRUE(rev & POLLERR) << "revents " << rev;
}

IPC_TEST(PipePoll, PollerrOnlyOnceEveryReadEndIsClosed, "pipe.poll-pollerr") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  FileDescriptor dup_r(dup(p.read.get()));
  ASSERT_TRUE(dup_r.valid()) << DescribeErrno(errno);
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.write.get(), 0), 0) << "the duplicate still refers to the read end";
  ASSERT_THAT(dup_r.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(p.write.get(), 0), POLLERR);
}

// --- POLLNVAL ---------------------------------------------------------------------------------------

IPC_TEST(PipePoll, ClosedEndGivesPollnval, "pipe.poll-pollnval") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  const int fd = p.read.get();
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  ASSERT_FALSE(IsFdOpen(fd));
  EXPECT_EQ(PollNow(fd, POLLIN), POLLNVAL);
}

// --- a blocked poll is woken by the event -----------------------------------------------------------

IPC_TEST(PipePoll, BlockedPollWakesWithPollinWhenDataArrives, "pipe.poll-pollin", "pipe.poll-wakes") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn([&] { EXPECT_EQ(PollFor(p.read.get(), POLLIN, milliseconds(10000)), POLLIN); },
                         {.deadline = milliseconds(15000), .what = "polling an empty pipe"});
  ASSERT_TRUE(BlockedInPoll(c.pid()));
  ASSERT_THAT(write(p.write.get(), "x", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST(PipePoll, BlockedPollWakesWithPollhupWhenTheLastWriterCloses, "pipe.poll-pollhup",
         "pipe.poll-wakes") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(p.write.Close(), SyscallSucceeds());
        EXPECT_EQ(PollFor(p.read.get(), POLLIN, milliseconds(10000)), POLLHUP);
      },
      {.deadline = milliseconds(15000), .what = "polling a pipe until its writer closes"});
  ASSERT_TRUE(BlockedInPoll(c.pid()));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(PipePoll, BlockedPollOnAFullPipeWakesWithPolloutWhenDrained, "pipe.poll-pollout",
         "pipe.poll-wakes") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  Child c = Child::Spawn([&] { EXPECT_EQ(PollFor(p.write.get(), POLLOUT, milliseconds(10000)), POLLOUT); },
                         {.deadline = milliseconds(15000), .what = "polling a full pipe for room"});
  ASSERT_TRUE(BlockedInPoll(c.pid()));
  std::string drain(filled, '\0');
  ASSERT_TRUE(ReadAll(p.read.get(), drain.data(), filled)) << DescribeErrno(errno);
  c.ExpectExited(0);
}

IPC_TEST(PipePoll, BlockedPollOnAFullPipeWakesWithPollerrWhenTheLastReaderCloses, "pipe.poll-pollerr",
         "pipe.poll-wakes") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));
  (void)filled;
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(p.read.Close(), SyscallSucceeds());
        int rev = PollFor(p.write.get(), POLLOUT, milliseconds(10000));
        ASSERT_THAT(rev, SyscallSucceeds());
        EXPECT_TRUE(rev & POLLERR) << "revents " << rev;
      },
      {.deadline = milliseconds(15000), .what = "polling a full pipe until its reader closes"});
  ASSERT_TRUE(BlockedInPoll(c.pid()));
  ASSERT_THAT(p.read.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
