// pipe(7) "PIPE_BUF" and "Pipe capacity" with O_NONBLOCK: EAGAIN instead of blocking, the
// all-or-nothing rule for writes of at most PIPE_BUF bytes, partial writes above PIPE_BUF; fcntl(2)
// F_SETFL O_NONBLOCK; O_ASYNC (pipe(7) "Open file status flags").
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::Fionread;
using pipe_util::Pattern;
using pipe_util::ReadNow;

// A full pipe (both ends non-blocking) and how many bytes it holds.
struct FullPipe {
  Pipe p;
  size_t filled = 0;
};

PosixResult<FullPipe> MakeFullPipe() {
  auto p = Pipe::Create(O_NONBLOCK);
  if (!p.ok()) return PosixResult<FullPipe>::Error(p.error_number(), "pipe2(O_NONBLOCK)");
  FullPipe f;
  f.p = std::move(p).value();
  auto filled = FillPipe(f.p.write.get());
  if (!filled.ok()) return PosixResult<FullPipe>::Error(filled.error_number(), "FillPipe");
  f.filled = filled.value();
  return f;
}

// --- reads ------------------------------------------------------------------------------------------

IPC_TEST(PipeNonblock, ReadOnEmptyPipeWithWriterFailsWithEagain, "pipe.read-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  char buf[16];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
  // Still EAGAIN after data came and went.
  ASSERT_THAT(write(p.write.get(), "a", 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeNonblock, ReadReturnsWhatIsAvailableThenEagain, "pipe.read-returns-available",
         "pipe.read-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "xyz", 3), SyscallSucceedsWithValue(3));
  char buf[100];
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "xyz");
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeNonblock, SetflNonblockMakesAnEmptyReadFailWithEagain, "pipe.setfl-nonblock",
         "pipe.read-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int fl = fcntl(p.read.get(), F_GETFL);
  ASSERT_THAT(fl, SyscallSucceeds());
  ASSERT_THAT(fcntl(p.read.get(), F_SETFL, fl | O_NONBLOCK), SyscallSucceeds());
  EXPECT_EQ(fcntl(p.read.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  // In a child, so that a flag that did not take effect becomes a timeout rather than a hang.
  Child c = Child::Spawn(
      [&] {
        char b;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
      },
      {.what = "reading an empty pipe after F_SETFL O_NONBLOCK"});
  c.ExpectExited(0);
}

IPC_TEST(PipeNonblock, SetflNonblockMakesAWriteToAFullPipeFailWithEagain, "pipe.setfl-nonblock",
         "pipe.write-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(p.write.get()));  // restores blocking mode
  ASSERT_EQ(fcntl(p.write.get(), F_GETFL) & O_NONBLOCK, 0);
  int fl = fcntl(p.write.get(), F_GETFL);
  ASSERT_THAT(fcntl(p.write.get(), F_SETFL, fl | O_NONBLOCK), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_THAT(write(p.write.get(), "x", 1), SyscallFailsWithErrno(EAGAIN)); },
                         {.what = "writing to a full pipe after F_SETFL O_NONBLOCK"});
  c.ExpectExited(0);
  EXPECT_EQ(Fionread(p.read.get()), static_cast<int>(filled));
}

IPC_TEST(PipeNonblock, ClearingONonblockRestoresBlockingReads, "pipe.setfl-nonblock",
         "pipe.read-blocks-empty") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  int fl = fcntl(p.read.get(), F_GETFL);
  ASSERT_THAT(fcntl(p.read.get(), F_SETFL, fl & ~O_NONBLOCK), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        p.write.Close();
        char b = 0;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'q');
      },
      {.what = "reading after clearing O_NONBLOCK"});
  // It blocks now.
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(p.write.get(), "q", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

// --- writes of at most PIPE_BUF bytes: all or nothing ------------------------------------------------

IPC_TEST(PipeNonblock, WriteOfOneByteToFullPipeFailsWithEagain, "pipe.write-nonblock-eagain",
         "pipe.nonblock-small-eagain") {
  ASSERT_OK_AND_ASSIGN(FullPipe f, MakeFullPipe());
  EXPECT_THAT(write(f.p.write.get(), "x", 1), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(Fionread(f.p.read.get()), static_cast<int>(f.filled));
}

IPC_TEST(PipeNonblock, PipeBufWriteIntoEmptyPipeWritesAllBytesAtOnce, "pipe.nonblock-small-room") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  std::string rec = Pattern(PIPE_BUF, 1);
  EXPECT_THAT(write(p.write.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(PIPE_BUF));
  EXPECT_TRUE(ReadNow(p.read.get(), PIPE_BUF) == rec);
}

IPC_TEST(PipeNonblock, PipeBufWriteSucceedsOnceAPipeBufOfRoomIsFreed, "pipe.nonblock-small-room",
         "pipe.nonblock-small-eagain") {
  ASSERT_OK_AND_ASSIGN(FullPipe f, MakeFullPipe());
  std::string rec = Pattern(PIPE_BUF, 2);
  EXPECT_THAT(write(f.p.write.get(), rec.data(), rec.size()), SyscallFailsWithErrno(EAGAIN));
  ReadNow(f.p.read.get(), PIPE_BUF);
  EXPECT_THAT(write(f.p.write.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(PIPE_BUF));
  // The record went in whole, behind the rest of the old data.
  ReadNow(f.p.read.get(), f.filled - PIPE_BUF);
  EXPECT_TRUE(ReadNow(f.p.read.get(), PIPE_BUF) == rec);
}

// 100 bytes are read out of a full pipe: there is room for 100 bytes but not for PIPE_BUF.
IPC_TEST(PipeNonblock, PipeBufWriteWithLessRoomFailsWithEagainWritingNothing, "pipe.nonblock-small-eagain") {
  ASSERT_OK_AND_ASSIGN(FullPipe f, MakeFullPipe());
  ReadNow(f.p.read.get(), 100);
  std::string rec = Pattern(PIPE_BUF, 3);
  EXPECT_THAT(write(f.p.write.get(), rec.data(), rec.size()), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(Fionread(f.p.read.get()), static_cast<int>(f.filled) - 100);
}

// A one-page pipe holding 4000 bytes has 96 bytes left in that page: a 200-byte write must not put
// 96 of its bytes in and fail or return 96; it fails with EAGAIN as a whole.
IPC_TEST(PipeNonblock, SmallWriteLargerThanTheRoomLeftFailsWithEagainWritingNothing,
         "pipe.nonblock-small-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  const long page = static_cast<long>(Page());
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, page), SyscallSucceedsWithValue(page));
  std::string head(4000, 'h');
  ASSERT_THAT(write(p.write.get(), head.data(), head.size()), SyscallSucceedsWithValue(4000));
  std::string rec = Pattern(200, 4);
  EXPECT_THAT(write(p.write.get(), rec.data(), rec.size()), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(Fionread(p.read.get()), 4000);
  EXPECT_TRUE(ReadNow(p.read.get(), 4000) == head);
  char b;
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
}

// The other side of the same rule: a small write that does fit in the room left succeeds whole.
IPC_TEST(PipeNonblock, SmallWriteThatFitsTheRoomLeftSucceedsWhole, "pipe.nonblock-small-room") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  const long page = static_cast<long>(Page());
  ASSERT_THAT(fcntl(p.write.get(), F_SETPIPE_SZ, page), SyscallSucceedsWithValue(page));
  std::string head(4000, 'h');
  ASSERT_THAT(write(p.write.get(), head.data(), head.size()), SyscallSucceedsWithValue(4000));
  std::string rec = Pattern(static_cast<size_t>(page) - 4000, 5);
  EXPECT_THAT(write(p.write.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(rec.size()));
  EXPECT_TRUE(ReadNow(p.read.get(), 4000 + rec.size()) == head + rec);
}

// --- writes of more than PIPE_BUF bytes --------------------------------------------------------------

IPC_TEST(PipeNonblock, LargeWriteToFullPipeFailsWithEagain, "pipe.nonblock-large-full-eagain",
         "pipe.write-nonblock-eagain") {
  ASSERT_OK_AND_ASSIGN(FullPipe f, MakeFullPipe());
  std::string big = Pattern(3 * PIPE_BUF, 6);
  EXPECT_THAT(write(f.p.write.get(), big.data(), big.size()), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(Fionread(f.p.read.get()), static_cast<int>(f.filled));
}

IPC_TEST(PipeNonblock, LargeWriteWithSomeRoomWritesAPartOfIt, "pipe.nonblock-large-partial") {
  ASSERT_OK_AND_ASSIGN(FullPipe f, MakeFullPipe());
  const size_t freed = 3 * PIPE_BUF;
  ReadNow(f.p.read.get(), freed);
  std::string big = Pattern(5 * PIPE_BUF, 7);
  ssize_t n = write(f.p.write.get(), big.data(), big.size());
  ASSERT_THAT(n, SyscallSucceeds());
  // From 1 to n bytes; never more than the room there was.
  EXPECT_GE(n, 1);
  EXPECT_LE(static_cast<size_t>(n), freed);
  EXPECT_EQ(Fionread(f.p.read.get()), static_cast<int>(f.filled - freed + static_cast<size_t>(n)));
  // What was written is the beginning of the buffer, behind the old data.
  ReadNow(f.p.read.get(), f.filled - freed);
  EXPECT_TRUE(ReadNow(f.p.read.get(), static_cast<size_t>(n)) == big.substr(0, static_cast<size_t>(n)));
}

IPC_TEST(PipeNonblock, WriteLargerThanTheCapacityIntoEmptyPipeIsPartial, "pipe.nonblock-large-partial") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  long cap = fcntl(p.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(cap, 0);
  std::string big = Pattern(static_cast<size_t>(cap) + 2 * PIPE_BUF, 8);
  ssize_t n = write(p.write.get(), big.data(), big.size());
  ASSERT_THAT(n, SyscallSucceeds());
  EXPECT_GE(n, 1);
  EXPECT_LE(n, cap);
  EXPECT_EQ(Fionread(p.read.get()), n);
  EXPECT_TRUE(ReadNow(p.read.get(), static_cast<size_t>(n)) == big.substr(0, static_cast<size_t>(n)));
}

// --- O_ASYNC ----------------------------------------------------------------------------------------

IPC_TEST(PipeAsync, OAsyncReadEndRaisesSigioWhenDataArrives, "pipe.o-async-sigio") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigio(SIGIO);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGIO);
        ASSERT_THAT(fcntl(p.read.get(), F_SETOWN, getpid()), SyscallSucceeds());
        int fl = fcntl(p.read.get(), F_GETFL);
        ASSERT_THAT(fcntl(p.read.get(), F_SETFL, fl | O_ASYNC), SyscallSucceeds());
        EXPECT_EQ(fcntl(p.read.get(), F_GETFL) & O_ASYNC, O_ASYNC);
        EXPECT_EQ(sigio.count(), 0);
        ASSERT_THAT(write(p.write.get(), "x", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigio.count(), 1);
      },
      {.what = "writing to a pipe with O_ASYNC on its read end"});
  c.ExpectExited(0);
}

IPC_TEST(PipeAsync, SigioGoesToTheProcessSetWithFSetown, "pipe.o-async-sigio") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  // The owner waits for SIGIO in sigsuspend; another process writes.
  Child owner = Child::Spawn(
      [&] {
        ready.read.Close();
        SignalCounter sigio(SIGIO);
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGIO);
        ScopedSigmask blocked(SIG_BLOCK, block);
        ASSERT_THAT(fcntl(p.read.get(), F_SETOWN, getpid()), SyscallSucceeds());
        int fl = fcntl(p.read.get(), F_GETFL);
        ASSERT_THAT(fcntl(p.read.get(), F_SETFL, fl | O_ASYNC), SyscallSucceeds());
        ready.write.Close();  // tells the parent O_ASYNC is set
        sigset_t wait_mask;
        sigprocmask(SIG_BLOCK, nullptr, &wait_mask);
        sigdelset(&wait_mask, SIGIO);
        while (sigio.count() == 0) sigsuspend(&wait_mask);
        EXPECT_EQ(sigio.count(), 1);
        char b = 0;
        EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'w');
      },
      {.what = "waiting for SIGIO from a pipe"});
  ready.write.Close();
  char b;
  ASSERT_THAT(read(ready.read.get(), &b, 1), SyscallSucceedsWithValue(0));
  ASSERT_TRUE(WaitUntilBlockedIn(owner.pid(), SYS_rt_sigsuspend));
  // The writer is another process: the signal goes to the owner, not to the writer.
  Child writer = Child::Spawn(
      [&] {
        SignalCounter sigio(SIGIO);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGIO);
        ASSERT_THAT(write(p.write.get(), "w", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigio.count(), 0);
      },
      {.what = "writing to a pipe whose read end has another owner"});
  writer.ExpectExited(0);
  owner.ExpectExited(0);
}

IPC_TEST(PipeAsync, NoSigioWithoutOAsync, "pipe.o-async-sigio") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigio(SIGIO);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGIO);
        // An owner is set but O_ASYNC is not.
        ASSERT_THAT(fcntl(p.read.get(), F_SETOWN, getpid()), SyscallSucceeds());
        ASSERT_THAT(write(p.write.get(), "x", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigio.count(), 0);
      },
      {.what = "writing to a pipe without O_ASYNC"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
