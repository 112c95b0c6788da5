"""./ipcsuite inject against real programs: the project's ipcsuite-fault-prog, cat, sort, python3."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runner.tests.conftest import BUILD, ROOT, ipcsuite

PROG = BUILD / "bin" / "ipcsuite-fault-prog"
PROG_STATIC = BUILD / "bin" / "ipcsuite-fault-prog-static"
PY = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(not (BUILD / "bin" / "ipcsuite-inject").is_file(),
                                reason=f"{BUILD}/bin/ipcsuite-inject is not built")


def inject(*args, input=None, timeout=60, env=None):
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("LD_PRELOAD", None)
    full_env["IPCSUITE_BUILD_DIR"] = str(BUILD)
    return subprocess.run([str(ROOT / "ipcsuite"), "inject", *args], cwd=ROOT, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, env=full_env, check=False)


def tally(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def fault_lines(log: Path) -> list[str]:
    return [ln for ln in log.read_text().splitlines() if ln.startswith("fault ")]


# --- parsing and bad input: one line on stderr, exit 2, the program never starts ---

@pytest.mark.parametrize("args, message", [
    (["--fail", "semopp=EIDRM", "--", "true"], "unknown system call 'semopp'"),
    (["--fail", "semop=EBOGUS", "--", "true"], "unknown errno name 'EBOGUS'"),
    (["--fail", "semop=EIDRM@0", "--", "true"], "@N takes a call number N >= 1"),
    (["--fail", "semop=EIDRM@3+x", "--", "true"], "@N+K takes a period K >= 1"),
    (["--fail", "semop=EIDRM%1.5", "--", "true"], "0 < P <= 1"),
    (["--fail", "semop", "--", "true"], "want NAME=ERRNO"),
    (["--fail", "write[fdd=3]=EIO", "--", "true"], "unknown argument 'fdd' of write"),
    (["--fail", "write[fd=x]=EIO", "--", "true"], "want an integer"),
    (["--fail", "write=EIO"], "no program given"),
    (["--fail", "write=EIO", "--", "/no/such/program"], "program not found"),
    (["--fail", "write=EIO", "--", "no-such-program-xyz"], "program not found: no-such-program-xyz"),
    (["--", "true"], "no rules"),
    (["--fail", "write=EIO", "--seed", "abc", "--", "true"], "--seed takes a non-negative integer"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    marker = tmp_path / "started"
    # If the program started despite bad input, it would create the marker.
    expanded = []
    for a in args:
        expanded += ["sh", "-c", f"touch {marker}"] if a == "true" else [a]
    r = inject(*expanded)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]
    assert "ipcsuite inject: seed" not in r.stderr  # nothing ran
    assert not marker.exists()


def test_bad_plan_file_names_file_and_line(tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("# faults for the test\nsemop=EIDRM@2   # the second one\n\nwrite=ENOPE\n")
    r = inject("--plan", str(plan), "--", str(PROG), "semop", "3")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert f"{plan}:4:" in r.stderr and "ENOPE" in r.stderr


def test_plan_file_with_comments(tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("# two rules\nsemop=EIDRM@2   # the second semop\nsemop=EAGAIN@4\n")
    r = inject("--plan", str(plan), "--", str(PROG), "semop", "6")
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == {"calls": 6, "EAGAIN": 1, "EIDRM": 1, "ok": 4}


def test_plan_and_replay_from_a_pipe_are_read_once_for_check_and_run(tmp_path):
    # A plan on a pipe (/dev/stdin here, a shell's <(...) alike) can be read only once; the front end runs the
    # injector twice (--check, then the program), so it reads such an input once and hands both a copy.
    root = tmp_path / "tmp-root"
    root.mkdir()
    env = {"IPCSUITE_TMP_ROOT": str(root)}
    r = inject("--plan", "/dev/stdin", "--", str(PROG), "semop", "6", input="semop=EIDRM@2\nsemop=EAGAIN@4\n",
               env=env)
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == {"calls": 6, "EAGAIN": 1, "EIDRM": 1, "ok": 4}
    log = tmp_path / "faults.log"
    r = inject("--fail", "semop=EIDRM@3", "--log", str(log), "--", str(PROG), "semop", "4")
    assert r.returncode == 0, r.stderr
    r = inject("--replay", "/dev/stdin", "--", str(PROG), "semop", "4", input=log.read_text(), env=env)
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == {"calls": 4, "EIDRM": 1, "ok": 3}
    # Its errors name the input as given; the copies are gone.
    r = inject("--plan", "/dev/stdin", "--", str(PROG), "semop", "1", input="semop=ENOPE\n", env=env)
    assert r.returncode == 2 and "/dev/stdin:1:" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert list(root.iterdir()) == []


# --- exact counts ---

@pytest.mark.parametrize("spec, expect", [
    ("semop=EIDRM", {"calls": 10, "EIDRM": 10}),           # unconditional: kernel filter
    ("semop=EIDRM@3", {"calls": 10, "EIDRM": 1, "ok": 9}),
    ("semop=EIDRM@3+", {"calls": 10, "EIDRM": 8, "ok": 2}),
    ("semop=EIDRM@2+3", {"calls": 10, "EIDRM": 3, "ok": 7}),  # 2, 5, 8
    ("semop=EIDRM@11", {"calls": 10, "ok": 10}),
])
def test_counted_rules_fault_exactly_those_calls(spec, expect):
    r = inject("--fail", spec, "--", str(PROG), "semop", "10")
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == expect


def test_log_names_pid_tid_syscall_index_errno(tmp_path):
    log = tmp_path / "faults.log"
    r = inject("--seed", "5", "--fail", "write=EIO@2+3", "--log", str(log), "--", str(PROG), "pipe-write", "10")
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == {"calls": 10, "EIO": 3, "ok": 7}
    lines = fault_lines(log)
    assert [re.search(r" index=(\d+)", ln).group(1) for ln in lines] == ["2", "5", "8"]
    for ln in lines:
        assert re.match(r"fault pid=\d+ tid=\d+ syscall=write nr=1 index=\d+ tree_index=\d+ errno=EIO rule=0", ln)
    assert "# seed 5" in log.read_text()
    assert "ipcsuite inject: seed 5" in r.stderr


def test_log_to_a_fifo_nobody_reads_is_refused_before_the_program_runs(tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    ran = tmp_path / "ran"
    r = inject("--fail", "write=EIO", "--log", str(fifo), "--", "/bin/sh", "-c", f": > {ran}", timeout=30)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"ipcsuite inject: error: --log: {fifo} is a FIFO that no process reads"]
    assert not ran.exists(), "the program ran"


def test_log_to_a_fifo_with_a_reader_gets_the_log(tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = inject("--seed", "5", "--fail", "write=EIO@2", "--log", str(fifo), "--", str(PROG), "pipe-write", "3")
        assert r.returncode == 0, r.stderr
        os.set_blocking(reader, True)
        text = b""
        while chunk := os.read(reader, 65536):
            text += chunk
    finally:
        os.close(reader)
    assert "# seed 5" in text.decode() and " index=2 " in text.decode()


def test_seed_is_always_printed():
    r = inject("--fail", "semop=EIDRM@1", "--", str(PROG), "semop", "1")
    assert re.search(r"^ipcsuite inject: seed \d+$", r.stderr, re.M), r.stderr


def test_probability_is_reproducible_from_the_seed():
    a = inject("--seed", "42", "--fail", "semop=EAGAIN%0.3", "--", str(PROG), "semop", "200")
    b = inject("--seed", "42", "--fail", "semop=EAGAIN%0.3", "--", str(PROG), "semop", "200")
    c = inject("--seed", "43", "--fail", "semop=EAGAIN%0.3", "--", str(PROG), "semop", "200")
    ta = tally(a.stdout)
    assert ta == tally(b.stdout)
    assert 30 <= ta["EAGAIN"] <= 90  # 200 draws at 0.3
    assert ta != tally(c.stdout) or a.stdout != c.stdout


def test_argument_condition_selects_calls(tmp_path):
    # fd 10 is the restart program's pipe; other reads (the loader's, fd 3...) are untouched.
    r = inject("--fail", "read[fd=10]=EIO", "--", str(PROG), "restart", "0")
    assert r.returncode == 0, r.stderr
    assert "first=EIO second=EIO" in r.stdout
    r = inject("--fail", "read[fd!=10]=EIO@1000+", "--", str(PROG), "restart", "0")
    assert "first=1 second=1" in r.stdout


# --- names mean what the caller wrote ---

def test_semop_and_semtimedop_are_told_apart():
    r = inject("--fail", "semop=EIDRM", "--", str(PROG), "semtimedop", "4")
    assert tally(r.stdout) == {"calls": 4, "ok": 4}
    r = inject("--fail", "semtimedop=EIDRM@2", "--", str(PROG), "semtimedop", "4")
    assert tally(r.stdout) == {"calls": 4, "EIDRM": 1, "ok": 3}
    r = inject("--fail", "semtimedop=EIDRM", "--", str(PROG), "semop", "4")
    assert tally(r.stdout) == {"calls": 4, "ok": 4}
    r = inject("--fail", "sys:semtimedop=EIDRM@2", "--", str(PROG), "semop", "4")  # the raw call
    assert tally(r.stdout) == {"calls": 4, "EIDRM": 1, "ok": 3}


def test_pipe_and_pipe2_are_told_apart():
    assert tally(inject("--fail", "pipe=EMFILE@2", "--", str(PROG), "pipe", "3").stdout) == \
        {"calls": 3, "EMFILE": 1, "ok": 2}
    assert tally(inject("--fail", "pipe=EMFILE", "--", str(PROG), "pipe2", "3").stdout) == {"calls": 3, "ok": 3}
    assert tally(inject("--fail", "pipe2=EMFILE", "--", str(PROG), "pipe2", "3").stdout) == \
        {"calls": 3, "EMFILE": 3}


def test_open_and_openat_are_told_apart(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    # [flags=0]: the program's own open(O_RDONLY) calls, not the dynamic loader's (O_CLOEXEC) ones.
    assert tally(inject("--fail", "open[flags=0]=ENOENT@2", "--", str(PROG), "open", "3", str(f)).stdout) == \
        {"calls": 3, "ENOENT": 1, "ok": 2}
    assert tally(inject("--fail", "openat=ENOENT", "--", str(PROG), "open", "3", str(f)).stdout) == \
        {"calls": 3, "ok": 3}
    assert tally(inject("--fail", "openat=ENOENT@2+", "--", str(PROG), "openat", "3", str(tmp_path), "f")
                 .stdout) == {"calls": 3, "ENOENT": 2, "ok": 1}


# --- restarts after signals ---

@pytest.mark.parametrize("prog", [PROG, PROG_STATIC], ids=["agent", "supervisor"])
@pytest.mark.parametrize("mode", ["restart", "restart-late"])
def test_restarted_call_is_counted_once(prog, mode):
    # One read() interrupted 5 times by an SA_RESTART handler is one call: @2 is the next read().
    # The static program has no agent: its reads are decided by the supervisor (user notification).
    # "restart" signals the reader as soon as it sleeps in read(), on that path possibly still in the
    # wait for the supervisor's answer; "restart-late" only once the supervisor has let the read through
    # and the read itself sleeps, so that every signal makes the kernel restart the call and send it to
    # the filter again.
    r = inject("--fail", "read[fd=10]=EIO@2", "--", str(prog), mode, "5")
    assert r.returncode == 0, r.stderr
    assert "first=1 second=EIO handled=5" in r.stdout, r.stdout + r.stderr
    if prog == PROG_STATIC and mode == "restart-late":
        # Each of the five signals made the kernel re-send the read, and the supervisor knew it.
        assert "5 restarted by the kernel, not counted again" in r.stderr


# --- threads and children ---

def test_threads_share_exact_counts():
    r = inject("--fail", "write[fd=3]=EIO@1+10", "--", str(PROG), "threads", "4", "1000")
    assert r.returncode == 0, r.stderr
    assert tally(r.stdout) == {"calls": 4000, "EIO": 400, "ok": 3600}


def test_children_count_per_tree_and_per_process():
    tree = inject("--fail", "write[fd=3]=EIO@2", "--", str(PROG), "fork", "3", "5")
    assert tally(tree.stdout) == {"calls": 15, "failed": 1}
    proc = inject("--count", "process", "--fail", "write[fd=3]=EIO@2", "--", str(PROG), "fork", "3", "5")
    assert tally(proc.stdout) == {"calls": 15, "failed": 3}


def test_exec_descendants_share_the_tree_count():
    r = inject("--fail", "semop=EAGAIN@5", "--", "sh", "-c", f"{PROG} semop 3; {PROG} semop 3")
    assert r.returncode == 0, r.stderr
    assert [tally(ln) for ln in r.stdout.splitlines()] == [{"calls": 3, "ok": 3}, {"calls": 3, "EAGAIN": 1, "ok": 2}]


def test_common_tools(tmp_path):
    r = inject("--fail", "write[fd=1]=ENOSPC", "--", "cat", input="hello\n")
    assert r.returncode == 1 and r.stdout == "" and "No space left on device" in r.stderr
    r = inject("--fail", "write[fd=1]=ENOSPC@1", "--", "sort", input="b\na\n")
    assert r.returncode == 2 and "No space left on device" in r.stderr
    code = "import os\ntry:\n os.pipe()\nexcept OSError as e: print(e.errno)\nprint(len(os.pipe()))"
    # Python's os.pipe() calls pipe2(fds, O_CLOEXEC): a rule on pipe does not see it, one on pipe2 does.
    r = inject("--fail", "pipe=EMFILE@1", "--", PY, "-c", code)
    assert r.stdout.split() == ["2"], r.stderr
    r = inject("--fail", "pipe2=EMFILE@1", "--", PY, "-c", code)
    assert r.stdout.split() == ["24", "2"], r.stderr


def test_exit_status_passes_through():
    assert inject("--fail", "semop=EIDRM@1", "--", "sh", "-c", "exit 7").returncode == 7
    assert inject("--fail", "semop=EIDRM@1", "--", "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_static_program_falls_back_to_the_supervisor():
    r = inject("--fail", "semop=EIDRM@3", "--", str(PROG_STATIC), "semop", "10")
    assert r.returncode == 0, r.stderr
    assert "statically linked" in r.stderr
    assert tally(r.stdout) == {"calls": 10, "EIDRM": 1, "ok": 9}


# --- replay ---

def test_replay_reproduces_the_same_faults(tmp_path):
    log, log2 = tmp_path / "a.log", tmp_path / "b.log"
    a = inject("--seed", "9", "--fail", "semop=EAGAIN%0.3", "--fail", "write[fd=3]=EIO@2+7", "--log", str(log),
               "--", "sh", "-c", f"{PROG} semop 100; {PROG} threads 1 30")
    b = inject("--replay", str(log), "--log", str(log2), "--", "sh", "-c", f"{PROG} semop 100; {PROG} threads 1 30")
    assert a.returncode == b.returncode == 0, b.stderr
    assert a.stdout == b.stdout
    strip = lambda lines: [re.sub(r"pid=\d+ tid=\d+ ", "", ln) for ln in lines]  # noqa: E731
    assert len(fault_lines(log)) > 10
    assert strip(fault_lines(log)) == strip(fault_lines(log2))


def test_replay_rejects_something_else(tmp_path):
    bogus = tmp_path / "x.log"
    bogus.write_text("hello\n")
    r = inject("--replay", str(bogus), "--", "true")
    assert r.returncode == 2 and "not an ipcsuite inject log" in r.stderr


# --- containment ---

def test_runner_and_supervisor_are_not_filtered(tmp_path):
    # Every write of the program fails; the supervisor still writes its log and messages, the runner
    # still reports, and an unrelated process is untouched.
    log = tmp_path / "l.log"
    r = inject("--fail", "write=EIO@1+", "--log", str(log), "--", str(PROG), "pipe-write", "5")
    assert tally(r.stdout) == {"calls": 5, "EIO": 5}
    assert "5 faults injected" in r.stderr
    assert len(fault_lines(log)) == 5
    other = subprocess.run(["cat"], input="fine\n", capture_output=True, text=True)
    assert other.stdout == "fine\n"
    status = Path("/proc/self/status").read_text()
    assert re.search(r"^Seccomp:\s+0$", status, re.M)


def test_supervisor_death_kills_the_program(tmp_path):
    env = dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD))
    env.pop("LD_PRELOAD", None)
    p = subprocess.Popen([str(ROOT / "ipcsuite"), "inject", "--fail", "semop=EIDRM@1000", "--", PY, "-c",
                          "import os,sys,time\nprint(os.getpid(), flush=True)\nsys.stdin.read()"],
                         cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    try:
        prog_pid = int(p.stdout.readline())
        stat = Path(f"/proc/{prog_pid}/stat").read_text()
        supervisor = int(stat.rsplit(")", 1)[1].split()[1])
        assert "ipcsuite-inject" in Path(f"/proc/{supervisor}/cmdline").read_text()
        os.kill(supervisor, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{prog_pid}").exists() and time.monotonic() < deadline:
            st = Path(f"/proc/{prog_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if st == "Z":
                break
            time.sleep(0.01)  # polling a condition with a deadline, not synchronising on time
        gone = not Path(f"/proc/{prog_pid}").exists() or \
            Path(f"/proc/{prog_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        assert gone, "the faulted program outlived its supervisor"
    finally:
        p.kill()
        p.wait()


# --- benchmark ---

def test_bench_inject_reports_the_floor_next_to_the_unrelated_rule():
    # Smoke test of ./ipcsuite bench inject (figures are not checked: timings are the machine's): every
    # configuration ran, including the one-instruction filter that measures what any filter costs.
    r = subprocess.run([str(ROOT / "ipcsuite"), "bench", "inject", "--calls", "1000", "--rounds", "1", "--no-strace",
                        "--json"], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                       env={**{k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
                            "IPCSUITE_BUILD_DIR": str(BUILD)}, check=False)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for w in ("semop", "pipe-write"):
        med = doc["workloads"][w]["ns_per_call"]
        assert set(med) == {"plain", "floor", "unrelated", "counted"}
        assert all(v > 0 for v in med.values())
        assert set(doc["workloads"][w]["paired_pct"]) == {"floor/plain", "unrelated/plain", "unrelated/floor"}
        assert set(doc["workloads"][w]["cpu_ns_per_call"]) == set(med)
        assert all(0 < doc["workloads"][w]["cpu_ns_per_call"][c] <= 1.05 * med[c] for c in med)  # CPU <= wall


# --- the filter and the kernel's action cache ---

AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000


def dump_filter(*specs: str) -> list[tuple[int, int, int, int]]:
    r = subprocess.run([str(BUILD / "bin" / "ipcsuite-inject"), "--dump-filter",
                        *[a for s in specs for a in ("--fail", s)], "--", "true"],
                       capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    return [tuple(int(x) for x in ln.split()) for ln in r.stdout.splitlines()]


def constant_allow(prog, nr: int) -> bool:
    """The kernel's seccomp_is_const_allow() (kernel/seccomp.c, 5.11+): whether the filter allows system
    call `nr` of the native arch without looking at anything but nr and arch. Only such calls are put
    in the action cache, which then skips running the filter for them."""
    a, pc = 0, 0
    while pc < len(prog):
        code, jt, jf, k = prog[pc]
        if code == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            if k == 0:
                a = nr
            elif k == 4:
                a = AUDIT_ARCH_X86_64
            else:
                return False  # args or instruction_pointer: not constant
        elif code == 0x06:  # BPF_RET | BPF_K
            return k == SECCOMP_RET_ALLOW
        elif code == 0x05:  # BPF_JMP | BPF_JA
            pc += k
        elif code in (0x15, 0x35, 0x25, 0x45):  # JEQ, JGE, JGT, JSET with K
            res = {0x15: a == k, 0x35: a >= k, 0x25: a > k, 0x45: bool(a & k)}[code]
            pc += jt if res else jf
        elif code == 0x54:  # BPF_ALU | BPF_AND | BPF_K
            a &= k
        else:
            return False
        pc += 1
    return False


@pytest.mark.parametrize("specs, named", [
    (["msgrcv=ENOMSG@1000+1000"], {"msgrcv", "rt_sigreturn"}),      # the benchmark's unrelated rule
    (["msgrcv=ENOMSG"], {"msgrcv"}),                                 # unconditional: no supervisor
    (["write[fd=3]=EIO@2", "semop=EIDRM"], {"write", "semtimedop", "semop", "rt_sigreturn"}),
])
def test_filter_keeps_every_other_call_in_the_kernels_action_cache(specs, named):
    # A filter that loaded the instruction pointer or an argument before dispatching on the system call
    # number would make every call uncacheable: the kernel would run it on every system call.
    from runner import syscalls  # numbers to names, from the kernel headers
    prog = dump_filter(*specs)
    assert {syscalls.name(nr) for nr in range(512) if not constant_allow(prog, nr)} == named
