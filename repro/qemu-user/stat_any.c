/* qemu-user: semctl SEM_STAT_ANY, msgctl MSG_STAT_ANY and shmctl SHM_STAT_ANY (Linux 4.17) fail with EINVAL:
 * qemu's do_semctl/do_msgctl/do_shmctl do not know these commands. On Linux each returns the object's id. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

int main(void) {
  int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), msg = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (sem < 0 || msg < 0 || shm < 0) return perror("create"), 2;
  int found_sem = 0, found_msg = 0, found_shm = 0, bad = 0;
  for (int i = 0; i < 32768 && !(found_sem && found_msg && found_shm); i++) {
    struct semid_ds sds;
    struct msqid_ds mds;
    struct shmid_ds hds;
    union semun arg = {.buf = &sds};
    if (semctl(i, 0, SEM_STAT_ANY, arg) == sem) found_sem = 1;
    if (msgctl(i, MSG_STAT_ANY, &mds) == msg) found_msg = 1;
    if (shmctl(i, SHM_STAT_ANY, &hds) == shm) found_shm = 1;
  }
  const char* names[] = {"SEM_STAT_ANY", "MSG_STAT_ANY", "SHM_STAT_ANY"};
  int found[] = {found_sem, found_msg, found_shm};
  for (int k = 0; k < 3; k++) {
    printf("%s: %s\n", names[k], found[k] ? "finds the object" : "never finds the object (divergence)");
    bad |= !found[k];
  }
  semctl(sem, 0, IPC_RMID);
  msgctl(msg, IPC_RMID, NULL);
  shmctl(shm, IPC_RMID, NULL);
  return bad;
}
