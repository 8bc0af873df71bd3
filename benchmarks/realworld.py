"""Score chatkit-fix on real public ChatKit projects against hand-made labels: recall, false positives, crashes and
apply problems, per code and per repository.

    python benchmarks/realworld.py SNAPSHOTS                 # every labelled repository found under SNAPSHOTS
    python benchmarks/realworld.py SNAPSHOTS --repo orcheo   # repositories whose name contains "orcheo"
    python benchmarks/realworld.py SNAPSHOTS --no-apply      # findings only (apply is the slow half)

SNAPSHOTS holds one folder per repository, named `owner+name` (or `owner/name`), each a plain tree of the repository
at the commit its labels name (`git archive <commit>` of a clone, or a snapshot tool's export). A repository with no
folder there is listed as missing and skipped; the run still exits 0. This is a benchmark, not a test: it prints
figures and asserts nothing.

Labels (`benchmarks/realworld/labels.tsv`, tab-separated, no header: repo, commit, path, line, code, why):
- `CK307`: the tool must report CK307 at that anchor (rules.md "Anchors"; a finding within 2 lines matches; for the
  codes reported once per function, see PER_FUNCTION, a finding on the enclosing def matches every label inside it);
- `NOT CK403`: a place that looks like CK403 but is not a bug; a finding there is a false positive;
- `NONE` with path `.` (or a folder) and line 0: no finding at all under that path.
A labelled repository is labelled completely: any finding that matches no positive label counts as a false positive
("unlabelled" when it is on no NOT/NONE row either).

apply, per repository, on a copy: `apply --unsafe-fixes` must exit without errors from fixes (no fix dropped for
breaking a file, every fix converging), every Python file it changed must compile and gain no undefined name
(pyflakes, compared with the file before), and a second `apply --unsafe-fixes` must change nothing. It also prints
the fixes applied per code and, under -v, each fix a rule could not build (that finding stays report-only).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "realworld" / "labels.tsv"
TOLERANCE = 2  # lines between a label's anchor and a finding's
PER_FUNCTION = {"CK307"}  # one finding per method (naming its blocking calls) covers the labels inside it
FIX_ERRORS = ("would not parse", "did not converge", "fix dropped", "internal error")


@dataclass
class Label:
    repo: str
    commit: str
    path: str
    line: int
    code: str  # CKnnn, "NOT CKnnn" or "NONE"
    why: str

    @property
    def negative(self) -> bool:
        return self.code.startswith("NOT ") or self.code == "NONE"

    @property
    def target(self) -> str:
        return self.code.removeprefix("NOT ")


@dataclass
class Outcome:
    repo: str
    missing: bool = False
    crashed: str = ""
    matched: list[Label] = field(default_factory=list)
    missed: list[Label] = field(default_factory=list)
    false_positives: list[tuple[dict, str]] = field(default_factory=list)  # (finding, why it is wrong)
    apply_problems: list[str] = field(default_factory=list)
    findings: int = 0
    applied: Counter = field(default_factory=Counter)  # fixes the first apply made, per code
    unbuilt: list[str] = field(default_factory=list)  # fixes a rule could not build: those findings stay report-only


def read_labels(path: Path) -> dict[str, list[Label]]:
    labels: dict[str, list[Label]] = defaultdict(list)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 6 or not parts[3].isdigit():
            raise SystemExit(f"{path}:{number}: expected 6 tab-separated columns with a numeric line")
        repo, commit, file, line, code, why = parts
        labels[repo].append(Label(repo, commit, file, int(line), code, why))
    return labels


def snapshot_of(root: Path, repo: str) -> Path | None:
    for candidate in (root / repo.replace("/", "+"), root / repo):
        if candidate.is_dir():
            return candidate
    return None


def run_tool(args: list[str], cwd: Path) -> tuple[int, dict | None, str]:
    command = [sys.executable, "-m", "chatkit_fix", *args, "--format", "json", "--exit-zero"]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))  # score this checkout, whatever is installed
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        report = None
    return completed.returncode, report, completed.stderr


def enclosing_function(tree: ast.AST | None, line: int) -> tuple[int, int] | None:
    """(first, last) line of the innermost def holding `line`."""
    best = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (node.end_lineno or 0):
            if best is None or node.lineno >= best[0]:
                best = (node.lineno, node.end_lineno or node.lineno)
    return best


class Trees:
    """Parsed snapshot files, for the per-function matching."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    def get(self, relative: str) -> ast.AST | None:
        if relative not in self.cache:
            try:
                self.cache[relative] = ast.parse((self.root / relative).read_bytes())
            except (OSError, SyntaxError, ValueError):
                self.cache[relative] = None
        return self.cache[relative]


