"""npm, Next.js and Chromium for the browser suite.

The tools are found or a reason to skip is given (`Unavailable`); `npm ci` runs once per lockfile into the test
cache and each build gets a hard-linked copy of that node_modules; `next build` and `next start` run the generated
front end as its own package.json scripts would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).parent
NEXT_APP = HERE / "next-app"
STUB_SCRIPT = HERE / "chatkit_stub.js"
RECORDER = HERE / "recorder.py"
CDN_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
MIN_NODE = (20, 9)  # next 16's engines
# /work/.library/env: root needs --no-sandbox; without the background-networking switches Chromium keeps trying
# to reach Google's hosts through a network that is closed here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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
    """(node, npm), or Unavailable when they are missing or node is too old for Next.js 16."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise Unavailable("Node.js and npm are not installed: the Next.js front end cannot be built")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < MIN_NODE:
        raise Unavailable(f"Next.js 16 needs Node.js >= {MIN_NODE[0]}.{MIN_NODE[1]}, found {version or 'nothing'}")
    return node, npm


def lockfile_key() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((NEXT_APP / name).read_bytes())
    return digest.hexdigest()[:16]


def installed_node_modules(npm: str) -> tuple[Path, float | None]:
    """node_modules installed by `npm ci` from next-app/'s lockfile, once per lockfile; (path, seconds or None if
    it was already there). Installs happen in a staging folder renamed into place, so a half install is never used."""
    key = lockfile_key()
    root = cache_dir() / "browser-e2e"
    folder = root / f"npm-{key}"
    if (folder / ".installed").is_file():
        return folder / "node_modules", None
    staging = root / f".staging-{key}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NEXT_APP / name, staging / name)
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
        raise Unavailable(f"npm ci of tests/browser/next-app failed (offline?): {result.stderr[-2000:]}")
    if not list((staging / "node_modules" / "@next").glob("swc-*")):
        raise AssertionError("npm ci installed no @next/swc-* binary for this platform: next build would download one")
    (staging / ".installed").write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
    try:
        os.rename(staging, folder)
    except OSError:  # a concurrent session got there first (a folder exists only once complete)
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / ".installed").is_file():
            raise
    for old in root.glob("npm-*"):  # installs of older lockfiles: 370 MB each
        if old != folder:
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


def check_pins_match(generated_package_json: Path) -> None:
    """The pinned versions in next-app/package.json must be ones the generated package.json allows, for the same
    packages: the test builds what `chatkit-fix init` asks for, only reproducibly."""
    generated = json.loads(generated_package_json.read_text())
    pinned = json.loads((NEXT_APP / "package.json").read_text())
    for section in ("dependencies", "devDependencies"):
        wanted, have = generated.get(section, {}), pinned.get(section, {})
        assert set(wanted) == set(have), (
            f"{section} of the generated package.json ({sorted(wanted)}) differ from tests/browser/next-app "
            f"({sorted(have)}): update next-app/package.json and its lockfile (npm install --package-lock-only)"
        )
        for name, spec in wanted.items():
            assert caret_allows(spec, have[name]), f"{name} {have[name]} (next-app) is outside {spec} (generated)"


def prepare_frontend(frontend: Path, node_modules: Path) -> None:
    """Put the pinned package.json, the lockfile and a copy of the installed node_modules into a generated front end.

    The copy is made of hard links (instant, no space); Turbopack refuses a node_modules symlinked from outside the
    project, and `next build` writes nothing into node_modules, so the links never change the cached install.
    """
    check_pins_match(frontend / "package.json")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NEXT_APP / name, frontend / name)
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
    log = frontend / "next-start.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            next_command(frontend, "start", "--hostname", "127.0.0.1", "--port", str(port)),
            cwd=frontend,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its children stop with it
        )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"next start exited with code {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(origin + "/", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"next start did not answer on {origin} in {START_TIMEOUT_SECONDS}s:\n{log.read_text()}"
                )
            time.sleep(0.2)
        yield origin
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
