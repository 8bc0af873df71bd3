"""Cached virtualenvs holding given releases of the SDKs, for the fact experiments and the version matrix tests.

Each environment lives under the checkout's `.cache/envs/` in a folder named after its requirements, is built once
with uv (hard links from uv's cache under `.cache/uv`, so a hundred environments cost little disk and seconds each)
and reused while its requirements and Python stay the same. Dependencies resolve as of a date (`as_of`, by default
the day constraints/test.txt was resolved, through uv's `--exclude-newer`), so a registry release cannot change an
environment between two runs; the fact experiments resolve each release as of the day it was
published, with the dependencies its users had then.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CHATKIT_FIX_TEST_CACHE") or REPO / ".cache")
ENVS = CACHE / "envs"
CONSTRAINTS = REPO / "constraints" / "test.txt"
READY = "chatkit-fix-env.txt"  # written last: an environment without it was interrupted and is built again


class EnvError(RuntimeError):
    """An environment could not be built (the message holds the installer's output)."""


def env_for(requirements: list[str], as_of: str | None = "resolved", exempt: tuple[str, ...] = ()) -> Path:
    """The Python executable of a virtualenv holding `requirements` (built on first use, then reused).

    `as_of`: a date (YYYY-MM-DD) the dependencies resolve as of, "resolved" for the date of constraints/test.txt, or
    None for the newest releases (the drift report). `exempt`: packages resolved as of the date of
    constraints/test.txt all the same (a fixed companion release newer than `as_of`).
    """
    requirements = sorted(requirements)
    if as_of == "resolved":
        as_of = resolved_date()
    python = sys.executable
    key_text = "\n".join([*requirements, "--", *exempt, "--", _python_tag(python), f"as of {as_of or 'now'}"])
    digest = hashlib.sha256(key_text.encode()).hexdigest()[:10]
    folder = ENVS / f"{_slug(requirements)}-{digest}"
    executable = folder / "bin" / "python"
    if (folder / READY).is_file() and executable.exists():
        return executable
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    env = {**os.environ, "UV_CACHE_DIR": str(CACHE / "uv"), "UV_NO_PROGRESS": "1"}
    _run([uv, "venv", "-q", "--python", python, str(folder)], env)
    command = [uv, "pip", "install", "-q", "--python", str(executable), *requirements]
    if as_of:
        command += ["--exclude-newer", _day_after(as_of)]
        for name in exempt:
            command += ["--exclude-newer-package", f"{name}={_day_after(resolved_date() or as_of)}"]
    _run(command, env)
    (folder / READY).write_text(key_text + "\n")
    return executable


def resolved_date() -> str | None:
    """The day constraints/test.txt was resolved (its `# resolved: YYYY-MM-DD` line)."""
    try:
        text = CONSTRAINTS.read_text()
    except OSError:
        return None
    match = re.search(r"^# resolved: (\d{4}-\d{2}-\d{2})", text, re.MULTILINE)
    return match.group(1) if match else None


def _day_after(day: str) -> str:
    """uv excludes releases uploaded after a point in time: the end of `day` is the start of the next."""
    import datetime

    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()


def published(package: str, version: str) -> str | None:
    """The day `package==version` was published on the registry, as uv reports it (cached under .cache/facts/)."""
    import json

    cache = CACHE / "facts" / "published.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    key = f"{package}=={version}"
    if key not in known:
        # resolving before any release existed makes uv say when the requested one was published
        completed = subprocess.run(
            [_uv(), "pip", "compile", "--no-deps", "-q", "--exclude-newer", "2000-01-01", "-"], input=key + "\n",
            capture_output=True, text=True, env={**os.environ, "UV_CACHE_DIR": str(CACHE / "uv")},
        )
        match = re.search(r"published at (\d{4}-\d{2}-\d{2})", completed.stdout + completed.stderr)
        if match is None:
            return None
        known[key] = match.group(1)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=0, sort_keys=True))
    return known[key]


def frozen(python: Path) -> dict[str, str]:
    """Distribution name (normalised) -> version installed in the environment of `python`."""
    listing = subprocess.run(
        [_uv(), "pip", "freeze", "--python", str(python)], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in listing.splitlines():
        name, _, version = line.partition("==")
        if version:
            found[normalise(name)] = version.strip()
    return found


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise EnvError("uv is not installed: `pip install uv` (it is in the test extras)")
    return found


def _python_tag(python: str) -> str:
    return f"{python}:{sys.version_info[0]}.{sys.version_info[1]}"


def _slug(requirements: list[str]) -> str:
    text = "_".join(re.sub(r"[^A-Za-z0-9.=<>]+", "", r).replace("==", "-") for r in requirements)
    return re.sub(r"[<>=]+", "", text)[:80] or "base"


def _run(command: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise EnvError(f"{' '.join(command)} failed:\n{completed.stdout}{completed.stderr}")
