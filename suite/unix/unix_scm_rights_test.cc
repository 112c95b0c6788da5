// SCM_RIGHTS (unix(7), cmsg(3)): descriptors arrive as new descriptors referring to the same open file
// descriptions; several in one message keep their order; MSG_CTRUNC when the control buffer is too small,
// and the descriptors that did not fit are closed; MSG_CMSG_CLOEXEC; the SCM_MAX_FD limit; EBADF for a
// bad descriptor; a socket passed over itself while in flight; ETOOMANYREFS.
// Rules: suite/rules/unix.ini.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

class UnixScmRightsTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixScmRightsTypes, ReceivedDescriptorSharesTheOpenFileDescription, "unix.scm-rights-same-ofd") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe pipe, Pipe::Create());
  ASSERT_THAT(SendFds(p.a.get(), {pipe.write.get()}), SyscallSucceedsWithValue(1));
  Received r = RecvFds(p.b.get(), 1, 64, MSG_DONTWAIT);
  ASSERT_EQ(r.n, 1) << DescribeErrno(r.err);
  ASSERT_EQ(r.fds.size(), 1u);
  int got = r.fds[0].get();
  EXPECT_NE(got, pipe.write.get());
  // The same open file description: a status flag set through one is seen through the other.
  ASSERT_THAT(fcntl(got, F_SETFL, O_NONBLOCK), SyscallSucceeds());
  EXPECT_TRUE(fcntl(pipe.write.get(), F_GETFL) & O_NONBLOCK);
  // And it writes into the same pipe.
  ASSERT_THAT(write(got, "p", 1), SyscallSucceedsWithValue(1));
  char b = 0;
  ASSERT_THAT(read(pipe.read.get(), &b, 1), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'p');
}

IPC_TEST_P(UnixScmRightsTypes, SharedFileOffset, "unix.scm-rights-same-ofd") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  ASSERT_OK_AND_ASSIGN(std::string path, dir.MakeFile("f"));
  ASSERT_OK_AND_ASSIGN(FileDescriptor f, Open(path, O_RDWR));
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(SendFds(p.a.get(), {f.get()}), SyscallSucceedsWithValue(1));
  Received r = RecvFds(p.b.get(), 1, 64, MSG_DONTWAIT);
  ASSERT_EQ(r.fds.size(), 1u) << DescribeErrno(r.err);
  ASSERT_THAT(write(r.fds[0].get(), "12345", 5), SyscallSucceedsWithValue(5));
  EXPECT_EQ(lseek(f.get(), 0, SEEK_CUR), 5);
}

IPC_TEST_P(UnixScmRightsTypes, SeveralDescriptorsArriveInOrder, "unix.scm-rights-same-ofd") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  std::vector<Pipe> pipes;
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
    fds.push_back(q.write.get());
    pipes.push_back(std::move(q));
  }
  ASSERT_THAT(SendFds(p.a.get(), fds), SyscallSucceedsWithValue(1));
  Received r = RecvFds(p.b.get(), 5, 64, MSG_DONTWAIT);
  ASSERT_EQ(r.fds.size(), 5u) << DescribeErrno(r.err);
  for (int i = 0; i < 5; ++i) {
    char c = static_cast<char>('0' + i);
    ASSERT_THAT(write(r.fds[i].get(), &c, 1), SyscallSucceedsWithValue(1));
    char got = 0;
    ASSERT_THAT(read(pipes[i].read.get(), &got, 1), SyscallSucceedsWithValue(1));
    EXPECT_EQ(got, c) << "descriptor " << i << " arrived out of order";
  }
}

IPC_TEST_P(UnixScmRightsTypes, TooSmallControlBufferSetsCtruncAndClosesTheRest, "unix.scm-rights-ctrunc") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  std::vector<Pipe> pipes;
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create(O_NONBLOCK));
    fds.push_back(q.write.get());
    pipes.push_back(std::move(q));
  }
  ASSERT_THAT(SendFds(p.a.get(), fds), SyscallSucceedsWithValue(1));
  for (Pipe& q : pipes) ASSERT_THAT(q.write.Close(), SyscallSucceeds());
  int before = CountOpenFds();
  {
    // Room for exactly one descriptor: CMSG_LEN(sizeof(int)) (CMSG_SPACE would round up to two on 64-bit).
    Received r = RecvFds(p.b.get(), 1, 64, MSG_DONTWAIT, CMSG_LEN(sizeof(int)));
    ASSERT_EQ(r.n, 1) << DescribeErrno(r.err);
    EXPECT_TRUE(r.msg_flags & MSG_CTRUNC) << "msg_flags " << r.msg_flags;
    ASSERT_EQ(r.fds.size(), 1u);
    EXPECT_EQ(CountOpenFds(), before + 1) << "a descriptor that did not fit is open in the receiver";
  }
  // Every write end is closed now (the truncated ones by the kernel): all pipes read end of file.
  for (size_t i = 0; i < pipes.size(); ++i) {
    char c;
    EXPECT_THAT(read(pipes[i].read.get(), &c, 1), SyscallSucceedsWithValue(0))
        << "descriptor " << i << " was not closed";
  }
}

