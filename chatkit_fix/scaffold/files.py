"""File primitives for `init`: atomic writes, hashes, diffs and the lock file.

The lock file records the hash of every file as generated, which is how a re-run tells
a file still as generated (safe to update) from one the user edited (left alone).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .options import ScaffoldError

LOCK_FILE = ".chatkit-fix.lock.json"
LOCK_VERSION = 1


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str | None:
    """The file's text with newlines as on disk, or None when it does not exist."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode if mode is not None else 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask (mkstemp creates files 0600; new files should get the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def free_backup_path(path: Path) -> Path:
    """`name.orig`, or `name.orig.2`, `.3`... when earlier backups exist: none is ever overwritten."""
    candidate = path.with_name(path.name + ".orig")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.orig.{number}")
        number += 1
    return candidate


def unified_diff(relative_path: str, before: str | None, after: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile="/dev/null" if before is None else f"a/{relative_path}",
        tofile=f"b/{relative_path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


class LockError(ScaffoldError):
    """The lock file cannot be read."""


@dataclass
class Lock:
    """The lock file: generated files (POSIX paths relative to the target) and their hashes."""

    files: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, target: Path) -> Lock:
        text = read_text(target / LOCK_FILE)
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            files = {path: entry["sha256"] for path, entry in data.get("files", {}).items()}
            options = dict(data.get("options", {}))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise LockError(
                f"{target / LOCK_FILE} is not a valid chatkit-fix lock file ({exc}); delete it to start over"
            ) from exc
        return cls(files=files, options=options)

    def render(self) -> str:
        data = {
            "version": LOCK_VERSION,
            "generator": "chatkit-fix init",
            "options": self.options,
            "files": {path: {"sha256": digest} for path, digest in self.files.items()},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
