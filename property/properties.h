// The ring's properties, parametrised by the ring's (deliberate) flaws so that the same properties
// check the reference ring (they must pass) and each broken variant (they must fail).
//
// Every generated case runs in a forked child (ipc::fault::RunInChild) with a deadline: a hang is a
// failure of that case, not a stuck test. Budgets are small by default; IPCSUITE_SOAK=N multiplies the
// number of cases by N (a non-number such as IPCSUITE_SOAK=yes means x20), and RC_PARAMS (rapidcheck's own
// variable: seed, max_success, max_size, reproduce, ...) overrides everything.
//
// Files: property_util.* (messages, helper processes, one case, coverage, running a property), model.*
// and model_processes.cc (the model-based property), faults.cc (under injected faults, creation),
// concurrent*.{h,cc} (linearizable histories, with faults and kills), linearizability.* (the checker).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ring.h"

namespace ipc::ring::prop {

struct Budget {
  int max_success = 30;
  int max_size = 40;
  std::chrono::milliseconds deadline{4000};  // per generated case
  bool shrink = true;
};

// `base` cases, times the IPCSUITE_SOAK factor.
Budget DefaultBudget(int base);

// How many cases of a class that shows a rule the run reached (see CheckProperty, property_util.h).
struct Coverage {
  std::string rule;
  std::string tag;  // the class of cases, as rapidcheck prints it in the distribution
  int cases = 0;
};

struct Outcome {
  bool passed = false;
  bool infrastructure = false;  // failed because the machine refused a setup step (fork, pipe)
  int cases = 0;
  uint64_t seed = 0;
  std::string text;  // rapidcheck's report; on failure with the counterexample, seed and reproduce string
  std::vector<Coverage> coverage;  // after a pass: per rule the property checks, the cases that show it
};

// Model-based: sequences of push/try/timed/pop/close/start-producer/start-consumer/kill-mid-operation/
// kill-blocked/close-while-blocked/serve-while-blocked commands against one deque model (rapidcheck's).
Outcome SequentialModel(const Flaws& flaws, const Budget& budget, const std::string& id);
// The same commands while the fault layer injects EINTR/EAGAIN into semop/semtimedop; the fault
// schedule is part of the generated case. No operation may take partial effect, and the ring may
// report would-block / timed-out / interrupted without cause only as often as faults were injected
// (such a no-effect failure is retried: the model stays exact).
Outcome SequentialUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id);
// Producers and consumers in separate processes at once; the history must be linearizable.
Outcome Concurrent(const Flaws& flaws, const Budget& budget, const std::string& id);
// The same with a generated per-process fault schedule (EINTR/EAGAIN into semop/semtimedop, ENOMEM/
// ENOSPC into the creating semget/shmget) and generated kills mid-operation (at a stage, once blocked,
// after a time). An operation cut by a kill is judged by the crash-safety contract (ring.h): at a known
// stage exactly, otherwise as pending (whole or not at all). After the run the drained ring must hold
// exactly `slots` messages again.
Outcome ConcurrentUnderFaultsAndKills(const Flaws& flaws, const Budget& budget, const std::string& id);
// Creation while ENOMEM/ENOSPC is injected into semget/shmget (and EEXIST for a taken key): the
// error is returned, and nothing is left behind.
Outcome CreationUnderFaults(const Flaws& flaws, const Budget& budget, const std::string& id);

}  // namespace ipc::ring::prop
