// The POSIX reference ring: the same bounded queue of variable-length messages between processes as
// ring.h (same operations, results and crash-safety contract), built only from POSIX shared memory
// (shm_open(3) + ftruncate + mmap(2) MAP_SHARED) with, inside the mapping, a robust process-shared
// pthread mutex and two unnamed process-shared POSIX semaphores (sem_init(3), pshared = 1). Every POSIX
// call is in posix_ring.cc, next to the reason it is made that way. Rules: suite/rules/posix_property.ini
// (page "ipcsuite posix ring": this file). Tests: property/posix_ring_test.cc.
//
// The problem. The System V ring makes a process killed inside an operation harmless with SEM_UNDO: the
// kernel gives back the claimed slot and the lock. POSIX semaphores have no undo. A ring that counted its
// slots in sem_t (sem_wait(free) ... sem_post(filled)) would lose a slot for good when a process is killed
// between its sem_wait and its sem_post, and nothing could ever tell which process took it: sem_wait's
// decrement and any record of it are two steps, so a process can die between them. So here:
//
//   1. The ring's state is one 64-bit word in the mapping, `state` = head index | count << 32, read and
//      written only under the mutex. An operation takes effect at exactly one instruction: the single
//      aligned store of the new state word (the *commit*). A process dies between instructions, so after
//      any kill the word is either the old one or the new one: head and count never disagree.
//   2. The mutex is robust (pthread_mutexattr_setrobust(3), PTHREAD_MUTEX_ROBUST) and process-shared.
//      When its owner dies, the kernel (robust futex list) marks it and the next pthread_mutex_lock(3)
//      returns EOWNERDEAD with the lock held. That process recovers the ring (below), then calls
//      pthread_mutex_consistent(3); without it the mutex would become unusable (ENOTRECOVERABLE).
//   3. Before touching a slot, the owner writes a *transaction record* (op, pid, the state word before).
//      Recovery compares the state word with the record: unchanged -> the dead owner had not committed,
//      the operation is rolled back (a half-written push slot lies beyond head+count and is invisible,
//      so the next push overwrites it; a half-read message is still at head, whole, for the next pop);
//      changed -> it committed, the operation is complete (a message a dead consumer popped is gone with
//      it, as with the SysV ring). Both are exact: nobody else can change the word while the dead
//      process held the mutex. The payload is always copied *before* the commit, so a committed message
//      is whole. So recovery has nothing to undo or redo in the slots: the one-store commit already makes
//      every kill "done" or "not done". The record is what makes the outcome *known* (the recovery counts
//      it, PosixRingStats, and the tests check that both outcomes occur); the ring would be just as correct
//      without it. Recovery clears the record and wakes every registered sleeper.
//   4. The semaphores only wake sleepers; they count nothing the ring relies on (the counts come from the
//      state word under the mutex). `can_pop` rings for consumers, `can_push` for producers. A process
//      that must wait registers itself (waiting_pop/waiting_push + 1, under the mutex), unlocks, sleeps in
//      sem_wait(3) (sem_timedwait for a timed call; EINTR and ETIMEDOUT are handled, see Wait), then locks
//      again, unregisters and re-checks. Every change posts one token per registered sleeper of the other
//      side *before* the commit, while the mutex is held; close posts to both sides. So:
//        - a sleeper misses no change: it registered under the mutex before any later change looked at
//          the count, and a semaphore keeps a token posted before its sem_wait;
//        - a process killed after waking (token consumed) but before locking strands nobody: every other
//          registered sleeper got a token of its own for the same change;
//        - a process killed holding the mutex after posting: the woken sleepers block on the mutex and get
//          EOWNERDEAD, i.e. they run the recovery; killed before posting, it had not committed either.
//      A sleeper killed while registered stays counted: later changes post one token too many. Extra
//      tokens only cause spurious wakeups (the sleeper re-checks); a process about to sleep first drains
//      the stale tokens with sem_trywait(3) until EAGAIN, under the mutex, which is safe because it has
//      just seen the condition false: a token posted before that moment announces nothing that still
//      holds, and later changes post new ones. sem_post's EOVERFLOW is ignored (the semaphore is nonzero,
//      which is all a sleeper needs). Neither the mutex nor the semaphores are ever destroyed while the
//      ring is mapped: memory-based objects go away with the last mapping (sem_destroy(3) on a semaphore
//      others may wait on is undefined).
//   5. Only blocking sleeps are unbounded (sem_wait). The mutex is held for one bounded copy, or its owner
//      is dead and the kernel hands it over, so a pthread_mutex_lock never waits for ever.
//
// Crash safety (what a process killed at any instruction leaves behind): nothing (not yet locked, or
// asleep: a stale registration at worst), or the mutex held by a dead owner with the state word either
// old (operation rolled back) or new (operation complete), recovered by the next process that locks. No
// deadlock, no capacity lost or invented, no torn message, no lost wakeup.
//
// Close() marks the ring closed under the mutex, wakes every sleeper, and unlinks the name; every later
// operation (and every one asleep at the time) returns kClosed. The memory lives until the last process
// unmaps it. A process that opens the name after close gets ENOENT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ipcsuite/posix_ipc.h"
#include "ipcsuite/result.h"
#include "ring.h"  // Status, Wait, Stage: the same results and waits as the System V ring