IPC_TEST_P(UnixScmRightsTypes, NoControlBufferDropsAndClosesAllDescriptors, "unix.scm-rights-ctrunc") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe a, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(SendFds(p.a.get(), {a.write.get()}), SyscallSucceedsWithValue(1));
  ASSERT_THAT(a.write.Close(), SyscallSucceeds());
  Received r = RecvFds(p.b.get(), 0, 64, MSG_DONTWAIT, /*control_len=*/0);
  ASSERT_EQ(r.n, 1) << DescribeErrno(r.err);
  EXPECT_TRUE(r.msg_flags & MSG_CTRUNC) << "msg_flags " << r.msg_flags;
  char c;
  EXPECT_THAT(read(a.read.get(), &c, 1), SyscallSucceedsWithValue(0));
}

IPC_TEST_P(UnixScmRightsTypes, CmsgCloexecSetsCloseOnExec, "unix.scm-rights-cloexec") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
  ASSERT_THAT(SendFds(p.a.get(), {q.write.get()}), SyscallSucceedsWithValue(1));
  ASSERT_THAT(SendFds(p.a.get(), {q.write.get()}), SyscallSucceedsWithValue(1));
  Received with = RecvFds(p.b.get(), 1, 1, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  ASSERT_EQ(with.fds.size(), 1u) << DescribeErrno(with.err);
  EXPECT_EQ(fcntl(with.fds[0].get(), F_GETFD), FD_CLOEXEC);
  Received without = RecvFds(p.b.get(), 1, 1, MSG_DONTWAIT);
  ASSERT_EQ(without.fds.size(), 1u) << DescribeErrno(without.err);
  EXPECT_EQ(fcntl(without.fds[0].get(), F_GETFD), 0);
}

IPC_TEST_P(UnixScmRightsTypes, ScmMaxFdDescriptorsPassButOneMoreFailsWithEinval, "unix.scm-max-fd") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
  std::vector<int> fds(kScmMaxFd, q.write.get());
  ASSERT_THAT(SendFds(p.a.get(), fds), SyscallSucceedsWithValue(1));
  {
    Received r = RecvFds(p.b.get(), kScmMaxFd, 8, MSG_DONTWAIT);
    EXPECT_EQ(r.fds.size(), static_cast<size_t>(kScmMaxFd)) << DescribeErrno(r.err);
    EXPECT_FALSE(r.msg_flags & MSG_CTRUNC);
  }
  fds.push_back(q.write.get());
  EXPECT_THAT(SendFds(p.a.get(), fds), SyscallFailsWithErrno(EINVAL));
  char c;
  EXPECT_THAT(recv(p.b.get(), &c, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN))
      << "the refused message arrived";
}

