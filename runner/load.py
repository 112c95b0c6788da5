"""Background load for reliability runs (`./ipcsuite run --load`): Debian's stress-ng on every CPU, plus
I/O and memory pressure, for as long as the run (all its repeats) lasts.

stress-ng runs in a session of its own with the runner as its parent-death target, so a SIGKILLed runner
takes it along; its scratch files live in an ipcsuite-run-<pid>-load-* directory that the next run removes
if this one could not (workspace.sweep_leftovers).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner import procinfo, workspace
from runner.errors import SetupError


def command(scratch: Path, cpus: int) -> list[str]:
    # cpu: one busy worker per CPU; io: sync(2) storms; hdd: writes and reads 64 MiB files; vm: a worker
    # that keeps touching a tenth of the memory (page faults, reclaim).
    return ["stress-ng", "--cpu", str(cpus), "--io", "1", "--hdd", "1", "--hdd-bytes", "64M", "--vm", "1",
            "--vm-bytes", "10%", "--temp-path", str(scratch), "--timeout", "0", "--quiet"]


class Load:
    def __init__(self, cpus: int | None = None):
        self.cpus = cpus or os.cpu_count() or 1
        self.proc = None
        self.scratch = None

    def __enter__(self) -> "Load":
        if shutil.which("stress-ng") is None:
            raise SetupError("--load needs stress-ng (Debian package stress-ng)")
        self.scratch = workspace.make_scratch("load")
        try:  # whatever stops the start (stress-ng not startable, Ctrl-C), nothing of it is left
            cmd = command(self.scratch, self.cpus)
            print("ipcsuite: load: " + " ".join(cmd), file=sys.stderr, flush=True)
            os.environ["IPCSUITE_LOAD"] = " ".join(cmd)  # recorded in results.json's environment
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=procinfo.set_pdeathsig)
            time.sleep(0.5)  # not synchronisation: gives stress-ng time to fail fast on a bad option
            if self.proc.poll() is not None:
                raise SetupError(f"stress-ng exited at once with status {self.proc.returncode}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # stress-ng stops its workers and removes its files
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # any worker that outlived its parent
            except (ProcessLookupError, PermissionError):
                pass
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        os.environ.pop("IPCSUITE_LOAD", None)
