"""Mutation testing with cosmic-ray: the share of mutants of each rule module (and, on request, of the engine) that the
tests kill. A survivor is a change to the rule's code that no test notices.

    python benchmarks/mutation.py                        # every rule module, one at a time
    python benchmarks/mutation.py CK104 CK302 --jobs 2   # some rules, two modules at a time
    python benchmarks/mutation.py --keep /tmp/mutation   # keep the sessions; survivors.txt lists each survivor's diff
    python benchmarks/mutation.py --named                # only the hand-written mutants of issue 22
    python benchmarks/mutation.py --engine               # chatkit_fix/engine.py against every case (slow)

Not part of the test suite: it runs the tests once per mutant. `pip install -e ".[bench]"` installs cosmic-ray.

How it stays practical on two shared cores:
- each job mutates a scratch copy of the repository (the checkout is never touched) and cosmic-ray runs, per mutant,
  `python benchmarks/mutation.py --test CKnnn` in that copy: the rule's own cases through chatkit_fix.testing (the
  harness of tests/test_rule_cases.py, in one process, stopping at the first failure), then, only if they all pass,
  the rule's dedicated tests: the tests whose name holds the code (`-k ck104`) in DEDICATED;
- mutants that cannot change what the rule does are marked skipped and not counted: those in module-level code the
  rule cannot run (the statements no decorated check, nor `RULE = rule(...)`, reaches through the names it uses: the
  cases and the helpers and constants that build them; changing test data fails a test trivially),
  inside type annotations (never evaluated: every rule module has `from __future__ import annotations`), `==`
  turned into `is` and back (the rules compare interned names, strings and singletons) and on lines marked
  `# pragma: no mutate`.

The score of a module is killed / (killed + survived); a timeout counts as killed, an error in the mutation
machinery (an incompetent mutant) counts as neither. The named mutants are issue 22's ten survivors, each a textual
change to one rule module; each must be killed.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("chatkit_fix", "codemods", "templates", "tests", "benchmarks", "pyproject.toml")
DEDICATED = ("tests/test_rule_behaviour.py",)
TIMEOUT = 120.0
PRAGMA = re.compile(r"#.*pragma:.*no mutate")
# `==` for `is` and back: the rules compare interned names, strings and singletons, where the two agree
EQUIVALENT = {"ReplaceComparisonOperator_Eq_Is", "ReplaceComparisonOperator_Is_Eq",
              "ReplaceComparisonOperator_NotEq_IsNot", "ReplaceComparisonOperator_IsNot_NotEq"}


# ---- the test command cosmic-ray runs per mutant ----------------------------------------------------------------------


def run_tests(code: str) -> int:
    """Exit status of the rule's cases, then of its dedicated tests: 0 when everything passes (the mutant survives)."""
    sys.path.insert(0, str(ROOT))
    from chatkit_fix import rules
    from chatkit_fix.testing import run_case

    assert Path(rules.__file__).resolve().is_relative_to(ROOT), "the tests must import the mutated copy"
    registered = rules.load_rules()
    if code != "ALL" and code not in registered:
        print(f"{code} is no longer registered")
        return 1
    for rule in registered.values() if code == "ALL" else [registered[code]]:
        for case in [*rule.valid, *rule.invalid]:
            with tempfile.TemporaryDirectory() as folder:
                try:
                    run_case(rule, case, Path(folder))
                except BaseException as error:  # an assertion, or whatever the mutant raises
                    print(f"{rule.code} case {case.name!r}: {type(error).__name__}: {str(error)[:300]}")
                    return 1
    if code == "ALL":
        return 0
    dedicated = [str(ROOT / name) for name in DEDICATED
                 if (ROOT / name).exists() and code.lower() in (ROOT / name).read_text().lower()]
    if not dedicated:
        return 0
    import pytest

    status = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", "-k", code.lower(), *dedicated])
    return 0 if status in (0, pytest.ExitCode.NO_TESTS_COLLECTED) else 1


# ---- sessions ---------------------------------------------------------------------------------------------------------


@dataclass
class Score:
    target: str
    killed: int = 0
    survived: int = 0
    skipped: int = 0
    incompetent: int = 0
    seconds: float = 0.0
    survivors: tuple[str, ...] = ()
    error: str = ""

    @property
    def share(self) -> float:
        counted = self.killed + self.survived
        return self.killed / counted if counted else 1.0


def scratch_copy(into: Path, source: Path = ROOT) -> Path:
    """The repository's code and tests in `into`, symlinks (chatkit_fix/codemods) kept as they are."""
    into.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".cache", "node_modules", "mutation-*")
    for name in COPIED:
        if (source / name).is_dir():
            shutil.copytree(source / name, into / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source / name, into / name)
    return into


