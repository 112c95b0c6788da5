// The in-process agent: the fast path of counted and probabilistic rules.
//
// It interposes the C library wrappers of the system calls that IPC code makes (read, write, semop,
// semtimedop, pipe, pipe2, open, openat, close, msgsnd, msgrcv, kill; the socket calls socket, socketpair,
// bind, connect, listen, accept, accept4, send, sendto, sendmsg, recv, recvfrom, recvmsg, shutdown; the
// POSIX message queue calls mq_send, mq_timedsend, mq_receive, mq_timedreceive). For a system call that has a
// counted rule, the wrapper decides in-process (Decide() on the shared state: an atomic increment, no
// context switch) and either returns the injected error or issues the call from the trampoline page,
// which the seccomp filter lets through. Calls that bypass these wrappers (libc-internal calls, raw
// syscall(2), the dynamic loader, static programs) still reach the filter and are decided by the
// supervisor through user notification: same counters, same log.
//
// Restarts: a call issued from the trampoline that a signal interrupts is restarted by the kernel at the
// trampoline's syscall instruction (ERESTARTSYS rewinds the instruction pointer there), which the
// filter allows without a decision, so the restarted call is not counted again.
//
// Built two ways: as libipcsuite_fault_agent.so (LD_PRELOAD; a constructor finds the state through
// $IPCSUITE_FAULT_STATE), and linked into programs that use the C++ API (RunInChild activates it).
// No C++ runtime: plain functions, __atomic builtins.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fault/filter.h"
#include "ipcsuite/fault_state.h"

namespace ipc::fault {
namespace {

State* g_state = nullptr;
TrampolineFn g_tramp = nullptr;
constexpr int kMaxNr = 512;
bool g_decided[kMaxNr];

inline bool Active(int nr) { return __atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != nullptr && g_decided[nr]; }

struct Ids {
  void operator()(int* pid, int* tid) const {
    *pid = static_cast<int>(g_tramp(SYS_getpid, 0, 0, 0, 0, 0, 0));
    *tid = static_cast<int>(g_tramp(SYS_gettid, 0, 0, 0, 0, 0, 0));
  }
};

// Decides and issues system call `nr`; returns what the C library wrapper returns (-1 + errno).
long Issue(int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
  const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
  __atomic_add_fetch(&g_state->agent_calls, 1, __ATOMIC_RELAXED);
  int err = Decide(*g_state, nr, args, Ids{});
  if (err != 0) {
    errno = err;
    return -1;
  }
  long r = g_tramp(nr, static_cast<long>(a0), static_cast<long>(a1), static_cast<long>(a2),
                   static_cast<long>(a3), static_cast<long>(a4), static_cast<long>(a5));
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

void* Next(const char* name, void** cache) {
  void* p = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (p == nullptr) {
    p = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, p, __ATOMIC_RELEASE);
  }
  return p;
}

// The system call itself, where no next definition exists: in a statically linked program (the suite's
// static build, run in a qemu guest) the agent is linked in and dlsym(RTLD_NEXT) finds nothing. syscall(3)
// sets errno like the wrapper would. The wrappers' own extras (cancellation points) are not kept.
long Raw(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
  return syscall(nr, a0, a1, a2, a3, a4, a5);
}

#define IPC_REAL(type, name)           \
  static void* cache_##name = nullptr; \
  auto real_##name = reinterpret_cast<type>(Next(#name, &cache_##name))

void AfterFork() {
  // Children die with their parent, as the program itself dies with the supervisor.
  if (g_tramp) g_tramp(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
}

}  // namespace

// Used by the launcher in function mode (the state is already mapped, the filter installed).
extern "C" __attribute__((visibility("default"))) int ipcsuite_fault_agent_activate(State* s) {
  g_tramp = MapTrampoline();
  if (g_tramp == nullptr || s == nullptr || s->magic != kStateMagic) return -1;
  for (int i = 0; i < kMaxNr; ++i) g_decided[i] = false;
  for (int r = 0; r < s->nrules; ++r)
    for (int c = 0; c < s->rules[r].nclauses; ++c) {
      int nr = s->rules[r].clauses[c].nr;
      if (nr >= 0 && nr < kMaxNr && s->rules[r].when != When::kAlways) g_decided[nr] = true;
    }
  // A system call with an unconditional rule next to a counted one is decided here too (the filter
  // sends every call of such a system call to a decider).
  for (int r = 0; r < s->nrules; ++r)
    for (int c = 0; c < s->rules[r].nclauses; ++c) {
      const Clause& cl = s->rules[r].clauses[c];
      for (int j = 0; j < cl.ncond; ++j)
        if (cl.conds[j].op != CondOp::kEq && cl.conds[j].op != CondOp::kNe && cl.nr < kMaxNr)
          g_decided[cl.nr] = true;
    }
  static bool atfork_done = false;
  if (!atfork_done) {
    atfork_done = true;
    pthread_atfork(nullptr, nullptr, AfterFork);
  }
  __atomic_store_n(&g_state, s, __ATOMIC_RELEASE);
  return 0;
}

#ifdef IPCSUITE_FAULT_AGENT_SO
namespace {
__attribute__((constructor)) void AgentInit() {
  const char* path = getenv("IPCSUITE_FAULT_STATE");
  if (path == nullptr || *path == '\0') return;
  TrampolineFn t = MapTrampoline();
  if (t == nullptr) return;  // address taken: every call goes to the supervisor (still exact)
  long fd = t(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDWR | O_CLOEXEC, 0, 0, 0);
  if (fd < 0) return;
  long p = t(SYS_mmap, 0, sizeof(State), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  t(SYS_close, fd, 0, 0, 0, 0, 0);
  if (p < 0 && p > -4096) return;
  ipcsuite_fault_agent_activate(reinterpret_cast<State*>(p));
}
}  // namespace
#endif

}  // namespace ipc::fault

using ipc::fault::Active;
using ipc::fault::Issue;
using ipc::fault::Next;
using ipc::fault::Raw;

#define U(x) static_cast<uint64_t>(x)
#define P(x) reinterpret_cast<uint64_t>(x)

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  if (Active(SYS_read)) return Issue(SYS_read, U(fd), P(buf), U(n));
  IPC_REAL(ssize_t(*)(int, void*, size_t), read);
  return real_read ? real_read(fd, buf, n) : Raw(SYS_read, U(fd), P(buf), U(n));
}

ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (Active(SYS_read) && n <= buflen) return Issue(SYS_read, U(fd), P(buf), U(n));
  IPC_REAL(ssize_t(*)(int, void*, size_t, size_t), __read_chk);
  if (real___read_chk) return real___read_chk(fd, buf, n, buflen);
  if (n > buflen) abort();  // what _FORTIFY_SOURCE's check does
  return Raw(SYS_read, U(fd), P(buf), U(n));
}

