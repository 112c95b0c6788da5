// mq_notify(3) and mq_close(3): SIGEV_SIGNAL (si_code SI_MESGQ, the sender's pid and uid, sigev_value),
// SIGEV_THREAD, SIGEV_NONE; one registered process (EBUSY); removal by mq_notify(NULL), by mq_close and
// after delivery; notification only on an empty-to-non-empty transition with no receiver waiting; EINVAL
// and EBADF.
// Rules: suite/rules/mq.ini. Helpers: mq_util.h.
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "ipcsuite/fixtures.h"
#include "mq_util.h"

namespace ipc {
namespace {

using namespace mq_util;

constexpr int kSig = SIGUSR2;

sigevent SignalEvent(int sig, int value = 0) {
  sigevent ev{};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = value;
  return ev;
}

// Waits for `sig` (blocked by the caller) for up to `ms`; returns the signal number or -1 with errno.
int WaitForSignal(int sig, siginfo_t* info, long ms) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  return sigtimedwait(&set, info, &ts);
}

// Another process tries to register for the queue `name`: returns its mq_notify errno (0 on success). The
// child's registration, if any, goes with its descriptors when it exits.
int RegisterFromAnotherProcess(const PosixName& name) {
  Child c = Child::SpawnWithExitCode(
      [&] {
        mqd_t d = mq_open(name.c_str(), O_RDONLY);
        if (d == static_cast<mqd_t>(-1)) return 200;
        sigevent ev{};
        ev.sigev_notify = SIGEV_NONE;
        return mq_notify(d, &ev) == 0 ? 0 : errno;
      },
      {.what = "registering for notification from another process"});
  ExitStatus st = c.Wait();
  return st.kind == ExitStatus::Kind::kExited ? st.code : 255;
}

// A child process that sends `text` to the queue; returns its pid after it exited successfully.
pid_t SendFromChild(const PosixName& name, const std::string& text) {
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(Mq w, OpenMq(name.str(), O_WRONLY));
        ASSERT_THAT(Send(w.get(), text), SyscallSucceeds());
      },
      {.what = "sending a message"});
  pid_t pid = c.pid();
  c.ExpectExited(0);
  return pid;
}

IPC_TEST(MqNotify, SigevSignalCarriesSiMesgqAndTheSender, "mq.notify-signal") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-signal");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  sigevent ev = SignalEvent(kSig, 4242);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  pid_t sender = SendFromChild(name, "hello");
  siginfo_t info{};
  ASSERT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
  EXPECT_EQ(info.si_code, SI_MESGQ);
  EXPECT_EQ(info.si_pid, sender);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_value.sival_int, 4242);
  EXPECT_EQ(Receive(q.get(), 16), "hello");
}

IPC_TEST(MqNotify, RegistrationIsRemovedAfterDelivery, "mq.notify-once") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-once");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  sigevent ev = SignalEvent(kSig);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "first"), SyscallSucceeds());
  siginfo_t info{};
  ASSERT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
  EXPECT_EQ(Receive(q.get(), 16), "first");
  // Empty again; a new message notifies nobody.
  ASSERT_THAT(Send(q.get(), "second"), SyscallSucceeds());
  EXPECT_THAT(WaitForSignal(kSig, &info, 0), SyscallFailsWithErrno(EAGAIN)) << "a second notification";
  // And another process can register now.
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
}

IPC_TEST(MqNotify, ProcessMayRegisterAgainAfterDelivery, "mq.notify-once", "mq.notify-signal") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-again");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  for (int round = 1; round <= 3; ++round) {
    sigevent ev = SignalEvent(kSig, round);
    ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds()) << "round " << round;
    ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
    siginfo_t info{};
    ASSERT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
    EXPECT_EQ(info.si_value.sival_int, round);
    EXPECT_EQ(Receive(q.get(), 16), "m");
  }
}

IPC_TEST(MqNotify, AnotherProcessGetsEbusy, "mq.notify-ebusy") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-ebusy");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  sigevent ev = SignalEvent(kSig);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(EBUSY));
  // The registration is still ours.
  ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
  siginfo_t info{};
  EXPECT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
}

