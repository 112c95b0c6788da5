#include "mq_util.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

namespace ipc::mq_util {

void Mq::Close() {
  if (d_ != static_cast<mqd_t>(-1)) {
    int saved = errno;
    mq_close(d_);
    errno = saved;
    d_ = static_cast<mqd_t>(-1);
  }
}

PosixResult<Mq> OpenMq(const std::string& name, int oflag, mode_t mode, const mq_attr* attr) {
  mqd_t d = (oflag & O_CREAT) ? mq_open(name.c_str(), oflag, mode, attr) : mq_open(name.c_str(), oflag);
  if (d == static_cast<mqd_t>(-1)) return PosixResult<Mq>::Error(errno, "mq_open(" + name + ")");
  return Mq(d);
}

PosixResult<Mq> CreateMq(const PosixName& name, long maxmsg, long msgsize, int extra_flags) {
  mq_attr a = Attr(maxmsg, msgsize);
  return OpenMq(name.str(), O_CREAT | O_EXCL | O_RDWR | extra_flags, 0600, &a);
}

PosixResult<mq_attr> GetAttr(mqd_t d) {
  mq_attr a{};
  if (mq_getattr(d, &a) != 0) return PosixResult<mq_attr>::Error(errno, "mq_getattr");
  return a;
}

namespace {
const char kMqueueDir[] = "/proc/sys/fs/mqueue/";
}  // namespace

PosixResult<long> MsgMax() { return limits::ReadProcSysLong(std::string(kMqueueDir) + "msg_max"); }
PosixResult<long> MsgsizeMax() { return limits::ReadProcSysLong(std::string(kMqueueDir) + "msgsize_max"); }
PosixResult<long> MsgDefault() { return limits::ReadProcSysLong(std::string(kMqueueDir) + "msg_default"); }
PosixResult<long> MsgsizeDefault() {
  return limits::ReadProcSysLong(std::string(kMqueueDir) + "msgsize_default");
}
PosixResult<long> QueuesMax() { return limits::ReadProcSysLong(std::string(kMqueueDir) + "queues_max"); }

::testing::AssertionResult WriteMqueueLimit(const std::string& file, long value) {
  return limits::WriteProcSys(std::string(kMqueueDir) + file, std::to_string(value));
}

int Send(mqd_t d, const std::string& text, unsigned prio) {
  return mq_send(d, text.data(), text.size(), prio);
}

std::string Receive(mqd_t d, long bufsize, unsigned* prio) {
  std::vector<char> buf(static_cast<size_t>(bufsize) + 1);
  ssize_t n = mq_receive(d, buf.data(), static_cast<size_t>(bufsize), prio);
  if (n < 0) return "<" + ErrnoName(errno) + ">";
  return std::string(buf.data(), static_cast<size_t>(n));
}

std::string MountMqueueInPrivateNamespace(const std::string& dir) {
  if (unshare(CLONE_NEWNS) != 0) return "unshare(CLONE_NEWNS) failed with " + DescribeErrno(errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "making / private (MS_REC | MS_PRIVATE) failed with " + DescribeErrno(errno);
  if (mount("mqueue", dir.c_str(), "mqueue", 0, nullptr) != 0)
    return "mount -t mqueue failed with " + DescribeErrno(errno);
  return "";
}

const std::string& MqueueMountUnavailableReason() {
  static const std::string reason = [] {
    auto dir = TempDir::Create();
    if (!dir.ok()) return "no temporary directory for the probe: " + dir.error();
    int p[2];
    if (pipe(p) != 0) return "pipe for the probe failed with " + DescribeErrno(errno);
    std::string path = dir.value().path();
    Child c = Child::SpawnWithExitCode(
        [&] {
          close(p[0]);
          std::string why = MountMqueueInPrivateNamespace(path);
          (void)!write(p[1], why.data(), why.size());
          return 0;
        },
        {.what = "probing whether the mqueue filesystem can be mounted"});
    close(p[1]);
    std::string why;
    char buf[256];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) why.append(buf, static_cast<size_t>(n));
    close(p[0]);
    ExitStatus st = c.Wait();
    if (!st.Exited(0)) return "the probe child " + st.Describe();
    return why;
  }();
  return reason;
}

const std::string& DevMqueueUnavailableReason() {
  static const std::string reason = []() -> std::string {
    constexpr long kMqueueMagic = 0x19800202;  // MQUEUE_MAGIC, linux/magic.h
    struct statfs fs {};
    if (statfs("/dev/mqueue", &fs) != 0) return "statfs(/dev/mqueue) failed with " + DescribeErrno(errno);
    if (static_cast<long>(fs.f_type) != kMqueueMagic) return "/dev/mqueue is not an mqueue filesystem";
    PosixName probe(PosixIpcKind::kMessageQueue, "view-probe");
    mq_attr a = Attr(1, 8);
    mqd_t d = mq_open(probe.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (d == static_cast<mqd_t>(-1)) return "creating a probe queue failed with " + DescribeErrno(errno);
    mq_close(d);
    struct stat st {};
    if (stat(("/dev/mqueue/" + probe.str().substr(1)).c_str(), &st) != 0)
      return "/dev/mqueue belongs to another IPC namespace (a new queue does not appear there)";
    return "";
  }();
  return reason;
}

void WithMqueueView(const std::function<void(const std::string&)>& body, const std::string& what) {
  if (!MqueueMountUnavailableReason().empty()) {
    Child c = Child::Spawn([&] { body("/dev/mqueue"); }, {.what = what + " (in /dev/mqueue)"});
    c.ExpectExited(0);
    return;
  }
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  Child c = Child::Spawn(
      [&] {
        ASSERT_EQ(MountMqueueInPrivateNamespace(dir.path()), "");
        body(dir.path());
      },
      {.what = what});
  c.ExpectExited(0);
}

PosixResult<std::string> ReadQueueFile(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name.substr(1);
  std::ifstream in(path);
  if (!in) return PosixResult<std::string>::Error(errno, "opening " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ipc::mq_util
