// Running a program or a function under a plan: the launcher and the supervisor.
//
// The launcher forks. Only the child installs the filter (so the caller — the runner, the supervisor,
// the report writer — is never filtered), after PR_SET_PDEATHSIG(SIGKILL) so that it dies with the
// supervisor, and then execs the program (from the trampoline, so that rules on execve do not see
// the launch) or runs the function. The parent supervises: it answers user notifications for calls no
// agent decided, reaps the child (and, as a subreaper, orphaned descendants), and returns when the
// child has exited and no process of the tree is left in the filter.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
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
  unsigned flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW | (listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
  long fd = tramp(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, reinterpret_cast<long>(&fprog), 0, 0, 0);
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

void Answer(int listener, State* state, const seccomp_notif& req, seccomp_notif_resp* resp) {
  memset(resp, 0, sizeof *resp);
  resp->id = req.id;
  uint64_t args[6];
  for (int i = 0; i < 6; ++i) args[i] = req.data.args[i];
  __atomic_add_fetch(&state->supervisor_calls, 1, __ATOMIC_RELAXED);
  int tid = static_cast<int>(req.pid);
  int err = Decide(*state, req.data.nr, args, [&](int* pid, int* t) {
    *pid = Tgid(tid);
    *t = tid;
  });
  if (err != 0) {
    resp->error = -err;
  } else {
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  }
  // ENOENT: the target was killed or its call interrupted meanwhile; nothing to answer.
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

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
        Answer(lfd, state, *req, reinterpret_cast<seccomp_notif_resp*>(resp_buf.data()));
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
  out->log_text = FormatLog(plan, *state);
  return true;
}

}  // namespace ipc::fault
