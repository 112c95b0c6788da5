// mq_overview(7), "Mounting the message queue filesystem": the mqueue filesystem of the test's IPC namespace,
// mounted in a private mount namespace of a child (the host's /dev/mqueue is neither needed nor touched;
// where a private mount is refused, /dev/mqueue when it shows this IPC namespace's queues, as in a
// container): the sticky mount directory, a file per queue with its mode, the QSIZE line and the notification
// fields, and unlink(2) on the file removing the queue's name. Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

// The value of `field` ("QSIZE") in the one line of a queue's file, or -1.
long Field(const std::string& line, const std::string& field) {
  size_t at = line.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::stol(line.substr(at + field.size() + 1));
}

IPC_TEST(MqFs, MountDirectoryIsSticky, "mq.fs-sticky") {
  IPC_REQUIRE_MQUEUE_VIEW();
  WithMqueueView(
      [](const std::string& dir) {
        struct stat st {};
        ASSERT_THAT(stat(dir.c_str(), &st), SyscallSucceeds());
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_mode & S_ISVTX, static_cast<mode_t>(S_ISVTX)) << std::oct << st.st_mode;
      },
      "stat'ing the mqueue mount directory");
}

IPC_TEST(MqFs, QsizeCountsTheBytesOfUserData, "mq.fs-qsize") {
  IPC_REQUIRE_MQUEUE_VIEW();
  PosixName name(PosixIpcKind::kMessageQueue, "qsize");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 4, 64));
  WithMqueueView(
      [&](const std::string& dir) {
        ASSERT_OK_AND_ASSIGN(std::string empty, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(empty, "QSIZE"), 0) << empty;
        ASSERT_THAT(Send(q.get(), std::string(10, 'a'), 1), SyscallSucceeds());
        ASSERT_THAT(Send(q.get(), std::string(33, 'b'), 5), SyscallSucceeds());
        ASSERT_THAT(Send(q.get(), "", 2), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(std::string three, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(three, "QSIZE"), 43) << three;
        EXPECT_EQ(Receive(q.get(), 64).size(), 33u);
        ASSERT_OK_AND_ASSIGN(std::string two, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(two, "QSIZE"), 10) << two;
      },
      "reading QSIZE from the mqueue filesystem");
}

IPC_TEST(MqFs, NotifyFieldsShowTheRegistration, "mq.fs-notify-fields") {
  IPC_REQUIRE_MQUEUE_VIEW();
  PosixName name(PosixIpcKind::kMessageQueue, "notify-fields");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  WithMqueueView(
      [&](const std::string& dir) {
        ASSERT_OK_AND_ASSIGN(std::string none, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(none, "NOTIFY_PID"), 0) << none;
        ScopedSigmask block(SIG_BLOCK, SIGUSR2);
        sigevent ev{};
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGUSR2;
        ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(std::string sig, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(sig, "NOTIFY_PID"), getpid()) << sig;
        EXPECT_EQ(Field(sig, "NOTIFY"), 0) << sig;
        EXPECT_EQ(Field(sig, "SIGNO"), SIGUSR2) << sig;
        ASSERT_THAT(mq_notify(q.get(), nullptr), SyscallSucceeds());
        ev.sigev_notify = SIGEV_NONE;
        ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(std::string silent, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(silent, "NOTIFY_PID"), getpid()) << silent;
        EXPECT_EQ(Field(silent, "NOTIFY"), 1) << silent;
        ASSERT_THAT(mq_notify(q.get(), nullptr), SyscallSucceeds());
        ASSERT_OK_AND_ASSIGN(std::string gone, ReadQueueFile(dir, name.str()));
        EXPECT_EQ(Field(gone, "NOTIFY_PID"), 0) << gone;
      },
      "reading the notification fields from the mqueue filesystem");
}

IPC_TEST(MqFs, QueueIsAFileWithItsModeAndUnlinkRemovesIt, "mq.fs-files") {
  IPC_REQUIRE_MQUEUE_VIEW();
  PosixName name(PosixIpcKind::kMessageQueue, "as-file");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_THAT(fchmod(q.get(), 0640), SyscallSucceeds());
  WithMqueueView(
      [&](const std::string& dir) {
        std::string path = dir + "/" + name.str().substr(1);
        struct stat st {};
        ASSERT_THAT(stat(path.c_str(), &st), SyscallSucceeds());
        EXPECT_TRUE(S_ISREG(st.st_mode));
        EXPECT_EQ(st.st_mode & 07777, 0640u);
        EXPECT_EQ(st.st_uid, geteuid());
        ASSERT_THAT(unlink(path.c_str()), SyscallSucceeds());
        EXPECT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
        EXPECT_THAT(Send(q.get(), "alive"), SyscallSucceeds()) << "the open queue lives on";
      },
      "looking at a queue as a file of the mqueue filesystem");
  EXPECT_THAT(mq_open(name.c_str(), O_RDONLY), SyscallFailsWithErrno(ENOENT));
}

}  // namespace
}  // namespace ipc
