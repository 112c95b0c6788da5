// msgsnd(2) and msgrcv(2) (man 2 msgop): message selection, truncation, full queues, blocking and
// wake-ups, removal and signals while blocked (signal(7)), MSG_COPY, permissions and the ERRORS section.
//
// Every queue is an RAII MsgQueue with an IPC_PRIVATE key, removed when the test ends. A call that
// is expected to block runs in a Child with a deadline, and the parent waits until the child sleeps
// inside msgsnd/msgrcv (WaitUntilBlockedIn) before it acts, so nothing depends on timing. A test that
// must not block itself uses IPC_NOWAIT, or runs the call in a Child.
#include <linux/capability.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fixtures.h"
#include "msg_util.h"

namespace ipc {
namespace {

using namespace msg_util;

// A message buffer laid out as msgsnd(2)/msgrcv(2) expect it: a long mtype, then `capacity` bytes
// of mtext. The text starts filled with a marker byte so a test can see how much msgrcv wrote.
class MsgBuf {
 public:
  static constexpr char kMarker = '\x5a';
  explicit MsgBuf(size_t capacity) : bytes_(sizeof(long) + capacity, kMarker) { set_type(0); }
  MsgBuf(long type, std::string_view text) : MsgBuf(text.size()) {
    set_type(type);
    if (!text.empty()) std::memcpy(bytes_.data() + sizeof(long), text.data(), text.size());
  }
  void* get() { return bytes_.data(); }
  size_t capacity() const { return bytes_.size() - sizeof(long); }
  long type() const {
    long t;
    std::memcpy(&t, bytes_.data(), sizeof t);
    return t;
  }
  void set_type(long t) { std::memcpy(bytes_.data(), &t, sizeof t); }
  std::string text(size_t n) const { return std::string(bytes_.data() + sizeof(long), n); }
  // Whether the text bytes from `n` on still hold the marker (msgrcv wrote nothing there).
  bool UntouchedFrom(size_t n) const {
    for (size_t i = sizeof(long) + n; i < bytes_.size(); ++i)
      if (bytes_[i] != kMarker) return false;
    return true;
  }

