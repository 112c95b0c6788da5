// The fault plan as the faulted process tree sees it: one shared memory region (a memfd created by the
// launcher) holding the compiled rules, their call counters and the injection log.
//
// Two deciders read and update it with the same code (Decide() below):
//  - the in-process agent (agent.cc, LD_PRELOADed into every program of the tree), on the fast path of
//    the C library wrappers it interposes; allowed calls are re-issued from the trampoline page, whose
//    address the seccomp filter lets through;
//  - the supervisor (launch.cc), for every other matched call, through seccomp user notification.
// Plain data and __atomic builtins only: the agent is built without the C++ runtime.
#pragma once

#include <stdint.h>

namespace ipc::fault {

inline constexpr uint64_t kStateMagic = 0x31544c5541464349ULL;  // "ICFAULT1"
inline constexpr int kMaxRules = 32;
inline constexpr int kMaxClauses = 4;
inline constexpr int kMaxConds = 6;
inline constexpr int kMaxProcs = 512;
inline constexpr int kMaxLog = 65536;
inline constexpr int kMaxPoints = 16384;
// The trampoline: one page at a fixed address in every program image of the tree. Syscalls whose
// instruction pointer lies in it are never faulted (the agent's re-issued calls, the launcher's exec).
inline constexpr uint64_t kTrampolineAddr = 0x3f1e00000000ULL;
inline constexpr uint64_t kTrampolineSize = 4096;

enum class CondOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct Cond {
  uint8_t arg;  // syscall argument index 0..5
  CondOp op;
  uint8_t width;  // 32: compare the low 32 bits (int arguments), 64: the whole register
  uint8_t pad[5];
  uint64_t value;
};

// One system call the rule's name stands for, with the conditions that make it that name
// (semop = semtimedop with a NULL timeout) and the user's argument conditions, translated to it.
struct Clause {
  int32_t nr;
  int32_t ncond;
  Cond conds[kMaxConds];
};

enum class When : uint8_t { kAlways, kAt, kFrom, kEvery, kProbability, kPoints };

struct CompiledRule {
  int32_t nclauses;
  int32_t err;  // errno injected (kPoints: per point)
  When when;
  uint8_t pad[7];
  uint64_t n;                    // kAt, kFrom, kEvery: first call index (1-based)
  uint64_t k;                    // kEvery: period
  uint64_t threshold;            // kProbability: fault when hash < threshold (P * 2^64)
  int32_t first_point, npoints;  // kPoints: slice of State::points, sorted by index
  Clause clauses[kMaxClauses];
  char name[32];      // the name the user wrote (semop, write, ...)
  char selector[96];  // name plus argument conditions, for the log and replay
};

struct Point {
  uint64_t index;
  int32_t err;
  int32_t pad;
};

struct LogRecord {
  int32_t pid, tid, nr, rule, err, pad;
  uint64_t index;       // the call's index in the rule's counting mode
  uint64_t tree_index;  // the call's index among the tree's calls the rule matches
};

struct ProcSlot {
  int32_t tgid;
  int32_t pad;
  uint64_t counts[kMaxRules];
};

struct State {
  uint64_t magic;
  uint64_t seed;
  int32_t nrules;
  int32_t per_process;  // 1: rule indices count per process, 0: per tree
  int32_t supervisor_pid;
  int32_t npoints;
  CompiledRule rules[kMaxRules];
  Point points[kMaxPoints];
  uint64_t tree_counts[kMaxRules];
  uint64_t log_next;     // atomically incremented; records past kMaxLog are dropped
  uint64_t agent_calls;  // calls decided by an agent (fast path)
  uint64_t supervisor_calls;
  ProcSlot procs[kMaxProcs];
  LogRecord log[kMaxLog];
};

inline uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline bool CondHolds(const Cond& c, const uint64_t args[6]) {
  uint64_t a = args[c.arg], v = c.value;
  if (c.width == 32) {
    // int arguments: compare as signed 32-bit values (the upper half of the register is not defined).
    int64_t sa = static_cast<int32_t>(static_cast<uint32_t>(a));
    int64_t sv = static_cast<int32_t>(static_cast<uint32_t>(v));
    switch (c.op) {
      case CondOp::kEq:
        return sa == sv;
      case CondOp::kNe:
        return sa != sv;
      case CondOp::kLt:
        return sa < sv;
      case CondOp::kLe:
        return sa <= sv;
      case CondOp::kGt:
        return sa > sv;
      case CondOp::kGe:
        return sa >= sv;
    }
    return false;
  }
  switch (c.op) {
    case CondOp::kEq:
      return a == v;
    case CondOp::kNe:
      return a != v;
    case CondOp::kLt:
      return a < v;
    case CondOp::kLe:
      return a <= v;
    case CondOp::kGt:
      return a > v;
    case CondOp::kGe:
      return a >= v;
  }
  return false;
}

inline bool ClauseMatches(const Clause& cl, int nr, const uint64_t args[6]) {
  if (cl.nr != nr) return false;
  for (int i = 0; i < cl.ncond; ++i)
    if (!CondHolds(cl.conds[i], args)) return false;
  return true;
}

inline bool RuleMatches(const CompiledRule& r, int nr, const uint64_t args[6]) {
  for (int i = 0; i < r.nclauses; ++i)
    if (ClauseMatches(r.clauses[i], nr, args)) return true;
  return false;
}

// The errno (>0) to inject at call `index` of rule `ri`, or 0.
inline int RuleFaults(const State& s, int ri, uint64_t index) {
  const CompiledRule& r = s.rules[ri];
  switch (r.when) {
    case When::kAlways:
      return r.err;
    case When::kAt:
      return index == r.n ? r.err : 0;
    case When::kFrom:
      return index >= r.n ? r.err : 0;
    case When::kEvery:
      return index >= r.n && (index - r.n) % r.k == 0 ? r.err : 0;
    case When::kProbability: {
      // Counter-based: the decision for call `index` depends only on (seed, rule, index), not on
      // which thread or process makes the call or when.
      uint64_t h = Mix64(s.seed ^ Mix64(static_cast<uint64_t>(ri) * 0x100000001b3ULL + index));
      return h < r.threshold ? r.err : 0;
    }
    case When::kPoints: {
      int lo = r.first_point, hi = r.first_point + r.npoints;
      while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s.points[mid].index < index)
          lo = mid + 1;
        else
          hi = mid;
      }
      return lo < r.first_point + r.npoints && s.points[lo].index == index ? s.points[lo].err : 0;
    }
  }
  return 0;
}

