// Helpers shared by the System V semaphore tests (see sem_util.h).
#include "sem_util.h"

#include <fcntl.h>

#include <cerrno>
#include <string>
#include <vector>

namespace ipc::sem_util {

int GetVal(int id, int num) {
  semun arg{};
  return semctl(id, num, GETVAL, arg);
}

int SetVal(int id, int num, int val) {
  semun arg{};
  arg.val = val;
  return semctl(id, num, SETVAL, arg);
}

int GetNcnt(int id, int num) {
  semun arg{};
  return semctl(id, num, GETNCNT, arg);
}

int GetZcnt(int id, int num) {
  semun arg{};
  return semctl(id, num, GETZCNT, arg);
}

int GetPid(int id, int num) {
  semun arg{};
  return semctl(id, num, GETPID, arg);
}

int SetAll(int id, std::vector<unsigned short> values) {
  semun arg{};
  arg.array = values.data();
  return semctl(id, 0, SETALL, arg);
}

// GETALL into a vector of `nsems` values; an empty vector (and a test failure) when it fails.
std::vector<unsigned short> GetAll(int id, size_t nsems) {
  std::vector<unsigned short> values(nsems, 0xdead);
  semun arg{};
  arg.array = values.data();
  if (semctl(id, 0, GETALL, arg) != 0) {
    ADD_FAILURE() << "semctl(GETALL) failed with " << DescribeErrno(errno);
    return {};
  }
  return values;
}

PosixResult<semid_ds> Stat(int id, int cmd) {
  semid_ds ds{};
  semun arg{};
  arg.buf = &ds;
  if (semctl(id, 0, cmd, arg) < 0) return PosixResult<semid_ds>::Error(errno, "semctl(IPC_STAT)");
  return ds;
}

int SetDs(int id, const semid_ds& ds) {
  semid_ds copy = ds;
  semun arg{};
  arg.buf = &copy;
  return semctl(id, 0, IPC_SET, arg);
}

// IPC_INFO or SEM_INFO; `ret` receives semctl's return value (the highest used index).
PosixResult<seminfo> Info(int cmd, int* ret) {
  seminfo info{};
  semun arg{};
  arg.__buf = &info;
  int r = semctl(0, 0, cmd, arg);
  if (r < 0)
    return PosixResult<seminfo>::Error(errno, cmd == IPC_INFO ? "semctl(IPC_INFO)" : "semctl(SEM_INFO)");
  if (ret != nullptr) *ret = r;
  return info;
}

// SEMVMX, the largest value a semaphore can hold, as the kernel reports it (seminfo.semvmx, IPC_INFO).
// semop(2) and semctl(2) document it as implementation dependent (32767); SemCtlInfo.SemvmxIs32767 pins
// the documented number separately.
PosixResult<int> SemVmx() {
  auto info = Info(IPC_INFO);
  if (!info.ok()) return PosixResult<int>::Error(info.error_number(), "semctl(IPC_INFO) for semvmx");
  return info.value().semvmx;
}

// Index (slot) of set `id` in the kernel's table, found with SEM_STAT_ANY, or with SEM_STAT (the caller can
// read its own sets) where SEM_STAT_ANY is missing (qemu-user): the tests of other rules must not depend on
// it; -1 when not found.
int IndexOf(int id) {
  int max_index = -1;
  if (!Info(IPC_INFO, &max_index).ok()) return -1;
  for (int cmd : {SEM_STAT_ANY, SEM_STAT}) {
    for (int i = 0; i <= max_index; ++i) {
      semid_ds ds{};
      semun arg{};
      arg.buf = &ds;
      if (semctl(i, 0, cmd, arg) == id) return i;
    }
  }
  return -1;
}

// A one-shot "go" from the test to a child: the child blocks in read(2) in AwaitGate() until OpenGate().
void AwaitGate(const Pipe& gate) {
  char b = 0;
  ASSERT_THAT(read(gate.read.get(), &b, 1), SyscallSucceedsWithValue(1));
}
void OpenGate(const Pipe& gate) { ASSERT_THAT(write(gate.write.get(), "g", 1), SyscallSucceedsWithValue(1)); }

// A child that runs semop(id, ops) and expects it to fail with `err`, or to succeed when `err` is 0.
Child SemopChild(int id, std::vector<sembuf> ops, int err, std::string what) {
  return Child::Spawn(
      [=] {
        if (err == 0) {
          EXPECT_THAT(Semop(id, ops), SyscallSucceeds()) << what;
        } else {
          EXPECT_THAT(Semop(id, ops), SyscallFailsWithErrno(err)) << what;
        }
      },
      {.what = what});
}

Child GatedSemopChild(int id, std::vector<sembuf> ops, const Pipe& gate, std::string what) {
  return Child::Spawn(
      [id, ops, &gate] {
        ASSERT_THAT(Semop(id, ops), SyscallSucceeds());
        AwaitGate(gate);
      },
      {.what = what});
}

// Writes the four /proc/sys/kernel/sem limits (SEMMSL SEMMNS SEMOPM SEMMNI) of the caller's IPC namespace.
::testing::AssertionResult WriteSemLimits(const limits::SemLimits& l) {
  return limits::WriteProcSys("/proc/sys/kernel/sem",
                              std::to_string(l.semmsl) + " " + std::to_string(l.semmns) + " " +
                                  std::to_string(l.semopm) + " " + std::to_string(l.semmni) + "\n");
}

std::string CommandName(const ::testing::TestParamInfo<CommandCase>& info) { return info.param.name; }

// Calls semctl with `cmd` on a 3-semaphore set, with a valid argument for the command. SEM_STAT and
// SEM_STAT_ANY take the set's index instead of its id.
int CallCommand(int id, int index, int cmd) {
  semid_ds ds{};
  unsigned short values[3] = {1, 1, 1};
  semun arg{};
  switch (cmd) {
    case GETALL:
    case SETALL:
      arg.array = values;
      break;
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      arg.buf = &ds;
      break;
    case SETVAL:
      arg.val = 1;
      break;
    default:
      break;
  }
  bool by_index = cmd == SEM_STAT || cmd == SEM_STAT_ANY;
  return semctl(by_index ? index : id, 0, cmd, arg);
}

}  // namespace ipc::sem_util
