"""The version matrix's environments: cached virtualenvs holding given releases (benchmarks/facts/envs.py), so a
test proves a version-gated rule by running the very release a project declares. Built once under .cache/envs/,
resolved as of the date of constraints/test.txt; a build that fails fails the test (never a skip)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("chatkit_fix_fact_envs", REPO / "benchmarks" / "facts" / "envs.py")
envs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = envs
_spec.loader.exec_module(envs)

QUIET_AGENTS = {"OPENAI_AGENTS_DISABLE_TRACING": "1", "OPENAI_AGENTS_DONT_LOG_MODEL_DATA": "1"}


def python_with(*requirements: str) -> Path:
    """The interpreter of a cached virtualenv holding `requirements`."""
    try:
        return envs.env_for(list(requirements))
    except envs.EnvError as exc:
        pytest.fail(f"cannot build the environment for {' '.join(requirements)}: {exc}")


def python_for(project: Path) -> Path:
    """The interpreter of an environment holding what `project/requirements.txt` declares."""
    lines = (project / "requirements.txt").read_text().splitlines()
    return python_with(*[line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()])


def run_json(python: Path, code: str, env: dict[str, str] | None = None, timeout: float = 120) -> dict:
    """Run `code` in `python`; it prints one JSON object last, which is returned."""
    environment = {**os.environ, **QUIET_AGENTS, **(env or {})}
    environment.pop("PYTHONPATH", None)
    completed = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=environment,
                               timeout=timeout, cwd=tempfile.gettempdir())
    assert completed.returncode == 0, f"{python}:\n{completed.stdout}\n{completed.stderr}"
    return json.loads(completed.stdout.strip().splitlines()[-1])