ssize_t write(int fd, const void* buf, size_t n) {
  if (Active(SYS_write)) return Issue(SYS_write, U(fd), P(buf), U(n));
  IPC_REAL(ssize_t(*)(int, const void*, size_t), write);
  return real_write ? real_write(fd, buf, n) : Raw(SYS_write, U(fd), P(buf), U(n));
}

int close(int fd) {
  if (Active(SYS_close)) return static_cast<int>(Issue(SYS_close, U(fd), 0, 0));
  IPC_REAL(int (*)(int), close);
  return real_close ? real_close(fd) : static_cast<int>(Raw(SYS_close, U(fd), 0, 0));
}

int semop(int id, struct sembuf* sops, size_t n) {
  // glibc 2.36 issues semop() as semtimedop(id, sops, n, NULL); so do we.
  if (Active(SYS_semtimedop)) return static_cast<int>(Issue(SYS_semtimedop, U(id), P(sops), U(n), 0));
  IPC_REAL(int (*)(int, struct sembuf*, size_t), semop);
  return real_semop ? real_semop(id, sops, n)
                    : static_cast<int>(Raw(SYS_semtimedop, U(id), P(sops), U(n), 0));
}

int semtimedop(int id, struct sembuf* sops, size_t n, const struct timespec* ts) {
  if (Active(SYS_semtimedop)) return static_cast<int>(Issue(SYS_semtimedop, U(id), P(sops), U(n), P(ts)));
  IPC_REAL(int (*)(int, struct sembuf*, size_t, const struct timespec*), semtimedop);
  return real_semtimedop ? real_semtimedop(id, sops, n, ts)
                         : static_cast<int>(Raw(SYS_semtimedop, U(id), P(sops), U(n), P(ts)));
}

