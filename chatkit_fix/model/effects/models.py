"""Which model an Agents SDK run talks to: the Responses API, or a chat-completions / LiteLLM model.

SDK facts (openai-agents): `OpenAIChatCompletionsModel`, `LitellmModel` and `AnyLLMModel` speak chat completions;
so does a model name the default `MultiProvider` routes to LiteLLM or any-llm (`"litellm/…"`, `"any-llm/…"`), any
model name of an `OpenAIProvider(use_responses=False)` or `MultiProvider(openai_use_responses=False)`, and any model
name at all once `set_default_openai_api("chat_completions")` ran. A run's model is `RunConfig(model=…)` when given,
else its starting agent's `model=`, else the default.

The agent and its model are followed as values through the application: names to their assignments (locals, module
globals, imports across modules), `self.x` to what a method of the class assigned, factories to what they return,
registries (`agents[name]`, `agents.get(name, default)`) to the values they hold, `agent.clone(...)` to the agent it
copies.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ...pyast import call_argument, walk
from ..modules import FUNCTION_TYPES, Module, own_nodes
from ..resolve import local_binding

CHATCMPL_CLASSES = ("OpenAIChatCompletionsModel", "LitellmModel", "AnyLLMModel")
CHATCMPL_PREFIXES = ("litellm/", "any-llm/")
MAX_DEPTH = 10


@dataclass(frozen=True)
class Value:
    """An expression a value may come from, with the module and the def it is read in (None: module level)."""

    module: Module
    node: ast.AST
    scope: ast.AST | None


def value_sources(model, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> list[Value]:
    """The expressions `expr` may evaluate to, as far as the application shows them; a parameter nobody can see
    the argument of is left out (what is not shown proves nothing)."""
    found: list[Value] = []
    _sources(model, Value(module, expr, scope), found, set(), 0)
    return found


def _sources(model, value: Value, found: list[Value], seen: set, depth: int) -> None:
    expr, module, scope = value.node, value.module, value.scope
    if expr is None or depth > MAX_DEPTH or (id(expr), id(scope)) in seen:
        return
    seen.add((id(expr), id(scope)))
    follow = lambda node, where=scope, owner=module: _sources(model, Value(owner, node, where), found, seen, depth + 1)  # noqa: E731
    if isinstance(expr, ast.Await):
        return follow(expr.value)
    if isinstance(expr, ast.IfExp):
        follow(expr.body)
        return follow(expr.orelse)
    if isinstance(expr, ast.BoolOp):
        for operand in expr.values:
            follow(operand)
        return None
    if isinstance(expr, ast.Name):
        return _name_sources(model, value, follow)
    if isinstance(expr, ast.Attribute):
        return _attribute_sources(model, value, follow)
    if isinstance(expr, ast.Subscript):
        return _held_by(model, value, expr.value, follow)
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name) and func.id == "getattr" and len(expr.args) >= 2 and isinstance(
            expr.args[1], ast.Constant
        ) and isinstance(expr.args[1].value, str):  # getattr(x, "name", default)
            follow(ast.Attribute(value=expr.args[0], attr=expr.args[1].value, ctx=ast.Load()))
            for default in expr.args[2:]:
                follow(default)
            return None
        if isinstance(func, ast.Attribute) and func.attr == "get" and expr.args:
            _held_by(model, value, func.value, follow)  # a registry: `agents.get(name, default)`
            for default in expr.args[1:]:
                follow(default)
            return None
        target = model.resolve(module, func, scope)
        if target is not None and target.is_function and target.module is not None:
            for node in own_nodes(target.node):
                if isinstance(node, ast.Return) and node.value is not None:
                    _sources(model, Value(target.module, node.value, target.node), found, seen, depth + 1)
            return None
    found.append(value)
    return None


def _name_sources(model, value: Value, follow) -> None:
    module, name, function = value.module, value.node.id, value.scope
    while function is not None:
        binding = local_binding(function, name, module)
        if binding is not None:
            kind, bound = binding
            if kind == "value":
                return follow(bound, function)
            if kind == "import":
                return _global_sources(model, module, bound, follow, qualified=True)
            if kind == "def":
                return None
            assigned = False
            for node in own_nodes(function):  # several assignments, or a parameter reassigned: each value
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                        assigned = True
                        follow(node.value, function)
            if not assigned and kind in ("annotation", "opaque"):
                _constructor_arguments(model, module, function, name, follow)
            return None
        function = module.enclosing(function)
    return _global_sources(model, module, name, follow)


def _global_sources(model, module: Module, name: str, follow, qualified: bool = False, depth: int = 0) -> None:
    """A module-level name of `module` (or a dotted name as `module` imports it) to its assigned values."""
    if depth > MAX_DEPTH:
        return None
    if not qualified:
        bindings = module.top_level.get(name)
        if bindings:
            for bound in bindings:
                if not isinstance(bound, (*FUNCTION_TYPES, ast.ClassDef)):
                    follow(bound, None, module)
            return None
        candidates = sorted(module.imports.names.get(name, ()))
    else:
        candidates = [name]
    for dotted in candidates:
        owner, _, attribute = dotted.rpartition(".")
        holder = model.module_named(owner, module.path) if owner else None
        if holder is not None and attribute:
            return _global_sources(model, holder, attribute, follow, depth=depth + 1)
    return None


def _attribute_sources(model, value: Value, follow) -> None:
    expr, module, scope = value.node, value.module, value.scope
    holder = expr.value
    if isinstance(holder, ast.Name) and scope is not None and _is_receiver(scope, holder.id):
        cls = module.enclosing_class(scope)
        if cls is not None:
            return _member_sources(model, module, cls, expr.attr, follow)
    owner = model.resolve(module, holder, scope)
    if owner is None:
        return None
    if owner.module is not None and owner.node is None:
        return _global_sources(model, owner.module, expr.attr, follow)
    if owner.is_class and owner.module is not None:
        return _member_sources(model, owner.module, owner.node, expr.attr, follow)
    return None


def _member_sources(model, module: Module, cls: ast.ClassDef, attribute: str, follow) -> None:
    """What `self.<attribute>` holds: class-level assignments, `self.<attribute> = ...` in any method, a property,
    and the store a ChatKitServer keeps as `self.store` (its first argument)."""
    found = False

    def counted(node, where, owner):
        nonlocal found
        found = True
        follow(node, where, owner)

    _own_member_sources(model, module, cls, attribute, counted)
    if not found and attribute in SERVER_ATTRIBUTES and model.resolver.subclass_of(module, cls, "chatkit", "ChatKitServer"):
        _server_argument(model, module, cls, attribute, follow)


SERVER_ATTRIBUTES = {"store": 0, "attachment_store": 1}  # ChatKitServer.__init__(store, attachment_store=None)


def _server_argument(model, module: Module, cls: ast.ClassDef, attribute: str, follow) -> None:
    """What a ChatKitServer subclass passes up as `store`: its `super().__init__(...)` argument, else (no __init__
    of its own) the argument its instantiations give."""
    position = SERVER_ATTRIBUTES[attribute]
    for holder_module, holder in model.resolver.mro(module, cls):
        init = next((s for s in holder.body if isinstance(s, FUNCTION_TYPES) and s.name == "__init__"), None)
        if init is None:
            continue
        for node in own_nodes(init):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "super"
            ):
                given = call_argument(node, position, attribute)
                if given is not None:
                    follow(given, init, holder_module)
        return None
    for value in _instantiations(model, module, cls):
        given = call_argument(value.node, position, attribute)
        if given is not None:
            follow(given, value.scope, value.module)
    return None


def _constructor_arguments(model, module: Module, function: ast.AST, name: str, follow) -> None:
    """A parameter of `__init__`: the arguments the class's instantiations give it."""
    if not isinstance(function, FUNCTION_TYPES) or function.name != "__init__":
        return None
    cls = module.parents.get(function)
    if not isinstance(cls, ast.ClassDef):
        return None
    positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)][1:]
    position = positional.index(name) if name in positional else None
    for value in _instantiations(model, module, cls):
        given = next((k.value for k in value.node.keywords if k.arg == name), None)
        if given is None and position is not None and position < len(value.node.args):
            given = value.node.args[position]
        if given is not None:
            follow(given, value.scope, value.module)
    return None


