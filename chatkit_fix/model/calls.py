"""The call graph inside the project and per-function summaries propagated through it.

A summary is a small fact about one function ("may block the event loop", "may create a thread", "returns a default
identity"), computed once from the function's own body and carried up through the calls that reach it, a few calls
deep. A rule then reads as its catalogue line: CK307 is "an async store method whose summary says it may block",
wherever the blocking call sits: in the method, in a helper of the class, or in a function of another module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..pyast import walk
from .modules import Module, own_nodes
from .resolve import Ref

# Calls that run their function argument in a worker thread: what happens inside does not block the event loop.
THREAD_WRAPPERS = frozenset({
    "to_thread", "run_in_executor", "sync_to_async", "database_sync_to_async", "run_sync", "run_in_threadpool",
    "asyncify", "to_thread_run_sync", "defer_to_thread",
})
SUMMARY_DEPTH = 3


@dataclass(frozen=True, eq=False)
class Function:
    """A def of the project: a function, a method or a nested function."""

    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def qualified(self) -> str:
        return self.module.qualified_names.get(self.node, self.node.name)

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, ast.AsyncFunctionDef)

    @property
    def cls(self) -> ast.ClassDef | None:
        holder = self.module.parents.get(self.node)
        return holder if isinstance(holder, ast.ClassDef) else None


@dataclass(frozen=True, eq=False)
class CallSite:
    """A call from `caller` (or a function reference handed to a thread wrapper, `offloaded`)."""

    caller: Function
    node: ast.AST
    target: Ref | None
    offloaded: bool

    @property
    def callee(self) -> Function | None:
        target = self.target
        if target is not None and target.is_function and target.module is not None:
            return Function(target.module, target.node)
        return None

    def describe(self) -> str:
        callee = self.callee
        return f"{callee.qualified}()" if callee is not None else "a call"


@dataclass(frozen=True, eq=False)
class Fact:
    """An effect at `node` of `module`, reached from the function asked about through the calls in `via`."""

    module: Module
    node: ast.AST
    what: str
    via: tuple[CallSite, ...] = ()

    def through(self) -> str:
        """`via self._connect() -> db.open()`, or empty when the effect is in the function itself."""
        return " -> ".join(site.describe() for site in self.via)


class Effect(Protocol):
    """A kind of summary: what a function does by itself; which calls carry the effect to their caller."""

    name: str

    def local(self, model, function: Function) -> list[Fact]: ...

    def follows(self, site: CallSite) -> bool: ...


class CallGraph:
    def __init__(self, model):
        self.model = model
        self._functions: dict[int, Function] = {}
        self._sites: dict[int, list[CallSite]] = {}
        self._facts: dict[tuple[str, int, int], list[Fact]] = {}

    def function(self, module: Module, node: ast.AST) -> Function:
        found = self._functions.get(id(node))
        if found is None:
            found = self._functions[id(node)] = Function(module, node)
        return found

    def calls(self, function: Function) -> list[CallSite]:
        """The calls a function makes itself (nested defs are functions of their own), resolved where possible."""
        sites = self._sites.get(id(function.node))
        if sites is None:
            sites = self._sites[id(function.node)] = list(self._collect(function))
        return sites

    def _collect(self, function: Function):
        module, resolver = function.module, self.model.resolver
        offloaded_nodes: set[int] = set()
        for node in own_nodes(function.node):
            if not isinstance(node, ast.Call):
                continue
            if _called_name(node.func) in THREAD_WRAPPERS:
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    inner = argument.args[0] if _is_partial(argument) and argument.args else argument
                    if isinstance(inner, ast.Lambda):
                        offloaded_nodes.update(id(n) for n in walk(inner.body))
                        for call in walk(inner.body):
                            if isinstance(call, ast.Call):
                                target = resolver.expression(module, call.func, function.node)
                                yield CallSite(function, call, target, True)
                    elif isinstance(inner, (ast.Name, ast.Attribute)):
                        target = resolver.expression(module, inner, function.node)
                        if target is not None and target.is_function:
                            yield CallSite(function, inner, target, True)
        for node in own_nodes(function.node):
            if isinstance(node, ast.Call) and id(node) not in offloaded_nodes:
                target = resolver.expression(module, node.func, function.node)
                if target is not None and target.is_class and not target.instance:
                    init = resolver.class_member(target.module, target.node, "__init__")
                    target = init if init is not None and init.is_function else target
                threaded = target is not None and target.is_function and _runs_in_thread(target.node)
                yield CallSite(function, node, target, threaded)

    def facts(self, effect: Effect, function: Function, depth: int = SUMMARY_DEPTH) -> list[Fact]:
        """The effect's facts of `function`: its own, then those of the project functions it calls, `depth` deep."""
        key = (effect.name, id(function.node), depth)
        found = self._facts.get(key)
        if found is not None:
            return found
        self._facts[key] = []  # recursion reaches a function being summarised: it adds nothing new
        found = list(effect.local(self.model, function))
        if depth > 0:
            for site in self.calls(function):
                callee = site.callee
                if callee is None or callee.node is function.node or not effect.follows(site):
                    continue
                for fact in self.facts(effect, callee, depth - 1):
                    found.append(Fact(fact.module, fact.node, fact.what, (site, *fact.via)))
        self._facts[key] = found
        return found


def _called_name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Call):  # sync_to_async(f)(...)
        return _called_name(func.func)
    return ""


def _runs_in_thread(function: ast.AST) -> bool:
    """A def decorated to run in a worker thread (`@sync_to_async`)."""
    return any(_called_name(d.func if isinstance(d, ast.Call) else d) in THREAD_WRAPPERS for d in function.decorator_list)


def _is_partial(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _called_name(node.func) == "partial"


def simple_effect(name: str, local: Callable, follows: Callable[[CallSite], bool] | None = None) -> Effect:
    """An Effect from two functions (the common case: every call that is not offloaded carries the effect)."""

    class _Effect:
        def __init__(self) -> None:
            self.name = name

        def local(self, model, function: Function) -> list[Fact]:
            return local(model, function)

        def follows(self, site: CallSite) -> bool:
            return follows(site) if follows is not None else not site.offloaded

    return _Effect()
