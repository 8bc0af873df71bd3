"""The fixed TSX of every rule case compiles under `tsc --noEmit --strict` against the real `@openai/chatkit-react`
types, also as the engine fixes it in files written with CRLF, a BOM, tabs or no final newline, and the "before"
fixtures of CK106 fail it as they should.

The toolchain is pinned in tests/frontend/package.json and its committed package-lock.json. `npm ci` runs once per
lockfile into `.cache/frontend-node_modules/<hash>/` (with `--prefer-offline` and an npm cache next to it), so later
sessions reuse it. All cases go into one temporary project and `tsc` runs once; each error is mapped back to its case.
Without npm (or when the install fails) the test is skipped with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from case_support.variants import fixed_files
from chatkit_fix.rules import load_rules

REPO = Path(__file__).resolve().parents[1]
FRONTEND = REPO / "tests" / "frontend"
CACHE = REPO / ".cache" / "frontend-node_modules"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
VARIANTS = ("crlf", "bom", "tabs", "no-final-newline")  # a PEP 263 cookie is Python's
SHIMS = """// What the fixtures use that the pinned toolchain does not install: stylesheets, `process.env` (Node types),
// `import.meta.env` (vite/client), and any other package (typed as `any`; installed packages keep their types).
declare module "*.css";
declare module "*";
declare const process: { env: Record<string, string | undefined> };
interface ImportMetaEnv {
  readonly [key: string]: string | undefined;
}
interface ImportMeta {
  readonly env: ImportMetaEnv;
}
"""
ERROR_LINE = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<message>.*)$")


def _unavailable(reason: str):
    if UNDER_CI:
        pytest.fail(f"TSX type check cannot run under CI=true: {reason}")
    print(f"skipping the TSX type check: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def toolchain() -> Path:
    """The folder holding node_modules for the pinned lockfile (installed on first use, then reused)."""
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not on PATH")
    lock = FRONTEND / "package-lock.json"
    digest = hashlib.sha256((FRONTEND / "package.json").read_bytes() + lock.read_bytes()).hexdigest()[:16]
    target = CACHE / digest
    tsc = target / "node_modules" / ".bin" / "tsc"
    if tsc.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = CACHE / f"{digest}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    shutil.copy2(FRONTEND / "package.json", staging / "package.json")
    shutil.copy2(lock, staging / "package-lock.json")
    command = [npm, "ci", "--cache", str(CACHE / "npm-cache"), "--prefer-offline", "--no-audit", "--no-fund",
               "--loglevel", "error"]
    try:
        done = subprocess.run(command, cwd=staging, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _unavailable(f"`npm ci` could not run: {exc}")
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        _unavailable(f"`npm ci` failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    try:
        staging.rename(target)
    except OSError:  # another session installed it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    for stale in CACHE.iterdir():  # installs of older lockfiles
        if stale.is_dir() and stale != target and stale.name != "npm-cache" and ".tmp-" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    if not tsc.exists():
        _unavailable(f"`npm ci` did not install tsc into {target}")
    return target


def _case_id(code: str, kind: str, index: int, name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40]
    return f"{code}-{kind}-{index}" + (f"-{slug}" if slug else "")


def typecheck_sets() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """(fixed projects that must compile, CK106 "before" projects that must not), each case id -> files.

    A case whose fix edits TypeScript is also fixed by the engine in each VARIANTS (its source files written with
    CRLF, a BOM, tabs or no final newline), and what the engine wrote must compile too."""
    must_compile: dict[str, dict[str, str]] = {}
    must_fail: dict[str, dict[str, str]] = {}
    for code, rule in load_rules().items():
        for kind, cases in (("valid", rule.valid), ("invalid", rule.invalid)):
            for index, case in enumerate(cases):
                files = dict(case.files) | dict(case.expected or {})
                if not any(name.endswith(TS_SUFFIXES) for name in files):
                    continue
                case_id = _case_id(code, kind, index, case.name)
                if code == "CK106" and kind == "invalid":
                    must_fail[case_id] = dict(case.files)
                    if case.expected is None:
                        continue  # report only: the fixed text is the before text
                must_compile[case_id] = files
                if any(name.endswith(TS_SUFFIXES) for name in case.expected or {}):
                    for variant in VARIANTS:
                        with tempfile.TemporaryDirectory() as folder:
                            fixed = fixed_files(rule, case, frozenset([variant]), Path(folder))
                        # the BOM itself is test_case_variants' to check; here it would shift the import rewriting
                        must_compile[f"{case_id}-{variant}"] = {name: data.decode("utf-8-sig") for name, data in fixed.items()}
    return must_compile, must_fail


def _relative_imports(folder: Path, files: dict[str, str]) -> dict[str, str]:
    """Rewrite alias imports (`@/lib/auth`) to relative ones, resolved the way chatkit-fix resolves them, so every
    case can keep its own tsconfig `paths` inside one shared type-check project."""
    from chatkit_fix.analysis.frontend import FrontendModel, span
    from chatkit_fix.config import Settings
    from chatkit_fix.project import Project

    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    project = Project.discover(folder, Settings(root=folder), [folder])
    model = FrontendModel(project)
    rewritten = dict(files)
    for name, text in files.items():
        if not name.endswith(TS_SUFFIXES):
            continue
        path = (folder / name).resolve()
        script = model.script(path)
        if script is None:
            continue
        edits = []
        for ref in script.imports:
            if ref.specifier.startswith(".") or ref.kind not in ("static", "reexport", "dynamic"):
                continue
            resolved = model.resolve(path, ref.specifier)
            if resolved is None:
                continue
            relative = os.path.relpath(resolved.with_suffix(""), path.parent).replace(os.sep, "/")
            relative = relative if relative.startswith(".") else "./" + relative
            for node in ref.node.find_all(kind="string"):
                if node.text()[1:-1] == ref.specifier:
                    start, end = span(node)
                    edits.append((start + 1, end - 1, relative))
                    break
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        rewritten[name] = text
    return rewritten


def _write_project(root: Path, groups: dict[str, dict[str, dict[str, str]]], toolchain: Path) -> None:
    for group, cases in groups.items():
        for case_id, files in cases.items():
            folder = root / group / case_id
            files = _relative_imports(folder, files)
            for name in list(folder.rglob("*")):
                if name.is_file():
                    name.unlink()
            for name, text in files.items():
                if not name.endswith(TS_SUFFIXES) or ".config." in Path(name).name:
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    (root / "shims.d.ts").write_text(SHIMS, encoding="utf-8")
    os.symlink(toolchain / "node_modules", root / "node_modules")
    config = (
        '{\n  "compilerOptions": {\n'
        '    "strict": true, "noEmit": true, "jsx": "react-jsx", "module": "esnext", "moduleResolution": "bundler",\n'
        '    "target": "es2022", "lib": ["dom", "dom.iterable", "es2022"], "skipLibCheck": true,\n'
        '    "moduleDetection": "force", "allowImportingTsExtensions": true, "isolatedModules": true,\n'
        '    "types": []\n'
        '  },\n  "include": ["shims.d.ts", "fixed/**/*.ts", "fixed/**/*.tsx", "before/**/*.ts", "before/**/*.tsx"]\n}\n'
    )
    (root / "tsconfig.json").write_text(config, encoding="utf-8")


@pytest.fixture(scope="session")
def tsc_errors(toolchain, tmp_path_factory):
    """Run tsc once over every case; returns (group, case id) -> error lines."""
    must_compile, must_fail = typecheck_sets()
    root = tmp_path_factory.mktemp("tsx-typecheck")
    _write_project(root, {"fixed": must_compile, "before": must_fail}, toolchain)
    tsc = toolchain / "node_modules" / ".bin" / "tsc"
    done = subprocess.run([str(tsc), "-p", "tsconfig.json", "--noEmit", "--strict", "--pretty", "false"],
                          cwd=root, capture_output=True, text=True, timeout=600, check=False)
    errors: dict[tuple[str, str], list[str]] = {}
    unmapped = []
    for line in (done.stdout + done.stderr).splitlines():
        match = ERROR_LINE.match(line.strip())
        if not match:
            continue
        parts = Path(match.group("file")).parts
        if len(parts) >= 2 and parts[0] in ("fixed", "before"):
            errors.setdefault((parts[0], parts[1]), []).append(line.strip())
        else:
            unmapped.append(line.strip())
    assert not unmapped, "tsc errors outside any case (shims or config):\n" + "\n".join(unmapped)
    if done.returncode not in (0, 1, 2):
        pytest.fail(f"tsc crashed ({done.returncode}): {done.stderr[-2000:]}")
    return must_compile, must_fail, errors


def test_fixed_tsx_compiles(tsc_errors):
    must_compile, _, errors = tsc_errors
    assert must_compile, "no rule case carries TSX"
    broken = {case: lines for (group, case), lines in errors.items() if group == "fixed"}
    report = "\n".join(f"{case}:\n  " + "\n  ".join(lines) for case, lines in sorted(broken.items()))
    assert not broken, f"{len(broken)} of {len(must_compile)} cases do not compile after the fix:\n{report}"


def test_ck106_before_fixtures_fail(tsc_errors):
    _, must_fail, errors = tsc_errors
    assert must_fail, "CK106 has no invalid case with TSX"
    compiling = sorted(case for case in must_fail if ("before", case) not in errors)
    assert not compiling, f"these CK106 'before' fixtures type-check, so the types do not reject them: {compiling}"
