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
from .modules import FUNCTION_TYPES, Module, own_nodes
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
        self._uses: dict[tuple[int, str], str | None] = {}

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
                site = CallSite(function, node, target, threaded)
                yield site
                yield from self._callbacks(site)

    def _callbacks(self, site: CallSite):
        """Functions handed to a project function that calls them (`self._with_session(load)`) or runs them in a
        worker thread (`await self._run(load)` where `_run` awaits `asyncio.to_thread(...)`): calls of their own."""
        callee = site.callee
        if callee is None:
            return
        caller, resolver = site.caller, self.model.resolver
        for argument, parameter in _arguments(site.node, callee.node):
            if not isinstance(argument, (ast.Name, ast.Attribute)):
                continue
            use = self._parameter_use(callee, parameter)
            if use is None:
                continue
            target = resolver.expression(caller.module, argument, caller.node)
            if target is not None and target.is_function:
                yield CallSite(caller, argument, target, site.offloaded or use == "offloads")

    def _parameter_use(self, function: Function, parameter: str, depth: int = 0) -> str | None:
        """How a function uses a callable parameter: "calls" it, "offloads" it to a worker thread, or None (unknown)."""
        key = (id(function.node), parameter)
        if key in self._uses:
            return self._uses[key]
        self._uses[key] = None
        found = None
        for node in own_nodes(function.node):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == parameter:
                found = "calls"
                break
            passed = [a for a in (*node.args, *(k.value for k in node.keywords)) if _names_parameter(a, parameter)]
            if not passed:
                continue
            if _called_name(node.func) in THREAD_WRAPPERS:
                found = found or "offloads"
            elif depth < SUMMARY_DEPTH:
                target = self.model.resolver.expression(function.module, node.func, function.node)
                if target is not None and target.is_function and target.module is not None:
                    inner = Function(target.module, target.node)
                    for argument, name in _arguments(node, target.node):
                        if argument in passed:
                            use = self._parameter_use(inner, name, depth + 1)
                            found = "calls" if "calls" in (use, found) else found or use
        self._uses[key] = found
        return found

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


def _arguments(call: ast.AST, function: ast.AST):
    """(argument, parameter name) pairs of a call of a project def; a method called on an object skips `self`."""
    if not isinstance(call, ast.Call) or not isinstance(function, FUNCTION_TYPES):
        return
    positional = [*function.args.posonlyargs, *function.args.args]
    bound = isinstance(call.func, ast.Attribute) and not any(
        _called_name(d) == "staticmethod" for d in function.decorator_list
    )
    if bound and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    for argument, parameter in zip(call.args, positional):
        if isinstance(argument, ast.Starred):
            return
        yield argument, parameter.arg
    names = {a.arg for a in [*positional, *function.args.kwonlyargs]}
    for keyword in call.keywords:
        if keyword.arg in names:
            yield keyword.value, keyword.arg


def _names_parameter(argument: ast.AST, parameter: str) -> bool:
    """`parameter` itself, or `partial(parameter, ...)`."""
    if _is_partial(argument) and argument.args:
        argument = argument.args[0]
    return isinstance(argument, ast.Name) and argument.id == parameter


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
