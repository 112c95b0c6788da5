// Internal: the seccomp filter of a compiled plan (filter.cc) and the trampoline page.
#pragma once

#include <linux/filter.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "ipcsuite/fault_state.h"

namespace ipc::fault {

std::vector<sock_filter> BuildFilter(const State& s);
// System calls that need a per-call decision (the agent takes them over).
std::vector<int> DecidedSyscalls(const State& s);

using TrampolineFn = long (*)(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

// Maps the trampoline page at kTrampolineAddr: a function that issues system call `nr` with six
// arguments (SysV calling convention in, syscall convention out) and returns the raw result. Returns
// nullptr when the address is taken. Every call made here goes through the libc wrappers' raw
// syscall() so that nothing is counted by the agent.
inline TrampolineFn MapTrampoline() {
  static const unsigned char kCode[] = {
      0x48, 0x89, 0xf8,              // mov rax, rdi
      0x48, 0x89, 0xf7,              // mov rdi, rsi
      0x48, 0x89, 0xd6,              // mov rsi, rdx
      0x48, 0x89, 0xca,              // mov rdx, rcx
      0x4d, 0x89, 0xc2,              // mov r10, r8
      0x4d, 0x89, 0xc8,              // mov r8, r9
      0x4c, 0x8b, 0x4c, 0x24, 0x08,  // mov r9, [rsp+8]
      0x0f, 0x05,                    // syscall
      0xc3,                          // ret
  };
  static TrampolineFn mapped = nullptr;  // inherited by fork: a child reuses its parent's page
  if (mapped) return mapped;
  void* want = reinterpret_cast<void*>(kTrampolineAddr);
  long p = syscall(SYS_mmap, want, kTrampolineSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != static_cast<long>(kTrampolineAddr)) {
    if (p > 0 && p != -1) syscall(SYS_munmap, p, kTrampolineSize);
    return nullptr;
  }
  unsigned char* dst = reinterpret_cast<unsigned char*>(p);
  for (unsigned i = 0; i < sizeof kCode; ++i) dst[i] = kCode[i];
  if (syscall(SYS_mprotect, want, kTrampolineSize, PROT_READ | PROT_EXEC) != 0) return nullptr;
  mapped = reinterpret_cast<TrampolineFn>(p);
  return mapped;
}

}  // namespace ipc::fault
