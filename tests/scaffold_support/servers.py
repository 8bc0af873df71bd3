"""Generated apps run as real `uvicorn` processes, as a user would run them.

Every process is stopped when its context manager exits, even when the test fails, and
its output is kept in a log file whose tail is shown when start-up fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    url: str
    port: int
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on port {port} within {START_TIMEOUT_SECONDS}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def uvicorn_app(
    app: str, cwd: Path, env: dict[str, str], port: int | None = None, python: str | Path = sys.executable
) -> Iterator[RunningServer]:
    """`python -m uvicorn <app>` on 127.0.0.1, from `cwd` (the generated project's root)."""
    port = port or free_port()
    log = Path(tempfile.mkstemp(prefix="uvicorn-", suffix=".log")[1])
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(python), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield RunningServer(url=f"http://127.0.0.1:{port}", port=port, log=log)
    finally:
        stop(process)


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
