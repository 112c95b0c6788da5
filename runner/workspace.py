"""A run's directories: results/<run-id>/ (kept) and a private temporary directory (removed).

The temporary directory is $TMPDIR for every test process, so FIFOs and temp files of a run live there.
Its name carries the runner's pid (ipcsuite-run-<pid>-<run-id>-XXXX); a later run removes directories
whose runner is gone (a SIGKILLed run).

IPCSUITE_TEST_TMPDIR=DIR makes DIR the tests' $TMPDIR instead (host target), while the runner keeps its own
files (each test's result record) in the run's directory: so that the tests alone can be given a full, a
read-only or a particular filesystem (runner/tests/test_hostile.py). The run does not remove DIR; each test
removes what it creates there.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from runner import procinfo
from runner.errors import SetupError

PREFIX = "ipcsuite-run-"


def tmp_root() -> Path:
    """Where a run makes its temporary directories: $IPCSUITE_TMP_ROOT, else the system's (/tmp)."""
    return Path(os.environ.get("IPCSUITE_TMP_ROOT") or tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), "" if unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.rfind(")") + 2:].split()[19]


OWNER_FILE = ".ipcsuite-owner"


def _pid_namespace() -> str:
    """This process's PID namespace (the inode of /proc/self/ns/pid), "" if unknown."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def mark_owner(d: Path) -> None:
    """Records the creating runner (pid, start time and PID namespace) in `d`: pids are reused (pid_max is
    often 32768), so a leftover is recognised by the pair, not by the pid alone; and a runner in another PID
    namespace (a container, a sandbox, a self-test in a namespace of its own) shares /tmp but not the pids."""
    (d / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())} {_pid_namespace()}\n")


# A directory without an owner record younger than this is being created (mkdtemp, then mark_owner).
UNMARKED_GRACE_S = 60.0


def _owner_gone(d: Path, pid: int) -> bool:
    try:
        fields = (d / OWNER_FILE).read_text().split()
    except OSError:
        fields = []
    if len(fields) < 2:  # no record: being created (or an older run's), judged by the pid alone
        try:
            young = time.time() - d.stat().st_mtime < UNMARKED_GRACE_S
        except OSError:
            return False
        return not young and not _alive(pid)
    if len(fields) >= 3 and fields[2] != _pid_namespace():
        return False  # a runner in another PID namespace: its pid means nothing here
    if not _alive(pid):
        return True
    now = _start_time(pid)
    return bool(now) and now != fields[1]  # the pid lives on in another process


def make_scratch(kind: str, mode: int = 0o700) -> Path:
    """A new directory ipcsuite-run-<pid>-<kind>-XXXX in tmp_root(), marked with its owner: the caller removes
    it; if this process is SIGKILLed first, the next run's sweep_leftovers does."""
    d = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{kind}-", dir=tmp_root()))
    try:
        d.chmod(mode)
        mark_owner(d)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    return d


@contextmanager
def scratch(kind: str) -> Iterator[Path]:
    """make_scratch(kind) for the length of a with-block, removed at its end whatever happens in it."""
    d = make_scratch(kind)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@dataclass
class Run:
    run_id: str
    dir: Path
    tmp: Path

    @classmethod
    def create(cls, results_root: Path) -> "Run":
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        rdir = results_root / run_id
        try:
            rdir.mkdir(parents=True, exist_ok=False)
        except OSError as e:
            raise SetupError(f"cannot create the results directory {rdir}: {e.strerror}") from None
        try:
            # Searchable by all: tests that drop privileges must reach their own (0755) directories inside.
            tmp = make_scratch(run_id, 0o711)
        except OSError as e:
            raise SetupError(f"cannot create the run's temporary directory in {tmp_root()}: {e.strerror}") from None
        return cls(run_id=run_id, dir=rdir, tmp=tmp)

    def finish(self) -> None:
        # Every process of the run goes first. A test process runs in a session of its own and dies with its
        # fork server (PR_SET_PDEATHSIG), so it can still be there, writing in the run's temporary directory,
        # when pytest's process group is already empty: removing the directory under it left the directory
        # behind (seen after SIGTERM on a loaded machine).
        left = procinfo.kill_with_environment(f"IPCSUITE_RUN_ID={self.run_id}", 10.0)
        if left:
            print(f"ipcsuite: warning: processes of the run are still there after SIGKILL: "
                  f"{', '.join(map(str, left))}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def publish(self) -> None:
        """Points results/latest at this run; called once its results.json is written, so that latest only
        ever names a run with results. Atomic: a new link renamed over the old one."""
        latest = self.dir.parent / "latest"
        tmp = self.dir.parent / f".latest-{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.run_id)
            os.replace(tmp, latest)
        except OSError:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass


def sweep_leftovers() -> list[str]:
    """Removes temporary directories of earlier runs (and of other commands: make_scratch) whose process is
    gone."""
    removed = []
    for d in tmp_root().glob(PREFIX + "*"):
        try:
            pid = int(d.name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            continue  # not ours
        if not _owner_gone(d, pid):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(str(d))
    return removed


def test_tmpdir_override() -> str | None:
    """IPCSUITE_TEST_TMPDIR, the tests' $TMPDIR when set (see the module's docstring)."""
    return os.environ.get("IPCSUITE_TEST_TMPDIR") or None


class RunDeadline:
    """The whole run's deadline (--deadline), started when the first test is about to run."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at: float | None = None
        self.hit = False

    def start(self) -> None:
        if self.at is None:
            self.at = time.monotonic() + self.seconds

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def message(self) -> str:
        return f"run deadline of {self.seconds:g} s exceeded"

    def env(self) -> dict:
        return {"IPCSUITE_RUN_DEADLINE_AT": repr(self.at), "IPCSUITE_RUN_DEADLINE": f"{self.seconds:g}"}

    def add_unfinished(self, pdoc: dict, tests, target: str, planned: Path | None = None) -> int:
        return add_unfinished(pdoc, tests, target, self.message(), planned)


def add_unfinished(pdoc: dict, tests, target: str, why: str, planned: Path | None = None) -> int:
    """Planned tests of this target with no verdict in pdoc (pytest was stopped: a run deadline, Ctrl-C,
    SIGTERM) become errors that say `why`; returns how many.

    `planned` is the plugin's list of the ids it selected (after --filter and -k); without it (pytest
    was stopped before it had collected), every test the runner selected counts."""
    by_id = {t.id: t for t in tests}
    try:
        ids = json.loads(planned.read_text()) if planned and planned.exists() else list(by_id)
    except (OSError, ValueError):
        ids = list(by_id)
    seen = {t["id"] for t in pdoc["tests"]}
    for t in pdoc["tests"]:
        if t["status"] == "error" and not t.get("message"):  # running when pytest was stopped
            t["message"] = why + " while this test ran"
    added = 0
    for tid in ids:
        if tid in seen:
            continue
        added += 1
        t = by_id.get(tid)
        entry = {"id": tid, "area": t.area if t else tid.split("/", 1)[0], "status": "error",
                 "duration_s": 0.0, "rules": list(t.rules) if t else [], "message": why + " before this "
                 "test ran", "target": target}
        if t:
            entry["location"] = t.location
        pdoc["tests"].append(entry)
    pdoc["tests"].sort(key=lambda t: t["id"])
    return added
