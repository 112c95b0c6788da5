// The POSIX reference ring (see posix_ring.h for the design, why the recovery is correct, and the results).
#include "posix_ring.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace ipc::ring::posix {

// The mapping opens with this header; the slots follow at kPosixHeaderBytes, `4 + slot_bytes` each
// (length, then payload).
struct PosixRing::Header {
  uint64_t magic;
  uint32_t slots;
  uint32_t slot_bytes;
  pthread_mutex_t lock;  // robust, process-shared: guards everything below
  sem_t can_pop;         // wakes consumers (a token per registered consumer per change)
  sem_t can_push;        // wakes producers
  uint64_t state;        // head | count << 32: written by one store, the commit
  uint32_t closed;
  uint32_t waiting_pop;  // registered sleepers (dead ones stay counted: extra tokens only)
  uint32_t waiting_push;
  // The transaction record of the operation in progress (op 0: none).
  uint32_t txn_op;  // 1 push, 2 pop
  int32_t txn_pid;
  uint64_t txn_before;  // the state word when the operation began
  PosixRingStats stats;
};

namespace {

constexpr uint64_t kPosixMagic = 0x31524d5348535049ULL;  // "IPSHSMR1"
constexpr size_t kPosixHeaderBytes = (sizeof(PosixRing::Header) + 63) / 64 * 64;
constexpr size_t kPosixLengthBytes = sizeof(uint32_t);
constexpr uint32_t kTxnPush = 1, kTxnPop = 2;

StageHook g_posix_hook = nullptr;
void (*g_posix_woken)() = nullptr;
void At(Stage s) {
  if (g_posix_hook != nullptr) g_posix_hook(s);
}

size_t MappingBytes(uint32_t slots, uint32_t slot_bytes) {
  return kPosixHeaderBytes + size_t{slots} * (kPosixLengthBytes + slot_bytes);
}

uint64_t Pack(uint32_t head, uint32_t count) { return uint64_t{head} | (uint64_t{count} << 32); }
uint32_t HeadOf(uint64_t st) { return static_cast<uint32_t>(st); }
uint32_t CountOf(uint64_t st) { return static_cast<uint32_t>(st >> 32); }

template <typename T>
T LoadShared(const T& x) {
  return __atomic_load_n(&x, __ATOMIC_SEQ_CST);
}
template <typename T>
void StoreShared(T& x, T v) {
  __atomic_store_n(&x, v, __ATOMIC_SEQ_CST);
}
void Count(uint64_t& counter) { __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED); }

// One token per registered sleeper. A failed post (EOVERFLOW: the value is SEM_VALUE_MAX) leaves the
// semaphore nonzero, which is all a sleeper needs.
void Wake(sem_t* s, uint32_t sleepers, bool single = false) {
  if (single) sleepers = std::min(sleepers, 1u);  // the flaw: a woken sleeper that dies strands the others
  for (uint32_t i = 0; i < sleepers; ++i) (void)sem_post(s);
}

// The absolute CLOCK_REALTIME time sem_timedwait(3) wants for a deadline on the monotonic clock.
timespec RealtimeAt(std::chrono::steady_clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(end - std::chrono::steady_clock::now());
  if (left.count() < 0) left = left.zero();
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  long long ns = now.tv_nsec + left.count() % 1000000000;
  timespec at{now.tv_sec + static_cast<time_t>(left.count() / 1000000000), static_cast<long>(ns)};
  if (at.tv_nsec >= 1000000000) at.tv_sec += 1, at.tv_nsec -= 1000000000;
  return at;
}

}  // namespace

void SetPosixStageHook(StageHook hook) { g_posix_hook = hook; }
void SetPosixWokenHook(void (*hook)()) { g_posix_woken = hook; }

PosixRing::Header* PosixRing::header() const { return reinterpret_cast<Header*>(base_); }

std::byte* PosixRing::Slot(uint32_t index) const {
  return base_ + kPosixHeaderBytes + size_t{index} * (kPosixLengthBytes + slot_bytes_);
}

