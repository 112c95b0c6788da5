// How a test checks a property's outcome: it passed, and it showed every rule the test claims.
// Rules: suite/rules/property.ini.
#pragma once

#include "properties.h"

namespace ipc::ring::prop {

// The property passed (a failure caused by the machine is typed as an infrastructure failure), and for
// every rule the running test claims (IPC_TEST), the property has classes of cases that show it
// (Outcome::coverage) and the run reached each of them at least once. Prints the distribution, the seed
// and the coverage.
void ExpectPasses(const Outcome& out, const char* what);

}  // namespace ipc::ring::prop