IPC_TEST(MqNotify, NullUnregistersAndLetsAnotherProcessRegister, "mq.notify-unregister") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-null");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  sigevent ev = SignalEvent(kSig);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  ASSERT_THAT(mq_notify(q.get(), nullptr), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
  siginfo_t info{};
  EXPECT_THAT(WaitForSignal(kSig, &info, 0), SyscallFailsWithErrno(EAGAIN))
      << "notified after mq_notify(NULL)";
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
}

IPC_TEST(MqNotify, CloseRemovesTheRegistration, "mq.close-removes-notification", "mq.notify-ebusy") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-close");
  ASSERT_OK_AND_ASSIGN(Mq keep, CreateMq(name, 2, 16));
  ASSERT_OK_AND_ASSIGN(Mq reg, OpenMq(name.str(), O_RDONLY));
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  ASSERT_THAT(mq_notify(reg.get(), &ev), SyscallSucceeds());
  ASSERT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(EBUSY));
  mqd_t d = reg.release();
  ASSERT_THAT(mq_close(d), SyscallSucceeds());
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
}

IPC_TEST(MqNotify, SigevNoneRegistersWithoutNotifying, "mq.notify-none", "mq.notify-once",
         "mq.notify-ebusy") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-none");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(EBUSY));
  ASSERT_THAT(Send(q.get(), "m"), SyscallSucceeds());
  // The (silent) notification happened: the registration is gone.
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
}

IPC_TEST(MqNotify, NonEmptyQueueNotifiesOnlyAfterEmptiedAndRefilled, "mq.notify-empty-only") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-nonempty");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 3, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  ASSERT_THAT(Send(q.get(), "already"), SyscallSucceeds());
  sigevent ev = SignalEvent(kSig);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  ASSERT_THAT(Send(q.get(), "more"), SyscallSucceeds());
  siginfo_t info{};
  EXPECT_THAT(WaitForSignal(kSig, &info, 0), SyscallFailsWithErrno(EAGAIN))
      << "notified on a non-empty queue";
  EXPECT_EQ(Receive(q.get(), 16), "already");
  EXPECT_EQ(Receive(q.get(), 16), "more");
  ASSERT_THAT(Send(q.get(), "fresh"), SyscallSucceeds());
  EXPECT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
}

IPC_TEST(MqNotify, WaitingReceiverTakesTheMessageAndTheRegistrationStays, "mq.notify-receiver-waiting",
         "mq.notify-ebusy") {
  PosixName name(PosixIpcKind::kMessageQueue, "notify-waiter");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ScopedSigmask block(SIG_BLOCK, kSig);
  sigevent ev = SignalEvent(kSig);
  ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
  Child c = Child::Spawn([&] { EXPECT_EQ(Receive(q.get(), 16), "to-waiter"); },
                         {.what = "receiving while another process is registered"});
  ASSERT_TRUE(WaitUntilBlockedIn(c.pid(), SYS_mq_timedreceive));
  ASSERT_THAT(Send(q.get(), "to-waiter"), SyscallSucceeds());
  c.ExpectExited(0);
  siginfo_t info{};
  EXPECT_THAT(WaitForSignal(kSig, &info, 0), SyscallFailsWithErrno(EAGAIN)) << "notified despite a receiver";
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(EBUSY)) << "the registration was dropped";
  ASSERT_THAT(Send(q.get(), "later"), SyscallSucceeds());
  EXPECT_THAT(WaitForSignal(kSig, &info, 5000), SyscallSucceedsWithValue(kSig));
}

// SIGEV_THREAD: the C library starts a helper thread that stays in the process, so the registering
// process is a child.
int g_thread_pipe = -1;
void NotifyFunction(sigval v) {
  int value = v.sival_int;
  (void)!write(g_thread_pipe, &value, sizeof value);
}