 private:
  std::vector<char> bytes_;
};

// msgrcv(2) into a buffer of `capacity` text bytes; succeeds when exactly the message (type, text)
// comes back, msgrcv's result is its length and nothing beyond it was written.
::testing::AssertionResult Receives(int id, long msgtyp, int flags, long type, std::string_view text,
                                    size_t capacity = 256) {
  MsgBuf b(capacity);
  ssize_t n = msgrcv(id, b.get(), capacity, msgtyp, flags);
  if (n < 0)
    return ::testing::AssertionFailure()
           << "msgrcv(msgtyp " << msgtyp << ") failed with " << DescribeErrno(errno) << ", want type " << type
           << " \"" << text << "\"";
  if (static_cast<size_t>(n) > capacity)
    return ::testing::AssertionFailure() << "msgrcv returned " << n << ", more than msgsz " << capacity;
  std::string got = b.text(static_cast<size_t>(n));
  if (static_cast<size_t>(n) != text.size() || b.type() != type || got != text)
    return ::testing::AssertionFailure()
           << "msgrcv(msgtyp " << msgtyp << ") returned " << n << " bytes of type " << b.type() << " \""
           << got << "\", want " << text.size() << " bytes of type " << type << " \"" << text << "\"";
  if (!b.UntouchedFrom(static_cast<size_t>(n)))
    return ::testing::AssertionFailure() << "msgrcv wrote past the " << n << " bytes it returned";
  return ::testing::AssertionSuccess();
}

// The queue holds exactly `qnum` messages with `cbytes` bytes of text in all.
::testing::AssertionResult Holds(int id, unsigned long qnum, unsigned long cbytes) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  if (ds.value().msg_qnum != qnum || ds.value().msg_cbytes != cbytes)
    return ::testing::AssertionFailure()
           << "queue holds " << ds.value().msg_qnum << " messages, " << ds.value().msg_cbytes
           << " bytes; want " << qnum << " messages, " << cbytes << " bytes";
  return ::testing::AssertionSuccess();
}

// Lowers msg_qbytes (the owner may always lower it) so that a few bytes fill the queue.
::testing::AssertionResult SetQbytes(int id, msglen_t qbytes) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  ds.value().msg_qbytes = qbytes;
  if (msgctl(id, IPC_SET, &ds.value()) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

// Changes owner uid/gid and mode with IPC_SET (as root).
::testing::AssertionResult SetOwnerAndMode(int id, uid_t uid, gid_t gid, mode_t mode) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  ds.value().msg_perm.uid = uid;
  ds.value().msg_perm.gid = gid;
  ds.value().msg_perm.mode = static_cast<unsigned short>(mode);
  if (msgctl(id, IPC_SET, &ds.value()) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

// A queue whose capacity is lowered to 8 bytes and which already holds one 8-byte message of type 1:
// any further msgsnd finds it full.
class FullQueue : public ::testing::Test {
 protected:
  static constexpr std::string_view kFiller = "AAAAAAAA";
  void SetUp() override {
    auto q = MsgQueue::Create(IPC_PRIVATE);
    ASSERT_TRUE(q.ok()) << q.error();
    q_.emplace(std::move(q).value());
    ASSERT_TRUE(SetQbytes(id(), kFiller.size()));
    ASSERT_THAT(Send(id(), 1, kFiller), SyscallSucceeds());
  }
  int id() const { return q_->id(); }
  std::optional<MsgQueue> q_;
};

// A page that exists in the address space but cannot be read or written.
class InaccessiblePage {
 public:
  InaccessiblePage() {
    len_ = static_cast<size_t>(limits::PageSize());
    addr_ = mmap(nullptr, len_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  ~InaccessiblePage() {
    if (addr_ != MAP_FAILED) munmap(addr_, len_);
  }
  bool ok() const { return addr_ != MAP_FAILED; }
  void* get() const { return addr_; }

 private:
  void* addr_ = MAP_FAILED;
  size_t len_ = 0;
};

// MSG_COPY exists only in kernels built with CONFIG_CHECKPOINT_RESTORE. The same option is what
// provides /proc/sys/kernel/msg_next_id, so its presence tells, without asking msgrcv itself (an
// interposed library that broke MSG_COPY must not turn these tests into skips).
bool KernelHasMsgCopy() { return access("/proc/sys/kernel/msg_next_id", F_OK) == 0; }

#define REQUIRE_MSG_COPY()                                                                      \
  do {                                                                                          \
    if (!KernelHasMsgCopy())                                                                    \
      GTEST_SKIP() << "MSG_COPY needs a kernel built with CONFIG_CHECKPOINT_RESTORE (this one " \
                      "has no /proc/sys/kernel/msg_next_id)";                                   \
  } while (0)

// Waits until `pid` is stopped (state T), with a deadline.
::testing::AssertionResult WaitUntilStopped(pid_t pid) {
  auto until = std::chrono::steady_clock::now() + ScaledDeadline(milliseconds(5000));
  std::optional<TaskState> st;
  while (std::chrono::steady_clock::now() < until) {
    st = ReadTaskState(pid);
    if (!st) return ::testing::AssertionFailure() << "process " << pid << " is gone";
    if (st->state == 'T') return ::testing::AssertionSuccess();
    struct timespec ts = {0, 200000};
    nanosleep(&ts, nullptr);  // polling /proc, not synchronising: the deadline bounds the loop
  }
  return ::testing::AssertionFailure() << "process " << pid << " did not stop; last " << st->Describe();
}

// ---------------------------------------------------------------------------------------------
// Sending and receiving.

IPC_TEST(MsgSendReceive, RoundTripsTypeAndText, "msg.msgrcv-removes-message",
         "msg.msgrcv-returns-bytes-copied") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 7, "hello"), SyscallSucceedsWithValue(0));
  // A buffer much larger than the message: msgrcv returns the message's length, not msgsz.
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 7, "hello", 64));
}

IPC_TEST(MsgSendReceive, ReceiveRemovesTheMessage, "msg.msgrcv-removes-message", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "once"), SyscallSucceeds());
  ASSERT_TRUE(Holds(q.id(), 1, 4));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "once"));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

IPC_TEST(MsgSendReceive, ZeroLengthMessageIsPermitted, "msg.zero-length-message") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 3, ""), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(Holds(q.id(), 1, 0));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "", 8));
}

IPC_TEST(MsgSendReceive, LargestPositiveMtypeRoundTrips, "msg.mtype-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), LONG_MAX, "max"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), LONG_MAX, IPC_NOWAIT, LONG_MAX, "max"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT, 1, "one"));
}

IPC_TEST(MsgSendReceive, MessageOfExactlyMsgmaxBytesRoundTrips, "msg.msgmax",
         "msg.msgrcv-returns-bytes-copied") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_LE(msgmax, msgmnb) << "a message of MSGMAX bytes must fit in a fresh queue for this test";
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  // Every byte value, NUL included: the text is binary data, not a string.
  std::string text(static_cast<size_t>(msgmax), '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>((i * 7 + 3) & 0xff);
  ASSERT_THAT(Send(q.id(), 2, text), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(Holds(q.id(), 1, static_cast<unsigned long>(msgmax)));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, text, static_cast<size_t>(msgmax)));
}

