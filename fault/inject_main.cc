// ipcsuite-inject: run a program under a fault plan (./ipcsuite inject is a front end for it).
//
//   ipcsuite-inject [--check | --dump-filter] [--fail SPEC]... [--plan FILE] [--replay LOG] [--seed N]
//                   [--log FILE] [--count tree|process] [--agent LIB] -- PROGRAM [ARGS...]
//
// Exit status: the program's (128+N when killed by signal N); 2 with one line on stderr for bad input
// (--check: validate only, exit 0 when the command line is good; --dump-filter: the same, then print
// the plan's seccomp filter on stdout, one BPF instruction a line: "code jt jf k", decimal).
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "fault/filter.h"
#include "ipcsuite/fault.h"

namespace {

[[noreturn]] void Usage(const std::string& msg) {
  fprintf(stderr, "ipcsuite inject: error: %s\n", msg.c_str());
  exit(2);
}

// A plan or replay log the user names. A FIFO is opened without waiting for a writer (one with a writer, as a
// shell's <(...) has, is read to its end; one without reads as empty); a directory, or anything larger than
// kMaxInput (/dev/zero), is refused.
bool ReadFile(const std::string& path, std::string* out) {
  constexpr size_t kMaxInput = 64u << 20;
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && fcntl(fd, F_SETFL, 0) == 0;
  out->clear();
  char buf[65536];
  while (ok) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    out->append(buf, static_cast<size_t>(n));
    ok = out->size() <= kMaxInput;
  }
  close(fd);
  return ok;
}

// The --log file, opened before the program runs: a FIFO nobody reads is refused at once (ENXIO) instead of
// blocking the open, after the run, until a reader comes; then writes block as usual.
FILE* OpenLog(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENXIO) Usage("--log: " + path + " is a FIFO that no process reads");
  if (fd < 0) Usage("--log: cannot open " + path + ": " + strerror(errno));
  FILE* f = nullptr;
  if (fcntl(fd, F_SETFL, 0) != 0 || (f = fdopen(fd, "w")) == nullptr) {
    Usage("--log: cannot open " + path + ": " + strerror(errno));
  }
  return f;
}

std::string Resolve(const std::string& prog) {
  auto ok = [](const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (prog.find('/') != std::string::npos) {
    if (!ok(prog)) Usage("program not found or not executable: " + prog);
    return prog;
  }
  const char* path = getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + prog;
    if (ok(p)) return p;
  }
  Usage("program not found: " + prog);
}

// Whether the ELF file has no program interpreter (statically linked: LD_PRELOAD cannot reach it).
bool IsStatic(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  bool stat_linked = false;
  if (pread(fd, &eh, sizeof eh, 0) == sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64) {
    stat_linked = true;
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * eh.e_phentsize)) != sizeof ph) break;
      if (ph.p_type == PT_INTERP) stat_linked = false;
    }
  }
  close(fd);
  return stat_linked;
}

