"""Generating projects for the tests and looking at what came out."""

from __future__ import annotations

from pathlib import Path

from chatkit_fix.scaffold import InitOptions, InitReport, init_project


def generate(target: Path, **options: object) -> InitReport:
    return init_project(target, InitOptions(**options))  # type: ignore[arg-type]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to prove that a run wrote nothing."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))
