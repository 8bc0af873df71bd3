"""Spread short, even per-file work over the cores with bare forks: the parent takes a share itself.

A `multiprocessing.Pool` costs 10-20 ms to start and stop and leaves the parent idle; reading a few thousand files
takes about 100 ms, so that overhead is a large part of the run. Here each child is one `fork()`, inherits every
object it needs (nothing is pickled on the way in), computes its share and writes the pickled answers to a pipe.
A child that dies or answers garbage only costs time: the parent computes that share itself.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def fork_map(function: Callable[[Item], Answer], items: Sequence[Item], jobs: int) -> list[Answer]:
    """`[function(item) for item in items]` over `jobs` processes; shares are interleaved so that large and small
    files (often grouped by folder) spread evenly."""
    if jobs <= 1 or len(items) < 2 or not hasattr(os, "fork"):
        return [function(item) for item in items]
    jobs = min(jobs, len(items))
    running: dict[int, tuple[int, int]] = {}  # pid -> (share, read end of its pipe)
    shares: list[list[Answer] | None] = [None] * jobs
    try:
        for share in range(1, jobs):
            reading, writing = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: answer its share, never return into the caller's code
                status = 1
                try:
                    os.close(reading)
                    answers = pickle.dumps([function(item) for item in items[share::jobs]], pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(writing, "wb") as pipe:
                        pipe.write(answers)
                    status = 0
                finally:
                    os._exit(status)
            os.close(writing)
            running[pid] = (share, reading)
        shares[0] = [function(item) for item in items[0::jobs]]
        for pid in list(running):
            share, reading = running[pid]
            with os.fdopen(reading, "rb", closefd=False) as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            os.close(reading)
            del running[pid]
            if status == 0:
                try:
                    shares[share] = pickle.loads(data)
                except Exception:  # a child that died mid-write: its share is done here
                    shares[share] = None
    finally:
        for pid, (_, reading) in running.items():  # interrupted: stop the children, leave no zombie or open pipe
            _kill(pid)
            os.close(reading)
    answers: list[Answer] = [None] * len(items)  # type: ignore[list-item]
    for share in range(jobs):
        part = shares[share]
        if part is None or len(part) != len(range(share, len(items), jobs)):
            part = [function(item) for item in items[share::jobs]]
        answers[share::jobs] = part
    return answers


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
