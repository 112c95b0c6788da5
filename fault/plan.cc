// Fault plans: SPEC parsing, caller names -> system calls, compilation into the shared state, the log.
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "ipcsuite/fault.h"

namespace ipc::fault {
namespace {

struct ArgName {
  const char* name;
  int index;
  int width;
};

// Argument names of system calls (and wrappers) that IPC code uses; arg0..arg5 work everywhere.
struct ArgTable {
  const char* name;
  std::vector<ArgName> args;
};

const std::vector<ArgTable>& RawArgTables() {
  static const std::vector<ArgTable> t = {
      {"read", {{"fd", 0, 32}, {"buf", 1, 64}, {"count", 2, 64}}},
      {"write", {{"fd", 0, 32}, {"buf", 1, 64}, {"count", 2, 64}}},
      {"close", {{"fd", 0, 32}}},
      {"dup", {{"fd", 0, 32}}},
      {"dup2", {{"oldfd", 0, 32}, {"newfd", 1, 32}}},
      {"dup3", {{"oldfd", 0, 32}, {"newfd", 1, 32}, {"flags", 2, 32}}},
      {"fcntl", {{"fd", 0, 32}, {"cmd", 1, 32}, {"arg", 2, 64}}},
      {"semtimedop", {{"semid", 0, 32}, {"sops", 1, 64}, {"nsops", 2, 64}, {"timeout", 3, 64}}},
      {"semop", {{"semid", 0, 32}, {"sops", 1, 64}, {"nsops", 2, 64}}},
      {"semget", {{"key", 0, 32}, {"nsems", 1, 32}, {"semflg", 2, 32}}},
      {"semctl", {{"semid", 0, 32}, {"semnum", 1, 32}, {"cmd", 2, 32}}},
      {"msgget", {{"key", 0, 32}, {"msgflg", 1, 32}}},
      {"msgsnd", {{"msqid", 0, 32}, {"msgp", 1, 64}, {"msgsz", 2, 64}, {"msgflg", 3, 32}}},
      {"msgrcv", {{"msqid", 0, 32}, {"msgp", 1, 64}, {"msgsz", 2, 64}, {"msgtyp", 3, 64}, {"msgflg", 4, 32}}},
      {"msgctl", {{"msqid", 0, 32}, {"cmd", 1, 32}}},
      {"shmget", {{"key", 0, 32}, {"size", 1, 64}, {"shmflg", 2, 32}}},
      {"shmat", {{"shmid", 0, 32}, {"shmaddr", 1, 64}, {"shmflg", 2, 32}}},
      {"shmdt", {{"shmaddr", 0, 64}}},
      {"shmctl", {{"shmid", 0, 32}, {"cmd", 1, 32}}},
      {"pipe", {{"pipefd", 0, 64}}},
      {"pipe2", {{"pipefd", 0, 64}, {"flags", 1, 32}}},
      {"open", {{"pathname", 0, 64}, {"flags", 1, 32}, {"mode", 2, 32}}},
      {"openat", {{"dirfd", 0, 32}, {"pathname", 1, 64}, {"flags", 2, 32}, {"mode", 3, 32}}},
      {"kill", {{"pid", 0, 32}, {"sig", 1, 32}}},
      {"tgkill", {{"tgid", 0, 32}, {"tid", 1, 32}, {"sig", 2, 32}}},
      {"rt_sigaction", {{"signum", 0, 32}}},
      {"wait4", {{"pid", 0, 32}, {"options", 2, 32}}},
      {"mknodat", {{"dirfd", 0, 32}, {"pathname", 1, 64}, {"mode", 2, 32}}},
      {"poll", {{"fds", 0, 64}, {"nfds", 1, 64}, {"timeout", 2, 32}}},
      // UNIX sockets (unix(7)).
      {"socket", {{"domain", 0, 32}, {"type", 1, 32}, {"protocol", 2, 32}}},
      {"socketpair", {{"domain", 0, 32}, {"type", 1, 32}, {"protocol", 2, 32}, {"sv", 3, 64}}},
      {"bind", {{"sockfd", 0, 32}, {"addr", 1, 64}, {"addrlen", 2, 32}}},
      {"connect", {{"sockfd", 0, 32}, {"addr", 1, 64}, {"addrlen", 2, 32}}},
      {"listen", {{"sockfd", 0, 32}, {"backlog", 1, 32}}},
      {"accept", {{"sockfd", 0, 32}, {"addr", 1, 64}, {"addrlen", 2, 64}}},
      {"accept4", {{"sockfd", 0, 32}, {"addr", 1, 64}, {"addrlen", 2, 64}, {"flags", 3, 32}}},
      {"sendto",
       {{"sockfd", 0, 32},
        {"buf", 1, 64},
        {"len", 2, 64},
        {"flags", 3, 32},
        {"dest_addr", 4, 64},
        {"addrlen", 5, 32}}},
      {"recvfrom",
       {{"sockfd", 0, 32},
        {"buf", 1, 64},
        {"len", 2, 64},
        {"flags", 3, 32},
        {"src_addr", 4, 64},
        {"addrlen", 5, 64}}},
      {"sendmsg", {{"sockfd", 0, 32}, {"msg", 1, 64}, {"flags", 2, 32}}},
      {"recvmsg", {{"sockfd", 0, 32}, {"msg", 1, 64}, {"flags", 2, 32}}},
      {"shutdown", {{"sockfd", 0, 32}, {"how", 1, 32}}},
      // POSIX message queues (mq_overview(7)); glibc passes the name without its leading slash.
      {"mq_open", {{"name", 0, 64}, {"oflag", 1, 32}, {"mode", 2, 32}, {"attr", 3, 64}}},
      {"mq_unlink", {{"name", 0, 64}}},
      {"mq_timedsend",
       {{"mqdes", 0, 32},
        {"msg_ptr", 1, 64},
        {"msg_len", 2, 64},
        {"msg_prio", 3, 32},
        {"abs_timeout", 4, 64}}},
      {"mq_timedreceive",
       {{"mqdes", 0, 32},
        {"msg_ptr", 1, 64},
        {"msg_len", 2, 64},
        {"msg_prio", 3, 64},
        {"abs_timeout", 4, 64}}},
      {"mq_notify", {{"mqdes", 0, 32}, {"sevp", 1, 64}}},
      {"mq_getsetattr", {{"mqdes", 0, 32}, {"newattr", 1, 64}, {"oldattr", 2, 64}}},
      // POSIX shared memory and semaphores: files in /dev/shm, mappings, futexes.
      {"futex", {{"uaddr", 0, 64}, {"futex_op", 1, 32}, {"val", 2, 32}, {"timeout", 3, 64}}},
      {"memfd_create", {{"name", 0, 64}, {"flags", 1, 32}}},
      {"ftruncate", {{"fd", 0, 32}, {"length", 1, 64}}},
      {"mmap",
       {{"addr", 0, 64},
        {"length", 1, 64},
        {"prot", 2, 32},
        {"flags", 3, 32},
        {"fd", 4, 32},
        {"offset", 5, 64}}},
      {"munmap", {{"addr", 0, 64}, {"length", 1, 64}}},
      {"unlink", {{"pathname", 0, 64}}},
      {"link", {{"oldpath", 0, 64}, {"newpath", 1, 64}}},
      // Pipes moved without copying (splice(2), tee(2), vmsplice(2)).
      {"splice",
       {{"fd_in", 0, 32},
        {"off_in", 1, 64},
        {"fd_out", 2, 32},
        {"off_out", 3, 64},
        {"len", 4, 64},
        {"flags", 5, 32}}},
      {"tee", {{"fd_in", 0, 32}, {"fd_out", 1, 32}, {"len", 2, 64}, {"flags", 3, 32}}},
      {"vmsplice", {{"fd", 0, 32}, {"iov", 1, 64}, {"nr_segs", 2, 64}, {"flags", 3, 32}}},
      // Signal delivery (signal(7)).
      {"rt_sigqueueinfo", {{"tgid", 0, 32}, {"sig", 1, 32}, {"info", 2, 64}}},
      {"rt_tgsigqueueinfo", {{"tgid", 0, 32}, {"tid", 1, 32}, {"sig", 2, 32}, {"info", 3, 64}}},
      {"rt_sigtimedwait", {{"set", 0, 64}, {"info", 1, 64}, {"timeout", 2, 64}, {"sigsetsize", 3, 64}}},
      {"rt_sigprocmask", {{"how", 0, 32}, {"set", 1, 64}, {"oldset", 2, 64}}},
      {"rt_sigpending", {{"set", 0, 64}}},
      {"rt_sigsuspend", {{"mask", 0, 64}}},
      {"signalfd4", {{"fd", 0, 32}, {"mask", 1, 64}, {"sizemask", 2, 64}, {"flags", 3, 32}}},
      {"tkill", {{"tid", 0, 32}, {"sig", 1, 32}}},
      {"pidfd_open", {{"pid", 0, 32}, {"flags", 1, 32}}},
      {"pidfd_send_signal", {{"pidfd", 0, 32}, {"sig", 1, 32}, {"info", 2, 64}, {"flags", 3, 32}}},
  };
  return t;
}

const std::vector<ArgName>* RawArgs(const std::string& name) {
  for (const auto& t : RawArgTables())
    if (name == t.name) return &t.args;
  return nullptr;
}

// A caller name that stands for system call(s) with conditions. Arguments are named as the caller
// wrote them (open's pathname) and mapped per target system call.
struct Target {
  const char* syscall;
  std::vector<Cond> conds;
  std::vector<ArgName> args;  // the caller's argument names at this target's positions
};
struct Alias {
  const char* name;
  std::vector<Target> targets;
};

Cond C(int arg, CondOp op, int width, uint64_t v) {
  Cond c{};
  c.arg = static_cast<uint8_t>(arg);
  c.op = op;
  c.width = static_cast<uint8_t>(width);
  c.value = v;
  return c;
}

// futex(2) operations of glibc 2.36's sem_wait()/sem_timedwait(): FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME.
constexpr uint64_t kSemWaitOp = 9 | 256;
constexpr uint64_t kFutexPrivate = 128;

const std::vector<Alias>& Aliases() {
  const uint64_t kCwd = static_cast<uint32_t>(AT_FDCWD);
  static const std::vector<Alias> a = {
      // glibc 2.36: semop(id, sops, n) is semtimedop(id, sops, n, NULL).
      {"semop",
       {{"semtimedop", {C(3, CondOp::kEq, 64, 0)}, {{"semid", 0, 32}, {"sops", 1, 64}, {"nsops", 2, 64}}},
        {"semop", {}, {{"semid", 0, 32}, {"sops", 1, 64}, {"nsops", 2, 64}}}}},
      {"semtimedop",
       {{"semtimedop",
         {C(3, CondOp::kNe, 64, 0)},
         {{"semid", 0, 32}, {"sops", 1, 64}, {"nsops", 2, 64}, {"timeout", 3, 64}}}}},
      // pipe(fds) is pipe2(fds, 0).
      {"pipe",
       {{"pipe2", {C(1, CondOp::kEq, 32, 0)}, {{"pipefd", 0, 64}}}, {"pipe", {}, {{"pipefd", 0, 64}}}}},
      {"pipe2", {{"pipe2", {C(1, CondOp::kNe, 32, 0)}, {{"pipefd", 0, 64}, {"flags", 1, 32}}}}},
      // open(path, flags, mode) is openat(AT_FDCWD, path, flags, mode).
      {"open",
       {{"openat", {C(0, CondOp::kEq, 32, kCwd)}, {{"pathname", 1, 64}, {"flags", 2, 32}, {"mode", 3, 32}}},
        {"open", {}, {{"pathname", 0, 64}, {"flags", 1, 32}, {"mode", 2, 32}}}}},
      {"openat",
       {{"openat",
         {C(0, CondOp::kNe, 32, kCwd)},
         {{"dirfd", 0, 32}, {"pathname", 1, 64}, {"flags", 2, 32}, {"mode", 3, 32}}}}},
      {"sigaction", {{"rt_sigaction", {}, {{"signum", 0, 32}}}}},
      {"sigprocmask", {{"rt_sigprocmask", {}, {{"how", 0, 32}}}}},
      {"waitpid", {{"wait4", {}, {{"pid", 0, 32}, {"options", 2, 32}}}}},
      {"wait", {{"wait4", {C(0, CondOp::kEq, 32, static_cast<uint32_t>(-1))}, {}}}},
      // send(fd, buf, len, flags) is sendto(fd, buf, len, flags, NULL, 0); recv() is recvfrom(..., NULL,
      // NULL).
      {"send",
       {{"sendto",
         {C(4, CondOp::kEq, 64, 0)},
         {{"sockfd", 0, 32}, {"buf", 1, 64}, {"len", 2, 64}, {"flags", 3, 32}}}}},
      {"sendto",
       {{"sendto",
         {C(4, CondOp::kNe, 64, 0)},
         {{"sockfd", 0, 32},
          {"buf", 1, 64},
          {"len", 2, 64},
          {"flags", 3, 32},
          {"dest_addr", 4, 64},
          {"addrlen", 5, 32}}}}},
      {"recv",
       {{"recvfrom",
         {C(4, CondOp::kEq, 64, 0)},
         {{"sockfd", 0, 32}, {"buf", 1, 64}, {"len", 2, 64}, {"flags", 3, 32}}}}},
      {"recvfrom",
       {{"recvfrom",
         {C(4, CondOp::kNe, 64, 0)},
         {{"sockfd", 0, 32},
          {"buf", 1, 64},
          {"len", 2, 64},
          {"flags", 3, 32},
          {"src_addr", 4, 64},
          {"addrlen", 5, 64}}}}},
      // mq_send()/mq_receive() are mq_timedsend()/mq_timedreceive() with a NULL timeout.
      {"mq_send",
       {{"mq_timedsend",
         {C(4, CondOp::kEq, 64, 0)},
         {{"mqdes", 0, 32}, {"msg_ptr", 1, 64}, {"msg_len", 2, 64}, {"msg_prio", 3, 32}}}}},
      {"mq_timedsend",
       {{"mq_timedsend",
         {C(4, CondOp::kNe, 64, 0)},
         {{"mqdes", 0, 32},
          {"msg_ptr", 1, 64},
          {"msg_len", 2, 64},
          {"msg_prio", 3, 32},
          {"abs_timeout", 4, 64}}}}},
      {"mq_receive",
       {{"mq_timedreceive",
         {C(4, CondOp::kEq, 64, 0)},
         {{"mqdes", 0, 32}, {"msg_ptr", 1, 64}, {"msg_len", 2, 64}, {"msg_prio", 3, 64}}}}},
      {"mq_timedreceive",
       {{"mq_timedreceive",
         {C(4, CondOp::kNe, 64, 0)},
         {{"mqdes", 0, 32},
          {"msg_ptr", 1, 64},
          {"msg_len", 2, 64},
          {"msg_prio", 3, 64},
          {"abs_timeout", 4, 64}}}}},
      // mq_getattr(q, attr) is mq_getsetattr(q, NULL, attr); mq_setattr(q, new, old) passes new.
      {"mq_getattr", {{"mq_getsetattr", {C(1, CondOp::kEq, 64, 0)}, {{"mqdes", 0, 32}, {"attr", 2, 64}}}}},
      {"mq_setattr",
       {{"mq_getsetattr",
         {C(1, CondOp::kNe, 64, 0)},
         {{"mqdes", 0, 32}, {"newattr", 1, 64}, {"oldattr", 2, 64}}}}},
      // sem_wait()/sem_timedwait() block in futex(FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME [|
      // FUTEX_PRIVATE_FLAG])
      // with a NULL / non-NULL timeout (glibc 2.36; only when the semaphore is zero). glibc aborts on errnos
      // other than EINTR, ETIMEDOUT, EAGAIN and EOVERFLOW there.
      {"sem_wait",
       {{"futex", {C(1, CondOp::kEq, 32, kSemWaitOp), C(3, CondOp::kEq, 64, 0)}, {{"uaddr", 0, 64}}},
        {"futex",
         {C(1, CondOp::kEq, 32, kSemWaitOp | kFutexPrivate), C(3, CondOp::kEq, 64, 0)},
         {{"uaddr", 0, 64}}}}},
      {"sem_timedwait",
       {{"futex", {C(1, CondOp::kEq, 32, kSemWaitOp), C(3, CondOp::kNe, 64, 0)}, {{"uaddr", 0, 64}}},
        {"futex",
         {C(1, CondOp::kEq, 32, kSemWaitOp | kFutexPrivate), C(3, CondOp::kNe, 64, 0)},
         {{"uaddr", 0, 64}}}}},
      // Signals: the wrappers' system calls.
      {"sigqueue", {{"rt_sigqueueinfo", {}, {{"pid", 0, 32}, {"sig", 1, 32}}}}},
      {"sigwaitinfo", {{"rt_sigtimedwait", {C(2, CondOp::kEq, 64, 0)}, {{"set", 0, 64}, {"info", 1, 64}}}}},
      {"sigtimedwait",
       {{"rt_sigtimedwait",
         {C(2, CondOp::kNe, 64, 0)},
         {{"set", 0, 64}, {"info", 1, 64}, {"timeout", 2, 64}}}}},
      {"sigpending", {{"rt_sigpending", {}, {{"set", 0, 64}}}}},
      {"sigsuspend", {{"rt_sigsuspend", {}, {{"mask", 0, 64}}}}},
      {"signalfd", {{"signalfd4", {}, {{"fd", 0, 32}, {"mask", 1, 64}, {"flags", 3, 32}}}}},
  };
  return a;
}

const Alias* FindAlias(const std::string& name) {
  for (const auto& a : Aliases())
    if (name == a.name) return &a;
  return nullptr;
}

const char* OpText(CondOp op) {
  switch (op) {
    case CondOp::kEq:
      return "=";
    case CondOp::kNe:
      return "!=";
    case CondOp::kLt:
      return "<";
    case CondOp::kLe:
      return "<=";
    case CondOp::kGt:
      return ">";
    case CondOp::kGe:
      return ">=";
  }
  return "?";
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || !isdigit(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseI64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v;
  if (s[0] == '-') {
    v = strtoll(s.c_str(), &end, 0);
  } else {
    v = static_cast<long long>(strtoull(s.c_str(), &end, 0));
  }
  if (errno != 0 || *end != '\0' || end == s.c_str()) return false;
  *out = v;
  return true;
}

// Resolves where `arg` lives for a given target: fills index/width; false when unknown.
bool ResolveArg(const std::string& arg, const std::vector<ArgName>* names, ArgName* out) {
  if (arg.size() == 4 && arg.compare(0, 3, "arg") == 0 && arg[3] >= '0' && arg[3] <= '5') {
    *out = {nullptr, arg[3] - '0', 64};
    return true;
  }
  if (names)
    for (const auto& a : *names)
      if (arg == a.name) {
        *out = a;
        return true;
      }
  return false;
}

std::string KnownArgs(const std::vector<ArgName>* names) {
  std::string s;
  if (names)
    for (const auto& a : *names) s += std::string(a.name) + ", ";
  return s + "arg0..arg5";
}

// Builds the clauses of a rule; false + error when a name or argument is unknown.
bool Clauses(const Rule& r, std::vector<Clause>* out, std::string* error) {
  const Alias* alias = r.raw ? nullptr : FindAlias(r.name);
  std::vector<Target> targets;
  if (alias) {
    targets = alias->targets;
  } else {
    if (SyscallNumber(r.name) < 0) {
      *error = "unknown system call '" + r.name + "'";
      return false;
    }
    const std::vector<ArgName>* names = RawArgs(r.name);
    targets.push_back({nullptr, {}, names ? *names : std::vector<ArgName>{}});
  }
  for (const Target& t : targets) {
    std::string sys = t.syscall ? t.syscall : r.name;
    int nr = SyscallNumber(sys);
    if (nr < 0) continue;  // e.g. a legacy call this architecture lacks
    Clause cl{};
    cl.nr = nr;
    for (const Cond& c : t.conds) cl.conds[cl.ncond++] = c;
    for (const ArgCond& ac : r.conds) {
      ArgName an{};
      if (!ResolveArg(ac.arg, &t.args, &an)) {
        *error = "unknown argument '" + ac.arg + "' of " + r.name + " (known: " + KnownArgs(&t.args) + ")";
        return false;
      }
      if (cl.ncond >= kMaxConds) {
        *error = "too many argument conditions (at most " + std::to_string(kMaxConds - 1) + ")";
        return false;
      }
      cl.conds[cl.ncond++] = C(an.index, ac.op, an.width, static_cast<uint64_t>(ac.value));
    }
    out->push_back(cl);
  }
  if (out->empty()) {
    *error = "system call '" + r.name + "' does not exist on this architecture";
    return false;
  }
  if (out->size() > static_cast<size_t>(kMaxClauses)) {
    *error = "internal: too many clauses for " + r.name;
    return false;
  }
  return true;
}

bool ParseSelector(std::string_view text, Rule* r, std::string* error) {
  std::string s = Trim(text);
  size_t br = s.find('[');
  std::string name = Trim(s.substr(0, br));
  if (name.rfind("sys:", 0) == 0) {
    r->raw = true;
    name = name.substr(4);
  }
  if (name.empty()) {
    *error = "missing system call name";
    return false;
  }
  for (char ch : name)
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '_')) {
      *error = "bad system call name '" + name + "'";
      return false;
    }
  r->name = name;
  if (br != std::string::npos) {
    if (s.back() != ']') {
      *error = "argument conditions must end with ']'";
      return false;
    }
    std::string body = s.substr(br + 1, s.size() - br - 2);
    std::stringstream ss(body);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = Trim(item);
      size_t op_pos = item.find_first_of("=!<>");
      if (item.empty() || op_pos == std::string::npos || op_pos == 0) {
        *error = "bad argument condition '" + item + "' (want ARG=VALUE, ARG!=VALUE, ARG<VALUE, ...)";
        return false;
      }
      ArgCond ac;
      ac.arg = Trim(item.substr(0, op_pos));
      std::string rest = item.substr(op_pos);
      static const std::pair<const char*, CondOp> kOps[] = {
          {"==", CondOp::kEq}, {"!=", CondOp::kNe}, {"<=", CondOp::kLe}, {">=", CondOp::kGe},
          {"=", CondOp::kEq},  {"<", CondOp::kLt},  {">", CondOp::kGt}};
      size_t oplen = 0;
      for (const auto& [txt, op] : kOps)
        if (rest.rfind(txt, 0) == 0) {
          ac.op = op;
          oplen = strlen(txt);
          break;
        }
      std::string value = Trim(rest.substr(oplen));
      if (oplen == 0 || !ParseI64(value, &ac.value)) {
        *error = "bad value in argument condition '" + item + "' (want an integer)";
        return false;
      }
      r->conds.push_back(ac);
    }
  }
  std::vector<Clause> clauses;
  return Clauses(*r, &clauses, error);
}

}  // namespace

