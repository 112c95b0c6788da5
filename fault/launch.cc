// Running a program or a function under a plan: the launcher and the supervisor.
//
// The launcher forks. Only the child installs the filter (so the caller — the runner, the supervisor,
// the report writer — is never filtered), after PR_SET_PDEATHSIG(SIGKILL) so that it dies with the
// supervisor, and then execs the program (from the trampoline, so that rules on execve do not see
// the launch) or runs the function. The parent supervises: it answers user notifications for calls no
// agent decided, reaps the child (and, as a subreaper, orphaned descendants), and returns when the
// child has exited and no process of the tree is left in the filter.
//
// Restarts on the user-notification path. A call the supervisor lets through (CONTINUE) and that a
// signal then interrupts (-ERESTARTSYS) is restarted by the kernel: after an SA_RESTART handler (or
// with no handler at all) the thread re-executes the same syscall instruction with the same registers,
// and the filter sends the same call again under a new notification id. Counted twice, that breaks
// @N. The supervisor recognises it this way:
//  - the filter is installed with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: once the supervisor has
//    received a notification, only a fatal signal can interrupt the wait for its answer, so every
//    decision made is the one the call gets (before, a signal could cancel a call whose fault was
//    already counted and logged). A notification cancelled before it was received was never counted:
//    its re-sent call is simply counted then;
//  - rt_sigreturn is sent to the supervisor too (filter.cc). At that point the signal frame on the
//    thread's stack holds the registers the thread resumes with. The kernel's restart shows there as
//    rip = a syscall instruction, rax = the call's number and rcx = rip + 2 (the return address the
//    syscall instruction put in rcx before the kernel rewound rip). If that call (number, six
//    arguments, address) is the thread's last call the supervisor let through, and no notification
//    of the tree was cancelled in between (a cancelled one could be a new, identical call of the
//    same thread that never reached the supervisor), the next notification of the thread with the
//    same call is that restart: it is let through again and not counted.
// Not covered: a restart with no handler in between (SIGSTOP/SIGCONT, the freezer) leaves no frame to
// read and is counted again on this path; so is a restart when another notification of the tree was
// cancelled by a signal in the same window. The agent's path has neither limit (the restart resumes at
// the trampoline, which the filter lets through).
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "fault/filter.h"
#include "ipcsuite/fault.h"

extern "C" int ipcsuite_fault_agent_activate(ipc::fault::State* s) __attribute__((weak));

