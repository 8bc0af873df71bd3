"""Formatters: each turns a run's findings and errors into text for a terminal, a program or a CI service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import RunResult
    from ..project import Project
    from ..rules import Rule

FORMATS = ("text", "json", "sarif", "github")


@dataclass
class Report:
    """Everything a formatter may print."""

    result: RunResult
    project: Project
    rules: dict[str, Rule]
    mode: str  # "check" or "apply"
    color: bool = False
    quiet: bool = False
    verbose: bool = False
    show_fixes: bool = False
    unsafe: bool = False

    def path(self, path) -> str:
        return self.project.relative(path)


def formatter(name: str) -> Callable[[Report], str]:
    if name == "text":
        from .text import render
    elif name == "json":
        from .json_format import render
    elif name == "sarif":
        from .sarif import render
    elif name == "github":
        from .github import render
    else:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return render