def not_counted(module: Path) -> list[tuple[int, int, int, int]]:
    """(start line, start col, end line, end col) of the regions whose mutants are skipped: type annotations, and the
    module-level statements the rule cannot run: those no decorated check (and not `RULE = rule(...)`) reaches
    through the names it uses, which are the cases and the helpers and constants that build them."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    regions = []
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
            annotations = [a.annotation for a in every if a is not None and a.annotation is not None]
            annotations += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        regions += [(a.lineno, a.col_offset, a.end_lineno, a.end_col_offset) for a in annotations]
    defined: dict[str, int] = {}
    for index, statement in enumerate(tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[statement.name] = index
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defined[name.id] = index
    reached = {i for i, statement in enumerate(tree.body)
               if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.decorator_list
               or defined.get("RULE") == i}
    pending = list(reached)
    while pending:
        for node in ast.walk(tree.body[pending.pop()]):
            index = defined.get(node.id) if isinstance(node, ast.Name) else None
            if index is not None and index not in reached:
                reached.add(index)
                pending.append(index)
    for index, statement in enumerate(tree.body):
        if index not in reached and not isinstance(statement, (ast.Import, ast.ImportFrom)):
            regions.append((statement.lineno, 0, statement.end_lineno, 10**6))
    return regions


def _inside(position: tuple[int, int], region: tuple[int, int, int, int]) -> bool:
    return (region[0], region[1]) <= tuple(position) <= (region[2], region[3])


def mutate(target: str, module: Path, test_command: str, work: Path, base: Path) -> Score:
    """One cosmic-ray session over `module` in a fresh copy (of `base`, the repository as the run started) under
    `work`."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    started = time.monotonic()
    copy = scratch_copy(work / "repo", base)
    relative = module.relative_to(ROOT)
    config = work / "cosmic-ray.toml"
    config.write_text(f'[cosmic-ray]\nmodule-path = "{relative}"\ntimeout = {TIMEOUT}\nexcluded-modules = []\n'
                      f'test-command = "{test_command}"\n\n[cosmic-ray.distributor]\nname = "local"\n')
    session = work / "session.sqlite"
    env = {**os.environ, "PYTHONPATH": str(copy)}
    baseline = subprocess.run(test_command.split(), cwd=copy, env=env, capture_output=True, text=True, check=False)
    if baseline.returncode != 0:  # also compiles the copy's byte code once (cosmic-ray forbids writing it)
        return Score(target, error=f"the tests fail without a mutant: {(baseline.stdout + baseline.stderr)[-500:]}")
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cosmic, "init", str(config), str(session)], cwd=copy, env=env, check=True, capture_output=True)
    lines = (copy / relative).read_text(encoding="utf-8").splitlines()
    regions = not_counted(copy / relative)
    with use_db(str(session), WorkDB.Mode.open) as db:
        skip = [item.job_id for item in db.work_items for mutation in item.mutations
                if any(_inside(mutation.start_pos, region) for region in regions)
                or PRAGMA.search(lines[mutation.start_pos[0] - 1])
                or mutation.operator_name.rsplit("/", 1)[-1] in EQUIVALENT]
        if skip:
            db.set_multiple_results(skip, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=copy, env=env, check=True, capture_output=True)
    score = Score(target, seconds=time.monotonic() - started)
    survivors = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                score.skipped += 1
            elif result.worker_outcome != WorkerOutcome.NORMAL:
                score.incompetent += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                score.survived += 1
                mutation = item.mutations[0]
                survivors.append(f"{relative}:{mutation.start_pos[0]} {mutation.operator_name}\n{result.diff}")
            elif result.test_outcome == TestOutcome.KILLED:
                score.killed += 1
            else:
                score.incompetent += 1
    score.survivors = tuple(survivors)
    (work / "survivors.txt").write_text("\n\n".join(survivors))
    return score


def rule_modules(codes: list[str]) -> dict[str, Path]:
    found = {path.name[:5].upper(): path for path in sorted((ROOT / "codemods").glob("ck[0-9][0-9][0-9]_*.py"))}
    unknown = [code for code in codes if code.upper() not in found]
    if unknown:
        raise SystemExit(f"no rule module for {', '.join(unknown)}; the codes are {', '.join(found)}")
    return {code: path for code, path in found.items() if not codes or code in {c.upper() for c in codes}}


# ---- the named mutants of issue 22 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    """A hand-written mutant: `old` (which must stand exactly once in the module) becomes `new`."""

    code: str
    what: str
    old: str
    new: str


NAMED = (
    Named("CK104", "no longer detects a fetch without ...init",
          "            if not spreads_init:\n                note(header_object, DROPS_INIT)",
          "            if False:\n                note(header_object, DROPS_INIT)"),
    Named("CK202", "user and assistant content targets swapped",
          'right = "input_text" if model == "UserMessageTextContent" else "output_text"',
          'right = "output_text" if model == "UserMessageTextContent" else "input_text"'),
    Named("CK302", "drops its @staticmethod/@property guard",
          "if method is None or any(st._base_name(d) in SKIPPED_DECORATORS for d in function.decorator_list):",
          "if method is None:"),
    Named("CK302", "puts the finding on the class line",
          "    return ctx.finding(\n        ctx.header_span(function),",
          "    return ctx.finding(\n        ctx.header_span(store.node),"),
    Named("CK403", 'rewrites a getattr default to "" (the 401 guard never fires)',
          'return ctx.replace(node.args[2], "None"), key', """return ctx.replace(node.args[2], '""'), key"""),
    Named("CK405", "its unsafe fix applied without --unsafe-fixes",
          "    safety=Safety.UNSAFE,", "    safety=Safety.SAFE,"),
    Named("CK502", "misses setdefault/append storage",
          '"setdefault", "append", "__setitem__",', '"__setitem__",'),
    Named("CK901", "misses two workers (workers > 2)",
          "and value > 1:", "and value > 2:"),
    Named("CK901", "adds factory=True a second time",
          'if factory and keyword(call, "factory") is None:', "if factory:"),
    Named("CK901", "misses a non-literal reload=DEBUG",
          "if value is NOT_LITERAL or value:", "if value is not NOT_LITERAL and value:"),
)