def _instantiations(model, module: Module, cls: ast.ClassDef) -> list[Value]:
    """The calls of the service that create an instance of `cls`."""
    found = []
    for path in model.project.grep(cls.name.encode(), "python"):
        other = model.module(path)
        if other is None or other.service != module.service:
            continue
        for node in walk(other.tree):
            if isinstance(node, ast.Call) and _mentions(node.func, cls.name):
                scope = other.enclosing(node)
                target = model.resolve(other, node.func, scope)
                if target is not None and target.node is cls and not target.instance:
                    found.append(Value(other, node, scope))
    return found


def _mentions(func: ast.AST, name: str) -> bool:
    return (isinstance(func, ast.Name) and func.id == name) or (isinstance(func, ast.Attribute) and func.attr == name)


def _own_member_sources(model, module: Module, cls: ast.ClassDef, attribute: str, follow) -> None:
    for holder_module, holder in model.resolver.mro(module, cls):
        for statement in holder.body:
            if isinstance(statement, FUNCTION_TYPES) and statement.name == attribute:
                for node in own_nodes(statement):  # a property
                    if isinstance(node, ast.Return) and node.value is not None:
                        follow(node.value, statement, holder_module)
                return None
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                    follow(statement.value, None, holder_module)
        for method in (s for s in holder.body if isinstance(s, FUNCTION_TYPES)):
            if not method.args.args:
                continue
            me = method.args.args[0].arg
            for node in own_nodes(method):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(
                        isinstance(t, ast.Attribute) and t.attr == attribute
                        and isinstance(t.value, ast.Name) and t.value.id == me for t in targets
                    ):
                        follow(node.value, method, holder_module)
    return None


