// Helpers shared by the System V message queue tests (suite/msg/*.cc; rules in suite/rules/msg.ini).
#pragma once

#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc::msg_util {

// Fixed keys: each test adds its own offset (the namespace is private to this test binary anyway).
inline constexpr key_t kKeyBase = 0x4d534700;

// msgsnd(2) of one message (a long mtype, then the text); returns msgsnd's result with errno intact.
inline int Send(int id, long type, std::string_view text, int flags = IPC_NOWAIT) {
  std::vector<char> b(sizeof(long) + text.size());
  std::memcpy(b.data(), &type, sizeof type);
  if (!text.empty()) std::memcpy(b.data() + sizeof(long), text.data(), text.size());
  return msgsnd(id, b.data(), text.size(), flags);
}

// msgctl(IPC_STAT).
inline PosixResult<msqid_ds> Stat(int id) {
  msqid_ds ds{};
  if (msgctl(id, IPC_STAT, &ds) != 0) return PosixResult<msqid_ds>::Error(errno, "msgctl(IPC_STAT)");
  return ds;
}

// IPC_INFO / MSG_INFO: msgctl's result in *ret (errno intact when it is -1).
inline msginfo Info(int cmd, int* ret) {
  msginfo info{};
  *ret = msgctl(0, cmd, reinterpret_cast<msqid_ds*>(&info));
  return info;
}

// msgctl(IPC_SET) with a copy of `ds`.
::testing::AssertionResult Set(int id, const msqid_ds& ds);

// Hands the queue to another owner: IPC_STAT, then IPC_SET with msg_perm.uid = uid (and msg_perm.gid = gid
// when given); the creator (cuid, cgid), the mode and msg_qbytes stay.  ASSERT_TRUE(SetOwner(id,
// kNobodyUid));
[[nodiscard]] ::testing::AssertionResult SetOwner(int id, uid_t uid, std::optional<gid_t> gid = std::nullopt);

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
                                    size_t capacity = 256);

// The queue holds exactly `qnum` messages with `cbytes` bytes of text in all.
::testing::AssertionResult Holds(int id, unsigned long qnum, unsigned long cbytes);

// Lowers msg_qbytes (the owner may always lower it) so that a few bytes fill the queue.
::testing::AssertionResult SetQbytes(int id, msglen_t qbytes);

// A queue whose capacity is lowered to 8 bytes and which already holds one 8-byte message of type 1:
// any further msgsnd finds it full.
class MsgFullQueue : public ::testing::Test {
 protected:
  static constexpr std::string_view kFiller = "AAAAAAAA";
  void SetUp() override;
  int id() const { return q_->id(); }
  std::optional<MsgQueue> q_;
};

// MSG_COPY exists only in kernels built with CONFIG_CHECKPOINT_RESTORE. The same option is what
// provides /proc/sys/kernel/msg_next_id, so its presence tells, without asking msgrcv itself (an
// interposed library that broke MSG_COPY must not turn these tests into skips).
inline bool KernelHasMsgCopy() { return access("/proc/sys/kernel/msg_next_id", F_OK) == 0; }

#define IPC_REQUIRE_MSG_COPY()                                                                  \
  do {                                                                                          \
    if (!::ipc::msg_util::KernelHasMsgCopy())                                                   \
      GTEST_SKIP() << "MSG_COPY needs a kernel built with CONFIG_CHECKPOINT_RESTORE (this one " \
                      "has no /proc/sys/kernel/msg_next_id)";                                   \
  } while (0)

}  // namespace ipc::msg_util
