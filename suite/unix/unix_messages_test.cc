// Message semantics of AF_UNIX sockets (unix(7), recv(2), send(2)): a stream is a byte stream, datagram
// and seqpacket sockets keep message boundaries and truncate; MSG_PEEK, MSG_TRUNC (the real length),
// MSG_DONTWAIT, MSG_WAITALL; a full receiver blocks the sender or gives EAGAIN.
// Rules: suite/rules/unix.ini.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

#include "ipcsuite/fixtures.h"
#include "unix_util.h"

namespace ipc {
namespace {

using namespace unix_util;

// --- stream: no boundaries -------------------------------------------------------------------------------

IPC_TEST(UnixStream, SeparateSendsAreReadAsOneByteStream, "unix.stream-byte-stream") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(p.a.get(), "abc", 3, 0), SyscallSucceedsWithValue(3));
  ASSERT_THAT(send(p.a.get(), "defg", 4, 0), SyscallSucceedsWithValue(4));
  char buf[16];
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(7));
  EXPECT_EQ(std::string(buf, 7), "abcdefg");
}

IPC_TEST(UnixStream, ShortReadsLeaveTheRestQueued, "unix.stream-byte-stream") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(p.a.get(), "abcdef", 6, 0), SyscallSucceedsWithValue(6));
  char buf[4];
  ASSERT_THAT(recv(p.b.get(), buf, 2, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "ab");
  ASSERT_THAT(recv(p.b.get(), buf, 4, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "cdef");
}

IPC_TEST(UnixStream, MsgTruncIsNotReportedForStreams, "unix.stream-byte-stream") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(p.a.get(), "abcdef", 6, 0), SyscallSucceedsWithValue(6));
  char buf[2];
  iovec iov = {buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ASSERT_THAT(recvmsg(p.b.get(), &msg, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_FALSE(msg.msg_flags & MSG_TRUNC);
}

IPC_TEST(UnixStream, WaitallBlocksUntilTheFullLengthArrives, "unix.msg-waitall") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(p.a.get(), "abc", 3, 0), SyscallSucceedsWithValue(3));
  Child c = Child::Spawn(
      [&] {
        char buf[6];
        EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_WAITALL), SyscallSucceedsWithValue(6));
        EXPECT_EQ(std::string(buf, 6), "abcdef");
      },
      {.what = "blocked in recv(MSG_WAITALL) for 6 bytes with 3 queued"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_recvfrom, SYS_recvmsg}));
  ASSERT_THAT(send(p.a.get(), "def", 3, 0), SyscallSucceedsWithValue(3));
  c.ExpectExited(0);
}

IPC_TEST(UnixStream, WaitallReturnsShortAtEndOfFile, "unix.msg-waitall") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_THAT(send(p.a.get(), "ab", 2, 0), SyscallSucceedsWithValue(2));
  ASSERT_THAT(p.a.Close(), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        char buf[8];
        EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_WAITALL), SyscallSucceedsWithValue(2));
      },
      {.what = "recv(MSG_WAITALL) on a stream that ends early"});
  c.ExpectExited(0);
}

IPC_TEST(UnixStream, FullStreamNonblockingSendFailsWithEagain, "unix.send-eagain") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM, SOCK_NONBLOCK));
  std::string chunk(4096, 's');
  long sent = 0;
  for (; sent < 100000; ++sent)
    if (send(p.a.get(), chunk.data(), chunk.size(), 0) < 0) break;
  EXPECT_EQ(errno, EAGAIN) << DescribeErrno(errno);
  EXPECT_GT(sent, 0);
  EXPECT_LT(sent, 100000) << "the stream never filled";
  EXPECT_FALSE(PollNow(p.a.get(), POLLOUT) & POLLOUT);
}

IPC_TEST(UnixStream, BlockedSenderResumesWhenTheReaderDrains, "unix.stream-blocking-send") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(SOCK_STREAM));
  ASSERT_GE(FillWithDontwait(p.a.get(), 4096), 1);
  Child c = Child::Spawn(
      [&] {
        std::string data(1024, 'z');
        EXPECT_THAT(send(p.a.get(), data.data(), data.size(), 0), SyscallSucceedsWithValue(1024));
      },
      {.what = "blocked in send on a full stream"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_sendto, SYS_sendmsg}));
  std::string buf(1 << 16, '\0');
  for (int i = 0; i < 4096; ++i) {
    ssize_t r = recv(p.b.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (r < 0) break;
  }
  c.ExpectExited(0);
}

// --- datagram and seqpacket: boundaries
// ----------------------------------------------------------------------

class UnixMessageTypes : public ::testing::TestWithParam<int> {};

