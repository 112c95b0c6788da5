// pipe(7) "I/O on pipes and FIFOs": when the last write end is closed, every reader blocked in read(2) on
// the pipe sees end of file, not just one of them (LTP pipe13). Rules: suite/rules/pipe.ini.
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

// Starts `n` children that each close their copy of the write end and block in read(2) on the read end,
// waits until all of them are blocked, then closes the last write end: each must read 0.
void ExpectEveryBlockedReaderGetsEof(int n) {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  std::vector<Child> readers;
  for (int i = 0; i < n; ++i) {
    readers.push_back(Child::Spawn(
        [&] {
          ASSERT_THAT(p.write.Close(), SyscallSucceeds());
          char b;
          EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
        },
        {.deadline = milliseconds(15000), .what = "blocking in read until the last writer closes"}));
  }
  for (Child& c : readers) ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  for (Child& c : readers) c.ExpectExited(0);
}

IPC_TEST(PipeEofReaders, OneBlockedReaderGetsEndOfFile, "pipe.eof-wakes-every-reader") {
  ExpectEveryBlockedReaderGetsEof(1);
}

IPC_TEST(PipeEofReaders, EveryOneOfFourBlockedReadersGetsEndOfFile, "pipe.eof-wakes-every-reader") {
  ExpectEveryBlockedReaderGetsEof(4);
}

IPC_TEST(PipeEofReaders, EveryOneOfSixteenBlockedReadersGetsEndOfFile, "pipe.eof-wakes-every-reader") {
  ExpectEveryBlockedReaderGetsEof(16);
}

IPC_TEST(PipeEofReaders, AReaderThatConsumedTheDataAndAFreshReaderBothGetEndOfFile,
         "pipe.eof-wakes-every-reader", "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  // The first reader takes both bytes and blocks in its second read; only then does the second start.
  Child first = Child::Spawn(
      [&] {
        ASSERT_THAT(p.write.Close(), SyscallSucceeds());
        char buf[4];
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
        EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
      },
      {.deadline = milliseconds(15000), .what = "reading the data, then blocking until end of file"});
  ASSERT_TRUE(WaitUntilBlockedIn(first.pid(), SYS_read));
  Child second = Child::Spawn(
      [&] {
        ASSERT_THAT(p.write.Close(), SyscallSucceeds());
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.deadline = milliseconds(15000), .what = "blocking in read until the last writer closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(second.pid(), SYS_read));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  first.ExpectExited(0);
  second.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