int ErrnoFromName(std::string_view name) {
  static const std::pair<const char*, int> kExtra[] = {
      {"EWOULDBLOCK", EWOULDBLOCK}, {"EDEADLOCK", EDEADLOCK}, {"ENOTSUP", ENOTSUP}};
  for (const auto& [n, v] : kExtra)
    if (name == n) return v;
  for (int e = 1; e < 4096; ++e) {
    const char* n = strerrorname_np(e);
    if (n && name == n) return e;
  }
  return -1;
}

std::string ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "errno " + std::to_string(err);
}

int SyscallNumber(const std::string& name) {
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name.c_str());
  return nr < 0 ? -1 : nr;
}

std::string SyscallName(int nr) {
  char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  std::string s = n ? n : "syscall " + std::to_string(nr);
  free(n);
  return s;
}

std::string Rule::Selector() const {
  std::string s = (raw ? "sys:" : "") + name;
  if (!conds.empty()) {
    s += "[";
    for (size_t i = 0; i < conds.size(); ++i) {
      if (i) s += ",";
      s += conds[i].arg + OpText(conds[i].op) + std::to_string(conds[i].value);
    }
    s += "]";
  }
  return s;
}

std::string Rule::Text() const {
  std::string s = Selector() + "=" + ErrnoName(err);
  char buf[64];
  switch (when) {
    case When::kAlways:
      break;
    case When::kAt:
      s += "@" + std::to_string(n);
      break;
    case When::kFrom:
      s += "@" + std::to_string(n) + "+";
      break;
    case When::kEvery:
      s += "@" + std::to_string(n) + "+" + std::to_string(k);
      break;
    case When::kProbability:
      snprintf(buf, sizeof buf, "%%%.17g", p);
      s += buf;
      break;
    case When::kPoints:
      s += " (replay: " + std::to_string(points.size()) + " calls)";
      break;
  }
  return s;
}