IPC_TEST_P(UnixMessageTypes, EachRecvReturnsOneMessage, "unix.message-boundaries") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "abc", 3, 0), SyscallSucceedsWithValue(3));
  ASSERT_THAT(send(p.a.get(), "defg", 4, 0), SyscallSucceedsWithValue(4));
  char buf[16];
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "abc");
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "defg");
}

IPC_TEST_P(UnixMessageTypes, ZeroLengthMessageIsAMessage, "unix.message-boundaries") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "", 0, 0), SyscallSucceedsWithValue(0));
  ASSERT_THAT(send(p.a.get(), "n", 1, 0), SyscallSucceedsWithValue(1));
  char buf[4];
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(0));
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
}

IPC_TEST_P(UnixMessageTypes, WritevIsOneMessage, "unix.message-boundaries") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  char x[] = "ab", y[] = "cd";
  iovec iov[2] = {{x, 2}, {y, 2}};
  ASSERT_THAT(writev(p.a.get(), iov, 2), SyscallSucceedsWithValue(4));
  ASSERT_THAT(send(p.a.get(), "e", 1, 0), SyscallSucceedsWithValue(1));
  char buf[8];
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "abcd");
}

IPC_TEST_P(UnixMessageTypes, ShortBufferTruncatesAndDiscardsTheRest, "unix.message-truncated") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "abcdef", 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_THAT(send(p.a.get(), "next", 4, 0), SyscallSucceedsWithValue(4));
  char buf[8] = {};
  iovec iov = {buf, 2};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ASSERT_THAT(recvmsg(p.b.get(), &msg, MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "ab");
  EXPECT_TRUE(msg.msg_flags & MSG_TRUNC) << "msg_flags " << msg.msg_flags;
  // The rest of the first message is gone.
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "next");
}

IPC_TEST_P(UnixMessageTypes, MsgTruncFlagReturnsTheRealLength, "unix.msg-trunc-real-length") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  std::string big(1000, 'r');
  ASSERT_THAT(send(p.a.get(), big.data(), big.size(), 0), SyscallSucceedsWithValue(1000));
  char buf[10];
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_TRUNC | MSG_DONTWAIT), SyscallSucceedsWithValue(1000));
  EXPECT_EQ(std::string(buf, 10), big.substr(0, 10));
  // Even with no buffer at all.
  ASSERT_THAT(send(p.a.get(), "seven!!", 7, 0), SyscallSucceedsWithValue(7));
  EXPECT_THAT(recv(p.b.get(), nullptr, 0, MSG_TRUNC | MSG_DONTWAIT), SyscallSucceedsWithValue(7));
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST_P(UnixMessageTypes, PeekDoesNotRemoveTheMessage, "unix.msg-peek") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_THAT(send(p.a.get(), "peek", 4, 0), SyscallSucceedsWithValue(4));
  char buf[8];
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  ASSERT_THAT(recv(p.b.get(), buf, 2, MSG_PEEK | MSG_DONTWAIT), SyscallSucceedsWithValue(2));
  ASSERT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "peek");
  EXPECT_THAT(recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST_P(UnixMessageTypes, DontwaitOnEmptyBlockingSocketFailsWithEagain, "unix.msg-dontwait",
           "unix.recv-eagain") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  char b;
  EXPECT_THAT(recv(p.b.get(), &b, 1, MSG_DONTWAIT), SyscallFailsWithErrno(EAGAIN));
  EXPECT_FALSE(fcntl(p.b.get(), F_GETFL) & O_NONBLOCK) << "MSG_DONTWAIT changed the file status flags";
}

IPC_TEST_P(UnixMessageTypes, FullReceiverGivesEagainWithDontwait, "unix.send-eagain", "unix.msg-dontwait") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  long n = FillWithDontwait(p.a.get(), 256);
  EXPECT_GT(n, 0) << "the receiver never filled, or another error came first";
}

IPC_TEST_P(UnixMessageTypes, FullReceiverBlocksTheSenderUntilAMessageIsRead, "unix.dgram-full-blocks") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  ASSERT_GT(FillWithDontwait(p.a.get(), 256), 0);
  Child c = Child::Spawn(
      [&] {
        std::string m(256, 'w');
        EXPECT_THAT(send(p.a.get(), m.data(), m.size(), 0), SyscallSucceedsWithValue(256));
      },
      {.what = "blocked sending to a full receiver"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_sendto, SYS_sendmsg}));
  char buf[512];
  // Reading frees room; read until the blocked sender gets through.
  for (int i = 0; i < 100000; ++i)
    if (recv(p.b.get(), buf, sizeof buf, MSG_DONTWAIT) < 0) break;
  c.ExpectExited(0);
}

