// socketpair(2) for AF_UNIX: the three socket types, SOCK_NONBLOCK/SOCK_CLOEXEC, full duplex, end of file
// after the peer closes, EPIPE/SIGPIPE and MSG_NOSIGNAL (unix(7), send(2)). Rules: suite/rules/unix.ini.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

class UnixSocketpairTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixSocketpairTypes, CreatesTwoConnectedSocketsOfTheType, "unix.socketpair-connected") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  for (int fd : {p.a.get(), p.b.get()}) {
    int type = -1, domain = -1;
    socklen_t len = sizeof type;
    ASSERT_THAT(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), SyscallSucceeds());
    EXPECT_EQ(type, GetParam());
    len = sizeof domain;
    ASSERT_THAT(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len), SyscallSucceeds());
    EXPECT_EQ(domain, AF_UNIX);
  }
  // Connected: each has a peer (no address needed to send).
  EXPECT_THAT(send(p.a.get(), "x", 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
  char b = 0;
  EXPECT_THAT(recv(p.b.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
  EXPECT_EQ(b, 'x');
}

IPC_TEST_P(UnixSocketpairTypes, IsFullDuplex, "unix.socketpair-full-duplex") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  // Both directions at once: each side has data queued for the other before either reads.
  ASSERT_THAT(send(p.a.get(), "ab", 2, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  ASSERT_THAT(send(p.b.get(), "cd", 2, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  char buf[4] = {};
  ASSERT_THAT(recv(p.a.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "cd");
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "ab");
  // Nothing echoes back to the sender.
  EXPECT_THAT(recv(p.a.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST_P(UnixSocketpairTypes, NonblockFlagSetsONonblockOnBoth, "unix.socketpair-nonblock") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam(), SOCK_NONBLOCK));
  for (int fd : {p.a.get(), p.b.get()}) {
    int fl = fcntl(fd, F_GETFL);
    ASSERT_THAT(fl, SyscallSucceeds());
    EXPECT_TRUE(fl & O_NONBLOCK);
    char b;
    EXPECT_THAT(recv(fd, &b, 1, 0), SyscallFailsWithErrno(EAGAIN));
  }
  ASSERT_OK_AND_ASSIGN(SocketPair q, SocketPair::Create(GetParam()));
  EXPECT_FALSE(fcntl(q.a.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_FALSE(fcntl(q.b.get(), F_GETFL) & O_NONBLOCK);
}

IPC_TEST_P(UnixSocketpairTypes, CloexecFlagSetsFdCloexecOnBoth, "unix.socketpair-cloexec") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam(), SOCK_CLOEXEC));
  EXPECT_EQ(fcntl(p.a.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(p.b.get(), F_GETFD), FD_CLOEXEC);
  ASSERT_OK_AND_ASSIGN(SocketPair q, SocketPair::Create(GetParam()));
  EXPECT_EQ(fcntl(q.a.get(), F_GETFD), 0);
  EXPECT_EQ(fcntl(q.b.get(), F_GETFD), 0);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixSocketpairTypes,
                         ::testing::Values(SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), TypeParamName);

// --- end of file ---------------------------------------------------------------------------------------

class UnixSocketpairConnectionTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixSocketpairConnectionTypes, RecvReturnsQueuedDataThenZeroAfterPeerCloses,
           "unix.eof-after-peer-close") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.b.get(), "abc", 3, 0), SyscallSucceedsWithValue(3));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        char buf[8];
        EXPECT_THAT(recv(p.a.get(), buf, sizeof buf, 0), SyscallSucceedsWithValue(3));
        EXPECT_THAT(recv(p.a.get(), buf, sizeof buf, 0), SyscallSucceedsWithValue(0));
        EXPECT_THAT(recv(p.a.get(), buf, sizeof buf, 0), SyscallSucceedsWithValue(0));
      },
      {.what = "reading a socket whose peer closed"});
  c.ExpectExited(0);
}

IPC_TEST_P(UnixSocketpairConnectionTypes, BlockedRecvIsWokenWithZeroWhenPeerCloses,
           "unix.eof-after-peer-close") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  Child c = Child::Spawn(
      [&] {
        p.b.Close();
        char b;
        EXPECT_THAT(recv(p.a.get(), &b, 1, 0), SyscallSucceedsWithValue(0));
      },
      {.what = "blocked in recv until the peer closes"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_recvfrom, SYS_recvmsg}));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_P(UnixSocketpairConnectionTypes, MsgNosignalGivesEpipeWithoutSignal, "unix.msg-nosignal",
           "unix.send-epipe") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        EXPECT_THAT(send(p.a.get(), "x", 1, MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 0);
        EXPECT_FALSE(IsSignalPending(SIGPIPE));
      },
      {.what = "sending with MSG_NOSIGNAL to a closed peer"});
  c.ExpectExited(0);
}