// Control characters shown as \xNN, so that an error message stays one line whatever the input was.
static std::string Printable(std::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool ParseRule(std::string_view spec_in, Rule* out, std::string* error) {
  std::string spec = Trim(spec_in);
  Rule r;
  auto fail = [&](const std::string& why) {
    *error = Printable("bad rule '" + spec + "': " + why);
    return false;
  };
  if (spec.empty()) return fail("empty");
  // The '=' that separates selector and errno is the first one outside brackets.
  int depth = 0;
  size_t eq = std::string::npos;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '[') ++depth;
    if (spec[i] == ']') --depth;
    if (spec[i] == '=' && depth == 0) {
      eq = i;
      break;
    }
  }
  if (eq == std::string::npos) return fail("want NAME=ERRNO, e.g. semop=EIDRM@3");
  std::string why;
  if (!ParseSelector(spec.substr(0, eq), &r, &why)) return fail(why);
  std::string rest = Trim(spec.substr(eq + 1));
  size_t mark = rest.find_first_of("@%");
  std::string ename = Trim(rest.substr(0, mark));
  if (ename.empty()) return fail("missing errno name after '='");
  r.err = ErrnoFromName(ename);
  if (r.err <= 0) return fail("unknown errno name '" + ename + "'");
  if (r.err > 4095) return fail("errno out of range");
  if (mark != std::string::npos) {
    std::string when = Trim(rest.substr(mark + 1));
    if (rest[mark] == '%') {
      char* end = nullptr;
      errno = 0;
      double p = strtod(when.c_str(), &end);
      if (when.empty() || errno != 0 || *end != '\0' || !(p > 0) || p > 1)
        return fail("%P takes a probability 0 < P <= 1, e.g. %0.25");
      r.when = When::kProbability;
      r.p = p;
    } else {
      size_t plus = when.find('+');
      std::string first = when.substr(0, plus);
      if (!ParseU64(first, &r.n) || r.n == 0) return fail("@N takes a call number N >= 1 (@N, @N+ or @N+K)");
      if (plus == std::string::npos) {
        r.when = When::kAt;
      } else if (plus == when.size() - 1) {
        r.when = When::kFrom;
      } else {
        if (!ParseU64(when.substr(plus + 1), &r.k) || r.k == 0)
          return fail("@N+K takes a period K >= 1 (@N, @N+ or @N+K)");
        r.when = When::kEvery;
      }
    }
  }
  *out = std::move(r);
  return true;
}