IPC_TEST(MsgSendReceive, SendUpdatesLspidQnumAndStime, "msg.msgsnd-updates-ds") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "first"), SyscallSucceeds());  // qnum 1 before the child's send
  time_t before = time(nullptr);
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 1, "xyz"), SyscallSucceeds()); },
                         {.what = "sending one message"});
  const pid_t sender = c.pid();
  c.ExpectExited(0);
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_lspid, sender) << "msg_lspid must be the sender's pid";
  EXPECT_EQ(ds.msg_qnum, 2u);
  EXPECT_EQ(ds.msg_cbytes, 8u);
  EXPECT_GE(ds.msg_stime, before);
  EXPECT_LE(ds.msg_stime, after);
  EXPECT_EQ(ds.msg_lrpid, 0) << "nothing was received yet";
  EXPECT_EQ(ds.msg_rtime, 0) << "nothing was received yet";
}

IPC_TEST(MsgSendReceive, ReceiveUpdatesLrpidQnumAndRtime, "msg.msgrcv-updates-ds") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "ab"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "cde"), SyscallSucceeds());
  time_t before = time(nullptr);
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "ab")); },
                         {.what = "receiving one message"});
  const pid_t receiver = c.pid();
  c.ExpectExited(0);
  time_t after = time(nullptr);
  ASSERT_OK_AND_ASSIGN(msqid_ds ds, Stat(q.id()));
  EXPECT_EQ(ds.msg_lrpid, receiver) << "msg_lrpid must be the receiver's pid";
  EXPECT_EQ(ds.msg_lspid, getpid()) << "msg_lspid still names the sender";
  EXPECT_EQ(ds.msg_qnum, 1u);
  EXPECT_EQ(ds.msg_cbytes, 3u);
  EXPECT_GE(ds.msg_rtime, before);
  EXPECT_LE(ds.msg_rtime, after);
}

// ---------------------------------------------------------------------------------------------
// Selection by msgtyp.

IPC_TEST(MsgSelect, MsgtypZeroTakesMessagesInQueueOrder, "msg.msgtyp-zero") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 5, "five"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 5, "five"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "one"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "three"));
}

IPC_TEST(MsgSelect, MsgtypZeroKeepsOrderWithinOneType, "msg.msgtyp-zero") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  for (const char* t : {"a", "b", "c", "d"}) ASSERT_THAT(Send(q.id(), 4, t), SyscallSucceeds());
  for (const char* t : {"a", "b", "c", "d"}) EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 4, t));
}

IPC_TEST(MsgSelect, PositiveMsgtypTakesFirstMessageOfThatType, "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2b"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "2a"));
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "2b"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT, 1, "1a"));
}

IPC_TEST(MsgSelect, PositiveMsgtypLeavesOtherMessagesInOrder, "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "3a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_TRUE(Receives(q.id(), 3, IPC_NOWAIT, 3, "3a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "2a"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1b"));
}

IPC_TEST(MsgSelect, PositiveMsgtypWithNoSuchMessageFailsEnomsg, "msg.msgtyp-positive", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 2, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 8)) << "a failed receive must not consume anything";
}

IPC_TEST(MsgSelect, NegativeMsgtypTakesLowestTypeNotAboveItsAbsoluteValue, "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 3, "3"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 5, "5"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  // Lowest type first; among messages of the lowest type, the first in the queue.
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 1, "1a"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 1, "1b"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 2, "2"));
  EXPECT_TRUE(Receives(q.id(), -4, IPC_NOWAIT, 3, "3"));
  // Only type 5 is left: above 4.
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -4, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

IPC_TEST(MsgSelect, NegativeMsgtypIncludesTypeEqualToItsAbsoluteValue, "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 9, "nine"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 6, "six"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -5, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Receives(q.id(), -6, IPC_NOWAIT, 6, "six"));
  EXPECT_TRUE(Receives(q.id(), -9, IPC_NOWAIT, 9, "nine"));
}

IPC_TEST(MsgSelect, MsgExceptTakesFirstMessageOfAnotherType, "msg.msg-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "1a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "1b"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 3, "3"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "2"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_EXCEPT, 3, "3"));
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_EXCEPT, 2, "2"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "1a")) << "type-1 messages stay, in order";
}

IPC_TEST(MsgSelect, MsgExceptWithOnlyThatTypeFailsEnomsg, "msg.msg-except", "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 4, "x"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 4, "y"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 4, IPC_NOWAIT | MSG_EXCEPT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 2));
}

IPC_TEST(MsgSelect, EmptyQueueWithNowaitFailsEnomsg, "msg.msgrcv-enomsg") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, -100, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
}

// ---------------------------------------------------------------------------------------------
// Messages longer than msgsz: MSG_NOERROR and E2BIG.

IPC_TEST(MsgTruncate, MsgNoerrorTruncatesToMsgsz, "msg.msg-noerror") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 6, "abcdefgh"), SyscallSucceeds());
  MsgBuf b(3);
  ASSERT_THAT(msgrcv(q.id(), b.get(), 3, 0, IPC_NOWAIT | MSG_NOERROR), SyscallSucceedsWithValue(3));
  EXPECT_EQ(b.type(), 6);
  EXPECT_EQ(b.text(3), "abc");
}

