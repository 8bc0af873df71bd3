"""One semantic model of the application, built lazily once per run and shared by every rule.

Layering: the project (files, bytes, scope, versions) is below; the rule API and the rules are above and ask this
model questions instead of walking the project themselves. It knows no rule: services and where their imports
resolve, modules and their definitions, what names mean, the call graph, and per-function summaries.

Fix passes change files in memory (`Project.update_bytes`): a module is parsed again only when its bytes changed, and
everything derived from the modules (name lookups, call sites, summaries) is recomputed after any change.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..sources import SourceError, SourceFile
from .calls import CallGraph, CallSite, Effect, Fact, Function, simple_effect
from .modules import FUNCTION_TYPES, Module, own_nodes
from .resolve import Ref, Resolver
from .services import Service, Services
from .web import Endpoint, Route, WebModel, WebObject

__all__ = [
    "ApplicationModel", "CallSite", "Effect", "Endpoint", "Fact", "Function", "Module", "Ref", "Route", "Service",
    "WebObject", "model_of", "own_nodes", "simple_effect", "FUNCTION_TYPES",
]


class ApplicationModel:
    def __init__(self, project):
        self.project = project
        self.services = Services(project)
        self._modules: dict[Path, tuple[bytes, Module | None]] = {}
        self._generation = -1
        self._derived()

    def _derived(self) -> None:
        """Everything computed from the modules' contents, dropped whenever a fix pass changed a file."""
        self.resolver = Resolver(self)
        self.calls = CallGraph(self)
        self.web = WebModel(self)
        self._generation = len(self.project.updates)

    def current(self) -> ApplicationModel:
        if self._generation != len(self.project.updates):
            self._derived()
        return self

    # ---- modules -------------------------------------------------------------------------------------------------

    def module(self, path: Path) -> Module | None:
        """The parsed module of a project Python file (None when it cannot be read or parsed: the engine reports that)."""
        data = self.project.read_bytes(path)
        cached = self._modules.get(path)
        if cached is not None and cached[0] is data:
            return cached[1]
        module = None
        try:
            text = SourceFile.from_bytes(path, data, None).text
            tree = ast.parse(text, filename=str(path), type_comments=False)
        except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        if tree is not None:
            module = Module(path, self.services.module_name(path), tree, self.services.of(path), text)
        self._modules[path] = (data, module)
        return module

    def loaded_modules(self) -> list[Module]:
        """The modules parsed so far (what the rules have asked about), without reading any other file."""
        return [module for _, module in self._modules.values() if module is not None]

    def detached(self, path: Path, text: str, tree: ast.Module) -> Module:
        """A module for a text the project does not hold (a file read on its own): named and placed like the file."""
        return Module(path, self.services.module_name(path), tree, self.services.of(path), text)

    def module_named(self, dotted: str, importer: Path) -> Module | None:
        path = self.services.resolve(dotted, importer)
        return self.module(path) if path is not None else None

    def modules(self, paths) -> list[Module]:
        return [module for module in map(self.module, paths) if module is not None]

    def imported_files(self, module: Module) -> set[Path]:
        """The project files a module imports, anywhere in it (lazy imports count), with the packages' __init__
        files that run on the way (`import app.auth` runs `app/__init__.py` first)."""
        found: set[Path] = set()
        names = set(module.imports.modules)
        for qualified in module.imports.names.values():
            names.update(qualified)  # `from pkg import module` may import pkg.module
        for name in names:
            parts = name.split(".")
            for size in range(1, len(parts) + 1):
                target = self.services.resolve(".".join(parts[:size]), module.path)
                if target is not None and (size == len(parts) or target.name == "__init__.py"):
                    found.add(target)
        found.discard(module.path)
        return found

    def reachable(self, entries, within: Path | None = None) -> set[Path]:
        """Project Python files the entry files import, directly or not; `within` bounds the walk to one folder (a
        launcher's build context: code vendored elsewhere is not what it runs)."""
        seen: set[Path] = set()
        stack = list(entries)
        while stack:
            path = stack.pop()
            if path in seen or (within is not None and within not in path.parents):
                continue
            seen.add(path)
            module = self.module(path)
            if module is not None:
                stack.extend(target for target in self.imported_files(module) if target not in seen)
        return seen

    # ---- meaning -------------------------------------------------------------------------------------------------

    def resolve(self, module: Module, expr: ast.AST | None, scope: ast.AST | None = None) -> Ref | None:
        """What an expression names or evaluates to, seen from `scope` (a def of `module`) or module level."""
        return self.resolver.expression(module, expr, scope)

    def function(self, module: Module, node: ast.AST) -> Function:
        return self.calls.function(module, node)

    def facts(self, effect: Effect, function: Function, depth: int | None = None) -> list[Fact]:
        return self.calls.facts(effect, function) if depth is None else self.calls.facts(effect, function, depth)


def model_of(project) -> ApplicationModel:
    """The project's model, created on first use and kept for the run."""
    model = project.__dict__.get("_application_model")
    if model is None:
        model = project.__dict__["_application_model"] = ApplicationModel(project)
    return model.current()
