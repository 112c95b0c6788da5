#include "psem_util.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
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

namespace {

// Writes `text` to `path` (a /proc/self file); 0 or the errno.
int WriteProcFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, text.data(), text.size());
  int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  close(fd);
  return err;
}

bool IsTempName(const char* name) { return std::strncmp(name, "sem.", 4) == 0 && std::strlen(name) == 10; }

}  // namespace

std::string EnterPrivateDevShm() {
  if (unshare(CLONE_NEWNS) != 0) {
    int err = errno;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return "unshare(CLONE_NEWNS) failed with " + DescribeErrno(err) + ", with CLONE_NEWUSER with " +
             DescribeErrno(errno);
    int e = WriteProcFile("/proc/self/setgroups", "deny");
    if (e == 0)
      e = WriteProcFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1");
    if (e == 0)
      e = WriteProcFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
    if (e != 0) return "mapping the uid and gid into a new user namespace failed with " + DescribeErrno(e);
  }
  // Private first: a tmpfs mounted on a shared /dev/shm would propagate to the namespace it was copied from.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "making the mounts private failed with " + DescribeErrno(errno);
  if (mount("ipcsuite-psem", kDevShm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=1m") != 0)
    return "mounting a tmpfs on /dev/shm failed with " + DescribeErrno(errno);
  return "";
}

std::vector<std::string> DevShmTempNames() {
  std::vector<std::string> names;
  DIR* d = opendir(kDevShm);
  if (d == nullptr) {
    ADD_FAILURE() << "opendir /dev/shm failed with " << DescribeErrno(errno);
    return names;
  }
  while (dirent* e = readdir(d))
    if (IsTempName(e->d_name)) names.emplace_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> TempNamesLeftBy(const std::vector<std::string>& before,
                                         const std::vector<std::string>& after) {
  std::vector<std::string> fresh, left;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(fresh));
  for (const std::string& name : fresh) {
    std::string path = std::string(kDevShm) + "/" + name;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || st.st_size != 0) continue;  // gone, or a semaphore being made
    bool open_somewhere = false;
    DIR* proc = opendir("/proc");
    while (proc != nullptr && !open_somewhere) {
      dirent* p = readdir(proc);
      if (p == nullptr) break;
      if (p->d_name[0] < '0' || p->d_name[0] > '9') continue;
      std::string fds = std::string("/proc/") + p->d_name + "/fd";
      DIR* fd_dir = opendir(fds.c_str());
      if (fd_dir == nullptr) continue;
      while (dirent* f = readdir(fd_dir)) {
        struct stat fst {};
        if (f->d_name[0] != '.' && stat((fds + "/" + f->d_name).c_str(), &fst) == 0 &&
            fst.st_ino == st.st_ino && fst.st_dev == st.st_dev) {
          open_somewhere = true;
          break;
        }
      }
      closedir(fd_dir);
    }
    if (proc != nullptr) closedir(proc);
    if (!open_somewhere) left.push_back(name);
  }
  return left;
}

}  // namespace ipc::psem_util