int pipe(int fds[2]) {
  if (Active(SYS_pipe2)) return static_cast<int>(Issue(SYS_pipe2, P(fds), 0, 0));
  IPC_REAL(int (*)(int*), pipe);
  return real_pipe ? real_pipe(fds) : static_cast<int>(Raw(SYS_pipe2, P(fds), 0, 0));
}

int pipe2(int fds[2], int flags) {
  if (Active(SYS_pipe2)) return static_cast<int>(Issue(SYS_pipe2, P(fds), U(flags), 0));
  IPC_REAL(int (*)(int*, int), pipe2);
  return real_pipe2 ? real_pipe2(fds, flags) : static_cast<int>(Raw(SYS_pipe2, P(fds), U(flags), 0));
}

static mode_t ModeArg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? static_cast<mode_t>(va_arg(ap, int)) : 0;
}

#define IPC_OPEN(fn)                                                                                     \
  int fn(const char* path, int flags, ...) {                                                             \
    va_list ap;                                                                                          \
    va_start(ap, flags);                                                                                 \
    mode_t mode = ModeArg(flags, ap);                                                                    \
    va_end(ap);                                                                                          \
    if (Active(SYS_openat))                                                                              \
      return static_cast<int>(Issue(SYS_openat, U(AT_FDCWD), P(path), U(flags | O_LARGEFILE), U(mode))); \
    IPC_REAL(int (*)(const char*, int, ...), fn);                                                        \
    if (real_##fn == nullptr)                                                                            \
      return static_cast<int>(Raw(SYS_openat, U(AT_FDCWD), P(path), U(flags | O_LARGEFILE), U(mode)));   \
    return real_##fn(path, flags, mode);                                                                 \
  }
#define IPC_OPENAT(fn)                                                                                \
  int fn(int dirfd, const char* path, int flags, ...) {                                               \
    va_list ap;                                                                                       \
    va_start(ap, flags);                                                                              \
    mode_t mode = ModeArg(flags, ap);                                                                 \
    va_end(ap);                                                                                       \
    if (Active(SYS_openat))                                                                           \
      return static_cast<int>(Issue(SYS_openat, U(dirfd), P(path), U(flags | O_LARGEFILE), U(mode))); \
    IPC_REAL(int (*)(int, const char*, int, ...), fn);                                                \
    if (real_##fn == nullptr)                                                                         \
      return static_cast<int>(Raw(SYS_openat, U(dirfd), P(path), U(flags | O_LARGEFILE), U(mode)));   \
    return real_##fn(dirfd, path, flags, mode);                                                       \
  }
IPC_OPEN(open)
IPC_OPEN(open64)
IPC_OPENAT(openat)
IPC_OPENAT(openat64)

int __open_2(const char* path, int flags) { return open(path, flags); }
int __open64_2(const char* path, int flags) { return open(path, flags); }

int msgsnd(int id, const void* msgp, size_t sz, int flg) {
  if (Active(SYS_msgsnd)) return static_cast<int>(Issue(SYS_msgsnd, U(id), P(msgp), U(sz), U(flg)));
  IPC_REAL(int (*)(int, const void*, size_t, int), msgsnd);
  return real_msgsnd ? real_msgsnd(id, msgp, sz, flg)
                     : static_cast<int>(Raw(SYS_msgsnd, U(id), P(msgp), U(sz), U(flg)));
}

ssize_t msgrcv(int id, void* msgp, size_t sz, long typ, int flg) {
  if (Active(SYS_msgrcv)) return Issue(SYS_msgrcv, U(id), P(msgp), U(sz), U(typ), U(flg));
  IPC_REAL(ssize_t(*)(int, void*, size_t, long, int), msgrcv);
  return real_msgrcv ? real_msgrcv(id, msgp, sz, typ, flg)
                     : Raw(SYS_msgrcv, U(id), P(msgp), U(sz), U(typ), U(flg));
}

int kill(pid_t pid, int sig) {
  if (Active(SYS_kill)) return static_cast<int>(Issue(SYS_kill, U(pid), U(sig), 0));
  IPC_REAL(int (*)(pid_t, int), kill);
  return real_kill ? real_kill(pid, sig) : static_cast<int>(Raw(SYS_kill, U(pid), U(sig), 0));
}

// ---- UNIX sockets. glibc 2.36 on x86_64: send()/recv() are sendto()/recvfrom() with no address.

int socket(int domain, int type, int protocol) {
  if (Active(SYS_socket)) return static_cast<int>(Issue(SYS_socket, U(domain), U(type), U(protocol)));
  IPC_REAL(int (*)(int, int, int), socket);
  return real_socket ? real_socket(domain, type, protocol)
                     : static_cast<int>(Raw(SYS_socket, U(domain), U(type), U(protocol)));
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  if (Active(SYS_socketpair))
    return static_cast<int>(Issue(SYS_socketpair, U(domain), U(type), U(protocol), P(sv)));
  IPC_REAL(int (*)(int, int, int, int*), socketpair);
  return real_socketpair ? real_socketpair(domain, type, protocol, sv)
                         : static_cast<int>(Raw(SYS_socketpair, U(domain), U(type), U(protocol), P(sv)));
}

int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  if (Active(SYS_bind)) return static_cast<int>(Issue(SYS_bind, U(fd), P(addr), U(len)));
  IPC_REAL(int (*)(int, const struct sockaddr*, socklen_t), bind);
  return real_bind ? real_bind(fd, addr, len) : static_cast<int>(Raw(SYS_bind, U(fd), P(addr), U(len)));
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  if (Active(SYS_connect)) return static_cast<int>(Issue(SYS_connect, U(fd), P(addr), U(len)));
  IPC_REAL(int (*)(int, const struct sockaddr*, socklen_t), connect);
  return real_connect ? real_connect(fd, addr, len)
                      : static_cast<int>(Raw(SYS_connect, U(fd), P(addr), U(len)));
}

int listen(int fd, int backlog) {
  if (Active(SYS_listen)) return static_cast<int>(Issue(SYS_listen, U(fd), U(backlog), 0));
  IPC_REAL(int (*)(int, int), listen);
  return real_listen ? real_listen(fd, backlog) : static_cast<int>(Raw(SYS_listen, U(fd), U(backlog), 0));
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  if (Active(SYS_accept)) return static_cast<int>(Issue(SYS_accept, U(fd), P(addr), P(len)));
  IPC_REAL(int (*)(int, struct sockaddr*, socklen_t*), accept);
  return real_accept ? real_accept(fd, addr, len) : static_cast<int>(Raw(SYS_accept, U(fd), P(addr), P(len)));
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  if (Active(SYS_accept4)) return static_cast<int>(Issue(SYS_accept4, U(fd), P(addr), P(len), U(flags)));
  IPC_REAL(int (*)(int, struct sockaddr*, socklen_t*, int), accept4);
  return real_accept4 ? real_accept4(fd, addr, len, flags)
                      : static_cast<int>(Raw(SYS_accept4, U(fd), P(addr), P(len), U(flags)));
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr, socklen_t len) {
  if (Active(SYS_sendto)) return Issue(SYS_sendto, U(fd), P(buf), U(n), U(flags), P(addr), U(len));
  IPC_REAL(ssize_t(*)(int, const void*, size_t, int, const struct sockaddr*, socklen_t), sendto);
  return real_sendto ? real_sendto(fd, buf, n, flags, addr, len)
                     : Raw(SYS_sendto, U(fd), P(buf), U(n), U(flags), P(addr), U(len));
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (Active(SYS_sendto)) return Issue(SYS_sendto, U(fd), P(buf), U(n), U(flags), 0, 0);
  IPC_REAL(ssize_t(*)(int, const void*, size_t, int), send);
  return real_send ? real_send(fd, buf, n, flags) : Raw(SYS_sendto, U(fd), P(buf), U(n), U(flags), 0);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* len) {
  if (Active(SYS_recvfrom)) return Issue(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), P(addr), P(len));
  IPC_REAL(ssize_t(*)(int, void*, size_t, int, struct sockaddr*, socklen_t*), recvfrom);
  return real_recvfrom ? real_recvfrom(fd, buf, n, flags, addr, len)
                       : Raw(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), P(addr), P(len));
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (Active(SYS_recvfrom)) return Issue(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), 0, 0);
  IPC_REAL(ssize_t(*)(int, void*, size_t, int), recv);
  return real_recv ? real_recv(fd, buf, n, flags) : Raw(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), 0);
}

ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (Active(SYS_recvfrom) && n <= buflen) return Issue(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), 0, 0);
  IPC_REAL(ssize_t(*)(int, void*, size_t, size_t, int), __recv_chk);
  if (real___recv_chk) return real___recv_chk(fd, buf, n, buflen, flags);
  if (n > buflen) abort();
  return Raw(SYS_recvfrom, U(fd), P(buf), U(n), U(flags), 0);
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (Active(SYS_sendmsg)) return Issue(SYS_sendmsg, U(fd), P(msg), U(flags));
  IPC_REAL(ssize_t(*)(int, const struct msghdr*, int), sendmsg);
  return real_sendmsg ? real_sendmsg(fd, msg, flags) : Raw(SYS_sendmsg, U(fd), P(msg), U(flags));
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  if (Active(SYS_recvmsg)) return Issue(SYS_recvmsg, U(fd), P(msg), U(flags));
  IPC_REAL(ssize_t(*)(int, struct msghdr*, int), recvmsg);
  return real_recvmsg ? real_recvmsg(fd, msg, flags) : Raw(SYS_recvmsg, U(fd), P(msg), U(flags));
}

