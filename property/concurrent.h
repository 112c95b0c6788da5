// The concurrent properties (properties.h: Concurrent, ConcurrentUnderFaultsAndKills): a generated
// scenario of producer and consumer processes, the history they record in shared memory, and the judge
// that turns it into a linearizability question (linearizability.h). Generation and the case's driver
// are in concurrent.cc, the judge in concurrent_judge.cc. Rules: suite/rules/property.ini.
//
// Producer and consumer processes run their generated operations at once; every operation records its
// invocation and response (logical times from one shared counter) in a history that lives in memory
// shared with the property's own process, so that it survives kills and is checked there, next to
// the fault layer's log. Optionally, the case
//   - injects a per-process fault schedule (semop/semtimedop EINTR/EAGAIN: "semop=EINTR@3" is the
//     third semop call of every process of the case) and a creation fault (semget/shmget ENOMEM/ENOSPC
//     at the first call: Create must return that errno, leave nothing behind, and work the next time);
//   - kills processes mid-operation, one of four ways:
//       at a stage   the process SIGKILLs itself at a stage of its k-th operation (the ring's test hook);
//                    the outcome is then known exactly: before the commit the operation did not
//                    happen, after it it did (a pop that committed removed a message nobody receives);
//       after semop  it SIGKILLs itself right after the n-th successful semop call of its k-th
//                    operation, whatever that call was (claim, commit, or part of a broken commit);
//       when blocked once it sleeps in semtimedop (seen in /proc, with a deadline), it is SIGKILLed;
//       at a time    a POSIX timer sends SIGKILL after a generated number of microseconds: any point;
//     an operation cut by the last three is pending: it may or may not have taken effect (whole).
// After the run the ring is drained, its capacity checked (exactly `slots` try-pushes fit: a crash
// neither loses nor invents a slot), and the history checked for linearizability.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "property_util.h"
#include "ring.h"

namespace ipc::ring::prop {

enum class Side : uint8_t { kPush, kPop };

struct Event {
  uint32_t state;  // 0: reserved, 1: invoked (no response yet), 2: responded
  Side side;
  uint8_t wait;  // WaitKind
  uint8_t status;
  uint8_t torn;
  uint16_t process;
  uint16_t op;     // index of the operation in its process's list
  uint32_t value;  // pushed value; popped id (if intact)
  uint64_t invoke, response;
};

struct ProcEntry {
  int32_t pid;
  uint16_t process;
  uint8_t killed;  // ended by SIGKILL
  uint8_t other;   // ended any other way than exit 0 or SIGKILL
  uint64_t death;  // logical time after it was reaped
};

inline constexpr size_t kMaxEvents = 16384;
inline constexpr size_t kMaxWorkers = 8;
struct History {
  uint64_t clock;
  uint64_t count;
  uint32_t nprocs;
  ProcEntry procs[kMaxWorkers + 1];
  Event events[kMaxEvents];
};

struct Op {
  WaitKind kind;
  uint32_t len;
};

struct Kill {
  enum class How { kAtStage, kAfterSemop, kWhenBlocked, kAfterMicros } how;
  bool producer;
  size_t index;  // which producer / consumer (modulo their number)
  size_t op;     // kAtStage, kAfterSemop: which of its operations
  Stage stage;   // kAtStage
  int semops;    // kAfterSemop: right after the n-th semop call of the operation that succeeded
  int micros;    // kAfterMicros
};

struct Scenario {
  uint32_t slots = 1, slot_bytes = 16;
  std::vector<std::vector<Op>> producers;
  std::vector<std::vector<WaitKind>> consumers;
  bool retry_eintr = true;
  std::vector<FaultSpec> faults;         // counted per process
  std::vector<FaultSpec> create_faults;  // at most one: semget/shmget @1
  std::vector<Kill> kills;               // at most one per process
};

inline uint16_t ProducerId(size_t p) { return static_cast<uint16_t>(p + 1); }
inline uint16_t ConsumerId(size_t c) { return static_cast<uint16_t>(100 + c); }
inline constexpr uint16_t kDriverId = 200;
inline uint32_t ValueOf(size_t p, size_t i) { return static_cast<uint32_t>((p + 1) * 1000 + i); }
std::string ProcessName(uint16_t id);
const Kill* KillFor(const Scenario& sc, bool producer, size_t index);

// The ring a case drives, as calls: the System V ring (concurrent.cc), or the POSIX one
// (posix_ring_concurrent.cc). Kills at a stage or after the n-th kSemopDone go through its stage hook.
struct RingCalls {
  std::function<Status(std::span<const std::byte>, const Wait&)> push;
  std::function<Status(Bytes*, const Wait&)> pop;
  std::function<int()> last_errno;
  std::function<Status()> close;
  void (*set_stage_hook)(StageHook);
  long sleep_syscall;  // where a process blocked in the ring sleeps (SYS_semtimedop, SYS_futex)
};
// In the case's forked child: runs the scenario's producer and consumer processes against `ring` (created
// by the caller) with their kills, recording the history in `h`; then drains the ring, checks that exactly
// `slots` messages fit it, and closes it.
void RunScenario(const RingCalls& ring, const Scenario& sc, History* h, std::chrono::milliseconds deadline);

// The generated parts of a scenario: the ring's shape and the producers' and consumers' operations; then
// 0-2 kills, at most one per process (`steps`: the n of "after the n-th step" to choose from).
Scenario GenWorkload();
void GenKills(Scenario* sc, const std::vector<int>& steps);

// How a scenario's kills name the ring's steps and its sleep.
struct RingWords {
  const char* step;   // "semop call"
  const char* sleep;  // "semtimedop"
};
inline constexpr RingWords kSysvWords{"semop call", "semtimedop"};
std::string ShowScenario(const Scenario& sc, const RingWords& words);

// What the judge saw, for the classes of cases.
struct Judged {
  int killed = 0;        // processes killed
  int pending = 0;       // operations cut by a kill, judged as pending
  int exact = 0;         // ... judged exactly (killed at a known stage)
  int held = 0;          // ... killed at a known stage between claim and commit
  bool overlap = false;  // operations of different processes overlapped in time
};

// Turns the recorded history into linearizability operations, judging operations cut by kills by how
// they were killed. "" when everything holds.
std::string Judge(const Scenario& sc, const History* h, const std::vector<fault::FaultEvent>& log,
                  Judged* stats);

}  // namespace ipc::ring::prop
