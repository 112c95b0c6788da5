// Queue linearizability for distinct values by forbidden patterns (see linearizability.h).
#include "linearizability.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <unordered_map>

namespace ipc::ring::lin {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

struct Life {
  const Op* push = nullptr;
  const Op* pop = nullptr;
};

std::string Describe(const Op& op) {
  std::ostringstream os;
  switch (op.kind) {
    case Op::Kind::kPush:
      os << "push(" << op.value << ")";
      break;
    case Op::Kind::kPop:
      os << "pop()->" << op.value;
      break;
    case Op::Kind::kPopEmpty:
      os << "pop()->empty";
      break;
  }
  os << " by process " << op.process << " [" << op.invoke << ", " << op.response << "]";
  return os.str();
}

// For values sorted by push response: prefix maxima of "pop invoked at" (kNever if never popped), so
// that "is there a value pushed before time t whose pop began after time u" is one binary search.
struct PrefixMax {
  std::vector<uint64_t> push_res;
  std::vector<uint64_t> max_pop_inv;
  std::vector<const Life*> arg;
  explicit PrefixMax(std::vector<const Life*> lives) {
    std::sort(lives.begin(), lives.end(),
              [](const Life* a, const Life* b) { return a->push->response < b->push->response; });
    uint64_t best = 0;
    const Life* who = nullptr;
    for (const Life* l : lives) {
      uint64_t inv = l->pop ? l->pop->invoke : kNever;
      if (who == nullptr || inv > best) best = inv, who = l;
      push_res.push_back(l->push->response);
      max_pop_inv.push_back(best);
      arg.push_back(who);
    }
  }
  // The value pushed (returned) before `t` whose pop began latest, or nullptr.
  const Life* Latest(uint64_t t) const {
    size_t n = std::lower_bound(push_res.begin(), push_res.end(), t) - push_res.begin();
    return n == 0 ? nullptr : arg[n - 1];
  }
};

// A history of complete operations (no pending ones).
std::string CheckComplete(const std::vector<Op>& history, const Options& options) {
  const bool drained = options.drained;
  std::unordered_map<uint32_t, Life> lives;
  std::vector<const Op*> empties;
  for (const Op& op : history) {
    if (op.kind == Op::Kind::kPush) {
      if (lives[op.value].push != nullptr) return "value " + std::to_string(op.value) + " pushed twice";
      lives[op.value].push = &op;
    }
  }
  for (const Op& op : history) {
    if (op.kind == Op::Kind::kPopEmpty) {
      empties.push_back(&op);
      continue;
    }
    if (op.kind != Op::Kind::kPop) continue;
    auto it = lives.find(op.value);
    if (it == lives.end()) return "fresh: " + Describe(op) + " returned a value nobody pushed";
    Life& l = it->second;
    if (l.pop != nullptr) return "repeat: " + Describe(op) + " and " + Describe(*l.pop) + " both returned it";
    if (op.response < l.push->invoke)
      return "fresh: " + Describe(op) + " returned before " + Describe(*l.push) + " began";
    l.pop = &op;
  }
  std::vector<const Life*> all;
  for (const auto& [value, l] : lives) {
    if (drained && l.pop == nullptr) return "lost: " + Describe(*l.push) + " was never popped";
    all.push_back(&l);
  }
  PrefixMax before(all);
  // order: for each b (by push invocation), the a pushed before b began whose pop began latest.
  for (const Life* b : all) {
    if (b->pop == nullptr) continue;
    const Life* a = before.Latest(b->push->invoke);
    if (a != nullptr && (a->pop == nullptr || a->pop->invoke > b->pop->response))
      return "order: " + Describe(*a->push) + " returned before " + Describe(*b->push) + " began, but " +
             Describe(*b->pop) +
             (a->pop ? " returned before " + Describe(*a->pop) + " began" : " and a is never popped");
  }
  std::unordered_map<int, int> excused = options.excused_empties;
  for (const Op* e : empties) {
    const Life* v = before.Latest(e->invoke);
    if (v != nullptr && (v->pop == nullptr || v->pop->invoke > e->response)) {
      if (excused[e->process] > 0) {
        --excused[e->process];
        continue;
      }
      return "empty: " + Describe(*e) + " while " + std::to_string(v->push->value) +
             " was in the queue throughout (" + Describe(*v->push) +
             (v->pop ? ", " + Describe(*v->pop) : std::string(", never popped")) + ")";
    }
  }
  return "";
}

// Every way the pending pops may have taken effect: pop i takes one of `candidates` not taken yet,
// or (unless it must have) nothing. A leaf that leaves a lost value untaken is skipped.
struct Completion {
  const std::vector<Op>& base;
  const std::vector<Op>& pops;    // pending pops
  const std::vector<Op>& pushes;  // pending pushes whose value nobody popped
  const std::vector<uint32_t>& lost;
  const Options& options;
  std::vector<int> choice;  // per pending pop: index into candidates, or -1
  std::string first_failure;
  size_t tried = 0;