PosixResult<PosixRing> PosixRing::Create(const PosixConfig& config, PosixFlaws flaws) {
  if (config.slots == 0 || config.slots > 65536 || config.slot_bytes == 0)
    return PosixResult<PosixRing>::Error(EINVAL, "ring config");
  PosixRing r;
  r.flaws_ = flaws;
  r.slots_ = config.slots;
  r.slot_bytes_ = config.slot_bytes;
  if (config.name.empty()) {
    r.owned_ = std::make_unique<PosixName>(PosixIpcKind::kSharedMemory, "pring");
    r.name_ = r.owned_->str();
  } else {
    r.name_ = config.name;
  }
  // O_EXCL: never silently share (and re-initialise) someone else's object: EEXIST instead.
  const int fd = shm_open(r.name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return PosixResult<PosixRing>::Error(errno, "shm_open");
  auto fail = [&](int err, const char* what) {
    close(fd);
    if (!flaws.leak_on_create_error) shm_unlink(r.name_.c_str());
    return PosixResult<PosixRing>::Error(err, what);
  };
  // A new object has length 0 (shm_open(3)); ftruncate gives it its size, zero-filled.
  r.bytes_ = MappingBytes(config.slots, config.slot_bytes);
  if (ftruncate(fd, static_cast<off_t>(r.bytes_)) != 0) return fail(errno, "ftruncate");
  void* p = mmap(nullptr, r.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail(errno, "mmap");
  close(fd);  // the mapping keeps the object (mmap(2): closing the descriptor does not unmap)
  r.base_ = static_cast<std::byte*>(p);
  Header* h = r.header();
  h->slots = config.slots;
  h->slot_bytes = config.slot_bytes;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  if (!flaws.no_robust) pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  int err = pthread_mutex_init(&h->lock, &ma);
  pthread_mutexattr_destroy(&ma);
  if (err == 0 && (sem_init(&h->can_pop, 1, 0) != 0 || sem_init(&h->can_push, 1, 0) != 0)) err = errno;
  if (err != 0) {
    munmap(p, r.bytes_);
    r.base_ = nullptr;
    if (!flaws.leak_on_create_error) shm_unlink(r.name_.c_str());
    return PosixResult<PosixRing>::Error(err, "pthread_mutex_init/sem_init");
  }
  // Everything else is zero (ftruncate zero-fills): empty, open, nobody waiting, no transaction. The
  // magic goes last, so that Open never maps a half-initialised ring.
  StoreShared(h->magic, kPosixMagic);
  return r;
}

PosixResult<PosixRing> PosixRing::Open(const std::string& name, PosixFlaws flaws) {
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) return PosixResult<PosixRing>::Error(errno, "shm_open");
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < kPosixHeaderBytes) {
    const int err = errno;
    close(fd);
    return PosixResult<PosixRing>::Error(err != 0 ? err : EINVAL, "fstat");
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) return PosixResult<PosixRing>::Error(err, "mmap");
  const auto* h = static_cast<const Header*>(p);
  if (LoadShared(h->magic) != kPosixMagic ||
      MappingBytes(h->slots, h->slot_bytes) > static_cast<size_t>(st.st_size)) {
    munmap(p, static_cast<size_t>(st.st_size));
    return PosixResult<PosixRing>::Error(EINVAL, "ring header");
  }
  PosixRing r;
  r.base_ = static_cast<std::byte*>(p);
  r.bytes_ = static_cast<size_t>(st.st_size);
  r.slots_ = h->slots;
  r.slot_bytes_ = h->slot_bytes;
  r.name_ = name;
  r.flaws_ = flaws;
  return r;
}

PosixRing::PosixRing(PosixRing&& o) noexcept { *this = std::move(o); }

PosixRing& PosixRing::operator=(PosixRing&& o) noexcept {
  if (this != &o) {
    if (base_ != nullptr) munmap(base_, bytes_);
    base_ = std::exchange(o.base_, nullptr);
    bytes_ = o.bytes_;
    slots_ = o.slots_;
    slot_bytes_ = o.slot_bytes_;
    name_ = o.name_;
    owned_ = std::move(o.owned_);
    flaws_ = o.flaws_;
    last_errno_ = o.last_errno_;
  }
  return *this;
}

PosixRing::~PosixRing() {
  if (base_ != nullptr) munmap(base_, bytes_);
}

PosixRingStats PosixRing::stats() const {
  PosixRingStats s;
  std::memcpy(&s, &header()->stats, sizeof s);
  return s;
}

// Locks the ring. EOWNERDEAD: the previous owner died holding it; we hold it now and recover first.
Status PosixRing::Lock() {
  Header* h = header();
  const int rc = pthread_mutex_lock(&h->lock);
  if (rc == EOWNERDEAD) {
    Recover();
    // Without this the mutex becomes permanently unusable at our unlock (ENOTRECOVERABLE for all).
    if (!flaws_.no_consistent) pthread_mutex_consistent(&h->lock);
  } else if (rc != 0) {
    // ENOTRECOVERABLE: someone recovered without pthread_mutex_consistent (only the flaw does that).
    last_errno_ = rc;
    return Status::kError;
  }
  At(Stage::kSemopDone);
  return Status::kOk;
}

