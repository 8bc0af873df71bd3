"""The one engine: run rules over a project, and apply their fixes to a fixpoint without ever losing a byte.

check:  targets -> byte prefilter -> one parse per file shared by its rules -> findings -> suppressions.
apply:  the same, then each file's fixes merged, applied in memory with the imports they need, proven (it parses,
        compiles, and leaves no name undefined: Baseline), the rules run again on the changed files, at most
        MAX_PASSES times; only then are files written, atomically.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

from .context import ProjectContext, context_for, is_suppressed, suppressions
from .edits import StaleFileError, apply_edits, atomic_write, select_compatible
from .findings import Edit, FileError, Finding, Fix, FixedFile, ImportChange, RunResult, Safety
from .project import Project
from .rules import Rule
from .sources import LANGUAGES, SourceError, SourceFile, language_of

MAX_PASSES = 10
PARALLEL_MIN_FILES = 48  # below this a process pool costs more than it saves


class Engine:
    def __init__(self, project: Project, rules: dict[str, Rule], enabled: set[str], jobs: int = 1,
                 progress: Callable[[int, int], None] | None = None, build_fixes: bool = False):
        self.project = project
        # whether lazy fixes are built as their findings are made (apply, and output that shows edits); else a plain
        # check only says a fix is offered, and never pays for building it
        self.build_fixes = build_fixes
        self.rules = [rules[code] for code in sorted(enabled) if code in rules]
        self.jobs = max(1, jobs)
        self.progress = progress  # called as progress(files done, files in the run) during check
        self._pctx: ProjectContext | None = None  # kept across fix passes: only changed files are parsed again
        self._ignore_specs = _per_file_ignore_specs(project.settings.per_file_ignores)
        self._by_language: dict[str, list[Rule]] = {}
        project.jobs = self.jobs
        for language in LANGUAGES:
            project.watch_also(language, [
                trigger for rule in self._file_rules(language)
                for trigger in rule.language_triggers.get(language, rule.triggers)
            ])
        project.scope.also_about(tuple(trigger for rule in self.rules for trigger in rule.anywhere))

    # ---- selection ------------------------------------------------------------------------------------------------

    def _file_rules(self, language: str) -> list[Rule]:
        """Rules with per-file checks on files of `language` (an `accepts` rule then decides per path)."""
        if language not in self._by_language:
            self._by_language[language] = [
                rule for rule in self.rules
                if rule.file_checks and language in rule.languages
            ]
        return self._by_language[language]

    def rules_for(self, path: Path, by_bytes: bool = True) -> list[Rule]:
        """The rules for this file: its language, per-file-ignores and, `by_bytes`, their triggers in its bytes
        (the file's note: read only once some rule passes the other tests)."""
        language = language_of(path)
        relative = self.project.relative(path) if self._ignore_specs else ""
        memo = None
        chosen = []
        for rule in self._file_rules(language):
            if rule.accepts is not None and not rule.accepts(path):
                continue
            if any(rule.code.startswith(prefix) for spec, prefix in self._ignore_specs if spec.match_file(relative)):
                continue
            if by_bytes:
                if memo is None:
                    memo = self.project.note(path)
                if not rule.triggered_by(memo, language):
                    continue
            chosen.append(rule)
        return chosen

    def _candidate_rules(self, path: Path) -> list[Rule]:
        """The rules that must see this file: it is in scope (scope.py) and holds their triggers.

        A run over folders has read every file it asks about in one sweep (`_look_ahead`); a run on named files
        asks the file's own bytes first and lists the project only when a rule might concern the file.
        """
        project = self.project
        if not self._file_rules(language_of(path)):
            return []
        if not project.named_files_only and not project.scope.in_scope(path):
            return []
        rules = self.rules_for(path)
        if rules and project.named_files_only and not project.scope.in_scope(path):
            return []
        return rules

    def _look_ahead(self) -> None:
        """Read, in one sweep over the cores, every file a run over folders asks about before parsing: each Python
        file for the scope's survey, each other target that some rule wants for its note."""
        project = self.project
        python = []
        if any("python" in rule.languages for rule in self.rules):
            python = project.scope.unsurveyed(project.all_files_of("python"))
        others = [
            path for path in project.targets if language_of(path) != "python" and self.rules_for(path, by_bytes=False)
        ]
        project.look_at(python + others)

    # ---- check ----------------------------------------------------------------------------------------------------

    def check(self) -> RunResult:
        result = RunResult()
        candidates: list[tuple[Path, list[Rule]]] = []
        tick = _Ticker(self.progress, len(self.project.targets))
        if not self.project.named_files_only:
            self._look_ahead()
        python_rules = any("python" in rule.languages for rule in self.rules)
        for path in self.project.targets:
            problem = self.project.scope.text_problem(path) if python_rules and language_of(path) == "python" else None
            if problem is not None:  # a .py file no rule would read is still reported when it is not text
                result.errors.append(FileError(path, *problem))
                tick()
                continue
            rules = self._candidate_rules(path)
            if rules:
                candidates.append((path, rules))
            else:
                tick()  # a file the prefilter rules out is done
        result.files_checked = len(self.project.targets)
        per_file = self._check_files(candidates, tick)
        sources: dict[Path, SourceFile] = {}
        for path, (source, findings, error) in per_file.items():
            if error is not None:
                result.errors.append(error)
            if source is not None:
                sources[path] = source
            result.findings.extend(findings)
        project_findings, project_errors = self._check_project(sources)
        result.findings.extend(project_findings)
        result.errors.extend(project_errors)
        result.findings = self._visible(result.findings, sources)
        return result

    def _check_files(self, candidates: list[tuple[Path, list[Rule]]], tick: Callable[[], None] = lambda: None):
        if self.jobs > 1 and len(candidates) >= PARALLEL_MIN_FILES:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            global _WORKER_ENGINE
            _WORKER_ENGINE = self  # inherited by forked workers
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=self.jobs, mp_context=context) as pool:
                # largest files first in small chunks, so no worker is left with all the heavy ones
                paths = sorted((path for path, _ in candidates), key=lambda p: -len(self.project.read_bytes(p)))
                chunk = max(1, min(8, len(paths) // (self.jobs * 16)))
                outcomes = []
                for outcome in pool.map(_worker_check, paths, chunksize=chunk):
                    outcomes.append(outcome)
                    tick()
            return {path: (None, findings, error) for path, findings, error in outcomes}
        checked = {}
        for path, rules in candidates:
            checked[path] = self._check_one(path, rules)
            tick()
        return checked

    def _check_one(self, path: Path, rules: list[Rule], source: SourceFile | None = None):
        """Run `rules` on one file, sharing one parse; a parse failure or a rule's crash becomes a FileError."""
        running = ""
        try:
            if source is None:
                source = SourceFile.from_bytes(path, self.project.read_bytes(path), self.project.stat_at_read(path))
            ctx = context_for(source, self.project)
            findings: list[Finding] = []
            for rule in rules:
                running = rule.code
                ctx.rule = rule
                for check in rule.file_checks:
                    findings.extend(settle_fix(finding, self.build_fixes) for finding in check(ctx))
            return source, findings, None
        except SourceError as exc:
            return source, [], FileError(exc.path, exc.line, exc.message)
        except Exception as exc:  # a rule bug must not stop the run or hide other files
            message = f"internal error in {running or 'engine'}: {type(exc).__name__}: {exc}"
            return source, [], FileError(path, 1, message, running)

    def _project_rules(self) -> list[Rule]:
        """Rules with a project check; when the run names files, only those that could report in one of them."""
        rules = [rule for rule in self.rules if rule.project_checks]
        if self.project.named_files_only:
            named = [(t, language_of(t), self.project.peek_bytes(t)) for t in self.project.targets]
            rules = [rule for rule in rules if any(rule.may_report_in(*target) for target in named)]
            if rules and not any(self.project.scope.in_scope(t) for t in self.project.targets):
                return []
        return rules

    def _check_project(self, sources: dict[Path, SourceFile]) -> tuple[list[Finding], list[FileError]]:
        rules = self._project_rules()
        if not rules:
            return [], []
        if self._pctx is None:
            self._pctx = ProjectContext(self.project, dict(sources))
        pctx = self._pctx
        targets = set(self.project.targets)
        findings: list[Finding] = []
        errors: list[FileError] = []
        views = self.project.scope.views()
        # rules on Python files judge each service on its own; front-end rules pair a page with the back end it
        # calls, wherever that is: they see the whole scope
        passes = [(0, None, [r for r in rules if "python" not in r.languages])]
        passes += [(index + 1, view, [r for r in rules if "python" in r.languages]) for index, view in enumerate(views)]
        for index, view, view_rules in passes:
            pctx.view(index)
            with self.project.viewing(view):
                for rule in view_rules:
                    pctx.rule = rule
                    for check in rule.project_checks:
                        try:
                            found = [
                                settle_fix(f, self.build_fixes) for f in check(pctx)
                                if f.path in targets and not self._ignored_for(f.path, f.code)
                            ]
                        except SourceError as exc:
                            errors.append(FileError(exc.path, exc.line, exc.message))
                            continue
                        except Exception as exc:
                            message = f"internal error in {rule.code}: {type(exc).__name__}: {exc}"
                            errors.append(FileError(self.project.root, 1, message, rule.code))
                            continue
                        findings.extend(found)
        return findings, errors

    def _ignored_for(self, path: Path, code: str) -> bool:
        relative = self.project.relative(path)
        return any(code.startswith(prefix) for spec, prefix in self._ignore_specs if spec.match_file(relative))

    def _visible(self, findings: list[Finding], sources: dict[Path, SourceFile]) -> list[Finding]:
        """Drop suppressed findings and duplicates; sort by file and position."""
        tables: dict[Path, dict] = {}
        seen: set[tuple] = set()
        visible: list[Finding] = []
        for finding in sorted(findings, key=Finding.sort_key):
            key = (finding.path, finding.line, finding.col, finding.code, finding.message)
            if key in seen:
                continue
            seen.add(key)
            if finding.path not in tables:
                source = sources.get(finding.path)
                text = source.text if source else self.project.read_bytes(finding.path).decode("utf-8", "replace")
                tables[finding.path] = suppressions(text)
            if not is_suppressed(finding, tables[finding.path]):
                visible.append(finding)
        return visible

    # ---- apply ----------------------------------------------------------------------------------------------------

    def apply(self, unsafe: bool = False, write: bool = True) -> RunResult:
        """Fix to a fixpoint in memory; write changed files atomically unless `write` is False."""
        allowed = {Safety.SAFE, Safety.UNSAFE} if unsafe else {Safety.SAFE}
        self.build_fixes = True
        result = self.check()
        originals: dict[Path, SourceFile] = {}
        current: dict[Path, SourceFile] = {}
        broken: set[tuple[Path, str]] = set()  # (file, rule) whose fix produced invalid code: never retried
        stuck: set[Path] = set()
        for _ in range(MAX_PASSES):
            pending = [
                f for f in result.findings
                if f.fixable and f.fix.safety in allowed and (f.path, f.code) not in broken and f.path not in stuck
            ]
            if not pending:
                break
            changed = self._apply_pass(pending, current, originals, broken, result)
            if not changed:
                break
            result = self._recheck(changed, current, result)
        else:
            pending = [f for f in result.findings if f.fixable and f.fix.safety in allowed and (f.path, f.code) not in broken]
            for path in sorted({f.path for f in pending}):
                codes = ", ".join(sorted({f.code for f in pending if f.path == path}))
                result.errors.append(FileError(path, 1, f"fixes did not converge after {MAX_PASSES} passes ({codes}); file left unchanged"))
                current.pop(path, None)
        for path, after in current.items():
            before = originals[path]
            if after.text == before.text:
                continue
            fixed = FixedFile(path, before, after.text)
            result.fixed.append(fixed)
            if write:
                self._write(fixed, result)
        if write:
            self.project.forget_contents()
        return result

    def _apply_pass(self, pending, current, originals, broken, result) -> set[Path]:
        by_file: dict[Path, list[Finding]] = defaultdict(list)
        for finding in pending:
            by_file[finding.path].append(finding)
        changed: set[Path] = set()
        for path, findings in by_file.items():
            source = current.get(path)
            if source is None:
                try:
                    source = SourceFile.from_bytes(path, self.project.read_bytes(path), self.project.stat_at_read(path))
                except SourceError as exc:
                    result.errors.append(FileError(exc.path, exc.line, exc.message))
                    continue
                originals.setdefault(path, source)
            findings.sort(key=lambda f: (f.code, f.line, f.col))
            baseline = Baseline(source)
            while findings:
                edits, skipped = select_compatible([f.fix.edits for f in findings])
                taken = [f for i, f in enumerate(findings) if i not in skipped]
                new_text, failures = self._prove(baseline, taken, edits)
                if not failures:
                    if new_text == source.text:
                        break
                    result.applied.extend(taken)
                    current[path] = source.with_text(new_text)
                    changed.add(path)
                    break
                for finding, reason in failures:
                    broken.add((path, finding.code))
                    result.errors.append(
                        FileError(path, finding.line, f"internal error in {finding.code}: its fix {reason}; fix dropped", finding.code)
                    )
                findings = [f for f in findings if (path, f.code) not in broken]
        return changed

    def _prove(self, baseline: Baseline, findings: list[Finding], edits: list[Edit]) -> tuple[str, list[tuple[Finding, str]]]:
        """The text after these fixes, and the fixes to drop with the reason: none when the result is proven (see
        `Baseline.failure`); else those that fail alone (all of them, if none does)."""
        text = fixed_text(baseline.source, edits, [change for f in findings for change in f.fix.imports])
        if text == baseline.source.text:
            return text, []
        reason = baseline.failure(text)
        if reason is None:
            return text, []
        alone = [(f, baseline.failure(fixed_text(baseline.source, list(f.fix.edits), f.fix.imports))) for f in findings]
        failing = [(f, why) for f, why in alone if why is not None]
        return text, failing or [(f, reason) for f in findings]

    def _recheck(self, changed: set[Path], current: dict[Path, SourceFile], previous: RunResult) -> RunResult:
        """Run the rules again: per-file checks on the changed files, project checks on everything."""
        for path in changed:
            self.project.update_bytes(path, current[path].encode(current[path].text))
        if self._pctx is not None:
            self._pctx.replace_sources({path: current[path] for path in changed})
        result = RunResult(errors=previous.errors, applied=previous.applied, files_checked=previous.files_checked)
        result.findings = [f for f in previous.findings if f.path not in changed and not self._from_project_rule(f)]
        sources = dict(current)
        for path in changed:
            source, findings, error = self._check_one(path, self.rules_for(path), current[path])
            if error is not None:
                result.errors.append(error)
            result.findings.extend(findings)
        project_findings, _ = self._check_project(sources)
        result.findings.extend(project_findings)
        result.findings = self._visible(result.findings, sources)
        return result

    def _from_project_rule(self, finding: Finding) -> bool:
        return any(rule.code == finding.code and rule.project_checks for rule in self.rules)

    def _write(self, fixed: FixedFile, result: RunResult) -> None:
        try:
            data = fixed.before.encode(fixed.after_text)
        except UnicodeEncodeError as exc:
            result.errors.append(FileError(fixed.path, 1, f"cannot write: the fix needs characters {fixed.before.encoding} cannot encode ({exc.reason}); file left unchanged"))
            return
        try:
            atomic_write(fixed.path, data, fixed.before.stat)
            fixed.written = True
        except StaleFileError:
            result.errors.append(FileError(fixed.path, 1, "cannot write: the file changed on disk during the run; run again"))
        except PermissionError:
            result.errors.append(FileError(fixed.path, 1, "cannot write: the file is read-only; make it writable and run again"))
        except OSError as exc:
            result.errors.append(FileError(fixed.path, 1, f"cannot write: {exc.strerror or exc}"))


def settle_fix(finding: Finding, build: bool = True) -> Finding:
    """Build the finding's lazy fix (`build`), or keep it as an offer without its builder; a builder that raises, or
    a fix whose own edits overlap (they cannot all apply), leaves the finding report-only, with the reason in
    `fix_error` (`--verbose` prints it), never a failed run."""
    fix = finding.fix
    if fix is None:
        return finding
    if fix.builder is not None:
        if not build:
            finding.fix = dataclasses.replace(fix, builder=None)
            return finding
        try:
            fix = fix.builder()
        except Exception as exc:  # odd real-world input the fix was not written for: the finding still stands
            finding.fix = None
            finding.fix_error = f"{type(exc).__name__}: {exc}"
            return finding
    overlap = _overlap(fix.edits) if fix is not None else None
    if overlap is not None:
        fix = None
        finding.fix_error = f"its edits overlap at offset {overlap}"
    finding.fix = fix
    return finding


def _overlap(edits: tuple[Edit, ...]) -> int | None:
    """Where one of a fix's edits starts inside another (apply_edits refuses that); None when they do not."""
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < cursor:
            return edit.start
        cursor = edit.end
    return None


def fixed_text(source: SourceFile, edits: list[Edit], imports: Iterable[ImportChange]) -> str | None:
    """The file's text with `edits` applied and then `imports` placed; None when the imports cannot be placed."""
    text = apply_edits(source.text, edits)
    imports = list(imports)
    if not imports:
        return text
    from .imports import ImportPlacementError, apply_import_changes

    try:
        return apply_import_changes(text, imports, source.newline)
    except ImportPlacementError:
        return text if not parses(source, text) else None  # a broken edit is reported as such, not as the imports


def fix_edits(source: SourceFile, fix: Fix) -> tuple[Edit, ...]:
    """A fix as plain edits of the file's text, its imports included (what JSON output shows)."""
    if not fix.imports:
        return fix.edits
    from .imports import minimal_edits

    after = fixed_text(source, list(fix.edits), fix.imports)
    return fix.edits if after is None else minimal_edits(source.text, after)


class Baseline:
    """What a file was before a fix pass, to prove that the pass's fixes leave it no worse.

    A Python file must still parse, still compile when it did (`ast.parse` accepts duplicate parameters and
    keywords, `compile()` does not), and leave no name undefined that was defined (pyflakes' undefined names, before
    and after). Other files must still parse (see `parses`).
    """

    def __init__(self, source: SourceFile):
        self.source = source

    @cached_property
    def _tree(self) -> ast.Module | None:
        try:
            return ast.parse(self.source.text)
        except (SyntaxError, ValueError, RecursionError):
            return None

    @cached_property
    def compiles(self) -> bool:
        return self._tree is not None and _compile_error(self._tree, self.source.path) is None

    @cached_property
    def undefined(self) -> set[str]:
        return undefined_names(self._tree, self.source.path) if self._tree is not None else set()

    def failure(self, text: str | None) -> str | None:
        """Why `text` is worse than the file was (None: it is not); None `text` is a fix whose imports could not
        be placed."""
        if text is None:
            return "needs imports libcst cannot place"
        if self.source.language != "python":
            return None if parses(self.source, text) else "would not parse"
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return "would not parse"
        if self.compiles:
            error = _compile_error(tree, self.source.path)
            if error is not None:
                return f"would not compile ({error})"
        if self._tree is None:
            return None
        lost = sorted(undefined_names(tree, self.source.path) - self.undefined)
        if lost:
            return f"would leave {', '.join(lost)} undefined"
        return None


def _compile_error(tree: ast.Module, path: Path) -> str | None:
    try:
        compile(tree, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        return f"{getattr(exc, 'msg', exc)}" + (f", line {line}" if line else "")
    return None


def undefined_names(tree: ast.Module, path: Path) -> set[str]:
    """Names pyflakes reports as undefined in a module (undefined, used before assignment, or exported but absent)."""
    from pyflakes import checker, messages

    undefined = (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport)
    return {
        message.message_args[0] for message in checker.Checker(tree, filename=str(path)).messages
        if isinstance(message, undefined)
    }


def parses(source: SourceFile, text: str) -> bool:
    """Whether `text` still parses in the file's language (a fix may never make it worse)."""
    language = source.language
    if language == "python":
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return False
        return True
    if language == "tsx":
        from ast_grep_py import SgRoot

        grammar = "tsx" if source.path.suffix.lower() in (".tsx", ".jsx", ".js", ".mjs", ".cjs") else "typescript"

        def errors(code: str) -> int:
            return len(SgRoot(code, grammar).root().find_all(kind="ERROR"))

        return errors(text) <= errors(source.text)
    if source.path.suffix.lower() == ".json":
        try:
            json.loads(source.text)
        except ValueError:
            return True  # it did not parse before either
        try:
            json.loads(text)
        except ValueError:
            return False
    return True


def _per_file_ignore_specs(table: dict[str, list[str]]):
    if not table:
        return []
    import pathspec

    specs = []
    for glob, codes in table.items():
        spec = pathspec.GitIgnoreSpec.from_lines([glob])
        specs.extend((spec, code.upper()) for code in codes)
    return specs


class _Ticker:
    """Counts finished files and passes (done, total) to the progress callback, if any."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


_WORKER_ENGINE: Engine | None = None


def _worker_check(path: Path):
    engine = _WORKER_ENGINE
    assert engine is not None
    _, findings, error = engine._check_one(path, engine.rules_for(path))  # noqa: SLF001
    return path, findings, error


def cpu_jobs(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    return max(1, min(os.cpu_count() or 1, 8))
