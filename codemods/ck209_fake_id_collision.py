"""Chat-completions and LiteLLM models give every streamed item the id `__fake_id__`: remap it.

## Why
`stream_agent_response` reuses the model's output item id as the `AssistantMessageItem` id. Models that do not use
the OpenAI Responses API (`OpenAIChatCompletionsModel`, `LitellmModel`, `AnyLLMModel`, a `"litellm/..."` model
name, or any model after `set_default_openai_api("chat_completions")`) emit every item with the placeholder id
`agents.models.fake_id.FAKE_RESPONSES_ID == "__fake_id__"`. So every assistant message of every thread gets the same
id: the store overwrites or duplicates them, the UI merges messages, and retry, feedback and delete act on the wrong
item. Measured per release (`python benchmarks/facts/measure.py chatcmpl-streams-fake-id` and
`chatkit-keeps-fake-id`): every openai-agents release openai-chatkit accepts emits the placeholder, and no
openai-chatkit release remaps it (openai/chatkit-python#36 is open); the rule follows those measurements for the
releases the project declares.

## Wrong
```python
model = OpenAIChatCompletionsModel(model="gemini-2.0-flash", openai_client=gemini_client)
...
result = Runner.run_streamed(Agent(name="a", model=model), agent_input, context=agent_context)
async for event in stream_agent_response(agent_context, result):
    yield event
```

## Right
```python
async for event in _remap_fake_ids(stream_agent_response(agent_context, result), agent_context):
    yield event
```
where `_remap_fake_ids` (added to the module once by the fix) gives each `__fake_id__` item an id from
`store.generate_item_id("message", thread, context)` and rewrites the later updates of that item. Any remapping of
`__fake_id__` already in the module counts as handled; a Responses-API model needs none.
"""

from __future__ import annotations

from functools import partial

from chatkit_fix import versions
from chatkit_fix.analysis.server import (
    agent_context_of,
    chatcmpl_reason_for_run,
    dotted,
    loop_over,
    module_helper,
    run_of_stream,
    stream_calls,
    stream_is_wrapped,
)
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK209",
    slug="fake-id-collision",
    safety=Safety.SAFE,
    summary="chat-completions/LiteLLM model streamed with stream_agent_response and no __fake_id__ remapping",
    url="https://github.com/openai/chatkit-python/issues/36",
    triggers=(b"stream_agent_response",),
    module=__name__,
    explanation=__doc__,
)

HELPER = "_remap_fake_ids"
HELPER_CODE = '''async def _remap_fake_ids(events, agent_context):
    """Chat-completions and LiteLLM models stream every item with the placeholder id "__fake_id__": give each such
    item an id of its own from the store, so assistant messages stop overwriting each other (chatkit-python#36)."""
    fake, current = "__fake_id__", None
    async for event in events:
        item = getattr(event, "item", None)
        if getattr(item, "id", None) == fake:
            if event.type == "thread.item.added" or current is None:
                current = agent_context.store.generate_item_id(
                    "message", agent_context.thread, agent_context.request_context
                )
            event = event.model_copy(update={"item": item.model_copy(update={"id": current})})
        elif getattr(event, "item_id", None) == fake and current is not None:
            event = event.model_copy(update={"item_id": current})
        yield event
'''


EMITTED = "chatcmpl-streams-fake-id"  # openai-agents gives chat-completions items the placeholder id
KEPT = "chatkit-keeps-fake-id"  # openai-chatkit's stream_agent_response passes it on


@RULE.check
def check(ctx):
    if "__fake_id__" in ctx.text or "FAKE_RESPONSES_ID" in ctx.text:
        return  # any remapping of __fake_id__ counts as handled
    if not (versions.holds(ctx.project, EMITTED, ctx.path) and versions.holds(ctx.project, KEPT, ctx.path)):
        return
    pending = []
    for stream in stream_calls(ctx):
        run = run_of_stream(ctx, stream)
        if run is None:
            continue
        reason = chatcmpl_reason_for_run(ctx, run)
        if reason is None or stream_is_wrapped(ctx, stream) or _remapped_in_loop(ctx, stream):
            continue
        pending.append((stream, reason))
    if not pending:
        return
    first = min((stream for stream, _ in pending), key=lambda node: ctx.span(node)[0])  # the helper's one place
    for stream, reason in pending:
        message = (
            f"the run uses a chat-completions model ({reason}) and stream_agent_response() streams its items "
            "unchanged: every assistant message gets the id __fake_id__ and messages overwrite each other"
        )
        agent_context = dotted(agent_context_of(stream)) if agent_context_of(stream) is not None else None
        if agent_context is None:
            yield ctx.finding(ctx.header_span(stream), message, fix=ctx.todo(stream, "give __fake_id__ items "
                              "ids from store.generate_item_id(...) before yielding them"), complete=False,
                              hint="remap __fake_id__ to store.generate_item_id(...)")
            continue
        yield ctx.finding(ctx.header_span(stream), message, fix=partial(_remap, ctx, stream, agent_context, first),
                          hint=f"{HELPER}(stream_agent_response(...), {agent_context})")


