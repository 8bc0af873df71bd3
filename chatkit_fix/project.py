"""The project a run looks at: its files (gitignore honoured), its back-end and front-end roots and the Python module
names inside it. Built once per run and read by every rule; chatkit_fix/versions.py reads what it declares of package
versions.
"""

from __future__ import annotations

import bisect
import errno
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .config import Settings
from .parallel import fork_map
from .bytetests import Trigger, matches
from .scope import PROJECT_FILES, Scope
from .sources import language_of

# Folders no project wants checked: dependencies, virtualenvs, build output and caches. Hidden folders (`.claude/`,
# `.cursor/`, `.git/`, `.venv/`...) hold tools' files and assistants' templates, never the application itself.
SKIPPED_DIRS = frozenset(
    {"node_modules", "venv", "env", "__pycache__", "dist", "build", "site-packages", "out", "coverage"}
)
# what pip leaves beside each package it installs (an `.egg-info` is also what an editable install of the project
# itself leaves in its own source folder, so it proves nothing)
INSTALLED_MARKER = ".dist-info"
PARALLEL_LOOK = 200  # files; below this a fork costs more than it saves


# language -> byte tests that cross-file analyses ask of every file of that language (`Project.holds`): answered in
# the same read as the engine's prefilter instead of one more read of every file per analysis.
WATCHED: dict[str, list[Trigger]] = {}


def watch(languages: tuple[str, ...], trigger: Trigger) -> Trigger:
    """Register `trigger` for `Project.holds` on the files of `languages`; returns it (for a module constant)."""
    for language in languages:
        WATCHED.setdefault(language, []).append(trigger)
    return trigger


class PathError(Exception):
    """A path given on the command line that cannot be used (exit 2)."""


