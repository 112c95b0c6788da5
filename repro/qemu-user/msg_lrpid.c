/* qemu-user: after msgrcv, msgctl(IPC_STAT) does not report the receiver's pid in msg_lrpid. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct m {
  long type;
  char text[4];
};

int main(void) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0) return perror("msgget"), 2;
  struct m out = {1, "ab"};
  if (msgsnd(id, &out, 3, 0) != 0) return perror("msgsnd"), 2;
  pid_t pid = fork();
  if (pid == 0) {
    struct m in;
    _exit(msgrcv(id, &in, sizeof in.text, 0, IPC_NOWAIT) == 3 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0) return perror("msgctl"), 2;
  msgctl(id, IPC_RMID, NULL);
  printf("receiver %d, msg_lrpid %d, msg_lspid %d (sender %d)\n", pid, (int)ds.msg_lrpid, (int)ds.msg_lspid,
         getpid());
  return ds.msg_lrpid == pid ? 0 : 1;
}
