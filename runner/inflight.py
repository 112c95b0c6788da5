"""Several tests at once in one pytest process, each still a fresh process of its own with its own deadline.

pytest runs its items one after another; with pytest-xdist, each of N worker processes does. Here one
pytest process keeps up to `slots` tests running at once instead, each the child of a fork server of its
binary (runner/executor.py Forked; a pool of servers per binary, runner/forkserver.py), and reports them
in plan order: when pytest reaches an item, its test was usually started while earlier items ran, and has
often ended. Started in plan order; a slow test holds one slot while the others go on past it (its verdict
waits for pytest to reach it). The Python side of a test (pytest's hooks, the report) costs once, not once
in a worker and again in the controller, and no worker processes start.

A test is started only before the run's deadline, and its own deadline is cut short by it (`cut`), as
pytest_runtest_setup and GTestItem.runtest do for a test started by its item; every running test's
deadline is kept while waiting for any one of them.
"""
from __future__ import annotations

import select
import time
from typing import Callable

from runner import forkserver
from runner.catalogue import TestCase
from runner.executor import Forked


class InFlight:
    def __init__(self, cases: list[TestCase], slots: int, begin: Callable[[TestCase], Forked | None]):
        """`cases`: the tests pytest will run, in its order; begin(case) starts one (None: not started)."""
        self.cases = cases
        self.slots = max(1, slots)
        self.begin = begin
        self.index = {c.id: i for i, c in enumerate(cases)}
        self.last = {str(c.binary): i for i, c in enumerate(cases)}  # a binary's last case
        self.next = 0                              # cases[:next] were considered for starting
        self.running: dict[str, Forked] = {}
        self.ended: dict[str, Forked] = {}
        self.not_started: set[str] = set()

    def started(self, case: TestCase) -> bool:
        return case.id in self.running or case.id in self.ended

    def take(self, case: TestCase) -> Forked | None:
        """`case`'s test, ended (None: it was not started, e.g. the run's deadline had passed). Starts it now if
        it was not yet, and keeps the slots filled with the cases after it while waiting."""
        at = self.index.get(case.id)
        if at is None:  # not among the cases pytest was to run: on its own
            f = self.begin(case)
            return None if f is None else f.ended()
        while self.next <= at:
            self._start_next()
        if case.id in self.not_started:
            return None
        self._fill()
        while case.id not in self.ended:
            self._step()
            self._fill()
        return self.ended.pop(case.id)

    def ended_ahead(self) -> set[str]:
        """The run was interrupted: no test starts any more; the ids of the tests that have ended (now, without
        waiting) whose items pytest has not reached, so that their verdicts can still be reported."""
        self.slots = 0
        self.next = len(self.cases)
        if self.running:
            readable, _, _ = select.select(list(self.running.values()), [], [], 0)  # a status line has come
            now = time.monotonic()
            for f in readable:
                if f.outcome(now) is not None:
                    self.ended[f.case.id] = self.running.pop(f.case.id)
        return set(self.ended)

    def cancel(self) -> None:
        """pytest stops (-x, an interruption): the tests still running are stopped and their files removed."""
        for f in self.running.values():
            f.cancel()
        self.running.clear()

    def _start_next(self) -> None:
        case = self.cases[self.next]
        self.next += 1
        if self.next > 1:  # the binary before this case's has no case left to start: its idle servers go
            before = str(self.cases[self.next - 2].binary)
            if before != str(case.binary) and self.last[before] < self.next:
                forkserver.close_idle(before)
        f = self.begin(case)
        if f is None:
            self.not_started.add(case.id)
        elif f.done is not None:
            self.ended[case.id] = f
        else:
            self.running[case.id] = f

    def _fill(self) -> None:
        while len(self.running) < self.slots and self.next < len(self.cases):
            self._start_next()

    def _step(self) -> None:
        """Waits until one running test ends or reaches its deadline, and collects every one that has."""
        now = time.monotonic()
        wait = max(min(f.server.deadline for f in self.running.values()) - now, 0.0)
        select.select(list(self.running.values()), [], [], wait)
        now = time.monotonic()
        for cid, f in list(self.running.items()):
            if f.outcome(now) is not None:
                self.ended[cid] = self.running.pop(cid)
                binary = str(f.case.binary)
                if self.last[binary] < self.next:  # its server's last test of that binary
                    forkserver.close_idle(binary)