namespace ipc::fault {
namespace {

int RecvFd(int sock) {
  char dummy;
  iovec iov{&dummy, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

int Tgid(int tid) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Tgid:", 0) == 0) return atoi(line.c_str() + 5);
  return tid;
}

// Child side, after fork: never returns.
[[noreturn]] void ChildMain(const LaunchOptions& o, State* state, const std::vector<sock_filter>& prog,
                            bool listener, int sock, pid_t parent, const std::string& state_path,
                            const sigset_t& mask) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  sigprocmask(SIG_SETMASK, &mask, nullptr);  // the launcher blocked SIGCHLD for itself only
  TrampolineFn tramp = MapTrampoline();
  if (tramp == nullptr) {
    dprintf(2, "ipcsuite inject: cannot map the trampoline page at %#llx\n",
            static_cast<unsigned long long>(kTrampolineAddr));
    _exit(127);
  }
  std::vector<std::string> env_store;
  std::vector<char*> envp;
  if (!o.path.empty()) {
    // Build the environment before the filter: nothing after it may allocate much.
    std::string preload = o.agent;
    for (char** e = environ; *e; ++e) {
      if (strncmp(*e, "LD_PRELOAD=", 11) == 0) {
        if (!o.agent.empty() && (*e)[11])
          preload = o.agent + ":" + (*e + 11);
        else if (o.agent.empty())
          env_store.push_back(*e);
        continue;
      }
      if (strncmp(*e, "IPCSUITE_FAULT_STATE=", 21) == 0) continue;
      env_store.push_back(*e);
    }
    if (!o.agent.empty()) {
      env_store.push_back("LD_PRELOAD=" + preload);
      env_store.push_back("IPCSUITE_FAULT_STATE=" + state_path);
    }
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(127);
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), const_cast<sock_filter*>(prog.data())};
  // SPEC_ALLOW: a filter must not change the speculation mitigations of the program (SSBD would
  // double the cost of some calls and is not what is being tested).
  // WAIT_KILLABLE_RECV (listener only): see "Restarts" above. Kernels before 5.19 reject it (EINVAL):
  // then a call interrupted while its answer is being decided may be counted without effect.
  unsigned flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                   (listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0);
  long fd = tramp(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, reinterpret_cast<long>(&fprog), 0, 0, 0);
  if (fd == -EINVAL && listener) {
    flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    fd = tramp(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, reinterpret_cast<long>(&fprog), 0, 0, 0);
  }
  if (fd < 0) {
    dprintf(2, "ipcsuite inject: seccomp: %s\n", strerror(static_cast<int>(-fd)));
    _exit(127);
  }
  if (listener) {
    // The filter may fault sendmsg/close if a rule names them: go through the trampoline.
    char dummy = 'x';
    iovec iov{&dummy, 1};
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int ifd = static_cast<int>(fd);
    memcpy(CMSG_DATA(c), &ifd, sizeof(int));
    if (tramp(SYS_sendmsg, sock, reinterpret_cast<long>(&msg), MSG_NOSIGNAL, 0, 0, 0) != 1) _exit(127);
    tramp(SYS_close, fd, 0, 0, 0, 0, 0);
  }
  tramp(SYS_close, sock, 0, 0, 0, 0, 0);
  if (!o.path.empty()) {
    long r = tramp(SYS_execve, reinterpret_cast<long>(o.path.c_str()), reinterpret_cast<long>(argv.data()),
                   reinterpret_cast<long>(envp.data()), 0, 0, 0);
    dprintf(2, "ipcsuite inject: cannot execute %s: %s\n", o.path.c_str(), strerror(static_cast<int>(-r)));
    _exit(127);
  }
  if (ipcsuite_fault_agent_activate) ipcsuite_fault_agent_activate(state);
  int rc = o.body ? o.body() : 0;
  _exit(rc);
}

// One system call as the filter sees it: what a restart repeats exactly.
struct Call {
  int nr = -1;
  std::array<uint64_t, 6> args{};
  uint64_t ip = 0;  // the address after the syscall instruction
  bool operator==(const Call& o) const { return nr == o.nr && args == o.args && ip == o.ip; }
};

Call CallOf(const seccomp_notif& req) {
  Call c;
  c.nr = req.data.nr;
  for (int i = 0; i < 6; ++i) c.args[i] = req.data.args[i];
  c.ip = req.data.instruction_pointer;
  return c;
}

// The call that thread `tid`, stopped at rt_sigreturn, resumes into if the kernel restarts it; false
// when the frame resumes anywhere else (or cannot be read).
bool RestartInFrame(int tid, Call* out) {
  // The thread sleeps in seccomp's wait, so /proc/<tid>/syscall has its registers:
  // "15 a0 a1 a2 a3 a4 a5 sp pc". At rt_sigreturn, sp points at the ucontext of the frame.
  char buf[256];
  int fd = open(("/proc/" + std::to_string(tid) + "/syscall").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  long nr;
  unsigned long long a[6], sp, pc;
  if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4],
             &a[5], &sp, &pc) != 9 ||
      nr != SYS_rt_sigreturn)
    return false;
  greg_t g[NGREG];
  iovec local{g, sizeof g};
  iovec remote{reinterpret_cast<void*>(sp + offsetof(ucontext_t, uc_mcontext.gregs)), sizeof g};
  if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof g)) return false;
  const uint64_t rip = static_cast<uint64_t>(g[REG_RIP]);
  if (static_cast<uint64_t>(g[REG_RCX]) != rip + 2) return false;
  unsigned char insn[2];
  iovec l2{insn, 2}, r2{reinterpret_cast<void*>(rip), 2};
  if (process_vm_readv(tid, &l2, 1, &r2, 1, 0) != 2 || insn[0] != 0x0f || insn[1] != 0x05) return false;
  out->nr = static_cast<int>(g[REG_RAX]);
  const int regs[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};
  for (int i = 0; i < 6; ++i) out->args[i] = static_cast<uint64_t>(g[regs[i]]);
  out->ip = rip + 2;
  return true;
}

