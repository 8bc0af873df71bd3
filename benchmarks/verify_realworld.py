"""Run `chatkit-fix verify` on real public ChatKit back ends and print, per app: found, booted, checks passed/failed,
and which failures are real bugs of the app (labelled) and which are not (verify's own problems, to fix).

    python benchmarks/verify_realworld.py SNAPSHOTS                  # every app of verify_realworld/apps.tsv
    python benchmarks/verify_realworld.py SNAPSHOTS --app cat-lounge # apps whose name contains "cat-lounge"
    python benchmarks/verify_realworld.py SNAPSHOTS --setup-only     # build the apps' virtualenvs, run nothing

SNAPSHOTS holds one folder per repository, named `owner+name`, each a plain tree of the repository (as for
benchmarks/realworld.py). Each app is copied to a scratch folder first (apps write files: databases, caches), and
booted with the interpreter of its own virtualenv, built once under `.cache/verify-apps/<app>/` of this checkout from
the requirements the app declares (pip, or uv when installed; a pyproject.toml with a uv.lock beside it installs the
locked versions, as `uv sync` does for its users, unless the lock is out of date). Only what the app's `.env.example` names is given, the way its
README sets it up: in the scratch copy each `.env.example` (or `.env.template`) with no `.env` beside it is copied to
`.env`; verify supplies the fake OpenAI API, secrets and scratch databases itself. This is a benchmark, not a test: it prints figures
and asserts nothing; the exit code is 1 when a failure is not a labelled real bug (or an app that should boot did not).

Apps (`verify_realworld/apps.tsv`, tab-separated, `#` comments): name, snapshot folder, the folder verify is pointed at
(relative to the snapshot), the requirement sources (comma-separated: a requirements file, a pyproject.toml whose
[project] dependencies are installed, or `pkg:<specifier>`), and `needs`: empty for an app that runs without outside
services, else what it needs that verify cannot provide (it is still run: verify must list those services up front).

Real bugs (`verify_realworld/bugs.tsv`): name, check id, a substring of the failure's label (its reason, then its
rules in brackets) that identifies the cause, and why it is a bug of the app (facts only). A failure matching a row is
real; any other failure is not, and neither is a real bug reported with another cause.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
APPS = HERE / "verify_realworld" / "apps.tsv"
BUGS = HERE / "verify_realworld" / "bugs.tsv"
SKIP_COPY = shutil.ignore_patterns("node_modules", ".git", ".venv", "venv", "__pycache__", ".next", "dist")
ALWAYS = ("uvicorn",)  # verify boots with `python -m uvicorn`


@dataclass
class App:
    name: str
    snapshot: str
    folder: str
    requirements: list[str]
    needs: str


@dataclass
class Bug:
    app: str
    check: str
    cause: str
    why: str


def read_tsv(path: Path, columns: int) -> list[list[str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) < columns - 1:
            sys.exit(f"{path}:{number}: expected {columns} tab-separated columns, got {len(cells)}")
        rows.append((cells + [""] * columns)[:columns])
    return rows


def load_apps() -> list[App]:
    return [App(name, snapshot, folder, [r.strip() for r in requirements.split(",") if r.strip()], needs.strip())
            for name, snapshot, folder, requirements, needs in read_tsv(APPS, 5)]


def load_bugs() -> list[Bug]:
    return [Bug(*row) for row in read_tsv(BUGS, 4)] if BUGS.is_file() else []


# ---- virtualenvs --------------------------------------------------------------------------------------------------


def project_dependencies(pyproject: Path) -> list[str]:
    import tomllib

    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data.get("project", {}).get("dependencies", []))


def locked_requirements(pyproject: Path, uv: str | None, folder: Path) -> Path | None:
    """The versions the project's uv.lock pins, exported to a requirements file (None without a lock or uv, or when
    the lock no longer matches pyproject.toml: `uv sync` would resolve again, and so do we, from pyproject.toml)."""
    if uv is None or not (pyproject.parent / "uv.lock").is_file():
        return None
    target = folder / f"locked-{pyproject.parent.name}.txt"
    done = subprocess.run([uv, "export", "--locked", "--no-hashes", "--no-dev", "--no-emit-project", "-q",
                           "--project", str(pyproject.parent), "-o", str(target)], capture_output=True, text=True)
    return target if done.returncode == 0 else None


def requirement_arguments(app: App, snapshot: Path, uv: str | None = None, folder: Path | None = None) -> list[str]:
    arguments: list[str] = []
    for source in app.requirements:
        if source.startswith("pkg:"):
            arguments.append(source[4:])
        elif source.endswith(".toml"):
            locked = locked_requirements(snapshot / source, uv, folder) if folder is not None else None
            if locked is not None:
                arguments.extend(["-r", str(locked)])
            else:
                arguments.extend(project_dependencies(snapshot / source))
        else:
            arguments.extend(["-r", str(snapshot / source)])
    return arguments + list(ALWAYS)


def find_uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


def venv_python(app: App, snapshot: Path, cache: Path, log) -> Path | None:
    """The interpreter of the app's cached virtualenv, built on first use (None when the install failed)."""
    folder = cache / app.name
    python = folder / "venv" / "bin" / "python"
    uv = find_uv()
    with tempfile.TemporaryDirectory() as scratch:
        wanted = requirement_arguments(app, snapshot, uv, Path(scratch))
        locks = {a: [line for line in Path(a).read_text().splitlines() if not line.startswith("#")]
                 for a in wanted if Path(a).parent == Path(scratch)}
    wanted = [locks.get(a, a) for a in wanted]  # the locked versions stand for the exported file in the stamp
    stamp = folder / "installed.json"
    if python.exists() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    arguments = requirement_arguments(app, snapshot, uv, folder)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.setdefault("UV_CACHE_DIR", str(CHECKOUT / ".cache" / "uv"))
    env.setdefault("PIP_CACHE_DIR", str(CHECKOUT / ".cache" / "pip"))
    if uv:
        steps = [[uv, "venv", "-q", "-p", "3.11", str(folder / "venv")],
                 [uv, "pip", "install", "-q", "-p", str(python), *arguments]]
    else:
        steps = [[sys.executable, "-m", "venv", str(folder / "venv")],
                 [str(python), "-m", "pip", "install", "-q", *arguments]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, cwd=snapshot)
        if done.returncode != 0:
            log(f"{app.name}: install failed: {' '.join(step[:4])} ...\n{done.stderr[-2000:]}")
            return None
    stamp.write_text(json.dumps(wanted))
    return python