IPC_TEST_P(UnixMessageTypes, MessageLargerThanTheSendBufferFailsWithEmsgsize, "unix.send-emsgsize") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  ASSERT_THAT(getsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), SyscallSucceeds());
  std::string big(static_cast<size_t>(sndbuf) + 4096, 'm');
  EXPECT_THAT(send(p.a.get(), big.data(), big.size(), MSG_DONTWAIT), SyscallFailsWithErrno(EMSGSIZE));
}

IPC_TEST_P(UnixMessageTypes, SmallerSndbufLowersTheLargestMessage, "unix.sndbuf-limits-message") {
  ASSERT_OK_AND_ASSIGN(SocketPair p, SocketPair::Create(GetParam()));
  std::string msg(32768, 'b');
  ASSERT_THAT(send(p.a.get(), msg.data(), msg.size(), MSG_DONTWAIT), SyscallSucceedsWithValue(32768));
  int small = 4096;  // the kernel doubles the value it is given
  ASSERT_THAT(setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), SyscallSucceeds());
  int got = 0;
  socklen_t len = sizeof got;
  ASSERT_THAT(getsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &got, &len), SyscallSucceeds());
  EXPECT_EQ(got, 2 * small);
  EXPECT_THAT(send(p.a.get(), msg.data(), msg.size(), MSG_DONTWAIT), SyscallFailsWithErrno(EMSGSIZE));
}

INSTANTIATE_TEST_SUITE_P(Types, UnixMessageTypes, ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         TypeParamName);

// --- unconnected datagrams
// ---------------------------------------------------------------------------------------

IPC_TEST(UnixDgram, RecvfromReportsTheSendersAddress, "unix.dgram-sendto-recvfrom") {
  UnixAddress raddr = UnixAddress::Abstract(UniqueAbstractName());
  UnixAddress saddr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, raddr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, BoundSocket(SOCK_DGRAM, saddr));
  ASSERT_THAT(sendto(s.get(), "from", 4, 0, raddr.get(), raddr.len), SyscallSucceedsWithValue(4));
  UnixAddress from;
  from.len = sizeof from.addr;
  char buf[8];
  ASSERT_THAT(
      recvfrom(r.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from.addr), &from.len),
      SyscallSucceedsWithValue(4));
  EXPECT_EQ(from.PathBytes(), saddr.PathBytes());
  // And a reply to that address arrives.
  ASSERT_THAT(sendto(r.get(), "back", 4, 0, from.get(), from.len), SyscallSucceedsWithValue(4));
  EXPECT_THAT(recv(s.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
}

IPC_TEST(UnixDgram, MessagesFromSeveralSendersKeepTheirBoundaries, "unix.message-boundaries") {
  UnixAddress raddr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, raddr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s1, Socket(SOCK_DGRAM));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s2, Socket(SOCK_DGRAM));
  ASSERT_THAT(sendto(s1.get(), "one", 3, 0, raddr.get(), raddr.len), SyscallSucceedsWithValue(3));
  ASSERT_THAT(sendto(s2.get(), "two!", 4, 0, raddr.get(), raddr.len), SyscallSucceedsWithValue(4));
  char buf[16];
  EXPECT_THAT(recv(r.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(3));
  EXPECT_THAT(recv(r.get(), buf, sizeof buf, MSG_DONTWAIT), SyscallSucceedsWithValue(4));
}

IPC_TEST(UnixDgram, FullUnconnectedReceiverGivesEagainAfterMaxDgramQlen, "unix.dgram-full-blocks",
         "unix.send-eagain") {
  UnixAddress raddr = UnixAddress::Abstract(UniqueAbstractName());
  ASSERT_OK_AND_ASSIGN(FileDescriptor r, BoundSocket(SOCK_DGRAM, raddr));
  ASSERT_OK_AND_ASSIGN(FileDescriptor s, Socket(SOCK_DGRAM));
  long sent = 0;
  for (; sent < 1 << 20; ++sent)
    if (sendto(s.get(), "q", 1, MSG_DONTWAIT, raddr.get(), raddr.len) < 0) break;
  EXPECT_EQ(errno, EAGAIN) << DescribeErrno(errno);
  EXPECT_GT(sent, 0);
  Child c = Child::Spawn(
      [&] { EXPECT_THAT(sendto(s.get(), "b", 1, 0, raddr.get(), raddr.len), SyscallSucceedsWithValue(1)); },
      {.what = "blocked sending to a full unconnected receiver"});
  ASSERT_TRUE(WaitUntilBlockedInOneOf(c.pid(), {SYS_sendto, SYS_sendmsg}));
  char b;
  ASSERT_THAT(recv(r.get(), &b, 1, MSG_DONTWAIT), SyscallSucceedsWithValue(1));
  c.ExpectExited(0);
}

}  // namespace
}  // namespace ipc