def _remap(ctx, stream, agent_context: str, first) -> list:
    """The stream wrapped in the remapping helper, inserted once above the file's first such stream (the same
    edit for every finding of the file: identical insertions collapse)."""
    start, end = ctx.span(stream)
    return [module_helper(ctx, HELPER, HELPER_CODE, first), ctx.insert(start, f"{HELPER}("), ctx.insert(end, f", {agent_context})")]


def _remapped_in_loop(ctx, stream) -> bool:
    """The loop over the stream gives items new ids itself (`generate_item_id` or an id assignment in its body)."""
    loop = loop_over(ctx, stream)
    if loop is None:
        return False
    import ast

    for node in walk(loop):
        if isinstance(node, ast.Attribute) and node.attr == "generate_item_id":
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in ("id", "item_id") for t in node.targets
        ):
            return True
    return False


# the helper the fix inserts, written out here rather than taken from HELPER_CODE: a change to the rule's
# helper must show up as a failing case, not pass silently
REMAP_FAKE_IDS_WRITTEN = '''async def _remap_fake_ids(events, agent_context):
    """Chat-completions and LiteLLM models stream every item with the placeholder id "__fake_id__": give each such
    item an id of its own from the store, so assistant messages stop overwriting each other (chatkit-python#36)."""
    fake, current = "__fake_id__", None
    async for event in events:
        item = getattr(event, "item", None)
        if getattr(item, "id", None) == fake:
            if event.type == "thread.item.added" or current is None:
                current = agent_context.store.generate_item_id(
                    "message", agent_context.thread, agent_context.request_context
                )
            event = event.model_copy(update={"item": item.model_copy(update={"id": current})})
        elif getattr(event, "item_id", None) == fake and current is not None:
            event = event.model_copy(update={"item_id": current})
        yield event
'''

_SERVER_HEAD = (
    "from agents import Agent, Runner\n"
    "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n"
)

_REGISTRY = {
    "app/__init__.py": "",
    "app/llm.py": "from agents import OpenAIChatCompletionsModel\nfrom openai import AsyncAzureOpenAI\n\n"
    "MODEL = OpenAIChatCompletionsModel(model='gpt-4o', openai_client=AsyncAzureOpenAI())\n",
    "app/crew/__init__.py": "",
    "app/crew/triage.py": "from agents import Agent\n\nfrom ..llm import MODEL\n\n"
    "triage = Agent[dict](name='Triage', model=MODEL, instructions='route')\n",
    "app/crew/registry.py": "from .triage import triage\n\n\n"
    "class Registry:\n"
    "    def __init__(self, default=None):\n"
    "        self._default = default or triage\n"
    "        self._agents = {triage.name: triage}\n\n"
    "    def get_agent(self, name):\n"
    "        return self._agents.get(name, self._default)\n",
}
_REGISTRY_SERVER = (
    _SERVER_HEAD + "from app.crew.registry import Registry\n\n\n"
    "class AirlineServer(ChatKitServer[dict]):\n"
    "    def __init__(self, store):\n"
    "        super().__init__(store)\n"
    "        self._registry = Registry()\n\n"
    "    async def respond(self, thread, item, context):\n"
    "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        result = Runner.run_streamed(self._registry.get_agent(thread.metadata.get('agent')), [], context=ctx)\n"
    "        async for event in stream_agent_response(ctx, result):\n"
    "            yield event\n"
)


