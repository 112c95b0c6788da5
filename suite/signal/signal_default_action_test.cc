// signal(7)'s table of standard signals: the default action of every standard signal (and of real-time
// signals), checked by wait status: Term (killed by the signal, no core), Core (killed by it, a core dump
// where enabled), Ign (keeps running), Stop (stopped, WSTOPSIG), Cont (keeps running). And SIGSEGV, SIGBUS,
// SIGFPE, SIGILL raised by real faults, with their si_code. Rules in suite/rules/signal-delivery.ini.
//
// Core dumps: the dying process is a grandchild. Where /proc/sys/kernel/core_pattern names a plain file in
// the working directory (no '|' helper, no '/'), it runs in a TempDir with RLIMIT_CORE raised to its hard
// limit and /proc/self/coredump_filter = 0 (a small dump): there the core flag is checked both ways (set for
// Core, clear for Term) and the dump file is removed with the TempDir. Elsewhere (a pipe to a helper such as
// systemd-coredump, an absolute path) a dump would leave files the suite does not own, so the process sets
// RLIMIT_CORE = 0 and PR_SET_DUMPABLE 0 (which also stops pipe helpers) and only the signal is checked.
// The fault tests always disable dumps that way.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "ipcsuite/fixtures.h"
#include "signal_delivery_util.h"

namespace ipc {
namespace {

using namespace signal_util;

enum class Action { kTerm, kCore, kIgn, kStop, kCont };

const char* ActionName(Action a) {
  switch (a) {
    case Action::kTerm:
      return "Term";
    case Action::kCore:
      return "Core";
    case Action::kIgn:
      return "Ign";
    case Action::kStop:
      return "Stop";
    case Action::kCont:
      return "Cont";
  }
  return "?";
}

// "" when a core dump can be checked here (core_pattern a plain relative file name, RLIMIT_CORE hard limit
// large enough, not traced), else why not. A tracer that resolves paths itself (proot) emulates chdir(2): the
// kernel would write the dump into the directory it was started in, not the test's, and leave it there.
std::string CoreCheckUnavailableReason() {
  {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("TracerPid:", 0) != 0) continue;
      long tracer = std::stol(line.substr(10));
      if (tracer != 0)
        return "traced by pid " + std::to_string(tracer) +
               ": a tracer may emulate chdir (proot), so the dump would land outside the test's directory";
    }
  }
  FileDescriptor fd(open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "/proc/sys/kernel/core_pattern is unreadable";
  char buf[256] = {};
  ssize_t n = read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return "/proc/sys/kernel/core_pattern is unreadable";
  std::string pattern(buf, static_cast<size_t>(n));
  while (!pattern.empty() && pattern.back() == '\n') pattern.pop_back();
  if (pattern.empty() || pattern[0] == '|') return "core_pattern pipes dumps to a helper (" + pattern + ")";
  if (pattern.find('/') != std::string::npos)
    return "core_pattern writes outside the working directory (" + pattern + ")";
  struct rlimit rl;
  if (getrlimit(RLIMIT_CORE, &rl) != 0 || (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (1 << 20)))
    return "the RLIMIT_CORE hard limit is below 1 MiB";
  return "";
}

// In the dying grandchild: no core dump at all.
void DisableCoreDumps() {
  struct rlimit zero = {0, 0};
  setrlimit(RLIMIT_CORE, &zero);
  prctl(PR_SET_DUMPABLE, 0);
}

// In the dying grandchild: a small core dump into `dir`. Returns false when the setup failed.
bool EnableCoreDumpsIn(const std::string& dir) {
  if (chdir(dir.c_str()) != 0) return false;
  struct rlimit rl;
  if (getrlimit(RLIMIT_CORE, &rl) != 0) return false;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_CORE, &rl) != 0) return false;
  int fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!write(fd, "0", 1);
    close(fd);
  }
  return prctl(PR_SET_DUMPABLE, 1) == 0;
}

int FilesIn(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") ++n;
  }
  closedir(d);
  return n;
}

