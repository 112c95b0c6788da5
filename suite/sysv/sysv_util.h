// Helpers shared by the cross-System V tests (suite/sysv/*.cc; rules: suite/rules/sysv.ini): ftok(3),
// /proc/sysvipc/{shm,sem}, the *_next_id sysctls and IPC namespace lifetime.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ipcsuite/fixtures.h"

namespace ipc::sysv_util {

// One object's line of a /proc/sysvipc file: column name (from the header line) -> value.
using ProcRow = std::map<std::string, std::string>;

// Parses /proc/sysvipc/<what> ("shm", "sem", "msg") into one row per object.
inline ::testing::AssertionResult ReadProcSysvipc(const std::string& what, std::vector<ProcRow>* rows) {
  const std::string path = "/proc/sysvipc/" + what;
  std::ifstream in(path);
  if (!in) return ::testing::AssertionFailure() << "cannot open " << path;
  std::string line;
  if (!std::getline(in, line)) return ::testing::AssertionFailure() << path << " has no header";
  std::vector<std::string> header;
  std::istringstream hs(line);
  for (std::string w; hs >> w;) header.push_back(w);
  rows->clear();
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    ProcRow row;
    for (const std::string& column : header) {
      std::string v;
      if (!(ls >> v)) return ::testing::AssertionFailure() << "short line in " << path << ": " << line;
      row[column] = v;
    }
    rows->push_back(std::move(row));
  }
  return ::testing::AssertionSuccess();
}

// The row whose column `id_column` ("shmid", "semid") is `id`, or nullptr.
inline const ProcRow* FindRow(const std::vector<ProcRow>& rows, const std::string& id_column, int id) {
  for (const ProcRow& r : rows)
    if (r.count(id_column) && r.at(id_column) == std::to_string(id)) return &r;
  return nullptr;
}

// The page size, as a size_t (segment sizes and /proc/sysvipc sizes are in bytes).
inline size_t Page() { return static_cast<size_t>(limits::PageSize()); }

}  // namespace ipc::sysv_util
