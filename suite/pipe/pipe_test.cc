// pipe(7), pipe(2), pipe2(2), read(2), write(2) conformance.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

IPC_TEST(PipeEof, ReadReturnsBufferedDataThenZero, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  char buf[8];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

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

IPC_TEST(PipeBlocking, ReaderBlocksInReadUntilData, "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        p.write.Close();
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
      },
      {.what = "reading an empty pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(p.write.get(), "y", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
