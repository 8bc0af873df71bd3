"""Which Python files belong to an application of the ChatKit stack: the only files the Python rules look at.

A repository also holds code nobody in it wrote: a vendored package, a committed virtualenv, a copied SDK. Such
code never imports the ChatKit stack (or *is* the stack), so no rule has anything to say about it, yet parsing it
costs far more than everything else. The unit of that decision is what is deployed and imported together:

- a file under a folder holding a Python project file (`pyproject.toml`, `requirements.txt`, ...; the nearest one,
  the project root included) or a configured back-end root belongs to that service, packages and all;
- else a file inside a regular package (its folder has `__init__.py`) belongs to the topmost such package;
- else it belongs to its own folder.

A unit is an application unit when one of its files imports the stack (see STACK: the ChatKit SDKs, FastAPI and
Starlette, the token libraries); outside a service, files under a folder named like a stack
package are the stack's own code (a copied SDK) and do not count. The units an application unit imports (a `core/`
settings package next to the app, an `auth/` package holding the token decoder) and the units importing it (the
entry script) are application units too, one import away: settings and auth helpers need no web import of their
own. Any other file about ChatKit is in scope on its own: it names ChatKit, or holds bytes a rule declares
specific enough (`Rule.anywhere`: a protocol message type, an MCP session header).

Deciding this reads each Python file once and looks only at its import lines: far cheaper than one parse.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .bytetests import Trigger, matches
from .sources import language_of, python_text_problem

# The ChatKit SDKs, the web framework and server they are served with, and the token libraries auth helpers use.
# (A Django or Flask endpoint of a ChatKit server names ChatKit, which puts it in scope by itself.)
STACK = frozenset({"chatkit", "agents", "mcp", "openai", "fastapi", "starlette", "uvicorn", "jwt", "jose", "authlib"})
# what each stack package defines or exports at its top: a package of that name without it is an application's own
STACK_CORE = {
    "chatkit": b"ChatKitServer", "agents": b"Runner", "mcp": b"ClientSession", "openai": b"AsyncOpenAI",
    "fastapi": b"FastAPI", "starlette": b"Starlette", "uvicorn": b"Server", "jwt": b"PyJWT", "jose": b"JWTError",
    "authlib": b"__version__",
}
# a file that names ChatKit is about ChatKit, whatever it imports (a literal prefix: one fast pass over the bytes)
ABOUT_CHATKIT = (re.compile(rb"hat[Kk]it"),)
PROJECT_FILES = ("pyproject.toml", "requirements.txt", "setup.py", "setup.cfg", "Pipfile", "Dockerfile")

_IMPORT_LINE = re.compile(
    rb"[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]*\(?([\w \t,]*)|import[ \t]+([\w. \t,]+))"
)


def imported_names(data: bytes) -> frozenset[str]:
    """The modules `data` imports absolutely, dotted, from its import lines alone (no parse).

    Finds every `import` keyword with one bytes search, then matches its line: function-level imports and
    `if __name__ == "__main__": import uvicorn` count too. `from app import auth` gives both `app` and `app.auth`
    (the name may be a submodule). Words after "import" in prose may add a stray name, which only ever widens the
    scope.
    """
    names: set[str] = set()
    find = data.find
    first = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 BOM opens the first line
    at = find(b"import")
    while at != -1:
        line = _IMPORT_LINE.match(data, max(first, data.rfind(b"\n", 0, at) + 1))
        if line is not None:
            module, members, plain = line.groups()
            if module is not None:
                if not module.startswith(b"."):
                    base = module.decode("ascii", "replace")
                    names.add(base)
                    for part in members.split(b","):
                        words = part.split()
                        if words:
                            names.add(f"{base}.{words[0].decode('ascii', 'replace')}")
            else:
                for part in plain.split(b","):
                    words = part.split()
                    if words:
                        names.add(words[0].decode("ascii", "replace"))
        at = find(b"import", at + 6)
    names.discard("")
    return frozenset(names)


# what one read of a Python file tells: the modules it imports, their first names, whether it is about ChatKit
# (modules imported, their first names, holds a word of the stack, (line, why) when the bytes are not source text)
Survey = tuple[frozenset[str], frozenset[str], bool, "tuple[int, str] | None"]
_NOTHING: Survey = (frozenset(), frozenset(), False, None)


def _top(name: str) -> str:
    return name.partition(".")[0]


def _with_parents(names: frozenset[str]) -> set[str]:
    """The modules and every package above them: importing `a.b.c` imports `a` and `a.b` too."""
    found = set(names)
    for name in names:
        while "." in name:
            name = name.rpartition(".")[0]
            found.add(name)
    return found


@dataclass(frozen=True)
class Unit:
    """Files deployed and imported together: a service folder, a top-level regular package, or a plain folder."""

    folder: Path
    kind: str  # service | package | folder

    def import_keys(self, paths: list[Path], root: Path) -> list[tuple[Path, str]]:
        """(folder, dotted name): importing that module, or anything inside it, from `folder` reaches this unit."""
        if self.kind == "service":
            return []  # a service is deployed on its own
        keys = []
        for folder in (self.folder, *self.folder.parents):
            if folder == root or root not in folder.parents:
                break
            keys.append((folder.parent, ".".join(self.folder.relative_to(folder.parent).parts)))
        if self.kind == "folder":
            keys.extend((self.folder, p.stem) for p in paths if p.parent == self.folder)
        return keys

    @property
    def import_base(self) -> Path:
        return self.folder.parent if self.kind == "package" else self.folder


class Scope:
    """Answers `in_scope(path)` for the project's Python files; decided once per unit, on demand."""

    def __init__(self, project):
        self.project = project
        self._unit_of_folder: dict[str, Unit] = {}
        self._stack_folders: dict[str, bool] = {}
        self._stack_packages: dict[str, bool] = {}
        self._folder_verdicts: dict[str, bool | None] = {}
        self._services: dict[str, bool] = {}
        self._first_names_of: dict[Unit, frozenset[str]] = {}
        self._members: dict[Unit, list[Path]] | None = None
        self._surveyed: dict[Path, Survey] = {}
        self.about: tuple[Trigger, ...] = ABOUT_CHATKIT  # bytes that put a file in scope on their own
        self.services_only = False  # the cross-file checks see one service (or the named files'), not every one
        self._applications: set[Unit] | None = None

    def also_about(self, triggers: tuple[Trigger, ...]) -> None:
        """More bytes that put a file in scope (the enabled rules' `anywhere`); only before anything is decided."""
        if self._surveyed or self._folder_verdicts:
            raise RuntimeError("the scope was asked before the engine told it what its rules look for")
        self.about += tuple(trigger for trigger in triggers if trigger not in self.about)

    # ---- units -------------------------------------------------------------------------------------------------

    def unit_of(self, path: Path) -> Unit:
        folder = os.path.dirname(str(path))  # strings: new Path objects cost more than the lookup
        unit = self._unit_of_folder.get(folder)
        if unit is None:
            unit = self._unit_of_folder[folder] = self._find_unit(folder)
        return unit

    def _find_unit(self, folder: str) -> Unit:
        project = self.project
        root = str(project.root)
        services = {os.path.join(root, r) for r in project.settings.backend_roots}
        candidate = folder
        while True:
            if candidate in services or self._holds_project_file(candidate):
                return Unit(Path(candidate), "service")
            above = os.path.dirname(candidate)
            if candidate == root or above == candidate:
                break
            candidate = above
        if folder != root and project.has_file(os.path.join(folder, "__init__.py")):
            top = folder
            while os.path.dirname(top) != root and project.has_file(os.path.join(os.path.dirname(top), "__init__.py")):
                top = os.path.dirname(top)
            return Unit(Path(top), "package")
        return Unit(Path(folder), "folder")

    def _holds_project_file(self, folder: str) -> bool:
        held = self._services.get(folder)
        if held is None:
            has_file = self.project.has_file
            # `setup.py` inside a package is a module of it, not a project file
            held = not has_file(os.path.join(folder, "__init__.py")) and any(
                has_file(os.path.join(folder, name)) for name in PROJECT_FILES
            )
            self._services[folder] = held
        return held

    def _members_of_all(self) -> dict[Unit, list[Path]]:
        if self._members is None:
            members: dict[Unit, list[Path]] = defaultdict(list)
            every = self.project.all_files_of("python")
            for path in every:
                members[self.unit_of(path)].append(path)
            self._members = dict(members)
            self.survey(every)
        return self._members

    def _files_of(self, unit: Unit) -> list[Path]:
        if self._members is not None or not self.project.named_files_only:
            return self._members_of_all().get(unit, [])
        # a run on named files lists only the unit's own folder, not the whole project
        return [p for p in self.project.files_under(unit.folder, "python") if self.unit_of(p) == unit]

    def _first_names(self, unit: Unit) -> frozenset[str]:
        """The first names of the modules the unit's files import (`app` of `app.auth`)."""
        if unit not in self._first_names_of:
            paths = self._files_of(unit)
            self.survey(paths)
            surveyed = self._surveyed
            self._first_names_of[unit] = frozenset().union(*(surveyed[path][1] for path in paths))
        return self._first_names_of[unit]

    def _uses_stack(self, unit: Unit) -> bool:
        """Whether one of the unit's files imports the stack itself."""
        return not self._first_names(unit).isdisjoint(STACK)

    def _imported(self, unit: Unit) -> set[str]:
        """The modules the unit's files import, with every package above them (`a`, `a.b` for `a.b.c`)."""
        surveyed = self._surveyed
        return _with_parents(frozenset().union(*(surveyed[path][0] for path in self._files_of(unit))))

    def survey(self, paths: list[Path]) -> None:
        """Read each file once for its imports and whether it is about ChatKit (`Project.look_at`)."""
        self.project.look_at(self.unsurveyed(paths))

    def unsurveyed(self, paths: list[Path]) -> list[Path]:
        """Those of `paths` the survey has yet to read. The stack's own files are never read: they are never in
        scope, and what they import makes no unit an application (`_part_of_stack`)."""
        missing = []
        for path in paths:
            if path not in self._surveyed:
                if self._part_of_stack(path):
                    self._surveyed[path] = _NOTHING
                else:
                    missing.append(path)
        return missing

    def survey_file(self, path: Path) -> Survey:
        data = self.project.peek_bytes(path)
        names = imported_names(data)
        return names, frozenset(map(_top, names)), matches(self.about, data), python_text_problem(data)

    def text_problem(self, path: Path) -> tuple[int, str] | None:
        """(line, why) when a Python file is not source text: from its survey, else from one read of it."""
        survey = self._surveyed.get(path)
        if survey is not None:
            return survey[3]
        return python_text_problem(self.project.peek_bytes(path))

    def record(self, path: Path, survey: Survey) -> None:
        self._surveyed[path] = survey

    def _part_of_stack(self, path: Path) -> bool:
        """A file of the stack itself (`chatkit/server.py`), even where it was copied without its `__init__.py`."""
        folder = os.path.dirname(str(path))
        known = self._stack_folders.get(folder)
        if known is None:
            known = self._stack_folders[folder] = self._stack_folder(self.unit_of(path), folder)
        return known

    def _stack_folder(self, unit: Unit, folder: str) -> bool:
        if unit.kind == "service":
            # a service's own `chatkit/` or `agents/` folder is the user's code, unless it is the regular package at
            # the service's import root: no application can have one there (it would shadow the SDK it imports), so
            # the service is the SDK's own repository
            relative = folder[len(str(unit.folder)) + 1:].split(os.sep)
            depth = 2 if relative[0] == "src" else 1
            package = relative[:depth]
            if len(package) != depth or package[-1] not in STACK:
                return False
            top = os.path.join(str(unit.folder), *package)
            return self.project.has_file(os.path.join(top, "__init__.py")) and self._defines_stack(top, package[-1])
        return any(part in STACK for part in folder[len(str(self.project.root)) + 1:].split(os.sep))

    def _defines_stack(self, folder: str, name: str) -> bool:
        """Whether the package at `folder` is the stack package `name` itself (it defines or exports the package's
        core class), not an application's own package that happens to share the name (`app/chatkit/` importing
        `chatkit.server`)."""
        known = self._stack_packages.get(folder)
        if known is None:
            core = STACK_CORE[name]
            exported = re.compile(rb"(?<![\w.])" + core + rb"\b")
            known = bool(exported.search(self.project.peek_bytes(Path(folder, "__init__.py")))) or any(
                re.search(rb"class " + core + rb"\b", self.project.peek_bytes(path))
                for path in self.project.files_under(Path(folder), "python") if str(path.parent) == folder
            )
            self._stack_packages[folder] = known
        return known

    # ---- the decision ------------------------------------------------------------------------------------------

    @property
    def applications(self) -> set[Unit]:
        """Application units: those importing the stack, the units they import, and the units importing them."""
        if self._applications is None:
            members = self._members_of_all()
            by_top: dict[tuple[Path, str], list[tuple[Unit, str]]] = defaultdict(list)
            for unit, paths in members.items():
                for base, dotted in unit.import_keys(paths, self.project.root):
                    by_top[(base, _top(dotted))].append((unit, dotted))
            seeds = {unit for unit in members if self._uses_stack(unit)}
            applications = set(seeds)
            tops = {top for _, top in by_top} - STACK  # first names a unit can be imported by, bar the stack's
            roots = self.project.python_roots
            for unit in members:
                hits = self._first_names(unit) & tops
                if not hits:
                    continue
                seed = unit in seeds
                # a script runs from its folder or any folder above it: names resolve against all of them
                bases = {unit.import_base, *unit.import_base.parents, *roots}
                # a seed reaches any unit; any other unit matters only if it reaches a seed
                candidates = [
                    (other, dotted)
                    for top in hits
                    for base in bases
                    for other, dotted in by_top.get((base, top), ())
                    if other != unit and (seed or other in seeds)
                ]
                if not candidates:
                    continue
                modules = self._imported(unit)
                reached = {other for other, dotted in candidates if dotted in modules}
                if seed:
                    applications |= reached  # what the application imports: settings, auth helpers
                elif reached:
                    applications.add(unit)  # what imports the application: its entry script
            self._applications = applications
        return self._applications

    def python_files(self) -> list[Path]:
        """The project's Python files in scope, for the cross-file checks.

        A run on named files of services that import the stack needs only those services: a service is deployed on
        its own, so nothing outside it changes what is found in it, and the rest of the project is never read
        (`services_only` then tells a check that other services' apps are not in view, as with `views`).
        """
        project = self.project
        named = [path for path in project.targets if language_of(path) == "python"]
        if project.named_files_only and named:
            units = {self.unit_of(path) for path in named}
            if all(unit.kind == "service" and self._uses_stack(unit) for unit in units):
                self.services_only = True
                return sorted({path for unit in units for path in self._files_of(unit)}, key=str)
        return [path for path in project.all_files_of("python") if self.in_scope(path)]

    def views(self) -> list[list[Path] | None]:
        """How the cross-file checks see the Python files: each application service on its own, or all at once.

        A service is deployed on its own: its store, server and auth are judged together, never against another
        service's (one service's signed-in user says nothing about another service's store). Application code outside
        any service is seen with every service. None means the whole scope, as when there is one service or none.
        """
        if self.project.named_files_only:
            return [None]
        services: dict[Unit, list[Path]] = defaultdict(list)
        shared: list[Path] = []
        for path in self.project.files_of("python"):
            unit = self.unit_of(path)
            (services[unit] if unit.kind == "service" else shared).append(path)
        if len(services) < 2:
            return [None]
        return [files + shared for files in services.values()]

    def in_scope(self, path: Path) -> bool:
        """Python files: whether they belong to an application unit. Other languages are always in scope."""
        return language_of(path) != "python" or self._decide(path)

    def _decide(self, path: Path) -> bool:
        folder = os.path.dirname(str(path))
        if folder not in self._folder_verdicts:  # one verdict per folder; None: each file decides by its bytes
            unit = self.unit_of(path)
            if self._part_of_stack(path):
                verdict = False  # the stack's own code (it names ChatKit all over)
            else:
                verdict = True if self._uses_stack(unit) or unit in self.applications else None
            self._folder_verdicts[folder] = verdict
        verdict = self._folder_verdicts[folder]
        if verdict is not None:
            return verdict
        if path not in self._surveyed:
            self.survey([path])
        return self._surveyed[path][2]