IPC_TEST(MsgTruncate, MsgNoerrorConsumesTheTruncatedMessage, "msg.msg-noerror") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "truncated"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "next"), SyscallSucceeds());
  MsgBuf b(2);
  ASSERT_THAT(msgrcv(q.id(), b.get(), 2, 0, IPC_NOWAIT | MSG_NOERROR), SyscallSucceedsWithValue(2));
  EXPECT_EQ(b.text(2), "tr");
  // The rest of the text is lost, not left behind: the queue holds only the second message.
  EXPECT_TRUE(Holds(q.id(), 1, 4));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "next"));
}

IPC_TEST(MsgTruncate, MsgNoerrorWithLargeEnoughBufferReturnsWholeMessage, "msg.msg-noerror",
         "msg.msgrcv-returns-bytes-copied") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 2, "whole"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_NOERROR, 2, "whole", 32));
}

IPC_TEST(MsgTruncate, TooLongWithoutMsgNoerrorFailsE2bigAndKeepsMessage, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abcdefgh"), SyscallSucceeds());
  MsgBuf b(7);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 7, 0, IPC_NOWAIT), SyscallFailsWithErrno(E2BIG));
  EXPECT_TRUE(b.UntouchedFrom(0)) << "a failed msgrcv must not copy text";
  EXPECT_TRUE(Holds(q.id(), 1, 8)) << "the message must not be removed";
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "abcdefgh", 8));
}

IPC_TEST(MsgTruncate, E2bigIsReportedWithoutBlocking, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "abcdefgh"), SyscallSucceeds());
  // A blocking receive: the matching message exists but is too long, so msgrcv fails at once.
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(4);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 4, 1, 0), SyscallFailsWithErrno(E2BIG));
      },
      {.what = "receiving a too-long message without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 8));
}

IPC_TEST(MsgTruncate, E2bigConcernsOnlyTheSelectedMessage, "msg.msgrcv-e2big", "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "a long message"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "ok"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT, 2, "ok", 2));
  MsgBuf b(2);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 2, 0, IPC_NOWAIT), SyscallFailsWithErrno(E2BIG));
}

IPC_TEST(MsgTruncate, BlockedReceiverFailsE2bigWhenTooLongMessageArrives, "msg.msgrcv-e2big") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(2);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 2, 0, 0), SyscallFailsWithErrno(E2BIG));
      },
      {.what = "waiting in msgrcv with a 2-byte buffer"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "longer"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 6)) << "the message the receiver could not take stays queued";
}

// ---------------------------------------------------------------------------------------------
// Full queues: msg_qbytes bounds both the bytes and the number of messages.

IPC_TEST_F(FullQueue, NowaitSendToFullQueueFailsEagain, "msg.msgsnd-eagain") {
  EXPECT_THAT(Send(id(), 2, "x", IPC_NOWAIT), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(id(), 1, 8)) << "the refused message must not be queued";
}

IPC_TEST_F(FullQueue, ZeroLengthMessageStillFitsWhileCountIsBelowQbytes, "msg.msgsnd-full-count") {
  // Bytes: 8 of 8 used, a 0-byte message adds none; messages: 1 of at most 8. It fits.
  EXPECT_THAT(Send(id(), 2, "", IPC_NOWAIT), SyscallSucceeds());
  EXPECT_TRUE(Holds(id(), 2, 8));
}

IPC_TEST(MsgFull, SendThatExactlyReachesQbytesSucceeds, "msg.msgsnd-full-bytes") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 10));
  EXPECT_THAT(Send(q.id(), 1, "12345"), SyscallSucceeds());
  EXPECT_THAT(Send(q.id(), 1, "6789"), SyscallSucceeds());
  EXPECT_THAT(Send(q.id(), 1, "ab"), SyscallFailsWithErrno(EAGAIN)) << "11 bytes would exceed 10";
  EXPECT_THAT(Send(q.id(), 1, "0"), SyscallSucceeds()) << "10 bytes exactly fit";
  EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(q.id(), 3, 10));
}

IPC_TEST(MsgFull, MessageCountIsBoundedByQbytes, "msg.msgsnd-full-count", "msg.msgsnd-eagain") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  for (int i = 0; i < 4; ++i) ASSERT_THAT(Send(q.id(), 1, ""), SyscallSucceeds()) << "message " << i;
  // No bytes are used at all, but a fifth message would make the count exceed msg_qbytes.
  EXPECT_THAT(Send(q.id(), 1, ""), SyscallFailsWithErrno(EAGAIN));
  EXPECT_TRUE(Holds(q.id(), 4, 0));
}

IPC_TEST(MsgFull, FreshQueueHoldsExactlyMsgmnbBytes, "msg.msgsnd-full-bytes", "msg.msgsnd-eagain") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(long msgmnb, limits::MsgMnb());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  std::string chunk(static_cast<size_t>(msgmax), 'm');
  long left = msgmnb;
  unsigned long sent = 0;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min(left, msgmax));
    ASSERT_THAT(Send(q.id(), 1, std::string_view(chunk).substr(0, n)), SyscallSucceeds())
        << "with " << (msgmnb - left) << " of " << msgmnb << " bytes queued";
    left -= static_cast<long>(n);
    ++sent;
  }
  EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EAGAIN)) << "the queue holds MSGMNB bytes";
  EXPECT_TRUE(Holds(q.id(), sent, static_cast<unsigned long>(msgmnb)));
}

