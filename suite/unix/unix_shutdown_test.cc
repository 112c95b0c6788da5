// shutdown(2) on connected AF_UNIX sockets: what each side sees after SHUT_RD, SHUT_WR and SHUT_RDWR, and
// the poll(2) flags (POLLIN, POLLRDHUP, POLLHUP, POLLOUT); the ERRORS of shutdown(2).
// Rules: suite/rules/unix.ini.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

// What the poll(2) checks of a stream socket ask for.
constexpr short kStreamEvents = POLLIN | POLLOUT | POLLRDHUP;

class UnixShutdownTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixShutdownTypes, ShutWrGivesPeerEofAfterQueuedData, "unix.shutdown-wr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "last", 4, 0), SyscallSucceedsWithValue(4));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  char buf[8];
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
  // The other direction still works.
  EXPECT_THAT(send(p.b.get(), "back", 4, 0), SyscallSucceedsWithValue(4));
  EXPECT_THAT(recv(p.a.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
}

IPC_TEST_P(UnixShutdownTypes, SendAfterOwnShutWrFailsWithEpipe, "unix.shutdown-wr", "unix.send-epipe") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  EXPECT_THAT(send(p.a.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
}

IPC_TEST_P(UnixShutdownTypes, ShutRdMakesOwnRecvReturnZeroAndPeerSendEpipe, "unix.shutdown-rd") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_RD), SyscallSucceeds());
  char b;
  // No data and no more to come: end of file at once, not EAGAIN and not blocking.
  EXPECT_THAT(recv(p.a.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
  EXPECT_THAT(send(p.b.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
  // a may still send.
  EXPECT_THAT(send(p.a.get(), "y", 1, MSG_NOSIGNAL), SyscallSucceedsWithValue(1));
}

IPC_TEST_P(UnixShutdownTypes, ShutRdwrStopsBothDirections, "unix.shutdown-rdwr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_RDWR), SyscallSucceeds());
  char b;
  EXPECT_THAT(send(p.a.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
  EXPECT_THAT(send(p.b.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
  EXPECT_THAT(recv(p.a.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
  EXPECT_THAT(recv(p.b.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
}

IPC_TEST_P(UnixShutdownTypes, ShutWrWakesABlockedPeerRecvWithZero, "unix.shutdown-wr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  Child c = Child::Spawn(
      [&] {
        char b;
        EXPECT_THAT(recv(p.b.get(), &b, 1, 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked in recv until the peer shuts down writing"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_recvfrom, SYS_recvmsg}));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_P(UnixShutdownTypes, PeerShutWrPollsPollinAndPollrdhup, "unix.shutdown-poll") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  EXPECT_EQ(PollNow(p.b.get(), kStreamEvents), POLLOUT);
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  int ev = PollNow(p.b.get(), kStreamEvents);
  EXPECT_TRUE(ev & POLLIN) << ev;
  EXPECT_TRUE(ev & POLLRDHUP) << ev;
  EXPECT_FALSE(ev & POLLHUP) << ev;
  EXPECT_TRUE(ev & POLLOUT) << ev;
}

IPC_TEST_P(UnixShutdownTypes, PeerShutRdwrPollsPollhup, "unix.shutdown-poll") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_RDWR), SyscallSucceeds());
  int ev = PollNow(p.b.get(), kStreamEvents);
  EXPECT_TRUE(ev & POLLHUP) << ev;
  EXPECT_TRUE(ev & POLLIN) << ev;
  EXPECT_TRUE(ev & POLLRDHUP) << ev;
  // And on the side that shut down both directions.
  EXPECT_TRUE(PollNow(p.a.get(), kStreamEvents) & POLLHUP);
}

IPC_TEST_P(UnixShutdownTypes, PeerClosePollsPollhup, "unix.shutdown-poll", "unix.eof-after-peer-close") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(p.a.Close(), SyscallSucceeds());
  int ev = PollNow(p.b.get(), kStreamEvents);
  EXPECT_TRUE(ev & POLLHUP) << ev;
  EXPECT_TRUE(ev & POLLIN) << ev;
}

IPC_TEST_P(UnixShutdownTypes, PollWaitingForPollrdhupIsWokenByShutWr, "unix.shutdown-poll") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  Child c = Child::Spawn(
      [&] {
        int ev = PollFor(p.b.get(), POLLRDHUP);
        EXPECT_TRUE(ev & POLLRDHUP) << ev;
      },
      {.what = "polling for POLLRDHUP"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_poll, SYS_ppoll}));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  c.ExpectExited(0);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixShutdownTypes, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         TypeParamName);

IPC_TEST(UnixShutdown, DgramShutWrMakesOwnSendFailWithEpipe, "unix.shutdown-wr") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  ASSERT_THAT(shutdown(p.a.get(), SHUT_WR), SyscallSucceeds());
  EXPECT_THAT(send(p.a.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
}

IPC_TEST(UnixShutdown, InvalidHowFailsWithEinval, "unix.shutdown-einval") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  for (int how : {-1, 3, 7, 100}) EXPECT_THAT(shutdown(p.a.get(), how), SyscallFailsWithErrno(EINVAL)) << how;
  // Nothing was shut down.
  EXPECT_THAT(send(p.a.get(), "x", 1, 0), SyscallSucceedsWithValue(1));
}

IPC_TEST(UnixShutdown, BadDescriptorFailsWithEbadf, "unix.shutdown-ebadf") {
  EXPECT_THAT(shutdown(-1, SHUT_RDWR), SyscallFailsWithErrno(EBADF));
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  int fd = p.a.release();
  ASSERT_THAT(close(fd), SyscallSucceeds());
  EXPECT_THAT(shutdown(fd, SHUT_RDWR), SyscallFailsWithErrno(EBADF));
}

IPC_TEST(UnixShutdown, NonSocketFailsWithEnotsock, "unix.shutdown-enotsock") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  EXPECT_THAT(shutdown(p.read.get(), SHUT_RDWR), SyscallFailsWithErrno(ENOTSOCK));
}

}  // namespace
}  // namespace ipc
