// Helpers shared by the System V message queue tests: see msg_util.h.
#include "msg_util.h"

#include <fcntl.h>
#include <sys/msg.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>

#include "ipcsuite/fixtures.h"

namespace ipc::msg_util {

::testing::AssertionResult Set(int id, const msqid_ds& ds) {
  msqid_ds copy = ds;
  if (msgctl(id, IPC_SET, &copy) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SetOwner(int id, uid_t uid, std::optional<gid_t> gid) {
  PosixResult<msqid_ds> ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  ds.value().msg_perm.uid = uid;
  if (gid) ds.value().msg_perm.gid = *gid;
  return Set(id, ds.value());
}

::testing::AssertionResult Receives(int id, long msgtyp, int flags, long type, std::string_view text,
                                    size_t capacity) {
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

::testing::AssertionResult Holds(int id, unsigned long qnum, unsigned long cbytes) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  if (ds.value().msg_qnum != qnum || ds.value().msg_cbytes != cbytes)
    return ::testing::AssertionFailure()
           << "queue holds " << ds.value().msg_qnum << " messages, " << ds.value().msg_cbytes
           << " bytes; want " << qnum << " messages, " << cbytes << " bytes";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SetQbytes(int id, msglen_t qbytes) {
  auto ds = Stat(id);
  if (!ds.ok()) return ::testing::AssertionFailure() << ds.error();
  ds.value().msg_qbytes = qbytes;
  if (msgctl(id, IPC_SET, &ds.value()) != 0)
    return ::testing::AssertionFailure() << "msgctl(IPC_SET) failed with " << DescribeErrno(errno);
  return ::testing::AssertionSuccess();
}

void MsgFullQueue::SetUp() {
  auto q = MsgQueue::Create(IPC_PRIVATE);
  ASSERT_TRUE(q.ok()) << q.error();
  q_.emplace(std::move(q).value());
  ASSERT_TRUE(SetQbytes(id(), kFiller.size()));
  ASSERT_THAT(Send(id(), 1, kFiller), SyscallSucceeds());
}

}  // namespace ipc::msg_util
