"""npm, Next.js, Vite and Chromium for the browser suites.

The tools are found or a reason to skip is given (`Unavailable`); `npm ci` runs once per lockfile (next-app/,
vite-app/) into the test cache and each generated front end gets a hard-linked copy of that node_modules; `next build`
and `next start` run the generated front end as its own package.json scripts would, in a ServerProcess (its own
process group, always stopped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from chatkit_fix.verify import browser as verify_browser
from chatkit_fix.verify.processes import ProcessError, ServerProcess

HERE = Path(__file__).parent
NEXT_APP = HERE / "next-app"
VITE_APP = HERE / "vite-app"
PINNED_APPS = {"next": NEXT_APP, "vite": VITE_APP}
STUB_SCRIPT = verify_browser.STUB_SCRIPT
RECORDER = HERE / "recorder.py"
CDN_URL = verify_browser.CDN_URL
MIN_NODE = (20, 19)  # vite 8's engines (next 16 needs 20.9)
CHROMIUM_ARGS = list(verify_browser.CHROMIUM_ARGS)
BUILD_TIMEOUT_SECONDS = 900
START_TIMEOUT_SECONDS = 60


class Unavailable(Exception):
    """A tool the suite needs is missing; the message is the reason to skip."""


def cache_dir() -> Path:
    folder = Path(os.environ.get("CHATKIT_FIX_TEST_CACHE") or Path(tempfile.gettempdir()) / "chatkit-fix-tests")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def artifacts_dir() -> Path:
    folder = cache_dir() / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def find_chromium() -> str:
    chromium = os.environ.get("CHATKIT_FIX_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise Unavailable(
            "Debian's chromium is not installed (scripts/test.sh installs it when run as root: apt-get install chromium)"
        )
    return chromium


def find_node() -> tuple[str, str]:
    """(node, npm), or Unavailable when they are missing or node is too old for Next.js 16 and Vite 8."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise Unavailable("Node.js and npm are not installed: the generated front ends cannot run")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < MIN_NODE:
        raise Unavailable(f"Vite 8 needs Node.js >= {MIN_NODE[0]}.{MIN_NODE[1]}, found {version or 'nothing'}")
    return node, npm


def lockfile_key(app: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((app / name).read_bytes())
    return digest.hexdigest()[:16]


def installed_node_modules(npm: str, app: Path = NEXT_APP) -> tuple[Path, float | None]:
    """node_modules installed by `npm ci` from `app`'s lockfile (next-app/ or vite-app/), once per lockfile; (path,
    seconds or None if it was already there). Installs happen in a staging folder renamed into place, so a half
    install is never used."""
    key = lockfile_key(app)
    root = cache_dir() / "browser-e2e"
    folder = root / f"npm-{app.name}-{key}"
    if (folder / ".installed").is_file():
        return folder / "node_modules", None
    staging = root / f".staging-{app.name}-{key}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, staging / name)
    started = time.monotonic()
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=staging,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise Unavailable(f"npm ci of tests/browser/{app.name} failed (offline?): {result.stderr[-2000:]}")
    if app == NEXT_APP and not list((staging / "node_modules" / "@next").glob("swc-*")):
        raise AssertionError("npm ci installed no @next/swc-* binary for this platform: next build would download one")
    (staging / ".installed").write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
    try:
        os.rename(staging, folder)
    except OSError:  # a concurrent session got there first (a folder exists only once complete)
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / ".installed").is_file():
            raise
    for old in root.glob(f"npm-{app.name}-*"):  # installs of older lockfiles: hundreds of MB each
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    for old in root.glob("npm-????????????????"):  # the layout before vite-app/ (one install, no app name)
        shutil.rmtree(old, ignore_errors=True)
    return folder / "node_modules", seconds


def caret_allows(spec: str, version: str) -> bool:
    """Whether `version` satisfies the caret range `spec` ("^16", "^1.6.1"), the only form the templates use."""
    match = re.fullmatch(r"\^(\d+)(?:\.(\d+))?(?:\.(\d+))?", spec)
    if not match:
        raise ValueError(f"unsupported version range {spec!r}: teach tests/browser/harness.py about it")
    wanted = tuple(int(part or 0) for part in match.groups())
    have = tuple(int(part) for part in version.split(".")[:3])
    return have[0] == wanted[0] and have >= wanted


def check_pins_match(generated_package_json: Path, app: Path = NEXT_APP) -> None:
    """The pinned versions in `app`/package.json must be ones the generated package.json allows, for the same
    packages and scripts: the test runs what `chatkit-fix init` asks for, only reproducibly."""
    generated = json.loads(generated_package_json.read_text())
    pinned = json.loads((app / "package.json").read_text())
    assert generated.get("scripts") == pinned.get("scripts"), (
        f"the scripts of the generated package.json ({generated.get('scripts')}) differ from tests/browser/{app.name}"
    )
    for section in ("dependencies", "devDependencies"):
        wanted, have = generated.get(section, {}), pinned.get(section, {})
        assert set(wanted) == set(have), (
            f"{section} of the generated package.json ({sorted(wanted)}) differ from tests/browser/{app.name} "
            f"({sorted(have)}): update {app.name}/package.json and its lockfile (npm install --package-lock-only)"
        )
        for name, spec in wanted.items():
            assert caret_allows(spec, have[name]), f"{name} {have[name]} ({app.name}) is outside {spec} (generated)"


def prepare_frontend(frontend: Path, node_modules: Path, app: Path = NEXT_APP) -> None:
    """Put the pinned package.json, the lockfile and a copy of the installed node_modules into a generated front end.

    The copy is made of hard links (instant, no space); Turbopack refuses a node_modules symlinked from outside the
    project, and `next build` writes nothing into node_modules, so the links never change the cached install (Vite
    writes its pre-bundled dependencies into new files under node_modules/.vite, never into a linked one).
    """
    check_pins_match(frontend / "package.json", app)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, frontend / name)
    target = frontend / "node_modules"
    try:
        shutil.copytree(node_modules, target, symlinks=True, copy_function=os.link)
    except OSError:  # another file system: a real copy
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(node_modules, target, symlinks=True)


def next_command(frontend: Path, *args: str) -> list[str]:
    node = shutil.which("node") or "node"
    return [node, str(frontend / "node_modules" / "next" / "dist" / "bin" / "next"), *args]


def next_build(frontend: Path, env: dict[str, str]) -> float:
    """`next build`; its seconds. The log is kept as frontend/next-build.log."""
    log = frontend / "next-build.log"
    started = time.monotonic()
    result = subprocess.run(
        next_command(frontend, "build"),
        cwd=frontend,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    seconds = time.monotonic() - started
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"next build failed in {frontend}:\n{(result.stdout + result.stderr)[-6000:]}"
    # Offline by design: no SWC binary or font may be fetched (the SWC package comes with the lockfile).
    assert not re.search(r"download|fetch failed|ENOTFOUND|EAI_AGAIN", log.read_text(), re.IGNORECASE), log.read_text()
    return seconds


@contextlib.contextmanager
def next_server(frontend: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """`next start` on 127.0.0.1:port until the block ends; yields the origin (http://127.0.0.1:port)."""
    server = ServerProcess(
        argv=next_command(frontend, "start", "--hostname", "127.0.0.1", "--port", str(port)),
        cwd=frontend,
        env=env,
        port=port,
        name="next-start",
        log_path=frontend / "next-start.log",
    )
    try:
        server.start(timeout=START_TIMEOUT_SECONDS, ready_path="/")
    except ProcessError as exc:
        raise RuntimeError(str(exc)) from exc
    try:
        yield server.url
    finally:
        server.stop()
