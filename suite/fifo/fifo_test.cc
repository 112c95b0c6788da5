// fifo(7), open(2), signal(7), path_resolution(7), proc(5): opening FIFOs.
//
// Every FIFO lives in a private TempDir. Whenever the test process itself must not block (a broken
// kernel or interposed library would hang it), it uses O_NONBLOCK or O_RDWR opens, and peers that are
// expected to block run in a Child with a deadline.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "fifo_util.h"
#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

using fifo_util::ReadExactly;

// Each test gets a fresh TempDir holding one FIFO, mode 0666.
class FifoOpen : public fifo_util::FifoInTempDir {
 protected:
  // mkdir + chmod (the umask must not decide the mode).
  std::string MakeDir(const std::string& name, mode_t mode) {
    return fifo_util::MakeDirWithMode(*dir_, name, mode);
  }
};

// A child that opens `path` for writing (blocking), writes `data` and closes.
Child SpawnWriter(const std::string& path, const std::string& data) {
  return Child::Spawn(
      [path, data] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(path, O_WRONLY));
        EXPECT_TRUE(WriteAll(w.get(), data.data(), data.size())) << DescribeErrno(errno);
      },
      {.what = "opening the write end of a FIFO and writing"});
}

// ---------------------------------------------------------------------------------------------------
// Blocking opens (fifo(7) DESCRIPTION, open(2) FIFOs).

// fifo(7): a blocking open for reading waits until some process opens the FIFO for writing; the
// child must be seen asleep in openat before any writer exists, and both opens then succeed.
IPC_TEST_F(FifoOpen, ReadOpenBlocksUntilWriterOpens, "fifo.open-rdonly-blocks") {
  Child reader = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY));
        std::string got;
        EXPECT_TRUE(ReadExactly(r.get(), 5, &got));
        EXPECT_EQ(got, "hello");
      },
      {.what = "opening a FIFO for reading while no writer exists"});
  ASSERT_TRUE(WaitUntilBlockedIn(reader.pid(), SYS_openat));
  Child writer = SpawnWriter(fifo_, "hello");
  writer.ExpectExited(0);
  reader.ExpectExited(0);
}

// fifo(7): a blocking open for writing waits until a reader opens; the parent's open of the read end
// (O_NONBLOCK, which fifo(7) says succeeds without a writer) releases it and the data flows.
IPC_TEST_F(FifoOpen, WriteOpenBlocksUntilReaderOpens, "fifo.open-wronly-blocks",
           "fifo.open-rdonly-nonblock") {
  Child writer = SpawnWriter(fifo_, "world");
  ASSERT_TRUE(WaitUntilBlockedIn(writer.pid(), SYS_openat));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  std::string got;
  EXPECT_TRUE(ReadExactly(r.get(), 5, &got));
  EXPECT_EQ(got, "world");
  writer.ExpectExited(0);
}

