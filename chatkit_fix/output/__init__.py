"""Formatters: each turns a run's findings and errors into text for a terminal, a program or a CI service."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..findings import RunResult
    from ..project import Project
    from ..rules import Rule

FORMATS = ("text", "json", "sarif", "github")


def shown_path(path, base: Path) -> str:
    """`path` relative to `base` when it lies inside it, else absolute (as ruff prints paths), with `/`."""
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return Path(path).as_posix()


def inside(path, base: Path) -> bool:
    return Path(path) == base or base in Path(path).parents


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
    cwd: Path = field(default_factory=lambda: Path.cwd().resolve())

    def path(self, path) -> str:
        """A path as people read it: relative to the folder they run in, absolute when outside it."""
        return shown_path(path, self.cwd)

    def project_path(self, path) -> str:
        """A path relative to the project root: JSON's `path` (docs/output.md)."""
        return self.project.relative(path)

    @property
    def ci_root(self) -> Path:
        """Where CI services resolve paths: the checkout ($GITHUB_WORKSPACE) when the project lies inside it, else
        the current folder.

        GitHub reads annotation and SARIF paths relative to the repository, so a project in a subfolder of the
        checkout (its own pyproject.toml) must be reported as `subfolder/file.py`, not `file.py`.
        """
        workspace = os.environ.get("GITHUB_WORKSPACE")
        if workspace:
            resolved = Path(workspace).resolve()
            if inside(self.project.root, resolved):
                return resolved
        return self.cwd

    def ci_path(self, path) -> str:
        return shown_path(path, self.ci_root)


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