@dataclass
class Project:
    root: Path
    settings: Settings
    named_files_only: bool = False  # the run names files, not folders: project checks are gated on them
    _named: list[Path] = field(default_factory=list, repr=False)
    _folders: list[Path] = field(default_factory=list, repr=False)  # the folders the run was given
    _bytes: dict[Path, bytes] = field(default_factory=dict, repr=False)
    _held: dict[Path, dict] = field(default_factory=dict, repr=False)
    updates: list[Path] = field(default_factory=list, repr=False)  # files changed in memory by fix passes, in order
    _python_view: list[Path] | None = field(default=None, repr=False)
    _by_language: dict[str, list[Path]] = field(default_factory=dict, repr=False)
    _names_by_language: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _walked: dict[Path, list[Path]] = field(default_factory=dict, repr=False)  # folders listed by an unlisted run
    # every folder the project's listing read: (path, its time, its .gitignore's [size, time] or None), taken as read
    scanned_folders: list[tuple[str, int, list[int] | None]] = field(default_factory=list, repr=False)
    _probed: dict[str, bool] = field(default_factory=dict, repr=False)  # files an unlisted run tested for
    _stats: dict[Path, os.stat_result] = field(default_factory=dict, repr=False)
    # language -> the byte tests `note` answers: the analyses' (WATCHED) and the engine's rule triggers
    watched: dict[str, list[Trigger]] = field(
        default_factory=lambda: {language: list(tests) for language, tests in WATCHED.items()}, repr=False
    )
    jobs: int = 1  # processes `look_at` may use
    symlink_loops: list[str] = field(default_factory=list)  # links the walk met that point round in a loop

    @classmethod
    def discover(cls, root: Path, settings: Settings, paths: list[Path]) -> Project:
        """`paths` (files or folders inside the project) become the targets of the run.

        The project's file list is walked only when something needs it: a run on named files that no rule can
        concern ends without listing the project.
        """
        root = root.resolve()
        project = cls(root=root, settings=settings)
        folders = project._folders
        for given in paths:
            resolved = given.resolve()
            if not given.exists() and not given.is_symlink():
                raise PathError(f"{given}: no such file or folder")
            if not inside(resolved, root):
                raise PathError(f"{given}: resolves outside the project root {root}; run from inside the project")
            if resolved.is_file():
                if given.is_symlink() and not inside(given.resolve(), root):
                    continue
                project._named.append(resolved)  # an explicitly named file is checked even if ignored
            else:
                folders.append(resolved)
        project.named_files_only = not folders
        return project

    @cached_property
    def targets(self) -> list[Path]:
        """The files the run checks: those named, and the listed files below the folders named."""
        targets = list(self._named)
        for folder in self._folders:
            targets.extend(self.files if folder == self.root else (f for f in self.files if inside(f, folder)))
        return sorted(set(targets), key=str)

    @property
    def asked(self) -> list[str]:
        """The files and folders the run was given, below the root (what a cached run is keyed on: the files below
        the folders are the listing, which the cache compares on its own)."""
        return [self.relative(path) for path in [*self._named, *self._folders]]

    @cached_property
    def _ignore(self) -> _IgnoreRules:
        return _IgnoreRules(self.root, self.settings.extend_exclude)

    @cached_property
    def files(self) -> list[Path]:
        """Every file of the project (gitignore honoured) plus the files the run names."""
        walked = list(_walk(self.root, self.root, self._ignore, loops=self.symlink_loops, scanned=self.scanned_folders))
        if self._named:
            return sorted(set(walked) | set(self._named), key=str)
        return walked  # already in the order of the paths' strings

    @cached_property
    def file_set(self) -> frozenset[Path]:
        return frozenset(self.files)

    @cached_property
    def _file_names(self) -> frozenset[str]:
        return frozenset(map(str, self.files))

    def has_file(self, path: Path | str) -> bool:
        """Whether the file exists, for the project's layout (packages, project files): from the listing once the
        project is listed (no stat, no Path object), else on disk."""
        if self.listed:
            return str(path) in self._file_names
        found = self._probed[str(path)] = os.path.isfile(path)
        return found

    def files_under(self, folder: Path, language: str) -> list[Path]:
        """The project's files of `language` inside `folder`, listing only that folder when the project is unlisted."""
        if self.listed:
            listed = self.all_files_of(language)
            if folder == self.root:
                return list(listed)
            # the listing is sorted as path strings sort: a folder's files are one slice of it
            names = self._names_of(language)
            prefix = os.path.join(str(folder), "")
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix[:-1] + chr(ord(prefix[-1]) + 1), start)
            return listed[start:end]
        pool = set(self.folder_listing(folder)) | {f for f in self._named if inside(f, folder)}
        return [f for f in pool if language_of(f) == language]

    def folder_listing(self, folder: Path) -> list[Path]:
        """The files below `folder` (gitignore honoured), walked once per run; what a run on named files lists in
        place of the whole project, and what the check cache compares for it."""
        walked = self._walked.get(folder)
        if walked is None:
            specs = []
            for parent in reversed(folder.parents):
                if inside(parent, self.root):
                    spec = self._ignore.spec_for(str(parent))
                    if spec is not None:
                        specs.append((len(str(parent)) + 1, spec))
            walked = self._walked[folder] = list(_walk(self.root, folder, self._ignore, specs, self.symlink_loops))
        return walked

    @property
    def layout_read(self) -> tuple[list[Path], dict[str, bool]]:
        """What an unlisted run learnt of the layout: the folders it listed and the files it probed for."""
        return list(self._walked), dict(self._probed)

    # ---- file contents --------------------------------------------------------------------------------------------

    def read_bytes(self, path: Path) -> bytes:
        """The file's bytes, read once per run (unreadable files read as empty; the engine reports them)."""
        data = self._bytes.get(path)
        if data is None:
            try:
                self._stats[path] = path.stat()
                data = path.read_bytes()
            except OSError:
                data = b""
            self._bytes[path] = data
        return data

    @property
    def listed(self) -> bool:
        """Whether the run listed the project's files (a run on named files may need no more than their bytes)."""
        return "files" in self.__dict__

    def what_was_read(self) -> dict[Path, tuple[os.stat_result, bytes | None]]:
        """Every file a run may have looked at (the listing and anything read beside it) with its stat, taken when
        it was read where the run kept it, and its bytes when they are still held: what the check cache keys on."""
        found: dict[Path, tuple[os.stat_result, bytes | None]] = {}
        for path in dict.fromkeys([*(self.files if self.listed else ()), *self.targets, *self._stats]):
            stat = self._stats.get(path)
            if stat is None:
                try:
                    stat = path.stat()
                except OSError:
                    continue
            found[path] = (stat, self._bytes.get(path))
        return found

    def stat_at_read(self, path: Path) -> os.stat_result | None:
        """The stat taken just before the bytes were read: a later write checks that nobody changed the file since."""
        return self._stats.get(path)

    def forget_contents(self) -> None:
        """After writing, the disk is the truth again."""
        self._bytes.clear()
        self._stats.clear()

    def update_bytes(self, path: Path, data: bytes) -> None:
        """The engine's in-memory view after a fix pass, so cross-file rules see fixed files."""
        self._bytes[path] = data
        self._held.pop(path, None)
        self.updates.append(path)

    def watch_also(self, language: str, triggers: list[Trigger]) -> None:
        """More byte tests for `note` to answer on files of `language`; only before any file is noted."""
        if self._held:
            raise RuntimeError("byte tests were added after files were noted: their notes would be incomplete")
        known = self.watched.setdefault(language, [])
        known.extend(trigger for trigger in triggers if trigger not in known)

    def note(self, path: Path) -> dict:
        """Every watched byte test of the file's language (see `watch`), answered in one read and remembered; the
        file's bytes are not kept."""
        memo = self._held.get(path)
        if memo is None:
            memo = self._held[path] = self._answers(language_of(path), self.peek_bytes(path))
        return memo

    def _answers(self, language: str, data: bytes) -> dict:
        memo: dict = {}
        for trigger in self.watched.get(language, ()):
            matches((trigger,), data, memo)
        return memo

    def holds(self, path: Path, trigger: Trigger) -> bool:
        """Whether the file's bytes match `trigger`: from its note when the trigger is watched, else one more read."""
        memo = self.note(path)
        if trigger not in memo:
            matches((trigger,), self.peek_bytes(path), memo)
        return memo[trigger]

    def look_at(self, paths: list[Path]) -> None:
        """Read each file once for everything a run asks of its bytes before parsing: a Python file's survey
        (scope.py), any other file's note. Over the cores when there are enough files to pay for the forks; only
        small answers cross back (a survey, the note's tests as bits)."""
        jobs = self.jobs if len(paths) >= PARALLEL_LOOK else 1
        for path, answer in zip(paths, fork_map(self._look, paths, jobs)):
            self._keep_look(path, answer)

    def _look(self, path: Path):
        language = language_of(path)
        if language == "python":
            return self.scope.survey_file(path)
        memo = self._answers(language, self.peek_bytes(path))
        return sum(1 << bit for bit, trigger in enumerate(self.watched.get(language, ())) if memo[trigger])

    def _keep_look(self, path: Path, answer) -> None:
        language = language_of(path)
        if language == "python":
            self.scope.record(path, answer)
        else:
            tests = self.watched.get(language, ())
            self._held[path] = {trigger: bool(answer >> bit & 1) for bit, trigger in enumerate(tests)}

    def peek_bytes(self, path: Path) -> bytes:
        """The file's bytes without keeping them: for a look that usually rules the file out."""
        data = self._bytes.get(path)
        if data is None:
            try:
                descriptor = os.open(path, os.O_RDONLY)  # a third of Path.read_bytes()'s cost, for every file
                try:
                    stat = os.fstat(descriptor)
                    self._stats.setdefault(path, stat)  # what the run saw, for the check cache
                    size = stat.st_size
                    data = os.read(descriptor, size + 1)
                    if len(data) > size:  # the file grew since fstat: read on to its end
                        chunks = [data]
                        while chunks[-1]:
                            chunks.append(os.read(descriptor, 1 << 16))
                        data = b"".join(chunks)
                finally:
                    os.close(descriptor)
            except OSError:
                data = b""
        return data

    @cached_property
    def scope(self) -> Scope:
        return Scope(self)

    def all_files_of(self, language: str) -> list[Path]:
        if language not in self._by_language:
            self._by_language[language] = [f for f in self.files if language_of(f) == language]
        return self._by_language[language]

    def _names_of(self, language: str) -> list[str]:
        names = self._names_by_language.get(language)
        if names is None:
            names = self._names_by_language[language] = list(map(str, self.all_files_of(language)))
        return names

    @cached_property
    def _python_in_scope(self) -> list[Path]:
        return self.scope.python_files()

    @contextmanager
    def viewing(self, python: list[Path] | None):
        """Cross-file checks see only `python` as the project's Python files (one service: Scope.views)."""
        scope = self.scope
        before = scope.services_only
        self._python_view, scope.services_only = python, python is not None or before
        try:
            yield
        finally:
            self._python_view, scope.services_only = None, before

    def files_of(self, language: str) -> list[Path]:
        """The files of `language` the rules look at: for Python, those in scope (see scope.py) and in view."""
        if language != "python":
            return self.all_files_of(language)
        return self._python_view if self._python_view is not None else self._python_in_scope

    def grep(self, needle: bytes, language: str | None = None) -> list[Path]:
        """Files whose bytes contain `needle`: the cheap first step of every cross-file question."""
        pool = self.files if language is None else self.files_of(language)
        return [f for f in pool if needle in self.read_bytes(f)]

    def relative(self, path: Path) -> str:
        """The path below the root, with forward slashes (as git and the reports name it); absolute when outside."""
        text = str(path)
        if text == self._root_prefix[:-1]:
            return "."
        if text.startswith(self._root_prefix):
            text = text[len(self._root_prefix):]
        return text.replace(os.sep, "/") if os.sep != "/" else text

    @cached_property
    def _root_prefix(self) -> str:
        return os.path.join(str(self.root), "")

    # ---- Python modules -------------------------------------------------------------------------------------------

    @cached_property
    def python_roots(self) -> list[Path]:
        """Folders that act as import roots: configured back ends, folders holding a Python project file, `src/`."""
        roots: list[Path] = [self.root / r for r in self.settings.backend_roots]
        for path in self.files:
            if path.name in PROJECT_FILES:
                roots.append(path.parent)
            elif path.name in ("main.py", "app.py"):
                # an entry module is run from its folder, unless that folder is a package: then from above it
                folder = path.parent
                while (folder / "__init__.py").is_file() and folder != self.root:
                    folder = folder.parent
                roots.append(folder)
        roots.append(self.root)
        expanded: list[Path] = []
        for root in roots:
            for candidate in (root, root / "src"):
                if candidate not in expanded and candidate.is_dir():
                    expanded.append(candidate)
        return expanded

    # ---- roots and versions ---------------------------------------------------------------------------------------

    @cached_property
    def frontend_roots(self) -> list[Path]:
        if self.settings.frontend_roots:
            return [self.root / r for r in self.settings.frontend_roots]
        return sorted({p.parent for p in self.files if p.name == "package.json"})


