// Helpers shared by the cross-System V tests (suite/sysv/*.cc; rules: suite/rules/sysv.ini): ftok(3),
// /proc/sysvipc/{shm,sem} (read with ipcsuite/procfs.h), the *_next_id sysctls and IPC namespace lifetime.
#pragma once

#include <cstddef>

#include "ipcsuite/fixtures.h"

namespace ipc::sysv_util {

// The page size, as a size_t (segment sizes and /proc/sysvipc sizes are in bytes).
inline size_t Page() { return static_cast<size_t>(limits::PageSize()); }

}  // namespace ipc::sysv_util
