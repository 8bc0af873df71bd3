"""The `.gitignore` lines `init` makes sure of, so `git add -A` never commits the JWT secret in `backend/.env`, the
SQLite database or caches. An existing `.gitignore` is the user's: it only gains the entries it does not already
cover (any pattern of theirs that ignores the same files counts), at its end, under one comment line.
"""

from __future__ import annotations

from pathlib import Path

from .deps import DependencyEdit
from .files import read_text

GITIGNORE = ".gitignore"
HEADER = "# chatkit-fix init: secrets, the SQLite database and caches stay out of git"


def wanted_entries(backend: str, frontend: str | None, framework: str | None, store: str) -> list[tuple[str, list[str]]]:
    """(pattern, files it must ignore) for the project `init` generates: the samples say what "covered" means."""
    front = "" if frontend in (None, ".") else f"{frontend}/"
    entries = [
        (".env", [f"{backend}/.env", f"{front}.env"]),
        ("__pycache__/", [f"{backend}/__pycache__/main.cpython-312.pyc"]),
    ]
    if store == "sqlite":
        entries.append(("chatkit.sqlite3*", ["chatkit.sqlite3", "chatkit.sqlite3-wal", f"{backend}/chatkit.sqlite3"]))
    if frontend is not None:
        entries.append((".env*.local", [f"{front}.env.local", f"{front}.env.development.local"]))
        entries.append(("node_modules/", [f"{front}node_modules/react/index.js"]))
        entries.append((".next/" if framework == "next" else "dist/",
                        [f"{front}.next/build-manifest.json" if framework == "next" else f"{front}dist/index.html"]))
    return entries


def gitignore_edit(target: Path, backend: str, frontend: str | None, framework: str | None, store: str) -> DependencyEdit:
    """The new text of the target's `.gitignore` (unchanged when every entry is already covered)."""
    import pathspec

    before = read_text(target / GITIGNORE)
    existing = pathspec.GitIgnoreSpec.from_lines((before or "").splitlines())
    missing = [
        pattern for pattern, samples in wanted_entries(backend, frontend, framework, store)
        if not all(existing.match_file(sample) for sample in samples)
    ]
    if not missing:
        return DependencyEdit(GITIGNORE, before, before or "")
    newline = "\r\n" if before and "\r\n" in before else "\n"
    head = before or ""
    if head and not head.endswith(("\n", "\r")):
        head += newline
    if head.strip():
        head += newline  # a blank line between the user's entries and ours
    return DependencyEdit(GITIGNORE, before, head + newline.join([HEADER, *missing]) + newline)
