// Helpers for the POSIX message queue tests (suite/mq/): an owner for a message queue descriptor, opening
// and creating queues with PosixName names, the /proc/sys/fs/mqueue limits, absolute CLOCK_REALTIME
// timeouts, and a private mount of the mqueue filesystem for the QSIZE view.
// Rules: suite/rules/mq.ini.
#pragma once

#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <functional>
#include <string>
#include <utility>

#include "ipcsuite/fixtures.h"
#include "ipcsuite/seed.h"

namespace ipc::mq_util {

// Owns a message queue descriptor: mq_close on destruction (in whichever process destroys its copy: a
// descriptor belongs to a process).
class Mq {
 public:
  Mq() = default;
  explicit Mq(mqd_t d) : d_(d) {}
  Mq(Mq&& other) noexcept : d_(std::exchange(other.d_, static_cast<mqd_t>(-1))) {}
  Mq& operator=(Mq&& other) noexcept {
    if (this != &other) {
      Close();
      d_ = std::exchange(other.d_, static_cast<mqd_t>(-1));
    }
    return *this;
  }
  Mq(const Mq&) = delete;
  Mq& operator=(const Mq&) = delete;
  ~Mq() { Close(); }

  mqd_t get() const { return d_; }
  // Gives up ownership (the caller closes it, e.g. to test mq_close itself).
  mqd_t release() { return std::exchange(d_, static_cast<mqd_t>(-1)); }
  void Close();

 private:
  mqd_t d_ = static_cast<mqd_t>(-1);
};

inline mq_attr Attr(long maxmsg, long msgsize) {
  mq_attr a{};
  a.mq_maxmsg = maxmsg;
  a.mq_msgsize = msgsize;
  return a;
}

// mq_open(name, oflag[, mode, attr]); the error names the call.
PosixResult<Mq> OpenMq(const std::string& name, int oflag, mode_t mode = 0600, const mq_attr* attr = nullptr);
// A new queue (O_CREAT | O_EXCL | O_RDWR | extra_flags, mode 0600) with the given attributes.
PosixResult<Mq> CreateMq(const PosixName& name, long maxmsg, long msgsize, int extra_flags = 0);

// mq_getattr; the error names the call.
PosixResult<mq_attr> GetAttr(mqd_t d);

// The /proc/sys/fs/mqueue limits of the caller's IPC namespace (mq_overview(7)), read at the call.
PosixResult<long> MsgMax();
PosixResult<long> MsgsizeMax();
PosixResult<long> MsgDefault();
PosixResult<long> MsgsizeDefault();
PosixResult<long> QueuesMax();

// Writes a /proc/sys/fs/mqueue file ("msg_max", ...): only in a new IPC namespace (SpawnInNewIpcNamespace).
::testing::AssertionResult WriteMqueueLimit(const std::string& file, long value);

// Sends `text` with priority `prio`; receives into a buffer of `bufsize` bytes and returns the text (and
// the priority through `prio`), or the errno's name in angle brackets ("<EAGAIN>").
int Send(mqd_t d, const std::string& text, unsigned prio = 0);
std::string Receive(mqd_t d, long bufsize, unsigned* prio = nullptr);

// Why a child cannot mount an mqueue filesystem in a mount namespace of its own ("" when it can). Probed
// once per process, in a child.
const std::string& MqueueMountUnavailableReason();
// In a child: unshare(CLONE_NEWNS), make every mount private, and mount the mqueue filesystem of the
// caller's IPC namespace on `dir`. The mount dies with the child's mount namespace. Returns "" or why not.
std::string MountMqueueInPrivateNamespace(const std::string& dir);
// Why /dev/mqueue is no view of the caller's IPC namespace's queues ("" when it is: an mqueue mount in which
// a queue created now appears). The fallback where a private mount is refused (a container that mounts
// /dev/mqueue for its own IPC namespace).
const std::string& DevMqueueUnavailableReason();
// Runs `body(dir)` in a child that sees this IPC namespace's mqueue filesystem at `dir`: a private mount
// when possible, else /dev/mqueue (see DevMqueueUnavailableReason).
void WithMqueueView(const std::function<void(const std::string&)>& body, const std::string& what);
// The one line of the mqueue filesystem file of `name` (its name without the leading slash) under `dir`.
PosixResult<std::string> ReadQueueFile(const std::string& dir, const std::string& name);

}  // namespace ipc::mq_util

// For a test that reads the mqueue filesystem (mq_overview(7)): it must be mountable in a private mount
// namespace (needs CAP_SYS_ADMIN over the mount namespace's user namespace), or /dev/mqueue must show this
// IPC namespace's queues.
#define IPC_REQUIRE_MQUEUE_VIEW()                                                                       \
  do {                                                                                                  \
    if (!::ipc::mq_util::MqueueMountUnavailableReason().empty() &&                                      \
        !::ipc::mq_util::DevMqueueUnavailableReason().empty())                                          \
      GTEST_SKIP() << "needs the mqueue filesystem: no private mount ("                                 \
                   << ::ipc::mq_util::MqueueMountUnavailableReason() << ") and no usable /dev/mqueue (" \
                   << ::ipc::mq_util::DevMqueueUnavailableReason() << ")";                              \
  } while (0)