RULE.cases(
    valid=[
        Valid(
            {**_REGISTRY, "app/llm.py": "MODEL = 'gpt-4.1'\n", "app/server.py": _REGISTRY_SERVER},
            name="a registry of agents on a Responses model name",
        ),
        Valid(
            _SERVER_HEAD + "\n\nagent = Agent(name='a', model='gpt-4.1-mini')\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, [], context=agent_ctx)\n"
            "        async for event in stream_agent_response(agent_ctx, result):\n"
            "            yield event\n",
            filename="server.py",
            name="Responses model",
        ),
        Valid(
            _SERVER_HEAD + "from agents import OpenAIChatCompletionsModel\n\n"
            "model = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=client)\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(Agent(name='a', model=model), [], context=agent_ctx)\n"
            "        id_map = {}\n"
            "        async for event in stream_agent_response(agent_ctx, result):\n"
            "            if event.type == 'thread.item.added':\n"
            "                id_map[event.item.id] = self.store.generate_item_id('message', thread, context)\n"
            "                event.item.id = id_map[event.item.id]\n"
            "            yield event\n",
            filename="server.py",
            name="remapped in the loop",
        ),
        Valid(
            _SERVER_HEAD + "from agents.extensions.models.litellm_model import LitellmModel\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        agent = Agent(name='a', model=LitellmModel(model='gemini/gemini-2.0-flash'))\n"
            "        result = Runner.run_streamed(agent, [], context=agent_ctx)\n"
            "        async for event in fix_ids(stream_agent_response(agent_ctx, result)):\n"
            "            yield event\n",
            filename="server.py",
            name="wrapped by the project's own remapper",
        ),
    ],
    invalid=[
        Invalid(
            {**_REGISTRY, "app/server.py": _REGISTRY_SERVER},
            {"app/server.py": _REGISTRY_SERVER.replace(
                "from app.crew.registry import Registry\n\n\n",
                "from app.crew.registry import Registry\n\n\n" + REMAP_FAKE_IDS_WRITTEN + "\n\n",
            ).replace("stream_agent_response(ctx, result):", "_remap_fake_ids(stream_agent_response(ctx, result), ctx):")},
            findings=[("app/server.py", 15, 28, "the run uses a chat-completions model (OpenAIChatCompletionsModel)")],
            name="the model of an agent in a registry of another package (module-level model, relative import)",
        ),
        Invalid(
            "from agents import Agent, Runner\n"
            "from agents.extensions.models.litellm_model import LitellmModel\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "helper = Agent(name='helper', model=LitellmModel(model='anthropic/claude'))\n\n\n"
            "class Orchestrator:\n"
            "    async def run(self, agent, items, context):\n"
            "        if isinstance(agent, str):\n"
            "            agent = helper.clone(name=agent)\n"
            "        result = Runner.run_streamed(agent, items, context=context)\n\n"
            "        async def events():\n"
            "            async for event in stream_agent_response(context, result):\n"
            "                yield event\n\n"
            "        return events()\n",
            "from agents import Agent, Runner\n"
            "from agents.extensions.models.litellm_model import LitellmModel\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "helper = Agent(name='helper', model=LitellmModel(model='anthropic/claude'))\n\n\n"
            + REMAP_FAKE_IDS_WRITTEN + "\n\n"
            "class Orchestrator:\n"
            "    async def run(self, agent, items, context):\n"
            "        if isinstance(agent, str):\n"
            "            agent = helper.clone(name=agent)\n"
            "        result = Runner.run_streamed(agent, items, context=context)\n\n"
            "        async def events():\n"
            "            async for event in _remap_fake_ids(stream_agent_response(context, result), context):\n"
            "                yield event\n\n"
            "        return events()\n",
            filename="orchestrator.py",
            findings=[(15, 32, "the run uses a chat-completions model (LitellmModel)")],
            name="a parameter reassigned to a clone, the stream read in a closure",
        ),
        Invalid(
            _SERVER_HEAD + "from agents import OpenAIChatCompletionsModel, AsyncOpenAI\n\n"
            "client = AsyncOpenAI(base_url='https://generativelanguage.googleapis.com/v1beta/openai/')\n"
            "model = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=client)\n"
            "agent = Agent(name='Assistant', model=model)\n\n\n"
            "# The server\n"
            "class GeminiServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, [], context=agent_ctx)\n"
            "        async for event in stream_agent_response(agent_ctx, result):\n"
            "            yield event\n",
            _SERVER_HEAD + "from agents import OpenAIChatCompletionsModel, AsyncOpenAI\n\n"
            "client = AsyncOpenAI(base_url='https://generativelanguage.googleapis.com/v1beta/openai/')\n"
            "model = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=client)\n"
            "agent = Agent(name='Assistant', model=model)\n\n\n"
            + REMAP_FAKE_IDS_WRITTEN + "\n\n"
            "# The server\n"
            "class GeminiServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, [], context=agent_ctx)\n"
            "        async for event in _remap_fake_ids(stream_agent_response(agent_ctx, result), agent_ctx):\n"
            "            yield event\n",
            filename="app/chatkit_server.py",
            findings=[(16, 28, "the run uses a chat-completions model (OpenAIChatCompletionsModel)")],
            name="OpenAIChatCompletionsModel in the same file",
        ),
        Invalid(
            {
                "backend/app/llm.py": "from agents.extensions.models.litellm_model import LitellmModel as LLM\n\n"
                "def build_model():\n    return LLM(model='openrouter/x')\n",
                "backend/app/agent.py": "from agents import Agent\nfrom app.llm import build_model\n\n"
                "support_agent = Agent(name='support', model=build_model())\n",
                "backend/app/server.py": "from agents.run import Runner as R\n"
                "from chatkit.server import ChatKitServer\n\n"
                "from app.agent import support_agent\n\n\n"
                "class SupportServer(ChatKitServer):\n"
                "    async def respond(self, thread, item, context):\n"
                "        from chatkit.agents import AgentContext, stream_agent_response\n"
                "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
                "        result = R.run_streamed(support_agent, [], context=ctx)\n"
                "        async for event in stream_agent_response(\n"
                "            ctx,\n"
                "            result,\n"
                "        ):\n"
                "            yield event\n",
                "backend/pyproject.toml": "[project]\nname = 'x'\n",
            },
            {
                "backend/app/server.py": "from agents.run import Runner as R\n"
                "from chatkit.server import ChatKitServer\n\n"
                "from app.agent import support_agent\n\n\n"
                + REMAP_FAKE_IDS_WRITTEN + "\n\n"
                "class SupportServer(ChatKitServer):\n"
                "    async def respond(self, thread, item, context):\n"
                "        from chatkit.agents import AgentContext, stream_agent_response\n"
                "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
                "        result = R.run_streamed(support_agent, [], context=ctx)\n"
                "        async for event in _remap_fake_ids(stream_agent_response(\n"
                "            ctx,\n"
                "            result,\n"
                "        ), ctx):\n"
                "            yield event\n",
            },
            findings=[("backend/app/server.py", 12, 28, "the run uses a chat-completions model (LitellmModel)")],
            name="LiteLLM model two modules away, aliases, lazy imports",
        ),
        Invalid(
            {
                "api/config.py": "from agents import AsyncOpenAI, OpenAIChatCompletionsModel, RunConfig\n\n"
                "gemini = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=AsyncOpenAI())\n"
                "run_config = RunConfig(model=gemini, tracing_disabled=True)\n",
                "api/index.py": "from agents import Agent, Runner\n"
                "from chatkit.agents import AgentContext, stream_agent_response\n"
                "from chatkit.server import ChatKitServer\n"
                "from api.config import run_config\n\n\n"
                "class SimpleChatServer(ChatKitServer):\n"
                "    async def respond(self, thread, input, context):\n"
                "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
                "        result = Runner.run_streamed(Agent(name='x'), [], context=agent_context, run_config=run_config)\n"
                "        async for event in stream_agent_response(agent_context, result):\n"
                "            yield event\n",
            },
            {
                "api/index.py": "from agents import Agent, Runner\n"
                "from chatkit.agents import AgentContext, stream_agent_response\n"
                "from chatkit.server import ChatKitServer\n"
                "from api.config import run_config\n\n\n"
                + REMAP_FAKE_IDS_WRITTEN + "\n\n"
                "class SimpleChatServer(ChatKitServer):\n"
                "    async def respond(self, thread, input, context):\n"
                "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
                "        result = Runner.run_streamed(Agent(name='x'), [], context=agent_context, run_config=run_config)\n"
                "        async for event in _remap_fake_ids(stream_agent_response(agent_context, result), agent_context):\n"
                "            yield event\n",
            },
            findings=[("api/index.py", 11, 28, "the run uses a chat-completions model (OpenAIChatCompletionsModel)")],
            name="RunConfig with a chat-completions model imported from another module (Vercel layout)",
        ),
        Invalid(
            "from agents import Agent, Runner, set_default_openai_api\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "set_default_openai_api('chat_completions')\n\n"
            "async def stream_a(ctx, items):\n"
            "    async for event in stream_agent_response(ctx, Runner.run_streamed(Agent(name='a', model='gpt-4o'), items, context=ctx)):\n"
            "        yield event\n\n"
            "async def stream_b(ctx, items):\n"
            "    result = Runner.run_streamed(Agent(name='b'), items, context=ctx)\n"
            "    async for event in stream_agent_response(ctx, result):\n"
            "        yield event\n",
            "from agents import Agent, Runner, set_default_openai_api\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "set_default_openai_api('chat_completions')\n\n"
            + REMAP_FAKE_IDS_WRITTEN + "\n\n"
            "async def stream_a(ctx, items):\n"
            "    async for event in _remap_fake_ids(stream_agent_response(ctx, Runner.run_streamed(Agent(name='a', model='gpt-4o'), items, context=ctx)), ctx):\n"
            "        yield event\n\n"
            "async def stream_b(ctx, items):\n"
            "    result = Runner.run_streamed(Agent(name='b'), items, context=ctx)\n"
            "    async for event in _remap_fake_ids(stream_agent_response(ctx, result), ctx):\n"
            "        yield event\n",
            filename="stream.py",
            findings=[
                (7, 24, "the run uses a chat-completions model"),
                (12, 24, "the run uses a chat-completions model"),
            ],
            name="default API set to chat completions, helper inserted once",
        ),
    ],
)