IPC_TEST_F(FullQueue, BlockedSenderIsWokenByReceive, "msg.msgsnd-blocks-when-full") {
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 2, "late", 0), SyscallSucceedsWithValue(0)); },
                         {.what = "sending to a full queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  EXPECT_TRUE(Holds(id(), 1, 8)) << "the blocked message must not be queued yet";
  ASSERT_TRUE(Receives(id(), 0, IPC_NOWAIT, 1, kFiller));
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(id(), 0, IPC_NOWAIT, 2, "late"));
}

IPC_TEST_F(FullQueue, LoweredQbytesMakesSendBlock, "msg.msgsnd-blocks-when-full", "msg.msgsnd-full-bytes") {
  // The queue (capacity lowered to 8 by the fixture) is full although far below MSGMNB.
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 1, "z", 0), SyscallSucceeds()); },
                         {.what = "sending to a queue whose msg_qbytes was lowered"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  // Raising msg_qbytes again makes room: the sleeping sender is woken and completes.
  ASSERT_TRUE(SetQbytes(id(), 9));
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(id(), 2, 9));
}

// ---------------------------------------------------------------------------------------------
// Blocked receivers.

IPC_TEST(MsgBlocking, BlockedReceiverIsWokenBySend, "msg.msgrcv-blocks") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, 0, 8, "wake")); },
                         {.what = "receiving from an empty queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 8, "wake"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgBlocking, BlockedReceiverWaitsForItsType, "msg.msgrcv-blocks", "msg.msgtyp-positive") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 5, 0, 5, "five")); },
                         {.what = "waiting for a type-5 message"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  // A message of another type must not satisfy it (the child would fail its check if it got it).
  ASSERT_THAT(Send(q.id(), 3, "three"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 5, "five"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 3, "three"));
}

IPC_TEST(MsgBlocking, BlockedNegativeMsgtypReceiverTakesLowEnoughType, "msg.msgrcv-blocks",
         "msg.msgtyp-negative") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), -3, 0, 2, "two")); },
                         {.what = "waiting for a message of type 3 or lower"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 7, "seven"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 2, "two"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 5));
}

IPC_TEST(MsgBlocking, BlockedMsgExceptReceiverSkipsExcludedType, "msg.msgrcv-blocks", "msg.msg-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "one"), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 1, MSG_EXCEPT, 4, "four")); },
                         {.what = "waiting for a message of any type but 1"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "uno"), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 4, "four"), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 2, 6));
}

// ---------------------------------------------------------------------------------------------
// Removal of the queue under blocked callers: EIDRM.

IPC_TEST(MsgRemoved, BlockedReceiverFailsEidrm, "msg.msgrcv-eidrm", "msg.ipc-rmid-wakes-waiters") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, 0), SyscallFailsWithErrno(EIDRM));
      },
      {.what = "receiving from a queue that gets removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_F(FullQueue, BlockedSenderFailsEidrm, "msg.msgsnd-eidrm", "msg.ipc-rmid-wakes-waiters") {
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(id(), 1, "x", 0), SyscallFailsWithErrno(EIDRM)); },
                         {.what = "sending to a full queue that gets removed"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(q_->Remove(), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_F(FullQueue, RemovalWakesEveryBlockedSenderAndReceiver, "msg.ipc-rmid-wakes-waiters",
           "msg.msgsnd-eidrm", "msg.msgrcv-eidrm") {
  const int qid = id();
  auto receiver = [qid](long msgtyp) {
    return [qid, msgtyp] {
      MsgBuf b(16);
      EXPECT_THAT(msgrcv(qid, b.get(), 16, msgtyp, 0), SyscallFailsWithErrno(EIDRM));
    };
  };
  // The queue holds only a type-1 message: these receivers wait for types it does not have.
  Child r1 = Child::Spawn(receiver(9), {.what = "waiting for type 9"});
  Child r2 = Child::Spawn(receiver(5), {.what = "waiting for type 5"});
  Child s1 = Child::Spawn([qid] { EXPECT_THAT(Send(qid, 2, "s", 0), SyscallFailsWithErrno(EIDRM)); },
                          {.what = "sending to the full queue"});
  ASSERT_TRUE(WaitUntilBlockedIn(r1.pid(), SYS_msgrcv));
  ASSERT_TRUE(WaitUntilBlockedIn(r2.pid(), SYS_msgrcv));
  ASSERT_TRUE(WaitUntilBlockedIn(s1.pid(), SYS_msgsnd));
  ASSERT_THAT(q_->Remove(), SyscallSucceeds());
  r1.ExpectExited(0);
  r2.ExpectExited(0);
  s1.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------
// Signals while blocked: EINTR, never restarted (signal(7)); stop signals do not interrupt.

class MsgInterrupt : public ::testing::TestWithParam<int> {};  // param: sa_flags of the handler

std::string FlagsName(const ::testing::TestParamInfo<int>& info) {
  return info.param == SA_RESTART ? "SaRestart" : "NoFlags";
}

IPC_TEST_P(MsgInterrupt, BlockedReceiverCatchingSignalFailsEintr, "msg.msgrcv-eintr",
           "msg.signal-never-restarted") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  const int flags = GetParam();
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, 0), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "receiving until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST_P(MsgInterrupt, BlockedSenderCatchingSignalFailsEintr, "msg.msgsnd-eintr",
           "msg.signal-never-restarted") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  ASSERT_THAT(Send(q.id(), 1, "full"), SyscallSucceeds());
  const int flags = GetParam();
  Child c = Child::Spawn(
      [&] {
        SignalCounter usr1(SIGUSR1, flags);
        ScopedSigmask unblock(SIG_UNBLOCK, SIGUSR1);
        EXPECT_THAT(Send(q.id(), 2, "more", 0), SyscallFailsWithErrno(EINTR));
        EXPECT_EQ(usr1.count(), 1);
      },
      {.what = "sending to a full queue until a signal arrives"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(c.Kill(SIGUSR1), SyscallSucceeds());
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 4)) << "the interrupted send must not have queued its message";
}

