// The seccomp filter of a plan (classic BPF, written here because libseccomp cannot test the
// instruction pointer).
//
//   arch != x86_64                      -> ALLOW
//   nr not named by any rule            -> ALLOW     (constant: the kernel's action cache skips the filter)
//   ip inside the trampoline page       -> ALLOW     (the agent's re-issued calls, the launcher's exec)
//   nr with only unconditional rules    -> ERRNO(e) of the first rule whose conditions hold, else ALLOW
//   nr with a counted/probabilistic rule -> USER_NOTIF (the supervisor decides; the agent's wrappers
//                                          decide in-process and never get here)
//   rt_sigreturn, when any call is decided -> USER_NOTIF (always let through: the supervisor reads the
//                                          signal frame to recognise a call the kernel is about to
//                                          restart, so that it is not counted twice; see launch.cc)
#include "fault/filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ipc::fault {
namespace {

bool BpfCond(const Cond& c) { return c.op == CondOp::kEq || c.op == CondOp::kNe; }

// nr -> whether a per-call decision is needed for it.
std::map<int, bool> Groups(const State& s) {
  std::map<int, bool> g;
  for (int r = 0; r < s.nrules; ++r) {
    const CompiledRule& cr = s.rules[r];
    for (int i = 0; i < cr.nclauses; ++i) {
      const Clause& cl = cr.clauses[i];
      bool decide = cr.when != When::kAlways;
      for (int j = 0; j < cl.ncond; ++j)
        if (!BpfCond(cl.conds[j])) decide = true;
      g[cl.nr] = g[cl.nr] || decide;
    }
  }
  return g;
}

class Asm {
 public:
  void Ld(uint32_t off) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)); }
  void Ret(uint32_t v) { code_.push_back(BPF_STMT(BPF_RET | BPF_K, v)); }
  // if (A op k) goto label   (op: BPF_JEQ, BPF_JGE, BPF_JGT); negate: if !(A op k) goto label
  void JumpIf(uint16_t op, uint32_t k, const std::string& label, bool negate = false) {
    // cond true -> fall into the "ja" (jt=0), false -> skip it (jf=1); negated the other way round.
    const uint8_t jt = negate ? 1 : 0, jf = negate ? 0 : 1;
    code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, jt, jf));
    Ja(label);
  }
  void Ja(const std::string& label) {
    fixups_.push_back({code_.size(), label});
    code_.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
  }
  void Label(const std::string& l) { labels_[l] = code_.size(); }
  std::vector<sock_filter> Finish() {
    for (const auto& [pc, label] : fixups_) code_[pc].k = static_cast<uint32_t>(labels_.at(label) - pc - 1);
    return code_;
  }

 private:
  std::vector<sock_filter> code_;
  std::vector<std::pair<size_t, std::string>> fixups_;
  std::map<std::string, size_t> labels_;
};

constexpr uint32_t kNr = offsetof(seccomp_data, nr);
constexpr uint32_t kArch = offsetof(seccomp_data, arch);
constexpr uint32_t kIpLo = offsetof(seccomp_data, instruction_pointer);
constexpr uint32_t kIpHi = offsetof(seccomp_data, instruction_pointer) + 4;
uint32_t ArgLo(int i) { return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * i); }
uint32_t ArgHi(int i) { return ArgLo(i) + 4; }

}  // namespace

bool IsKernelRule(const State& s, int r) {
  if (s.rules[r].when != When::kAlways) return false;
  std::map<int, bool> g = Groups(s);
  for (int i = 0; i < s.rules[r].nclauses; ++i)
    if (g[s.rules[r].clauses[i].nr]) return false;
  return true;
}

bool NeedsDecisions(const State& s) {
  for (const auto& [nr, decide] : Groups(s))
    if (decide) return true;
  return false;
}

std::vector<int> DecidedSyscalls(const State& s) {
  std::vector<int> out;
  for (const auto& [nr, decide] : Groups(s))
    if (decide) out.push_back(nr);
  return out;
}

std::vector<sock_filter> BuildFilter(const State& s) {
  Asm a;
  std::map<int, bool> groups = Groups(s);
  // A rule on rt_sigreturn keeps its own meaning; otherwise the call is sent to the supervisor, which
  // finds no rule for it and lets it through after looking at the frame.
  if (NeedsDecisions(s) && groups.count(SYS_rt_sigreturn) == 0) groups[SYS_rt_sigreturn] = true;
  a.Ld(kArch);
  a.JumpIf(BPF_JEQ, AUDIT_ARCH_X86_64, "allow", /*negate=*/true);
  a.Ld(kNr);
  for (const auto& [nr, decide] : groups)
    a.JumpIf(BPF_JEQ, static_cast<uint32_t>(nr), "nr" + std::to_string(nr));
  a.Label("allow");
  a.Ret(SECCOMP_RET_ALLOW);
  const uint32_t t_hi = static_cast<uint32_t>(kTrampolineAddr >> 32);
  const uint32_t t_lo = static_cast<uint32_t>(kTrampolineAddr);
  for (const auto& [nr, decide] : groups) {
    std::string g = "nr" + std::to_string(nr);
    a.Label(g);
    // ip in [T, T + size) -> allow
    a.Ld(kIpHi);
    a.JumpIf(BPF_JEQ, t_hi, g + "_filter", /*negate=*/true);
    a.Ld(kIpLo);
    a.JumpIf(BPF_JGE, t_lo + static_cast<uint32_t>(kTrampolineSize), g + "_filter");
    a.JumpIf(BPF_JGE, t_lo, g + "_allow");  // (classic BPF jumps forward only)
    a.Label(g + "_filter");
    if (decide) {
      a.Ret(SECCOMP_RET_USER_NOTIF);
      a.Label(g + "_allow");
      a.Ret(SECCOMP_RET_ALLOW);
      continue;
    }
    int label_no = 0;
    for (int r = 0; r < s.nrules; ++r) {
      const CompiledRule& cr = s.rules[r];
      for (int i = 0; i < cr.nclauses; ++i) {
        const Clause& cl = cr.clauses[i];
        if (cl.nr != nr) continue;
        std::string next = g + "_c" + std::to_string(label_no++);
        for (int j = 0; j < cl.ncond; ++j) {
          const Cond& c = cl.conds[j];
          uint32_t lo = static_cast<uint32_t>(c.value), hi = static_cast<uint32_t>(c.value >> 32);
          std::string ok = next + "_ok" + std::to_string(j);
          if (c.op == CondOp::kEq) {
            a.Ld(ArgLo(c.arg));
            a.JumpIf(BPF_JEQ, lo, next, /*negate=*/true);
            if (c.width == 64) {
              a.Ld(ArgHi(c.arg));
              a.JumpIf(BPF_JEQ, hi, next, /*negate=*/true);
            }
          } else {  // kNe
            a.Ld(ArgLo(c.arg));
            if (c.width == 64) {
              a.JumpIf(BPF_JEQ, lo, ok, /*negate=*/true);
              a.Ld(ArgHi(c.arg));
              a.JumpIf(BPF_JEQ, hi, next);
            } else {
              a.JumpIf(BPF_JEQ, lo, next);
            }
          }
          a.Label(ok);
        }
        a.Ret(SECCOMP_RET_ERRNO | (static_cast<uint32_t>(cr.err) & SECCOMP_RET_DATA));
        a.Label(next);
      }
    }
    a.Label(g + "_allow");
    a.Ret(SECCOMP_RET_ALLOW);
  }
  return a.Finish();
}

}  // namespace ipc::fault
