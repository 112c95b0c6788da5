// pipe(7), fifo(7), read(2), write(2), fcntl(2), lseek(2), pread(2), inode(7): I/O on FIFOs.
//
// pipe(7): "I/O on pipes and FIFOs has exactly the same semantics" once opened, so the pipe rules
// are checked here through FIFOs opened by name, often by independent open(2) calls.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fifo_util.h"
#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

using fifo_util::ReadExactly;

int SetNonblock(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  return fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

// A fresh TempDir with one FIFO (mode 0666) per test, and helpers that open its ends without ever
// blocking the test process: the read end with O_NONBLOCK (fifo(7): succeeds without a writer), the
// write end with O_NONBLOCK after a reader exists.
class FifoIo : public fifo_util::FifoInTempDir {
 protected:
  PosixResult<FileDescriptor> OpenReader() { return Open(fifo_, O_RDONLY | O_NONBLOCK); }
  PosixResult<FileDescriptor> OpenWriter() { return Open(fifo_, O_WRONLY | O_NONBLOCK); }
};

// ---------------------------------------------------------------------------------------------------
// Blocking and nonblocking reads and writes (pipe(7), read(2), write(2)).

// pipe(7): read(2) from an empty FIFO blocks until data is available.
IPC_TEST_F(FifoIo, ReadBlocksUntilDataArrives, "fifo.read-blocks-empty") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(SetNonblock(r.get(), false), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        w.Close();
        char buf[8];
        EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
        EXPECT_EQ(std::string(buf, 3), "xyz");
      },
      {.what = "reading an empty FIFO"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(w.get(), "xyz", 3), SyscallSucceedsWithValue(3));
  c.ExpectExited(0);
}

// pipe(7): write(2) to a full FIFO blocks until enough has been read for the write to complete; the
// bytes then follow everything that filled the FIFO.
IPC_TEST_F(FifoIo, WriteBlocksWhileFull, "fifo.write-blocks-full") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(w.get()));
  ASSERT_GT(filled, 0u);
  Child c = Child::Spawn(
      [&] {
        r.Close();
        ASSERT_THAT(SetNonblock(w.get(), false), SyscallSucceeds());
        EXPECT_THAT(write(w.get(), "Z", 1), SyscallSucceedsWithValue(1));
      },
      {.what = "writing to a full FIFO"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  std::string got;
  ASSERT_TRUE(ReadExactly(r.get(), filled + 1, &got));
  EXPECT_EQ(got.find_first_not_of('f'), filled);
  EXPECT_EQ(got.back(), 'Z');
  c.ExpectExited(0);
}

// pipe(7): a FIFO is a byte stream without message boundaries: two writes are read by one read(2).
IPC_TEST_F(FifoIo, ByteStreamHasNoMessageBoundaries, "fifo.byte-stream") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(write(w.get(), "ab", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(write(w.get(), "cde", 3), SyscallSucceedsWithValue(3));
  char buf[16];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "abcde");
  // ...and a read may take less than one write: the rest stays for the next read.
  ASSERT_THAT(write(w.get(), "12345", 5), SyscallSucceedsWithValue(5));
  EXPECT_THAT(read(r.get(), buf, 2), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "12");
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "345");
}

