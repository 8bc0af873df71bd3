"""What `init` did, or would do in a dry run, to each file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Action(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED_EDITED = "skipped_edited"
    OVERWRITTEN = "overwritten"
    NEEDS_MERGE = "needs_merge"
    MERGED = "merged"


@dataclass(frozen=True)
class FileResult:
    """One file: its path relative to the target (POSIX), the action and why.

    `diff` is a unified diff from the file on disk to what `init` generates: what was
    changed, or for skipped and merge files what the template would change. `backup` is
    the `.orig` copy kept by `force`.
    """

    path: str
    action: Action
    diff: str = ""
    reason: str = ""
    backup: str | None = None


@dataclass
class InitReport:
    target: Path
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def with_action(self, action: Action) -> list[FileResult]:
        return [result for result in self.files if result.action is action]

    @property
    def created(self) -> list[FileResult]:
        return self.with_action(Action.CREATED)

    @property
    def updated(self) -> list[FileResult]:
        return self.with_action(Action.UPDATED)

    @property
    def unchanged(self) -> list[FileResult]:
        return self.with_action(Action.UNCHANGED)

    @property
    def skipped_edited(self) -> list[FileResult]:
        return self.with_action(Action.SKIPPED_EDITED)

    @property
    def overwritten(self) -> list[FileResult]:
        return self.with_action(Action.OVERWRITTEN)

    @property
    def needs_merge(self) -> list[FileResult]:
        return self.with_action(Action.NEEDS_MERGE)

    @property
    def merged(self) -> list[FileResult]:
        return self.with_action(Action.MERGED)

    @property
    def changed(self) -> bool:
        """Whether files were (or, in a dry run, would be) written."""
        return any(r.action in (Action.CREATED, Action.UPDATED, Action.OVERWRITTEN, Action.MERGED) for r in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": str(self.target),
            "dry_run": self.dry_run,
            "files": [
                {
                    "path": r.path,
                    "action": r.action.value,
                    "reason": r.reason,
                    "diff": r.diff,
                    "backup": r.backup,
                }
                for r in self.files
            ],
            "notes": list(self.notes),
            "next_steps": list(self.next_steps),
        }

    def to_text(self, show_diffs: bool | None = None) -> str:
        """A plain-text summary; diffs are shown for a dry run and for files left alone."""
        show_all_diffs = self.dry_run if show_diffs is None else show_diffs
        lines = ["Dry run: nothing was written." if self.dry_run else f"Generated into {self.target}"]
        width = max((len(r.action.value) for r in self.files), default=0)
        for result in self.files:
            line = f"  {result.action.value:<{width}}  {result.path}"
            if result.reason:
                line += f"  ({result.reason})"
            if result.backup:
                line += f"  [previous content kept in {result.backup}]"
            lines.append(line)
            wants_diff = show_all_diffs or result.action in (Action.SKIPPED_EDITED, Action.NEEDS_MERGE)
            if wants_diff and result.diff:
                lines.extend("      " + diff_line for diff_line in result.diff.rstrip("\n").split("\n"))
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {item}" for item in self.notes)
        if self.next_steps:
            lines.append("Next steps (paste them into a shell, in order):")
            lines.extend(f"  {item}" for item in self.next_steps)
        return "\n".join(lines) + "\n"
