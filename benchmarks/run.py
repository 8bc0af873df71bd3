"""Benchmark `chatkit-fix` against what its users already run: ruff, ast-grep, pyupgrade, and parsing with libcst.

    python benchmarks/run.py                       # 5,000 .py + 2,000 JS/TS files, 5 interleaved runs
    python benchmarks/run.py --runs 3 --keep /tmp/ckf-bench   # keep (and reuse) the generated tree

It builds a tree of real code nobody here wrote: .py files copied from the packages pinned in
`benchmarks/tree-lock.txt` and .js/.ts/.tsx files from pinned npm packages, both installed into a cache folder (sorted,
then a seeded sample, so the same options give the same tree on every machine and every day), with the small ChatKit
projects of `benchmarks/projects/` planted in it; beside it the same tree with 20 and with 40 ChatKit services
planted under services/ (the projects copied and made each its own: a monorepo). Folder names
that any of the tools skips by default (`dist`, `build`, `node_modules`, dot folders, ...) are renamed so that every
tool sees the same files. Then it times, interleaved in every round (order shuffled per round, seeded):

- `chatkit-fix check --no-cache .` on the tree, on the tree doubled and on the monorepos, a second `check .` of the
  unchanged tree (the cache replays it), and `chatkit-fix apply .` on a fresh copy per run;
- `ruff check --select E9 --no-cache .`, `ast-grep scan` with one rule equivalent to CK901;
- libcst parsing every .py file (one process), and as references the stdlib `ast.parse` of every .py file and
  reading every file's bytes with one regex over them (the floor of any byte prefilter);
- `chatkit-fix check FILE` against `pyupgrade FILE` on a file with no ChatKit code and on a ChatKit server file, run
  from the tree's root as pre-commit does.

It prints medians (and minimums) of wall time, the peak RSS of each command (the largest single process, from
wait4), the ratios against the targets with PASS/MISS, and nothing is asserted. Tools that are not installed show as
n/a; `pip install -e ".[bench]"` installs them all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROJECTS = HERE / "projects"
PY_LOCK = HERE / "tree-lock.txt"  # the Python packages the tree's .py files come from, pinned
SERVICES = 40  # ChatKit services planted for the monorepo scenario (and half as many, for the slope)
AST_GREP_RULE = HERE / "ast-grep" / "uvicorn-reload-object.yml"
PARSE_ALL = HERE / "parse_all.py"
TREE_FORMAT = 3  # bump when the layout of a generated tree changes, so a kept tree is rebuilt

# npm packages whose files make the JS/TS part of the tree (exact versions: the same tree on every machine).
NPM_PACKAGES = {
    "typescript": "5.9.3",
    "react": "19.3.1",
    "react-dom": "19.3.1",
    "next": "16.4.6",
    "@types/react": "19.3.0",
    "@types/react-dom": "19.3.0",
    "@openai/chatkit-react": "1.6.1",
    "@tanstack/react-query": "5.108.0",
    "react-hook-form": "7.92.0",
}
PY_SUFFIXES = (".py",)
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
MAX_COPIED_BYTES = 1 << 20  # bundles and generated lib files over 1 MiB are not source anyone edits
# Folder names skipped by default by chatkit-fix, ruff or ast-grep: renamed in the tree so all tools see one file set.
SKIPPED_BY_SOME_TOOL = {
    "node_modules", "venv", "env", "__pycache__", "dist", "build", "site-packages", "out", "coverage", "_build",
    "buck-out", "__pypackages__",
}
SINGLE_PLAIN = "pylib/pygments/lexer.py"  # a module of a pinned package with no ChatKit code
SINGLE_CHATKIT = "apps/helpdesk/backend/app/main.py"
TREE_GITIGNORE = "__pycache__/\n*.pyc\n.env\n.next/\nnode_modules/\n*.log\n"

MiB = 1024 * 1024


# ---- the tree ---------------------------------------------------------------------------------------------------


def sanitize(rel: Path) -> Path:
    parts = []
    for part in rel.parts[:-1]:
        if part.startswith("."):
            part = "_" + part[1:]
        if part.lower() in SKIPPED_BY_SOME_TOOL or part.endswith(".dist-info") or part.endswith(".egg-info"):
            part = part + "_"
        parts.append(part)
    return Path(*parts, rel.name)


def source_files(base: Path, suffixes: tuple[str, ...], skip_top: set[str] = frozenset()) -> list[Path]:
    """Every file under `base` with one of `suffixes`, sorted, as paths relative to `base`."""
    found = []
    for folder, dirs, names in os.walk(base):
        rel_folder = Path(folder).relative_to(base)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not (rel_folder == Path(".") and d in skip_top))
        for name in names:
            if name.endswith(suffixes):
                path = Path(folder, name)
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                if 0 < size <= MAX_COPIED_BYTES and not path.is_symlink():
                    found.append(path.relative_to(base))
    return sorted(found)


def sample(pool: list[Path], count: int, seed: int, required: tuple[Path, ...] = ()) -> list[tuple[Path, Path]]:
    """(source, destination) pairs: a seeded sample of `count` files; past the pool's size, further copies."""
    if not pool:
        raise SystemExit("no source files found to build the tree from")
    rng = random.Random(seed)
    chosen: list[tuple[Path, Path]] = []
    round_ = 0
    while len(chosen) < count:
        take = min(count - len(chosen), len(pool))
        picked = sorted(rng.sample(pool, take))
        if round_ == 0:
            for needed in required:
                if needed in pool and needed not in picked and picked:
                    picked[-1] = needed
                    picked.sort()
        prefix = Path(f"copy{round_}") if round_ else Path()
        chosen.extend((src, prefix / sanitize(src)) for src in picked)
        round_ += 1
    return chosen