bool ParseRules(const std::vector<std::string>& specs, Plan* plan, std::string* error) {
  for (const auto& s : specs) {
    Rule r;
    if (!ParseRule(s, &r, error)) return false;
    plan->rules.push_back(std::move(r));
  }
  return true;
}

bool ParsePlanText(std::string_view text, const std::string& where, Plan* plan, std::string* error) {
  std::stringstream ss{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(ss, line)) {
    ++lineno;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) continue;
    Rule r;
    std::string why;
    if (!ParseRule(line, &r, &why)) {
      *error = where + ":" + std::to_string(lineno) + ": " + why;
      return false;
    }
    plan->rules.push_back(std::move(r));
  }
  return true;
}

bool ParseReplayLog(std::string_view text, const std::string& where, Plan* plan, std::string* error) {
  std::stringstream ss{std::string(text)};
  std::string line;
  int lineno = 0;
  bool header = false;
  std::map<std::string, size_t> by_selector;  // selector -> index in plan->rules
  while (std::getline(ss, line)) {
    ++lineno;
    auto bad = [&](const std::string& why) {
      *error = where + ":" + std::to_string(lineno) + ": " + why;
      return false;
    };
    if (line.rfind("# ipcsuite inject log", 0) == 0) header = true;
    if (line.rfind("# kernel-rule ", 0) == 0) {
      Rule r;
      std::string why;
      if (!ParseRule(line.substr(14), &r, &why)) return bad(why);
      plan->rules.push_back(std::move(r));
      continue;
    }
    if (line.rfind("fault ", 0) != 0) continue;
    std::map<std::string, std::string> kv;
    std::stringstream ls(line.substr(6));
    std::string item;
    while (ls >> item) {
      size_t eq = item.find('=');
      if (eq != std::string::npos) kv[item.substr(0, eq)] = item.substr(eq + 1);
    }
    uint64_t idx = 0;
    if (!kv.count("selector") || !kv.count("errno") || !ParseU64(kv["tree_index"], &idx))
      return bad("malformed fault line (want selector=, tree_index=, errno=)");
    int err = ErrnoFromName(kv["errno"]);
    if (err <= 0) return bad("unknown errno '" + kv["errno"] + "'");
    auto it = by_selector.find(kv["selector"]);
    if (it == by_selector.end()) {
      Rule r;
      std::string why;
      if (!ParseSelector(kv["selector"], &r, &why)) return bad(why);
      r.when = When::kPoints;
      r.err = err;
      plan->rules.push_back(std::move(r));
      it = by_selector.emplace(kv["selector"], plan->rules.size() - 1).first;
    }
    Rule& r = plan->rules[it->second];
    Point pt{};
    pt.index = idx;
    pt.err = err;
    r.points.push_back(pt);
  }
  if (!header) {
    *error = where + ": not an ipcsuite inject log (no '# ipcsuite inject log' header)";
    return false;
  }
  for (Rule& r : plan->rules)
    std::sort(r.points.begin(), r.points.end(),
              [](const Point& a, const Point& b) { return a.index < b.index; });
  plan->per_process = false;
  return true;
}

