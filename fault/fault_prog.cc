// ipcsuite-fault-prog: small deterministic workloads for the fault layer's tests and benchmark.
// Each mode makes its calls through the C library wrappers and prints one line of results with
// writev(2) (not write(2), so that rules on write do not see the report):
//   semop N               N semop() calls (+1 each)             -> "calls=N ok=.. EIDRM=.. ..."
//   semtimedop N          N semtimedop() calls with a timeout
//   pipe-write N          N one-byte writes to a pipe (each read back)
//   pipe N | pipe2 N      N pipe() / pipe2(O_CLOEXEC) calls
//   open N PATH           N open(PATH, O_RDONLY) calls
//   openat N DIR NAME     N openat(dirfd of DIR, NAME) calls
//   threads T N           T threads, N writes to /dev/null each
//   fork P N              P children, N writes to /dev/null each; results summed by the parent
//   restart K             one read() on a pipe (fd 10) interrupted K times by an SA_RESTART handler,
//                         then a second read(): "first=<result> second=<result> handled=K". Each signal
//                         is sent as soon as the reader sleeps in read(), which on the user-notification
//                         path may still be the wait for the supervisor's answer
//   restart-late K        the same, but each signal is sent only once the read itself sleeps (the
//                         supervisor has let the call through: the kernel restarts the call, and the
//                         filter sees it again)
//   bench-semop N [FILTER] | bench-pipe N [FILTER]   timed loops: "ns_per_call=X cpu_ns_per_call=C
//                         errors=E" (wall clock, and this thread's CPU time: what the calls cost the
//                         process, less sensitive to other work on the machine than the wall clock); FILTER
//                         "allow-all" installs a one-instruction seccomp filter (RET_ALLOW) first: the
//                         floor of any filter (the kernel's seccomp entry work), "uncached" a two-
//                         instruction one that reads the instruction pointer, which the kernel's
//                         action cache cannot prove constant (the filter then runs on every call)
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Tally {
  std::map<std::string, long> counts;
  long calls = 0;
  void Add(long r) {
    ++calls;
    if (r >= 0)
      ++counts["ok"];
    else
      ++counts[strerrorname_np(errno) ? strerrorname_np(errno) : "E?"];
  }
  std::string Line() const {
    std::string s = "calls=" + std::to_string(calls);
    for (const auto& [k, v] : counts) s += " " + k + "=" + std::to_string(v);
    return s;
  }
};

void Report(const std::string& line) {
  std::string s = line + "\n";
  iovec iov{s.data(), s.size()};
  (void)!writev(1, &iov, 1);
}

long Arg(char** argv, int i, int argc) {
  if (i >= argc) {
    Report("usage: missing argument");
    exit(2);
  }
  return strtol(argv[i], nullptr, 10);
}

