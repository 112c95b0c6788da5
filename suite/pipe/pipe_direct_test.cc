// pipe2(2) O_DIRECT: "packet" mode. Each write(2) is a packet, read(2) returns one packet, a short
// read discards the rest of its packet, writes above PIPE_BUF are split, zero-length packets do not
// exist, and the mode can be switched with fcntl(2) F_SETFL.
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "pipe_util.h"

namespace ipc {
namespace {

using pipe_util::ExpectZeroCountReadConsumesNothing;
using pipe_util::Fionread;
using pipe_util::Pattern;

// All packet-mode pipes here are non-blocking, so a missing packet is EAGAIN instead of a hang.
constexpr int kPacketFlags = O_DIRECT | O_NONBLOCK;

// Packets are made by the writing side: the write end's open file description carries O_DIRECT.
IPC_TEST(PipeDirect, Pipe2ODirectSetsODirectOnTheWriteEnd, "pipe.direct-packets") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_DIRECT));
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_DIRECT, O_DIRECT);
}

IPC_TEST(PipeDirect, EachWriteIsReadBackAsOnePacket, "pipe.direct-packets") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  ASSERT_THAT(write(p.write.get(), "abc", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(write(p.write.get(), "defgh", 5), SyscallSucceedsWithValue(5));
  ASSERT_THAT(write(p.write.get(), "ij", 2), SyscallSucceedsWithValue(2));
  std::vector<char> buf(PIPE_BUF);
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf.data(), 3), "abc");
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(5));
  EXPECT_EQ(std::string(buf.data(), 5), "defgh");
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf.data(), 2), "ij");
  EXPECT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeDirect, ReadSmallerThanThePacketDiscardsTheRest, "pipe.direct-short-read") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  ASSERT_THAT(write(p.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  ASSERT_THAT(write(p.write.get(), "xyz", 3), SyscallSucceedsWithValue(3));
  char buf[100];
  ASSERT_THAT(read(p.read.get(), buf, 4), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf, 4), "0123");
  // "456789" is gone: only the second packet is left.
  EXPECT_EQ(Fionread(p.read.get()), 3);
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "xyz");
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeDirect, WriteLargerThanPipeBufIsSplitIntoPipeBufPackets, "pipe.direct-split") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  const std::string data = Pattern(2 * PIPE_BUF + 100, 1);
  ASSERT_THAT(write(p.write.get(), data.data(), data.size()), SyscallSucceedsWithValue(data.size()));
  // Even with room for everything, each read returns one packet of at most PIPE_BUF bytes.
  std::vector<char> buf(4 * PIPE_BUF);
  std::string got;
  for (size_t expect : {size_t{PIPE_BUF}, size_t{PIPE_BUF}, size_t{100}}) {
    ssize_t n = read(p.read.get(), buf.data(), buf.size());
    ASSERT_THAT(n, SyscallSucceedsWithValue(expect));
    got.append(buf.data(), static_cast<size_t>(n));
  }
  EXPECT_TRUE(got == data) << "the packets do not add up to the written data";
  EXPECT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallFailsWithErrno(EAGAIN));
}

IPC_TEST(PipeDirect, PipeBufSizedReadReturnsAWholeMaximalPacket, "pipe.direct-split",
         "pipe.direct-short-read") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  const std::string data = Pattern(PIPE_BUF, 2);
  ASSERT_THAT(write(p.write.get(), data.data(), data.size()), SyscallSucceedsWithValue(PIPE_BUF));
  ASSERT_THAT(write(p.write.get(), "tail", 4), SyscallSucceedsWithValue(4));
  std::vector<char> buf(PIPE_BUF);
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(PIPE_BUF));
  EXPECT_TRUE(std::string(buf.data(), buf.size()) == data);
  ASSERT_THAT(read(p.read.get(), buf.data(), buf.size()), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(buf.data(), 4), "tail");
}

IPC_TEST(PipeDirect, ZeroSizedReadIsANoOpThatReturnsZero, "pipe.direct-zero-length") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  // The packet is not consumed or truncated by the empty read.
  ExpectZeroCountReadConsumesNothing(p, "abcd");
}

IPC_TEST(PipeDirect, ZeroLengthWriteCreatesNoPacket, "pipe.direct-zero-length") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  // What write() returns for 0 bytes on a pipe is unspecified (write(2)); what matters is that no
  // empty packet is queued, which a reader would take for end of file.
  (void)write(p.write.get(), "", 0);
  EXPECT_EQ(Fionread(p.read.get()), 0);
  char buf[16];
  EXPECT_THAT(read(p.read.get(), buf, sizeof buf), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(write(p.write.get(), "ab", 2), SyscallSucceedsWithValue(2));
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(2));
  EXPECT_EQ(std::string(buf, 2), "ab");
}

IPC_TEST(PipeDirect, SetflODirectOnTheWriteEndSwitchesToPacketMode, "pipe.direct-fcntl") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  int fl = fcntl(p.write.get(), F_GETFL);
  ASSERT_THAT(fcntl(p.write.get(), F_SETFL, fl | O_DIRECT), SyscallSucceeds());
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_DIRECT, O_DIRECT);
  ASSERT_THAT(write(p.write.get(), "one", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(write(p.write.get(), "two", 3), SyscallSucceedsWithValue(3));
  char buf[16];
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "one");
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(3));
  EXPECT_EQ(std::string(buf, 3), "two");
}

IPC_TEST(PipeDirect, ClearingODirectWithSetflRestoresTheByteStream, "pipe.direct-fcntl", "pipe.byte-stream") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(kPacketFlags));
  int fl = fcntl(p.write.get(), F_GETFL);
  ASSERT_THAT(fcntl(p.write.get(), F_SETFL, fl & ~O_DIRECT), SyscallSucceeds());
  EXPECT_EQ(fcntl(p.write.get(), F_GETFL) & O_DIRECT, 0);
  ASSERT_THAT(write(p.write.get(), "one", 3), SyscallSucceedsWithValue(3));
  ASSERT_THAT(write(p.write.get(), "two", 3), SyscallSucceedsWithValue(3));
  char buf[16];
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(6));
  EXPECT_EQ(std::string(buf, 6), "onetwo");
}

// Without O_DIRECT a short read does not discard anything: the contrast to packet mode.
IPC_TEST(PipeDirect, WithoutODirectShortReadsKeepTheRest, "pipe.byte-stream") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create(O_NONBLOCK));
  ASSERT_THAT(write(p.write.get(), "0123456789", 10), SyscallSucceedsWithValue(10));
  ASSERT_THAT(write(p.write.get(), "xyz", 3), SyscallSucceedsWithValue(3));
  char buf[100];
  ASSERT_THAT(read(p.read.get(), buf, 4), SyscallSucceedsWithValue(4));
  ASSERT_THAT(read(p.read.get(), buf, sizeof buf), SyscallSucceedsWithValue(9));
  EXPECT_EQ(std::string(buf, 9), "456789xyz");
}

}  // namespace
}  // namespace ipc
