"""Honest verdicts under hostile conditions: the run finishes and a machine problem is never a
conformance `failed` (it is `error` or `skipped` with a reason), and never a `passed`."""
import fnmatch
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runner import catalogue
from runner.tests.conftest import BUILD, ROOT, preload_lib
from runner.tests.test_leaks import new_sysv_objects, sysv_objects


@pytest.fixture
def open_dir():
    d = Path(tempfile.mkdtemp(prefix="ipcsuite-hostile-"))
    d.chmod(0o777)  # the unprivileged run writes its results here
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run(args, prefix=(), env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.pop("LD_PRELOAD", None)
    full_env.update(env or {})
    proc = subprocess.run([*prefix, str(ROOT / "ipcsuite"), "run", "--no-build", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=full_env, timeout=timeout, check=False)
    return proc


def load(results_dir: Path) -> dict:
    import json
    return json.loads((results_dir / "latest" / "results.json").read_text())


def assert_honest(doc, allow_error=False):
    bad = [t for t in doc["tests"] if t["status"] == "failed" or (t["status"] == "error" and not allow_error)]
    assert not bad, "\n".join(f"{t['id']}: {t['status']}: {t['message']}" for t in bad[:10])
    for t in doc["tests"]:
        if t["status"] in ("skipped", "error"):
            assert t["message"].strip(), f"{t['id']} is {t['status']} without a reason"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_unprivileged_user_gets_skips_with_reasons_never_failures(open_dir):
    proc = run(["--results-dir", str(open_dir / "results")],
               prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
               env={"HOME": str(open_dir)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = load(open_dir / "results")
    assert doc["environment"]["uid"] == 65534
    assert_honest(doc)
    assert doc["counts"]["skipped"] > 0 and doc["counts"]["passed"] > 0


def test_too_few_file_descriptors_is_an_error_not_a_failure(open_dir):
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*,fifo/*"],
               prefix=("prlimit", "--nofile=40"))
    assert proc.returncode in (0, 1), proc.stderr
    doc = load(open_dir / "results")
    assert_honest(doc, allow_error=True)
    errors = [t for t in doc["tests"] if t["status"] == "error"]
    assert all("[infrastructure]" in t["message"] for t in errors), errors
    assert (proc.returncode == 1) == bool(errors)


def test_without_an_ipc_namespace_sysv_tests_skip_with_reason_and_leak_nothing(open_dir):
    before = sysv_objects()
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "sem/*,shm/*,msg/*"],
               env={"IPCSUITE_NO_IPC_NAMESPACE": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = load(open_dir / "results")
    assert_honest(doc)
    reasons = {t["message"] for t in doc["tests"] if t["status"] == "skipped"}
    assert any("IPCSUITE_NO_IPC_NAMESPACE" in r for r in reasons), reasons
    assert not new_sysv_objects(before)


def test_unusable_temporary_directory_is_a_setup_error(open_dir):
    not_a_dir = open_dir / "file"
    not_a_dir.write_text("")
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*"],
               env={"IPCSUITE_TMP_ROOT": str(not_a_dir)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "temporary directory" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def processes_with_env(marker: str) -> list[str]:
    """Processes whose environment mentions `marker` (a run's own temporary directory)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if marker.encode() in (d / "environ").read_bytes():
                cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append(f"{d.name} {cmdline}")
        except OSError:
            pass  # gone, or a kernel thread
    return out


def test_run_deadline_stops_the_run_cleanly_and_reports_unfinished_tests_as_errors(open_dir):
    # Every read of a pipe or FIFO hangs; each test would get 120 s, the whole run gets 20 (enough for pytest
    # and its workers to start and reach a hanging test on a loaded machine: with 3 s, a CI run under load 15
    # was stopped before any test had started).
    tmp_root = open_dir / "tmp"
    tmp_root.mkdir()
    before = sysv_objects()
    started = time.monotonic()
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/PipeEof.*,fifo/FifoOpen*",
                "--preload", str(preload_lib("break_hang_read")), "--test-timeout", "120", "--deadline", "20",
                "-j", "2"], env={"IPCSUITE_TMP_ROOT": str(tmp_root)}, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert elapsed < 100, f"the run took {elapsed:.1f} s: the deadline did not stop it"
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "deadline" in ln]
    assert lines == ["ipcsuite: error: run deadline of 20 s exceeded: the run was stopped, unfinished tests are "
                     "reported as errors"], proc.stderr

    doc = load(open_dir / "results")
    selected = {t.id for t in catalogue.list_tests(BUILD, include_selftest=False)
                if fnmatch.fnmatchcase(t.id, "pipe/PipeEof.*") or fnmatch.fnmatchcase(t.id, "fifo/FifoOpen*")}
    assert {t["id"] for t in doc["tests"]} == selected  # every selected test has a verdict
    unfinished = [t for t in doc["tests"] if t["status"] != "passed"]
    assert unfinished and all(t["status"] == "error" for t in unfinished), \
        [(t["id"], t["status"]) for t in unfinished]
    assert all(t["message"].startswith("run deadline of 20 s exceeded") for t in unfinished), unfinished
    # The tests that were hanging when the deadline came were stopped there, and say where they were.
    stopped = [t for t in unfinished if "while this test ran" in t["message"]]
    assert stopped and all("in pause" in t["message"] or "in poll" in t["message"] for t in stopped), stopped
    assert any("before this test started" in t["message"] for t in unfinished)

    # Nothing of the run is left: no process, no temporary file, no System V object.
    assert processes_with_env(str(tmp_root)) == []
    assert list(tmp_root.iterdir()) == []
    assert not new_sysv_objects(before)


# The tests' own temporary directory (IPCSUITE_TEST_TMPDIR, see runner/workspace.py) on a tiny tmpfs that is
# full (no block, no inode left) or read-only, mounted in a private mount namespace: the mount dies with the
# run and nothing leaks. The runner's own files stay in its usable run directory.
FILL_AND_RUN = """
set -u
dir=$1; mode=$2; shift 2
if [ "$mode" = full ]; then
  mount -t tmpfs -o size=16k,nr_inodes=8,mode=0777 ipcsuite-hostile "$dir" || exit 97
  dd if=/dev/zero of="$dir/fill" bs=4k 2>/dev/null
  i=0; while (: > "$dir/f$i") 2>/dev/null; do i=$((i+1)); done
  (: > "$dir/one-more") 2>/dev/null && { echo "tmpfs is not full" >&2; exit 98; }
else
  mount -t tmpfs -o ro,size=16k,mode=0777 ipcsuite-hostile "$dir" || exit 97
fi
IPCSUITE_TEST_TMPDIR=$dir exec "$@"
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs in a private mount namespace")
@pytest.mark.parametrize("mode,errno_name", [("full", "ENOSPC"), ("read-only", "EROFS")])
def test_full_or_read_only_temporary_directory_of_the_tests_is_an_error_not_a_failure(open_dir, mode,
                                                                                       errno_name):
    test_tmp = open_dir / "test-tmp"
    test_tmp.mkdir()
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "fifo/*,signal/*,pipe/*"],
               prefix=("unshare", "--mount", "--propagation", "private", "sh", "-c", FILL_AND_RUN, "sh",
                       str(test_tmp), mode))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = load(open_dir / "results")
    assert_honest(doc, allow_error=True)
    errors = [t for t in doc["tests"] if t["status"] == "error"]
    # Every FIFO test needs a directory for its FIFO: none can pass, and none may count as a failure.
    fifo = [t for t in doc["tests"] if t["area"] == "fifo"]
    assert fifo and all(t["status"] in ("error", "skipped") for t in fifo), \
        [(t["id"], t["status"]) for t in fifo if t["status"] not in ("error", "skipped")]
    assert all(t["message"].count("[infrastructure]") == 1 and errno_name in t["message"] for t in errors), \
        [(t["id"], t["message"]) for t in errors if errno_name not in t["message"]][:5]
    assert any(t["area"] == "signal" for t in errors)  # FIFO-using tests of other areas too
    assert doc["counts"]["passed"] > 0  # the pipe tests need no directory
    assert not test_tmp.is_mount() and list(test_tmp.iterdir()) == []  # the mount died with its namespace


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to a user RLIMIT_NPROC applies to")
def test_too_few_processes_is_an_error_not_a_failure(open_dir):
    # RLIMIT_NPROC counts every process and thread of the real uid; root is exempt, so the run is made as a
    # uid of its own (65533: no other process of the machine counts against it). With -j1 and exec-per-test
    # the runner needs 3 processes (./ipcsuite, pytest, the test); 4 leaves a test one child: forks in the
    # child (signal tests' grandchildren) and threads in the child (fifo, sem) are refused with EAGAIN, in
    # setup. (The fork-server mode keeps a server per binary alive, so its count varies: see the next test.)
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*,fifo/*,signal/*,sem/*", "-j", "1"],
               prefix=("prlimit", "--nproc=4", "setpriv", "--reuid=65533", "--regid=65533", "--clear-groups"),
               env={"HOME": str(open_dir), "IPCSUITE_EXEC_MODE": "exec"})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " 0 failed, " in proc.stdout.splitlines()[-1], proc.stdout.splitlines()[-1]
    doc = load(open_dir / "results")
    assert doc["environment"]["uid"] == 65533
    assert_honest(doc, allow_error=True)
    errors = [t for t in doc["tests"] if t["status"] == "error"]
    assert errors, "RLIMIT_NPROC=4 refused no fork: the test does not test anything"
    # (the errno's name may be cut where a test's several failures are fitted to one line)
    refused = ("fork failed with E", "exception escaped the child: Resource temporarily unavailable")
    assert all("[infrastructure]" in t["message"] and any(r in t["message"] for r in refused) for t in errors), \
        [(t["id"], t["message"]) for t in errors if not any(r in t["message"] for r in refused)][:5]
    assert any("exception escaped the child" in t["message"] for t in errors)  # a refused thread, too
    assert doc["counts"]["passed"] > 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to a user RLIMIT_NPROC applies to")
def test_too_few_processes_for_the_fork_servers_is_an_error_not_a_failure(open_dir):
    # The default mode: fork servers (one per binary) count against RLIMIT_NPROC too. Whether the server or
    # the test is refused, the verdict is an `error` tagged [infrastructure], never `failed`. Uid 65532: the
    # test above may run at the same time (another xdist worker), and its processes must not count here.
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*,fifo/*,signal/*,sem/*", "-j", "1"],
               prefix=("prlimit", "--nproc=5", "setpriv", "--reuid=65532", "--regid=65532", "--clear-groups"),
               env={"HOME": str(open_dir), "IPCSUITE_EXEC_MODE": "fork"})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " 0 failed, " in proc.stdout.splitlines()[-1], proc.stdout.splitlines()[-1]
    doc = load(open_dir / "results")
    assert_honest(doc, allow_error=True)
    errors = [t for t in doc["tests"] if t["status"] == "error"]
    assert errors, "RLIMIT_NPROC=5 refused no fork: the test does not test anything"
    # A refused fork, or a refused thread (RLIMIT_NPROC counts threads too; the test's child then reports the
    # exception that escaped it); the errno's name may be cut where several failures are fitted to one line.
    refused = ("fork failed with E", "exception escaped the child: Resource temporarily unavailable")
    assert all("[infrastructure]" in t["message"] and any(r in t["message"] for r in refused) for t in errors), \
        [(t["id"], t["message"]) for t in errors if not any(r in t["message"] for r in refused)][:5]


# Runs argv in a new user namespace that maps uids/gids 0-65535 to themselves (so files, results and the
# suite's uid switches work as on the host) and in which no further user namespace can be created
# (user.max_user_namespaces = 0 there): a machine without user namespaces, as far as the run can tell.
# unshare(1)'s --map-users needs newuidmap (package uidmap), hence this small helper.
IN_USERNS_WITHOUT_USERNS = r"""
import ctypes, os, sys
CLONE_NEWUSER = 0x10000000
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w); os.close(r2)
    if libc.unshare(CLONE_NEWUSER) != 0:
        os._exit(96)
    os.write(w2, b"u"); os.close(w2)
    if os.read(r, 1) != b"m":
        os._exit(95)
    os.setresgid(0, 0, 0); os.setresuid(0, 0, 0)  # regain the capabilities in the new namespace
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0\n")
    os.execvp(sys.argv[1], sys.argv[1:])
os.close(r); os.close(w2)
if os.read(r2, 1) != b"u":
    sys.exit(f"unshare(CLONE_NEWUSER) failed: {os.waitpid(pid, 0)}")
for name, text in (("uid_map", "0 0 65536\n"), ("setgroups", "allow\n"), ("gid_map", "0 0 65536\n")):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write(text)
os.write(w, b"m")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def in_userns_without_userns(*argv):
    return ("/usr/bin/python3", "-c", IN_USERNS_WITHOUT_USERNS, *argv)


def _user_namespaces_enabled() -> bool:
    try:
        return int(Path("/proc/sys/user/max_user_namespaces").read_text()) > 0
    except (OSError, ValueError):
        return False


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to map 65536 ids into a user namespace")
@pytest.mark.skipif(not _user_namespaces_enabled(),
                    reason="user namespaces are disabled on this machine, so the helper cannot create one")
def test_without_user_namespaces_the_userns_target_is_unavailable_and_the_run_stays_honest(open_dir):
    probe = subprocess.run(in_userns_without_userns("sh", "-c", "unshare --user true"), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    assert probe.returncode != 0 and "No space left on device" in probe.stdout, probe.stdout  # ENOSPC: limit 0

    # The userns target: one line naming the reason, exit 2, no traceback.
    proc = run(["--results-dir", str(open_dir / "results-userns"), "--target", "userns", "--filter", "pipe/*"],
               prefix=in_userns_without_userns())
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "user namespaces are disabled" in lines[0], proc.stderr

    # The host target runs the conformance areas. Inside a user namespace CAP_SYS_RESOURCE does not lift the limits
    # the kernel checks with capable() (pipe-max-size, msgmnb for IPC_SET): the tests of those privileges
    # skip and say why, they neither fail nor pass.
    proc = run(["--results-dir", str(open_dir / "results"), "--no-expectations",
                "--filter", "pipe/*,fifo/*,signal/*,sem/*,shm/*,msg/*"], prefix=in_userns_without_userns())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = load(open_dir / "results")
    assert_honest(doc)
    initial_ns = sorted(t["id"] for t in doc["tests"]
                        if t["status"] == "skipped" and "initial user namespace" in t["message"])
    assert initial_ns == ["fifo/FifoIo.PrivilegedSetPipeSizeAboveMaxSucceeds",
                          "msg/MsgCtlSet.PrivilegedCallerMayRaiseQbytesAboveMsgmnb",
                          "pipe/PipeMaxSize.PrivilegedCallerMayExceedPipeMaxSize"], initial_ns
    assert doc["counts"]["passed"] > 0


@pytest.mark.skipif(os.geteuid() != 0, reason="maps the caller's uid 0 into a user namespace")
@pytest.mark.skipif(not _user_namespaces_enabled(), reason="user namespaces are disabled on this machine")
def test_root_of_a_one_uid_user_namespace_skips_what_needs_other_users(open_dir):
    # `unshare -r`: root with every capability in a user namespace that maps only uid 0 (as a rootless
    # container does). Switching to 65534, chown or IPC_SET to it, and capable() checks of the initial
    # namespace cannot work there: those tests skip and say why, none fails.
    proc = run(["--results-dir", str(open_dir / "results"), "--no-expectations",
                "--filter", "pipe/*,fifo/*,signal/*,sem/*,shm/*,msg/*"], prefix=("unshare", "--map-root-user"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = load(open_dir / "results")
    assert_honest(doc)
    skips = [t["message"] for t in doc["tests"] if t["status"] == "skipped"]
    assert sum("maps only the uids 0-0" in m for m in skips) > 20, skips[:5]
    assert any("initial user namespace" in m for m in skips)
    assert doc["counts"]["passed"] > 400