IPC_TEST(MqNotify, SigevThreadCallsTheFunctionWithTheValue, "mq.notify-thread", "mq.notify-once") {
  IPC_SKIP_UNDER_THREAD_SANITIZER(
      "the notification thread glibc starts for SIGEV_THREAD is not created through the pthread_create it "
      "intercepts; the function then crashes in its runtime (SIGSEGV)");
  PosixName name(PosixIpcKind::kMessageQueue, "notify-thread");
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  ASSERT_OK_AND_ASSIGN(Pipe ready, Pipe::Create());
  Child c = Child::Spawn(
      [&] {
        g_thread_pipe = p.write.get();
        sigevent ev{};
        ev.sigev_notify = SIGEV_THREAD;
        ev.sigev_notify_function = NotifyFunction;
        ev.sigev_value.sival_int = 777;
        ASSERT_THAT(mq_notify(q.get(), &ev), SyscallSucceeds());
        ASSERT_THAT(write(ready.write.get(), "r", 1), SyscallSucceedsWithValue(1));
        int value = 0;
        ASSERT_TRUE(ReadAll(p.read.get(), &value, sizeof value)) << DescribeErrno(errno);
        EXPECT_EQ(value, 777);
        EXPECT_EQ(Receive(q.get(), 16), "wake");
        // Removed after delivery: another process may register.
        EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
      },
      {.what = "registered with SIGEV_THREAD, waiting for the call"});
  ready.write.Close();  // a child that failed to register closes the last writer: EOF here, not a hang
  char r;
  if (!ReadAll(ready.read.get(), &r, 1)) {
    c.ExpectExited(0);  // shows why it could not register
    FAIL() << "the child ended without registering";
  }
  ASSERT_THAT(Send(q.get(), "wake"), SyscallSucceeds());
  c.ExpectExited(0);
}

struct MqNotifyEinvalRow {
  const char* name;
  rules::RuleList rules;
  int notify;
  int signo;
};

const MqNotifyEinvalRow kMqNotifyEinval[] = {
    {"UnknownMethod", {"mq.notify-einval"}, 1234, SIGUSR1},
    {"NegativeMethod", {"mq.notify-einval"}, -1, SIGUSR1},
    {"SignalAboveNsig", {"mq.notify-einval"}, SIGEV_SIGNAL, 65},
    {"SignalNegative", {"mq.notify-einval"}, SIGEV_SIGNAL, -1},
};

class MqNotifyEinval : public ::testing::TestWithParam<MqNotifyEinvalRow> {};

IPC_TEST_P(MqNotifyEinval, FailsAndRegistersNothing) {
  const MqNotifyEinvalRow& row = GetParam();
  PosixName name(PosixIpcKind::kMessageQueue, row.name);
  ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
  sigevent ev{};
  ev.sigev_notify = row.notify;
  ev.sigev_signo = row.signo;
  EXPECT_THAT(mq_notify(q.get(), &ev), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(ErrnoName(RegisterFromAnotherProcess(name)), ErrnoName(0));
}

IPC_INSTANTIATE_TABLE(Table, MqNotifyEinval, kMqNotifyEinval);

struct MqNotifyEbadfRow {
  const char* name;
  rules::RuleList rules;
  bool closed;  // a closed queue descriptor, else a pipe
  bool null_sevp;
};

const MqNotifyEbadfRow kMqNotifyEbadf[] = {
    {"ClosedDescriptor", {"mq.notify-ebadf"}, true, false},
    {"PipeDescriptor", {"mq.notify-ebadf"}, false, false},
    {"ClosedDescriptorNullSevp", {"mq.notify-ebadf"}, true, true},
};

class MqNotifyEbadf : public ::testing::TestWithParam<MqNotifyEbadfRow> {};

IPC_TEST_P(MqNotifyEbadf, FailsEbadf) {
  const MqNotifyEbadfRow& row = GetParam();
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  mqd_t d = static_cast<mqd_t>(p.read.get());
  if (row.closed) {
    PosixName name(PosixIpcKind::kMessageQueue, row.name);
    ASSERT_OK_AND_ASSIGN(Mq q, CreateMq(name, 2, 16));
    d = q.release();
    ASSERT_THAT(mq_close(d), SyscallSucceeds());
  }
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  EXPECT_THAT(mq_notify(d, row.null_sevp ? nullptr : &ev), SyscallFailsWithErrno(EBADF));
}

IPC_INSTANTIATE_TABLE(Table, MqNotifyEbadf, kMqNotifyEbadf);

}  // namespace
}  // namespace ipc
