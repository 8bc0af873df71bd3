"""Byte tests: what the prefilter and the scope ask of a file's bytes before anything is parsed.

The lowest layer of the tool: the project, the scope and the rule API all ask these questions, so they live below
all three and import nothing of the tool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Union

Trigger = Union[bytes, "re.Pattern[bytes]", tuple["Trigger", ...], Callable[[bytes], bool]]


def matches(triggers: tuple[Trigger, ...], data: bytes, memo: dict | None = None) -> bool:
    """Any trigger matches: a bytes needle is contained, a compiled pattern searches, a tuple needs all its parts (in
    order: a cheap or already answered part first spares the others), a function of the bytes (the same test a check
    applies before it parses) says yes. `memo` keeps every answer, a tuple's parts included."""
    if not triggers:
        return True
    return any(_holds(trigger, data, memo) for trigger in triggers)


def _holds(trigger: Trigger, data: bytes, memo: dict | None) -> bool:
    found = None if memo is None else memo.get(trigger)
    if found is None:
        if isinstance(trigger, bytes):
            found = trigger in data
        elif isinstance(trigger, tuple):
            found = all(_holds(part, data, memo) for part in trigger)
        elif isinstance(trigger, re.Pattern):
            found = trigger.search(data) is not None
        else:
            found = bool(trigger(data))
        if memo is not None:
            memo[trigger] = found
    return found