// read(2) EAGAIN: a reader opened with O_NONBLOCK gets EAGAIN on an empty FIFO while a writer has it
// open (not 0: that would be end of file).
IPC_TEST_F(FifoIo, NonblockingReadOfEmptyFifoWithWriterFailsEagain, "fifo.read-eagain") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  char b;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(write(w.get(), "k", 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(r.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
}

// pipe(7): nonblocking I/O can be switched on with fcntl(F_SETFL, O_NONBLOCK) and off again: with the
// flag a read of the empty FIFO fails with EAGAIN, without it the read blocks.
IPC_TEST_F(FifoIo, FsetflTogglesNonblockingReads, "fifo.fsetfl-nonblock") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(SetNonblock(r.get(), false), SyscallSucceeds());
  ASSERT_THAT(SetNonblock(r.get(), true), SyscallSucceeds());
  EXPECT_NE(fcntl(r.get(), F_GETFL) & O_NONBLOCK, 0);
  char b;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(SetNonblock(r.get(), false), SyscallSucceeds());
  EXPECT_EQ(fcntl(r.get(), F_GETFL) & O_NONBLOCK, 0);
  Child c = Child::Spawn(
      [&] {
        w.Close();
        char x;
        EXPECT_THAT(read(r.get(), &x, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(x, 'n');
      },
      {.what = "reading an empty FIFO after clearing O_NONBLOCK"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(write(w.get(), "n", 1), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

// write(2) EAGAIN / pipe(7) PIPE_BUF: with O_NONBLOCK and no room, writes of 1 and PIPE_BUF bytes fail
// with EAGAIN and write nothing; a write larger than PIPE_BUF also fails with EAGAIN on a full FIFO.
IPC_TEST_F(FifoIo, NonblockingWriteToFullFifoFailsEagain, "fifo.write-eagain-full") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(w.get()));
  long pipe_buf = limits::PipeBuf(w.get());
  ASSERT_GT(pipe_buf, 0);
  std::string big(static_cast<size_t>(pipe_buf) * 2, 'B');
  EXPECT_THAT(write(w.get(), "X", 1), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(write(w.get(), big.data(), static_cast<size_t>(pipe_buf)), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(write(w.get(), big.data(), big.size()), SyscallFailsWithErrno(EAGAIN));
  int avail = -1;
  ASSERT_THAT(ioctl(r.get(), FIONREAD, &avail), SyscallSucceeds());
  EXPECT_EQ(static_cast<size_t>(avail), filled) << "a refused write must not add bytes";
}

// pipe(7) PIPE_BUF, O_NONBLOCK enabled, n <= PIPE_BUF: if there is no room for all n bytes the write
// fails with EAGAIN and writes nothing (never part of it). The FIFO is filled to leave PIPE_BUF/2 bytes
// of nominal room at most, then PIPE_BUF bytes are offered.
IPC_TEST_F(FifoIo, NonblockingSmallWriteIsAllOrNothing, "fifo.write-nonblock-atomic") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  int cap = fcntl(w.get(), F_GETPIPE_SZ);
  ASSERT_THAT(cap, SyscallSucceeds());
  long pipe_buf = limits::PipeBuf(w.get());
  ASSERT_GT(pipe_buf, 1);
  size_t to_fill = static_cast<size_t>(cap) - static_cast<size_t>(pipe_buf) / 2;
  std::string fill(to_fill, 'f');
  ASSERT_TRUE(WriteAll(w.get(), fill.data(), fill.size())) << DescribeErrno(errno);
  std::string rec(static_cast<size_t>(pipe_buf), 'R');
  EXPECT_THAT(write(w.get(), rec.data(), rec.size()), SyscallFailsWithErrno(EAGAIN));
  int avail = -1;
  ASSERT_THAT(ioctl(r.get(), FIONREAD, &avail), SyscallSucceeds());
  EXPECT_EQ(static_cast<size_t>(avail), to_fill);
}

// pipe(7) PIPE_BUF, O_NONBLOCK enabled, n > PIPE_BUF: when the FIFO is not full a partial write may
// occur: from 1 to n bytes. Offering more than the capacity to an empty FIFO must write at least one
// byte and at most the capacity, and the bytes read back are the first ones offered.
IPC_TEST_F(FifoIo, NonblockingLargeWriteMayBePartial, "fifo.write-nonblock-partial") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  int cap = fcntl(w.get(), F_GETPIPE_SZ);
  ASSERT_THAT(cap, SyscallSucceeds());
  long pipe_buf = limits::PipeBuf(w.get());
  std::string data(static_cast<size_t>(cap) + static_cast<size_t>(pipe_buf), '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  ssize_t n = write(w.get(), data.data(), data.size());
  ASSERT_THAT(n, SyscallSucceeds());
  EXPECT_GE(n, 1);
  EXPECT_LE(n, cap);
  std::string got;
  ASSERT_TRUE(ReadExactly(r.get(), static_cast<size_t>(n), &got));
  EXPECT_EQ(got, data.substr(0, static_cast<size_t>(n)));
  char b;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
}

// ---------------------------------------------------------------------------------------------------
// End of file (pipe(7)).

// pipe(7): after every write end is closed, read(2) returns the buffered data, then 0. While one of two
// independently opened writers remains, an empty FIFO is not at end of file (EAGAIN).
IPC_TEST_F(FifoIo, EofOnlyAfterLastWriterCloses, "fifo.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w1, OpenWriter());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w2, OpenWriter());
  ASSERT_THAT(write(w1.get(), "ab", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(w1.Close(), SyscallSucceeds());
  char buf[8];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(write(w2.get(), "cd", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(w2.Close(), SyscallSucceeds());
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "cd");
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

// pipe(7): a reader blocked on an empty FIFO wakes up with 0 (end of file) when the last writer closes.
IPC_TEST_F(FifoIo, BlockedReaderSeesEofWhenLastWriterCloses, "fifo.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(SetNonblock(r.get(), false), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        w.Close();
        char b;
        EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "reading an empty FIFO until the last writer closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(w.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

// pipe(7)/fifo(7): with no write end open at all (no writer has ever opened the FIFO), read(2) of the
// empty FIFO returns 0, end of file, both on a nonblocking and on a blocking descriptor.
IPC_TEST_F(FifoIo, ReadWithNoWriterEverReturnsEof, "fifo.eof-no-writer") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  char b;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(0));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(SetNonblock(r.get(), false), SyscallSucceeds());
        char x;
        EXPECT_THAT(read(r.get(), &x, 1), SyscallSucceedsWithValue(0));
      },
      {.what = "reading a FIFO that has never had a writer"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// SIGPIPE and EPIPE (pipe(7), fifo(7) NOTES, write(2) EPIPE). These run in children: the default
// action kills, and the tests change the disposition of SIGPIPE.

// fifo(7) NOTES: writing to a FIFO that nobody has open for reading sends SIGPIPE; its default action
// terminates the writer.
IPC_TEST_F(FifoIo, WriteWithoutReaderKillsWithSigpipe, "fifo.sigpipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        (void)write(w.get(), "x", 1);
        ADD_FAILURE() << "write to a FIFO with no reader returned instead of raising SIGPIPE";
      },
      {.what = "writing to a FIFO with no reader"});
  c.ExpectKilledBy(SIGPIPE);
}

// write(2) EPIPE: with SIGPIPE caught, each write fails with EPIPE and raises exactly one SIGPIPE.
IPC_TEST_F(FifoIo, CaughtSigpipeCountsOnePerWriteAndWriteFailsEpipe, "fifo.epipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        EXPECT_THAT(write(w.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
        EXPECT_THAT(write(w.get(), "yy", 2), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 2);
      },
      {.what = "writing to a FIFO with no reader, SIGPIPE caught"});
  c.ExpectExited(0);
}

// pipe(7): a process that ignores SIGPIPE gets EPIPE from the write, and no signal is left pending.
IPC_TEST_F(FifoIo, IgnoredSigpipeWriteFailsEpipe, "fifo.epipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction ign(SIGPIPE, SIG_IGN);
        ASSERT_TRUE(ign.ok());
        EXPECT_THAT(write(w.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
      },
      {.what = "writing to a FIFO with no reader, SIGPIPE ignored"});
  c.ExpectExited(0);
}

// write(2) EPIPE: with SIGPIPE blocked (default disposition), write fails with EPIPE and SIGPIPE stays
// pending, exactly once; it is consumed with sigtimedwait before the mask is restored.
IPC_TEST_F(FifoIo, BlockedSigpipeWriteFailsEpipeAndSignalIsPending, "fifo.epipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        ScopedSigmask block(SIG_BLOCK, SIGPIPE);
        EXPECT_THAT(write(w.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_TRUE(IsSignalPending(SIGPIPE));
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        struct timespec zero = {0, 0};
        EXPECT_EQ(sigtimedwait(&set, nullptr, &zero), SIGPIPE);
        EXPECT_THAT(sigtimedwait(&set, nullptr, &zero), SyscallFailsWithErrno(EAGAIN));
      },
      {.what = "writing to a FIFO with no reader, SIGPIPE blocked"});
  c.ExpectExited(0);
}

// pipe(7): SIGPIPE/EPIPE come only once every read end is closed: with two independently opened
// readers, closing one leaves writes working; closing the second makes the write fail.
IPC_TEST_F(FifoIo, EpipeOnlyAfterLastReaderCloses, "fifo.epipe") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        ASSERT_OK_AND_ASSIGN(FileDescriptor r1, OpenReader());
        ASSERT_OK_AND_ASSIGN(FileDescriptor r2, OpenReader());
        ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
        ASSERT_THAT(r1.Close(), SyscallSucceeds());
        EXPECT_THAT(write(w.get(), "ok", 2), SyscallSucceedsWithValue(2));
        EXPECT_EQ(sigpipe.count(), 0);
        ASSERT_THAT(r2.Close(), SyscallSucceeds());
        EXPECT_THAT(write(w.get(), "no", 2), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing while readers of a FIFO close"});
  c.ExpectExited(0);
}

// pipe(7)/write(2): a writer blocked on a full FIFO fails with EPIPE (and gets one SIGPIPE) when the last
// reader closes.
IPC_TEST_F(FifoIo, BlockedWriterFailsEpipeWhenLastReaderCloses, "fifo.epipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(w.get()));
  ASSERT_GT(filled, 0u);
  Child c = Child::Spawn(
      [&] {
        r.Close();
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        ASSERT_THAT(SetNonblock(w.get(), false), SyscallSucceeds());
        EXPECT_THAT(write(w.get(), "x", 1), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "writing to a full FIFO until its reader closes"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_write));
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// PIPE_BUF atomicity with several writer processes (pipe(7)).

// pipe(7): blocking writes of PIPE_BUF bytes are atomic: with several processes that each open the
// FIFO and write records of exactly PIPE_BUF bytes (together far more than the capacity, so writers
// block and compete), every PIPE_BUF-sized slice of the stream comes from a single record.
IPC_TEST_F(FifoIo, ConcurrentWritesOfPipeBufAreAtomic, "fifo.atomic-pipe-buf") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  // Keeps a writer open until every record is read, so the reader never sees end of file early.
  ASSERT_OK_AND_ASSIGN(FileDescriptor keep, OpenWriter());
  const size_t pipe_buf = static_cast<size_t>(limits::PipeBuf(r.get()));
  ASSERT_GT(pipe_buf, 0u);
  constexpr int kWriters = 4;
  constexpr int kRecords = 64;
  std::vector<Child> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(Child::Spawn(
        [&, i] {
          r.Close();
          keep.Close();
          ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY));
          std::string rec(pipe_buf, static_cast<char>('A' + i));
          for (int k = 0; k < kRecords; ++k) {
            ASSERT_THAT(write(w.get(), rec.data(), rec.size()), SyscallSucceedsWithValue(pipe_buf));
          }
        },
        {.what = "writing PIPE_BUF-sized records to a shared FIFO"}));
  }
  std::string all;
  ASSERT_TRUE(ReadExactly(r.get(), pipe_buf * kWriters * kRecords, &all, milliseconds(10000)));
  std::map<char, int> records;
  for (size_t off = 0; off < all.size(); off += pipe_buf) {
    char who = all[off];
    ASSERT_EQ(all.compare(off, pipe_buf, std::string(pipe_buf, who)), 0)
        << "the PIPE_BUF bytes at offset " << off << " mix the record of writer " << who << " with others";
    ++records[who];
  }
  EXPECT_EQ(records.size(), static_cast<size_t>(kWriters));
  for (auto& [who, n] : records) EXPECT_EQ(n, kRecords) << "writer " << who;
  for (Child& c : writers) c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// One pipe object per FIFO, no contents on disk (fifo(7), pipe(7)).

// fifo(7): the kernel keeps one pipe object per FIFO: independent open(2) calls share one buffer, in
// order, whichever descriptor writes or reads.
IPC_TEST_F(FifoIo, IndependentOpenersShareOneBuffer, "fifo.one-pipe-object") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r1, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r2, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w1, OpenWriter());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w2, OpenWriter());
  ASSERT_THAT(write(w1.get(), "1", 1), SyscallSucceedsWithValue(1));
  ASSERT_THAT(write(w2.get(), "2", 1), SyscallSucceedsWithValue(1));
  ASSERT_THAT(write(w1.get(), "3", 1), SyscallSucceedsWithValue(1));
  char b = 0;
  EXPECT_THAT(read(r2.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, '1');
  EXPECT_THAT(read(r1.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, '2');
  EXPECT_THAT(read(r2.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, '3');
  EXPECT_THAT(read(r1.get(), &b, 1), SyscallFailsWithErrno(EAGAIN));
}

// fifo(7): the pipe object belongs to the FIFO special file, not to a name: a hard link to the FIFO
// leads to the same buffer.
IPC_TEST_F(FifoIo, HardLinkedNamesShareOnePipe, "fifo.one-pipe-object") {
  std::string other = dir_->Path("other-name");
  ASSERT_THAT(link(fifo_.c_str(), other.c_str()), SyscallSucceeds());
  struct stat st;
  ASSERT_THAT(stat(other.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(other, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w.get(), "ln", 2), SyscallSucceedsWithValue(2));
  char buf[4];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "ln");
}

// fifo(7): the pipe object exists while the FIFO is open by someone; once every descriptor is closed,
// the data written earlier is gone: a new opener finds the FIFO empty.
IPC_TEST_F(FifoIo, DataIsDiscardedWhenAllEndsClose, "fifo.pipe-released-when-unopened") {
  {
    ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
    ASSERT_THAT(write(rw.get(), "lost", 4), SyscallSucceedsWithValue(4));
  }
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  char buf[8];
  EXPECT_THAT(read(rw.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
}

// fifo(7): the FIFO has no contents on the filesystem: after data is written (and not yet read) the
// file size and allocated blocks stay 0, seen through the name and through the descriptors.
IPC_TEST_F(FifoIo, WrittenDataIsNotStoredInTheFile, "fifo.no-contents") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  std::string data(3 * static_cast<size_t>(limits::PipeBuf(w.get())), 'd');
  ASSERT_TRUE(WriteAll(w.get(), data.data(), data.size())) << DescribeErrno(errno);
  struct stat st;
  ASSERT_THAT(stat(fifo_.c_str(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_blocks, 0);
  ASSERT_THAT(fstat(w.get(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_size, 0);
  ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
  EXPECT_EQ(st.st_size, 0);
}

// inode(7)/stat(2): the file type is S_IFIFO through stat and lstat of the name and fstat of each
// kind of descriptor, and all of them report the same inode.
IPC_TEST_F(FifoIo, StatFstatLstatReportFifo, "fifo.s-isfifo") {
  struct stat by_name, by_lname, st;
  ASSERT_THAT(stat(fifo_.c_str(), &by_name), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(by_name.st_mode));
  EXPECT_EQ(by_name.st_mode & S_IFMT, static_cast<mode_t>(S_IFIFO));
  ASSERT_THAT(lstat(fifo_.c_str(), &by_lname), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(by_lname.st_mode));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  for (int fd : {r.get(), w.get(), rw.get()}) {
    ASSERT_THAT(fstat(fd, &st), SyscallSucceeds());
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "fd " << fd;
    EXPECT_EQ(st.st_ino, by_name.st_ino) << "fd " << fd;
    EXPECT_EQ(st.st_dev, by_name.st_dev) << "fd " << fd;
  }
}

// fifo(7): the name is only a reference point: after unlink(2) the open ends keep working, the name is
// gone (open(2) ENOENT), fstat shows a FIFO with no links, and a new FIFO under the same name is a
// different object with its own pipe (no reader: ENXIO).
IPC_TEST_F(FifoIo, UnlinkedFifoKeepsWorkingWhileOpen, "fifo.unlink-while-open", "fifo.open-enoent") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(unlink(fifo_.c_str()), SyscallSucceeds());
  EXPECT_THAT(open(fifo_.c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(ENOENT));
  struct stat st;
  EXPECT_THAT(stat(fifo_.c_str(), &st), SyscallFailsWithErrno(ENOENT));
  ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_nlink, 0u);
  ASSERT_THAT(write(w.get(), "gone", 4), SyscallSucceedsWithValue(4));
  char buf[8];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "gone");
  ASSERT_THAT(mkfifo(fifo_.c_str(), 0600), SyscallSucceeds());
  EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
  ASSERT_THAT(w.Close(), SyscallSucceeds());
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------------------------------------------
// Capacity, FIONREAD, seeking, O_ASYNC (fcntl(2), pipe(7), lseek(2), pread(2)).

// fcntl(2) F_GETPIPE_SZ: works on FIFO descriptors (read, write and O_RDWR ends) and reports the same
// capacity for all of them; the capacity holds at least PIPE_BUF bytes.
IPC_TEST_F(FifoIo, GetPipeSizeWorksOnEveryEnd, "fifo.getpipe-sz") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  int cap = fcntl(r.get(), F_GETPIPE_SZ);
  ASSERT_THAT(cap, SyscallSucceeds());
  EXPECT_GE(cap, limits::PipeBuf(r.get()));
  EXPECT_THAT(fcntl(w.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(cap));
  EXPECT_THAT(fcntl(rw.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(cap));
  // fcntl(2): what fits may be less than the nominal capacity, never more.
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(w.get()));
  EXPECT_GT(filled, 0u);
  EXPECT_LE(filled, static_cast<size_t>(cap));
}

// pipe(7): since Linux 2.6.35 the default capacity is 16 pages; pipe-max-size is a ceiling on the
// default capacity of a newly opened FIFO (Linux 4.9). Checked only where the two agree.
IPC_TEST_F(FifoIo, NewlyOpenedFifoHasDefaultCapacity, "fifo.default-capacity") {
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  long expected = 16 * static_cast<long>(Page());
  if (max_size < expected) GTEST_SKIP() << "pipe-max-size " << max_size << " is below the 16-page default";
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  EXPECT_THAT(fcntl(rw.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(expected));
}

// fcntl(2) F_SETPIPE_SZ on one descriptor changes the capacity seen through an independently opened
// one (fifo(7): one pipe object); when the FIFO is no longer open anywhere, the next opener gets a new
// pipe with the default capacity again.
IPC_TEST_F(FifoIo, SetPipeSizeIsSharedByOpenersAndResetAfterLastClose, "fifo.setpipe-sz",
           "fifo.one-pipe-object", "fifo.pipe-released-when-unopened") {
  int initial = 0;
  {
    ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
    ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
    initial = fcntl(r.get(), F_GETPIPE_SZ);
    ASSERT_THAT(initial, SyscallSucceeds());
    ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
    if (max_size < 2L * initial) GTEST_SKIP() << "pipe-max-size " << max_size << " leaves no room to grow";
    int want = initial * 2;
    int set = fcntl(w.get(), F_SETPIPE_SZ, want);
    ASSERT_THAT(set, SyscallSucceeds());
    EXPECT_GE(set, want);
    EXPECT_THAT(fcntl(r.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(set));
    // The larger capacity is real: the FIFO now takes more than it could before (and never more than
    // the nominal capacity).
    ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(w.get()));
    EXPECT_GT(filled, static_cast<size_t>(initial));
    EXPECT_LE(filled, static_cast<size_t>(set));
  }
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  EXPECT_THAT(fcntl(rw.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(initial));
}

// fcntl(2) F_SETPIPE_SZ EBUSY: the capacity cannot be set below the amount of data the FIFO holds.
IPC_TEST_F(FifoIo, SetPipeSizeBelowBufferedDataFailsEbusy, "fifo.setpipe-sz-ebusy") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  const long page = static_cast<long>(Page());
  std::string data(static_cast<size_t>(page), 'p');
  ASSERT_THAT(write(w.get(), data.data(), data.size()), SyscallSucceedsWithValue(page));
  ASSERT_THAT(write(w.get(), data.data(), data.size()), SyscallSucceedsWithValue(page));
  int before = fcntl(w.get(), F_GETPIPE_SZ);
  EXPECT_THAT(fcntl(w.get(), F_SETPIPE_SZ, static_cast<int>(page)), SyscallFailsWithErrno(EBUSY));
  EXPECT_THAT(fcntl(r.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(before));
  std::string got;
  ASSERT_TRUE(ReadExactly(r.get(), 2 * static_cast<size_t>(page), &got));
  // With the data gone the same request succeeds.
  EXPECT_THAT(fcntl(w.get(), F_SETPIPE_SZ, static_cast<int>(page)), SyscallSucceedsWithValue(page));
}

// fcntl(2) F_SETPIPE_SZ EPERM: an unprivileged process cannot raise a FIFO's capacity above
// /proc/sys/fs/pipe-max-size; the capacity is unchanged.
IPC_TEST_F(FifoIo, UnprivilegedSetPipeSizeAboveMaxFailsEperm, "fifo.setpipe-sz-eperm") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  if (max_size + static_cast<long>(Page()) > INT_MAX)
    GTEST_SKIP() << "pipe-max-size " << max_size << " is too large";
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
        int before = fcntl(rw.get(), F_GETPIPE_SZ);
        ASSERT_THAT(before, SyscallSucceeds());
        EXPECT_THAT(fcntl(rw.get(), F_SETPIPE_SZ, static_cast<int>(max_size + static_cast<long>(Page()))),
                    SyscallFailsWithErrno(EPERM));
        EXPECT_THAT(fcntl(rw.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(before));
      },
      {.what = "raising a FIFO's capacity as an unprivileged user"});
  c.ExpectExited(0);
}

// fcntl(2) F_SETPIPE_SZ: a privileged process (CAP_SYS_RESOURCE) can go above pipe-max-size. Root
// without CAP_SYS_RESOURCE (a container may withhold it) is unprivileged here: skipped.
IPC_TEST_F(FifoIo, PrivilegedSetPipeSizeAboveMaxSucceeds, "fifo.setpipe-sz-privileged") {
  if (!isolation::HasCapabilityOverTheMachine(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "needs CAP_SYS_RESOURCE in the initial user namespace (the kernel checks capable())";
  ASSERT_OK_AND_ASSIGN(long max_size, limits::PipeMaxSize());
  if (max_size * 2 > INT_MAX) GTEST_SKIP() << "pipe-max-size " << max_size << " is too large";
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  int want = static_cast<int>(max_size * 2);
  int set = fcntl(rw.get(), F_SETPIPE_SZ, want);
  ASSERT_THAT(set, SyscallSucceeds());
  EXPECT_GE(set, want);
  EXPECT_THAT(fcntl(rw.get(), F_GETPIPE_SZ), SyscallSucceedsWithValue(set));
}

// pipe(7) FIONREAD: on either end of a FIFO, ioctl(FIONREAD) gives the number of unread bytes.
IPC_TEST_F(FifoIo, FionreadCountsUnreadBytesOnBothEnds, "fifo.fionread") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  int n = -1;
  ASSERT_THAT(ioctl(r.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 0);
  ASSERT_THAT(write(w.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  ASSERT_THAT(ioctl(r.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 10);
  ASSERT_THAT(ioctl(w.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 10);
  char buf[4];
  ASSERT_THAT(read(r.get(), buf, 4), SyscallSucceedsWithValue(4));
  ASSERT_THAT(ioctl(r.get(), FIONREAD, &n), SyscallSucceeds());
  EXPECT_EQ(n, 6);
}

// lseek(2) ESPIPE: a FIFO descriptor cannot be repositioned, whatever whence, on either end.
IPC_TEST_F(FifoIo, LseekFailsEspipe, "fifo.lseek-espipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  ASSERT_THAT(write(w.get(), "abc", 3), SyscallSucceedsWithValue(3));
  for (int fd : {r.get(), w.get()}) {
    EXPECT_THAT(lseek(fd, 0, SEEK_SET), SyscallFailsWithErrno(ESPIPE)) << "fd " << fd;
    EXPECT_THAT(lseek(fd, 0, SEEK_CUR), SyscallFailsWithErrno(ESPIPE)) << "fd " << fd;
    EXPECT_THAT(lseek(fd, 1, SEEK_END), SyscallFailsWithErrno(ESPIPE)) << "fd " << fd;
  }
  // Nothing was consumed or moved.
  char buf[4];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "abc");
}

// pread(2): pread/pwrite need a seekable file and fail with lseek(2)'s ESPIPE on a FIFO, without
// transferring data.
IPC_TEST_F(FifoIo, PreadPwriteFailEspipe, "fifo.pread-espipe") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
  EXPECT_THAT(pwrite(w.get(), "p", 1, 0), SyscallFailsWithErrno(ESPIPE));
  ASSERT_THAT(write(w.get(), "q", 1), SyscallSucceedsWithValue(1));
  char b = 0;
  EXPECT_THAT(pread(r.get(), &b, 1, 0), SyscallFailsWithErrno(ESPIPE));
  EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'q');
}

// pipe(7) open file status flags: O_ASYNC on the read end of a FIFO, with F_SETOWN, makes new input
// raise SIGIO for the owner: once for one write, none before.
IPC_TEST_F(FifoIo, OasyncReadEndRaisesSigioOnInput, "fifo.o-async") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigio(SIGIO);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGIO);
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, OpenReader());
        ASSERT_OK_AND_ASSIGN(FileDescriptor w, OpenWriter());
        ASSERT_THAT(fcntl(r.get(), F_SETOWN, getpid()), SyscallSucceeds());
        ASSERT_THAT(fcntl(r.get(), F_SETFL, O_NONBLOCK | O_ASYNC), SyscallSucceeds());
        EXPECT_NE(fcntl(r.get(), F_GETFL) & O_ASYNC, 0);
        EXPECT_EQ(sigio.count(), 0);
        ASSERT_THAT(write(w.get(), "s", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigio.count(), 1);
      },
      {.what = "writing to a FIFO whose read end has O_ASYNC"});
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
