/* qemu-user: mq_notify(3) fails with ENOSYS: qemu 7.2's linux-user has no case for the mq_notify system call
 * (mq_open, mq_timedsend, mq_timedreceive, mq_getsetattr and mq_unlink it passes on). Linux registers the
 * process for notification. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "/ipcsuite-repro-notify-%d", (int)getpid());
  struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};
  mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
  if (q == (mqd_t)-1) {
    printf("mq_open: %s\n", strerror(errno));
    return errno == ENOSYS ? 77 : 2;
  }
  mq_unlink(name);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_NONE;
  int r = mq_notify(q, &ev);
  printf("mq_notify(SIGEV_NONE): %s\n", r == 0 ? "registered" : strerror(errno));
  mq_close(q);
  return r == 0 ? 0 : 1;
}