struct DefaultActionRow {
  const char* name;
  rules::RuleList rules;
  int sig;  // 0: SIGRTMIN, -1: SIGRTMAX (not constants)
  Action action;
};
const DefaultActionRow kDefaultActions[] = {
    {"SIGHUP", {"signal.default-action-sighup"}, SIGHUP, Action::kTerm},
    {"SIGINT", {"signal.default-action-sigint"}, SIGINT, Action::kTerm},
    {"SIGQUIT", {"signal.default-action-sigquit"}, SIGQUIT, Action::kCore},
    {"SIGILL", {"signal.default-action-sigill"}, SIGILL, Action::kCore},
    {"SIGTRAP", {"signal.default-action-sigtrap"}, SIGTRAP, Action::kCore},
    {"SIGABRT", {"signal.default-action-sigabrt"}, SIGABRT, Action::kCore},
    {"SIGBUS", {"signal.default-action-sigbus"}, SIGBUS, Action::kCore},
    {"SIGFPE", {"signal.default-action-sigfpe"}, SIGFPE, Action::kCore},
    {"SIGKILL", {"signal.default-action-sigkill"}, SIGKILL, Action::kTerm},
    {"SIGUSR1", {"signal.default-action-sigusr1"}, SIGUSR1, Action::kTerm},
    {"SIGSEGV", {"signal.default-action-sigsegv"}, SIGSEGV, Action::kCore},
    {"SIGUSR2", {"signal.default-action-sigusr2"}, SIGUSR2, Action::kTerm},
    {"SIGPIPE", {"signal.default-action-sigpipe"}, SIGPIPE, Action::kTerm},
    {"SIGALRM", {"signal.default-action-sigalrm"}, SIGALRM, Action::kTerm},
    {"SIGTERM", {"signal.default-action-sigterm"}, SIGTERM, Action::kTerm},
    {"SIGSTKFLT", {"signal.default-action-sigstkflt"}, SIGSTKFLT, Action::kTerm},
    {"SIGCHLD", {"signal.default-action-sigchld"}, SIGCHLD, Action::kIgn},
    {"SIGCONT", {"signal.default-action-sigcont"}, SIGCONT, Action::kCont},
    {"SIGSTOP", {"signal.default-action-sigstop"}, SIGSTOP, Action::kStop},
    {"SIGTSTP", {"signal.default-action-sigtstp"}, SIGTSTP, Action::kStop},
    {"SIGTTIN", {"signal.default-action-sigttin"}, SIGTTIN, Action::kStop},
    {"SIGTTOU", {"signal.default-action-sigttou"}, SIGTTOU, Action::kStop},
    {"SIGURG", {"signal.default-action-sigurg"}, SIGURG, Action::kIgn},
    {"SIGXCPU", {"signal.default-action-sigxcpu"}, SIGXCPU, Action::kCore},
    {"SIGXFSZ", {"signal.default-action-sigxfsz"}, SIGXFSZ, Action::kCore},
    {"SIGVTALRM", {"signal.default-action-sigvtalrm"}, SIGVTALRM, Action::kTerm},
    {"SIGPROF", {"signal.default-action-sigprof"}, SIGPROF, Action::kTerm},
    {"SIGWINCH", {"signal.default-action-sigwinch"}, SIGWINCH, Action::kIgn},
    {"SIGIO", {"signal.default-action-sigio"}, SIGIO, Action::kTerm},
    {"SIGPWR", {"signal.default-action-sigpwr"}, SIGPWR, Action::kTerm},
    {"SIGSYS", {"signal.default-action-sigsys"}, SIGSYS, Action::kCore},
    {"SIGRTMIN", {"signal.default-action-realtime"}, 0, Action::kTerm},
    {"SIGRTMAX", {"signal.default-action-realtime"}, -1, Action::kTerm},
};

