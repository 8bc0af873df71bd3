"""Applying edits to text and writing files so that a crash never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import stat as stat_module
from pathlib import Path

from .findings import Edit


class StaleFileError(Exception):
    """The file changed on disk between our read and our write; we refuse to overwrite someone's work."""


def overlaps(a: Edit, b: Edit) -> bool:
    """Ranges that share text, or an insertion strictly inside a replaced range; touching edits are compatible."""
    return a.start < b.end and b.start < a.end


def select_compatible(groups: list[tuple[Edit, ...]]) -> tuple[list[Edit], list[int]]:
    """Take whole edit groups in order, skipping any group that overlaps one already taken.

    Returns the edits to apply and the indexes of the skipped groups (they are retried on the next pass).
    """
    taken: list[Edit] = []
    skipped: list[int] = []
    for index, group in enumerate(groups):
        if any(overlaps(edit, other) for edit in group for other in taken):
            skipped.append(index)
            continue
        # identical insertions (e.g. two rules adding the same import) collapse into one
        taken.extend(edit for edit in group if edit not in taken)
    return taken, skipped


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits; insertions at the same offset keep their given order."""
    ordered = sorted(enumerate(edits), key=lambda pair: (pair[1].start, pair[1].end, pair[0]))
    out: list[str] = []
    cursor = 0
    for _, edit in ordered:
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        out.append(text[cursor:edit.start])
        out.append(edit.text)
        cursor = edit.end
    out.append(text[cursor:])
    return "".join(out)


def atomic_write(path: Path, data: bytes, expected: os.stat_result | None) -> None:
    """Write through a temp file in the same folder and `os.replace`, keeping the file's mode.

    `expected` is the stat taken when the file was read: if size or mtime moved since, someone else wrote the file
    and we raise StaleFileError instead of clobbering it.
    """
    current = path.stat()
    if expected is not None and (current.st_mtime_ns, current.st_size) != (expected.st_mtime_ns, expected.st_size):
        raise StaleFileError(f"{path} changed on disk since it was read")
    if not os.access(path, os.W_OK):
        raise PermissionError(f"{path} is read-only")
    _replace(path, data, stat_module.S_IMODE(current.st_mode), (current.st_uid, current.st_gid))


def write_new_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create or replace a file atomically (used by `init`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data, mode)


def _replace(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Write `data` to a temp file beside `path`, synced, then move it over `path`: readers see old or new."""
    import tempfile  # 4 ms of imports (random, shutil): only a run that writes pays them

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".chatkit-fix.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        if owner is not None:
            with contextlib.suppress(OSError):
                os.chown(tmp_name, *owner)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