  size_t Candidates() const { return lost.size() + pushes.size(); }

  bool Leaf() {
    std::vector<bool> taken(Candidates(), false);
    for (int c : choice)
      if (c >= 0) taken[static_cast<size_t>(c)] = true;
    for (size_t i = 0; i < lost.size(); ++i)
      if (!taken[i]) return false;
    std::vector<Op> h = base;
    for (size_t i = 0; i < pops.size(); ++i) {
      if (choice[i] < 0) continue;
      auto c = static_cast<size_t>(choice[i]);
      Op pop = pops[i];
      pop.pending = false;
      if (c < lost.size()) {
        pop.value = lost[c];
      } else {
        Op push = pushes[c - lost.size()];
        push.pending = false;
        pop.value = push.value;
        h.push_back(push);
      }
      h.push_back(pop);
    }
    ++tried;
    std::string r = CheckComplete(h, options);
    if (r.empty()) return true;
    if (first_failure.empty()) first_failure = r;
    return false;
  }

  bool Search(size_t i) {
    if (i == pops.size()) return Leaf();
    std::vector<bool> taken(Candidates(), false);
    for (size_t j = 0; j < i; ++j)
      if (choice[j] >= 0) taken[static_cast<size_t>(choice[j])] = true;
    if (!pops[i].must) {
      choice[i] = -1;
      if (Search(i + 1)) return true;
    }
    for (size_t c = 0; c < Candidates(); ++c) {
      if (taken[c]) continue;
      choice[i] = static_cast<int>(c);
      if (Search(i + 1)) return true;
    }
    return false;
  }
};

}  // namespace

std::string Check(const std::vector<Op>& history, bool drained) {
  Options o;
  o.drained = drained;
  return Check(history, o);
}

std::string Check(const std::vector<Op>& history, const Options& options) {
  std::vector<Op> base, pending_pops, unpopped_pushes;
  std::unordered_map<uint32_t, int> popped;
  for (const Op& op : history)
    if (op.kind == Op::Kind::kPop && !op.pending) ++popped[op.value];
  for (const Op& op : history) {
    if (!op.pending) {
      base.push_back(op);
    } else if (op.kind == Op::Kind::kPop) {
      pending_pops.push_back(op);
    } else if (op.kind == Op::Kind::kPush) {
      // Popped: it took effect, inside its window. Not popped: it did not, or a pending pop took it.
      Op p = op;
      p.pending = false;
      (popped.count(op.value) ? base : unpopped_pushes).push_back(p);
    }
  }
  std::vector<uint32_t> lost;
  if (options.drained)
    for (const Op& op : base)
      if (op.kind == Op::Kind::kPush && !popped.count(op.value)) lost.push_back(op.value);
  // Without pending pops, or with more lost values than pending pops could have taken, the complete
  // part alone decides (and names the violation).
  if (pending_pops.empty() || lost.size() > pending_pops.size()) {
    std::string r = CheckComplete(base, options);
    if (!r.empty() && !pending_pops.empty())
      r += " (more values lost than the " + std::to_string(pending_pops.size()) +
           " killed pop(s) could have taken)";
    return r;
  }
  Completion c{
      base, pending_pops, unpopped_pushes, lost, options, std::vector<int>(pending_pops.size(), -1), "", 0};
  if (c.Search(0)) return "";
  if (c.first_failure.empty())
    return "the " + std::to_string(pending_pops.size()) +
           " pop(s) cut by kills cannot account for the values never received";
  return c.first_failure + " (in each of the " + std::to_string(c.tried) +
         " ways the operations cut by kills may have taken effect; shown: the first)";
}

}  // namespace ipc::ring::lin
