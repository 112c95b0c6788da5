// Helpers shared by the System V semaphore tests (suite/sem/*.cc; rules in suite/rules/sem.ini).
//
// Synchronisation with children that block in semop(2) is by blocked-state detection
// (WaitUntilBlockedIn(pid, SYS_semtimedop): glibc implements semop() with the semtimedop system call) and by
// the kernel's own counters (GETNCNT/GETZCNT), never by sleeping.
//
// Other users: tests that use fixed keys or limits run only in the private IPC namespace the test main
// entered; tests that lower limits or fill the semaphore tables do it in a further, new IPC namespace made
// by a child (unshare(CLONE_NEWIPC)), whose /proc/sys/kernel/sem is its own.
#pragma once

#include <sys/sem.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc::sem_util {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Fixed keys: used only by tests that require the private IPC namespace (or a new one made by a child).
inline constexpr key_t kKeyA = 0x53454d01;
inline constexpr key_t kKeyB = 0x53454d02;

// One sembuf.
inline sembuf Op(unsigned short num, short op, short flg = 0) {
  sembuf s{};
  s.sem_num = num;
  s.sem_op = op;
  s.sem_flg = flg;
  return s;
}

inline int Semop(int id, std::vector<sembuf> ops) { return semop(id, ops.data(), ops.size()); }

inline int Semtimedop(int id, std::vector<sembuf> ops, const timespec* timeout) {
  return semtimedop(id, ops.data(), ops.size(), timeout);
}

// semctl(2) GETVAL, SETVAL, GETNCNT, GETZCNT, GETPID, SETALL: semctl's result, errno intact.
int GetVal(int id, int num);
int SetVal(int id, int num, int val);
int GetNcnt(int id, int num);
int GetZcnt(int id, int num);
int GetPid(int id, int num);
int SetAll(int id, std::vector<unsigned short> values);

// GETALL into a vector of `nsems` values; an empty vector (and a test failure) when it fails.
std::vector<unsigned short> GetAll(int id, size_t nsems);

// IPC_STAT (or `cmd`, e.g. SEM_STAT) into a semid_ds.
PosixResult<semid_ds> Stat(int id, int cmd = IPC_STAT);

// IPC_SET from a copy of `ds`.
int SetDs(int id, const semid_ds& ds);

// IPC_INFO or SEM_INFO; `ret` receives semctl's return value (the highest used index).
PosixResult<seminfo> Info(int cmd, int* ret = nullptr);

// SEMVMX, the largest value a semaphore can hold, as the kernel reports it (seminfo.semvmx, IPC_INFO).
// semop(2) and semctl(2) document it as implementation dependent (32767); SemCtlInfo.SemvmxIs32767 pins
// the documented number separately.
PosixResult<int> SemVmx();

// Index (slot) of set `id` in the kernel's table, found with SEM_STAT_ANY; -1 when not found.
int IndexOf(int id);

// A one-shot "go" from the test to a child: the child blocks in read(2) in AwaitGate() until OpenGate().
void AwaitGate(const Pipe& gate);
void OpenGate(const Pipe& gate);

// A child that runs semop(id, ops) and expects it to fail with `err`, or to succeed when `err` is 0.
[[nodiscard]] Child SemopChild(int id, std::vector<sembuf> ops, int err, std::string what);

// A child that runs semop(id, ops), which must succeed, and then waits in AwaitGate(gate) (blocked in
// read(2)) until OpenGate(gate): it holds its SEM_UNDO adjustments until it exits or is killed.
[[nodiscard]] Child GatedSemopChild(int id, std::vector<sembuf> ops, const Pipe& gate, std::string what);

// Writes the four /proc/sys/kernel/sem limits (SEMMSL SEMMNS SEMOPM SEMMNI) of the caller's IPC namespace,
// through limits::WriteProcSys.
::testing::AssertionResult WriteSemLimits(const limits::SemLimits& l);

// A semctl(2) command by name, the parameter of the per-command tables.
struct CommandCase {
  const char* name;
  int cmd;
};

std::string CommandName(const ::testing::TestParamInfo<CommandCase>& info);

// Calls semctl with `cmd` on a 3-semaphore set, with a valid argument for the command. SEM_STAT and
// SEM_STAT_ANY take the set's index instead of its id.
int CallCommand(int id, int index, int cmd);

}  // namespace ipc::sem_util