inline ProcSlot* FindProcSlot(State& s, int tgid) {
  for (int i = 0; i < kMaxProcs; ++i) {
    int32_t cur = __atomic_load_n(&s.procs[i].tgid, __ATOMIC_ACQUIRE);
    if (cur == tgid) return &s.procs[i];
    if (cur == 0) {
      int32_t expected = 0;
      if (__atomic_compare_exchange_n(&s.procs[i].tgid, &expected, tgid, false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
        return &s.procs[i];
      if (expected == tgid) return &s.procs[i];
    }
  }
  return nullptr;
}

// Decides one call: counts it for every rule it matches and returns the errno of the first rule (in
// plan order) that faults it, or 0 to let it run. Logs an injected fault. `ids` gives pid/tid lazily.
template <typename Ids>
inline int Decide(State& s, int nr, const uint64_t args[6], Ids&& ids) {
  int err = 0;
  LogRecord rec{};
  ProcSlot* slot = nullptr;
  bool have_ids = false;
  int pid = 0, tid = 0;
  for (int ri = 0; ri < s.nrules; ++ri) {
    if (!RuleMatches(s.rules[ri], nr, args)) continue;
    uint64_t tree_index = __atomic_add_fetch(&s.tree_counts[ri], 1, __ATOMIC_RELAXED);
    uint64_t index = tree_index;
    if (s.per_process) {
      if (!have_ids) {
        ids(&pid, &tid);
        have_ids = true;
      }
      if (slot == nullptr) slot = FindProcSlot(s, pid);
      index = slot ? __atomic_add_fetch(&slot->counts[ri], 1, __ATOMIC_RELAXED) : 0;
    }
    if (err == 0) {
      int e = RuleFaults(s, ri, index);
      if (e != 0) {
        err = e;
        rec.nr = nr;
        rec.rule = ri;
        rec.err = e;
        rec.index = index;
        rec.tree_index = tree_index;
      }
    }
  }
  if (err != 0) {
    if (!have_ids) ids(&pid, &tid);
    rec.pid = pid;
    rec.tid = tid;
    uint64_t slot_no = __atomic_fetch_add(&s.log_next, 1, __ATOMIC_RELAXED);
    if (slot_no < static_cast<uint64_t>(kMaxLog)) {
      // Each slot has one writer; the log is read only after the faulted tree has been reaped (ReadLog in
      // the launcher, after waitpid), which orders every record's writes before the reads. No fence needed.
      s.log[slot_no] = rec;
    }
  }
  return err;
}

}  // namespace ipc::fault