def matches(label: Label, finding: dict, trees: Trees) -> bool:
    if finding["path"] != label.path or finding["code"] != label.target:
        return False
    if abs(finding["line"] - label.line) <= TOLERANCE:
        return True
    if label.target in PER_FUNCTION and not label.negative:
        span = enclosing_function(trees.get(label.path), label.line)
        return span is not None and span[0] <= finding["line"] <= span[1]
    return False


def under(path: str, folder: str) -> bool:
    return folder in (".", "") or path == folder or path.startswith(folder.rstrip("/") + "/")


def score(repo: str, labels: list[Label], root: Path, apply: bool) -> Outcome:
    outcome = Outcome(repo)
    snapshot = snapshot_of(root, repo)
    if snapshot is None:
        outcome.missing = True
        return outcome
    status, report, stderr = run_tool(["check", "."], snapshot)
    if report is None or status not in (0, 1, 2):
        outcome.crashed = f"exit {status}: {stderr.strip().splitlines()[-1] if stderr.strip() else 'no report'}"
        return outcome
    internal = [e for e in report["errors"] if "internal error" in e["message"]]
    if internal:
        outcome.crashed = f"{internal[0]['path']}: {internal[0]['message']}"
    findings = report["findings"]
    outcome.findings = len(findings)
    trees = Trees(snapshot)
    positives = [label for label in labels if not label.negative]
    used: set[int] = set()
    for label in positives:
        hits = [i for i, finding in enumerate(findings) if matches(label, finding, trees)]
        (outcome.matched if hits else outcome.missed).append(label)
        used.update(hits)
    for index, finding in enumerate(findings):
        if index in used:
            continue
        why = "unlabelled"
        for label in labels:
            if label.code == "NONE" and under(finding["path"], label.path):
                why = f"NONE {label.path}"
                break
            if label.code.startswith("NOT ") and matches(label, finding, trees):
                why = f"NOT: {label.why}"
                break
        outcome.false_positives.append((finding, why))
    if apply:
        prove_apply(snapshot, outcome)
    return outcome


def prove_apply(snapshot: Path, outcome: Outcome) -> None:
    """Apply every fix on a copy; record what was applied, what could not be built, and every problem."""
    with tempfile.TemporaryDirectory(prefix="ckf-realworld-") as scratch:
        copy = Path(scratch) / "repo"
        shutil.copytree(snapshot, copy, symlinks=True)
        status, report, stderr = run_tool(["apply", "--unsafe-fixes", "--verbose", "."], copy)
        if report is None:
            outcome.apply_problems.append(f"apply: exit {status}: {stderr.strip()[-300:]}")
            return
        outcome.applied.update(f["code"] for f in report.get("applied", []))
        outcome.unbuilt += [line.removeprefix("chatkit-fix: note: ") for line in stderr.splitlines()
                            if "could not be built" in line]
        outcome.apply_problems += _apply_proof(snapshot, copy, report)


def _apply_proof(snapshot: Path, copy: Path, report: dict) -> list[str]:
    """No fix dropped or left unconverged, every changed Python file compiles with no new undefined name, and a
    second apply changes nothing."""
    problems = [f"apply: {e['path']}:{e['line']}: {e['message']}" for e in report["errors"]
                if any(marker in e["message"] for marker in FIX_ERRORS)]
    for fixed in report.get("fixed", []):
        path = fixed["path"] if isinstance(fixed, str) else fixed.get("path", "")
        if path.endswith(".py"):
            problems += python_proof(snapshot / path, copy / path, path)
    _, again, _ = run_tool(["apply", "--unsafe-fixes", "."], copy)
    if again is not None and again.get("fixed"):
        names = [f if isinstance(f, str) else f.get("path") for f in again["fixed"]]
        problems.append(f"second apply changed {', '.join(names)}")
    return problems


def python_proof(before: Path, after: Path, shown: str) -> list[str]:
    """The fixed file compiles and has no undefined name the original did not have (pyflakes)."""
    text = after.read_bytes()
    try:
        compile(text, shown, "exec")
    except (SyntaxError, ValueError) as exc:
        return [f"{shown}: no longer compiles: {exc}"]
    new = undefined_names(text) - undefined_names(before.read_bytes())
    return [f"{shown}: the fix leaves {', '.join(sorted(new))} undefined"] if new else []


def undefined_names(source: bytes) -> set[str]:
    try:
        from pyflakes import checker, messages
    except ImportError:
        return set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found = checker.Checker(tree)
    return {m.message_args[0] for m in found.messages if isinstance(m, messages.UndefinedName)}