IPC_TEST_P(UnixSocketpairConnectionTypes, BlockedSenderGetsEconnresetWhenPeerClosesUnread,
           "unix.send-econnreset", "unix.send-epipe") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_GE(FillWithDontwait(p.a.get(), GetParam() == SOCK_STREAM ? 4096 : 512), 1);
  Child c = Child::Spawn(
      [&] {
        p.b.Close();
        std::string data(512, 'x');
        // The peer closed with data it never read: the connection is reset; after that, a closed peer.
        EXPECT_THAT(send(p.a.get(), data.data(), data.size(), MSG_NOSIGNAL),
                    SyscallFailsWithErrno(ECONNRESET));
        EXPECT_THAT(send(p.a.get(), data.data(), data.size(), MSG_NOSIGNAL), SyscallFailsWithErrno(EPIPE));
      },
      {.what = "blocked in send on a full socket until the peer closes"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_sendto, SYS_sendmsg}));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  c.ExpectExited(0);
}

INSTANTIATE_TEST_SUITE_P(Types, UnixSocketpairConnectionTypes, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         TypeParamName);

IPC_TEST(UnixSocketpair, StreamSendToClosedPeerRaisesSigpipe, "unix.epipe-sigpipe", "unix.send-epipe",
         "unix.epipe") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction dfl(SIGPIPE, SIG_DFL);
        (void)send(p.a.get(), "x", 1, 0);
      },
      {.what = "sending to a closed peer"});
  c.ExpectKilledBy(SIGPIPE);
  Child h = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        EXPECT_THAT(send(p.a.get(), "x", 1, 0), SyscallFailsWithErrno(EPIPE));
        EXPECT_EQ(sigpipe.count(), 1);
      },
      {.what = "sending to a closed peer with a SIGPIPE handler"});
  h.ExpectExited(0);
}

IPC_TEST(UnixSocketpair, SeqpacketSendToClosedPeerFailsWithEpipe, "unix.send-epipe", "unix.epipe") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_SEQPACKET));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  // unix(7) promises SIGPIPE for stream sockets; Linux sends none for SOCK_SEQPACKET, so only EPIPE is
  // checked.
  Child c = Child::Spawn(
      [&] {
        ScopedSigaction ign(SIGPIPE, SIG_IGN);
        EXPECT_THAT(send(p.a.get(), "x", 1, 0), SyscallFailsWithErrno(EPIPE));
        EXPECT_THAT(send(p.a.get(), "x", 1, 0), SyscallFailsWithErrno(EPIPE));
      },
      {.what = "sending on a seqpacket socket whose peer closed"});
  c.ExpectExited(0);
}

IPC_TEST(UnixSocketpair, DgramSendToClosedPeerFailsWithEconnrefusedAndNoSignal, "unix.dgram-peer-closed") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_DGRAM));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        SignalCounter sigpipe(SIGPIPE);
        EXPECT_THAT(send(p.a.get(), "x", 1, 0), SyscallFailsWithErrno(ECONNREFUSED));
        EXPECT_EQ(sigpipe.count(), 0);
      },
      {.what = "sending a datagram to a closed peer"});
  c.ExpectExited(0);
}

IPC_TEST(UnixSocketpair, PeerCloseWithUnreadDataGivesEconnresetThenEof, "unix.econnreset") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  // b never reads what a sent; its close resets the connection for a.
  ASSERT_THAT(send(p.a.get(), "unread", 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_THAT(p.b.Close(), SyscallSucceeds());
  char b;
  EXPECT_THAT(recv(p.a.get(), &b, 1, MSG_DONTWAIT), SyscallFailsWithErrno(ECONNRESET));
  EXPECT_THAT(recv(p.a.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
}

IPC_TEST(UnixSocketpair, ReadAndWriteWorkOnConnectedSockets, "unix.socketpair-connected") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(write(p.a.get(), "rw", 2), SyscallSucceedsWithValue(2));
  char buf[2];
  ASSERT_THAT(read(p.b.get(), buf, 2), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "rw");
}

IPC_TEST(UnixSocketpair, SocketsAreUnnamed, "unix.unnamed") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_OK_AND_ASSIGN(UnixAddress self, AddressOf(p.a.get()));
  EXPECT_EQ(self.len, sizeof(sa_family_t));
  EXPECT_EQ(self.addr.sun_family, AF_UNIX);
  ASSERT_OK_AND_ASSIGN(UnixAddress peer, AddressOf(p.a.get(), /*peer=*/true));
  EXPECT_EQ(peer.len, sizeof(sa_family_t));
}

}  // namespace
}  // namespace ipc
