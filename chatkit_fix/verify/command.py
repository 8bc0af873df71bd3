"""`chatkit-fix verify`: from command-line options to a report and an exit code.

Exit codes: 0 every check passed or was skipped with a reason, 1 a check failed, 2 a usage or setup error (no app
found, an interpreter without uvicorn, a bad option) or nothing could be verified (e.g. bearer auth and no secret),
and 2 after Ctrl-C/SIGTERM, once every server it started is stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class VerifyUsageError(Exception):
    """A problem with the options or the project's environment: one line, exit 2."""


@dataclass
class CommandOptions:
    path: Path = Path(".")
    app: str | None = None
    app_dir: Path | None = None
    mcp_app: str | None = None
    no_mcp: bool = False
    python: str | None = None
    endpoint_path: str | None = None
    jwt_secret: str | None = None
    jwt_secret_env: str | None = None
    jwt_claims: tuple[str, ...] = ()
    origin: str | None = None
    env: tuple[str, ...] = ()
    fake_script: Path | None = None
    timeout: float = 60.0
    output_format: str = "text"
    keep_logs: bool = False
    no_color: bool = False
    verbose: bool = False
    config: Path | None = None
    browser: bool = False
    frontend_url: str | None = None
    frontend_build: bool = False
    page: str | None = None
    storage_state: Path | None = None
    token: str | None = None
    token_key: str | None = None
    screenshot: Path | None = None
    cdn_stub: bool = False
    click: tuple[str, ...] = ()


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise VerifyUsageError(f"{option} {value!r}: expected KEY=VALUE")
        pairs[key.strip()] = rest
    return pairs


def _variable_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise VerifyUsageError(f"--jwt-secret-env {value!r}: expected an environment variable's name")
    return value


def _claims(values: tuple[str, ...]) -> dict:
    claims = {}
    for key, raw in _pairs(values, "--jwt-claim").items():
        try:
            claims[key] = json.loads(raw)
        except ValueError:
            claims[key] = raw
    return claims


def _check_python(python: str) -> str:
    """The interpreter's path, after checking it exists and can import uvicorn."""
    path = Path(python).expanduser()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise VerifyUsageError(f"--python {python}: not an executable file")
    try:
        probe = subprocess.run([str(path), "-c", "import uvicorn"], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VerifyUsageError(f"--python {python}: cannot run it: {exc}") from None
    if probe.returncode != 0:
        raise VerifyUsageError(f"{python} cannot import uvicorn: install it into the project's environment "
                               "(pip install uvicorn) or pass that environment's interpreter with --python")
    return str(path.absolute())  # the servers start in the app's folder: a relative path would not resolve there


def _browser_checks(options: CommandOptions):
    """A factory of the browser checks for the Verifier, after checking Playwright and Chromium are there; None
    without --browser (the browser options then are usage errors)."""
    from .browser import BrowserChecks, BrowserOptions, BrowserSetupError, check_setup

    browser_only = {"--frontend-url": options.frontend_url, "--frontend-build": options.frontend_build,
                    "--page": options.page, "--storage-state": options.storage_state, "--token": options.token,
                    "--token-key": options.token_key, "--screenshot": options.screenshot,
                    "--cdn-stub": options.cdn_stub, "--click": options.click}
    if not options.browser:
        given = [name for name, value in browser_only.items() if value]
        if given:
            raise VerifyUsageError(f"{', '.join(given)} only apply with --browser")
        return None
    browser = BrowserOptions(
        frontend_url=options.frontend_url, frontend_build=options.frontend_build, page=options.page,
        storage_state=options.storage_state, token=options.token, token_key=options.token_key,
        screenshot=options.screenshot.resolve() if options.screenshot else None, cdn_stub=options.cdn_stub,
        click=tuple(options.click),
    )
    try:
        chromium = check_setup(browser)
    except BrowserSetupError as exc:
        raise VerifyUsageError(str(exc)) from None
    return lambda verifier: BrowserChecks(verifier, browser, chromium)


def discover_project(options: CommandOptions):
    from ..config import ConfigError, find_project_root, load_settings
    from ..project import PathError, Project
    from .discover import DiscoveryError, discover

    target = options.path.resolve()
    if not target.is_dir():
        raise VerifyUsageError(f"{options.path}: not a folder")
    try:
        config_file = options.config.resolve() if options.config else None
        root = config_file.parent if config_file else find_project_root(target)
        settings = load_settings(root, config_file)
        scope = root if settings.backend_roots and target == root else target
        # extend-exclude keeps files out of the findings; the app to boot may well live there (fixtures, examples)
        walk_settings = dataclasses.replace(settings, extend_exclude=[])
        project = Project.discover(scope, walk_settings, [scope])  # only the folder verify was pointed at
    except (ConfigError, PathError, ValueError) as exc:
        raise VerifyUsageError(str(exc)) from None
    backend_roots = [(settings.root / r).resolve() for r in settings.backend_roots]
    try:
        return discover(
            project, scope, app_option=options.app, app_dir=options.app_dir.resolve() if options.app_dir else None,
            config_app=settings.backend_app, config_mcp=settings.mcp_app, mcp_option=options.mcp_app,
            no_mcp=options.no_mcp, backend_roots=[b for b in backend_roots if _inside(b, scope) or b == scope],
        )
    except DiscoveryError as exc:
        raise VerifyUsageError(str(exc)) from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _children() -> list[int]:
    """Our own child processes (Linux /proc, else `ps`)."""
    me = os.getpid()
    proc = Path("/proc")
    if proc.is_dir():
        found = []
        for entry in proc.iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[1]) == me and fields[0] != "Z":
                    found.append(int(entry.name))
        return found
    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(pid) for pid, ppid in (line.split() for line in listing.splitlines() if line.strip())
            if int(ppid) == me]