bool Compile(const Plan& plan, State* s, std::string* error) {
  if (plan.rules.size() > static_cast<size_t>(kMaxRules)) {
    *error = "too many rules (at most " + std::to_string(kMaxRules) + ")";
    return false;
  }
  s->magic = kStateMagic;
  s->seed = plan.seed;
  s->per_process = plan.per_process ? 1 : 0;
  s->nrules = static_cast<int32_t>(plan.rules.size());
  int npoints = 0;
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    const Rule& r = plan.rules[i];
    CompiledRule& c = s->rules[i];
    std::vector<Clause> clauses;
    if (!Clauses(r, &clauses, error)) return false;
    c.nclauses = static_cast<int32_t>(clauses.size());
    for (size_t j = 0; j < clauses.size(); ++j) c.clauses[j] = clauses[j];
    c.err = r.err;
    c.when = r.when;
    c.n = r.n;
    c.k = r.k;
    if (r.when == When::kProbability) {
      long double t = static_cast<long double>(r.p) * 18446744073709551616.0L;
      c.threshold = t >= 18446744073709551615.0L ? UINT64_MAX : static_cast<uint64_t>(t);
    }
    if (r.when == When::kPoints) {
      if (npoints + r.points.size() > static_cast<size_t>(kMaxPoints)) {
        *error = "replay log too long (at most " + std::to_string(kMaxPoints) + " faults)";
        return false;
      }
      c.first_point = npoints;
      c.npoints = static_cast<int32_t>(r.points.size());
      for (const Point& p : r.points) s->points[npoints++] = p;
    }
    snprintf(c.name, sizeof c.name, "%s", r.name.c_str());
    snprintf(c.selector, sizeof c.selector, "%s", r.Selector().c_str());
  }
  s->npoints = npoints;
  return true;
}

