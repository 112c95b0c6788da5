"""Installing packages: apt-get waits for another apt/dpkg's lock instead of failing at once."""
import os

import pytest

from runner import deps


def test_apt_get_is_asked_to_wait_for_the_dpkg_lock(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("deps.install runs apt-get only as root")
    log = tmp_path / "apt.log"
    (tmp_path / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (tmp_path / "dpkg-query").write_text('#!/bin/sh\nfor p in "$@"; do case "$p" in -*) ;; *) '
                                         'echo "$p installed";; esac; done\n')
    for tool in ("apt-get", "dpkg-query"):
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    deps.install(["ipcsuite-no-such-package"], log=open(os.devnull, "w"))
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and calls[0].endswith("update -qq") and "install" in calls[1], calls
    for call in calls:
        assert f"DPkg::Lock::Timeout={deps.APT_LOCK_WAIT_S}" in call, call
    assert deps.APT_LOCK_WAIT_S >= 60