// open(2) FIFOs: the other end may be opened by another thread of the same process. A thread blocks
// in open(O_RDONLY); the main thread sees it asleep in openat and opens the write end.
IPC_TEST_F(FifoOpen, PeerOpenFromAnotherThreadReleasesBlockedOpen, "fifo.open-peer-thread") {
  Child c = Child::Spawn(
      [&] {
        std::promise<pid_t> tid_promise;
        std::future<pid_t> tid = tid_promise.get_future();
        int rfd = -1;
        int open_errno = 0;
        std::thread t([&] {
          tid_promise.set_value(gettid());
          rfd = open(fifo_.c_str(), O_RDONLY);
          open_errno = errno;
        });
        pid_t thread_id = tid.get();
        EXPECT_TRUE(WaitUntilBlockedIn(getpid(), SYS_openat, kDefaultBlockDeadline, thread_id));
        FileDescriptor w(open(fifo_.c_str(), O_WRONLY));
        EXPECT_TRUE(w.valid()) << DescribeErrno(errno);
        t.join();
        FileDescriptor r(rfd);
        ASSERT_TRUE(r.valid()) << "open(O_RDONLY) in the thread failed with " << DescribeErrno(open_errno);
        ASSERT_THAT(write(w.get(), "thread", 6), SyscallSucceedsWithValue(6));
        std::string got;
        EXPECT_TRUE(ReadExactly(r.get(), 6, &got));
        EXPECT_EQ(got, "thread");
      },
      {.what = "opening both ends of a FIFO from two threads"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Nonblocking opens and O_RDWR (fifo(7), open(2) ENXIO).

// fifo(7): O_RDONLY|O_NONBLOCK succeeds with no writer; the descriptor is read-only and nonblocking.
IPC_TEST_F(FifoOpen, NonblockingReadOpenSucceedsWithoutWriter, "fifo.open-rdonly-nonblock") {
  int fd = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor r(fd);
  int fl = fcntl(r.get(), F_GETFL);
  ASSERT_THAT(fl, SyscallSucceeds());
  EXPECT_EQ(fl & O_ACCMODE, O_RDONLY);
  EXPECT_NE(fl & O_NONBLOCK, 0);
}

// open(2) ENXIO: O_WRONLY|O_NONBLOCK on a FIFO nobody has open for reading fails with ENXIO, also
// after a reader has come and gone.
IPC_TEST_F(FifoOpen, NonblockingWriteOpenWithoutReaderFailsEnxio, "fifo.open-enxio") {
  EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
  { ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK)); }
  EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
}

// fifo(7): O_WRONLY|O_NONBLOCK succeeds once the read end is open, and data written through it
// reaches the reader.
IPC_TEST_F(FifoOpen, NonblockingWriteOpenSucceedsWithReader, "fifo.open-wronly-nonblock-reader") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  int fd = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor w(fd);
  EXPECT_EQ(fcntl(w.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  ASSERT_THAT(write(w.get(), "abc", 3), SyscallSucceedsWithValue(3));
  char buf[8];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "abc");
}

// fifo(7) (Linux): opening for read and write does not block, in blocking mode, with no other opener.
// Run in a child so that a wrongly blocking open becomes a timeout.
IPC_TEST_F(FifoOpen, ReadWriteOpenDoesNotBlock, "fifo.open-rdwr-no-block") {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR));
        EXPECT_EQ(fcntl(rw.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
        ASSERT_THAT(write(rw.get(), "self", 4), SyscallSucceedsWithValue(4));
        char buf[8];
        EXPECT_THAT(read(rw.get(), buf, sizeof buf), SyscallSucceedsWithValue(4));
        EXPECT_EQ(std::string(buf, 4), "self");
      },
      {.what = "opening a FIFO O_RDWR with no other opener"});
  c.ExpectExited(0);
}

// fifo(7) (Linux): O_RDWR|O_NONBLOCK also succeeds.
IPC_TEST_F(FifoOpen, NonblockingReadWriteOpenSucceeds, "fifo.open-rdwr-no-block") {
  int fd = open(fifo_.c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor rw(fd);
  EXPECT_EQ(fcntl(rw.get(), F_GETFL) & O_ACCMODE, O_RDWR);
}

// fifo(7): an O_RDWR open "can be used to open a FIFO for writing while there are no readers": it
// counts as a reader, so a later O_WRONLY|O_NONBLOCK open succeeds instead of failing with ENXIO, and
// writing through it raises no SIGPIPE (run in a child that counts SIGPIPE).
IPC_TEST_F(FifoOpen, ReadWriteOpenCountsAsReader, "fifo.open-rdwr-no-block",
           "fifo.open-wronly-nonblock-reader") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGPIPE);
        ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
        int fd = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
        ASSERT_THAT(fd, SyscallSucceeds());
        FileDescriptor w(fd);
        EXPECT_THAT(write(w.get(), "q", 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(sigpipe.count(), 0);
        char b = 0;
        EXPECT_THAT(read(rw.get(), &b, 1), SyscallSucceedsWithValue(1));
        EXPECT_EQ(b, 'q');
      },
      {.what = "writing to a FIFO whose only reader is an O_RDWR descriptor"});
  c.ExpectExited(0);
}

// fifo(7): a reader blocked in open is released by an O_RDWR open in another process (which opens the
// write side too); the reader then receives what is written through the O_RDWR descriptor.
IPC_TEST_F(FifoOpen, ReadWriteOpenReleasesBlockedReader, "fifo.open-rdonly-blocks",
           "fifo.open-rdwr-no-block") {
  Child reader = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY));
        std::string got;
        EXPECT_TRUE(ReadExactly(r.get(), 2, &got));
        EXPECT_EQ(got, "rw");
      },
      {.what = "opening a FIFO for reading until an O_RDWR opener arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(reader.pid(), SYS_openat));
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_NONBLOCK));
  ASSERT_THAT(write(rw.get(), "rw", 2), SyscallSucceedsWithValue(2));
  reader.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Signals during a blocked open (open(2) EINTR, signal(7)).