INSTANTIATE_TEST_SUITE_P(Flags, MsgInterrupt, ::testing::Values(0, SA_RESTART), FlagsName);

IPC_TEST(MsgStopSignal, StopAndContinueDoNotInterruptBlockedReceiver, "msg.stop-signal-no-eintr") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn([&] { EXPECT_TRUE(Receives(q.id(), 0, 0, 1, "after")); },
                         {.what = "receiving across SIGSTOP/SIGCONT"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  // Back asleep in msgrcv: the call was resumed, not failed with EINTR (the child checks the result).
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgrcv));
  ASSERT_THAT(Send(q.id(), 1, "after"), SyscallSucceeds());
  c.ExpectExited(0);
}

IPC_TEST(MsgStopSignal, StopAndContinueDoNotInterruptBlockedSender, "msg.stop-signal-no-eintr") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetQbytes(q.id(), 4));
  ASSERT_THAT(Send(q.id(), 1, "full"), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 2, "next", 0), SyscallSucceeds()); },
                         {.what = "sending across SIGSTOP/SIGCONT"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_THAT(c.Kill(SIGSTOP), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilStopped(c.pid()));
  ASSERT_THAT(c.Kill(SIGCONT), SyscallSucceeds());
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_msgsnd));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "full"));
  c.ExpectExited(0);
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "next"));
}

// ---------------------------------------------------------------------------------------------
// EINVAL.