std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string s(buf);
  return s.substr(0, s.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ipc::fault;
  bool check = false, dump_filter = false;
  std::vector<std::string> specs, plan_files;
  std::string replay, log_path, agent = SelfDir() + "/libipcsuite_fault_agent.so", count = "tree";
  bool have_seed = false;
  uint64_t seed = 0;
  int i = 1;
  auto value = [&](const char* opt) -> std::string {
    if (i + 1 >= argc) Usage(std::string(opt) + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--check")
      check = true;
    else if (a == "--dump-filter")
      dump_filter = check = true;
    else if (a == "--fail")
      specs.push_back(value("--fail"));
    else if (a == "--plan")
      plan_files.push_back(value("--plan"));
    else if (a == "--replay")
      replay = value("--replay");
    else if (a == "--log")
      log_path = value("--log");
    else if (a == "--agent")
      agent = value("--agent");
    else if (a == "--count")
      count = value("--count");
    else if (a == "--seed") {
      std::string v = value("--seed");
      char* end = nullptr;
      errno = 0;
      seed = strtoull(v.c_str(), &end, 10);
      if (v.empty() || !isdigit(static_cast<unsigned char>(v[0])) || errno || *end)
        Usage("--seed takes a non-negative integer, not '" + v + "'");
      have_seed = true;
    } else if (!a.empty() && a[0] == '-')
      Usage("unknown option " + a);
    else
      break;
  }
  if (i >= argc) Usage("no program given (… -- PROGRAM [ARGS...])");
  std::vector<std::string> prog_argv(argv + i, argv + argc);

  Plan plan;
  std::string error;
  if (count != "tree" && count != "process") Usage("--count takes 'tree' or 'process', not '" + count + "'");
  plan.per_process = count == "process";
  if (!replay.empty()) {
    if (!specs.empty() || !plan_files.empty()) Usage("--replay cannot be combined with --fail or --plan");
    if (plan.per_process) Usage("--replay counts per tree; drop --count process");
    std::string text;
    if (!ReadFile(replay, &text)) Usage("--replay: cannot read " + replay);
    if (!ParseReplayLog(text, replay, &plan, &error)) Usage(error);
  }
  if (!ParseRules(specs, &plan, &error)) Usage(error);
  for (const auto& f : plan_files) {
    std::string text;
    if (!ReadFile(f, &text)) Usage("--plan: cannot read " + f);
    if (!ParsePlanText(text, f, &plan, &error)) Usage(error);
  }
  if (plan.rules.empty()) Usage("no rules (give --fail SPEC, --plan FILE or --replay LOG)");
  if (plan.rules.size() > static_cast<size_t>(kMaxRules))
    Usage("too many rules (at most " + std::to_string(kMaxRules) + ")");
  std::string path = Resolve(prog_argv[0]);
  if (!log_path.empty()) {
    std::string dir = log_path.substr(0, log_path.rfind('/') == std::string::npos ? 0 : log_path.rfind('/'));
    if (!dir.empty() && access(dir.c_str(), W_OK) != 0) Usage("--log: cannot write in " + dir);
  }
  FILE* log = nullptr;
  if (!log_path.empty() && !check) log = OpenLog(log_path);
  if (dump_filter) {
    State* state = new State();
    if (!Compile(plan, state, &error)) Usage(error);
    for (const sock_filter& f : BuildFilter(*state)) printf("%u %u %u %u\n", f.code, f.jt, f.jf, f.k);
    delete state;
  }
  if (check) return 0;

  if (!have_seed) {
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<uint64_t>(getpid()) * 2654435761u;
    seed &= (1ULL << 53) - 1;  // printable and exact in JSON and Python
  }
  plan.seed = seed;
  fprintf(stderr, "ipcsuite inject: seed %llu\n", static_cast<unsigned long long>(seed));
  if (IsStatic(path))
    fprintf(stderr,
            "ipcsuite inject: %s is statically linked: no in-process agent, every matched call is decided "
            "by the supervisor (user notification)\n",
            path.c_str());
  fflush(stderr);
  if (access(agent.c_str(), R_OK) != 0) {
    fprintf(stderr, "ipcsuite inject: agent %s missing: every matched call is decided by the supervisor\n",
            agent.c_str());
    agent.clear();
  }

  // Die with whoever started us (the runner); the program dies with us (PR_SET_PDEATHSIG in the child).
  LaunchOptions o;
  o.path = path;
  o.argv = prog_argv;
  o.agent = agent;
  o.subreaper = true;
  signal(SIGPIPE, SIG_IGN);
  Outcome out;
  if (!Run(plan, o, &out, &error)) {
    fprintf(stderr, "ipcsuite inject: error: %s\n", error.c_str());
    return 2;
  }
  if (log != nullptr) {
    bool written = fwrite(out.log_text.data(), 1, out.log_text.size(), log) == out.log_text.size();
    if (fclose(log) != 0 || !written)
      fprintf(stderr, "ipcsuite inject: cannot write log %s\n", log_path.c_str());
  }
  fprintf(
      stderr,
      "ipcsuite inject: %zu faults injected (calls decided: %llu in-process, %llu by the supervisor%s)%s%s\n",
      out.log.size() + out.dropped, static_cast<unsigned long long>(out.agent_calls),
      static_cast<unsigned long long>(out.supervisor_calls),
      out.supervisor_restarts
          ? (", " + std::to_string(out.supervisor_restarts) + " restarted by the kernel, not counted again")
                .c_str()
          : "",
      log_path.empty() ? "" : "; log: ", log_path.c_str());
  bool kernel_rules = false;
  {
    State* probe = new State();
    std::string ignored;
    if (Compile(plan, probe, &ignored))
      for (int r = 0; r < probe->nrules; ++r) kernel_rules = kernel_rules || IsKernelRule(*probe, r);
    delete probe;
  }
  if (kernel_rules)
    fprintf(stderr,
            "ipcsuite inject: unconditional rules failed their calls in the kernel filter (not counted)\n");
  int st = out.wait_status;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}
