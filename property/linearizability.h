// Linearizability of a concurrent FIFO queue history in which every pushed value is distinct.
//
// With distinct values a complete history is linearizable with respect to a queue iff none of these
// patterns occurs (Henzinger, Sezgin, Vafeiadis, "Aspect-oriented linearizability proofs", 2013):
//   fresh   a value is popped that was never pushed, or popped before its push was invoked;
//   repeat  a value is popped twice;
//   lost    a pushed value is never popped although the history ends with the queue drained;
//   order   push(a) returns before push(b) is invoked, yet pop(b) returns before pop(a) is invoked;
//   empty   a try-pop reports "empty" (would-block) while a value was in the queue for the
//           whole call: push(v) returned before the pop began and pop(v) began after it returned.
// (The empty check is the pairwise form: it only reports real violations, but a violation that needs
// several values to witness emptiness together is not detected. Bounded-capacity "full" results are
// not checked.) Every check is a sort plus a sweep: O(n log n) in the length of the history.
//
// Operations cut by a kill (`pending`: invoked, never answered) have a window [invoke, response] in
// which they may have taken effect, `response` being a time the process was known to be dead:
//   - a pending push may have taken effect (then its value is popped exactly once, whole, and the
//     push is linearised inside its window) or not (then its value is never popped);
//   - a pending pop (value unknown: the process died before reporting it) may have removed one
//     message, at a point inside its window, that nobody receives; with `must` it certainly did
//     (it was killed after its commit).
// The check tries every way the pending operations may have taken effect (a pending pop takes one
// unreceived value or none): a few kills give a handful of complete histories, each checked as above.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ipc::ring::lin {

struct Op {
  enum class Kind { kPush, kPop, kPopEmpty } kind;
  uint32_t value = 0;                 // pushed / popped value (unused for kPopEmpty)
  uint64_t invoke = 0, response = 0;  // logical times: invoke < response; all times distinct
  int process = 0;
  bool pending = false;  // cut by a kill: response is when the process was known to be dead
  bool must = false;     // pending pop that certainly took effect (killed after its commit)
};

struct Options {
  bool drained = true;
  // Per process: how many of its "empty" results may be false (an injected EAGAIN turns a try-pop
  // into would-block without looking at the queue).
  std::unordered_map<int, int> excused_empties;
};

// Only completed operations that took effect (successful pushes and pops) and pops that saw the queue
// empty belong in the history; failed pushes (would-block, timed-out) had no effect and are left out.
// `drained`: the history ends with pops until the queue was empty (so unpopped values are lost).
// Returns "" when linearizable, else a description of one violation.
std::string Check(const std::vector<Op>& history, bool drained);
std::string Check(const std::vector<Op>& history, const Options& options);

}  // namespace ipc::ring::lin