// open(2) EINTR / signal(7): a handler installed without SA_RESTART makes a blocked FIFO open fail
// with EINTR; the handler runs exactly once. The aborted open must not leave a reader behind: a
// nonblocking writer open afterwards still fails with ENXIO.
IPC_TEST_F(FifoOpen, BlockedReadOpenInterruptedBySignalFailsEintr, "fifo.open-eintr") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(open(fifo_.c_str(), O_RDONLY), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "opening a FIFO for reading until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_openat));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
}

// open(2) EINTR: the same for an open blocked waiting for a reader. Afterwards no writer is left:
// a reader sees end of file at once.
IPC_TEST_F(FifoOpen, BlockedWriteOpenInterruptedBySignalFailsEintr, "fifo.open-eintr", "fifo.eof-no-writer") {
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, 0);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(open(fifo_.c_str(), O_WRONLY), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "opening a FIFO for writing until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_openat));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  char b;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(0));
}

// For the SA_RESTART tests: the handler counts and tells the parent through a pipe (write(2) is
// async-signal-safe), so the parent knows the handler has run before it looks for the restarted call.
std::atomic<int> g_restart_handler_runs{0};
int g_restart_notify_fd = -1;

void RestartHandler(int) {
  g_restart_handler_runs.fetch_add(1, std::memory_order_relaxed);
  if (write(g_restart_notify_fd, "s", 1) < 0) {
  }
}

// Spawns a child that installs RestartHandler for SIGUSR1 with SA_RESTART and runs `body`; sends the
// signal once the child blocks in openat, waits for the handler's note and for the child to block in
// openat again (the restarted call: the first one was abandoned when the handler ran).
::testing::AssertionResult InterruptAndAwaitRestart(Child& c, Pipe& notify) {
  auto blocked = WaitUntilBlockedIn(c.pid(), SYS_openat);
  if (!blocked) return blocked;
  if (c.Kill(SIGUSR1) != 0) return ::testing::AssertionFailure() << "kill: " << DescribeErrno(errno);
  std::string note;
  auto got = ReadExactly(notify.read.get(), 1, &note);
  if (!got)
    return ::testing::AssertionFailure() << "the SA_RESTART handler did not report: " << got.message();
  return WaitUntilBlockedIn(c.pid(), SYS_openat);
}

// signal(7): open(2) of a FIFO is restarted after a handler installed with SA_RESTART returns; the
// restarted open completes when a writer arrives, and the handler ran exactly once.
IPC_TEST_F(FifoOpen, BlockedReadOpenRestartsWithSaRestart, "fifo.open-sa-restart") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it runs signal handlers at its own safe points, not inside the interrupted blocking call");
  ASSERT_OK_AND_ASSIGN(Pipe notify, Pipe::Create(O_CLOEXEC));
  Child c = Child::Spawn(
      [&] {
        notify.read.Close();
        g_restart_notify_fd = notify.write.get();
        g_restart_handler_runs = 0;
        ScopedSigaction act(SIGUSR1, RestartHandler, SA_RESTART);
        ASSERT_TRUE(act.ok());
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY));
        EXPECT_EQ(g_restart_handler_runs.load(), 1);
        std::string got;
        EXPECT_TRUE(ReadExactly(r.get(), 7, &got));
        EXPECT_EQ(got, "restart");
      },
      {.what = "opening a FIFO for reading with an SA_RESTART handler"});
  notify.write.Close();
  ASSERT_TRUE(InterruptAndAwaitRestart(c, notify));
  Child writer = SpawnWriter(fifo_, "restart");
  writer.ExpectExited(0);
  c.ExpectExited(0);
}

