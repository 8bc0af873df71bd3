"""fork_map: the same answers as a plain loop, in order, whatever happens to a child."""

from __future__ import annotations

import os

import pytest

from chatkit_fix.parallel import fork_map


@pytest.mark.parametrize("jobs", [1, 2, 3, 8])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 101])
def test_answers_in_order(jobs, count):
    items = list(range(count))
    assert fork_map(lambda n: (n, n * n), items, jobs) == [(n, n * n) for n in items]


def test_work_really_runs_in_other_processes():
    parent = os.getpid()
    pids = fork_map(lambda _: os.getpid(), list(range(10)), 2)
    assert parent in pids and len(set(pids)) == 2


def test_a_failing_child_costs_only_time():
    parent = os.getpid()

    def fragile(n):
        if os.getpid() != parent:
            raise RuntimeError("child breaks")
        return n + 1

    assert fork_map(fragile, list(range(9)), 2) == list(range(1, 10))


def test_a_child_that_dies_is_replaced_by_the_parent():
    parent = os.getpid()

    def dying(n):
        if os.getpid() != parent:
            os._exit(3)
        return -n

    assert fork_map(dying, list(range(7)), 3) == [-n for n in range(7)]


def test_an_error_in_the_parent_share_propagates_and_leaves_no_child(monkeypatch):
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def broken(n):
        raise ValueError(n)

    with pytest.raises(ValueError):
        fork_map(broken, list(range(4)), 2)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)  # killed and reaped: no zombie left behind