namespace ipc::ring::posix {

struct PosixConfig {
  uint32_t slots = 8;          // capacity in messages (1 .. 65536)
  uint32_t slot_bytes = 4096;  // longest message
  // The shm_open name ("/..."). Empty: a fresh unique name that the ring owns (unlinked by Close or when
  // the creating process destroys the ring). Given: the caller owns it (e.g. a PosixName, so that it is
  // unlinked even when the process that created the ring is killed). Creation is exclusive (EEXIST).
  std::string name;
};

// Deliberate defects, for the project's own tests only: each one must make a property fail.
struct PosixFlaws {
  bool no_robust = false;             // a plain process-shared mutex: a holder killed inside deadlocks all
  bool no_consistent = false;         // recover on EOWNERDEAD but never call pthread_mutex_consistent
  bool publish_before_copy = false;   // commit the state word first, then copy the payload
  bool leak_on_create_error = false;  // a failed ftruncate/mmap leaves the name behind
  bool single_wakeup = false;         // one token per change, not one per registered sleeper
  bool split_commit = false;          // commit head and count in two stores (a step between them)
};

// What the ring's recoveries did, counted in the mapping (all processes), for tests.
struct PosixRingStats {
  uint64_t recoveries = 0;      // pthread_mutex_lock returned EOWNERDEAD
  uint64_t rolled_back = 0;     // ... the dead owner had not committed its operation
  uint64_t completed = 0;       // ... it had committed (a push stays, a pop's message is gone)
  uint64_t idle = 0;            // ... it held the mutex outside an operation (re-checking, registering)
  uint64_t drained = 0;         // stale wakeup tokens removed by sem_trywait before sleeping
  uint64_t timeouts = 0;        // sem_timedwait returned ETIMEDOUT at the call's deadline
  uint64_t early_timeouts = 0;  // ... before the deadline (only an injected fault): the ring slept again
  uint64_t interrupts = 0;      // sem_wait/sem_timedwait returned EINTR
};

// Called at the points of an operation a test may kill a process at (process-wide; nullptr: none):
//   kClaimed     the mutex is held and the transaction record written (before any slot is touched)
//   kHalfCopied  half the payload copied in or out
//   kCommitted   the state word stored (the operation took effect), the mutex still held
//   kSemopDone   after each step that changes what other processes see: mutex locked, sleepers woken,
//                mutex unlocked (so a test can kill a process between any two of them)
void SetPosixStageHook(StageHook hook);
// Called right after sem_wait/sem_timedwait returned (with a token, or with EINTR/ETIMEDOUT), before the
// sleeper locks again, so that a test can kill a woken sleeper there. nullptr: none.
void SetPosixWokenHook(void (*hook)());

class PosixRing {
 public:
  // shm_open(O_CREAT|O_EXCL) + ftruncate + mmap(MAP_SHARED), then the mutex and semaphores are
  // initialised in the mapping. Errors are the errno of the call that failed (EEXIST, EMFILE, ENFILE,
  // EACCES from shm_open; EFBIG/EINTR from ftruncate; ENOMEM from mmap, ...); nothing is left behind.
  static PosixResult<PosixRing> Create(const PosixConfig& config, PosixFlaws flaws = {});
  // Maps a ring another process created, by name (ENOENT after close).
  static PosixResult<PosixRing> Open(const std::string& name, PosixFlaws flaws = {});

  PosixRing(PosixRing&& other) noexcept;
  PosixRing& operator=(PosixRing&& other) noexcept;
  PosixRing(const PosixRing&) = delete;
  PosixRing& operator=(const PosixRing&) = delete;
  ~PosixRing();  // unmaps; unlinks the name only if the ring owns it (and only in the creating process)

  Status Push(std::span<const std::byte> message, Wait wait = Wait::Block());
  Status Pop(std::vector<std::byte>* message, Wait wait = Wait::Block());
  // Marks the ring closed (waking every sleeper) and unlinks its name; kClosed if it was closed already.
  Status Close();

  const std::string& name() const { return name_; }
  uint32_t slots() const { return slots_; }
  uint32_t slot_bytes() const { return slot_bytes_; }
  int last_errno() const { return last_errno_; }
  PosixRingStats stats() const;

  struct Header;  // the start of the mapping (posix_ring.cc)

 private:
  PosixRing() = default;
  Header* header() const;
  Status Lock();
  void Unlock();
  void Recover();
  // The common part of Push and Pop: lock, wait (registered) until `ready` or the wait ends, then run
  // `op` under the mutex (op unlocks).
  Status Run(bool push, const Wait& wait, const std::function<Status()>& op);
  uint64_t Begin(uint32_t op);
  Status Commit(bool push, uint64_t before, uint64_t after);
  std::byte* Slot(uint32_t index) const;

  std::byte* base_ = nullptr;
  size_t bytes_ = 0;
  uint32_t slots_ = 0;
  uint32_t slot_bytes_ = 0;
  std::string name_;
  std::unique_ptr<PosixName> owned_;  // the name, when the ring made it up
  PosixFlaws flaws_;
  int last_errno_ = 0;
};

}  // namespace ipc::ring::posix