def npm_source(cache: Path) -> Path:
    """node_modules of NPM_PACKAGES installed into the cache (installed once per package list)."""
    key = hashlib.sha256(json.dumps(NPM_PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    target = cache / f"npm-{key}"
    modules = target / "node_modules"
    if (target / ".installed").is_file():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found: install Node.js, or pass --js-source FOLDER (any folder of .js/.ts files)")
    target.mkdir(parents=True, exist_ok=True)
    (target / "package.json").write_text(
        json.dumps({"name": "chatkit-fix-bench-sources", "private": True, "dependencies": NPM_PACKAGES}, indent=2)
    )
    log(f"installing npm packages into {target} ...")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], cwd=target, check=True
    )
    (target / ".installed").write_text("ok\n")
    return modules


def python_source(cache: Path) -> Path:
    """The packages of tree-lock.txt installed into the cache (once per lock): the same .py files on every machine,
    whatever this virtualenv holds."""
    lock = PY_LOCK.read_text()
    target = cache / f"py-{hashlib.sha256(lock.encode()).hexdigest()[:12]}"
    if (target / ".installed").is_file():
        return target
    log(f"installing the packages of {PY_LOCK.name} into {target} ...")
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target",
                    str(target), "-r", str(PY_LOCK)], check=True)
    (target / ".installed").write_text("ok\n")
    return target


