"""Formatters: each turns a run's findings and errors into text for a terminal, a program or a CI service."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..findings import RunResult
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

    @property
    def ci_root(self) -> Path:
        """Where CI services resolve paths: the checkout ($GITHUB_WORKSPACE) when the project lies inside it.

        GitHub reads annotation and SARIF paths relative to the repository, so a project in a subfolder of the
        checkout (its own pyproject.toml) must be reported as `subfolder/file.py`, not `file.py`.
        """
        workspace = os.environ.get("GITHUB_WORKSPACE")
        if workspace:
            resolved = Path(workspace).resolve()
            if self.project.root == resolved or resolved in self.project.root.parents:
                return resolved
        return self.project.root

    def ci_path(self, path) -> str:
        try:
            return Path(path).relative_to(self.ci_root).as_posix()
        except ValueError:
            return self.path(path)


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