void PosixRing::Unlock() {
  pthread_mutex_unlock(&header()->lock);
  At(Stage::kSemopDone);
}

// Called with the mutex held after EOWNERDEAD (posix_ring.h, point 3): the state word decides whether the
// dead owner's operation happened; nothing in the slots needs repair, because a slot only becomes
// visible by the commit, which comes after the copy.
void PosixRing::Recover() {
  Header* h = header();
  Count(h->stats.recoveries);
  if (LoadShared(h->txn_op) != 0) {
    const bool committed = LoadShared(h->state) != LoadShared(h->txn_before);
    Count(committed ? h->stats.completed : h->stats.rolled_back);
    StoreShared(h->txn_op, 0u);
  } else {
    Count(h->stats.idle);
  }
  // The dead owner may have died before, while or after waking the sleepers: wake them all again (at
  // worst a spurious wakeup each).
  Wake(&h->can_pop, LoadShared(h->waiting_pop));
  Wake(&h->can_push, LoadShared(h->waiting_push));
}

Status PosixRing::Run(bool push, const Wait& wait, const std::function<Status()>& op) {
  Header* h = header();
  sem_t* doorbell = push ? &h->can_push : &h->can_pop;
  uint32_t* waiting = push ? &h->waiting_push : &h->waiting_pop;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(wait.timeout.tv_sec) +
                   std::chrono::nanoseconds(wait.timeout.tv_nsec);
  bool registered = false;
  Status ended = Status::kOk;  // set when the wait ended without the condition (interrupted, timed out)
  for (;;) {
    if (Status s = Lock(); s != Status::kOk) return s;
    if (registered) StoreShared(*waiting, LoadShared(*waiting) - 1), registered = false;
    const uint64_t st = LoadShared(h->state);
    if (LoadShared(h->closed) != 0) {
      Unlock();
      return Status::kClosed;
    }
    if (push ? CountOf(st) < slots_ : CountOf(st) > 0) return op();  // op unlocks
    if (wait.mode == Wait::Mode::kNoWait) ended = Status::kWouldBlock;
    if (ended != Status::kOk) {
      Unlock();
      return ended;
    }
    // Sleep: drop stale tokens (the condition is false now, so none announces anything that holds),
    // register, unlock, wait for a token.
    for (;;) {
      if (sem_trywait(doorbell) == 0) {
        Count(h->stats.drained);
        continue;
      }
      if (errno == EAGAIN) break;  // the semaphore is zero (sem_wait(3), ERRORS)
      if (errno != EINTR) {
        last_errno_ = errno;
        Unlock();
        return Status::kError;
      }
    }
    // Every post is made under the mutex, which we hold, and a sem_wait elsewhere only takes tokens: after
    // EAGAIN the value is 0 and stays 0 until we unlock. Anything else breaks sem_trywait's promise.
    int value = 0;
    if (sem_getvalue(doorbell, &value) != 0 || value != 0) {
      last_errno_ = EPROTO;
      Unlock();
      return Status::kError;
    }
    StoreShared(*waiting, LoadShared(*waiting) + 1);
    registered = true;
    Unlock();
    int rc;
    if (wait.mode == Wait::Mode::kTimeout) {
      const timespec at = RealtimeAt(end);
      rc = sem_timedwait(doorbell, &at);
    } else {
      rc = sem_wait(doorbell);
    }
    if (g_posix_woken != nullptr) g_posix_woken();
    if (rc == 0) {
      At(Stage::kSemopDone);  // a token taken: a step others see (they may have posted it for us)
      continue;               // woken: re-check
    }
    const int err = errno;
    if (err == EINTR) {
      Count(h->stats.interrupts);
      if (!wait.retry_eintr) ended = Status::kInterrupted;
    } else if (err == ETIMEDOUT) {
      // Our deadline, not the semaphore's word, decides: an early ETIMEDOUT (only a fault injector makes
      // one) means sleep again for what is left.
      // (sem_wait has no deadline: glibc passes an injected ETIMEDOUT on, and we sleep again.)
      const bool due = wait.mode == Wait::Mode::kTimeout && std::chrono::steady_clock::now() >= end;
      Count(due ? h->stats.timeouts : h->stats.early_timeouts);
      if (due) ended = Status::kTimedOut;
    } else {
      last_errno_ = err;
      ended = Status::kError;
    }
    // Loop: lock, unregister, and re-check once more before reporting how the wait ended.
  }
}

