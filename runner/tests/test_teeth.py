"""Each test has teeth: an interposer that breaks one documented rule makes the run fail and name it.

The interposers live in runner/tests/preload/break_*.c (built into build/preload/). For each one the run,
restricted to the areas it touches, must exit 1, list a failed test that checks the named rule, and print
that rule in its summary; the same tests must pass without the interposer.
"""
import pytest

from runner.tests.conftest import preload_lib

TEETH = [
    # (interposer, areas to run, rules that must be reported broken)
    ("break_sigpipe", "pipe/*,fifo/*,signal/*",
     ["pipe.epipe-no-reader", "fifo.sigpipe", "signal.sigpipe-default-term"]),
    ("break_eagain_as_eof", "pipe/*,fifo/*", ["pipe.read-nonblock-eagain", "fifo.read-eagain"]),
    ("break_atomic_write", "pipe/PipeAtomic.*,fifo/*", ["pipe.atomic-blocking-small", "fifo.atomic-pipe-buf"]),
    ("break_fifo_enxio", "fifo/*", ["fifo.open-enxio"]),
    ("break_pipe2_cloexec", "pipe/*", ["pipe.pipe2-cloexec"]),
    ("break_sa_restart", "pipe/*,fifo/*,signal/*",
     ["signal.sa-restart-slow-io", "fifo.open-sa-restart", "pipe.sa-restart"]),
    ("break_semop_restart", "sem/*", ["sem.semop-no-restart"]),
    ("break_sem_eidrm", "sem/*", ["sem.semop-eidrm"]),
    ("break_sem_undo", "sem/SemUndo.*", ["sem.semop-undo-exit", "sem.semop-undo-exec"]),
    ("break_shm_rdonly", "shm/ShmAt.*", ["shm.at-rdonly"]),
    ("break_shm_rmid", "shm/*", ["shm.ctl-rmid-key-released", "shm.ctl-rmid-shm-dest"]),
    ("break_msg_noerror", "msg/*", ["msg.msg-noerror"]),
]


@pytest.mark.parametrize("lib,areas,rules", TEETH, ids=[lib for lib, _, _ in TEETH])
def test_broken_rule_fails_the_run_and_is_named(run_suite, lib, areas, rules):
    broken = run_suite("--filter", areas, "--preload", str(preload_lib(lib)), "--test-timeout", "30")
    assert broken.doc is not None, broken.stderr
    assert broken.returncode == 1, broken.stdout[-3000:]
    caught = []
    for rule in rules:
        hits = [t for t in broken.doc["tests"] if t["status"] == "failed" and rule in t["rules"]]
        assert hits, f"no failed test names {rule}:\n" + broken.stdout[-3000:]
        assert rule in broken.stdout, f"the summary does not name the broken rule {rule}"
        caught += hits
    # Control: the tests that caught it pass without the interposer.
    control = run_suite("--filter", ",".join(t["id"] for t in caught))
    assert control.returncode == 0, control.stdout[-3000:]
    assert {t["id"] for t in control.doc["tests"]} == {t["id"] for t in caught}
    assert len(control.doc["tests"]) == len({t["id"] for t in caught})
    assert all(t["status"] == "passed" for t in control.doc["tests"])