IPC_TEST(MsgInvalid, MsgsndMtypeZeroFailsEinval, "msg.msgsnd-einval-mtype") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  EXPECT_THAT(Send(q.id(), 0, "zero"), SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeMtypeFailsEinval, "msg.msgsnd-einval-mtype") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  EXPECT_THAT(Send(q.id(), -1, "neg"), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Send(q.id(), LONG_MIN, "min"), SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndSizeAboveMsgmaxFailsEinval, "msg.msgsnd-einval-msgsz", "msg.msgmax") {
  IPC_REQUIRE_PRIVATE_IPC_NAMESPACE();
  ASSERT_OK_AND_ASSIGN(long msgmax, limits::MsgMax());
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  std::string text(static_cast<size_t>(msgmax) + 1, 'x');
  EXPECT_THAT(Send(q.id(), 1, text), SyscallFailsWithErrno(EINVAL));
  // Even a blocking send fails at once: the size can never fit.
  Child c = Child::Spawn([&] { EXPECT_THAT(Send(q.id(), 1, text, 0), SyscallFailsWithErrno(EINVAL)); },
                         {.what = "sending MSGMAX + 1 bytes without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeSizeFailsEinval, "msg.msgsnd-einval-msgsz") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's msgsnd interceptor reads msgsz bytes of the buffer before the call";
#endif
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(1, "x");
  // msgsz is a size_t in the prototype; the kernel treats a value with the sign bit set as negative.
  EXPECT_THAT(msgsnd(q.id(), b.get(), static_cast<size_t>(-1), IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgsnd(q.id(), b.get(), static_cast<size_t>(LONG_MIN), IPC_NOWAIT),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgInvalid, MsgsndNegativeIdFailsEinval, "msg.msgsnd-einval-msqid") {
  EXPECT_THAT(Send(-1, 1, "x"), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(Send(INT_MIN, 1, "x"), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgsndToRemovedQueueIdFailsEinval, "msg.msgsnd-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int stale = q.id();
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  EXPECT_THAT(Send(stale, 1, "x"), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgrcvNegativeIdFailsEinval, "msg.msgrcv-einval-msqid") {
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(-1, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgrcv(INT_MIN, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
}

IPC_TEST(MsgInvalid, MsgrcvFromRemovedQueueIdFailsEinval, "msg.msgrcv-einval-msqid") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  int stale = q.id();
  ASSERT_THAT(Send(stale, 1, "gone"), SyscallSucceeds());
  ASSERT_THAT(q.Remove(), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(stale, b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  // Without IPC_NOWAIT too (in a child, in case it blocked instead).
  Child c = Child::Spawn(
      [&] {
        MsgBuf cb(16);
        EXPECT_THAT(msgrcv(stale, cb.get(), 16, 0, 0), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "receiving from a removed queue's id"});
  c.ExpectExited(0);
}

IPC_TEST(MsgInvalid, MsgrcvNegativeSizeFailsEinval, "msg.msgrcv-einval-msgsz") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "kept"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), static_cast<size_t>(-1), 0, IPC_NOWAIT), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(msgrcv(q.id(), b.get(), static_cast<size_t>(LONG_MIN), 0, IPC_NOWAIT | MSG_NOERROR),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 1, 4));
}

// ---------------------------------------------------------------------------------------------
// EFAULT. In a child: an interposed library that touched the buffer itself would die of SIGSEGV,
// which must fail this test, not kill the test binary.

IPC_TEST(MsgFault, MsgsndFromInaccessibleBufferFailsEfault, "msg.msgsnd-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgsnd(q.id(), page.get(), 8, IPC_NOWAIT), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "msgsnd from a PROT_NONE page"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgFault, MsgrcvIntoInaccessibleBufferFailsEfault, "msg.msgrcv-efault") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "data"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        EXPECT_THAT(msgrcv(q.id(), page.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EFAULT));
      },
      {.what = "msgrcv into a PROT_NONE page"});
  c.ExpectExited(0);
}

// ---------------------------------------------------------------------------------------------
// Permissions: the queue is created by root, the caller drops to uid/gid 65534 in a child.

IPC_TEST(MsgPermission, SendWithoutWritePermissionFailsEacces, "msg.msgsnd-eacces") {
  IPC_REQUIRE_OTHER_USERS("to create a queue an unprivileged child cannot write");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0604));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        EXPECT_THAT(Send(q.id(), 1, "w"), SyscallFailsWithErrno(EACCES));
        // Read permission is granted: the same caller may receive (the queue is empty).
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(ENOMSG));
      },
      {.what = "sending as an unprivileged user to a mode 0604 queue"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 0, 0));
}

IPC_TEST(MsgPermission, ReceiveWithoutReadPermissionFailsEacces, "msg.msgrcv-eacces") {
  IPC_REQUIRE_OTHER_USERS("to create a queue an unprivileged child cannot read");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0602));
  ASSERT_THAT(Send(q.id(), 1, "secret"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
        EXPECT_TRUE(b.UntouchedFrom(0));
        // Write permission is granted.
        EXPECT_THAT(Send(q.id(), 2, "in"), SyscallSucceeds());
      },
      {.what = "receiving as an unprivileged user from a mode 0602 queue"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 2, 8)) << "the refused receive must not consume the message";
}

IPC_TEST(MsgPermission, OtherPermissionBitsGrantSendAndReceive, "msg.permission-classes") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to root and act as another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0606));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        EXPECT_THAT(Send(q.id(), 1, "other"), SyscallSucceeds());
        EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "other"));
      },
      {.what = "using a mode 0606 queue as an unprivileged user"});
  c.ExpectExited(0);
}

IPC_TEST(MsgPermission, GroupPermissionBitsApplyToGroupMembers, "msg.permission-classes") {
  IPC_REQUIRE_OTHER_USERS("to set the queue's group");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_TRUE(SetOwnerAndMode(q.id(), 0, kNobody, 0060));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());  // gid 65534: the queue's group
        EXPECT_THAT(Send(q.id(), 1, "group"), SyscallSucceeds());
        EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "group"));
      },
      {.what = "using a mode 0060 queue as a member of its group"});
  c.ExpectExited(0);
}

IPC_TEST(MsgPermission, OwnerClassAppliesToOwnerEvenWhenOthersMayAccess, "msg.permission-classes",
         "msg.msgsnd-eacces", "msg.msgrcv-eacces") {
  IPC_REQUIRE_OTHER_USERS("to give the queue to another user");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  // Owner 65534 gets no access; group and others get everything.
  ASSERT_TRUE(SetOwnerAndMode(q.id(), kNobody, kNobody, 0066));
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(isolation::DropPrivileges(), SyscallSucceeds());
        EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EACCES));
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
      },
      {.what = "using a mode 0066 queue as its owner"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgPermission, CapIpcOwnerBypassesPermissionBits, "msg.cap-ipc-owner") {
  if (!HasEffectiveCapability(CAP_IPC_OWNER)) GTEST_SKIP() << "needs CAP_IPC_OWNER in the effective set";
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0000));
  EXPECT_THAT(Send(q.id(), 1, "root"), SyscallSucceeds());
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "root"));
}