Status PosixRing::Push(std::span<const std::byte> message, Wait wait) {
  if (message.size() > slot_bytes_) return Status::kTooLarge;
  return Run(true, wait, [&] {
    const uint64_t before = Begin(kTxnPush);
    const uint32_t head = HeadOf(before), count = CountOf(before);
    std::byte* slot = Slot((head + count) % slots_);
    const uint64_t after = Pack(head, count + 1);
    if (flaws_.publish_before_copy) StoreShared(header()->state, after);
    const auto len = static_cast<uint32_t>(message.size());
    const size_t half = len / 2;
    std::memcpy(slot, &len, kPosixLengthBytes);
    std::memcpy(slot + kPosixLengthBytes, message.data(), half);
    At(Stage::kHalfCopied);
    std::memcpy(slot + kPosixLengthBytes + half, message.data() + half, len - half);
    return Commit(true, before, after);
  });
}

Status PosixRing::Pop(std::vector<std::byte>* message, Wait wait) {
  message->clear();
  bool corrupt = false;
  Status s = Run(false, wait, [&] {
    const uint64_t before = Begin(kTxnPop);
    const uint32_t head = HeadOf(before), count = CountOf(before);
    const std::byte* slot = Slot(head);
    const uint64_t after = Pack((head + 1) % slots_, count - 1);
    if (flaws_.publish_before_copy) StoreShared(header()->state, after);
    uint32_t len;
    std::memcpy(&len, slot, kPosixLengthBytes);
    corrupt = len > slot_bytes_;  // only a broken writer can do this; never read past the slot
    if (corrupt) len = 0;
    const size_t half = len / 2;
    message->assign(slot + kPosixLengthBytes, slot + kPosixLengthBytes + half);
    At(Stage::kHalfCopied);
    message->insert(message->end(), slot + kPosixLengthBytes + half, slot + kPosixLengthBytes + len);
    return Commit(false, before, after);
  });
  if (s != Status::kOk) {
    message->clear();
    return s;
  }
  if (corrupt) {
    last_errno_ = EBADMSG;
    return Status::kError;
  }
  return Status::kOk;
}

// With the mutex held, before any slot is touched: the transaction record, what recovery needs if this
// process dies from here on (op last: it makes the record valid). Returns the state word.
uint64_t PosixRing::Begin(uint32_t op) {
  Header* h = header();
  const uint64_t before = LoadShared(h->state);
  StoreShared(h->txn_before, before);
  StoreShared(h->txn_pid, static_cast<int32_t>(getpid()));
  StoreShared(h->txn_op, op);
  At(Stage::kClaimed);
  return before;
}

// The end of a push (pop) whose payload is copied: wake the registered consumers (producers) before the
// commit, while the mutex is held (posix_ring.h, point 4); commit by one store of the state word; clear
// the record; unlock.
Status PosixRing::Commit(bool push, uint64_t before, uint64_t after) {
  Header* h = header();
  if (push)
    Wake(&h->can_pop, LoadShared(h->waiting_pop), flaws_.single_wakeup);
  else
    Wake(&h->can_push, LoadShared(h->waiting_push), flaws_.single_wakeup);
  At(Stage::kSemopDone);
  if (!push && flaws_.split_commit) {
    // The flaw: head moves first, then the count; a process killed between them leaves a word that no
    // operation ever wrote (recovery takes it as committed: one message skipped, a phantom one at the end).
    StoreShared(h->state, Pack(HeadOf(after), CountOf(before)));
    At(Stage::kSemopDone);
  }
  StoreShared(h->state, after);  // the commit
  At(Stage::kCommitted);
  StoreShared(h->txn_op, 0u);
  Unlock();
  return Status::kOk;
}

Status PosixRing::Close() {
  if (Status s = Lock(); s != Status::kOk) return s;
  Header* h = header();
  const bool was_closed = LoadShared(h->closed) != 0;
  StoreShared(h->closed, 1u);
  Wake(&h->can_pop, LoadShared(h->waiting_pop));
  Wake(&h->can_push, LoadShared(h->waiting_push));
  Unlock();
  if (was_closed) return Status::kClosed;
  // The name goes now (shm_unlink(3)): nobody can open the ring any more; the mapped memory stays until
  // the last munmap.
  if (shm_unlink(name_.c_str()) != 0 && errno != ENOENT) {
    last_errno_ = errno;
    return Status::kError;
  }
  return Status::kOk;
}

}  // namespace ipc::ring::posix
