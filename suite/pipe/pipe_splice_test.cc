// splice(2), tee(2) and vmsplice(2) with pipes: moving bytes between a pipe and a pipe or a file without
// a user-space copy, duplicating a pipe's contents without consuming them, mapping user memory into a
// pipe and filling it from one; and every errno of the three pages' ERRORS sections that Linux can
// produce. Rules: suite/rules/pipe.ini (ENOMEM rows are not-provokable there).
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/seed.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::Fionread;

// A regular file in a private directory, holding `contents`.
struct TempFile {
  TempDir dir;
  std::string path;
};

PosixResult<TempFile> MakeFile(const std::string& contents) {
  PosixResult<TempDir> dir = TempDir::Create();
  if (!dir.ok()) return PosixResult<TempFile>::Error(dir.error_number(), "creating a temporary directory");
  TempFile f{std::move(dir).value(), ""};
  f.path = f.dir.Path("data");
  PosixResult<FileDescriptor> fd = Open(f.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd.ok()) return PosixResult<TempFile>::Error(fd.error_number(), "creating " + f.path);
  if (!WriteAll(fd.value().get(), contents.data(), contents.size()))
    return PosixResult<TempFile>::Error(errno, "writing " + f.path);
  return f;
}

std::string ReadFile(const std::string& path) {
  std::string out;
  PosixResult<FileDescriptor> fd = Open(path, O_RDONLY);
  if (!fd.ok()) return "<cannot open>";
  char buf[256];
  for (ssize_t n; (n = read(fd.value().get(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string Drain(int fd, size_t n) { return pipe_util::ReadNow(fd, n); }

// --- splice(2) --------------------------------------------------------------------------------------

IPC_TEST(PipeSplice, PipeToPipeMovesTheBytes, "pipe.splice-moves") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(write(a.write.get(), "hello", 5), SyscallSucceedsWithValue(5));
  EXPECT_THAT(splice(a.read.get(), nullptr, b.write.get(), nullptr, 5, 0), SyscallSucceedsWithValue(5));
  EXPECT_EQ(Fionread(a.read.get()), 0) << "splice consumes what it moves";
  ASSERT_EQ(Fionread(b.read.get()), 5);
  EXPECT_EQ(Drain(b.read.get(), 5), "hello");
}

IPC_TEST(PipeSplice, MovesAtMostLenBytes, "pipe.splice-moves") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(write(a.write.get(), "abcdef", 6), SyscallSucceedsWithValue(6));
  EXPECT_THAT(splice(a.read.get(), nullptr, b.write.get(), nullptr, 4, 0), SyscallSucceedsWithValue(4));
  ASSERT_EQ(Fionread(b.read.get()), 4);
  EXPECT_EQ(Drain(b.read.get(), 4), "abcd");
  ASSERT_EQ(Fionread(a.read.get()), 2);
  EXPECT_EQ(Drain(a.read.get(), 2), "ef");
}

IPC_TEST(PipeSplice, FromAFileAtAnOffsetLeavesTheFileOffset, "pipe.splice-offset") {
  ASSERT_OK_AND_ASSIGN(TempFile f, MakeFile("0123456789"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor in, Open(f.path, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  loff_t off = 3;
  EXPECT_THAT(splice(in.get(), &off, p.write.get(), nullptr, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_EQ(off, 7) << "*off_in is advanced past the bytes read";
  EXPECT_THAT(lseek(in.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(0)) << "the file offset is not changed";
  ASSERT_EQ(Fionread(p.read.get()), 4);
  EXPECT_EQ(Drain(p.read.get(), 4), "3456");
}

IPC_TEST(PipeSplice, FromAFileWithoutAnOffsetAdvancesTheFileOffset, "pipe.splice-offset") {
  ASSERT_OK_AND_ASSIGN(TempFile f, MakeFile("0123456789"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor in, Open(f.path, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(splice(in.get(), nullptr, p.write.get(), nullptr, 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_THAT(lseek(in.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(4));
  EXPECT_THAT(splice(in.get(), nullptr, p.write.get(), nullptr, 2, 0), SyscallSucceedsWithValue(2));
  ASSERT_EQ(Fionread(p.read.get()), 6);
  EXPECT_EQ(Drain(p.read.get(), 6), "012345");
}

IPC_TEST(PipeSplice, IntoAFileAtAnOffsetWritesThereAndLeavesTheFileOffset, "pipe.splice-offset",
         "pipe.splice-moves") {
  ASSERT_OK_AND_ASSIGN(TempFile f, MakeFile("0123456789"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor out, Open(f.path, O_WRONLY));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "XYZ", 3), SyscallSucceedsWithValue(3));
  loff_t off = 2;
  EXPECT_THAT(splice(p.read.get(), nullptr, out.get(), &off, 3, 0), SyscallSucceedsWithValue(3));
  EXPECT_EQ(off, 5);
  EXPECT_THAT(lseek(out.get(), 0, SEEK_CUR), SyscallSucceedsWithValue(0));
  EXPECT_EQ(ReadFile(f.path), "01XYZ56789");
  EXPECT_EQ(Fionread(p.read.get()), 0);
}

IPC_TEST(PipeSplice, EmptyPipeWithoutWritersGivesZero, "pipe.splice-eof") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(a.write.Close(), SyscallSucceeds());
  EXPECT_THAT(splice(a.read.get(), nullptr, b.write.get(), nullptr, 16, 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(splice(a.read.get(), nullptr, b.write.get(), nullptr, 16, SPLICE_F_NONBLOCK),
              SyscallSucceedsWithValue(0))
      << "end of file, not EAGAIN";
}

IPC_TEST(PipeSplice, BlocksOnAnEmptyPipeUntilDataArrives, "pipe.splice-moves", "pipe.splice-eagain") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        EXPECT_THAT(splice(a.read.get(), nullptr, b.write.get(), nullptr, 16, 0),
                    SyscallSucceedsWithValue(3));
      },
      {.what = "splicing from an empty pipe"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_splice));
  ASSERT_THAT(write(a.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  c.ExpectExited(0);
  ASSERT_EQ(Fionread(b.read.get()), 3);
  EXPECT_EQ(Drain(b.read.get(), 3), "abc");
}

// --- tee(2) -----------------------------------------------------------------------------------------

IPC_TEST(PipeTee, DuplicatesWithoutConsuming, "pipe.tee-duplicates") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(write(a.write.get(), "tee me", 6), SyscallSucceedsWithValue(6));
  EXPECT_THAT(tee(a.read.get(), b.write.get(), 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_EQ(Fionread(a.read.get()), 6) << "tee does not consume the input";
  ASSERT_EQ(Fionread(b.read.get()), 6);
  EXPECT_EQ(Drain(b.read.get(), 6), "tee me");
  EXPECT_EQ(Drain(a.read.get(), 6), "tee me");
}

IPC_TEST(PipeTee, DuplicatesAtMostLenBytesAndASpliceCanFollow, "pipe.tee-duplicates", "pipe.splice-moves") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe c, Pipe::Create());
  ASSERT_THAT(write(a.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  EXPECT_THAT(tee(a.read.get(), b.write.get(), 4, 0), SyscallSucceedsWithValue(4));
  // The duplicated data is still there for a splice to move.
  EXPECT_THAT(splice(a.read.get(), nullptr, c.write.get(), nullptr, 10, 0), SyscallSucceedsWithValue(10));
  ASSERT_EQ(Fionread(b.read.get()), 4);
  EXPECT_EQ(Drain(b.read.get(), 4), "0123");
  ASSERT_EQ(Fionread(c.read.get()), 10);
  EXPECT_EQ(Drain(c.read.get(), 10), "0123456789");
}

IPC_TEST(PipeTee, TwoTeesGiveTwoCopies, "pipe.tee-duplicates") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe c, Pipe::Create());
  const std::string data = pipe_util::Pattern(3000, static_cast<unsigned>(TestSeed()));
  ASSERT_TRUE(WriteAll(a.write.get(), data.data(), data.size())) << DescribeErrno(errno);
  EXPECT_THAT(tee(a.read.get(), b.write.get(), data.size(), 0), SyscallSucceedsWithValue(data.size()));
  EXPECT_THAT(tee(a.read.get(), c.write.get(), data.size(), 0), SyscallSucceedsWithValue(data.size()));
  EXPECT_EQ(Drain(b.read.get(), data.size()), data);
  EXPECT_EQ(Drain(c.read.get(), data.size()), data);
  EXPECT_EQ(Drain(a.read.get(), data.size()), data);
}

IPC_TEST(PipeTee, EmptyPipeWithoutWritersGivesZero, "pipe.tee-eof") {
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe b, Pipe::Create());
  ASSERT_THAT(a.write.Close(), SyscallSucceeds());
  EXPECT_THAT(tee(a.read.get(), b.write.get(), 16, 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(tee(a.read.get(), b.write.get(), 16, SPLICE_F_NONBLOCK), SyscallSucceedsWithValue(0));
}

// --- vmsplice(2) ------------------------------------------------------------------------------------

IPC_TEST(PipeVmsplice, WriteEndMapsUserMemoryIntoThePipeInOrder, "pipe.vmsplice-to-pipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  std::string first = "first ", second = "second";
  struct iovec iov[2] = {{first.data(), first.size()}, {second.data(), second.size()}};
  EXPECT_THAT(vmsplice(p.write.get(), iov, 2, 0), SyscallSucceedsWithValue(12));
  ASSERT_EQ(Fionread(p.read.get()), 12);
  EXPECT_EQ(Drain(p.read.get(), 12), "first second");
}

IPC_TEST(PipeVmsplice, ReadEndFillsUserMemoryFromThePipe, "pipe.vmsplice-from-pipe") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_THAT(write(p.write.get(), "abcdefgh", 8), SyscallSucceedsWithValue(8));
  char x[3] = {}, y[3] = {};
  struct iovec iov[2] = {{x, sizeof x}, {y, sizeof y}};
  EXPECT_THAT(vmsplice(p.read.get(), iov, 2, 0), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(x, 3), "abc");
  EXPECT_EQ(std::string(y, 3), "def");
  ASSERT_EQ(Fionread(p.read.get()), 2) << "what was copied out is consumed";
  EXPECT_EQ(Drain(p.read.get(), 2), "gh");
}

// --- the errors -------------------------------------------------------------------------------------

// Everything a row may use. `a` holds "data" and must still hold it after a failed call; `b` is empty;
// `empty` is an empty pipe with its writer open; `nb` is an empty O_NONBLOCK pipe; `full` is full.
struct Env {
  Pipe a, b, empty, nb, full;
  FileDescriptor file_r, file_w, file_append, efd, sock_r, sock_w;
  int closed_fd = -1;
};

struct SpliceErrorRow {
  const char* name;
  rules::RuleList rules;
  int (*call)(Env&);
  int err;
};

const SpliceErrorRow kSpliceErrors[] = {
    {"SpliceNeitherEndIsAPipe",
     {"pipe.splice-einval-no-pipe"},
     [](Env& e) { return (int)splice(e.file_r.get(), nullptr, e.file_w.get(), nullptr, 4, 0); },
     EINVAL},
    {"SpliceSamePipe",
     {"pipe.splice-einval-same-pipe"},
     [](Env& e) { return (int)splice(e.a.read.get(), nullptr, e.a.write.get(), nullptr, 4, 0); },
     EINVAL},
    {"SpliceIntoAnAppendModeFile",
     {"pipe.splice-einval-append"},
     [](Env& e) { return (int)splice(e.a.read.get(), nullptr, e.file_append.get(), nullptr, 4, 0); },
     EINVAL},
    {"SpliceIntoAFileWithoutSpliceSupport",
     {"pipe.splice-einval-unsupported"},
     [](Env& e) { return (int)splice(e.a.read.get(), nullptr, e.efd.get(), nullptr, 4, 0); },
     EINVAL},
    {"SpliceOffsetOnASocket",
     {"pipe.splice-einval-offset-nonseekable"},
     [](Env& e) {
       loff_t off = 0;
       return (int)splice(e.sock_r.get(), &off, e.b.write.get(), nullptr, 4, 0);
     },
     EINVAL},
    {"SpliceOffInOnAPipe",
     {"pipe.splice-espipe"},
     [](Env& e) {
       loff_t off = 0;
       return (int)splice(e.a.read.get(), &off, e.file_w.get(), nullptr, 4, 0);
     },
     ESPIPE},
    {"SpliceOffOutOnAPipe",
     {"pipe.splice-espipe"},
     [](Env& e) {
       loff_t off = 0;
       return (int)splice(e.file_r.get(), nullptr, e.b.write.get(), &off, 4, 0);
     },
     ESPIPE},
    {"SpliceInvalidFdIn",
     {"pipe.splice-ebadf"},
     [](Env& e) { return (int)splice(-1, nullptr, e.b.write.get(), nullptr, 4, 0); },
     EBADF},
    {"SpliceClosedFdOut",
     {"pipe.splice-ebadf"},
     [](Env& e) { return (int)splice(e.a.read.get(), nullptr, e.closed_fd, nullptr, 4, 0); },
     EBADF},
    {"SpliceFromAWriteEnd",
     {"pipe.splice-ebadf"},
     [](Env& e) { return (int)splice(e.a.write.get(), nullptr, e.b.write.get(), nullptr, 4, 0); },
     EBADF},
    {"SpliceIntoAReadOnlyFile",
     {"pipe.splice-ebadf"},
     [](Env& e) { return (int)splice(e.a.read.get(), nullptr, e.file_r.get(), nullptr, 4, 0); },
     EBADF},
    {"SpliceNonblockFlagOnAnEmptyPipe",
     {"pipe.splice-eagain"},
     [](Env& e) {
       return (int)splice(e.empty.read.get(), nullptr, e.b.write.get(), nullptr, 4, SPLICE_F_NONBLOCK);
     },
     EAGAIN},
    {"SpliceFromAnEmptyNonblockingPipe",
     {"pipe.splice-eagain"},
     [](Env& e) { return (int)splice(e.nb.read.get(), nullptr, e.b.write.get(), nullptr, 4, 0); },
     EAGAIN},
    {"SpliceNonblockFlagIntoAFullPipe",
     {"pipe.splice-eagain"},
     [](Env& e) {
       return (int)splice(e.a.read.get(), nullptr, e.full.write.get(), nullptr, 4, SPLICE_F_NONBLOCK);
     },
     EAGAIN},
    {"TeeFromARegularFile",
     {"pipe.tee-einval"},
     [](Env& e) { return (int)tee(e.file_r.get(), e.b.write.get(), 4, 0); },
     EINVAL},
    {"TeeIntoARegularFile",
     {"pipe.tee-einval"},
     [](Env& e) { return (int)tee(e.a.read.get(), e.file_w.get(), 4, 0); },
     EINVAL},
    {"TeeSamePipe",
     {"pipe.tee-einval"},
     [](Env& e) { return (int)tee(e.a.read.get(), e.a.write.get(), 4, 0); },
     EINVAL},
    {"TeeNonblockFlagOnAnEmptyPipe",
     {"pipe.tee-eagain"},
     [](Env& e) { return (int)tee(e.empty.read.get(), e.b.write.get(), 4, SPLICE_F_NONBLOCK); },
     EAGAIN},
    {"TeeFromAnEmptyNonblockingPipe",
     {"pipe.tee-eagain"},
     [](Env& e) { return (int)tee(e.nb.read.get(), e.b.write.get(), 4, 0); },
     EAGAIN},
    {"VmspliceRegularFile",
     {"pipe.vmsplice-ebadf"},
     [](Env& e) {
       char buf[4] = {'w', 'x', 'y', 'z'};
       struct iovec iov = {buf, sizeof buf};
       return (int)vmsplice(e.file_w.get(), &iov, 1, 0);
     },
     EBADF},
    {"VmspliceInvalidFd",
     {"pipe.vmsplice-ebadf"},
     [](Env& e) {
       (void)e;
       char buf[4] = {};
       struct iovec iov = {buf, sizeof buf};
       return (int)vmsplice(-1, &iov, 1, 0);
     },
     EBADF},
    {"VmspliceMoreThanIovMaxSegments",
     {"pipe.vmsplice-einval-iovmax"},
     [](Env& e) {
       static char byte = 'v';
       std::vector<struct iovec> iov(IOV_MAX + 1, {&byte, 1});
       return (int)vmsplice(e.b.write.get(), iov.data(), iov.size(), 0);
     },
     EINVAL},
    {"VmspliceNonblockFlagIntoAFullPipe",
     {"pipe.vmsplice-eagain"},
     [](Env& e) {
       char buf[4] = {};
       struct iovec iov = {buf, sizeof buf};
       return (int)vmsplice(e.full.write.get(), &iov, 1, SPLICE_F_NONBLOCK);
     },
     EAGAIN},
};

class PipeSpliceError : public ::testing::TestWithParam<SpliceErrorRow> {};

IPC_TEST_P(PipeSpliceError, FailsAndMovesNothing) {
  const SpliceErrorRow& row = GetParam();
  Env e;
  ASSERT_OK_AND_ASSIGN(e.a, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(e.b, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(e.empty, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(e.nb, Pipe::Create(O_NONBLOCK));
  ASSERT_OK_AND_ASSIGN(e.full, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(size_t filled, FillPipe(e.full.write.get()));
  ASSERT_THAT(write(e.a.write.get(), "data", 4), SyscallSucceedsWithValue(4));
  ASSERT_OK_AND_ASSIGN(TempFile file, MakeFile("file"));
  ASSERT_OK_AND_ASSIGN(e.file_r, Open(file.path, O_RDONLY));
  ASSERT_OK_AND_ASSIGN(e.file_w, Open(file.path, O_WRONLY));
  ASSERT_OK_AND_ASSIGN(e.file_append, Open(file.path, O_WRONLY | O_APPEND));
  e.efd.reset(eventfd(0, 0));
  ASSERT_TRUE(e.efd.valid()) << "eventfd: " << DescribeErrno(errno);
  int sv[2];
  ASSERT_THAT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), SyscallSucceeds());
  e.sock_r.reset(sv[0]);
  e.sock_w.reset(sv[1]);
  ASSERT_THAT(write(e.sock_w.get(), "sock", 4), SyscallSucceedsWithValue(4));
  {
    FileDescriptor gone(dup(0));
    ASSERT_TRUE(gone.valid()) << DescribeErrno(errno);
    e.closed_fd = gone.get();
  }
  ASSERT_FALSE(IsFdOpen(e.closed_fd));

  EXPECT_THAT(row.call(e), SyscallFailsWithErrno(row.err));
  EXPECT_EQ(Fionread(e.a.read.get()), 4) << "the source pipe keeps its data";
  EXPECT_EQ(Fionread(e.b.read.get()), 0) << "nothing reached the other pipe";
  EXPECT_EQ(Fionread(e.full.read.get()), static_cast<int>(filled));
  EXPECT_EQ(ReadFile(file.path), "file");
}

IPC_INSTANTIATE_TABLE(Table, PipeSpliceError, kSpliceErrors);

}  // namespace
}  // namespace ipc