IPC_TEST(MsgPermission, RootWithoutCapIpcOwnerIsBoundByTheModeBits, "msg.cap-ipc-owner", "msg.msgsnd-eacces",
         "msg.msgrcv-eacces") {
  IPC_REQUIRE_ROOT("to be the queue's owner and lack only CAP_IPC_OWNER");
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE, IPC_CREAT | 0000));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());  // with CAP_IPC_OWNER, if the test process has it
  Child c = Child::Spawn(
      [&] {
        ASSERT_THAT(DropEffectiveCapability(CAP_IPC_OWNER), SyscallSucceeds());
        ASSERT_FALSE(HasEffectiveCapability(CAP_IPC_OWNER));
        // Still uid 0 and the queue's owner, but mode 0000 grants the owner nothing.
        EXPECT_THAT(Send(q.id(), 1, "x"), SyscallFailsWithErrno(EACCES));
        MsgBuf b(8);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 8, 0, IPC_NOWAIT), SyscallFailsWithErrno(EACCES));
      },
      {.what = "using a mode 0000 queue as root without CAP_IPC_OWNER"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

// ---------------------------------------------------------------------------------------------
// MSG_COPY.

IPC_TEST(MsgCopy, CopiesMessageAtOrdinalPosition, "msg.msg-copy") {
  REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 30, "first"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 10, "second"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 20, "third"), SyscallSucceeds());
  // msgtyp is a position counted from 0, not a type.
  EXPECT_TRUE(Receives(q.id(), 1, IPC_NOWAIT | MSG_COPY, 10, "second"));
  EXPECT_TRUE(Receives(q.id(), 2, IPC_NOWAIT | MSG_COPY, 20, "third"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 30, "first"));
}

IPC_TEST(MsgCopy, CopyLeavesQueueUnchanged, "msg.msg-copy") {
  REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "alpha"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 2, "beta"), SyscallSucceeds());
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 1, "alpha"));
  ASSERT_TRUE(Receives(q.id(), 0, IPC_NOWAIT | MSG_COPY, 1, "alpha")) << "the same message again";
  EXPECT_TRUE(Holds(q.id(), 2, 9));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 1, "alpha"));
  EXPECT_TRUE(Receives(q.id(), 0, IPC_NOWAIT, 2, "beta"));
}

IPC_TEST(MsgCopy, PositionBeyondLastMessageFailsEnomsg, "msg.msgrcv-enomsg-copy") {
  REQUIRE_MSG_COPY();
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  ASSERT_THAT(Send(q.id(), 1, "a"), SyscallSucceeds());
  ASSERT_THAT(Send(q.id(), 1, "b"), SyscallSucceeds());
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 2, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 100, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOMSG));
  EXPECT_TRUE(Holds(q.id(), 2, 2));
}

// The next two checks precede the CONFIG_CHECKPOINT_RESTORE dependent part in the kernel: they hold
// on every kernel since 3.14, with or without MSG_COPY support.
IPC_TEST(MsgCopy, MsgCopyWithoutNowaitFailsEinval, "msg.msgrcv-einval-copy-nowait") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  Child c = Child::Spawn(
      [&] {
        MsgBuf b(16);
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, MSG_COPY), SyscallFailsWithErrno(EINVAL));
        EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 5, MSG_COPY), SyscallFailsWithErrno(EINVAL));
      },
      {.what = "msgrcv with MSG_COPY but without IPC_NOWAIT"});
  c.ExpectExited(0);
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgCopy, MsgCopyWithMsgExceptFailsEinval, "msg.msgrcv-einval-copy-except") {
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

IPC_TEST(MsgCopy, MsgCopyWithoutCheckpointRestoreFailsEnosys, "msg.msgrcv-enosys") {
  if (KernelHasMsgCopy())
    GTEST_SKIP() << "this kernel has CONFIG_CHECKPOINT_RESTORE (/proc/sys/kernel/msg_next_id exists), so "
                    "MSG_COPY is supported and ENOSYS cannot occur; MsgCopy.* check MSG_COPY itself";
  ASSERT_OK_AND_ASSIGN(MsgQueue q, MsgQueue::Create(IPC_PRIVATE));
  ASSERT_THAT(Send(q.id(), 1, "m"), SyscallSucceeds());
  MsgBuf b(16);
  EXPECT_THAT(msgrcv(q.id(), b.get(), 16, 0, IPC_NOWAIT | MSG_COPY), SyscallFailsWithErrno(ENOSYS));
  EXPECT_TRUE(Holds(q.id(), 1, 1));
}

}  // namespace
}  // namespace ipc