def _held_by(model, value: Value, container: ast.AST, follow) -> None:
    """The values a registry holds: a dict's values, a list's elements."""
    held: list[Value] = []
    _sources(model, Value(value.module, container, value.scope), held, set(), 0)
    for source in held:
        if isinstance(source.node, ast.Dict):
            for item in source.node.values:
                follow(item, source.scope, source.module)
        elif isinstance(source.node, (ast.List, ast.Tuple, ast.Set)):
            for item in source.node.elts:
                follow(item.value if isinstance(item, ast.Starred) else item, source.scope, source.module)


def _is_receiver(scope: ast.AST, name: str) -> bool:
    return isinstance(scope, FUNCTION_TYPES) and bool(scope.args.args) and scope.args.args[0].arg == name


# ---- the model of a run -------------------------------------------------------------------------------------------


def _external(model, value: Value, func: ast.AST):
    target = value.node.func if isinstance(value.node, ast.Call) else func
    while isinstance(target, ast.Subscript):  # `Agent[Ctx](...)`
        target = target.value
    return model.resolve(value.module, target, value.scope)


def _names(ref, package: str, symbols: tuple[str, ...]) -> str | None:
    if ref is None or not ref.external:
        return None
    return next((symbol for symbol in symbols if ref.names(package, symbol)), None)


def chatcmpl_model(model, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> str | None:
    """Why the model value `expr` speaks chat completions (its class or its routed name), or None."""
    for value in value_sources(model, module, expr, scope):
        node = value.node
        if isinstance(node, ast.Call):
            found = _names(_external(model, value, node.func), "agents", CHATCMPL_CLASSES)
            if found:
                return found
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(CHATCMPL_PREFIXES):
            return f'"{node.value}"'
    return None


def is_model_name(model, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> bool:
    """The model is absent or given by name (a string), so the provider decides which API it speaks."""
    if expr is None:
        return True
    sources = value_sources(model, module, expr, scope)
    return bool(sources) and all(isinstance(v.node, ast.Constant) and isinstance(v.node.value, str) for v in sources)


def chatcmpl_provider(model, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> str | None:
    """A model provider that serves model names through chat completions."""
    for value in value_sources(model, module, expr, scope):
        node = value.node
        if not isinstance(node, ast.Call):
            continue
        ref = _external(model, value, node.func)
        flags = {"OpenAIProvider": "use_responses", "MultiProvider": "openai_use_responses"}
        for provider, flag in flags.items():
            if _names(ref, "agents", (provider,)):
                given = next((k.value for k in node.keywords if k.arg == flag), None)
                if isinstance(given, ast.Constant) and given.value is False:
                    return f"{provider}({flag}=False)"
        if ref is not None and ref.is_class and ref.module is not None:  # a provider class of the project
            for inner in walk(ref.node):
                if isinstance(inner, ast.Call):
                    found = _names(model.resolve(ref.module, inner.func, None), "agents", CHATCMPL_CLASSES)
                    if found:
                        return found
    return None


def agent_constructions(model, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> list[Value]:
    """The `Agent(...)` calls (and `agent.clone(...)` copies) the agent expression may evaluate to."""
    found = []
    for value in value_sources(model, module, expr, scope):
        node = value.node
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "clone":
            if any(k.arg == "model" for k in node.keywords):
                found.append(value)
            else:
                found.extend(agent_constructions(model, value.module, node.func.value, value.scope))
        elif _names(_external(model, value, node.func), "agents", ("Agent",)):
            found.append(value)
    return found


def default_api_is_chatcmpl(model, module: Module) -> str | None:
    """`set_default_openai_api("chat_completions")` in the service of `module`."""
    project = model.project
    service = module.service
    for path in project.grep(b"set_default_openai_api", "python"):
        other = model.module(path)
        if other is None or other.service != service:
            continue
        for node in walk(other.tree):
            if not isinstance(node, ast.Call) or not other.imports.refers_to(node.func, "agents", "set_default_openai_api"):
                continue
            api = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "api"), None)
            if isinstance(api, ast.Constant) and api.value == "chat_completions":
                return 'set_default_openai_api("chat_completions")'
    return None


def run_chatcmpl_reason(model, module: Module, run: ast.Call, scope: ast.AST | None) -> str | None:
    """Why a `Runner.run_streamed(...)` call runs a chat-completions model, or None when nothing shows it does."""
    run_config = call_argument(run, 5, "run_config")
    for config in value_sources(model, module, run_config, scope):
        node = config.node
        if isinstance(node, ast.Call) and _names(_external(model, config, node.func), "agents", ("RunConfig",)):
            reason = chatcmpl_model(model, config.module, call_argument(node, 0, "model"), config.scope)
            reason = reason or chatcmpl_provider(model, config.module, call_argument(node, 1, "model_provider"), config.scope)
            if reason:
                return reason
    agents = agent_constructions(model, module, call_argument(run, 0, "starting_agent"), scope)
    named_only = False
    for agent in agents:
        model_expr = next((k.value for k in agent.node.keywords if k.arg == "model"), None)
        reason = chatcmpl_model(model, agent.module, model_expr, agent.scope)
        if reason:
            return reason
        named_only = named_only or is_model_name(model, agent.module, model_expr, agent.scope)
    if named_only:
        return default_api_is_chatcmpl(model, module)
    return None
