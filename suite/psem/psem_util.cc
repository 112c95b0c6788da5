#include "psem_util.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ipc::psem_util {

bool MapsFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "stat " << path << " failed with " << DescribeErrno(errno);
    return false;
  }
  // "<from>-<to> <perms> <offset> <major>:<minor> <inode> <path>": match the file by device and inode (a
  // semaphore glibc created is mapped under the temporary name it had before it was linked to sem.<name>).
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev;
    unsigned long long inode = 0;
    if (!(in >> range >> perms >> offset >> dev >> inode)) continue;
    unsigned major_no = 0, minor_no = 0;
    if (std::sscanf(dev.c_str(), "%x:%x", &major_no, &minor_no) != 2) continue;
    if (inode == st.st_ino && major_no == major(st.st_dev) && minor_no == minor(st.st_dev)) return true;
  }
  return false;
}

}  // namespace ipc::psem_util