// signal(7): the same for an open blocked waiting for a reader.
IPC_TEST_F(FifoOpen, BlockedWriteOpenRestartsWithSaRestart, "fifo.open-sa-restart") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "it runs signal handlers at its own safe points, not inside the interrupted blocking call");
  ASSERT_OK_AND_ASSIGN(Pipe notify, Pipe::Create(O_CLOEXEC));
  Child c = Child::Spawn(
      [&] {
        notify.read.Close();
        g_restart_notify_fd = notify.write.get();
        g_restart_handler_runs = 0;
        ScopedSigaction act(SIGUSR1, RestartHandler, SA_RESTART);
        ASSERT_TRUE(act.ok());
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY));
        EXPECT_EQ(g_restart_handler_runs.load(), 1);
        EXPECT_THAT(write(w.get(), "again", 5), SyscallSucceedsWithValue(5));
      },
      {.what = "opening a FIFO for writing with an SA_RESTART handler"});
  notify.write.Close();
  ASSERT_TRUE(InterruptAndAwaitRestart(c, notify));
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  std::string got;
  EXPECT_TRUE(ReadExactly(r.get(), 5, &got));
  EXPECT_EQ(got, "again");
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------------
// Permissions (open(2) EACCES, path_resolution(7)). The modes deny the permission to everyone, so the
// checks hold for an unprivileged caller whether or not it owns the FIFO.

// open(2) EACCES: opening for reading without read permission fails (also O_RDWR); write permission
// alone still allows a nonblocking writer open when a reader exists.
IPC_TEST_F(FifoOpen, OpenForReadingWithoutReadPermissionFailsEacces, "fifo.open-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  // The reader is opened before the mode drops read permission (the test may run as the owner).
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_THAT(chmod(fifo_.c_str(), 0222), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        r.Close();
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        EXPECT_THAT(open(fifo_.c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(open(fifo_.c_str(), O_RDWR | O_NONBLOCK), SyscallFailsWithErrno(EACCES));
        int fd = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
        EXPECT_THAT(fd, SyscallSucceeds());
        if (fd >= 0) close(fd);
      },
      {.what = "opening a write-only FIFO as an unprivileged user"});
  c.ExpectExited(0);
}

// open(2) EACCES: opening for writing without write permission fails, although a reader exists (so it
// is not ENXIO); read permission alone allows a read open.
IPC_TEST_F(FifoOpen, OpenForWritingWithoutWritePermissionFailsEacces, "fifo.open-eacces") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_THAT(chmod(fifo_.c_str(), 0444), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        ASSERT_NE(geteuid(), 0u);
        EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(open(fifo_.c_str(), O_WRONLY), SyscallFailsWithErrno(EACCES));
        int fd = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK);
        EXPECT_THAT(fd, SyscallSucceeds());
        if (fd >= 0) close(fd);
      },
      {.what = "opening a read-only FIFO for writing as an unprivileged user"});
  c.ExpectExited(0);
}

// open(2) EACCES: search permission denied on a directory in the path prefix; the FIFO itself is
// mode 0666. The same FIFO opens fine through a searchable directory.
IPC_TEST_F(FifoOpen, OpenWithoutSearchPermissionOnDirectoryFailsEacces, "fifo.open-eacces-search") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  std::string sub = MakeDir("sub", 0777);
  std::string inner = sub + "/fifo";
  ASSERT_THAT(mkfifo(inner.c_str(), 0666), SyscallSucceeds());
  ASSERT_THAT(chmod(inner.c_str(), 0666), SyscallSucceeds());
  ASSERT_THAT(chmod(sub.c_str(), 0666), SyscallSucceeds());  // read+write, no search
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        EXPECT_THAT(open(inner.c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(EACCES));
        EXPECT_THAT(open(inner.c_str(), O_RDWR | O_NONBLOCK), SyscallFailsWithErrno(EACCES));
        int fd = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK);
        EXPECT_THAT(fd, SyscallSucceeds());
        if (fd >= 0) close(fd);
      },
      {.what = "opening a FIFO below a directory without search permission"});
  c.ExpectExited(0);
  // Let TempDir's cleanup descend again when the suite runs unprivileged.
  EXPECT_THAT(chmod(sub.c_str(), 0777), SyscallSucceeds());
}

