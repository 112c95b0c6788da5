// Helpers shared by the System V shared memory tests; see shm_util.h.
#include "shm_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace ipc::shm_util {

PosixResult<struct shmid_ds> Stat(int id) {
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof ds);
  if (::shmctl(id, IPC_STAT, &ds) != 0) return PosixResult<struct shmid_ds>::Error(errno, "shmctl(IPC_STAT)");
  return ds;
}

bool SetRlimit(int resource, rlim_t value) {
  struct rlimit rl = {value, value};
  return ::setrlimit(resource, &rl) == 0;
}

std::string RmidForcedOffOrWhyNot() {
  auto v = limits::ReadProcSysLong(kShmRmidForced);
  if (!v.ok()) return v.error();
  if (v.value() == 0) return "";
  if (!isolation::InPrivateIpcNamespace())
    return std::string(
               "kernel.shm_rmid_forced is 1 (segments die on their last detach) and there is no "
               "private IPC namespace to reset it in: ") +
           isolation::IpcNamespaceUnavailableReason();
  if (::testing::AssertionResult written = limits::WriteProcSys(kShmRmidForced, "0"); !written)
    return std::string("resetting shm_rmid_forced to 0 in the private IPC namespace failed: ") +
           written.message();
  return "";
}

AnonMapping::AnonMapping(size_t len, int prot) : len_(len), owner_(::getpid()) {
  addr_ = ::mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

AnonMapping::~AnonMapping() {
  if (ok() && owner_ == ::getpid()) ::munmap(addr_, len_);
}

PosixResult<char*> FreeAlignedRange(size_t len, size_t align) {
  size_t total = len + 2 * align;
  void* p = ::mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return PosixResult<char*>::Error(errno, "mmap");
  uintptr_t start = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = (start + align - 1) / align * align;
  ::munmap(p, total);
  return reinterpret_cast<char*>(base);
}

std::string MappingPerms(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) return perms;
  }
  return "";
}

bool SendInt(int fd, int v) { return WriteAll(fd, &v, sizeof v); }

PosixResult<int> ReceiveInt(int fd) {
  int v = 0;
  if (!ReadAll(fd, &v, sizeof v))
    return PosixResult<int>::Error(errno ? errno : EPIPE, "reading from the child");
  return v;
}

PosixResult<SegmentFromChild> CreateSegmentInChild(size_t size, int flags, const std::string& what,
                                                   const std::function<void(const ShmSegment&)>& use) {
  auto p = Pipe::Create(O_CLOEXEC);
  if (!p.ok()) return PosixResult<SegmentFromChild>::Error(p.error_number(), "pipe2");
  Pipe& pipe = p.value();
  Child c = Child::Spawn(
      [&] {
        ASSERT_OK_AND_ASSIGN(ShmSegment seg, ShmSegment::Create(IPC_PRIVATE, size, flags));
        if (use) use(seg);
        if (::testing::Test::HasFatalFailure()) return;
        ASSERT_TRUE(SendInt(pipe.write.get(), seg.Release()));
      },
      {.what = what});
  const pid_t creator = c.pid();  // Wait() forgets it
  pipe.write.Close();
  auto id = ReceiveInt(pipe.read.get());
  if (!id.ok())
    return PosixResult<SegmentFromChild>::Error(id.error_number(),
                                                "receiving the id of the segment of " + what);
  ShmSegment seg = ShmSegment::Adopt(id.value());
  c.ExpectExited(0);
  return SegmentFromChild{std::move(seg), creator};
}

PosixResult<Handshake> Handshake::Create() {
  auto u = Pipe::Create(O_CLOEXEC);
  if (!u.ok()) return PosixResult<Handshake>::Error(u.error_number(), "pipe2");
  auto d = Pipe::Create(O_CLOEXEC);
  if (!d.ok()) return PosixResult<Handshake>::Error(d.error_number(), "pipe2");
  return Handshake{std::move(u).value(), std::move(d).value()};
}

bool Handshake::Signal() { return WriteAll(up.write.get(), "s", 1); }

bool Handshake::AwaitGo() {
  char c;
  return ReadAll(down.read.get(), &c, 1);
}

void Handshake::CloseChildEnds() {
  up.write.Close();
  down.read.Close();
}

::testing::AssertionResult Handshake::AwaitSignal() {
  milliseconds deadline = ScaledDeadline(milliseconds(5000));
  struct pollfd pfd = {up.read.get(), POLLIN, 0};
  int n = ::poll(&pfd, 1, static_cast<int>(deadline.count()));
  if (n < 0) return ::testing::AssertionFailure() << "poll failed with " << DescribeErrno(errno);
  if (n == 0)
    return ::testing::AssertionFailure() << "the child did not report within " << deadline.count() << " ms";
  char c;
  ssize_t r = ::read(up.read.get(), &c, 1);
  if (r != 1) return ::testing::AssertionFailure() << "the child ended before reporting its step";
  return ::testing::AssertionSuccess();
}

bool Handshake::Go() {
  ScopedSigaction no_sigpipe(SIGPIPE, SIG_IGN);  // a child that died must not kill the test
  return WriteAll(down.write.get(), "g", 1);
}

unsigned long long TotalMemory() {
  struct sysinfo si;
  if (::sysinfo(&si) != 0) return 0;
  return (static_cast<unsigned long long>(si.totalram) + si.totalswap) * si.mem_unit;
}

size_t HugePageSize() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  std::string unit;
  while (in >> key) {
    if (key == "Hugepagesize:") {
      in >> kb >> unit;
      return kb * 1024;
    }
    std::getline(in, unit);
  }
  return 0;
}

size_t AddressSpaceSize() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0;
  in >> pages;
  return pages * Page();
}

void Fill(void* p, size_t len, unsigned seed) {
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<unsigned char>((i * 31 + seed) & 0xff);
}

size_t FirstMismatch(const void* p, size_t len, unsigned seed) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < len; ++i)
    if (b[i] != static_cast<unsigned char>((i * 31 + seed) & 0xff)) return i;
  return len;
}

}  // namespace ipc::shm_util