def inside(path: Path | str, folder: Path | str) -> bool:
    """Whether `path` is `folder` or lies below it (on the strings: `Path.parents` is slow in the hot loops)."""
    text, base = str(path), str(folder)
    return text == base or text.startswith(base if base.endswith(os.sep) else base + os.sep)


class _IgnoreRules:
    """`.gitignore` files (nested ones too, each relative to its folder) plus `extend-exclude`.

    Paths are plain strings here: the walk visits every file of the project, and Path objects cost more than the walk.
    """

    def __init__(self, root: Path, extra: list[str]):
        self.root_length = len(str(root)) + 1
        self._specs: dict[str, _Patterns | None] = {}
        self._extra = _Patterns(extra) if extra else None

    def spec_for(self, folder: str) -> _Patterns | None:
        if folder not in self._specs:
            gitignore = os.path.join(folder, ".gitignore")
            spec = None
            if os.path.isfile(gitignore):
                try:
                    with open(gitignore, encoding="utf-8", errors="replace") as handle:
                        lines = handle.read().splitlines()
                except OSError:
                    lines = []
                if any(line.strip() and not line.startswith("#") for line in lines):
                    spec = _Patterns(lines)
            self._specs[folder] = spec
        return self._specs[folder]

    def ignored(self, path: str, name: str, is_dir: bool, specs: list[tuple[int, _Patterns]]) -> bool:
        """`specs` holds (length of the folder's path + 1, its patterns) for the .gitignore files above `path`."""
        verdict = False
        for base_length, spec in specs:
            decision = spec.decide(path[base_length:], name, is_dir)
            if decision is not None:
                verdict = decision
        if self._extra is not None and self._extra.decide(path[self.root_length:], name, is_dir):
            verdict = True
        return verdict


