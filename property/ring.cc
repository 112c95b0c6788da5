// The reference ring (see ring.h for the design, the crash-safety argument and the results).
#include "ring.h"

#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace ipc::ring {
namespace {

// One lock per side: producers exclude each other (they share head), consumers too (tail); a producer
// and a consumer never touch the same slot (one is free, the other filled), so they run in parallel.
enum Sem : unsigned short { kPushLock, kPopLock, kFree, kFilled, kHead, kTail, kNumSems };

constexpr uint64_t kMagic = 0x31474e4952435049ULL;  // "IPCRING1"
constexpr size_t kHeaderBytes = 64;
constexpr size_t kLengthBytes = sizeof(uint32_t);

struct Header {
  uint64_t magic;
  uint32_t slots;
  uint32_t slot_bytes;
};

// semctl(2) needs this union from the caller (semctl(2), NOTES).
union SemArg {
  int val;
  semid_ds* buf;
  unsigned short* array;
};

StageHook g_hook = nullptr;

void Reached(Stage stage) {
  if (g_hook != nullptr) g_hook(stage);
}

size_t SegmentBytes(uint32_t slots, uint32_t slot_bytes) {
  return kHeaderBytes + size_t{slots} * (kLengthBytes + slot_bytes);
}

bool Removed(int err) { return err == EIDRM || err == EINVAL; }

timespec Remaining(std::chrono::steady_clock::time_point end) {
  auto left = end - std::chrono::steady_clock::now();
  if (left <= left.zero()) return {0, 0};
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

const char* StatusName(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kWouldBlock:
      return "would-block";
    case Status::kTimedOut:
      return "timed-out";
    case Status::kClosed:
      return "closed";
    case Status::kInterrupted:
      return "interrupted";
    case Status::kTooLarge:
      return "too-large";
    case Status::kError:
      return "error";
  }
  return "?";
}

void SetStageHook(StageHook hook) { g_hook = hook; }

PosixResult<Ring> Ring::Create(const Config& config, Flaws flaws) {
  if (config.slots == 0 || config.slots > 32767 || config.slot_bytes == 0)
    return PosixResult<Ring>::Error(EINVAL, "ring config");
  // IPC_EXCL: with a key, never silently share someone else's objects (EEXIST instead).
  const int flags = IPC_CREAT | IPC_EXCL | 0600;
  Ring r;
  r.flaws_ = flaws;
  r.slots_ = config.slots;
  r.slot_bytes_ = config.slot_bytes;

  r.semid_ = semget(config.key, kNumSems, flags);
  if (r.semid_ < 0) return PosixResult<Ring>::Error(errno, "semget");
  // A new set's values are unspecified until set (semget(2), NOTES): set them all in one call before
  // anyone else knows the id.
  unsigned short init[kNumSems] = {1, 1, static_cast<unsigned short>(config.slots), 0, 0, 0};
  SemArg arg{};
  arg.array = init;
  auto fail = [&](int err, const char* what) {
    if (!flaws.leak_on_create_error) {
      if (r.shmid_ >= 0) shmctl(r.shmid_, IPC_RMID, nullptr);
      semctl(r.semid_, 0, IPC_RMID);
    }
    r.semid_ = r.shmid_ = -1;
    return PosixResult<Ring>::Error(err, what);
  };
  if (semctl(r.semid_, 0, SETALL, arg) < 0) return fail(errno, "semctl(SETALL)");

  r.shmid_ = shmget(config.key, SegmentBytes(config.slots, config.slot_bytes), flags);
  if (r.shmid_ < 0) return fail(errno, "shmget");
  void* p = shmat(r.shmid_, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return fail(errno, "shmat");
  r.base_ = static_cast<std::byte*>(p);
  Header h{kMagic, config.slots, config.slot_bytes};
  std::memcpy(r.base_, &h, sizeof h);
  return r;
}

PosixResult<Ring> Ring::Open(int semid, int shmid, Flaws flaws) {
  void* p = shmat(shmid, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return PosixResult<Ring>::Error(errno, "shmat");
  Header h;
  std::memcpy(&h, p, sizeof h);
  if (h.magic != kMagic) {
    shmdt(p);
    return PosixResult<Ring>::Error(EINVAL, "ring header");
  }
  Ring r;
  r.semid_ = semid;
  r.shmid_ = shmid;
  r.base_ = static_cast<std::byte*>(p);
  r.slots_ = h.slots;
  r.slot_bytes_ = h.slot_bytes;
  r.flaws_ = flaws;
  return r;
}

Ring::Ring(Ring&& o) noexcept { *this = std::move(o); }

Ring& Ring::operator=(Ring&& o) noexcept {
  if (this != &o) {
    if (base_ != nullptr) shmdt(base_);
    semid_ = std::exchange(o.semid_, -1);
    shmid_ = std::exchange(o.shmid_, -1);
    base_ = std::exchange(o.base_, nullptr);
    slots_ = o.slots_;
    slot_bytes_ = o.slot_bytes_;
    flaws_ = o.flaws_;
    last_errno_ = o.last_errno_;
  }
  return *this;
}

Ring::~Ring() {
  if (base_ != nullptr) shmdt(base_);
}

std::byte* Ring::Slot(uint32_t index) const {
  return base_ + kHeaderBytes + size_t{index} * (kLengthBytes + slot_bytes_);
}

Status Ring::Fail(int err) {
  last_errno_ = err;
  return Status::kError;
}

// The claim: one semop that takes a slot (kFree for a producer, kFilled for a consumer) and the side's
// lock together, so a process never holds the lock while it waits for space. Only the slot operation
// carries IPC_NOWAIT: a non-blocking call fails when there is no slot, but waits its turn for the
// lock, which is held only for a bounded copy. Both carry SEM_UNDO: if this process dies before its
// commit, the kernel gives both back (semop(2), SEM_UNDO).
Status Ring::Claim(int sem, int lock, const Wait& wait) {
  const short undo = flaws_.no_undo ? 0 : SEM_UNDO;
  sembuf ops[2] = {
      {static_cast<unsigned short>(sem), -1,
       static_cast<short>(undo | (wait.mode == Wait::Mode::kNoWait ? IPC_NOWAIT : 0))},
      {static_cast<unsigned short>(lock), -1, undo},
  };
  const size_t nops = flaws_.no_lock ? 1 : 2;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(wait.timeout.tv_sec) +
                   std::chrono::nanoseconds(wait.timeout.tv_nsec);
  for (;;) {
    int rc;
    if (wait.mode == Wait::Mode::kTimeout) {
      timespec left = Remaining(end);  // after an EINTR retry, only what is left of the timeout
      rc = semtimedop(semid_, ops, nops, &left);
    } else {
      rc = semop(semid_, ops, nops);
    }
    if (rc == 0) {
      Reached(Stage::kSemopDone);
      return Status::kOk;
    }
    const int err = errno;
    if (err == EINTR) {
      if (wait.retry_eintr) continue;
      return Status::kInterrupted;
    }
    if (err == EAGAIN) {
      if (wait.mode == Wait::Mode::kNoWait) return Status::kWouldBlock;
      if (wait.mode == Wait::Mode::kTimeout) return Status::kTimedOut;
      continue;  // a blocking semop cannot time out: a spurious EAGAIN, wait again
    }
    // EIDRM: removed while we waited; EINVAL: removed before the call (semop(2), ERRORS).
    if (Removed(err)) {
      if (flaws_.retry_eidrm) continue;
      return Status::kClosed;
    }
    return Fail(err);
  }
}

// The commit: one semop that
//   - cancels the claim's SEM_UNDO adjustment (+1 with SEM_UNDO, then -1 without: the value is
//     unchanged, the adjustment is back to 0, and the slot stays claimed even when this process exits),
//   - publishes the slot to the other side (kFilled or kFree +1),
//   - moves head or tail (wrapping to 0 by subtracting slots-1),
//   - releases the lock (+1 with SEM_UNDO, cancelling the claim's adjustment).
// It never waits, so it is retried on EINTR/EAGAIN (which only an interposer or a fault injector can
// produce here): abandoning it would keep the lock.
Status Ring::Commit(int give_back, int publish, int index_sem, int index, int lock) {
  sembuf ops[5];
  size_t n = 0;
  const auto gb = static_cast<unsigned short>(give_back);
  if (!flaws_.no_undo && !flaws_.keep_undo) {
    ops[n++] = {gb, +1, SEM_UNDO};
    ops[n++] = {gb, -1, 0};
  }
  ops[n++] = {static_cast<unsigned short>(publish), +1, 0};
  const bool wrap = static_cast<uint32_t>(index) + 1 == slots_;
  ops[n++] = {static_cast<unsigned short>(index_sem), static_cast<short>(wrap ? -(index) : 1), 0};
  if (!flaws_.no_lock)
    ops[n++] = {static_cast<unsigned short>(lock), +1, static_cast<short>(flaws_.no_undo ? 0 : SEM_UNDO)};
  if (flaws_.split_commit && n == 5) {
    // The flaw: publish and move first (ops 2 and 3), then unlock and cancel the undo (ops 0, 1, 4). A
    // process killed between the two calls has published its slot, and the kernel then also gives
    // the claimed slot back: one slot counted twice.
    sembuf first[2] = {ops[2], ops[3]};
    sembuf second[3] = {ops[0], ops[1], ops[4]};
    if (Status s = SemopRetried(first, 2); s != Status::kOk) return s;
    return SemopRetried(second, 3);
  }
  return SemopRetried(ops, n);
}

Status Ring::SemopRetried(sembuf* ops, size_t n) {
  for (;;) {
    if (semop(semid_, ops, n) == 0) {
      Reached(Stage::kSemopDone);
      return Status::kOk;
    }
    const int err = errno;
    if (err == EINTR || err == EAGAIN) {
      if (flaws_.abandon_commit) return Status::kInterrupted;
      continue;
    }
    if (Removed(err)) return Status::kClosed;
    return Fail(err);
  }
}

Status Ring::Push(std::span<const std::byte> message, Wait wait) {
  if (message.size() > slot_bytes_) return Status::kTooLarge;
  if (Status s = Claim(kFree, kPushLock, wait); s != Status::kOk) return s;
  Reached(Stage::kClaimed);
  // Under the push lock head cannot move; read it from the set (it lives there so that moving it is
  // part of the atomic commit: kept in shared memory, a producer killed between moving it and
  // publishing would leave a hole that a consumer later reads as a message).
  const int head = semctl(semid_, kHead, GETVAL);
  if (head < 0) return Removed(errno) ? Status::kClosed : Fail(errno);
  std::byte* slot = Slot(static_cast<uint32_t>(head));
  const auto len = static_cast<uint32_t>(message.size());
  const size_t half = len / 2;
  Status committed = Status::kOk;
  if (flaws_.publish_before_copy) committed = Commit(kFree, kFilled, kHead, head, kPushLock);
  std::memcpy(slot, &len, kLengthBytes);
  std::memcpy(slot + kLengthBytes, message.data(), half);
  Reached(Stage::kHalfCopied);
  std::memcpy(slot + kLengthBytes + half, message.data() + half, len - half);
  if (!flaws_.publish_before_copy) committed = Commit(kFree, kFilled, kHead, head, kPushLock);
  if (committed == Status::kOk) Reached(Stage::kCommitted);
  return committed;
}

Status Ring::Pop(std::vector<std::byte>* message, Wait wait) {
  message->clear();
  if (Status s = Claim(kFilled, kPopLock, wait); s != Status::kOk) return s;
  Reached(Stage::kClaimed);
  const int tail = semctl(semid_, kTail, GETVAL);
  if (tail < 0) return Removed(errno) ? Status::kClosed : Fail(errno);
  const std::byte* slot = Slot(static_cast<uint32_t>(tail));
  uint32_t len;
  std::memcpy(&len, slot, kLengthBytes);
  const bool corrupt = len > slot_bytes_;  // only a broken writer can do this; never read past the slot
  if (corrupt) len = 0;
  const size_t half = len / 2;
  message->assign(slot + kLengthBytes, slot + kLengthBytes + half);
  Reached(Stage::kHalfCopied);
  message->insert(message->end(), slot + kLengthBytes + half, slot + kLengthBytes + len);
  Status s = Commit(kFilled, kFree, kTail, tail, kPopLock);
  if (s != Status::kOk) {
    message->clear();
    return s;
  }
  Reached(Stage::kCommitted);
  return corrupt ? Fail(EBADMSG) : Status::kOk;
}

Status Ring::Close() {
  const int sem = semctl(semid_, 0, IPC_RMID);
  const int sem_err = errno;
  const int shm = shmctl(shmid_, IPC_RMID, nullptr);
  const int shm_err = errno;
  if (sem == 0 && shm == 0) return Status::kOk;
  if ((sem == 0 || Removed(sem_err)) && (shm == 0 || Removed(shm_err))) return Status::kClosed;
  return Fail(sem != 0 ? sem_err : shm_err);
}

}  // namespace ipc::ring