// See "Restarts" at the top of this file.
class Supervisor {
 public:
  Supervisor(int listener, State* state) : lfd_(listener), state_(state) {}

  void Answer(const seccomp_notif& req, seccomp_notif_resp* resp) {
    memset(resp, 0, sizeof *resp);
    resp->id = req.id;
    const int tid = static_cast<int>(req.pid);
    // Notification ids are consecutive per filter and received in order: a hole is a notification
    // cancelled (by a signal, or its thread's death) before the supervisor received it.
    if (have_last_id_ && req.id > last_id_ + 1) cancelled_ += req.id - last_id_ - 1;
    have_last_id_ = true;
    last_id_ = req.id;
    Thread& t = threads_[tid];
    const Call call = CallOf(req);
    if (req.data.arch == AUDIT_ARCH_X86_64 && call.nr == SYS_rt_sigreturn) NoteSigreturn(tid, &t);
    int err = 0;
    if (t.restart_pending && t.restart == call) {
      // The kernel's restart of a call already counted (and let through): the same answer again.
      t.restart_pending = false;
      ++restarts_;
    } else {
      // (rt_sigreturn is only here for the frame, unless a rule names it: not a decided call)
      if (call.nr != SYS_rt_sigreturn) __atomic_add_fetch(&state_->supervisor_calls, 1, __ATOMIC_RELAXED);
      err = Decide(*state_, call.nr, call.args.data(), [&](int* pid, int* t_id) {
        *pid = Tgid(tid);
        *t_id = tid;
      });
    }
    if (err != 0) {
      resp->error = -err;
    } else {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      if (call.nr != SYS_rt_sigreturn) {
        t.continued.push_back({call, cancelled_});
        if (t.continued.size() > kKeep) t.continued.pop_front();
      }
    }
    // ENOENT: the target was killed meanwhile (with WAIT_KILLABLE_RECV nothing else cancels a
    // received notification); nothing to answer.
    ioctl(lfd_, SECCOMP_IOCTL_NOTIF_SEND, resp);
    if (threads_.size() > prune_at_) Prune();
  }

  uint64_t restarts() const { return restarts_; }

 private:
  static constexpr size_t kKeep = 8;  // calls remembered per thread (a handler's own calls come after)

  struct Continued {
    Call call;
    uint64_t cancelled_after;  // cancelled_ when it was let through
  };
  struct Thread {
    std::deque<Continued> continued;  // the thread's last calls let through, oldest first
    bool restart_pending = false;
    Call restart;
  };

  void NoteSigreturn(int tid, Thread* t) {
    Call next;
    if (!RestartInFrame(tid, &next)) return;
    // The frame was read from a thread that may have died meanwhile (its tid reused): only trust it if
    // this notification is still pending.
    if (ioctl(lfd_, SECCOMP_IOCTL_NOTIF_ID_VALID, &last_id_) != 0) return;
    // An earlier restart of the same call may itself have been cancelled by this signal before the
    // supervisor received it: the call is still the one counted.
    if (t->restart_pending && t->restart == next) return;
    for (auto it = t->continued.rbegin(); it != t->continued.rend(); ++it) {
      if (!(it->call == next)) continue;
      if (it->cancelled_after == cancelled_) {
        t->restart_pending = true;
        t->restart = next;
      }
      return;
    }
  }

  // Drops the threads that have exited; the next pass comes when the live ones have doubled, so that
  // a tree with thousands of live threads does not pay for it on every call.
  void Prune() {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (access(("/proc/" + std::to_string(it->first)).c_str(), F_OK) != 0)
        it = threads_.erase(it);
      else
        ++it;
    }
    prune_at_ = std::max<size_t>(4096, 2 * threads_.size());
  }

  int lfd_;
  State* state_;
  bool have_last_id_ = false;
  uint64_t last_id_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t restarts_ = 0;
  size_t prune_at_ = 4096;  // threads remembered before the exited ones are dropped
  std::unordered_map<int, Thread> threads_;
};

}  // namespace

