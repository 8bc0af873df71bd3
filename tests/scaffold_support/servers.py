"""Generated apps run as real `uvicorn` processes, as a user would run them (chatkit_fix.verify.processes).

Every process is stopped when its context manager exits, even when the test fails; its output is in `server.log()`,
and the tail of it is in the error when start-up fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from chatkit_fix.verify.processes import ServerProcess, running_uvicorn


def uvicorn_app(
    app: str, cwd: Path, env: dict[str, str], port: int | None = None, python: str | Path = sys.executable,
    extra_args: tuple[str, ...] = (),
) -> AbstractContextManager[ServerProcess]:
    """`python -m uvicorn <app> <extra_args>` on 127.0.0.1, from `cwd` (the generated project's root), with exactly
    `env`."""
    return running_uvicorn(app, cwd, env=env, inherit_env=False, port=port, python=python, extra_args=extra_args)


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment minus anything that could reach real services, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "CHATKIT_"))}
    env.update({"OPENAI_AGENTS_DISABLE_TRACING": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def cached_virtualenv(name: str, requirements: list[str]) -> Path:
    """A virtualenv under the test cache with `requirements` installed once; its python's path.

    For running generated code against other versions of a library than the test runner has.
    """
    cache = Path(os.environ.get("CHATKIT_FIX_TEST_CACHE") or Path.home() / ".cache" / "chatkit-fix-tests")
    folder = cache / name
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    wanted = "\n".join(requirements)
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            capture_output=True,
            timeout=600,
        )
        marker.write_text(wanted)
    return python
