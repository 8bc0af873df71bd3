"""`RunConfig(model_provider=...)` takes a `ModelProvider`, not an OpenAI client.

## Why
`RunConfig.model_provider` must be a `ModelProvider` (an object with `get_model(name)`), such as
`OpenAIProvider(openai_client=client)` or `MultiProvider()`. Passing the `AsyncOpenAI` client itself (the folklore of
many Gemini/OpenRouter tutorials) works only as long as every agent has a `Model` instance; the first agent with a
model *name* (or none, e.g. a handoff or a title agent) fails with
`AttributeError: 'AsyncOpenAI' object has no attribute 'get_model'`. A `Model` passed as the provider fails the same
way; it belongs in `model=`.

## Wrong
```python
client = AsyncOpenAI(api_key=key, base_url="https://openrouter.ai/api/v1")
run_config = RunConfig(model=model, model_provider=client)
```

## Right
```python
client = AsyncOpenAI(api_key=key, base_url="https://openrouter.ai/api/v1")
run_config = RunConfig(model=model, model_provider=OpenAIProvider(openai_client=client))
```
The fix wraps an `AsyncOpenAI` client in `OpenAIProvider(openai_client=...)` (imported from `agents`). A synchronous
`OpenAI` client or a `Model` gets a TODO marker: the provider needs an `AsyncOpenAI`, and a model goes in `model=`.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis.server import (
    CHATCMPL_MODEL_CLASSES,
    all_origins,
    argument,
    calls_named,
    may_name,
    project_view,
    unawait,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK213",
    slug="model-provider-misuse",
    safety=Safety.SAFE,
    summary="RunConfig(model_provider=<AsyncOpenAI client or Model>) where a ModelProvider is due",
    url="https://openai.github.io/openai-agents-python/models/#non-openai-models",
    triggers=(b"model_provider",),
    module=__name__,
    explanation=__doc__,
)


@RULE.check
def check(ctx):
    for call in calls_named(ctx, "RunConfig"):
        if not (may_name(ctx, call.func, "RunConfig") and ctx.refers_to(call.func, "agents", "RunConfig")):
            continue
        provider = argument(call, 1, "model_provider")
        if provider is None:
            continue
        kind = _kind(ctx, provider)
        if kind is None:
            continue
        if kind == "AsyncOpenAI":
            local, needed_import = ctx.ensure_import("agents", "OpenAIProvider")
            start, end = ctx.span(provider)
            yield ctx.finding(
                ctx.header_span(provider),
                "RunConfig(model_provider=...) gets an AsyncOpenAI client, not a ModelProvider: any agent with a "
                "model name fails with AttributeError: 'AsyncOpenAI' object has no attribute 'get_model'",
                fix=[needed_import, ctx.insert(start, f"{local}(openai_client="), ctx.insert(end, ")")],
                hint=f"model_provider={local}(openai_client={ctx.segment(provider)})",
            )
        elif kind == "OpenAI":
            yield ctx.finding(
                ctx.header_span(provider),
                "RunConfig(model_provider=...) gets a synchronous OpenAI client, not a ModelProvider: agents with a "
                "model name fail with AttributeError: 'OpenAI' object has no attribute 'get_model'",
                fix=ctx.todo(provider, "model_provider needs a ModelProvider: OpenAIProvider(openai_client="
                                       "AsyncOpenAI(...))"),
                complete=False,
                hint="model_provider=OpenAIProvider(openai_client=AsyncOpenAI(...))",
            )
        else:
            yield ctx.finding(
                ctx.header_span(provider),
                f"RunConfig(model_provider=...) gets a model ({kind}), not a ModelProvider: pass it as model=",
                fix=ctx.todo(provider, "pass this model as model= and drop model_provider (or use a "
                                       "ModelProvider)"),
                complete=False,
                hint="RunConfig(model=<the model>)",
            )


def _kind(ctx, provider: ast.expr) -> str | None:
    values = all_origins(ctx, provider)
    if values:
        kinds = {_value_kind(ctx.imports, unawait(v)) for v in values}
    elif isinstance(provider, ast.Name):
        kinds = {_imported_kind(ctx, provider)}
    else:
        return None
    kinds.discard(None)
    return kinds.pop() if len(kinds) == 1 else None


def _value_kind(imports, value: ast.expr) -> str | None:
    if not isinstance(value, ast.Call):
        return None
    if imports.refers_to(value.func, "openai", "AsyncOpenAI") or imports.refers_to(value.func, "agents", "AsyncOpenAI"):
        return "AsyncOpenAI"
    if imports.refers_to(value.func, "openai", "OpenAI"):
        return "OpenAI"
    for name in (*CHATCMPL_MODEL_CLASSES, "OpenAIResponsesModel"):
        if imports.refers_to(value.func, "agents", name):
            return name
    return None


def _imported_kind(ctx, name: ast.Name) -> str | None:
    """`from app.clients import client`: what that project module assigns to `client` at top level."""
    for qualified in sorted(ctx.imports.names.get(name.id, ())):
        module, _, attribute = qualified.rpartition(".")
        view = project_view(ctx.project, module, ctx.path) if module else None
        if view is None:
            continue
        for statement in view.tree.body:
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attribute for t in statement.targets):
                return _value_kind(view.imports, statement.value)
    return None


RULE.cases(
    valid=[
        Valid(
            "from agents import AsyncOpenAI, OpenAIProvider, RunConfig\n\n"
            "client = AsyncOpenAI(base_url='https://openrouter.ai/api/v1')\n"
            "config = RunConfig(model_provider=OpenAIProvider(openai_client=client))\n"
            "other = RunConfig(model_provider=MultiProvider())\n",
            filename="config.py",
        ),
        Valid(
            "from openai import AsyncOpenAI\n\n"
            "class RunConfig:\n    def __init__(self, **kw):\n        pass\n\n"
            "config = RunConfig(model_provider=AsyncOpenAI())\n",
            filename="local.py",
            name="a local RunConfig",
        ),
    ],
    invalid=[
        Edited(
            "from agents import Agent, AsyncOpenAI, OpenAIChatCompletionsModel\n"
            "from agents.run import RunConfig\n\n"
            "provider = AsyncOpenAI(\n"
            "    api_key=key,\n"
            "    base_url='https://generativelanguage.googleapis.com/v1beta/openai/',\n"
            ")\n"
            "model = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=provider)\n"
            "run_config = RunConfig(\n"
            "    model=model,\n"
            "    model_provider=provider,\n"
            "    tracing_disabled=True,\n"
            ")\n",
            ("from agents import Agent, AsyncOpenAI, OpenAIChatCompletionsModel\n",
             "from agents import Agent, AsyncOpenAI, OpenAIChatCompletionsModel, OpenAIProvider\n"),
            ("    model_provider=provider,\n",
             "    model_provider=OpenAIProvider(openai_client=provider),\n"),
            filename="agent/config.py",
            findings=[(11, 20, "RunConfig(model_provider=...) gets an AsyncOpenAI client, not a ModelProvider")],
            name="module-level client",
        ),
        Invalid(
            "import agents\n"
            "from openai import AsyncOpenAI as Client\n\n"
            "def make_config(key):\n"
            "    return agents.RunConfig(model_provider=Client(api_key=key), tracing_disabled=True)\n",
            "import agents\n"
            "from openai import AsyncOpenAI as Client\n"
            "from agents import OpenAIProvider\n\n"
            "def make_config(key):\n"
            "    return agents.RunConfig(model_provider=OpenAIProvider(openai_client=Client(api_key=key)), tracing_disabled=True)\n",
            filename="run_config.py",
            findings=[(5, 44, "RunConfig(model_provider=...) gets an AsyncOpenAI client, not a ModelProvider")],
            name="inline client, aliased import",
        ),
        Invalid(
            {
                "backend/app/clients.py": "from openai import AsyncOpenAI\n\nollama = AsyncOpenAI(base_url='http://localhost:11434/v1')\n",
                "backend/app/run.py": "from agents import RunConfig\nfrom app.clients import ollama\n\n"
                "def config():\n    return RunConfig(model_provider=ollama)\n",
                "backend/pyproject.toml": "[project]\nname = 'x'\n",
            },
            {
                "backend/app/run.py": "from agents import RunConfig, OpenAIProvider\nfrom app.clients import ollama\n\n"
                "def config():\n    return RunConfig(model_provider=OpenAIProvider(openai_client=ollama))\n",
            },
            findings=[("backend/app/run.py", 5, 37, "RunConfig(model_provider=...) gets an AsyncOpenAI client, not a ModelProvider")],
            name="client imported from another module",
        ),
        Invalid(
            "from openai import OpenAI\nfrom agents import RunConfig\n\n"
            "client = OpenAI()\nconfig = RunConfig(model_provider=client)\n",
            "from openai import OpenAI\nfrom agents import RunConfig\n\n"
            "client = OpenAI()\n"
            "# chatkit-fix: TODO[CK213] model_provider needs a ModelProvider: OpenAIProvider(openai_client=AsyncOpenAI(...))\n"
            "config = RunConfig(model_provider=client)\n",
            filename="config.py",
            findings=[(5, 35, "RunConfig(model_provider=...) gets a synchronous OpenAI client")],
            name="sync client: TODO marker",
        ),
        Edited(
            "from agents import OpenAIChatCompletionsModel, RunConfig\nfrom openai import AsyncOpenAI\n\n"
            "from providers import make_provider\n\n"
            "client = AsyncOpenAI()\n"
            'plain = RunConfig(model="gpt-4o")\n'
            "custom = RunConfig(model_provider=make_provider())\n"
            'positional = RunConfig("gpt-4o-mini", client)\n'
            'wrapped = RunConfig(model_provider=OpenAIChatCompletionsModel(model="m", openai_client=client))\n',
            ("from agents import OpenAIChatCompletionsModel, RunConfig\n",
             "from agents import OpenAIChatCompletionsModel, RunConfig, OpenAIProvider\n"),
            ('positional = RunConfig("gpt-4o-mini", client)\n',
             'positional = RunConfig("gpt-4o-mini", OpenAIProvider(openai_client=client))\n'
             "# chatkit-fix: TODO[CK213] pass this model as model= and drop model_provider (or use a ModelProvider)\n"),
            filename="config.py",
            findings=[
                (9, 39, "RunConfig(model_provider=...) gets an AsyncOpenAI client"),
                (10, 36, "RunConfig(model_provider=...) gets a model (OpenAIChatCompletionsModel), not a ModelProvider"),
            ],
            name="several RunConfigs: none, an unknown provider, a positional client, a model as provider (TODO)",
        ),
    ],
)
