// Self-tests of the fault layer's C++ API (RunInChild) and plan parsing. This binary links the agent
// in-process, so counted rules are decided on the fast path; raw syscall(2) calls take the supervisor
// path.
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "ipcsuite/fault_child.h"
#include "ipcsuite/fixtures.h"

namespace ipc {
namespace {

fault::Plan MakePlan(std::vector<std::string> specs, uint64_t seed = 1) {
  fault::Plan plan;
  plan.seed = seed;
  std::string error;
  EXPECT_TRUE(fault::ParseRules(specs, &plan, &error)) << error;
  return plan;
}

IPC_TEST(FaultSpec, ParsesEveryForm, "fault.spec-syntax") {
  fault::Rule r;
  std::string e;
  ASSERT_TRUE(fault::ParseRule("semop=EIDRM@3", &r, &e)) << e;
  EXPECT_EQ(r.name, "semop");
  EXPECT_EQ(r.err, EIDRM);
  EXPECT_EQ(r.when, fault::When::kAt);
  EXPECT_EQ(r.n, 3u);
  ASSERT_TRUE(fault::ParseRule("write[fd=3,count>=10]=EPIPE@2+5", &r, &e)) << e;
  EXPECT_EQ(r.when, fault::When::kEvery);
  EXPECT_EQ(r.k, 5u);
  ASSERT_EQ(r.conds.size(), 2u);
  EXPECT_EQ(r.conds[1].op, fault::CondOp::kGe);
  EXPECT_EQ(r.Text(), "write[fd=3,count>=10]=EPIPE@2+5");
  ASSERT_TRUE(fault::ParseRule("read=EINTR%0.25", &r, &e)) << e;
  EXPECT_EQ(r.when, fault::When::kProbability);
  EXPECT_DOUBLE_EQ(r.p, 0.25);
  ASSERT_TRUE(fault::ParseRule("pipe=EMFILE@4+", &r, &e)) << e;
  EXPECT_EQ(r.when, fault::When::kFrom);
  for (const char* bad :
       {"semop", "semop=", "nosuch=EIO", "semop=ENOPE", "semop=EIO@0", "semop=EIO@x", "semop=EIO%0",
        "semop=EIO%2", "write[fdx=1]=EIO", "write[fd=]=EIO", "write[fd=1=EIO"}) {
    EXPECT_FALSE(fault::ParseRule(bad, &r, &e)) << bad;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

IPC_TEST(FaultRun, UnconditionalRuleFailsEveryCallInTheChildOnly, "fault.unconditional",
         "fault.containment") {
  fault::FaultRun run = fault::RunInChild(MakePlan({"semop=EIDRM"}), [] {
    int id = semget(IPC_PRIVATE, 1, 0600);
    if (id < 0) return 10;
    sembuf op{0, 1, 0};
    int bad = 0;
    for (int i = 0; i < 5; ++i)
      if (semop(id, &op, 1) != -1 || errno != EIDRM) ++bad;
    semctl(id, 0, IPC_RMID);
    return bad;
  });
  ASSERT_EQ(run.error, "");
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  // The caller is not filtered.
  std::ifstream status("/proc/self/status");
  std::string line, seccomp;
  while (std::getline(status, line))
    if (line.rfind("Seccomp:", 0) == 0) seccomp = line;
  EXPECT_EQ(seccomp, "Seccomp:\t0");
  int id = semget(IPC_PRIVATE, 1, 0600);
  ASSERT_GE(id, 0);
  sembuf op{0, 1, 0};
  EXPECT_THAT(semop(id, &op, 1), SyscallSucceeds());
  semctl(id, 0, IPC_RMID);
}

IPC_TEST(FaultRun, CountedRuleFaultsExactlyTheNthCallAndLogsIt, "fault.counted") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int fd = p.write.get();
  fault::FaultRun run = fault::RunInChild(MakePlan({"write[fd=" + std::to_string(fd) + "]=EPIPE@3"}), [&] {
    int result = 0;
    for (int i = 1; i <= 5; ++i) {
      ssize_t r = write(fd, "x", 1);
      bool want_fail = i == 3;
      if (want_fail ? (r != -1 || errno != EPIPE) : r != 1) result |= 1 << i;
    }
    return result;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  ASSERT_EQ(run.log.size(), 1u);
  EXPECT_EQ(run.log[0].index, 3u);
  EXPECT_EQ(run.log[0].err, EPIPE);
  EXPECT_EQ(run.log[0].name, "write");
  EXPECT_GT(run.log[0].pid, 0);
  EXPECT_EQ(run.agent_calls, 5u);
}

IPC_TEST(FaultRun, RawCallsGoThroughTheSupervisorWithTheSameCounter, "fault.counted") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int fd = p.write.get();
  fault::FaultRun run = fault::RunInChild(MakePlan({"write[fd=" + std::to_string(fd) + "]=EIO@2+2"}), [&] {
    // wrapper (1), raw (2: fault), wrapper (3), raw (4: fault)
    int r = 0;
    if (write(fd, "a", 1) != 1) r |= 1;
    if (syscall(SYS_write, fd, "b", 1) != -1 || errno != EIO) r |= 2;
    if (write(fd, "c", 1) != 1) r |= 4;
    if (syscall(SYS_write, fd, "d", 1) != -1 || errno != EIO) r |= 8;
    return r;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.agent_calls, 2u);
  EXPECT_EQ(run.supervisor_calls, 2u);
  ASSERT_EQ(run.log.size(), 2u);
  EXPECT_EQ(run.log[0].index, 2u);
  EXPECT_EQ(run.log[1].index, 4u);
}

IPC_TEST(FaultRun, RestartedCallIsCountedOnce, "fault.restart-counted-once") {
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int rfd = p.read.get(), wfd = p.write.get();
  fault::FaultRun run = fault::RunInChild(MakePlan({"read[fd=" + std::to_string(rfd) + "]=EIO@2"}), [&] {
    SignalCounter usr1(SIGUSR1, SA_RESTART);
    std::atomic<pid_t> tid{0};
    ssize_t first = -2;
    std::thread reader([&] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      char c;
      first = read(rfd, &c, 1);
    });
    while (tid == 0) std::this_thread::yield();
    for (int i = 0; i < 3; ++i) {
      if (!WaitUntilBlockedIn(getpid(), SYS_read, kDefaultBlockDeadline, tid)) return 20;
      syscall(SYS_tgkill, getpid(), tid.load(), SIGUSR1);
      while (usr1.count() != i + 1) std::this_thread::yield();
    }
    if (!WaitUntilBlockedIn(getpid(), SYS_read, kDefaultBlockDeadline, tid)) return 21;
    if (syscall(SYS_write, wfd, "ab", 2) != 2) return 22;  // raw: the rule is on read only anyway
    reader.join();
    char c;
    ssize_t second = read(rfd, &c, 1);
    // The read restarted three times is call 1; the next read is call 2 and fails.
    return first == 1 && second == -1 && errno == EIO ? 0 : 23;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  ASSERT_EQ(run.log.size(), 1u);
  EXPECT_EQ(run.log[0].index, 2u);
}

// Whether thread `tid` of this process sleeps inside system call `nr` itself, not in seccomp's wait for
// the supervisor's answer (/proc/.../wchan names the kernel function it sleeps in; "0" while it runs).
bool SleepsInCall(pid_t tid, long nr) {
  auto slurp = [&](const char* what) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/" + what);
    std::string s;
    std::getline(f, s);
    return s;
  };
  std::string stat = slurp("stat"), wchan = slurp("wchan");
  size_t paren = stat.rfind(')');
  return atol(slurp("syscall").c_str()) == nr && paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] == 'S' && !wchan.empty() && wchan != "0" &&
         wchan.find("seccomp") == std::string::npos;
}

IPC_TEST(FaultRun, RawCallRestartedAfterTheSupervisorLetItThroughIsCountedOnce,
         "fault.restart-counted-once") {
  // A raw read(2) bypasses the agent: the supervisor decides it (user notification). Each signal
  // arrives once the supervisor has let the read through and the read sleeps: the kernel restarts
  // the call and the filter sends it to the supervisor again, which must recognise it.
  ASSERT_OK_AND_ASSIGN(Pipe p, Pipe::Create());
  int rfd = p.read.get(), wfd = p.write.get();
  fault::FaultRun run = fault::RunInChild(MakePlan({"read[fd=" + std::to_string(rfd) + "]=EIO@2"}), [&] {
    SignalCounter usr1(SIGUSR1, SA_RESTART);
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    long first = -2;
    std::thread reader([&] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      char c;
      first = syscall(SYS_read, rfd, &c, 1);
      done = true;
    });
    while (tid == 0) std::this_thread::yield();
    auto wait = [&](auto cond) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!cond() && !done && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      return cond();
    };
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; ++i) {
      if (!wait([&] { return SleepsInCall(tid, SYS_read); }))
        rc = 20;  // (or the read returned early: counted twice, it failed with the fault)
      else if (syscall(SYS_tgkill, getpid(), tid.load(), SIGUSR1) != 0 ||
               !wait([&] { return usr1.count() == i + 1; }))
        rc = 21;
    }
    if (rc == 0 && !wait([&] { return SleepsInCall(tid, SYS_read); })) rc = 22;
    // Two bytes: the first read (if still waiting) and the second one never block.
    if (syscall(SYS_write, wfd, "ab", 2) != 2 && rc == 0) rc = 23;
    reader.join();
    char c;
    long second = syscall(SYS_read, rfd, &c, 1);
    if (rc != 0) return rc;
    return first == 1 && second == -1 && errno == EIO ? 0 : 24;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  ASSERT_EQ(run.log.size(), 1u);
  EXPECT_EQ(run.log[0].index, 2u);
  EXPECT_EQ(run.supervisor_restarts, 3u);  // each signal made the kernel re-send the read
}

IPC_TEST(FaultRun, SemopRuleDoesNotSeeTimedCalls, "fault.names") {
  fault::FaultRun run = fault::RunInChild(MakePlan({"semop=EIDRM@1+", "semtimedop=EAGAIN@2"}), [] {
    int id = semget(IPC_PRIVATE, 1, 0600);
    sembuf up{0, 1, 0}, down{0, -1, 0};
    timespec ts{5, 0};
    int r = 0;
    if (semtimedop(id, &up, 1, &ts) != 0) r |= 1;                        // timed 1
    if (semop(id, &down, 1) != -1 || errno != EIDRM) r |= 2;             // untimed 1
    if (semtimedop(id, &down, 1, &ts) != -1 || errno != EAGAIN) r |= 4;  // timed 2
    if (semtimedop(id, &down, 1, &ts) != 0) r |= 8;                      // timed 3
    semctl(id, 0, IPC_RMID);
    return r;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 2u);
}

IPC_TEST(FaultRun, SocketCallsAreNamedAsTheCallerWroteThem, "fault.names-sockets") {
  fault::FaultRun run = fault::RunInChild(
      MakePlan(
          {"socketpair=EMFILE@1", "send=EINTR@1", "sendto=ENOBUFS@1", "recv=EAGAIN@2", "sendmsg=EPIPE@1"}),
      [] {
        int sv[2];
        int r = 0;
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != -1 || errno != EMFILE) r |= 1;  // socketpair 1
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) return r | 2;                // socketpair 2
        if (send(sv[0], "a", 1, 0) != -1 || errno != EINTR) r |= 4;                   // send 1
        if (send(sv[0], "a", 1, 0) != 1 || send(sv[0], "b", 1, 0) != 1) r |= 8;       // send 2, 3
        char c = 0;
        if (recv(sv[1], &c, 1, 0) != 1 || c != 'a') r |= 16;                        // recv 1
        if (recv(sv[1], &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) r |= 32;     // recv 2 (data queued)
        if (recvfrom(sv[1], &c, 1, 0, nullptr, nullptr) != 1 || c != 'b') r |= 64;  // counts as recv 3
        // sendto with an address: its own rule.
        int srv = socket(AF_UNIX, SOCK_DGRAM, 0), cli = socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        int n =
            snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ipcsuite-fault-%d", static_cast<int>(getpid()));
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
        if (bind(srv, reinterpret_cast<sockaddr*>(&a), len) != 0) return r | 128;
        if (sendto(cli, "c", 1, 0, reinterpret_cast<sockaddr*>(&a), len) != -1 || errno != ENOBUFS) r |= 256;
        if (sendto(cli, "c", 1, 0, reinterpret_cast<sockaddr*>(&a), len) != 1) r |= 512;
        iovec iov{const_cast<char*>("d"), 1};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        if (sendmsg(sv[0], &m, 0) != -1 || errno != EPIPE) r |= 1024;
        if (sendmsg(sv[0], &m, 0) != 1) r |= 2048;
        return r;
      });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 5u);
  EXPECT_GE(run.agent_calls, 5u) << "the socket calls take the in-process fast path";
}

IPC_TEST(FaultRun, MessageQueueCallsAreNamedAsTheCallerWroteThem, "fault.names-mq") {
  std::string name = "/ipcsuite-fault-" + std::to_string(getpid());
  fault::FaultRun run = fault::RunInChild(
      MakePlan({"mq_send=EAGAIN@1", "mq_timedreceive=ETIMEDOUT@1", "mq_getattr=EBADF@1"}), [name] {
        mq_attr attr{};
        attr.mq_maxmsg = 4;
        attr.mq_msgsize = 8;
        mqd_t q = mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
        if (q == static_cast<mqd_t>(-1)) return 100 + errno;
        mq_unlink(name.c_str());
        int r = 0;
        timespec far{};
        clock_gettime(CLOCK_REALTIME, &far);
        far.tv_sec += 30;
        if (mq_send(q, "a", 1, 1) != -1 || errno != EAGAIN) r |= 1;  // mq_send 1
        if (mq_timedsend(q, "a", 1, 1, &far) != 0) r |= 2;           // not mq_send
        if (mq_send(q, "b", 1, 1) != 0) r |= 4;                      // mq_send 2
        char buf[8];
        if (mq_timedreceive(q, buf, 8, nullptr, &far) != -1 || errno != ETIMEDOUT)
          r |= 8;                                                           // queued, injected
        if (mq_receive(q, buf, 8, nullptr) != 1 || buf[0] != 'a') r |= 16;  // not timed
        mq_attr got{};
        if (mq_getattr(q, &got) != -1 || errno != EBADF) r |= 32;
        if (mq_setattr(q, &attr, &got) != 0 || mq_getattr(q, &got) != 0 || got.mq_curmsgs != 1) r |= 64;
        mq_close(q);
        return r;
      });
  mq_unlink(name.c_str());
  if (run.status.Exited(100 + ENOSYS)) GTEST_SKIP() << "POSIX message queues are not available (ENOSYS)";
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 3u);
}

IPC_TEST(FaultRun, SignalCallsAreNamedAsTheCallerWroteThem, "fault.names-signals") {
  fault::FaultRun run = fault::RunInChild(MakePlan({"sigqueue=EAGAIN@1", "sigtimedwait=EINTR@1"}), [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return 1;
    int r = 0;
    sigval v{};
    if (sigqueue(getpid(), SIGUSR1, v) != -1 || errno != EAGAIN) r |= 2;  // sigqueue 1
    if (sigqueue(getpid(), SIGUSR1, v) != 0) r |= 4;                      // sigqueue 2
    siginfo_t si{};
    if (sigwaitinfo(&set, &si) != SIGUSR1 || si.si_code != SI_QUEUE) r |= 8;  // untimed: not counted
    if (sigqueue(getpid(), SIGUSR1, v) != 0) r |= 16;
    timespec ts{30, 0};
    if (sigtimedwait(&set, &si, &ts) != -1 || errno != EINTR) r |= 32;  // pending, injected
    if (sigtimedwait(&set, &si, &ts) != SIGUSR1) r |= 64;
    return r;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 2u);
}

IPC_TEST(FaultRun, SemTimedwaitRuleCatchesItsFutexWait, "fault.names-posix-sem") {
  fault::FaultRun run = fault::RunInChild(MakePlan({"sem_timedwait=ETIMEDOUT@1"}), [] {
    void* mem = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 1;
    sem_t* s = static_cast<sem_t*>(mem);
    if (sem_init(s, 1, 0) != 0) return 2;
    timespec far{};
    clock_gettime(CLOCK_REALTIME, &far);
    far.tv_sec += 30;
    int r = 0;
    // The semaphore is 0, so glibc waits in futex(2): the injected ETIMEDOUT returns at once.
    if (sem_timedwait(s, &far) != -1 || errno != ETIMEDOUT) r |= 4;
    if (sem_post(s) != 0 || sem_timedwait(s, &far) != 0) r |= 8;  // value 1: no futex wait
    return r;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 1u);
}

IPC_TEST(FaultRun, ProbabilityDependsOnlyOnTheSeed, "fault.probability") {
  auto body = [] {
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0; i < 200; ++i) (void)!write(fd, "x", 1);
    return 0;
  };
  auto indices = [](const fault::FaultRun& run) {
    std::vector<uint64_t> v;
    for (const auto& e : run.log) v.push_back(e.index);
    return v;
  };
  fault::FaultRun a = fault::RunInChild(MakePlan({"write=EIO%0.2"}, 77), body);
  fault::FaultRun b = fault::RunInChild(MakePlan({"write=EIO%0.2"}, 77), body);
  fault::FaultRun c = fault::RunInChild(MakePlan({"write=EIO%0.2"}, 78), body);
  EXPECT_EQ(indices(a), indices(b));
  EXPECT_NE(indices(a), indices(c));
  EXPECT_GT(a.log.size(), 15u);
  EXPECT_LT(a.log.size(), 70u);
}

IPC_TEST(FaultRun, ThreadsAndChildrenShareTheTreeCount, "fault.tree") {
  fault::FaultRun run = fault::RunInChild(MakePlan({"write=EIO@1+10"}), [] {
    int fd = open("/dev/null", O_WRONLY);
    std::atomic<int> failed{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&] {
        for (int i = 0; i < 250; ++i)
          if (write(fd, "x", 1) != 1) ++failed;
      });
    for (auto& t : ts) t.join();
    pid_t pid = fork();
    if (pid == 0) {
      int f = 0;
      for (int i = 0; i < 100; ++i)
        if (write(fd, "x", 1) != 1) ++f;
      _exit(f);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return failed.load() + WEXITSTATUS(st) == 110 ? 0 : 1;
  });
  EXPECT_TRUE(run.status.Exited(0)) << run.status.Describe();
  EXPECT_EQ(run.log.size(), 110u);
}

}  // namespace
}  // namespace ipc
