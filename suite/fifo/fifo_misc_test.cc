// FIFOs beyond open and I/O: ftruncate(2) refuses a FIFO (truncate(2) EINVAL), poll(2) reports POLLHUP and
// POLLERR on FIFO ends as on pipe ends, and every reader blocked on a FIFO sees end of file when the last
// writer closes, whichever open(2) each reader came from. Rules: suite/rules/fifo.ini.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "fifo_util.h"
#include "ipcsuite/fixtures.h"
#include "ipcsuite/poll.h"

namespace ipc {
namespace {

class FifoMisc : public fifo_util::FifoInTempDir {};

// --- ftruncate --------------------------------------------------------------------------------------

IPC_TEST_F(FifoMisc, FtruncateOnAReadWriteFifoFailsWithEinval, "fifo.ftruncate-einval") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  ASSERT_THAT(write(rw.get(), "abc", 3), SyscallSucceedsWithValue(3));
  EXPECT_THAT(ftruncate(rw.get(), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(ftruncate(rw.get(), 4096), SyscallFailsWithErrno(EINVAL));
  char buf[8];
  EXPECT_THAT(read(rw.get(), buf, sizeof buf), SyscallSucceedsWithValue(3))
      << "the buffered data is untouched";
}

IPC_TEST_F(FifoMisc, FtruncateOnTheWriteEndFailsWithEinvalAndLeavesTheFile, "fifo.ftruncate-einval") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY | O_NONBLOCK));
  EXPECT_THAT(ftruncate(w.get(), 0), SyscallFailsWithErrno(EINVAL));
  struct stat st {};
  ASSERT_THAT(stat(fifo_.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "still a FIFO";
  EXPECT_EQ(st.st_size, 0);
}

// --- poll -------------------------------------------------------------------------------------------

IPC_TEST_F(FifoMisc, PollhupOnTheReadEndOnceTheLastWriterCloses, "fifo.poll-pollhup") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w1, Open(fifo_, O_WRONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w2, Open(fifo_, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w1.get(), "x", 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(PollNow(r.get(), POLLIN), POLLIN);
  ASSERT_THAT(w1.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(r.get(), POLLIN), POLLIN) << "another writer is still open";
  ASSERT_THAT(w2.Close(), SyscallSucceeds());
  EXPECT_EQ(PollNow(r.get(), POLLIN), POLLIN | POLLHUP);
  char b;
  ASSERT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(PollNow(r.get(), POLLIN), POLLHUP);
}

IPC_TEST_F(FifoMisc, PollerrOnTheWriteEndOnceTheLastReaderCloses, "fifo.poll-pollerr") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY | O_NONBLOCK));
  EXPECT_EQ(PollNow(w.get(), POLLOUT), POLLOUT);
  ASSERT_THAT(r.Close(), SyscallSucceeds());
  const int rev = PollNow(w.get(), POLLOUT);
  ASSERT_THAT(rev, SyscallSucceeds());
  EXPECT_TRUE(rev & POLLERR) << "revents " << rev;
}

// --- every blocked reader sees end of file -----------------------------------------------------------

IPC_TEST_F(FifoMisc, EveryReaderBlockedOnItsOwnOpenGetsEndOfFile, "fifo.eof-wakes-every-reader") {
  // The test holds a reader (so the writer's open does not block) and the only writer.
  ASSERT_OK_AND_ASSIGN(FileDescriptor keep_r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY | O_NONBLOCK));
  const std::string path = fifo_;
  std::vector<Child> readers;
  for (int i = 0; i < 4; ++i) {
    readers.push_back(Child::Spawn(
        [&] {
          ASSERT_THAT(w.Close(), SyscallSucceeds());
          // A writer exists, so a blocking O_RDONLY open returns at once.
          ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(path, O_RDONLY));
          char b;
          EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(0));
        },
        {.deadline = milliseconds(15000),
         .what = "blocking in read on a FIFO until the last writer closes"}));
  }
  for (Child& c : readers) ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_read));
  ASSERT_THAT(w.Close(), SyscallSucceeds());
  for (Child& c : readers) c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