def plant_services(tree: Path, count: int) -> None:
    """`count` ChatKit services under services/, each a copy of one of the planted projects made its own: its package,
    routes and classes renamed, and one more module of application code its server imports."""
    projects = sorted(p for p in PROJECTS.iterdir() if p.is_dir())
    for index in range(count):
        source = projects[index % len(projects)]
        target = tree / "services" / f"{source.name}-{index:02d}"
        suffix = f"{index:02d}"
        renames = [("recipes_bot", f"recipes_bot_{suffix}"), ("/chatkit", f"/chatkit{suffix}"),
                   ("Store(", f"Store{suffix}("), ("Store:", f"Store{suffix}:"), ("Store)", f"Store{suffix})")]
        for path in sorted(source.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            relative = Path(*(part.replace("recipes_bot", f"recipes_bot_{suffix}") for part in path.relative_to(source).parts))
            text = path.read_text(encoding="utf-8")
            for old, new in renames:
                text = text.replace(old, new)
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(text, encoding="utf-8")
        servers = [p for p in target.rglob("*.py") if b"ChatKitServer" in p.read_bytes()]
        if servers:
            helper = servers[0].with_name(f"pricing_{suffix}.py")
            helper.write_text(
                "import httpx\n\n\n"
                f"async def quote_{suffix}(client: httpx.AsyncClient, sku: str) -> float:\n"
                f'    response = await client.get(f"https://prices.example/{suffix}/{{sku}}")\n'
                "    response.raise_for_status()\n"
                '    return float(response.json()["price"])\n'
            )
            server = servers[0].read_text(encoding="utf-8")
            servers[0].write_text(f"from pricing_{suffix} import quote_{suffix}  # noqa: F401\n" + server)


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def git_init(folder: Path) -> None:
    git = shutil.which("git")
    if git:
        subprocess.run([git, "init", "-q", str(folder)], check=True, stdout=subprocess.DEVNULL)


def build_tree(tree: Path, site_packages: Path, js_source: Path, py_files: int, js_files: int, seed: int) -> dict:
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    py_pool = source_files(site_packages, PY_SUFFIXES)
    js_pool = source_files(js_source, JS_SUFFIXES, skip_top={".bin", ".cache"})
    plain = Path(SINGLE_PLAIN).relative_to("pylib")
    for src, dst in sample(py_pool, py_files, seed, required=(plain,)):
        copy_file(site_packages / src, tree / "pylib" / dst)
    for src, dst in sample(js_pool, js_files, seed + 1):
        copy_file(js_source / src, tree / "jslib" / dst)
    shutil.copytree(PROJECTS, tree / "apps", ignore=shutil.ignore_patterns("__pycache__", "node_modules", ".next"))
    (tree / ".gitignore").write_text(TREE_GITIGNORE)
    git_init(tree)
    return describe_tree(tree) | {"py_pool": len(py_pool), "js_pool": len(js_pool)}


def describe_tree(tree: Path) -> dict:
    counts = {"py": 0, "js": 0, "other": 0, "bytes": 0}
    for folder, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            kind = "py" if name.endswith(PY_SUFFIXES) else "js" if name.endswith(JS_SUFFIXES) else "other"
            counts[kind] += 1
            counts["bytes"] += os.path.getsize(os.path.join(folder, name))
    return counts


def copy_tree(src: Path, dst: Path, link: bool = False) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"), copy_function=os.link if link else shutil.copy2)


def double_tree(tree: Path, doubled: Path) -> None:
    """The tree twice, side by side, under one root (hard links: only read)."""
    if doubled.exists():
        shutil.rmtree(doubled)
    doubled.mkdir(parents=True)
    for half in ("a", "b"):
        copy_tree(tree, doubled / half, link=True)
    (doubled / ".gitignore").write_text(TREE_GITIGNORE)
    git_init(doubled)


def inside_chatkit_fix_project(folder: Path) -> Path | None:
    for parent in (folder, *folder.parents):
        config = parent / "pyproject.toml"
        try:
            if config.is_file() and "[tool.chatkit-fix" in config.read_text(encoding="utf-8", errors="replace"):
                return parent
        except OSError:
            continue
    return None


# ---- running and measuring ------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rss_kib: int
    code: int


@dataclass
class Task:
    key: str
    label: str
    argv: list[str] | None  # None: the tool is missing
    cwd: Path
    missing: str = ""
    before: object = None  # called (untimed) before every run
    reference: bool = False
    rounds: int | None = None  # run only in the first N rounds
    samples: list[Sample] = field(default_factory=list)

    def median(self) -> float | None:
        return statistics.median(s.seconds for s in self.samples) if self.samples else None

    def minimum(self) -> float | None:
        return min(s.seconds for s in self.samples) if self.samples else None

    def peak_mib(self) -> float | None:
        return max(s.rss_kib for s in self.samples) / 1024 if self.samples else None


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def child_env() -> dict[str, str]:
    """The environment of every timed command: as a user's, so Python reads (and writes) its cached bytecode."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


TIMEOUT = 1800.0  # seconds; set from --timeout


def run_once(argv: list[str], cwd: Path, stdout=subprocess.DEVNULL) -> Sample:
    """Wall time and peak RSS: the largest single process of the command and its waited-for children.

    The RSS comes from GNU time's wait4 when /usr/bin/time exists: a child forked from this Python process would
    otherwise inherit this process's own high-water mark (about 30 MiB) into its ru_maxrss. A command still running
    after TIMEOUT seconds is killed with its whole process group and recorded with exit code -9.
    """
    with tempfile.NamedTemporaryFile(prefix="rss-", suffix=".txt") as rss_file, tempfile.TemporaryFile() as err:
        wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", rss_file.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, cwd=cwd, stdout=stdout, stderr=err, stdin=subprocess.DEVNULL,
                                   env=child_env(), start_new_session=True)
        timer = threading.Timer(TIMEOUT, _kill_group, (process.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        rss_kib = usage.ru_maxrss
        if GNU_TIME:
            text = Path(rss_file.name).read_text().strip().splitlines()
            rss_kib = int(text[-1]) if text and text[-1].isdigit() else rss_kib
    return Sample(seconds, rss_kib, process.returncode)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, 9)
    except OSError:
        pass


def tree_rss_peak(argv: list[str], cwd: Path) -> float | None:
    """Peak of the summed RSS of a command's whole process tree (psutil, sampled every 10 ms), in MiB."""
    try:
        import psutil
    except ImportError:
        return None
    peak = 0
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
    watched = psutil.Process(process.pid)
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            total = 0
            try:
                for proc in [watched, *watched.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            done.wait(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    process.wait()
    done.set()
    poller.join()
    return peak / MiB


def find_tool(*names: str) -> str | None:
    """A console script next to this interpreter (its virtualenv), else on PATH."""
    bindir = Path(sys.executable).parent
    for name in names:
        candidate = bindir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.splitlines()[0] if out else "?"


def trigger_regex() -> str:
    """One regex of every atom of every rule's byte triggers (a broad prefilter's single pass)."""
    from chatkit_fix.rules import load_rules

    atoms: set[str] = set()
    for rule in load_rules().values():
        for trigger in [*rule.triggers, *(t for found in rule.language_triggers.values() for t in found)]:
            if isinstance(trigger, bytes):
                atoms.add(re.escape(trigger.decode("utf-8", "replace")))
            elif isinstance(trigger, tuple):
                atoms.update(re.escape(part.decode("utf-8", "replace")) for part in trigger if isinstance(part, bytes))
            elif callable(trigger):
                continue  # a function of the bytes has no regex: this reference pass goes without it
            else:  # a compiled pattern; a leading global flag becomes a scoped one inside the alternation
                pattern = trigger.pattern.decode("utf-8", "replace")
                flags = "i" if trigger.flags & re.IGNORECASE else ""
                pattern = pattern.removeprefix("(?i)")
                atoms.add(f"(?{flags}:{pattern})" if flags else f"(?:{pattern})")
    if not atoms:
        return r"(?!)"
    return "|".join(sorted(atoms))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- report ---------------------------------------------------------------------------------------------------


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def verdict(value: float | None, limit: float, at_most: bool) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value <= limit if at_most else value >= limit) else "MISS"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(tasks: dict[str, Task], tree_sums: dict[str, float | None]) -> str:
    lines = ["| command | median | min | runs | peak RSS | exit |", "|---|---:|---:|---:|---:|---:|"]
    for task in tasks.values():
        if task.argv is None:
            lines.append(f"| {task.label} | n/a ({task.missing}) | | | | |")
            continue
        codes = ",".join(str(c) for c in sorted({s.code for s in task.samples}))
        peak = task.peak_mib()
        lines.append(
            f"| {task.label} | {fmt_seconds(task.median())} | {fmt_seconds(task.minimum())} | {len(task.samples)} "
            f"| {'n/a' if peak is None else f'{peak:.0f} MiB'} | {codes} |"
        )
    m = {key: task.median() for key, task in tasks.items()}
    check_peaks = [tasks[k].peak_mib() for k in ("check", "apply") if tasks[k].samples]
    peak = max(check_peaks) if check_peaks else None
    targets = [
        ("`check` tree / ruff E9", ratio(m["check"], m["ruff"]), 1.0, True, "×"),
        (f"`check` tree + {SERVICES} services / ruff E9 on it", ratio(m["check_mono"], m["ruff_mono"]), 1.5, True, "×"),
        ("`check` doubled tree / `check` tree", ratio(m["check_2x"], m["check"]), 2.0, True, "×"),
        ("second `check`, tree unchanged / first", ratio(m["check_cached"], m["check"]), 0.3, True, "×"),
        ("`check FILE` (no ChatKit) / pyupgrade", ratio(m["check_plain"], m["pyupgrade_plain"]), 1.2, True, "×"),
        ("`check FILE` (ChatKit server file)", None if m["check_chatkit"] is None else m["check_chatkit"] * 1000,
         250, True, " ms"),
        ("peak RSS of `check`/`apply` on the tree", peak, 200, True, " MiB"),
        ("`apply` tree / `check` tree", ratio(m["apply"], m["check"]), 2, True, "×"),
        ("libcst every file / `check` tree", ratio(m["libcst"], m["check"]), 30, False, "×"),
    ]
    lines += ["", "| target | measured | limit | verdict |", "|---|---:|---:|---|"]
    for name, value, limit, at_most, unit in targets:
        digits = 0 if unit.strip() in ("ms", "MiB") else 2
        shown = "n/a" if value is None else f"{value:.{digits}f}{unit}"
        bound = f"{'≤' if at_most else '≥'} {limit:g}{unit}"
        lines.append(f"| {name} | {shown} | {bound} | {verdict(value, limit, at_most)} |")
    info = [
        ("`check` tree / ast-grep scan (1 rule)", ratio(m["check"], m["ast_grep"])),
        ("`check` tree / read every file + 1 regex", ratio(m["check"], m["scan"])),
        ("stdlib ast.parse every file / `check` tree", ratio(m["ast"], m["check"])),
        ("`check` ChatKit file / pyupgrade ChatKit file", ratio(m["check_chatkit"], m["pyupgrade_chatkit"])),
    ]
    lines += ["", "| for reference | value |", "|---|---:|"]
    lines += [f"| {name} | {'n/a' if value is None else f'{value:.2f}×'} |" for name, value in info]
    if None not in (m["check"], m["check_mono"], m["check_mono_half"]):
        slope = (m["check_mono"] - m["check"]) / SERVICES
        first_half = (m["check_mono_half"] - m["check"]) / (SERVICES // 2)
        lines.append(f"| cost of one planted ChatKit service (slope over {SERVICES} services) | {slope * 1000:.1f} ms |")
        lines.append(f"| the same over the first {SERVICES // 2} services (linear when close to the slope) | "
                     f"{first_half * 1000:.1f} ms |")
    for key, value in tree_sums.items():
        lines.append(f"| RSS summed over the process tree, {tasks[key].label} (psutil, 10 ms) | "
                     f"{'n/a (pip install psutil)' if value is None else f'{value:.0f} MiB'} |")
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (default 5); medians are reported")
    parser.add_argument("--libcst-runs", type=int, default=3, help="rounds that also parse with libcst (default 3)")
    parser.add_argument("--py-files", type=int, default=5000, help=".py files copied from site-packages (5000)")
    parser.add_argument("--js-files", type=int, default=2000, help=".js/.ts/.tsx files copied from npm (2000)")
    parser.add_argument("--seed", type=int, default=20250101, help="sampling and order seed")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the trees in this folder and keep them")
    parser.add_argument("--site-packages", type=Path,
                        help="where .py files come from (default: the packages of benchmarks/tree-lock.txt)")
    parser.add_argument("--js-source", type=Path, help="a folder of JS/TS files (default: npm install into --cache)")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench", help="npm install cache folder")
    parser.add_argument("--chatkit-fix", dest="chatkit_fix", metavar="COMMAND",
                        help='how to start chatkit-fix (default: the console script beside this Python), e.g. '
                             '"python -m chatkit_fix" with PYTHONPATH pointing at a frozen copy of the package')
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds before a command is killed (1800)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first round")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global TIMEOUT
    TIMEOUT = args.timeout
    work = (args.keep or Path(tempfile.mkdtemp(prefix="chatkit-fix-bench-"))).resolve()
    owner = inside_chatkit_fix_project(work)
    if owner is not None:
        raise SystemExit(f"{work} is inside the chatkit-fix project {owner}; choose a folder outside it for --keep")
    work.mkdir(parents=True, exist_ok=True)
    tree, doubled, scratch = work / "tree", work / "tree-2x", work / "scratch"
    monorepos = {count: work / f"tree-services-{count}" for count in (SERVICES // 2, SERVICES)}
    try:
        site_packages = (args.site_packages or python_source(args.cache)).resolve()
        js_source = (args.js_source or npm_source(args.cache)).resolve()
        wanted = {
            "format": TREE_FORMAT, "py": args.py_files, "js": args.js_files, "seed": args.seed,
            "site_packages": str(site_packages), "js_source": str(js_source), "npm": NPM_PACKAGES,
            "projects": _digest(PROJECTS), "lock": PY_LOCK.read_text(), "services": SERVICES,
        }
        manifest = work / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text()).get("wanted") == wanted and doubled.is_dir():
            shape = json.loads(manifest.read_text())["shape"]
            log(f"reusing the tree in {tree}")
        else:
            log(f"building the tree in {tree} ...")
            shape = build_tree(tree, site_packages, js_source, args.py_files, args.js_files, args.seed)
            double_tree(tree, doubled)
            for count, folder in monorepos.items():
                copy_tree(tree, folder, link=True)
                (folder / ".gitignore").write_text(TREE_GITIGNORE)
                plant_services(folder, count)
                git_init(folder)
            manifest.write_text(json.dumps({"wanted": wanted, "shape": shape}, indent=2))
        return measure(args, tree, doubled, monorepos, scratch, shape, site_packages, js_source)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compile_package() -> None:
    """Write chatkit_fix's bytecode, as installing a wheel does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise compile every module on every start and time the compiler."""
    import compileall

    import chatkit_fix

    package = Path(chatkit_fix.__file__).resolve().parent
    for folder in (package, (package / "codemods").resolve()):
        compileall.compile_dir(str(folder), quiet=1)


def measure(args, tree: Path, doubled: Path, monorepos: dict[int, Path], scratch: Path, shape: dict,
            site_packages: Path, js_source: Path) -> int:
    python = sys.executable
    compile_package()
    ckf = find_tool("chatkit-fix")
    if args.chatkit_fix:
        ckf_argv = shlex.split(args.chatkit_fix)
    else:
        ckf_argv = [ckf] if ckf else [python, "-m", "chatkit_fix"]
    ruff = find_tool("ruff")
    sg = find_tool("ast-grep", "sg")
    pyupgrade = find_tool("pyupgrade")
    try:
        import libcst  # noqa: F401

        has_libcst = True
    except ImportError:
        has_libcst = False
    scratch.mkdir(parents=True, exist_ok=True)
    apply_tree = scratch / "apply"
    plain, chatkit_file = tree / SINGLE_PLAIN, tree / SINGLE_CHATKIT
    originals = {plain: plain.read_bytes(), chatkit_file: chatkit_file.read_bytes()}

    def restore(*paths: Path):
        """Undo pyupgrade's rewrite in place, times included: the tree stays unchanged for the cached check."""
        times = {path: path.stat() for path in paths}

        def again() -> None:
            for path in paths:
                if path.read_bytes() != originals[path]:
                    path.write_bytes(originals[path])
                    os.utime(path, ns=(times[path].st_atime_ns, times[path].st_mtime_ns))

        return again

    def fresh_copy() -> None:
        copy_tree(tree, apply_tree)
        (apply_tree / ".gitignore").write_text(TREE_GITIGNORE)
        git_init(apply_tree)

    populated = []

    def populate_cache() -> None:
        """The first check of the unchanged tree (untimed) leaves the cache the timed runs replay."""
        if not populated:
            run_once([*ckf_argv, "check", "."], tree)
            populated.append(True)

    def task(key, label, argv, cwd, missing="", **extra) -> Task:
        return Task(key, label, argv if not missing else None, cwd, missing=missing, **extra)

    libcst_rounds = max(0, min(args.libcst_runs, args.runs))
    tasks = {
        t.key: t
        for t in [
            task("check", "`chatkit-fix check --no-cache .` (tree)", [*ckf_argv, "check", "--no-cache", "."], tree),
            task("check_cached", "`chatkit-fix check .` again, the tree unchanged (cache)", [*ckf_argv, "check", "."],
                 tree, before=populate_cache),
            task("check_mono", f"`chatkit-fix check --no-cache .` (tree + {SERVICES} services)",
                 [*ckf_argv, "check", "--no-cache", "."], monorepos[SERVICES]),
            task("check_mono_half", f"`chatkit-fix check --no-cache .` (tree + {SERVICES // 2} services)",
                 [*ckf_argv, "check", "--no-cache", "."], monorepos[SERVICES // 2]),
            task("ruff_mono", f"`ruff check --select E9 --no-cache .` (tree + {SERVICES} services)",
                 [ruff or "", "check", "--select", "E9", "--no-cache", "--exit-zero", "."], monorepos[SERVICES],
                 missing="" if ruff else "ruff not installed"),
            task("ruff", "`ruff check --select E9 --no-cache .` (tree)", [ruff or "", "check", "--select", "E9",
                 "--no-cache", "--exit-zero", "."], tree, missing="" if ruff else "ruff not installed"),
            task("ast_grep", "`ast-grep scan` 1 rule (tree)", [sg or "", "scan", "--rule", str(AST_GREP_RULE), "."],
                 tree, missing="" if sg else "ast-grep not installed"),
            task("libcst", "libcst parse of every .py file, 1 process (tree)",
                 [python, str(PARSE_ALL), "libcst", str(tree)], tree,
                 missing="" if has_libcst and libcst_rounds else "libcst not installed or --libcst-runs 0",
                 rounds=libcst_rounds),
            task("ast", "stdlib `ast.parse` of every .py file, 1 process (tree)",
                 [python, str(PARSE_ALL), "ast", str(tree)],
                 tree, reference=True),
            task("scan", "read every file + 1 regex of all triggers, 1 process (tree)",
                 [python, str(PARSE_ALL), "scan", str(tree), trigger_regex()], tree, reference=True),
            task("check_2x", "`chatkit-fix check --no-cache .` (tree doubled)", [*ckf_argv, "check", "--no-cache", "."],
                 doubled),
            task("apply", "`chatkit-fix apply .` (fresh copy of the tree)", [*ckf_argv, "apply", "."], apply_tree,
                 before=fresh_copy),
            task("check_plain", f"`chatkit-fix check {SINGLE_PLAIN}` (no ChatKit)", [*ckf_argv, "check", SINGLE_PLAIN],
                 tree),
            task("pyupgrade_plain", f"`pyupgrade {SINGLE_PLAIN}` (no ChatKit)", [pyupgrade or "", SINGLE_PLAIN], tree,
                 missing="" if pyupgrade else "pyupgrade not installed", before=restore(plain)),
            task("check_chatkit", f"`chatkit-fix check {SINGLE_CHATKIT}` (ChatKit)",
                 [*ckf_argv, "check", SINGLE_CHATKIT], tree),
            task("pyupgrade_chatkit", f"`pyupgrade {SINGLE_CHATKIT}` (ChatKit)", [pyupgrade or "", SINGLE_CHATKIT],
                 tree, missing="" if pyupgrade else "pyupgrade not installed", before=restore(chatkit_file)),
        ]
    }
    runnable = [t for t in tasks.values() if t.argv is not None]

    print("# chatkit-fix benchmark")
    print()
    print(f"command: python benchmarks/run.py {' '.join(_given_args(args))}".rstrip())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"tools: {tool_version([*ckf_argv, '--version'])}; "
          f"{tool_version([ruff, '--version']) if ruff else 'ruff n/a'}; "
          f"{tool_version([sg, '--version']) if sg else 'ast-grep n/a'}; "
          f"pyupgrade {_dist_version('pyupgrade') if pyupgrade else 'n/a'}; libcst {_dist_version('libcst')}")
    import chatkit_fix
    from chatkit_fix.rules import load_rules

    print("peak RSS: " + ("GNU time's %M (the largest single process of each command)" if GNU_TIME else
          "wait4 of the child (no /usr/bin/time: an upper bound, it includes this script's own RSS at fork)"))
    print(f"chatkit-fix: `{' '.join(ckf_argv)}`, package {Path(chatkit_fix.__file__).parent}, "
          f"{len(load_rules())} rules")
    print(f"tree: {shape['py']} .py files (from {shape['py_pool']} in {site_packages}), {shape['js']} JS/TS files "
          f"(from {shape['js_pool']} in {js_source}), {shape['other']} other files, "
          f"{shape['bytes'] / MiB:.0f} MiB; ChatKit projects planted under apps/: "
          f"{', '.join(sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))}")
    sys.stdout.flush()

    # What each tool finds (one untimed run; also the warm-up: page cache, .pyc files).
    fresh_copy()
    seen = _findings_summary(ckf_argv, tree, ruff, sg)
    for line in seen:
        print(line)
    for name, folder in [("tree", tree), *((f"tree + {count} services", path) for count, path in monorepos.items())]:
        print(f"application code in the {name}: {_application_files(ckf_argv, folder)}")
    print()
    sys.stdout.flush()
    if not args.no_warmup:
        log("warm-up round (untimed) ...")
        for t in runnable:
            if t.key in ("libcst", "ast"):
                continue
            if t.before:
                t.before()
            run_once(t.argv, t.cwd)

    rng = random.Random(args.seed)
    for round_ in range(args.runs):
        order = [t for t in runnable if t.rounds is None or round_ < t.rounds]
        rng.shuffle(order)
        for t in order:
            if t.before:
                t.before()
            s = run_once(t.argv, t.cwd)
            t.samples.append(s)
            log(f"round {round_ + 1}/{args.runs}: {t.key:<18} {s.seconds:8.3f} s  {s.rss_kib / 1024:6.0f} MiB  "
                f"exit {s.code}")

    tree_sums: dict[str, float | None] = {}
    for key in ("check", "apply"):
        t = tasks[key]
        if t.before:
            t.before()
        tree_sums[key] = tree_rss_peak(t.argv, t.cwd)
    for path, data in originals.items():
        path.write_bytes(data)

    print(report(tasks, tree_sums))
    return 0


def _findings_summary(ckf_argv: list[str], tree: Path, ruff: str | None, sg: str | None) -> list[str]:
    lines = []
    out = subprocess.run([*ckf_argv, "check", "--format", "json", "."], cwd=tree, capture_output=True, text=True,
                         env=child_env())
    try:
        document = json.loads(out.stdout)
        findings = document if isinstance(document, list) else document.get("findings", [])
        errors = [] if isinstance(document, list) else document.get("errors", [])
        codes: dict[str, int] = {}
        for finding in findings:
            codes[finding.get("code", "?")] = codes.get(finding.get("code", "?"), 0) + 1
        places = sorted({_place(str(f.get("path", "?"))) for f in findings})
        lines.append(f"chatkit-fix check finds {len(findings)} findings "
                     f"({', '.join(f'{c} x{n}' for c, n in sorted(codes.items())) or 'none'}) in "
                     f"{', '.join(places) or '-'}; {len(errors)} file errors; exit {out.returncode}")
    except (ValueError, AttributeError, IndexError):
        lines.append(f"chatkit-fix check: exit {out.returncode}, output not JSON: {out.stdout[:200]!r} "
                     f"{out.stderr[:200]!r}")
    if ruff:
        out = subprocess.run([ruff, "check", "--select", "E9", "--no-cache", "--exit-zero", "--output-format",
                              "concise", "."], cwd=tree, capture_output=True, text=True)
        count = sum(1 for line in out.stdout.splitlines() if re.match(r"^\S+:\d+:\d+: ", line))
        lines.append(f"ruff E9 finds {count} syntax errors")
    if sg:
        out = subprocess.run([sg, "scan", "--rule", str(AST_GREP_RULE), "--json=stream", "."], cwd=tree,
                             capture_output=True, text=True)
        lines.append(f"ast-grep finds {sum(1 for line in out.stdout.splitlines() if line.strip())} matches")
    return lines


def _application_files(ckf_argv: list[str], folder: Path) -> str:
    """What `check -v` says of the tree's Python files: how many are application code."""
    out = subprocess.run([*ckf_argv, "check", "-v", "--no-cache", "--exit-zero", "-q", "."], cwd=folder,
                         capture_output=True, text=True, env=child_env())
    found = re.search(r"python: (\d+ of \d+) files", out.stderr)
    return f"{found.group(1)} .py files" if found else "n/a"


def _dist_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "n/a"


def _place(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] == "apps" else parts[0] + "/..."


def _given_args(args) -> list[str]:
    given = []
    defaults = parse_args([])
    for name in ("runs", "libcst_runs", "py_files", "js_files", "seed"):
        value = getattr(args, name)
        if value != getattr(defaults, name):
            given.append(f"--{name.replace('_', '-')} {value}")
    if args.chatkit_fix:
        given.append(f"--chatkit-fix {shlex.quote(args.chatkit_fix)}")
    return given


if __name__ == "__main__":
    sys.exit(main())
