// The judge of the concurrent properties (concurrent.h): a recorded history, the fault layer's log and
// the planned kills become the operations of a linearizability check (linearizability.h).
// Rules: suite/rules/property.ini.
#include <algorithm>
#include <unordered_map>
#include <utility>

#include "concurrent.h"
#include "linearizability.h"

namespace ipc::ring::prop {

std::string ProcessName(uint16_t id) {
  if (id == kDriverId) return "the draining process";
  if (id >= 100) return "consumer " + std::to_string(id - 100);
  return "producer " + std::to_string(id - 1);
}

const Kill* KillFor(const Scenario& sc, bool producer, size_t index) {
  for (const Kill& k : sc.kills)
    if (k.producer == producer && k.index == index) return &k;
  return nullptr;
}

namespace {

// Whether two operations of different processes overlapped in time (an operation cut by a kill lasts
// until its process was known to be dead).
bool Overlap(const History* h, const std::unordered_map<uint16_t, const ProcEntry*>& entry) {
  struct Span {
    uint64_t from, to;
    uint16_t process;
  };
  std::vector<Span> spans;
  const uint64_t n = std::min<uint64_t>(h->count, kMaxEvents);
  for (uint64_t i = 0; i < n; ++i) {
    const Event& e = h->events[i];
    if (e.state == 2) spans.push_back({e.invoke, e.response, e.process});
    auto it = entry.find(e.process);
    if (e.state == 1 && it != entry.end() && it->second != nullptr)
      spans.push_back({e.invoke, it->second->death, e.process});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.from < b.from; });
  // The two latest-ending spans seen so far that belong to different processes.
  Span first{0, 0, 0}, second{0, 0, 0};
  for (const Span& s : spans) {
    if ((first.process != s.process && s.from < first.to) ||
        (second.process != s.process && s.from < second.to))
      return true;
    if (s.to > first.to) {
      if (s.process != first.process) second = first;
      first = s;
    } else if (s.process != first.process && s.to > second.to) {
      second = s;
    }
  }
  return false;
}

}  // namespace

std::string Judge(const Scenario& sc, const History* h, const std::vector<fault::FaultEvent>& log,
                  Judged* stats) {
  std::unordered_map<int, uint16_t> process_of;
  std::unordered_map<uint16_t, const ProcEntry*> entry;
  for (uint32_t i = 0; i < h->nprocs; ++i) {
    process_of[h->procs[i].pid] = h->procs[i].process;
    entry[h->procs[i].process] = &h->procs[i];
  }
  std::unordered_map<uint16_t, int> eintr, eagain;  // semop/semtimedop faults per process
  for (const auto& f : log) {
    auto it = process_of.find(f.pid);
    if (it == process_of.end()) continue;
    if (f.err == EINTR) ++eintr[it->second];
    if (f.err == EAGAIN && f.name == "semop") ++eagain[it->second];  // try-pops: false "empty"
  }
  std::unordered_map<uint16_t, const Kill*> kill_of;
  for (size_t p = 0; p < sc.producers.size(); ++p) kill_of[ProducerId(p)] = KillFor(sc, true, p);
  for (size_t c = 0; c < sc.consumers.size(); ++c) kill_of[ConsumerId(c)] = KillFor(sc, false, c);
  for (uint32_t i = 0; i < h->nprocs; ++i) {
    const ProcEntry& pe = h->procs[i];
    if (pe.process == kDriverId) continue;
    stats->killed += pe.killed;
    if (pe.other || (pe.killed && kill_of[pe.process] == nullptr))
      return ProcessName(pe.process) + (pe.killed ? " was SIGKILLed although no kill was planned for it"
                                                  : " ended abnormally (not exit 0, not a planned kill)");
  }

  std::vector<lin::Op> ops;
  std::unordered_map<uint16_t, int> interrupted;
  const uint64_t n = std::min<uint64_t>(h->count, kMaxEvents);
  // A pop cut by a kill may hold a claimed message until the kernel undoes its claim at its death; a
  // try-pop in that window may find nothing to claim although the message is still in the queue
  // (whether or not the cut pop took effect). Such an "empty" claims nothing.
  std::vector<std::pair<uint64_t, uint64_t>> held;
  for (uint64_t i = 0; i < n; ++i) {
    const Event& e = h->events[i];
    const ProcEntry* pe = entry[e.process];
    if (e.state == 1 && e.side == Side::kPop && pe != nullptr) held.push_back({e.invoke, pe->death});
  }
  auto during_held = [&](const Event& e) {
    for (const auto& [from, to] : held)
      if (e.invoke < to && from < e.response) return true;
    return false;
  };
  for (uint64_t i = 0; i < n; ++i) {
    const Event& e = h->events[i];
    if (e.state == 0) continue;  // killed before it started
    const std::string who = ProcessName(e.process);
    const auto kind = static_cast<WaitKind>(e.wait);
    const bool push = e.side == Side::kPush;
    if (e.state == 1) {
      const ProcEntry* pe = entry[e.process];
      const Kill* k = kill_of[e.process];
      if (pe == nullptr || !pe->killed || k == nullptr)
        return who + ": an operation without a response, but the process was not killed";
      lin::Op op{push ? lin::Op::Kind::kPush : lin::Op::Kind::kPop, e.value, e.invoke, pe->death, e.process};
      ++(k->how == Kill::How::kAtStage ? stats->exact : stats->pending);
      if (k->how == Kill::How::kAtStage && k->stage != Stage::kCommitted) ++stats->held;
      if (k->how == Kill::How::kAtStage) {
        // Exactly known: before the commit nothing happened; after it the operation did.
        if (k->stage != Stage::kCommitted) continue;
        if (push) {
          ops.push_back(op);
        } else {
          op.pending = op.must = true;
          ops.push_back(op);
        }
      } else {
        op.pending = true;
        ops.push_back(op);
      }
      continue;
    }
    const auto s = static_cast<Status>(e.status);
    const bool no_effect = (s == Status::kWouldBlock && kind == WaitKind::kNoWait) ||
                           (s == Status::kTimedOut && kind == WaitKind::kTimed);
    if (e.torn)
      return "torn message delivered to " + who + " (its first bytes say id " + std::to_string(e.value) + ")";
    if (s == Status::kInterrupted && !sc.retry_eintr) {
      ++interrupted[e.process];
      continue;
    }
    if (s == Status::kOk) {
      ops.push_back(
          {push ? lin::Op::Kind::kPush : lin::Op::Kind::kPop, e.value, e.invoke, e.response, e.process});
      continue;
    }
    if (!no_effect)
      return who + ": " + WaitName(kind) + (push ? "-push" : "-pop") + " returned " + StatusName(s);
    if (!push && kind == WaitKind::kNoWait && !during_held(e))
      ops.push_back({lin::Op::Kind::kPopEmpty, 0, e.invoke, e.response, e.process});
  }
  for (const auto& [process, count] : interrupted)
    if (count > eintr[process])
      return ProcessName(process) + " was interrupted " + std::to_string(count) + " times, but only " +
             std::to_string(eintr[process]) + " EINTR faults were injected into it";
  stats->overlap = Overlap(h, entry);
  lin::Options o;
  o.drained = true;
  for (const auto& [process, count] : eagain) o.excused_empties[process] = count;
  std::string problem = lin::Check(ops, o);
  if (!problem.empty()) problem += " (history of " + std::to_string(ops.size()) + " operations)";
  return problem;
}

}  // namespace ipc::ring::prop