def run_named(work: Path) -> list[tuple[Named, str]]:
    """Each named mutant applied to a fresh copy and tested like a cosmic-ray mutant: (mutant, outcome)."""
    outcomes = []
    copy = scratch_copy(work / "named")
    modules = rule_modules([])
    for mutant in NAMED:
        path = copy / modules[mutant.code].relative_to(ROOT)
        original = path.read_text(encoding="utf-8")
        if original.count(mutant.old) != 1:
            outcomes.append((mutant, f"not applied: {mutant.old!r} stands {original.count(mutant.old)} times"))
            continue
        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
        try:
            done = subprocess.run([sys.executable, "benchmarks/mutation.py", "--test", mutant.code], cwd=copy,
                                  env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True,
                                  timeout=TIMEOUT, check=False)
            why = next((line for line in done.stdout.splitlines() if line.startswith(mutant.code)), "")
            outcomes.append((mutant, f"killed ({why[:160]})" if done.returncode else "SURVIVED"))
        except subprocess.TimeoutExpired:
            outcomes.append((mutant, "killed (timeout)"))
        finally:
            path.write_text(original, encoding="utf-8")
    return outcomes


# ---- report -----------------------------------------------------------------------------------------------------------


def report(scores: list[Score], target: float) -> None:
    print(f"\n{'module':8} {'mutants':>8} {'killed':>7} {'survived':>9} {'skipped':>8} {'score':>7}  {'time':>6}")
    for score in scores:
        if score.error:
            print(f"{score.target:8} error: {score.error}")
            continue
        verdict = "PASS" if score.share >= target else "MISS"
        total = score.killed + score.survived
        print(f"{score.target:8} {total:8} {score.killed:7} {score.survived:9} {score.skipped:8} {score.share:7.1%}  "
              f"{score.seconds:5.0f}s {verdict}")
    killed = sum(s.killed for s in scores)
    counted = killed + sum(s.survived for s in scores)
    if counted:
        print(f"{'all':8} {counted:8} {killed:7} {counted - killed:9} {sum(s.skipped for s in scores):8} "
              f"{killed / counted:7.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("codes", nargs="*", help="rule codes (default: every rule module)")
    parser.add_argument("--jobs", type=int, default=1, help="modules mutated at once (default 1)")
    parser.add_argument("--keep", type=Path, help="keep the copies, sessions and survivors here")
    parser.add_argument("--named", action="store_true", help="only the named mutants of issue 22")
    parser.add_argument("--engine", action="store_true", help="mutate chatkit_fix/engine.py against every case")
    parser.add_argument("--target", type=float, default=0.85, help="the share of killed mutants to reach")
    parser.add_argument("--test", metavar="CODE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.test:
        return run_tests(args.test.upper())
    work = args.keep or Path(tempfile.mkdtemp(prefix="mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.named:
            outcomes = run_named(work)
            for mutant, outcome in outcomes:
                print(f"{mutant.code} {mutant.what}: {outcome}")
            return 0 if all(outcome.startswith("killed") for _, outcome in outcomes) else 1
        if args.engine:
            targets = {"engine": (ROOT / "chatkit_fix" / "engine.py", f"{sys.executable} benchmarks/mutation.py --test ALL")}
        else:
            # smallest modules first: an interrupted run has scored as many modules as it could
            modules = sorted(rule_modules(args.codes).items(), key=lambda item: item[1].stat().st_size)
            targets = {code: (path, f"{sys.executable} benchmarks/mutation.py --test {code}") for code, path in modules}
        scores = []
        base = scratch_copy(work / "base")  # later edits to the checkout do not reach a run under way
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(mutate, target, path, command, work / target, base): target
                       for target, (path, command) in targets.items()}
            for future in concurrent.futures.as_completed(futures):
                score = future.result()
                scores.append(score)
                share = "error" if score.error else f"{score.share:.1%}"
                print(f"{score.target}: {score.killed} killed, {score.survived} survived ({share}) in {score.seconds:.0f}s",
                      flush=True)
        scores.sort(key=lambda s: s.target)
        report(scores, args.target)
        if args.keep:
            (work / "survivors.txt").write_text("\n\n".join(s for score in scores for s in score.survivors))
            print(f"\nsurvivors: {work / 'survivors.txt'}")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
