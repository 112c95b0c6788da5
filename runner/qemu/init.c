/* /init of the qemu target's initramfs (statically linked).
 *
 * Mounts /proc, /sys, /dev, /tmp and /dev/shm, then runs every test listed in /plan.tsv as its own process
 * (like the runner does on the host: BINARY --gtest_filter=NAME with $IPCSUITE_RESULT_FILE and $TMPDIR), at
 * most JOBS at a time, each with a deadline. For each test it writes one line to the second serial port
 * (/dev/ttyS1; the kernel's console is ttyS0, so no kernel message can split a line):
 *
 *   @@IPCSUITE {"binary":..,"test":..,"wait_status":N,"timed_out":B,"elapsed_ms":N,"record":{..}|null,
 *               "output":".."}
 *
 * "record" is the test's own record line from $IPCSUITE_RESULT_FILE, verbatim. A first line gives the
 * guest's uname and libc; a last line "@@IPCSUITE-END" says the run finished. Then it powers the machine off.
 *
 * /plan.tsv: first line "jobs<TAB>N<TAB>timeout_s<TAB>S", then "BINARY<TAB>TEST" lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 8192
#define MAX_JOBS 16
#define OUTPUT_TAIL 3000

struct test {
  char binary[256];
  char name[512];
};

struct slot {
  pid_t pid;
  int index;
  double started;
};

static struct test tests[MAX_TESTS];
static FILE* out;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void json_string(FILE* f, const char* s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c == '\n') {
      fputs("\\n", f);
    } else if (c == '\t') {
      fputs("\\t", f);
    } else if (c < 0x20 || c == 0x7f) {
      fprintf(f, "\\u%04x", c);
    } else if (c >= 0x80) {
      fputc('?', f); /* keep the line plain ASCII: the serial line carries it */
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

static size_t read_file(const char* path, char* buf, size_t cap, int tail) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (tail && fstat(fd, &st) == 0 && (size_t)st.st_size > cap - 1)
    lseek(fd, st.st_size - (cap - 1), SEEK_SET);
  size_t n = 0;
  ssize_t r;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  buf[n] = '\0';
  close(fd);
  return n;
}

static void setup(void) {
  mkdir("/proc", 0755);
  mkdir("/sys", 0755);
  mkdir("/dev", 0755);
  mkdir("/tmp", 01777);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
  mkdir("/dev/shm", 01777);
  mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
  mkdir("/dev/mqueue", 01777);
  mount("mqueue", "/dev/mqueue", "mqueue", 0, NULL);
  mkdir("/tmp/run", 0711);
  mkdir("/tmp/res", 0700);
  int fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  struct termios t;
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    cfsetospeed(&t, B115200);
    tcsetattr(fd, TCSANOW, &t);
  }
  out = fdopen(fd, "w");
  setvbuf(out, NULL, _IOFBF, 1 << 16);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) dup2(null, 0);
  setenv("PATH", "/bin", 1);
  setenv("HOME", "/tmp", 1);
}

static pid_t start(int i, double timeout) {
  (void)timeout;
  char res[64], log[64];
  snprintf(res, sizeof res, "/tmp/res/%d.jsonl", i);
  snprintf(log, sizeof log, "/tmp/res/%d.out", i);
  pid_t pid = fork();
  if (pid != 0) return pid;
  setsid();
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  setenv("IPCSUITE_RESULT_FILE", res, 1);
  setenv("TMPDIR", "/tmp/run", 1);
  char filter[600];
  snprintf(filter, sizeof filter, "--gtest_filter=%s", tests[i].name);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execl(tests[i].binary, tests[i].binary, filter, "--gtest_color=no", (char*)NULL);
  fprintf(stderr, "init: exec %s: %s\n", tests[i].binary, strerror(errno));
  _exit(127);
}

