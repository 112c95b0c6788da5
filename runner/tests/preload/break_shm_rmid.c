/* Breaks shmctl(2) IPC_RMID: "mark the segment to be destroyed": the call succeeds but does nothing. */
// ipcsuite-teeth: filter=shm/* rules=shm.ctl-rmid-key-released,shm.ctl-rmid-shm-dest
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int shmctl(int id, int cmd, struct shmid_ds* buf) {
  static int (*real)(int, int, struct shmid_ds*);
  if (!real) real = (int (*)(int, int, struct shmid_ds*))dlsym(RTLD_NEXT, "shmctl");
  if (cmd == IPC_RMID) {
    struct shmid_ds ds;
    return real(id, IPC_STAT, &ds) < 0 ? -1 : 0;
  }
  return real(id, cmd, buf);
}