double NowNs(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

std::atomic<int> g_handled{0};
std::atomic<bool> g_reader_done{false};
void OnUsr1(int) { g_handled.fetch_add(1); }

// Reads a small /proc file into buf (NUL-terminated); returns the length or -1.
ssize_t ReadProc(const std::string& path, char* buf, size_t size) {
  int fd = open(path.c_str(), O_RDONLY);
  ssize_t n = fd >= 0 ? pread(fd, buf, size - 1, 0) : -1;
  if (fd >= 0) close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

// Waits (no sleep: yields) until thread `tid` of this process sleeps in system call `nr`; with
// `in_call`, until it sleeps in the call itself rather than in seccomp's wait for a user-notification
// answer (the kernel function it sleeps in, /proc/.../wchan, is not a seccomp one).
bool WaitBlocked(pid_t tid, long nr, bool in_call = false) {
  std::string base = "/proc/self/task/" + std::to_string(tid);
  double deadline = NowNs() + 5e9;
  while (NowNs() < deadline && !g_reader_done) {
    char sc[512], st[512], wchan[128];
    ssize_t n = ReadProc(base + "/syscall", sc, sizeof sc);
    ssize_t m = ReadProc(base + "/stat", st, sizeof st);
    const char* paren = m > 0 ? strrchr(st, ')') : nullptr;
    // wchan is "0" while the thread runs (and always when the kernel hides it: then the deadline
    // expires and the caller reports that the reader never blocked).
    if (n > 0 && atol(sc) == nr && paren && paren[2] == 'S' &&
        (!in_call || (ReadProc(base + "/wchan", wchan, sizeof wchan) > 0 && strcmp(wchan, "0") != 0 &&
                      strstr(wchan, "seccomp") == nullptr)))
      return true;
    sched_yield();
  }
  return false;
}

std::string Result(long r) {
  return r >= 0 ? std::to_string(r) : std::string(strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
}

int Restart(int k, bool late) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 3;
  // The read end is fd 10 so that a rule can name exactly these reads: read[fd=10].
  if (dup2(p[0], 10) != 10) return 3;
  close(p[0]);
  p[0] = 10;
  struct sigaction sa {};
  sa.sa_handler = OnUsr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  std::atomic<pid_t> reader_tid{0};
  std::atomic<bool>& done = g_reader_done;
  std::string first;
  std::thread reader([&] {
    reader_tid = static_cast<pid_t>(syscall(SYS_gettid));
    char c;
    long r = read(p[0], &c, 1);
    first = Result(r);
    done = true;
  });
  while (reader_tid == 0) sched_yield();
  for (int i = 0; i < k && !done; ++i) {
    if (!WaitBlocked(reader_tid, SYS_read, late) && !done) {
      Report("error: reader never blocked in read");
      reader.detach();
      return 3;
    }
    if (done) break;  // the reader's call returned (a fault): nothing left to interrupt
    int before = g_handled.load();
    syscall(SYS_tgkill, getpid(), reader_tid.load(), SIGUSR1);
    // The reader may return from read() (a fault) before the signal reaches it: then the handler
    // runs on its way out, or never if it has exited; bounded either way.
    double deadline = NowNs() + 5e9;
    while (g_handled.load() == before && !done && NowNs() < deadline) sched_yield();
    if (g_handled.load() == before && !done) {
      Report("error: the handler never ran");
      reader.detach();
      return 3;
    }
  }
  if (!WaitBlocked(reader_tid, SYS_read) && !done) {
    Report("error: reader did not go back to read");
    reader.detach();
    return 3;
  }
  struct iovec iov {
    const_cast<char*>("ab"), 2
  };
  (void)!writev(p[1], &iov, 1);  // writev: not counted by rules on write
  reader.join();
  char c;
  long r2 = read(p[0], &c, 1);
  Report("first=" + first + " second=" + Result(r2) + " handled=" + std::to_string(g_handled.load()));
  return 0;
}

// The benchmark's floor filters (see the header). Same flags as ipcsuite inject's filter.
void InstallBenchFilter(const std::string& which) {
  std::vector<sock_filter> prog;
  if (which == "uncached")
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, instruction_pointer)));
  else if (which != "allow-all") {
    Report("unknown filter " + which + " (allow-all or uncached)");
    exit(2);
  }
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog) != 0) {
    Report(std::string("seccomp: ") + strerror(errno));
    exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Report("usage: ipcsuite-fault-prog MODE ARGS...");
    return 2;
  }
  std::string mode = argv[1];
  // SysV objects of this program live in a private IPC namespace when it may have one, so that nothing
  // survives it even when a fault or a signal kills it before its IPC_RMID (unprivileged: IPC_PRIVATE only).
  unshare(CLONE_NEWIPC);
  Tally t;
  if ((mode == "bench-semop" || mode == "bench-pipe") && argc > 3) InstallBenchFilter(argv[3]);
  if (mode == "semop" || mode == "semtimedop" || mode == "bench-semop") {
    long n = Arg(argv, 2, argc);
    int id = semget(IPC_PRIVATE, 1, 0600);
    if (id < 0) {
      Report(std::string("semget: ") + strerror(errno));
      return 3;
    }
    sembuf op{0, 1, 0};
    timespec ts{5, 0};
    double start = NowNs(), cpu_start = NowNs(CLOCK_THREAD_CPUTIME_ID);
    long errors = 0;
    int value = 0;  // the semaphore's value: +1 from 0, -1 from 1, so that nothing ever blocks
    for (long i = 0; i < n; ++i) {
      op.sem_op = value == 0 ? 1 : -1;
      long r = mode == "semtimedop" ? semtimedop(id, &op, 1, &ts) : semop(id, &op, 1);
      if (r == 0) value += op.sem_op;
      if (mode == "bench-semop") {
        if (r != 0) ++errors;
      } else {
        t.Add(r);
      }
    }
    double el = NowNs() - start, cpu = NowNs(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    semctl(id, 0, IPC_RMID);
    if (mode == "bench-semop") {
      char buf[128];
      snprintf(buf, sizeof buf, "ns_per_call=%.1f cpu_ns_per_call=%.1f errors=%ld", el / n, cpu / n, errors);
      Report(buf);
    } else {
      Report(t.Line());
    }
    return 0;
  }
  if (mode == "pipe-write" || mode == "bench-pipe") {
    long n = Arg(argv, 2, argc);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return 3;
    double start = NowNs(), cpu_start = NowNs(CLOCK_THREAD_CPUTIME_ID);
    long errors = 0;
    char c = 'x';
    for (long i = 0; i < n; ++i) {
      long r = write(p[1], &c, 1);
      if (r == 1)
        (void)!read(p[0], &c, 1);
      else
        ++errors;
      if (mode == "pipe-write") t.Add(r);
    }
    double el = NowNs() - start, cpu = NowNs(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    if (mode == "bench-pipe") {
      char buf[128];
      snprintf(buf, sizeof buf, "ns_per_call=%.1f cpu_ns_per_call=%.1f errors=%ld", el / n, cpu / n, errors);
      Report(buf);
    } else {
      Report(t.Line());
    }
    return 0;
  }
  if (mode == "pipe" || mode == "pipe2") {
    long n = Arg(argv, 2, argc);
    for (long i = 0; i < n; ++i) {
      int p[2];
      long r = mode == "pipe" ? pipe(p) : pipe2(p, O_CLOEXEC);
      t.Add(r);
      if (r == 0) {
        close(p[0]);
        close(p[1]);
      }
    }
    Report(t.Line());
    return 0;
  }
  if (mode == "open" || mode == "openat") {
    long n = Arg(argv, 2, argc);
    int dirfd = -1;
    if (mode == "openat") {
      if (argc < 5) return 2;
      dirfd = open(argv[3], O_RDONLY | O_DIRECTORY);
    } else if (argc < 4) {
      return 2;
    }
    for (long i = 0; i < n; ++i) {
      int fd = mode == "open" ? open(argv[3], O_RDONLY) : openat(dirfd, argv[4], O_RDONLY);
      t.Add(fd);
      if (fd >= 0) close(fd);
    }
    Report(t.Line());
    return 0;
  }
  if (mode == "threads") {
    long nt = Arg(argv, 2, argc), n = Arg(argv, 3, argc);
    int fd = open("/dev/null", O_WRONLY);
    std::vector<std::thread> th;
    std::vector<Tally> tallies(nt);
    for (long i = 0; i < nt; ++i)
      th.emplace_back([&, i] {
        for (long j = 0; j < n; ++j) tallies[i].Add(write(fd, "x", 1));
      });
    for (auto& x : th) x.join();
    for (auto& x : tallies) {
      t.calls += x.calls;
      for (auto& [k, v] : x.counts) t.counts[k] += v;
    }
    Report(t.Line());
    return 0;
  }
  if (mode == "fork") {
    long np = Arg(argv, 2, argc), n = Arg(argv, 3, argc);
    int fd = open("/dev/null", O_WRONLY);
    std::vector<pid_t> kids;
    for (long i = 0; i < np; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        int failed = 0;
        for (long j = 0; j < n; ++j)
          if (write(fd, "x", 1) != 1) ++failed;
        _exit(failed);
      }
      kids.push_back(pid);
    }
    long failed = 0;
    for (pid_t k : kids) {
      int st;
      waitpid(k, &st, 0);
      failed += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
    }
    Report("calls=" + std::to_string(np * n) + " failed=" + std::to_string(failed));
    return 0;
  }
  if (mode == "restart" || mode == "restart-late")
    return Restart(static_cast<int>(Arg(argv, 2, argc)), mode == "restart-late");
  Report("unknown mode " + mode);
  return 2;
}
