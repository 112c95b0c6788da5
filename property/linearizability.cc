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

}  // namespace

std::string Check(const std::vector<Op>& history, bool drained) {
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
  for (const Op* e : empties) {
    const Life* v = before.Latest(e->invoke);
    if (v != nullptr && (v->pop == nullptr || v->pop->invoke > e->response))
      return "empty: " + Describe(*e) + " while " + std::to_string(v->push->value) +
             " was in the queue throughout (" + Describe(*v->push) +
             (v->pop ? ", " + Describe(*v->pop) : std::string(", never popped")) + ")";
  }
  return "";
}

}  // namespace ipc::ring::lin