// open(2) O_PATH: the FIFO itself is not opened: no permission on it is needed, the call does not wait
// for a peer, the descriptor is not a reader (O_WRONLY|O_NONBLOCK still fails with ENXIO), fstat(2)
// works on it and read(2) fails with EBADF.
IPC_TEST_F(FifoOpen, OpathOpenDoesNotOpenTheFifo, "fifo.open-opath") {
  IPC_REQUIRE_UNPRIVILEGED_CHILD();
  ASSERT_THAT(chmod(fifo_.c_str(), 0), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_DROP_PRIVILEGES();
        int fd = open(fifo_.c_str(), O_PATH);
        ASSERT_THAT(fd, SyscallSucceeds());
        FileDescriptor p(fd);
        EXPECT_NE(fcntl(p.get(), F_GETFL) & O_PATH, 0);
        struct stat st;
        ASSERT_THAT(fstat(p.get(), &st), SyscallSucceeds());
        EXPECT_TRUE(S_ISFIFO(st.st_mode));
        char b;
        EXPECT_THAT(read(p.get(), &b, 1), SyscallFailsWithErrno(EBADF));
        EXPECT_THAT(write(p.get(), "x", 1), SyscallFailsWithErrno(EBADF));
      },
      {.what = "opening a FIFO with O_PATH"});
  c.ExpectExited(0);
  // The same check for ENXIO needs permission on the FIFO: run it as the owner.
  ASSERT_THAT(chmod(fifo_.c_str(), 0666), SyscallSucceeds());
  Child c2 = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(FileDescriptor p, Open(fifo_, O_PATH));
        EXPECT_THAT(open(fifo_.c_str(), O_WRONLY | O_NONBLOCK), SyscallFailsWithErrno(ENXIO));
      },
      {.what = "holding an O_PATH descriptor of a FIFO"});
  c2.ExpectExited(0);
}

// open(2) EACCES (protected_fifos) and proc(5): with O_CREAT, an existing FIFO in a sticky directory
// that is owned by neither the caller nor the directory's owner cannot be opened when protected_fifos
// is 1 (world-writable directory) or 2 (also group-writable); with 0 it is unrestricted. Without
// O_CREAT, and for a FIFO the caller owns, the open always succeeds. Needs root to give the FIFO to
// another user; the expectation follows the sysctl as configured (it is never changed here).
IPC_TEST_F(FifoOpen, OcreatOpenOfForeignFifoInStickyDirectory, "fifo.open-eacces-protected-fifos") {
  IPC_REQUIRE_OTHER_USERS("chown(2) of a FIFO to another user");
  auto level = limits::ReadProcSysLong("/proc/sys/fs/protected_fifos");
  if (!level.ok()) GTEST_SKIP() << level.error();
  struct Case {
    const char* dir;
    mode_t mode;
    bool restricted;
  } cases[] = {
      {"world", 01777, level.value() >= 1},
      {"group", 01770, level.value() >= 2},
      {"nosticky", 0777, false},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.dir) + " directory, protected_fifos=" + std::to_string(level.value()));
    std::string d = MakeDir(k.dir, k.mode);
    std::string foreign = d + "/foreign";
    std::string own = d + "/own";
    ASSERT_THAT(mkfifo(foreign.c_str(), 0666), SyscallSucceeds());
    ASSERT_THAT(chown(foreign.c_str(), kNobodyUid, kNobodyGid), SyscallSucceeds());
    ASSERT_THAT(mkfifo(own.c_str(), 0666), SyscallSucceeds());
    int fd = open(foreign.c_str(), O_CREAT | O_RDONLY | O_NONBLOCK, 0666);
    if (k.restricted) {
      EXPECT_THAT(fd, SyscallFailsWithErrno(EACCES));
    } else {
      EXPECT_THAT(fd, SyscallSucceeds());
    }
    if (fd >= 0) close(fd);
    fd = open(foreign.c_str(), O_RDONLY | O_NONBLOCK);
    EXPECT_THAT(fd, SyscallSucceeds()) << "without O_CREAT";
    if (fd >= 0) close(fd);
    fd = open(own.c_str(), O_CREAT | O_RDONLY | O_NONBLOCK, 0666);
    EXPECT_THAT(fd, SyscallSucceeds()) << "FIFO owned by the caller";
    if (fd >= 0) close(fd);
  }
}

// ---------------------------------------------------------------------------------------------------
// Flags and path resolution (open(2), path_resolution(7)).

// open(2) O_TRUNC: ignored for a FIFO: opening the FIFO again with O_TRUNC keeps the buffered data.
IPC_TEST_F(FifoOpen, OtruncIsIgnored, "fifo.open-otrunc-ignored") {
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(fifo_, O_RDONLY | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w.get(), "keep", 4), SyscallSucceedsWithValue(4));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w2, Open(fifo_, O_WRONLY | O_TRUNC | O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(fifo_, O_RDWR | O_TRUNC | O_NONBLOCK));
  struct stat st;
  ASSERT_THAT(stat(fifo_.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  char buf[8];
  EXPECT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "keep");
}

