// A pipe seen through the file system: /proc/self/fd/N names it "pipe:[inode]" and opening that entry
// opens the same pipe again with a new open file description (proc(5) /proc/pid/fd); fstatfs(2) reports
// the pipe file system (statfs(2) PIPEFS_MAGIC); ftruncate(2) refuses a pipe (truncate(2) EINVAL).
// Rules: suite/rules/pipe.ini.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

constexpr long kPipefsMagic = 0x50495045;  // PIPEFS_MAGIC in statfs(2) and <linux/magic.h>

std::string ProcFd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// --- /proc/self/fd/N --------------------------------------------------------------------------------

IPC_TEST(PipeProcFd, LinkNamesThePipeAndItsInode, "pipe.proc-fd-link") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  struct stat st {};
  ASSERT_THAT(fstat(p.read.get(), &st), SyscallSucceeds());
  const std::string expect = "pipe:[" + std::to_string(st.st_ino) + "]";
  for (int fd : {p.read.get(), p.write.get()}) {
    char buf[PATH_MAX];
    ssize_t n = readlink(ProcFd(fd).c_str(), buf, sizeof buf);
    ASSERT_THAT(n, SyscallSucceeds()) << ProcFd(fd);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), expect) << ProcFd(fd);
  }
}

IPC_TEST(PipeProcFd, OpeningTheReadEndWriteOnlyGivesANewWriteEnd, "pipe.proc-fd-reopen") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(ProcFd(p.read.get()), O_WRONLY));
  EXPECT_NE(w.get(), p.write.get());
  ASSERT_THAT(write(w.get(), "via proc", 8), SyscallSucceedsWithValue(8));
  char buf[16];
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(8));
  EXPECT_EQ(std::string(buf, 8), "via proc");
  struct stat a {
  }, b{};
  ASSERT_THAT(fstat(w.get(), &a), SyscallSucceeds());
  ASSERT_THAT(fstat(p.write.get(), &b), SyscallSucceeds());
  EXPECT_EQ(a.st_ino, b.st_ino) << "the same pipe";
  EXPECT_EQ(a.st_dev, b.st_dev);
}

IPC_TEST(PipeProcFd, OpeningTheWriteEndReadOnlyGivesANewReadEnd, "pipe.proc-fd-reopen") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(ProcFd(p.write.get()), O_RDONLY | O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "xyz", 3), SyscallSucceedsWithValue(3));
  char buf[8];
  ASSERT_THAT(read(r.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "xyz");
  // Both read ends drain the one pipe.
  EXPECT_EQ(pipe_util::Fionread(p.read.get()), 0);
}

IPC_TEST(PipeProcFd, ReopenedEndHasItsOwnOpenFileDescription, "pipe.proc-fd-reopen") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(fcntl(p.read.get(), F_SETFL, O_NONBLOCK), SyscallSucceeds());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, Open(ProcFd(p.read.get()), O_RDONLY));
  const int flags = fcntl(r.get(), F_GETFL);
  ASSERT_THAT(flags, SyscallSucceeds());
  EXPECT_EQ(flags & O_NONBLOCK, 0) << "a new description does not share the original's O_NONBLOCK";
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  // A dup(2), by contrast, shares it.
  FileDescriptor d(dup(p.read.get()));
  ASSERT_TRUE(d.valid()) << DescribeErrno(errno);
  EXPECT_NE(fcntl(d.get(), F_GETFL) & O_NONBLOCK, 0);
}

IPC_TEST(PipeProcFd, ReopenedWriteEndKeepsThePipeFromEndOfFile, "pipe.proc-fd-reopen",
         "pipe.eof-after-last-writer") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(FileDescriptor w, Open(ProcFd(p.write.get()), O_WRONLY));
  ASSERT_THAT(p.write.Close(), SyscallSucceeds());
  char b;
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallFailsWithErrno(EAGAIN))
      << "the reopened write end is a writer";
  ASSERT_THAT(w.Close(), SyscallSucceeds());
  EXPECT_THAT(read(p.read.get(), &b, 1), SyscallSucceedsWithValue(0));
}

IPC_TEST(PipeProcFd, OpeningReadWriteGivesBothEnds, "pipe.proc-fd-reopen") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(FileDescriptor rw, Open(ProcFd(p.read.get()), O_RDWR | O_NONBLOCK));
  ASSERT_THAT(write(rw.get(), "q", 1), SyscallSucceedsWithValue(1));
  char b = 0;
  ASSERT_THAT(read(rw.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'q');
}

// --- fstatfs ----------------------------------------------------------------------------------------

IPC_TEST(PipeFs, FstatfsReportsPipefsOnBothEnds, "pipe.fstatfs-pipefs") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  for (int fd : {p.read.get(), p.write.get()}) {
    struct statfs sf {};
    ASSERT_THAT(fstatfs(fd, &sf), SyscallSucceeds());
    EXPECT_EQ(static_cast<long>(sf.f_type), kPipefsMagic) << std::hex << "f_type 0x" << sf.f_type;
  }
}

// --- ftruncate --------------------------------------------------------------------------------------

IPC_TEST(PipeFs, FtruncateOnEitherEndFailsWithEinval, "pipe.ftruncate-einval") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  EXPECT_THAT(ftruncate(p.write.get(), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(ftruncate(p.read.get(), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(pipe_util::Fionread(p.read.get()), 3) << "the buffered data is untouched";
}

}  // namespace
}  // namespace ipc