std::string FaultEvent::Line() const {
  std::ostringstream o;
  o << "fault pid=" << pid << " tid=" << tid << " syscall=" << name << " nr=" << nr << " index=" << index
    << " tree_index=" << tree_index << " errno=" << ErrnoName(err) << " rule=" << rule
    << " selector=" << selector;
  return o.str();
}

std::vector<FaultEvent> ReadLog(const State& s) {
  std::vector<FaultEvent> out;
  uint64_t n = std::min<uint64_t>(__atomic_load_n(&s.log_next, __ATOMIC_ACQUIRE), kMaxLog);
  for (uint64_t i = 0; i < n; ++i) {
    const LogRecord& r = s.log[i];
    FaultEvent e;
    e.pid = r.pid;
    e.tid = r.tid;
    e.nr = r.nr;
    e.rule = r.rule;
    e.err = r.err;
    e.index = r.index;
    e.tree_index = r.tree_index;
    if (r.rule >= 0 && r.rule < s.nrules) {
      e.name = s.rules[r.rule].name;
      e.selector = s.rules[r.rule].selector;
    }
    out.push_back(e);
  }
  return out;
}

std::string FormatLog(const Plan& plan, const State& s) {
  std::ostringstream o;
  o << "# ipcsuite inject log v1\n";
  o << "# seed " << plan.seed << "\n";
  o << "# count " << (plan.per_process ? "process" : "tree") << "\n";
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    o << "# rule " << i << " " << plan.rules[i].Text() << "\n";
    if (IsKernelRule(s, static_cast<int>(i)))
      o << "# kernel-rule " << plan.rules[i].Text()
        << "\n";  // every matching call fails in the kernel filter; not logged per call
  }
  std::vector<FaultEvent> events = ReadLog(s);
  for (const auto& e : events) o << e.Line() << "\n";
  uint64_t total = __atomic_load_n(&s.log_next, __ATOMIC_ACQUIRE);
  o << "# " << events.size() << " faults logged, " << (total > events.size() ? total - events.size() : 0)
    << " dropped\n";
  return o.str();
}

}  // namespace ipc::fault