// open(2) EEXIST: O_CREAT|O_EXCL on an existing FIFO fails and leaves the FIFO as it was.
IPC_TEST_F(FifoOpen, OcreatOexclOnExistingFifoFailsEexist, "fifo.open-eexist") {
  EXPECT_THAT(open(fifo_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600), SyscallFailsWithErrno(EEXIST));
  EXPECT_THAT(open(fifo_.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NONBLOCK, 0600),
              SyscallFailsWithErrno(EEXIST));
  struct stat st;
  ASSERT_THAT(stat(fifo_.c_str(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
}

// open(2) O_CREAT: only a pathname that does not exist is created; an existing FIFO is opened as the
// FIFO (it stays a FIFO with its mode, and the descriptor is its read end).
IPC_TEST_F(FifoOpen, OcreatOnExistingFifoOpensTheFifo, "fifo.open-ocreat-existing") {
  int fd = open(fifo_.c_str(), O_CREAT | O_RDONLY | O_NONBLOCK, 0600);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor r(fd);
  struct stat st;
  ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(fifo_, O_WRONLY | O_NONBLOCK));
  ASSERT_THAT(write(w.get(), "c", 1), SyscallSucceedsWithValue(1));
  char b = 0;
  EXPECT_THAT(read(r.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'c');
}

// open(2) ENOTDIR: O_DIRECTORY on a FIFO fails with ENOTDIR instead of waiting for a writer (the
// reason O_DIRECTORY exists). In a child: a wrongly blocking open becomes a timeout.
IPC_TEST_F(FifoOpen, OdirectoryOnFifoFailsEnotdirWithoutBlocking, "fifo.open-enotdir-odirectory") {
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(open(fifo_.c_str(), O_RDONLY | O_DIRECTORY), SyscallFailsWithErrno(ENOTDIR));
        EXPECT_THAT(open(fifo_.c_str(), O_RDONLY | O_DIRECTORY | O_NONBLOCK), SyscallFailsWithErrno(ENOTDIR));
      },
      {.what = "opening a FIFO with O_DIRECTORY"});
  c.ExpectExited(0);
}

// open(2) ELOOP: a symbolic link loop, as the final component or as a directory component, fails
// with ELOOP.
IPC_TEST_F(FifoOpen, SymlinkLoopFailsEloop, "fifo.open-eloop") {
  std::string a = dir_->Path("a"), b = dir_->Path("b");
  ASSERT_THAT(symlink("b", a.c_str()), SyscallSucceeds());
  ASSERT_THAT(symlink("a", b.c_str()), SyscallSucceeds());
  EXPECT_THAT(open(a.c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(ELOOP));
  EXPECT_THAT(open((a + "/fifo").c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(ELOOP));
}

// path_resolution(7): at most 40 symbolic links are followed; a chain of 40 links to the FIFO opens
// it, a chain of 41 fails with ELOOP.
IPC_TEST_F(FifoOpen, SymlinkChainLimitIsForty, "fifo.open-eloop-limit") {
  std::string prev = "fifo";
  for (int i = 1; i <= 41; ++i) {
    std::string name = "l" + std::to_string(i);
    ASSERT_THAT(symlink(prev.c_str(), dir_->Path(name).c_str()), SyscallSucceeds());
    prev = name;
  }
  int fd = open(dir_->Path("l40").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor r(fd);
  struct stat st;
  ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_THAT(open(dir_->Path("l41").c_str(), O_RDONLY | O_NONBLOCK), SyscallFailsWithErrno(ELOOP));
}

// open(2) ELOOP (O_NOFOLLOW): a symbolic link to a FIFO is refused with ELOOP; without O_NOFOLLOW the
// link is followed to the FIFO.
IPC_TEST_F(FifoOpen, OnofollowOnSymlinkToFifoFailsEloop, "fifo.open-eloop-nofollow") {
  std::string link = dir_->Path("link");
  ASSERT_THAT(symlink(fifo_.c_str(), link.c_str()), SyscallSucceeds());
  EXPECT_THAT(open(link.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW), SyscallFailsWithErrno(ELOOP));
  int fd = open(link.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_THAT(fd, SyscallSucceeds());
  FileDescriptor r(fd);
  struct stat st;
  ASSERT_THAT(fstat(r.get(), &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // O_NOFOLLOW only concerns the final component: the FIFO itself opens.
  fd = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  EXPECT_THAT(fd, SyscallSucceeds());
  if (fd >= 0) close(fd);
}

}  // namespace
}  // namespace ipc