class SignalDefaultAction : public ::testing::TestWithParam<DefaultActionRow> {};
IPC_TEST_P(SignalDefaultAction, WaitStatusShowsTheAction) {
  const DefaultActionRow& row = GetParam();
  int sig = row.sig == 0 ? SIGRTMIN : row.sig == -1 ? SIGRTMAX : row.sig;
  Action action = row.action;
  std::string no_core = CoreCheckUnavailableReason();
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  std::string path = dir.path();
  Child c = Child::Spawn(
      [&] {
        pid_t pid = ForkRaw([&] {
          struct sigaction dfl = {};
          dfl.sa_handler = SIG_DFL;
          sigemptyset(&dfl.sa_mask);
          sigaction(sig, &dfl, nullptr);  // fails (EINVAL) for SIGKILL and SIGSTOP, which are SIG_DFL anyway
          sigset_t all;
          sigemptyset(&all);
          sigprocmask(SIG_SETMASK, &all, nullptr);
          if (no_core.empty()) {
            if (!EnableCoreDumpsIn(path)) return 120;
          } else {
            DisableCoreDumps();
          }
          raise(sig);
          return 0;
        });
        ASSERT_THAT(pid, SyscallSucceeds());
        int st = 0;
        ASSERT_THAT(WaitPid(pid, &st, WUNTRACED), SyscallSucceedsWithValue(pid));
        std::string got = ExitStatus::FromWaitStatus(st).Describe();
        switch (action) {
          case Action::kTerm:
          case Action::kCore:
            ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sig)
                << ActionName(action) << ": expected to be killed by " << SignalName(sig) << ", " << got;
            if (no_core.empty()) {
              bool want_core = action == Action::kCore;
              EXPECT_EQ(static_cast<bool>(WCOREDUMP(st)), want_core) << got;
              // Core: a dump in the directory; an emulator (qemu-user) may write the guest's own core file
              // beside the kernel's, which the rule allows. Term: none.
              if (want_core)
                EXPECT_GE(FilesIn(path), 1) << "no core file in the dump directory";
              else
                EXPECT_EQ(FilesIn(path), 0) << "files in the dump directory";
            }
            break;
          case Action::kIgn:
          case Action::kCont:
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << ActionName(action) << ": " << got;
            break;
          case Action::kStop:
            EXPECT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == sig)
                << "Stop: expected to be stopped by " << SignalName(sig) << ", status " << st;
            if (WIFSTOPPED(st)) {
              ASSERT_THAT(kill(pid, SIGCONT), SyscallSucceeds());
              ExpectReapedExit(pid);
            }
            break;
        }
      },
      {.what = "raising a signal at its default disposition in a grandchild"});
  c.ExpectExited(0);
  if (!no_core.empty() && (action == Action::kCore || action == Action::kTerm))
    RecordProperty("core_flag_unchecked", no_core);
}
IPC_INSTANTIATE_TABLE(Table, SignalDefaultAction, kDefaultActions);

// ---------------------------------------------------------------------------------------------------
// Signals from real faults.

// The fault handlers end the process with a code saying what they saw: 0 expected, 1 wrong si_code,
// 2 wrong si_addr.
std::atomic<int> g_want_code{0};
std::atomic<void*> g_want_addr{nullptr};
void FaultHandler(int, siginfo_t* info, void*) {
  if (info->si_code != g_want_code.load()) _exit(1);
  if (g_want_addr.load() != nullptr && info->si_addr != g_want_addr.load()) _exit(2);
  _exit(0);
}

void InstallFaultHandler(int sig, int code, void* addr) {
  g_want_code = code;
  g_want_addr = addr;
  (void)InstallSiginfoHandler(sig, FaultHandler);
}

// A page that was mapped and unmapped again: nothing is mapped there (SEGV_MAPERR).
void* UnmappedAddress() {
  long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, static_cast<size_t>(page), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  munmap(p, static_cast<size_t>(page));
  return p;
}

IPC_TEST(SignalFault, AccessToAProtNonePageKillsWithSigsegv, "signal.fault-sigsegv") {
  IPC_SKIP_UNDER_ADDRESS_SANITIZER("its runtime catches SIGSEGV and exits with a report");
  IPC_SKIP_UNDER_THREAD_SANITIZER("its runtime catches SIGSEGV, reports it and exits with status 66");
  Child c = Child::Spawn(
      [&] {
        DisableCoreDumps();
        InaccessiblePage page;
        ASSERT_TRUE(page.ok());
        *page.as<volatile int>() = 1;
      },
      {.what = "writing to a PROT_NONE page"});
  c.ExpectKilledBy(SIGSEGV);
}

