// The reference ring: a bounded queue of variable-length messages between processes, built only from
// one System V shared memory segment and one System V semaphore set. It is meant to be read: every
// SysV call is in ring.cc, next to the reason it is made that way.
//
// Semaphores of the set (all changes are made by semop(2), whose operations on one set are applied
// atomically and in array order):
//   kPushLock  1 when no producer is inside the ring, 0 while one copies a message in
//   kPopLock   1 when no consumer is inside the ring, 0 while one copies a message out
//   kFree    slots a producer may claim
//   kFilled  messages a consumer may claim
//   kHead    index of the slot the next message goes to   (0 .. slots-1)
//   kTail    index of the slot the next message comes from (0 .. slots-1)
// The segment holds a header and `slots` slots of `4 + slot_bytes` bytes (length, then payload).
// One lock per side (a two-lock queue): producers exclude each other because they share head,
// consumers because they share tail; a producer and a consumer never touch the same slot (a claimed
// free slot is not a filled one), so one of each copies at the same time.
//
// An operation is two semop calls: a *claim* (take one free/filled slot and the side's lock in one
// call) and a *commit* (release the lock, publish the slot and move head/tail in one call). Between
// them the caller reads head/tail (semctl GETVAL) and copies the message. The claim uses SEM_UNDO for
// the lock and for the claimed slot; the commit cancels those adjustments. So:
//
// Crash safety (what a process killed at any instruction leaves behind):
//   - killed before its claim, or while blocked in it: nothing changed;
//   - killed between claim and commit (holding its lock, message half-copied): the kernel applies
//     the SEM_UNDO adjustments at exit, which gives back the lock and the claimed slot. head/tail did
//     not move, so the half-written slot is invisible and is overwritten by the next producer; a
//     half-read message stays at the tail and the next consumer gets it whole. No torn message is
//     ever delivered, nobody deadlocks, no capacity is lost;
//   - killed after its commit: the operation happened (a message popped by a process that then dies
//     is gone with it).
// The only state a crash can leave is therefore "the operation happened" or "it did not".
//
// Results are values (Status), never aborts. After Close() (IPC_RMID of both objects) every
// operation, including ones blocked at the time, returns kClosed.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipcsuite/result.h"

struct sembuf;  // <sys/sem.h>

namespace ipc::ring {

enum class Status {
  kOk,
  kWouldBlock,   // non-blocking call: no slot / no message right now (semop EAGAIN with IPC_NOWAIT)
  kTimedOut,     // timed call: the timeout expired (semtimedop EAGAIN)
  kClosed,       // the ring was removed (EIDRM while waiting, EINVAL afterwards)
  kInterrupted,  // a signal interrupted the wait (EINTR) and the caller asked not to retry
  kTooLarge,     // push of a message longer than slot_bytes
  kError,        // anything else; Ring::last_errno() says what
};
const char* StatusName(Status s);

struct Config {
  uint32_t slots = 8;          // capacity in messages (1 .. 32767, SEMVMX)
  uint32_t slot_bytes = 4096;  // longest message
  key_t key = 0;               // IPC_PRIVATE by default; with a key, creation is exclusive (EEXIST)
};

// How a call waits for a slot or a message.
struct Wait {
  enum class Mode { kBlock, kNoWait, kTimeout } mode = Mode::kBlock;
  timespec timeout{};       // kTimeout: relative
  bool retry_eintr = true;  // false: a signal ends the wait with kInterrupted
  static Wait Block(bool retry_eintr = true) { return {Mode::kBlock, {}, retry_eintr}; }
  static Wait NoWait() { return {Mode::kNoWait, {}, true}; }
  static Wait For(long ms, bool retry_eintr = true) {
    return {Mode::kTimeout, {ms / 1000, (ms % 1000) * 1000000}, retry_eintr};
  }
};

// Deliberate defects, for the project's own tests only: each one must make a property fail.
struct Flaws {
  bool no_lock = false;               // claim/commit without the side's lock
  bool no_undo = false;               // no SEM_UNDO: a process killed inside leaves its lock taken
  bool keep_undo = false;             // claim with SEM_UNDO but never cancel it at commit
  bool retry_eidrm = false;           // treat EIDRM/EINVAL as transient and wait again, forever
  bool leak_on_create_error = false;  // creation failure leaves the objects made so far behind
  bool publish_before_copy = false;   // commit first, then copy the payload in
  bool abandon_commit = false;        // give up when the commit semop fails with EINTR/EAGAIN
  bool split_commit = false;          // commit in two semops: publish + move, then unlock + cancel undo
};

// Points inside an operation where a test can stop a process (to kill it there). Not used otherwise.
// kSemopDone is reached after every semop call of an operation that changed the set (the claim, each
// call of the commit), so a test can kill a process between any two of them.
enum class Stage { kClaimed, kHalfCopied, kCommitted, kSemopDone };
using StageHook = void (*)(Stage);
void SetStageHook(StageHook hook);  // process-wide; nullptr: none (the default)

class Ring {
 public:
  // Creates the semaphore set and the segment and attaches it. Errors are the errno of the call that
  // failed (semget/shmget: ENOMEM, ENOSPC, EEXIST, ...); nothing is left behind on failure.
  static PosixResult<Ring> Create(const Config& config, Flaws flaws = {});
  // Attaches to a ring another process created (ids from semid()/shmid()).
  static PosixResult<Ring> Open(int semid, int shmid, Flaws flaws = {});

  Ring(Ring&& other) noexcept;
  Ring& operator=(Ring&& other) noexcept;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();  // detaches (shmdt); does not remove: Close() does

  Status Push(std::span<const std::byte> message, Wait wait = Wait::Block());
  Status Pop(std::vector<std::byte>* message, Wait wait = Wait::Block());
  // Removes both objects (IPC_RMID). Processes blocked in the ring wake up with kClosed.
  Status Close();

  int semid() const { return semid_; }
  int shmid() const { return shmid_; }
  uint32_t slots() const { return slots_; }
  uint32_t slot_bytes() const { return slot_bytes_; }
  int last_errno() const { return last_errno_; }

 private:
  Ring() = default;
  Status Claim(int sem, int lock, const Wait& wait);
  Status Commit(int give_back, int publish, int index_sem, int index, int lock);
  Status SemopRetried(sembuf* ops, size_t n);  // a semop that never waits: retried on EINTR/EAGAIN
  Status Fail(int err);
  std::byte* Slot(uint32_t index) const;

  int semid_ = -1;
  int shmid_ = -1;
  std::byte* base_ = nullptr;
  uint32_t slots_ = 0;
  uint32_t slot_bytes_ = 0;
  Flaws flaws_;
  int last_errno_ = 0;
};

}  // namespace ipc::ring