# ---- one app --------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    app: App
    found: bool = False
    booted: bool = False
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    real: list[str] | None = None
    unexpected: list[str] | None = None
    error: str = ""
    seconds: float = 0.0
    statement: str = ""


def set_up_dotenv(copy: Path) -> None:
    """What the apps' READMEs ask first: `cp .env.example .env`, wherever an example has no .env beside it."""
    for pattern in (".env.example", ".env.template", "env.example"):
        for example in copy.rglob(pattern):
            target = example.with_name(".env")
            if example.is_file() and not target.exists():
                shutil.copyfile(example, target)


def run_app(app: App, snapshots: Path, cache: Path, timeout: float, bugs: list[Bug], log) -> Outcome:
    outcome = Outcome(app, real=[], unexpected=[])
    snapshot = snapshots / app.snapshot
    if not snapshot.is_dir():
        outcome.error = f"no snapshot {snapshot}"
        return outcome
    python = venv_python(app, snapshot, cache, log)
    if python is None:
        outcome.error = "its requirements did not install"
        return outcome
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"verify-{app.name}-") as scratch:
        copy = Path(scratch) / app.snapshot
        shutil.copytree(snapshot, copy, ignore=SKIP_COPY, symlinks=True)
        set_up_dotenv(copy)
        command = [sys.executable, "-m", "chatkit_fix", "verify", "--format", "json", "--no-color",
                   "--timeout", str(timeout), "--python", str(python), str(copy / app.folder)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=scratch, stdin=subprocess.DEVNULL,
                              env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")})
    outcome.seconds = time.monotonic() - began
    try:
        report = json.loads(done.stdout)
    except ValueError:
        outcome.error = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return outcome
    outcome.found = True
    outcome.statement = report.get("statement") or ""
    checks = report.get("checks", [])
    outcome.booted = any(c["id"] == "app.start" and c["status"] == "pass" for c in checks)
    for check in checks:
        status = check["status"]
        outcome.passed += status == "pass"
        outcome.skipped += status == "skip"
        if status != "fail":
            continue
        outcome.failed += 1
        rules = f" [{', '.join(check['rules'])}]" if check.get("rules") else ""
        label = f"{check['id']}: {check['reason']}{rules}"
        if any(b.app == app.name and b.check == check["id"] and b.cause in label for b in bugs):
            outcome.real.append(label)
        else:
            outcome.unexpected.append(label)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", type=Path)
    parser.add_argument("--app", action="append", default=[], help="only apps whose name contains this (repeatable)")
    parser.add_argument("--cache", type=Path, default=CHECKOUT / ".cache" / "verify-apps")
    parser.add_argument("--timeout", type=float, default=90.0, help="verify's --timeout per step")
    parser.add_argument("--setup-only", action="store_true", help="build the virtualenvs and stop")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failure's reason")
    args = parser.parse_args(argv)
    apps = [a for a in load_apps() if not args.app or any(part in a.name for part in args.app)]
    bugs = load_bugs()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.setup_only:
        for app in apps:
            python = venv_python(app, args.snapshots / app.snapshot, args.cache, log)
            log(f"{app.name}: {python or 'FAILED'}")
        return 0
    outcomes = []
    for app in apps:
        outcome = run_app(app, args.snapshots, args.cache, args.timeout, bugs, log)
        outcomes.append(outcome)
        log(f"{app.name}: found={outcome.found} booted={outcome.booted} {outcome.passed} passed {outcome.failed} "
            f"failed {outcome.error} ({outcome.seconds:.0f}s)")
    print(f"{'app':<22} {'found':<5} {'booted':<6} {'pass':>4} {'fail':>4} {'real':>4} {'other':>5}  needs / statement")
    bad = 0
    for o in outcomes:
        needs = o.app.needs or o.statement or o.error
        print(f"{o.app.name:<22} {'yes' if o.found else 'NO':<5} {'yes' if o.booted else 'no':<6} {o.passed:>4} "
              f"{o.failed:>4} {len(o.real):>4} {len(o.unexpected):>5}  {needs[:90]}")
        if o.unexpected or (not o.app.needs and not o.statement and not o.booted):
            bad += 1
    for o in outcomes:
        for label in o.real if args.verbose else []:
            print(f"  REAL   {o.app.name}: {label}")
        for label in o.unexpected:
            print(f"  OTHER  {o.app.name}: {label}")
    runnable = [o for o in outcomes if not o.app.needs]
    print(f"\nwithout outside services: {sum(o.found for o in runnable)}/{len(runnable)} found, "
          f"{sum(o.booted for o in runnable)} booted, "
          f"{sum(not o.unexpected for o in runnable if o.booted)} with no failure but real bugs; "
          f"real bugs {sum(len(o.real) for o in outcomes)}, other failures {sum(len(o.unexpected) for o in outcomes)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
