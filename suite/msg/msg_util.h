// Helpers shared by the System V message queue tests (suite/msg/*.cc).
#pragma once

#include <linux/capability.h>
#include <sys/msg.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ipcsuite/fixtures.h"

// glibc exports capget(2)/capset(2) without declaring them (libcap's header is not a dependency).
extern "C" int capget(cap_user_header_t header, cap_user_data_t data);
extern "C" int capset(cap_user_header_t header, const cap_user_data_t data);

namespace ipc::msg_util {

// The uid/gid isolation::DropPrivileges() switches to.
inline constexpr uid_t kNobody = 65534;

using isolation::HasEffectiveCapability;

// Removes `cap` from the calling process's effective set; it stays root otherwise. capset's result.
inline int DropEffectiveCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (capget(&header, data) != 0) return -1;
  data[cap / 32].effective &= ~(1u << (cap % 32));
  return capset(&header, data);
}

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

}  // namespace ipc::msg_util