static void report(int i, int status, int timed_out, double elapsed) {
  static char record[1 << 16], output[OUTPUT_TAIL + 1];
  char res[64], log[64];
  snprintf(res, sizeof res, "/tmp/res/%d.jsonl", i);
  snprintf(log, sizeof log, "/tmp/res/%d.out", i);
  size_t n = read_file(res, record, sizeof record, 0);
  /* the last complete line of the record file */
  while (n > 0 && (record[n - 1] == '\n' || record[n - 1] == '\r')) record[--n] = '\0';
  char* line = strrchr(record, '\n');
  line = line ? line + 1 : record;
  size_t m = read_file(log, output, sizeof output, 1);
  unlink(res);
  unlink(log);
  fprintf(out, "@@IPCSUITE {\"binary\":");
  json_string(out, tests[i].binary, strlen(tests[i].binary));
  fprintf(out, ",\"test\":");
  json_string(out, tests[i].name, strlen(tests[i].name));
  fprintf(out, ",\"wait_status\":%d,\"timed_out\":%s,\"elapsed_ms\":%ld,\"record\":", status,
          timed_out ? "true" : "false", (long)(elapsed * 1000));
  if (*line == '{') {
    for (char* p = line; *p; ++p)
      if ((unsigned char)*p >= 0x80) *p = '?';
    fputs(line, out);
  } else {
    fputs("null", out);
  }
  fprintf(out, ",\"output\":");
  json_string(out, output, m);
  fputs("}\n", out);
  fflush(out);
}

int main(void) {
  setup();
  static char plan[1 << 20];
  size_t n = read_file("/plan.tsv", plan, sizeof plan, 0);
  int jobs = 1, count = 0;
  double timeout = 60;
  char* save = NULL;
  for (char* line = strtok_r(plan, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "jobs\t", 5) == 0) {
      sscanf(line, "jobs\t%d\ttimeout_s\t%lf", &jobs, &timeout);
      continue;
    }
    char* tab = strchr(line, '\t');
    if (!tab || count >= MAX_TESTS) continue;
    *tab = '\0';
    snprintf(tests[count].binary, sizeof tests[count].binary, "%s", line);
    snprintf(tests[count].name, sizeof tests[count].name, "%s", tab + 1);
    ++count;
  }
  (void)n;
  if (jobs < 1) jobs = 1;
  if (jobs > MAX_JOBS) jobs = MAX_JOBS;
  struct utsname u;
  uname(&u);
  fprintf(out, "@@IPCSUITE-START {\"kernel_release\":");
  json_string(out, u.release, strlen(u.release));
  fprintf(out, ",\"kernel_version\":");
  json_string(out, u.version, strlen(u.version));
  fprintf(out, ",\"architecture\":");
  json_string(out, u.machine, strlen(u.machine));
  fprintf(out, ",\"libc\":\"glibc\",\"libc_version\":\"%s\",\"cpus\":%ld,\"tests\":%d}\n",
          gnu_get_libc_version(), sysconf(_SC_NPROCESSORS_ONLN), count);
  fflush(out);

  struct slot slots[MAX_JOBS];
  memset(slots, 0, sizeof slots);
  int next = 0, running = 0;
  double begin = now();
  while (next < count || running > 0) {
    for (int s = 0; s < jobs && next < count; ++s) {
      if (slots[s].pid != 0) continue;
      slots[s].pid = start(next, timeout);
      slots[s].index = next;
      slots[s].started = now();
      ++next;
      ++running;
    }
    int status;
    pid_t w = waitpid(-1, &status, WNOHANG);
    if (w > 0) {
      for (int s = 0; s < jobs; ++s) {
        if (slots[s].pid == w) {
          kill(-w, SIGKILL); /* anything the test left behind in its group */
          report(slots[s].index, status, 0, now() - slots[s].started);
          slots[s].pid = 0;
          --running;
        }
      }
      continue; /* reap orphans and finished tests without sleeping */
    }
    double t = now();
    for (int s = 0; s < jobs; ++s) {
      if (slots[s].pid != 0 && t - slots[s].started > timeout) {
        kill(-slots[s].pid, SIGKILL);
        kill(slots[s].pid, SIGKILL);
        waitpid(slots[s].pid, &status, 0);
        report(slots[s].index, status, 1, t - slots[s].started);
        slots[s].pid = 0;
        --running;
      }
    }
    struct timespec ts = {0, 2 * 1000 * 1000}; /* the guest init polls its children: 2 ms */
    nanosleep(&ts, NULL);
  }
  fprintf(out, "@@IPCSUITE-END {\"elapsed_ms\":%ld}\n", (long)((now() - begin) * 1000));
  fflush(out);
  fsync(fileno(out));
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
