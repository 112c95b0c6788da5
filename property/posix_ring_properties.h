// The POSIX ring's properties (posix_ring.h), parametrised by its deliberate flaws (PosixFlaws) so that the
// same properties check the ring (they must pass) and each broken variant (they must fail). They use the
// System V ring's machinery unchanged (properties.h, property_util.h): one model (model.h's Model, the
// deque rapidcheck passes to every command), one generated case = one forked child under a fault plan with
// a deadline, classes of cases that show the rules a test claims, and for the concurrent property the same
// scenarios, history and linearizability judge (concurrent.h). Rules: suite/rules/posix_property.ini.
//
// Files: posix_ring_model.cc (the model's commands against the POSIX ring, sequential and under injected
// sem_wait/sem_timedwait faults; creation under shm_open/ftruncate/mmap faults), posix_ring_concurrent.cc
// (concurrent histories with faults and kills).
#pragma once

#include <cstddef>
#include <string>

#include "posix_ring.h"
#include "properties.h"

namespace ipc::ring::prop {

// Model-based: push/pop (try, timed, blocking), close, producer/consumer processes that map the ring by
// name or inherit the mapping, a process killed at a point of its operation while it holds the robust
// mutex (the next process to lock it recovers: rolled back before the commit, complete after), a process
// blocked in sem_wait that is then served, woken by close or killed, and two sleepers of which the first
// woken is killed before it locks (the other must still be served).
Outcome PosixSequentialModel(const posix::PosixFlaws& flaws, const Budget& budget, const std::string& id);
// The same commands while the fault layer injects EINTR/ETIMEDOUT/EAGAIN into sem_wait/sem_timedwait's
// futex wait (a generated schedule). Only `interrupted` (when asked not to retry) may show, and no more often
// than EINTR was injected; an early ETIMEDOUT must not end a wait before its deadline.
Outcome PosixSequentialUnderFaults(const posix::PosixFlaws& flaws, const Budget& budget,
                                   const std::string& id);
// Producers and consumers in processes at once, with a per-process sem_wait/sem_timedwait fault schedule and
// kills (at a point of an operation, after its n-th step, once asleep in sem_wait, after a time). The
// history must be linearizable (a cut operation whole or not at all) and the drained ring must take exactly
// `slots` messages.
Outcome PosixConcurrentUnderFaultsAndKills(const posix::PosixFlaws& flaws, const Budget& budget,
                                           const std::string& id);
// Creation while EMFILE/ENFILE is injected into shm_open's open, EFBIG into ftruncate, ENOMEM into mmap,
// and a second exclusive creation with a taken name (EEXIST): the errno is returned and no name is left.
Outcome PosixCreationUnderFaults(const posix::PosixFlaws& flaws, const Budget& budget, const std::string& id);

// How many ring names (shm_open names this process's properties made) are left in /dev/shm: 0 after every
// property, passed or failed (the property's own process owns each case's name, so even a case killed at
// its deadline leaves none).
size_t PosixNamesLeft();

}  // namespace ipc::ring::prop