int shutdown(int fd, int how) {
  if (Active(SYS_shutdown)) return static_cast<int>(Issue(SYS_shutdown, U(fd), U(how), 0));
  IPC_REAL(int (*)(int, int), shutdown);
  return real_shutdown ? real_shutdown(fd, how) : static_cast<int>(Raw(SYS_shutdown, U(fd), U(how), 0));
}

// ---- POSIX message queues: mq_send()/mq_receive() are mq_timedsend()/mq_timedreceive() with no timeout.

int mq_timedsend(mqd_t q, const char* msg, size_t n, unsigned prio, const struct timespec* ts) {
  if (Active(SYS_mq_timedsend))
    return static_cast<int>(Issue(SYS_mq_timedsend, U(q), P(msg), U(n), U(prio), P(ts)));
  IPC_REAL(int (*)(mqd_t, const char*, size_t, unsigned, const struct timespec*), mq_timedsend);
  return real_mq_timedsend ? real_mq_timedsend(q, msg, n, prio, ts)
                           : static_cast<int>(Raw(SYS_mq_timedsend, U(q), P(msg), U(n), U(prio), P(ts)));
}

int mq_send(mqd_t q, const char* msg, size_t n, unsigned prio) {
  if (Active(SYS_mq_timedsend))
    return static_cast<int>(Issue(SYS_mq_timedsend, U(q), P(msg), U(n), U(prio), 0));
  IPC_REAL(int (*)(mqd_t, const char*, size_t, unsigned), mq_send);
  return real_mq_send ? real_mq_send(q, msg, n, prio)
                      : static_cast<int>(Raw(SYS_mq_timedsend, U(q), P(msg), U(n), U(prio), 0));
}

ssize_t mq_timedreceive(mqd_t q, char* msg, size_t n, unsigned* prio, const struct timespec* ts) {
  if (Active(SYS_mq_timedreceive)) return Issue(SYS_mq_timedreceive, U(q), P(msg), U(n), P(prio), P(ts));
  IPC_REAL(ssize_t(*)(mqd_t, char*, size_t, unsigned*, const struct timespec*), mq_timedreceive);
  return real_mq_timedreceive ? real_mq_timedreceive(q, msg, n, prio, ts)
                              : Raw(SYS_mq_timedreceive, U(q), P(msg), U(n), P(prio), P(ts));
}

ssize_t mq_receive(mqd_t q, char* msg, size_t n, unsigned* prio) {
  if (Active(SYS_mq_timedreceive)) return Issue(SYS_mq_timedreceive, U(q), P(msg), U(n), P(prio), 0);
  IPC_REAL(ssize_t(*)(mqd_t, char*, size_t, unsigned*), mq_receive);
  return real_mq_receive ? real_mq_receive(q, msg, n, prio)
                         : Raw(SYS_mq_timedreceive, U(q), P(msg), U(n), P(prio), 0);
}

}  // extern "C"
