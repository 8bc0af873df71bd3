"""The generated front-end files type-check with `tsc --strict` against the real @openai/chatkit-react 1.6.1 types.

The types are what reject `api.headers`, a missing `domainKey` or an unknown event handler, so
this is where a wrong option in a template shows. npm installs the packages once into the test
cache; `next` and `vite` are replaced by small declaration shims (see scaffold_support/typescript).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from scaffold_support.projects import generate

pytestmark = pytest.mark.slow

SUPPORT = Path(__file__).parent / "scaffold_support" / "typescript"
FRONTEND_SUFFIXES = (".tsx", ".ts")
UNCHECKED = {"vite.config.ts"}  # needs the real vite and its React plugin


def typescript_workspace() -> Path:
    """A folder with the pinned packages installed (reinstalled when package.json changes)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    cache = Path(os.environ.get("CHATKIT_FIX_TEST_CACHE") or Path.home() / ".cache" / "chatkit-fix-tests")
    workspace = cache / "scaffold-typescript"
    workspace.mkdir(parents=True, exist_ok=True)
    # the committed lock file pins every package: `npm ci` installs exactly it, so a release cannot change the check
    manifest, lock = (SUPPORT / "package.json").read_text(), (SUPPORT / "package-lock.json").read_text()
    wanted = manifest + lock
    installed_marker = workspace / "node_modules" / ".installed-package.json"
    if not installed_marker.exists() or installed_marker.read_text() != wanted:
        (workspace / "package.json").write_text(manifest)
        (workspace / "package-lock.json").write_text(lock)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=workspace,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {result.stderr[-2000:]}")
        installed_marker.write_text(wanted)
    shim = workspace / "node_modules" / "vite"
    shim.mkdir(exist_ok=True)
    (shim / "package.json").write_text('{"name": "vite", "version": "0.0.0-shim", "types": "client.d.ts"}\n')
    shutil.copy(SUPPORT / "vite-client.d.ts", shim / "client.d.ts")
    shutil.copy(SUPPORT / "next-shims.d.ts", workspace / "next-shims.d.ts")
    shutil.copy(SUPPORT / "tsconfig.json", workspace / "tsconfig.json")
    return workspace


def test_generated_frontends_pass_tsc_strict(tmp_path: Path) -> None:
    workspace = typescript_workspace()
    projects = workspace / "projects"
    shutil.rmtree(projects, ignore_errors=True)
    for framework in ("next", "vite"):
        for auth in ("jwt", "none"):
            target = tmp_path / f"{framework}-{auth}"
            generate(target, framework=framework, auth=auth, mcp=False)
            for source in (target / "frontend").rglob("*"):
                if source.suffix in FRONTEND_SUFFIXES and source.name not in UNCHECKED:
                    copy = projects / target.name / source.relative_to(target / "frontend")
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(source, copy)
    assert len(list(projects.rglob("ChatKitWidget.tsx"))) == 4

    tsc = workspace / "node_modules" / ".bin" / "tsc"
    result = subprocess.run(
        [str(tsc), "-p", "tsconfig.json"], cwd=workspace, check=False, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_rejects_a_wrong_option(tmp_path: Path) -> None:
    """Guards the check above: the same setup must fail on an option the types forbid."""
    workspace = typescript_workspace()
    projects = workspace / "projects"
    shutil.rmtree(projects, ignore_errors=True)
    generate(tmp_path, framework="vite", mcp=False)
    widget = (tmp_path / "frontend/src/ChatKitWidget.tsx").read_text()
    broken = projects / "broken" / "ChatKitWidget.tsx"
    broken.parent.mkdir(parents=True)
    broken.write_text(widget.replace("domainKey: CHATKIT_DOMAIN_KEY,", "headers: {},"))

    result = subprocess.run(
        [str(workspace / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json"],
        cwd=workspace,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode != 0 and "'headers' does not exist" in result.stdout
