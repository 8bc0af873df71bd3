"""Start servers in child processes on loopback, wait until they answer, keep their logs, and always stop them.

A `ServerProcess` runs one command (usually `python -m uvicorn module:attr`) in its own process group, with its
output going to a log file (a pipe could fill up and block the server). Starting waits until the port accepts
connections, and fails fast with the log when the process exits first. Stopping terminates the whole group (uvicorn's
reloader or workers included), waits, then kills what is left. Every process still running is stopped at
interpreter exit, and a context manager stops it on errors and on Ctrl-C.

Only the standard library is used, so `chatkit-fix verify` can run this inside any environment.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 5.0
ADDRESS_IN_USE = ("address already in use", "error while attempting to bind", "[errno 98]", "[errno 48]")
_LIVE: set[ServerProcess] = set()
_LIVE_LOCK = threading.Lock()


class ProcessError(RuntimeError):
    """A server did not start, or stopped on its own; the message ends with the tail of its log."""

    def __init__(self, message: str, log: str = ""):
        tail = "\n".join(log.rstrip().splitlines()[-40:])
        super().__init__(f"{message}\n--- log (last lines) ---\n{tail}" if tail else message)
        self.log = log


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free right now on `host` (the OS picks it; a small race remains until the child binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def child_env(
    env: Mapping[str, str] | None = None,
    pythonpath: Sequence[str | os.PathLike] = (),
    inherit: bool = True,
    unset: Sequence[str] = (),
) -> dict[str, str]:
    """The environment for a child: ours (or nothing), minus `unset`, plus `env`, with `pythonpath` prepended."""
    result = dict(os.environ) if inherit else {}
    for name in unset:
        result.pop(name, None)
    result.update({k: str(v) for k, v in (env or {}).items()})
    if pythonpath:
        parts = [str(Path(p)) for p in pythonpath]
        if result.get("PYTHONPATH"):
            parts.append(result["PYTHONPATH"])
        result["PYTHONPATH"] = os.pathsep.join(parts)
    result.setdefault("PYTHONUNBUFFERED", "1")
    return result


@dataclass(eq=False)
class ServerProcess:
    """One server command running in its own process group; a context manager that always stops it."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    host: str = LOOPBACK
    port: int = 0
    name: str = "server"
    log_path: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    _own_log_dir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _log_file: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # ---- lifecycle ------------------------------------------------------------------------------------------------

    def start(self, timeout: float = DEFAULT_START_TIMEOUT, ready_path: str | None = None) -> ServerProcess:
        """Spawn the command and wait until the port answers (and `ready_path`, if given, returns any HTTP status)."""
        if self.log_path is None:
            self._own_log_dir = tempfile.TemporaryDirectory(prefix=f"chatkit-fix-{self.name}-")
            self.log_path = Path(self._own_log_dir.name) / f"{self.name}.log"
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - closed in stop()
        kwargs: dict = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # its own process group: stop() reaches reloaders and workers
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        try:
            self.process = subprocess.Popen(
                self.argv, cwd=str(self.cwd), env=self.env, stdin=subprocess.DEVNULL,
                stdout=self._log_file, stderr=subprocess.STDOUT, **kwargs,
            )
        except OSError as exc:
            self._close_log()
            raise ProcessError(f"{self.name}: cannot run {self.argv[0]!r}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.wait_ready(timeout, ready_path)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = DEFAULT_START_TIMEOUT, ready_path: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            code = self.process.poll() if self.process is not None else None
            if code is not None:
                raise ProcessError(f"{self.name} exited with code {code} before it answered on {self.url}", self.log())
            if port_open(self.host, self.port) and (ready_path is None or self._http_answers(ready_path)):
                return
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name} did not answer on {self.url} within {timeout:.0f}s", self.log())
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def _http_answers(self, path: str) -> bool:
        import http.client

        connection = http.client.HTTPConnection(self.host, self.port, timeout=2)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int | None:
        """Terminate the process group, wait up to `timeout`, then kill it; returns the exit code."""
        process = self.process
        code = None
        if process is not None:
            if process.poll() is None:
                self._signal_group(signal.SIGTERM if os.name == "posix" else None)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL if os.name == "posix" else None, kill=True)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=timeout)
            elif os.name == "posix":
                self._signal_group(signal.SIGKILL, kill=True)  # the leader is gone; reap stragglers in its group
            code = process.returncode
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self._close_log()
        return code

    def _signal_group(self, signum, kill: bool = False) -> None:
        process = self.process
        if process is None:
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signum)
        else:  # pragma: no cover - Windows
            with contextlib.suppress(OSError):
                process.kill() if kill else process.send_signal(signal.CTRL_BREAK_EVENT)

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def log(self) -> str:
        """Everything the server printed so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def cleanup(self) -> None:
        """Stop the server and delete a log directory this object created."""
        self.stop()
        if self._own_log_dir is not None:
            self._own_log_dir.cleanup()
            self._own_log_dir = None

    def __enter__(self) -> ServerProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __hash__(self) -> int:
        return id(self)


def uvicorn_argv(
    app: str,
    port: int,
    host: str = LOOPBACK,
    python: str | os.PathLike | None = None,
    app_dir: str | os.PathLike | None = None,
    factory: bool = False,
    extra_args: Sequence[str] = (),
) -> list[str]:
    argv = [str(python or sys.executable), "-m", "uvicorn", app, "--host", host, "--port", str(port)]
    if app_dir is not None:
        argv += ["--app-dir", str(app_dir)]
    if factory:
        argv.append("--factory")
    return argv + list(extra_args)


def start_uvicorn(
    app: str,
    cwd: str | os.PathLike,
    *,
    python: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    pythonpath: Sequence[str | os.PathLike] = (),
    inherit_env: bool = True,
    unset_env: Sequence[str] = (),
    host: str = LOOPBACK,
    port: int | None = None,
    app_dir: str | os.PathLike | None = None,
    factory: bool = False,
    extra_args: Sequence[str] = (),
    timeout: float = DEFAULT_START_TIMEOUT,
    ready_path: str | None = None,
    log_path: str | os.PathLike | None = None,
    name: str | None = None,
    attempts: int = 3,
) -> ServerProcess:
    """Run `python -m uvicorn module:attr` on loopback and return it once it answers (use it as a context manager).

    With no `port`, a free one is picked; when another process takes it first, a new port is tried (`attempts`).
    """
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"refusing to serve on {host!r}: verification servers bind loopback only")
    environment = child_env(env, pythonpath, inherit_env, unset_env)
    last_error: ProcessError | None = None
    for _ in range(max(1, attempts if port is None else 1)):
        chosen = port if port is not None else free_port(host)
        server = ServerProcess(
            argv=uvicorn_argv(app, chosen, host, python, app_dir, factory, extra_args),
            cwd=Path(cwd), env=environment, host=host, port=chosen, name=name or app.replace(":", "-"),
            log_path=Path(log_path) if log_path is not None else None,
        )
        try:
            return server.start(timeout, ready_path)
        except ProcessError as exc:
            last_error = exc
            if not any(marker in exc.log.lower() for marker in ADDRESS_IN_USE):
                raise
    assert last_error is not None
    raise last_error


@contextlib.contextmanager
def running_uvicorn(app: str, cwd: str | os.PathLike, **options) -> Iterator[ServerProcess]:
    """`with running_uvicorn("main:app", project) as server:` ... the server is stopped however the block ends."""
    server = start_uvicorn(app, cwd, **options)
    try:
        yield server
    finally:
        server.stop()


def stop_all() -> None:
    """Stop every server this process started and has not stopped yet (also runs at interpreter exit)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for server in live:
        with contextlib.suppress(Exception):
            server.stop(timeout=2.0)


atexit.register(stop_all)