def stop_children(timeout: float = 5.0) -> None:
    """Stop the process groups of our children that no ServerProcess knows about.

    A signal can land while `subprocess.Popen` is starting a server: the child runs, but the exception leaves no
    `Popen` object to stop it with. Servers lead their own process group (start_new_session), so the children that
    lead one once the known servers are stopped are stopped here, group and all.
    """
    import time

    if os.name != "posix":
        return
    pids = []
    for pid in _children():
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:  # a server leads its own group; other children are not ours to stop
                pids.append(pid)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        if not set(pids) & set(_children()):
            return
        time.sleep(0.05)
    for pid in set(pids) & set(_children()):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGHUP) end the run like Ctrl-C does: through the cleanup, never leaving servers behind."""

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError, OSError):
                previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


def run(options: CommandOptions, echo=None, echo_err=None) -> int:
    """Discover, boot, check, report; returns the exit code (2 after Ctrl-C or SIGTERM, servers stopped)."""
    import click

    echo_err = echo_err or (lambda text: click.echo(text, err=True))
    try:
        with _terminate_as_interrupt():
            return _run(options, echo, echo_err)
    except KeyboardInterrupt:
        from .processes import stop_all

        # a second Ctrl-C (or a late signal during interpreter shutdown) must not cut the clean-up short
        for name in ("SIGINT", "SIGTERM"):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        stop_all()
        stop_children()
        echo_err("chatkit-fix: verify interrupted; every server it started has been stopped")
        return EXIT_ERROR


def _run(options: CommandOptions, echo, echo_err) -> int:
    import click

    echo = echo or (lambda text: click.echo(text, nl=False))
    try:
        import httpx  # noqa: F401 - the protocol client needs it
    except ImportError:
        echo_err("chatkit-fix: error: verify needs httpx in chatkit-fix's environment: pip install httpx")
        return EXIT_ERROR
    from .checks import Verifier, VerifyOptions
    from .fake_openai import FakeScript
    from .report import to_dict, to_text

    try:
        script = FakeScript.from_json_file(options.fake_script) if options.fake_script else None
        verify_options = VerifyOptions(
            python=_check_python(options.python or sys.executable),
            jwt_secret=options.jwt_secret or None,
            jwt_secret_env=_variable_name(options.jwt_secret_env),
            jwt_claims=_claims(options.jwt_claims),
            origin=options.origin.rstrip("/") if options.origin else None,
            path=("/" + options.endpoint_path.lstrip("/")) if options.endpoint_path else None,
            timeout=options.timeout,
            script=script,
            env=_pairs(options.env, "--env"),
            keep_logs=options.keep_logs,
            browser=_browser_checks(options),
        )
        discovery = discover_project(options)
    except (VerifyUsageError, ValueError, OSError) as exc:
        echo_err(f"chatkit-fix: error: {exc}")
        return EXIT_ERROR
    progress = (lambda message: echo_err(f"verify: {message}")) if options.verbose else None
    report = Verifier(discovery, verify_options, progress).run()
    if options.output_format == "json":
        echo(json.dumps(to_dict(report), indent=2) + "\n")
    else:
        color = not options.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
        echo(to_text(report, color=color))
    return report.exit_code