bool Run(const Plan& plan, const LaunchOptions& o, Outcome* out, std::string* error) {
  *out = Outcome{};
  int memfd = static_cast<int>(syscall(SYS_memfd_create, "ipcsuite-fault-state", MFD_CLOEXEC));
  if (memfd < 0 || ftruncate(memfd, sizeof(State)) != 0) {
    *error = std::string("memfd: ") + strerror(errno);
    return false;
  }
  auto* state =
      static_cast<State*>(mmap(nullptr, sizeof(State), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0));
  if (state == MAP_FAILED) {
    *error = std::string("mmap: ") + strerror(errno);
    close(memfd);
    return false;
  }
  struct Cleanup {
    State* s;
    int fd;
    ~Cleanup() {
      munmap(s, sizeof(State));
      close(fd);
    }
  } cleanup{state, memfd};
  if (!Compile(plan, state, error)) return false;
  state->supervisor_pid = getpid();
  std::vector<sock_filter> prog = BuildFilter(*state);
  bool listener = NeedsDecisions(*state);
  std::string state_path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(memfd);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    *error = std::string("socketpair: ") + strerror(errno);
    return false;
  }
  if (o.subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1);
  // SIGCHLD through a signalfd, so that the supervisor never misses a reap and never sleeps.
  sigset_t chld, old_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &old_mask);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    close(sv[0]);
    close(sv[1]);
    close(sfd);
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return false;
  }
  if (pid == 0) {
    close(sv[0]);
    // memfd must survive exec for the agent's /proc/<supervisor>/fd/N path: it is the parent's fd, so
    // nothing to do here.
    ChildMain(o, state, prog, listener, sv[1], parent, state_path, old_mask);
  }
  close(sv[1]);
  if (o.on_start) o.on_start(pid);
  int lfd = -1;
  if (listener) lfd = RecvFd(sv[0]);
  close(sv[0]);

  std::vector<char> req_buf, resp_buf;
  seccomp_notif_sizes sizes{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    sizes.seccomp_notif = sizeof(seccomp_notif);
    sizes.seccomp_notif_resp = sizeof(seccomp_notif_resp);
  }
  req_buf.resize(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
  resp_buf.resize(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));

  Supervisor supervisor(lfd, state);
  bool reaped = false;
  auto started = std::chrono::steady_clock::now();
  auto reap = [&] {
    for (;;) {
      int st;
      // As a subreaper, orphaned descendants are ours to reap; otherwise only our child.
      pid_t w = waitpid(o.subreaper ? -1 : pid, &st, WNOHANG | __WALL);
      if (w <= 0) break;
      if (w == pid) {
        out->wait_status = st;
        reaped = true;
      }
    }
  };
  for (;;) {
    reap();
    if (reaped && lfd < 0) break;
    pollfd pf[2] = {{sfd, POLLIN, 0}, {lfd, POLLIN, 0}};
    int timeout = -1;
    if (o.deadline_ms > 0) {
      auto left = o.deadline_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started)
                                      .count();
      if (left <= 0) {
        out->timed_out = true;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (!reaped) {
          waitpid(pid, &out->wait_status, __WALL);
          reaped = true;
        }
        if (lfd >= 0) close(lfd);
        lfd = -1;
        break;
      }
      timeout = static_cast<int>(left);
    }
    int n = poll(pf, lfd >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) break;
    if (pf[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
    }
    if (lfd >= 0 && (pf[1].revents & POLLIN)) {
      auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
      memset(req, 0, req_buf.size());
      if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
        supervisor.Answer(*req, reinterpret_cast<seccomp_notif_resp*>(resp_buf.data()));
    } else if (lfd >= 0 && (pf[1].revents & (POLLHUP | POLLERR))) {
      // Every process of the tree has left the filter.
      close(lfd);
      lfd = -1;
    }
  }
  if (!reaped) {
    waitpid(pid, &out->wait_status, __WALL);
  }
  close(sfd);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (o.subreaper) prctl(PR_SET_CHILD_SUBREAPER, 0);
  out->log = ReadLog(*state);
  uint64_t total = __atomic_load_n(&state->log_next, __ATOMIC_ACQUIRE);
  out->dropped = total > out->log.size() ? total - out->log.size() : 0;
  out->agent_calls = state->agent_calls;
  out->supervisor_calls = state->supervisor_calls;
  out->supervisor_restarts = supervisor.restarts();
  out->log_text = FormatLog(plan, *state);
  return true;
}

}  // namespace ipc::fault
