"""Chat-completions and LiteLLM models reject ChatKit's assistant history: send it as plain text.

## Why
`simple_to_agent_input()` and the default `ThreadItemConverter` turn each earlier `AssistantMessageItem` into an
input message whose content parts are `{"type": "output_text", ...}`. That is what the Responses API wants, but the
Agents SDK's chat-completions converter (`agents.models.chatcmpl_converter.Converter.items_to_messages`, used by
`OpenAIChatCompletionsModel` and `LitellmModel`) rejects it in some releases: `UserError: Unknown content: {...
'type': 'output_text' ...}`. The first message of a thread works; from the second message on, every turn fails.

Which releases fail was measured by running two turns against each release of openai-agents with openai-chatkit
1.6.5 (`python benchmarks/facts/measure.py chatcmpl-rejects-output-text-history`; the ranges are in
`chatkit_fix/data/version-facts.json`). The rule fires only where the project's service gets such a release (what it
declares; an unbounded pin means the newest release), so a project on a release that accepts the history hears nothing.

## Wrong
```python
agent = Agent(name="a", model=LitellmModel(model="gemini/gemini-2.0-flash"))
page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
agent_input = await simple_to_agent_input(list(reversed(page.data)))
```

## Right
```python
agent_input = _assistant_history_as_text(await simple_to_agent_input(list(reversed(page.data))))
```
where `_assistant_history_as_text` (added to the module once by the fix) replaces each assistant message's parts
with their text, keeping user items as they are. A converter subclass that overrides `assistant_message_to_input`
counts as handled.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix import versions
from chatkit_fix.analysis.server import (
    argument,
    call_name,
    calls_named,
    chatcmpl_reason_for_run,
    definition_of,
    enclosing_function,
    flow_of,
    is_history_conversion,
    is_run,
    is_run_streamed,
    methods,
    module_helper,
    parent_of,
    respond_methods,
    runs_fed_by,
    self_attribute_values,
    unawait,
    view_of,
)
from chatkit_fix.codemods._cases import Edited, edited, with_files
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK215",
    slug="chatcmpl-history-content",
    safety=Safety.SAFE,
    summary="chat-completions/LiteLLM model fed ChatKit history with output_text parts (fails from the 2nd turn)",
    url="https://openai.github.io/openai-agents-python/models/litellm/",
    triggers=(b"to_agent_input",),
    module=__name__,
    explanation=__doc__,
)

HELPER = "_assistant_history_as_text"
HELPER_CODE = '''def _assistant_history_as_text(items):
    """Chat-completions and LiteLLM models reject earlier assistant messages sent as output_text parts (UserError:
    Unknown content): send their text as plain string content instead."""
    for item in items:
        if isinstance(item, dict) and item.get("role") == "assistant" and isinstance(item.get("content"), list):
            item["content"] = "".join(part.get("text", "") for part in item["content"] if isinstance(part, dict))
    return items
'''
HISTORY_MARKERS = ("load_thread_items", "load_items", "get_thread_items")
FACT = "chatcmpl-rejects-output-text-history"


@RULE.check
def check(ctx):
    answer = versions.value(ctx.project, FACT, ctx.path)
    if not answer.value:
        return
    pending = []
    for call in calls_named(ctx, "to_agent_input", "simple_to_agent_input"):
        if not is_history_conversion(ctx, call) or not _converts_history(ctx, call):
            continue
        if _wrapped(ctx, call) or _converter_handles_assistant(ctx, call):
            continue
        reasons = [r for r in (chatcmpl_reason_for_run(ctx, run) for run in runs_fed_by(ctx, call)) if r]
        if reasons:
            pending.append((call, reasons[0]))
    if not pending:
        return
    first = min((call for call, _ in pending), key=lambda node: ctx.span(node)[0])  # the helper's one place
    for call, reason in pending:
        message = (
            f"thread history goes to a chat-completions model ({reason}) with assistant messages as output_text "
            f"parts: the model's converter in openai-agents {answer.judged.version} raises UserError: Unknown "
            "content, so every thread fails from its second message"
        )
        awaited = parent_of(ctx, call)
        if not isinstance(awaited, ast.Await):
            yield ctx.finding(ctx.header_span(call), message, fix=ctx.todo(call, "send earlier assistant messages "
                              "as plain text content to the chat-completions model"), complete=False,
                              hint="convert assistant history to plain text")
            continue
        yield ctx.finding(
            ctx.header_span(call),
            message,
            fix=partial(_as_text, ctx, awaited, first),
            hint=f"{HELPER}(await ...to_agent_input(...))",
        )


def _as_text(ctx, awaited: ast.Await, first: ast.Call) -> list:
    """The converted history passed through the helper, inserted once above the file's first such conversion (the
    same edit for every finding of the file: identical insertions collapse)."""
    start, end = ctx.span(awaited)
    return [module_helper(ctx, HELPER, HELPER_CODE, first), ctx.insert(start, f"{HELPER}("), ctx.insert(end, ")")]


def _converts_history(ctx, call: ast.Call) -> bool:
    """The converted items come from the thread (a page of items), not just the current message."""
    items = argument(call, 0, "thread_items")
    if items is None:
        return False
    func = enclosing_function(ctx, call)
    if func is None:
        return False
    nodes, _ = flow_of(ctx, func).closure(items)
    for respond in respond_methods(ctx):
        if respond.func is func and isinstance(unawait(items), ast.Name) and unawait(items).id == respond.message:
            return False
    for node in nodes:
        if isinstance(node, ast.Call) and call_name(node) in HISTORY_MARKERS:
            return True
        if isinstance(node, ast.Attribute) and node.attr == "data":
            return True
    return False


def _wrapped(ctx, call: ast.Call) -> bool:
    holder = parent_of(ctx, call)
    holder = holder if isinstance(holder, ast.Await) else call
    parent = parent_of(ctx, holder)
    if not (isinstance(parent, ast.Call) and holder in parent.args):
        return False
    return not (is_run(ctx, parent) or is_run_streamed(ctx, parent) or call_name(parent) in ("list", "tuple"))


def _converter_handles_assistant(ctx, call: ast.Call) -> bool:
    """`<converter>.to_agent_input(...)` with a converter class that overrides assistant_message_to_input; a
    converter that cannot be seen counts as handling it (no guess)."""
    if ctx.refers_to(call.func, "chatkit", "simple_to_agent_input"):
        return False
    if not isinstance(call.func, ast.Attribute):
        return True
    receiver = call.func.value
    values = []
    if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
        values = self_attribute_values(ctx, receiver)
    elif isinstance(receiver, ast.Call):
        values = [receiver]
    elif isinstance(receiver, ast.Name):
        from chatkit_fix.analysis.server import all_origins

        values = all_origins(ctx, receiver)
    classes = [v.func for v in values if isinstance(v, ast.Call)]
    if not classes:
        return True
    view = view_of(ctx)
    for cls_expr in classes:
        if ctx.refers_to(cls_expr, "chatkit", "ThreadItemConverter"):
            continue
        found = definition_of(ctx, view, cls_expr)
        if found is None or not isinstance(found[1], ast.ClassDef):
            return True
        cls_view, cls = found
        if any(m.name == "assistant_message_to_input" for m in methods(cls)):
            return True
        if not any(cls_view.refers_to(b, "chatkit", "ThreadItemConverter") for b in cls.bases):
            return True  # a deeper hierarchy: do not guess
    return False


# the helper the fix inserts, written out here rather than taken from HELPER_CODE: a change to the rule's
# helper must show up as a failing case, not pass silently
HISTORY_AS_TEXT_WRITTEN = '''def _assistant_history_as_text(items):
    """Chat-completions and LiteLLM models reject earlier assistant messages sent as output_text parts (UserError:
    Unknown content): send their text as plain string content instead."""
    for item in items:
        if isinstance(item, dict) and item.get("role") == "assistant" and isinstance(item.get("content"), list):
            item["content"] = "".join(part.get("text", "") for part in item["content"] if isinstance(part, dict))
    return items
'''

_HEAD = (
    "from agents import Agent, Runner\n"
    "from agents.extensions.models.litellm_model import LitellmModel\n"
    "from chatkit.agents import AgentContext, ThreadItemConverter, simple_to_agent_input, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n\n"
    "agent = Agent(name='a', model=LitellmModel(model='gemini/gemini-2.0-flash'))\n"
)

_TODO_SERVER = (
    "from agents.run import Runner as R\n"
    "from chatkit.server import ChatKitServer\n"
    "from app.agent import build_agent\n\n\n"
    "class TodoServer(ChatKitServer['Ctx']):\n"
    "    def __init__(self, store):\n"
    "        from chatkit.agents import ThreadItemConverter\n"
    "        super().__init__(store)\n"
    "        self.converter = ThreadItemConverter()\n\n"
    "    async def respond(self, thread, item, context):\n"
    "        from chatkit.agents import AgentContext, stream_agent_response\n"
    "        page = await self.store.load_thread_items(thread.id, None, 30, 'desc', context)\n"
    "        history = list(reversed(page.data))\n"
    "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        result = R.run_streamed(\n"
    "            build_agent(),\n"
    "            await self.converter.to_agent_input(history),\n"
    "            context=ctx,\n"
    "        )\n"
    "        async for event in stream_agent_response(ctx, result):\n"
    "            yield event\n"
)

AGENTS_0_24 = {"requirements.txt": "openai-agents==0.24.0\n"}  # a release whose converter rejects the history
_LITELLM_SERVER = (
    _HEAD + "\n\nclass GeminiServer(ChatKitServer[dict]):\n"
    "    async def respond(self, thread, input_user_message, context):\n"
    "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
    "        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n"
    "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        result = Runner.run_streamed(agent, agent_input, context=ctx)\n"
    "        async for e in stream_agent_response(ctx, result):\n"
    "            yield e\n"
)

RULE.cases(
    valid=[
        Valid({"requirements.txt": "openai-agents>=0.25\n", "app/chatkit_server.py": _LITELLM_SERVER},
              name="openai-agents>=0.25 accepts the history"),
        Valid({"pyproject.toml": "[project]\nname = 'app'\ndependencies = ['openai-agents']\n",
               "app/chatkit_server.py": _LITELLM_SERVER},
              name="unbounded openai-agents: the newest release accepts the history"),
        Valid(
            "from agents import Agent, Runner\n"
            "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n"
            "agent = Agent(name='a', model='gpt-4.1')\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        items = await simple_to_agent_input(list(reversed(page.data)))\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        async for e in stream_agent_response(ctx, Runner.run_streamed(agent, items, context=ctx)):\n"
            "            yield e\n",
            filename="server.py",
            name="Responses model",
        ),
        Valid(
            _HEAD + "\n\nclass S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        items = await simple_to_agent_input(input_user_message)\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        async for e in stream_agent_response(ctx, Runner.run_streamed(agent, items, context=ctx)):\n"
            "            yield e\n",
            filename="server.py",
            name="only the current message: no assistant content",
        ),
        Valid(
            _HEAD + "\n\nclass PlainConverter(ThreadItemConverter):\n"
            "    async def assistant_message_to_input(self, item):\n"
            "        return {'role': 'assistant', 'content': ''.join(c.text for c in item.content)}\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    def __init__(self, store):\n"
            "        super().__init__(store)\n"
            "        self.converter = PlainConverter()\n\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        items = await self.converter.to_agent_input(list(reversed(page.data)))\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        async for e in stream_agent_response(ctx, Runner.run_streamed(agent, items, context=ctx)):\n"
            "            yield e\n",
            filename="server.py",
            name="converter subclass overrides assistant messages",
        ),
    ],
    invalid=[
        with_files(Edited(
            _LITELLM_SERVER,
            ("\n\nclass GeminiServer", "\n\n" + HISTORY_AS_TEXT_WRITTEN + "\n\nclass GeminiServer"),
            ("        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n",
             "        agent_input = _assistant_history_as_text(await simple_to_agent_input(list(reversed(page.data))))\n"),
            filename="app/chatkit_server.py",
            findings=[("app/chatkit_server.py", 12, 29, "thread history goes to a chat-completions model (LitellmModel)")],
            name="simple_to_agent_input and LitellmModel, openai-agents==0.24.0",
        ), AGENTS_0_24),
        Invalid(
            {"chat/requirements.txt": "openai-agents==0.24.0\n", "chat/app/chatkit_server.py": _LITELLM_SERVER,
             "support/requirements.txt": "openai-agents>=0.25\n", "support/app/chatkit_server.py": _LITELLM_SERVER},
            {"chat/app/chatkit_server.py": edited(
                _LITELLM_SERVER,
                ("\n\nclass GeminiServer", "\n\n" + HISTORY_AS_TEXT_WRITTEN + "\n\nclass GeminiServer"),
                ("        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n",
                 "        agent_input = _assistant_history_as_text(await simple_to_agent_input(list(reversed(page.data))))\n"),
            )},
            findings=[("chat/app/chatkit_server.py", 12, 29, "openai-agents 0.24.0 raises UserError")],
            name="two services: only the one pinning openai-agents 0.24.0",
        ),
        Invalid(
            {
                "backend/app/models.py": "from agents import OpenAIChatCompletionsModel, AsyncOpenAI\n\n"
                "gemini = OpenAIChatCompletionsModel(model='gemini-2.0-flash', openai_client=AsyncOpenAI())\n",
                "backend/app/agent.py": "from agents import Agent\nfrom .models import gemini\n\n"
                "def build_agent():\n    return Agent(name='todo', model=gemini)\n",
                "backend/app/server.py": _TODO_SERVER,
                "backend/requirements.txt": "openai-agents==0.24.0\n",
            },
            {"backend/app/server.py": edited(
                _TODO_SERVER,
                ("from app.agent import build_agent\n\n\n", "from app.agent import build_agent\n\n\n" + HISTORY_AS_TEXT_WRITTEN + "\n\n"),
                ("            await self.converter.to_agent_input(history),\n",
                 "            _assistant_history_as_text(await self.converter.to_agent_input(history)),\n"),
            )},
            findings=[("backend/app/server.py", 19, 19, "thread history goes to a chat-completions model (OpenAIChatCompletionsModel)")],
            name="default converter on self, model in another module, inline input",
        ),
        with_files(Edited(
            "from agents import Agent, Runner, set_default_openai_api\n"
            "from chatkit.agents import simple_to_agent_input as to_input, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n"
            "set_default_openai_api('chat_completions')\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        result = Runner.run_streamed(Agent(name='a', model='gpt-4o-mini'),\n"
            "                                     await to_input(list(reversed(page.data))), context=self.ctx)\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            ("\n\n\nclass S(", "\n\n\n" + HISTORY_AS_TEXT_WRITTEN + "\n\nclass S("),
            ("await to_input(list(reversed(page.data))), context=self.ctx)",
             "_assistant_history_as_text(await to_input(list(reversed(page.data)))), context=self.ctx)"),
            filename="server.py",
            findings=[("server.py", 12, 44, 'thread history goes to a chat-completions model (set_default_openai_api("chat_completions"))')],
            name="default API set to chat completions, aliased converter inline",
        ), {"uv.lock": 'version = 1\n\n[[package]]\nname = "openai-agents"\nversion = "0.24.0"\n'}),
    ],
)