def report(outcomes: list[Outcome], verbose: bool) -> None:
    per_code: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        for label in outcome.matched:
            per_code[label.code]["found"] += 1
        for label in outcome.missed:
            per_code[label.code]["missed"] += 1
        for finding, _ in outcome.false_positives:
            per_code[finding["code"]]["false"] += 1
    print("per repository")
    print(f"  {'repository':52} {'labels':>6} {'found':>6} {'recall':>7} {'false+':>6} {'apply':>5}  notes")
    for outcome in outcomes:
        if outcome.missing:
            print(f"  {outcome.repo:52} {'':>6} {'':>6} {'':>7} {'':>6} {'':>5}  missing snapshot")
            continue
        total = len(outcome.matched) + len(outcome.missed)
        recall = f"{100 * len(outcome.matched) / total:.0f}%" if total else "-"
        notes = f"CRASH {outcome.crashed}" if outcome.crashed else ""
        print(f"  {outcome.repo:52} {total:>6} {len(outcome.matched):>6} {recall:>7} "
              f"{len(outcome.false_positives):>6} {len(outcome.apply_problems):>5}  {notes}")
    print("\nper code")
    print(f"  {'code':6} {'labels':>6} {'found':>6} {'recall':>7} {'false+':>6}")
    for code in sorted(per_code):
        counts = per_code[code]
        total = counts["found"] + counts["missed"]
        recall = f"{100 * counts['found'] / total:.0f}%" if total else "-"
        print(f"  {code:6} {total:>6} {counts['found']:>6} {recall:>7} {counts['false']:>6}")
    scored = [o for o in outcomes if not o.missing]
    found = sum(len(o.matched) for o in scored)
    total = found + sum(len(o.missed) for o in scored)
    false = sum(len(o.false_positives) for o in scored)
    on_negative = sum(1 for o in scored for _, why in o.false_positives if why != "unlabelled")
    crashes = sum(1 for o in scored if o.crashed)
    problems = sum(len(o.apply_problems) for o in scored)
    applied = sum((o.applied for o in scored), Counter())
    unbuilt = sum(len(o.unbuilt) for o in scored)
    missing = len(outcomes) - len(scored)
    print(f"\nrecall {found}/{total} = {100 * found / total if total else 0:.1f}%  false positives {false} "
          f"({on_negative} on NOT/NONE rows)  crashes {crashes}  apply problems {problems}  "
          f"repositories {len(scored)} scored, {missing} missing")
    if applied or unbuilt:
        codes = ", ".join(f"{code} {count}" for code, count in sorted(applied.items()))
        print(f"fixes applied {sum(applied.values())} ({codes}); not built {unbuilt}")
    if verbose:
        for outcome in scored:
            for label in outcome.missed:
                print(f"MISS  {outcome.repo} {label.path}:{label.line} {label.code}  {label.why}")
            for finding, why in outcome.false_positives:
                print(f"FALSE {outcome.repo} {finding['path']}:{finding['line']} {finding['code']} [{why}]  "
                      f"{finding['message'][:140]}")
            for problem in outcome.apply_problems:
                print(f"APPLY {outcome.repo} {problem}")
            for note in outcome.unbuilt:
                print(f"UNBUILT {outcome.repo} {note}")
            if outcome.crashed:
                print(f"CRASH {outcome.repo} {outcome.crashed}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshots", type=Path, help="folder holding one plain tree per repository (owner+name)")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--repo", action="append", default=[], help="only repositories whose name contains this")
    parser.add_argument("--no-apply", action="store_true", help="score findings only")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss, false positive and problem")
    parser.add_argument("--json", type=Path, help="also write the outcomes as JSON")
    options = parser.parse_args()
    labels = read_labels(options.labels)
    repos = [r for r in sorted(labels) if not options.repo or any(part in r for part in options.repo)]
    outcomes = []
    for repo in repos:
        outcome = score(repo, labels[repo], options.snapshots, not options.no_apply)
        outcomes.append(outcome)
        state = "missing" if outcome.missing else f"{len(outcome.matched)} found, {len(outcome.missed)} missed, " \
            f"{len(outcome.false_positives)} false"
        print(f"[{len(outcomes)}/{len(repos)}] {repo}: {state}", file=sys.stderr)
    report(outcomes, options.verbose)
    if options.json:
        options.json.write_text(json.dumps([
            {"repo": o.repo, "missing": o.missing, "crashed": o.crashed,
             "matched": [vars(label) for label in o.matched], "missed": [vars(label) for label in o.missed],
             "false_positives": [{"finding": f, "why": w} for f, w in o.false_positives],
             "apply_problems": o.apply_problems, "applied": dict(o.applied), "unbuilt": o.unbuilt}
            for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