IPC_TEST_P(UnixScmRightsTypes, BadDescriptorFailsWithEbadfAndSendsNothing, "unix.ebadf-scm-rights") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
  int closed = q.write.release();
  ASSERT_THAT(close(closed), SyscallSucceeds());
  EXPECT_THAT(SendFds(p.a.get(), {closed}), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(SendFds(p.a.get(), {q.read.get(), -1}), SyscallFailsWithErrno(EBADF));
  char c;
  EXPECT_THAT(recv(p.b.get(), &c, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST_P(UnixScmRightsTypes, DescriptorSurvivesTheSendersClose, "unix.scm-rights-in-flight") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(SendFds(p.a.get(), {q.write.get()}), SyscallSucceedsWithValue(1));
  ASSERT_THAT(q.write.Close(), SyscallSucceeds());
  char c;
  // In flight, the write end is still open: no end of file yet.
  EXPECT_THAT(read(q.read.get(), &c, 1), SyscallFailsWithErrno(EAGAIN));
  Received r = RecvFds(p.b.get(), 1, 8, MSG_DONTWAIT);
  ASSERT_EQ(r.fds.size(), 1u) << DescribeErrno(r.err);
  ASSERT_THAT(write(r.fds[0].get(), "v", 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(read(q.read.get(), &c, 1), SyscallSucceedsWithValue(1));
  r.fds.clear();
  EXPECT_THAT(read(q.read.get(), &c, 1), SyscallSucceedsWithValue(0));
}

INSTANTIATE_TEST_SUITE_P(Types, UnixScmRightsTypes,
                         ::testing::Values(SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), TypeParamName);

IPC_TEST(UnixScmRights, DescriptorsPassBetweenProcesses, "unix.scm-rights-same-ofd") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_OK_AND_ASSIGN(Pipe q, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
        ASSERT_OK_AND_ASSIGN(std::string path, dir.MakeFile("from-child"));
        ASSERT_OK_AND_ASSIGN(FileDescriptor f, Open(path, O_RDWR));
        ASSERT_THAT(write(f.get(), "child", 5), SyscallSucceedsWithValue(5));
        ASSERT_THAT(SendFds(p.b.get(), {f.get()}), SyscallSucceedsWithValue(1));
        // Keep the file until the parent is done with it.
        char b;
        EXPECT_THAT(recv(p.b.get(), &b, 1, 0), SyscallSucceedsWithValue(1));
      },
      {.what = "passing a descriptor to the parent"});
  Received r = RecvFds(p.a.get(), 1, 8, 0);
  ASSERT_EQ(r.fds.size(), 1u) << DescribeErrno(r.err);
  // The child's offset (5) came along with its open file description.
  EXPECT_EQ(lseek(r.fds[0].get(), 0, SEEK_CUR), 5);
  char buf[8];
  EXPECT_THAT(pread(r.fds[0].get(), buf, 5, 0), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf, 5), "child");
  ASSERT_THAT(send(p.a.get(), "d", 1, 0), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

IPC_TEST(UnixScmRights, SocketPassedOverItselfAndClosedIsCollected, "unix.scm-rights-in-flight") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  ASSERT_OK_AND_ASSIGN(SocketPair watch, SocketPair::Create(SOCK_STREAM, SOCK_NONBLOCK));
  // b carries, in flight, a reference to itself and to watch.a; dropping every other reference makes a
  // cycle only the garbage collector can break, after which watch.b sees end of file.
  ASSERT_THAT(SendFds(p.a.get(), {p.b.get(), watch.a.get()}), SyscallSucceedsWithValue(1));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  ASSERT_THAT(watch.a.Close(), SyscallSucceeds());
  ASSERT_THAT(p.a.Close(), SyscallSucceeds());
  // The collector runs when sockets are released (or in the background): wait for the end of file.
  int ev = PollFor(watch.b.get(), POLLIN | POLLHUP);
  EXPECT_TRUE(ev & POLLHUP) << "the in-flight cycle was never collected: revents " << ev;
}

IPC_TEST(UnixScmRights, ReceivedSocketIsUsable, "unix.scm-rights-in-flight") {
  ASSERT_OK_AND_ASSIGN(SocketPair carrier, SocketPair::Create(SOCK_SEQPACKET));
  ASSERT_OK_AND_ASSIGN(SocketPair inner, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(inner.a.get(), "queued", 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_THAT(SendFds(carrier.a.get(), {inner.b.get()}), SyscallSucceedsWithValue(1));
  ASSERT_THAT(inner.b.Close(), SyscallSucceeds());
  Received r = RecvFds(carrier.b.get(), 1, 8, MSG_DONTWAIT);
  ASSERT_EQ(r.fds.size(), 1u) << DescribeErrno(r.err);
  char buf[8];
  ASSERT_THAT(recv(r.fds[0].get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(buf, 6), "queued");
}

IPC_TEST(UnixScmRights, TooManyInFlightFailsWithEtoomanyrefs, "unix.etoomanyrefs") {
  // The limit is RLIMIT_NOFILE in-flight descriptors per user, lifted by CAP_SYS_RESOURCE or CAP_SYS_ADMIN
  // (capable(): over the machine). Drop both in a child (a no-op for those not held).
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  Child c = Child::SpawnWithExitCode([&]() -> int {
    if (isolation::HasEffectiveCapability(CAP_SYS_RESOURCE) &&
        !isolation::DropEffectiveCapability(CAP_SYS_RESOURCE))
      return 2;
    if (isolation::HasEffectiveCapability(CAP_SYS_ADMIN) &&
        !isolation::DropEffectiveCapability(CAP_SYS_ADMIN))
      return 2;
    if (!SetNofile(64)) return 3;
    int fd = dup(p.a.get());
    if (fd < 0) return 4;
    std::vector<int> fds(16, fd);
    // The per-user in-flight count is shared with other tests of this user: send until refused.
    for (int i = 0; i < 100; ++i) {
      if (SendFds(p.a.get(), fds) < 0) return errno == ETOOMANYREFS ? 0 : 10;
    }
    return 11;
  });
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe()
                            << " (10: another errno than ETOOMANYREFS; 11: 1600 descriptors in flight under "
                               "RLIMIT_NOFILE 64)";
}

}  // namespace
}  // namespace ipc
