"""A run's directories: results/<run-id>/ (kept) and a private temporary directory (removed).

The temporary directory is $TMPDIR for every test process, so FIFOs and temp files of a run live there.
Its name carries the runner's pid (ipcsuite-run-<pid>-<run-id>-XXXX); a later run removes directories
whose runner is gone (a SIGKILLed run).
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runner.errors import SetupError

PREFIX = "ipcsuite-run-"


def _tmp_root() -> Path:
    return Path(os.environ.get("IPCSUITE_TMP_ROOT") or tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        latest = results_root / "latest"
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(run_id)
        except OSError:
            pass
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{run_id}-", dir=_tmp_root()))
            # Searchable by all: tests that drop privileges must reach their own (0755) directories inside.
            tmp.chmod(0o711)
        except OSError as e:
            raise SetupError(f"cannot create the run's temporary directory in {_tmp_root()}: {e.strerror}") from None
        return cls(run_id=run_id, dir=rdir, tmp=tmp)

    def finish(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def sweep_leftovers() -> list[str]:
    """Removes temporary directories of earlier runs whose runner process is gone."""
    removed = []
    for d in _tmp_root().glob(PREFIX + "*"):
        try:
            pid = int(d.name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            continue  # not ours
        if _alive(pid):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(str(d))
    return removed
