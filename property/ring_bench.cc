// ipcsuite-ring-bench: throughput of the reference rings (the System V one, ring.h, and the POSIX one,
// posix_ring.h) against a pipe and a System V message queue, moving the same messages between the same
// processes (P producer processes, one consumer process).
//
//   ipcsuite-ring-bench [--sizes 64,4096,65536] [--producers 1,2] [--rounds N] [--mib M]
//                       [--transports ring,posix,pipe,msgq]
//
// Prints one line per measurement: "transport=ring size=4096 producers=1 round=0 messages=N seconds=S
// cpu=C" (C: CPU seconds of all the measurement's processes).
// Everything runs inside a private IPC namespace (unshare(CLONE_NEWIPC), needs CAP_SYS_ADMIN), so a
// killed benchmark leaves no System V object behind; in it the message queue limits (msgmax, msgmnb)
// are raised so that a 64 KiB message fits, without touching the host's. The POSIX ring's shared memory
// object is unlinked as soon as it is mapped (its processes share the mapping by fork), so that a killed
// benchmark leaves no name in /dev/shm either.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ipcsuite/fd.h"
#include "ipcsuite/limits.h"
#include "posix_ring.h"
#include "ring.h"

namespace {

enum class Kind { kRing, kPosixRing, kPipe, kMsg };
struct Transport {
  Kind kind;
  const char* name;  // as --transports and the output name it
};
constexpr Transport kTransports[] = {
    {Kind::kRing, "ring"}, {Kind::kPosixRing, "posix"}, {Kind::kPipe, "pipe"}, {Kind::kMsg, "msgq"}};

// Room for messages in flight, the same for every transport (the queue's msgmnb is set to it too).
constexpr size_t kBufferBytes = 1u << 20;
const char* Name(Kind k) {
  return std::find_if(std::begin(kTransports), std::end(kTransports),
                      [k](const Transport& t) { return t.kind == k; })
      ->name;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ipcsuite-ring-bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

void SetProcSys(const char* path, long value) {
  if (::testing::AssertionResult written = ipc::limits::WriteProcSys(path, std::to_string(value)); !written) {
    std::fprintf(stderr, "ipcsuite-ring-bench: %s\n", written.message());
    std::exit(2);
  }
}

struct MsgBuf {
  long mtype;
  char mtext[1];
};

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Figures {
  double seconds;  // from releasing the producers to the last byte received
  double cpu;      // CPU time (user + system) of the consumer and the producers: what the load on a
                   // shared machine does not change, unlike `seconds`
};

// One measurement: `producers` processes send `count` messages of `size` bytes in all; this process
// receives them.
Figures Measure(Kind kind, size_t size, int producers, long count) {
  const double cpu_before = CpuSeconds(RUSAGE_SELF) + CpuSeconds(RUSAGE_CHILDREN);
  ipc::ring::Ring* ring = nullptr;
  ipc::PosixResult<ipc::ring::Ring> created = ipc::PosixResult<ipc::ring::Ring>::Error(0, "");
  ipc::ring::posix::PosixRing* pring = nullptr;
  ipc::PosixResult<ipc::ring::posix::PosixRing> pcreated =
      ipc::PosixResult<ipc::ring::posix::PosixRing>::Error(0, "");
  // 1 MiB of slots (at least 4; at most SEMVMX, the largest semaphore value): the same buffer as the pipe
  // and the message queue below, so no transport blocks more often for lack of room.
  auto slots = static_cast<uint32_t>(std::clamp<size_t>(kBufferBytes / size, 4, 32767));
  int pfd[2] = {-1, -1};
  int msqid = -1;
  if (kind == Kind::kRing) {
    created = ipc::ring::Ring::Create({.slots = slots, .slot_bytes = static_cast<uint32_t>(size)});
    if (!created.ok()) Die("creating the ring: " + created.error());
    ring = &created.value();
  } else if (kind == Kind::kPosixRing) {
    pcreated =
        ipc::ring::posix::PosixRing::Create({.slots = slots, .slot_bytes = static_cast<uint32_t>(size)});
    if (!pcreated.ok()) Die("creating the POSIX ring: " + pcreated.error());
    pring = &pcreated.value();
    if (shm_unlink(pring->name().c_str()) != 0) Die("shm_unlink " + pring->name());
  } else if (kind == Kind::kPipe) {
    if (pipe(pfd) != 0) Die("pipe");
    // 1 MiB like the others (the default is 64 KiB; 1 MiB is the default /proc/sys/fs/pipe-max-size).
    if (fcntl(pfd[1], F_SETPIPE_SZ, static_cast<int>(kBufferBytes)) < 0) Die("fcntl(F_SETPIPE_SZ)");
  } else {
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (msqid < 0) Die("msgget");
  }
  int gate[2];
  if (pipe(gate) != 0) Die("pipe");
  std::vector<pid_t> pids;
  const pid_t parent = getpid();
  for (int p = 0; p < producers; ++p) {
    long mine = count / producers + (p < count % producers ? 1 : 0);
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      close(gate[1]);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      std::vector<char> buf(sizeof(long) + size, static_cast<char>('a' + p));
      auto* mb = reinterpret_cast<MsgBuf*>(buf.data());
      mb->mtype = 1;
      std::span<const std::byte> msg(reinterpret_cast<const std::byte*>(buf.data() + sizeof(long)), size);
      for (long i = 0; i < mine; ++i) {
        bool ok = true;
        if (kind == Kind::kRing)
          ok = ring->Push(msg) == ipc::ring::Status::kOk;
        else if (kind == Kind::kPosixRing)
          ok = pring->Push(msg) == ipc::ring::Status::kOk;
        else if (kind == Kind::kPipe)
          ok = ipc::WriteAll(pfd[1], buf.data() + sizeof(long), size);
        else
          while (!(ok = msgsnd(msqid, mb, size, 0) == 0) && errno == EINTR) {
          }
        if (!ok) _exit(3);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  if (pfd[1] >= 0) close(pfd[1]);
  std::vector<std::byte> out;
  std::vector<char> buf(sizeof(long) + size);
  auto* mb = reinterpret_cast<MsgBuf*>(buf.data());
  const auto start = std::chrono::steady_clock::now();
  close(gate[1]);  // go
  for (long i = 0; i < count; ++i) {
    if (kind == Kind::kRing) {
      if (ring->Pop(&out) != ipc::ring::Status::kOk || out.size() != size) Die("ring pop");
    } else if (kind == Kind::kPosixRing) {
      if (pring->Pop(&out) != ipc::ring::Status::kOk || out.size() != size) Die("POSIX ring pop");
    } else if (kind == Kind::kPipe) {
      if (!ipc::ReadAll(pfd[0], buf.data(), size)) Die("pipe read");
    } else {
      ssize_t n;
      while ((n = msgrcv(msqid, mb, size, 0, 0)) < 0 && errno == EINTR) {
      }
      if (n != static_cast<ssize_t>(size)) Die("msgrcv");
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (pid_t pid : pids) {
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      errno = 0;
      Die(std::string(Name(kind)) + " producer failed");
    }
  }
  if (ring != nullptr) ring->Close();
  if (pring != nullptr) pring->Close();
  if (pfd[0] >= 0) close(pfd[0]);
  if (msqid >= 0) msgctl(msqid, IPC_RMID, nullptr);
  return {seconds, CpuSeconds(RUSAGE_SELF) + CpuSeconds(RUSAGE_CHILDREN) - cpu_before};
}

std::vector<long> ParseList(const char* s) {
  std::vector<long> v;
  for (const char* p = s; *p;) {
    char* end;
    long x = std::strtol(p, &end, 10);
    if (end == p || x <= 0) {
      std::fprintf(stderr, "ipcsuite-ring-bench: bad list: %s\n", s);
      std::exit(2);
    }
    v.push_back(x);
    p = *end == ',' ? end + 1 : end;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> sizes = {64, 4096, 65536}, producers = {1, 2};
  long rounds = 3, mib = 64;
  std::vector<Kind> kinds;
  for (const Transport& t : kTransports) kinds.push_back(t.kind);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ipcsuite-ring-bench: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--sizes")
      sizes = ParseList(argv[++i]);
    else if (a == "--producers")
      producers = ParseList(argv[++i]);
    else if (a == "--rounds")
      rounds = ParseList(argv[++i])[0];
    else if (a == "--mib")
      mib = ParseList(argv[++i])[0];
    else if (a == "--transports") {
      kinds.clear();
      for (std::string rest = argv[++i]; !rest.empty();) {
        std::string t = rest.substr(0, rest.find(','));
        rest = t.size() < rest.size() ? rest.substr(t.size() + 1) : "";
        auto known = std::find_if(std::begin(kTransports), std::end(kTransports),
                                  [&](const Transport& k) { return t == k.name; });
        if (known == std::end(kTransports)) {
          std::fprintf(stderr, "ipcsuite-ring-bench: unknown transport %s (ring, posix, pipe, msgq)\n",
                       t.c_str());
          return 2;
        }
        kinds.push_back(known->kind);
      }
      if (kinds.empty()) {
        std::fprintf(stderr,
                     "ipcsuite-ring-bench: --transports needs at least one of ring, posix, pipe, msgq\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "ipcsuite-ring-bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (unshare(CLONE_NEWIPC) != 0) Die("unshare(CLONE_NEWIPC) (needs root)");
  // Per-namespace limits: let one 64 KiB message (and 1 MiB of them) into a message queue.
  long biggest = *std::max_element(sizes.begin(), sizes.end());
  SetProcSys("/proc/sys/kernel/msgmax", std::max(biggest, 8192L));
  SetProcSys("/proc/sys/kernel/msgmnb", std::max(biggest * 4, static_cast<long>(kBufferBytes)));
  for (long r = 0; r < rounds; ++r) {
    for (long size : sizes) {
      long count = std::clamp<long>((mib << 20) / size, 1000, 200000);
      for (long p : producers) {
        for (Kind k : kinds) {  // side by side in every round
          Figures f = Measure(k, static_cast<size_t>(size), static_cast<int>(p), count);
          std::printf("transport=%s size=%ld producers=%ld round=%ld messages=%ld seconds=%.6f cpu=%.6f\n",
                      Name(k), size, p, r, count, f.seconds, f.cpu);
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}
