"""`Runner.run_streamed` takes an `Agent`, is not awaited, and is iterated through `.stream_events()`.

## Why
`Runner.run_streamed(starting_agent, input, ...)` is a plain function that returns a `RunResultStreaming` at once.
Three misuses break it:

- Its first argument must be the `Agent`. Given the `RunResult` of an earlier `await Runner.run(...)` (or of a
  helper annotated `-> RunResult`, or a wrapper object that holds the agent) it raises at once:
  `AttributeError: 'RunResult' object has no attribute 'handoffs'` in recent openai-agents releases, `... no
  attribute 'output_type'` in older ones. The finding quotes the text measured for the release the project declares
  (`python benchmarks/facts/measure.py runresult-as-starting-agent-error`; chatkit_fix/data/version-facts.json).
- `await Runner.run_streamed(...)` raises `TypeError: object RunResultStreaming can't be used in 'await' expression`.
- `async for event in Runner.run_streamed(...)` raises `TypeError` too: the events come from `.stream_events()`.

## Wrong
```python
first = await Runner.run(agent, items)
result = Runner.run_streamed(first, items, context=agent_context)
streamed = await Runner.run_streamed(agent, items)
async for event in Runner.run_streamed(agent, items):
    ...
```

## Right
```python
result = Runner.run_streamed(agent, items, context=agent_context)
async for event in result.stream_events():
    ...
```
To continue after a finished run, pass the agent and `first.to_input_list() + [new_item]` as input. The fix passes
the agent of the earlier run (or the wrapper's agent attribute), drops the `await` and adds `.stream_events()`; when
the agent cannot be known it leaves a TODO marker.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix import versions
from chatkit_fix.analysis.server import (
    ModuleView,
    all_origins,
    argument,
    definition_of,
    dotted,
    flow_of,
    is_run,
    methods,
    origin,
    parent_of,
    run_streamed_calls,
    scope_of,
    unawait,
    view_of,
    walk_scope,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK204",
    slug="run-streamed-misuse",
    safety=Safety.SAFE,
    summary="Runner.run_streamed needs the Agent (not a RunResult), no await, and .stream_events() to iterate",
    url="https://openai.github.io/openai-agents-python/streaming/",
    triggers=(b"run_streamed",),
    module=__name__,
    explanation=__doc__,
)


FACT = "runresult-as-starting-agent-error"


def runresult_error(project, path) -> str:
    """What the openai-agents release of `path`'s service raises for a RunResult given as the starting agent, as
    measured (benchmarks/facts/runresult_as_agent.py); a general description when the release is unknown."""
    answer = versions.value(project, FACT, path)
    if not answer.value:
        return "an AttributeError (the RunResult has none of the Agent's attributes)"
    return f"{answer.value} (openai-agents {answer.judged.version})"


@RULE.check
def check(ctx):
    for run in run_streamed_calls(ctx):
        yield from _starting_agent(ctx, run)
        parent = parent_of(ctx, run)
        if isinstance(parent, ast.Await):
            yield ctx.finding(
                ctx.header_span(parent),
                "await Runner.run_streamed(...): it is not a coroutine (TypeError: object RunResultStreaming can't "
                "be used in 'await' expression)",
                fix=ctx.replace(parent, ctx.segment(run)),
                hint="drop the await",
            )
        yield from _iterated_directly(ctx, run, parent)


# ---- a RunResult (or a wrapper) as the starting agent ------------------------------------------------------------


def _starting_agent(ctx, run: ast.Call):
    agent = argument(run, 0, "starting_agent")
    if agent is None:
        return
    error = runresult_error(ctx.project, ctx.path)
    message = f"Runner.run_streamed() gets a RunResult where the Agent is due: it raises {error}"
    inline = unawait(agent) if isinstance(agent, ast.Await) else None
    if inline is not None and is_run(ctx, inline):
        yield _replace_with_agent(ctx, agent, inline, message)
        return
    if not isinstance(agent, ast.Name):
        return
    scope = scope_of(ctx, agent)
    flow = flow_of(ctx, scope)
    annotation = flow.annotations.get(agent.id)
    if annotation is not None and ctx.refers_to(annotation, "agents", "RunResult"):
        yield _todo(ctx, run, message)
        return
    values = all_origins(ctx, agent)
    runs = [unawait(v) for v in values if is_run(ctx, unawait(v))]
    if runs:
        if len(values) == 1:
            yield _replace_with_agent(ctx, agent, runs[0], message)
        else:
            yield _todo(ctx, run, message)
        return
    for value in values:
        call = unawait(value)
        if not isinstance(call, ast.Call):
            continue
        found = _callee(ctx, call)
        if found is None:
            continue
        view, definition = found
        if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) and _returns_run_result(view, definition):
            yield _todo(ctx, run, message + f" (from {definition.name}())")
            return
        wrapper = _wrapper_attribute(ctx, view, definition)
        if wrapper is not None and len(values) == 1:
            cls_name, attribute = wrapper
            yield ctx.finding(
                ctx.header_span(run),
                f"Runner.run_streamed() gets a {cls_name} wrapper where the Agent is due: it raises "
                f"{error.replace('RunResult', cls_name)}",
                fix=ctx.insert(ctx.span(agent)[1], f".{attribute}"),
                hint=f"pass {agent.id}.{attribute}",
            )
            return


def _callee(ctx, call: ast.Call) -> tuple[ModuleView, ast.AST] | None:
    view = view_of(ctx)
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        cls = _enclosing_class(ctx, call)
        if cls is not None:
            for method in methods(cls):
                if method.name == func.attr:
                    return view, method
        return None
    return definition_of(ctx, view, func)


def _enclosing_class(ctx, node: ast.AST) -> ast.ClassDef | None:
    current = parent_of(ctx, node)
    while current is not None and not isinstance(current, ast.ClassDef):
        current = parent_of(ctx, current)
    return current


def _returns_run_result(view: ModuleView, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if func.returns is not None:
        annotation = func.returns
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            return annotation.value.endswith("RunResult")
        return view.refers_to(annotation, "agents", "RunResult")
    assigned: dict[str, ast.expr] = {}
    for node in walk_scope(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
    for node in walk_scope(func):
        if isinstance(node, ast.Return) and node.value is not None:
            value = assigned.get(node.value.id, node.value) if isinstance(node.value, ast.Name) else node.value
            value = unawait(value)
            if isinstance(value, ast.Call) and (
                view.refers_to(value.func, "agents", "Runner.run") or view.refers_to(value.func, "agents", "Runner.run_sync")
            ):
                return True
    return False


def _wrapper_attribute(ctx, view: ModuleView, definition: ast.AST) -> tuple[str, str] | None:
    """(class name, attribute) when `definition` builds an object that is not an Agent but holds one."""
    cls: ast.ClassDef | None = None
    cls_view = view
    if isinstance(definition, ast.ClassDef):
        cls = definition
    elif isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        candidates = []
        if definition.returns is not None:
            annotation = definition.returns
            if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
                annotation = ast.Name(id=annotation.value, ctx=ast.Load())
            candidates.append(annotation)
        for node in walk_scope(definition):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                candidates.append(node.value.func)
        for candidate in candidates:
            if view.refers_to(candidate, "agents", "Agent"):
                return None
            found = definition_of(ctx, view, candidate) if isinstance(candidate, ast.Name) else None
            if found is not None and isinstance(found[1], ast.ClassDef):
                cls_view, cls = found
                break
    if cls is None:
        return None
    for base in cls.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        if cls_view.refers_to(target, "agents", "Agent"):
            return None
    attributes = []
    for method in methods(cls):
        for node in walk_scope(method):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func.value if isinstance(node.value.func, ast.Subscript) else node.value.func
                if not cls_view.refers_to(func, "agents", "Agent"):
                    continue
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and dotted(target.value) == "self" and target.attr not in attributes:
                        attributes.append(target.attr)
    if len(attributes) == 1:
        return cls.name, attributes[0]
    return None


def _replace_with_agent(ctx, anchor: ast.expr, run: ast.Call, message: str):
    agent = argument(run, 0, "starting_agent")
    text = dotted(agent) if agent is not None else None
    if text is None:
        return _todo(ctx, anchor, message)
    return ctx.finding(
        ctx.header_span(anchor),
        message,
        fix=partial(_agent_instead, ctx, anchor, agent, text),
        hint=f"pass the agent ({text}); continue a finished run with result.to_input_list() as input",
    )


def _agent_instead(ctx, anchor: ast.expr, agent: ast.expr, text: str):
    """The run's own agent in place of its result, when that name is bound once in the scope (else a TODO: which
    agent it holds at this point is not told by one assignment)."""
    root = agent
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name) and len(flow_of(ctx, scope_of(ctx, anchor)).bindings.get(root.id, [])) > 1:
        return _todo_edit(ctx, anchor)
    return ctx.replace(anchor, text)


def _todo(ctx, anchor: ast.AST, message: str):
    return ctx.finding(ctx.header_span(anchor), message, fix=_todo_edit(ctx, anchor), hint="pass the Agent itself")


def _todo_edit(ctx, anchor: ast.AST):
    return ctx.todo(anchor, "pass the Agent to Runner.run_streamed (continue a finished run with "
                            "result.to_input_list() + [new item] as input)")


# ---- async for ... in Runner.run_streamed(...) -------------------------------------------------------------------


def _iterated_directly(ctx, run: ast.Call, parent: ast.AST | None):
    if isinstance(parent, ast.Await):
        parent = parent_of(ctx, parent)
    targets = []
    if isinstance(parent, (ast.AsyncFor, ast.comprehension)) and parent.iter is run:
        targets.append(run)
    elif isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        name = parent.targets[0].id
        scope = scope_of(ctx, run)
        for node in walk_scope(scope) if scope is not ctx.tree else walk(ctx.tree):
            if isinstance(node, (ast.AsyncFor, ast.comprehension)) and isinstance(node.iter, ast.Name) and node.iter.id == name:
                if isinstance(node, ast.comprehension) and not node.is_async:
                    continue
                if unawait(origin(ctx, node.iter)) is run:
                    targets.append(node.iter)
    for target in targets:
        yield ctx.finding(
            ctx.header_span(target),
            "async for over a RunResultStreaming: it is not an async iterator (TypeError); iterate "
            ".stream_events()",
            fix=ctx.insert(ctx.span(target)[1], ".stream_events()"),
            hint="async for event in result.stream_events()",
        )


RULE.cases(
    valid=[
        Valid(
            "from agents import Runner\n\n"
            "async def main(agent, items):\n"
            "    result = Runner.run_streamed(agent, items)\n"
            "    async for event in result.stream_events():\n"
            "        print(event)\n",
            filename="stream.py",
        ),
        Valid(
            "from agents import Runner\n\n"
            "async def follow_up(agent, items, extra):\n"
            "    first = await Runner.run(agent, items)\n"
            "    return Runner.run_streamed(agent, first.to_input_list() + extra)\n",
            filename="continue.py",
            name="continuation passes the agent",
        ),
        Valid(
            "from agents import Runner\n"
            "from task_agents.agent import create_task_agent\n\n"
            "async def respond(tools, items, ctx):\n"
            "    task_agent = create_task_agent(tools=tools)\n"
            "    return Runner.run_streamed(task_agent.agent, items, context=ctx)\n",
            filename="routes/chatkit.py",
            name="wrapper's agent attribute",
        ),
        Valid(
            "class Runner:\n    @staticmethod\n    def run_streamed(x):\n        return x\n\n"
            "async def f(r):\n    async for e in Runner.run_streamed(r):\n        pass\n",
            filename="local.py",
            name="a local Runner",
        ),
    ],
    invalid=[
        Invalid(
            "from agents import Runner\n\n"
            "async def respond(agent, items, agent_ctx):\n"
            "    first = await Runner.run(agent, items)\n"
            "    result = Runner.run_streamed(first, items, context=agent_ctx)\n"
            "    return result\n",
            "from agents import Runner\n\n"
            "async def respond(agent, items, agent_ctx):\n"
            "    first = await Runner.run(agent, items)\n"
            "    result = Runner.run_streamed(agent, items, context=agent_ctx)\n"
            "    return result\n",
            filename="server.py",
            findings=[(5, 34, "Runner.run_streamed() gets a RunResult where the Agent is due: it raises AttributeError: 'RunResult' object")],
            name="RunResult from await Runner.run",
        ),
        Edited(
            "from agents.run import Runner as R, RunResult\n\n"
            "async def run_agent(agent, text) -> RunResult:\n"
            "    return await R.run(agent, text)\n\n"
            "async def respond(agent, text):\n"
            "    previous = await run_agent(agent, text)\n"
            "    return R.run_streamed(previous, text)\n",
            ("    previous = await run_agent(agent, text)\n",
             "    previous = await run_agent(agent, text)\n"
             "    # chatkit-fix: TODO[CK204] pass the Agent to Runner.run_streamed (continue a finished run with result.to_input_list() + [new item] as input)\n"),
            filename="agent_runner.py",
            findings=[(8, 12, "(from run_agent())")],
            name="helper annotated -> RunResult, aliased import",
        ),
        Invalid(
            {
                "backend/task_agents/agent.py": "from agents import Agent\n\n\n"
                "class TaskAgent:\n"
                "    def __init__(self, tools):\n"
                "        self.agent = Agent(name='tasks', tools=tools)\n\n\n"
                "def create_task_agent(tools=None) -> TaskAgent:\n"
                "    return TaskAgent(tools or [])\n",
                "backend/main.py": "import agents\n"
                "from task_agents.agent import create_task_agent\n\n\n"
                "async def respond(items, ctx):\n"
                "    task_agent = create_task_agent()\n"
                "    return agents.Runner.run_streamed(task_agent, items, context=ctx)\n",
            },
            {
                "backend/main.py": "import agents\n"
                "from task_agents.agent import create_task_agent\n\n\n"
                "async def respond(items, ctx):\n"
                "    task_agent = create_task_agent()\n"
                "    return agents.Runner.run_streamed(task_agent.agent, items, context=ctx)\n",
            },
            findings=[("backend/main.py", 7, 12, "Runner.run_streamed() gets a TaskAgent wrapper where the Agent is due: it raises AttributeError: 'TaskAgent'")],
            name="wrapper object from another module",
        ),
        Edited(
            "from agents import Runner\n\n"
            "async def respond(agent, items):\n"
            "    result = await Runner.run_streamed(\n"
            "        agent,\n"
            "        items,\n"
            "    )\n"
            "    async for event in result:\n"
            "        yield event\n",
            ("    result = await Runner.run_streamed(\n",
             "    result = Runner.run_streamed(\n"),
            ("    async for event in result:\n",
             "    async for event in result.stream_events():\n"),
            filename="app/agent.py",
            findings=[
                (4, 14, "await Runner.run_streamed(...): it is not a coroutine"),
                (8, 24, "async for over a RunResultStreaming: it is not an async iterator (TypeError)"),
            ],
            name="awaited and iterated directly, multi-line",
        ),
        Invalid(
            "async def stream(agent, text):\n"
            "    from agents import Runner\n"
            "    async for event in Runner.run_streamed(agent, input=text):\n"
            "        yield event\n",
            "async def stream(agent, text):\n"
            "    from agents import Runner\n"
            "    async for event in Runner.run_streamed(agent, input=text).stream_events():\n"
            "        yield event\n",
            filename="agent.py",
            findings=[(3, 24, "async for over a RunResultStreaming: it is not an async iterator (TypeError)")],
            name="lazy import, inline iteration",
        ),
    ],
)