IPC_TEST(SignalFault, SigsegvSiginfoSaysAccerrAndTheAddress, "signal.fault-sigsegv") {
  Child c = Child::SpawnWithExitCode(
      [&] {
        DisableCoreDumps();
        InaccessiblePage page;
        if (!page.ok()) return 50;
        InstallFaultHandler(SIGSEGV, SEGV_ACCERR, page.get());
        *page.as<volatile int>() = 1;
        return 3;
      },
      {.what = "catching SIGSEGV from a PROT_NONE page"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe() << " (1 wrong si_code, 2 wrong si_addr, 3 no fault)";
}

IPC_TEST(SignalFault, SigsegvSiginfoSaysMaperrForAnUnmappedAddress, "signal.fault-sigsegv") {
  Child c = Child::SpawnWithExitCode(
      [&] {
        DisableCoreDumps();
        void* addr = UnmappedAddress();
        if (addr == nullptr) return 50;
        InstallFaultHandler(SIGSEGV, SEGV_MAPERR, addr);
        *static_cast<volatile int*>(addr) = 1;
        return 3;
      },
      {.what = "catching SIGSEGV from an unmapped address"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe() << " (1 wrong si_code, 2 wrong si_addr, 3 no fault)";
}

// A shared mapping of an empty file: touching it is past the end of the file.
PosixResult<void*> MapPastEndOfFile(const TempDir& dir) {
  int fd = open(dir.Path("empty").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return PosixResult<void*>::Error(errno, "open");
  void* p =
      mmap(nullptr, static_cast<size_t>(sysconf(_SC_PAGESIZE)), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) return PosixResult<void*>::Error(err, "mmap");
  return p;
}

IPC_TEST(SignalFault, AccessPastTheEndOfAMappedFileKillsWithSigbus, "signal.fault-sigbus") {
  IPC_SKIP_UNDER_ADDRESS_SANITIZER("its runtime catches SIGBUS and exits with a report");
  IPC_SKIP_UNDER_THREAD_SANITIZER("its runtime catches SIGBUS, reports it and exits with status 66");
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  Child c = Child::Spawn(
      [&] {
        DisableCoreDumps();
        ASSERT_OK_AND_ASSIGN(void* p, MapPastEndOfFile(dir));
        *static_cast<volatile char*>(p) = 1;
      },
      {.what = "touching a mapping past the end of its file"});
  c.ExpectKilledBy(SIGBUS);
}

IPC_TEST(SignalFault, SigbusSiginfoSaysAdrerrAndTheAddress, "signal.fault-sigbus") {
  ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create());
  Child c = Child::SpawnWithExitCode(
      [&] {
        DisableCoreDumps();
        PosixResult<void*> p = MapPastEndOfFile(dir);
        if (!p.ok()) return 50;
        InstallFaultHandler(SIGBUS, BUS_ADRERR, p.value());
        *static_cast<volatile char*>(p.value()) = 1;
        return 3;
      },
      {.what = "catching SIGBUS from a mapping past the end of its file"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe() << " (1 wrong si_code, 2 wrong si_addr, 3 no fault, 50 setup)";
}

volatile int g_zero = 0;

IPC_TEST(SignalFault, IntegerDivisionByZeroKillsWithSigfpe, "signal.fault-sigfpe") {
  IPC_SKIP_UNDER_ADDRESS_SANITIZER("UBSan reports the integer division by zero before it happens");
  IPC_SKIP_UNDER_THREAD_SANITIZER("its runtime catches SIGFPE, reports it and exits with status 66");
  Child c = Child::Spawn(
      [&] {
        DisableCoreDumps();
        volatile int x = 7 / g_zero;
        (void)x;
      },
      {.what = "dividing an integer by zero"});
  c.ExpectKilledBy(SIGFPE);
}

IPC_TEST(SignalFault, SigfpeSiginfoSaysIntdiv, "signal.fault-sigfpe") {
  IPC_SKIP_UNDER_ADDRESS_SANITIZER("UBSan reports the integer division by zero before it happens");
  Child c = Child::SpawnWithExitCode(
      [&] {
        DisableCoreDumps();
        InstallFaultHandler(SIGFPE, FPE_INTDIV, nullptr);
        volatile int x = 7 / g_zero;
        (void)x;
        return 3;
      },
      {.what = "catching SIGFPE from an integer division by zero"});
  ExitStatus st = c.Wait();
  EXPECT_TRUE(st.Exited(0)) << st.Describe() << " (1 wrong si_code, 3 no fault)";
}

}  // namespace
}  // namespace ipc