class _Patterns:
    """One .gitignore's patterns. One regex over a file's name (`_name_filter`) rules out nearly every file before
    pathspec weighs the patterns in order."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.names = _name_filter(lines)

    @cached_property
    def spec(self):
        import pathspec  # 8 ms of imports, often never needed when the name filter rules every file out

        return pathspec.GitIgnoreSpec.from_lines(self.lines)

    def decide(self, relative: str, name: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a `!` pattern, None: no pattern matches."""
        if self.names is not None and self.names.match(name) is None:
            return None
        return self.spec.check_file(_posix(relative) + ("/" if is_dir else "")).include


def _name_filter(lines: list[str]) -> re.Pattern[str] | None:
    """A regex matching every file name some pattern could match, or None when one cannot tell from the name.

    A pattern matches a path whose last part matches the pattern's last part, or a path below a folder it matches,
    which the walk never enters: so the last part alone decides, unless it is `**` or holds an escape.
    """
    import fnmatch

    names = []
    for line in lines:
        pattern = line.rstrip()
        if not pattern or pattern.startswith("#"):
            continue
        last = pattern.removeprefix("!").removesuffix("/").rpartition("/")[2]
        if not last or "**" in last or "\\" in pattern:
            return None
        names.append(fnmatch.translate(last))
    return re.compile("|".join(names)) if names else None


def _posix(relative: str) -> str:
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


# Path(folder) joined with one name, without parsing the joined string again: `_make_child_relpath` is what
# Path.iterdir uses (a private method, hence the public fallback); it halves the cost of the walk's Path objects
_child = getattr(Path, "_make_child_relpath", Path.joinpath)


def _stamp(path: str) -> list[int] | None:
    """[size, time] of a file, None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _walk(root: Path, folder: Path, ignore: _IgnoreRules, specs: list[tuple[int, _Patterns]] | None = None,
          loops: list[str] | None = None, scanned: list[tuple[str, int, list[int] | None]] | None = None):
    """Yield the files under `folder` in the order of their paths' strings, pruning ignored folders and never
    following a symlink out of `root` or round a loop (the loops' paths are added to `loops`, the folders read to
    `scanned`)."""
    folders: dict[str, Path] = {}
    loops = loops if loops is not None else []
    for text in _walk_names(str(root), str(folder), ignore, list(specs or []), loops, scanned if scanned is not None else []):
        parent, _, name = text.rpartition(os.sep)
        base = folders.get(parent)
        if base is None:
            base = folders[parent] = Path(parent)
        yield _child(base, name)


def _walk_names(root: str, folder: str, ignore: _IgnoreRules, specs: list[tuple[int, _Patterns]], loops: list[str],
                scanned: list[tuple[str, int, list[int] | None]]):
    try:
        stamp = os.stat(folder).st_mtime_ns  # before reading it: a later change moves the time away from this
        entries = list(os.scandir(folder))
    except OSError:
        return
    scanned.append((folder, stamp, _stamp(os.path.join(folder, ".gitignore"))))
    if folder != root and any(entry.name == "pyvenv.cfg" or entry.name.endswith(INSTALLED_MARKER) for entry in entries):
        return  # a virtualenv, or installed packages (a vendored site-packages, whatever its name): not the app
    spec = ignore.spec_for(folder)
    if spec is not None:
        specs = [*specs, (len(folder) + 1, spec)]
    kinds = []
    for entry in entries:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not inside(target, root) or os.path.isdir(target):
                continue  # a link out of the project is never followed; one inside points at files we walk anyway
            try:
                os.stat(entry.path)
            except OSError as exc:  # dangling, or a loop: nothing to read
                if exc.errno == errno.ELOOP and not ignore.ignored(entry.path, entry.name, False, specs):
                    loops.append(entry.path)
                continue
        if entry.is_dir(follow_symlinks=False):
            kinds.append((entry.name + "/", entry))  # sorted as the path strings of the files inside sort
        elif entry.is_file():
            kinds.append((entry.name, entry))
    kinds.sort(key=lambda pair: pair[0])
    for key, entry in kinds:
        is_dir = key[-1] == "/"
        hidden_or_skipped = is_dir and (entry.name[0] == "." or entry.name in SKIPPED_DIRS)
        if hidden_or_skipped or ignore.ignored(entry.path, entry.name, is_dir, specs):
            continue
        if is_dir:
            yield from _walk_names(root, entry.path, ignore, specs, loops, scanned)
        else:
            yield entry.path
