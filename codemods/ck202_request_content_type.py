"""ChatKit user content is typed `input_text`, and every user input carries `attachments` and `inference_options`.

## Why
The ChatKit protocol discriminates content parts on `type`. User content is `input_text` (or `input_tag`), assistant
content is `output_text`. A body with `{"type": "text"}` fails pydantic validation inside `ChatKitServer.process()`
(`union_tag_invalid: Input tag 'text' ... does not match any of the expected tags: 'input_text', 'input_tag'`), which
FastAPI turns into an HTTP 500. `attachments` and `inference_options` are required fields of `UserMessageInput`
(and `inference_options` of `UserMessageItem`): leaving them out fails the same way. The rule looks at Python
request bodies and model constructors, and at request bodies in `.json`, `.http` and `.sh` files (curl scripts).

## Wrong
```python
body = {"type": "threads.create",
        "params": {"input": {"content": [{"type": "text", "text": "Hi"}]}}}
```

## Right
```python
body = {"type": "threads.create",
        "params": {"input": {"content": [{"type": "input_text", "text": "Hi"}],
                             "attachments": [], "inference_options": {}}}}
```
The required fields are those measured for the openai-chatkit release the project declares, else those of the
installed `chatkit.types` models.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from pathlib import Path

from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.jsonpos import Value, from_python, objects_in
from chatkit_fix.pyast import keyword, walk
from chatkit_fix.rules import Invalid, Valid, rule

STREAMING_INPUT_REQUESTS = ("threads.create", "threads.add_user_message")
TEXT_FILE_SUFFIXES = (".json", ".http", ".rest", ".sh", ".bash", ".zsh")


def _accepts(path: Path) -> bool:
    return path.suffix.lower() in (".py", ".pyi", *TEXT_FILE_SUFFIXES)


RULE = rule(
    code="CK202",
    slug="request-content-type",
    safety=Safety.SAFE,
    summary="user content must be typed input_text (assistant: output_text), with attachments and inference_options",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/types.py",
    languages=("python", "text"),
    triggers=(b"threads.", b"UserMessage", b"AssistantMessage", (b"role", b"content", b'"text"'), (b"role", b"content", b"'text'")),
    accepts=_accepts,
    anywhere=(re.compile(rb"threads\.(?:create|add_user_message)"),),
    module=__name__,
    explanation=__doc__,
)


def _defaults(field_name: str, python: bool, ctx=None) -> str:
    if field_name == "attachments":
        return "[]"
    if field_name == "inference_options":
        return "{}"
    return "None" if python else "null"


def _required_input_fields(ctx) -> list[str]:
    from chatkit_fix.sdk import chatkit_facts_for

    fields = chatkit_facts_for(ctx.project, ctx.path)["required_fields"].get("UserMessageInput", [])
    return [f for f in fields if f != "content"]


class _Emitter:
    """Turns problems found in a Value tree into findings with edits, for Python or JSON text."""

    def __init__(self, ctx, python: bool):
        self.ctx = ctx
        self.python = python

    def quote(self, text: str) -> str:
        return self.ctx.string_literal(text) if self.python else f'"{text}"'

    def wrong_type(self, node: Value, right: str, who: str):
        return self.ctx.finding(
            (node.start, node.end),
            f"{who} content typed {node.value!r}: ChatKit expects {right!r} (HTTP 500 from union_tag_invalid)",
            fix=self.ctx.replace((node.start, node.end), self.quote(right)),
            hint=f'use "type": "{right}"',
        )

    def missing_fields(self, obj: Value, missing: list[str]):
        entries = [f"{self.quote(name)}: {_defaults(name, self.python)}" for name in missing]
        return self.ctx.finding(
            (obj.start, obj.start + 1),
            f"user input without {', '.join(missing)}: required by ChatKit, the request fails validation",
            fix=partial(_append_members, self.ctx, obj, entries),
            hint=f"add {', '.join(entries)}",
        )


def _append_members(ctx, obj: Value, entries: list[str]):
    """Insert `entries` after the last member of an object, on new lines when the object spans several lines."""
    text = ctx.text
    if not obj.members:
        return ctx.insert(obj.start + 1, ", ".join(entries))
    _, key_start, _, last = obj.members[-1]
    after_last = last.end
    closing = obj.end - 1
    between = text[after_last:closing]
    trailing_comma = between.lstrip().startswith(",")
    if "\n" in text[obj.start:obj.end]:
        line_start = text.rfind("\n", 0, key_start) + 1
        indent = text[line_start:key_start]
        if not indent.strip():
            joined = "".join(f",\n{indent}{entry}" for entry in entries)
            if trailing_comma:
                comma = after_last + between.index(",") + 1
                return ctx.insert(comma, joined[1:] + ",")
            return ctx.insert(after_last, joined)
    if trailing_comma:
        comma = after_last + between.index(",") + 1
        return ctx.insert(comma, " " + ", ".join(entries) + ",")
    return ctx.insert(after_last, ", " + ", ".join(entries))


def _check_content(emit: _Emitter, content: Value | None, right: str, who: str):
    if content is None or content.kind != "array":
        return
    for part in content.items:
        if part.kind != "object":
            continue
        kind = part.get("type")
        if kind is not None and kind.kind == "string" and kind.value == "text":
            yield emit.wrong_type(kind, right, who)


def _check_input(emit: _Emitter, user_input: Value | None, required: list[str]):
    if user_input is None or user_input.kind != "object":
        return
    yield from _check_content(emit, user_input.get("content"), "input_text", "user")
    missing = [name for name in required if user_input.get(name) is None]
    if missing and not user_input.partial and user_input.get("content") is not None:
        yield emit.missing_fields(user_input, missing)


def _is_request(node: Value) -> bool:
    kind = node.string("type")
    return node.kind == "object" and kind is not None and kind.startswith(("threads.", "items.", "attachments.")) and (
        node.get("params") is not None or kind in STREAMING_INPUT_REQUESTS
    )


def _check_request(emit: _Emitter, request: Value, required: list[str]):
    if request.string("type") not in STREAMING_INPUT_REQUESTS:
        return
    params = request.get("params")
    if params is not None and params.kind == "object":
        yield from _check_input(emit, params.get("input"), required)


def _check_role_message(emit: _Emitter, message: Value):
    role = message.string("role")
    if role == "user":
        yield from _check_content(emit, message.get("content"), "input_text", "user")
    elif role == "assistant":
        yield from _check_content(emit, message.get("content"), "output_text", "assistant")


@RULE.check
def check(ctx):
    if ctx.language == "python":
        yield from _check_python(ctx)
    else:
        yield from _check_text(ctx)


def _check_text(ctx):
    emit = _Emitter(ctx, python=False)
    requests = objects_in(ctx.text, _is_request)
    if requests:
        required = _required_input_fields(ctx)
        for request in requests:
            yield from _check_request(emit, request, required)


def _check_python(ctx):
    emit = _Emitter(ctx, python=True)
    required: list[str] | None = None
    agent_input = ctx.imports.imports_package("agents") and "chat.completions" not in ctx.text
    in_list: set[int] = set()  # dicts that are items of a list or tuple (walked before their items)
    for node in walk(ctx.tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            in_list.update(id(item) for item in node.elts if isinstance(item, ast.Dict))
        elif isinstance(node, ast.Dict):
            if not any(isinstance(key, ast.Constant) and key.value in ("type", "role") for key in node.keys):
                continue  # neither a request nor a message: not worth lifting
            value = from_python(node, ctx.span)
            if _is_request(value):
                if _only_logged(ctx, node):
                    continue  # a request written to the log for tracing is never sent
                required = required if required is not None else _required_input_fields(ctx)
                yield from _check_request(emit, value, required)
            elif agent_input and value.string("role") in ("user", "assistant") and id(node) in in_list:
                yield from _check_role_message(emit, value)
            elif value.string("role") == "user" and _stored_as_thread_item(ctx, node):
                yield from _check_content(emit, value.get("content"), "input_text", "user")
        elif isinstance(node, ast.Call):
            yield from _check_model_call(ctx, emit, node)


LOGGING = ("debug", "info", "warning", "warn", "error", "exception", "critical", "log")
STORE_WRITES = ("add_thread_item", "save_item")


def _stored_as_thread_item(ctx, item: ast.Dict) -> bool:
    """A hand-built user message that goes to the store as a thread item (`store.add_thread_item(thread.id, item,
    context)`, itself or through the one name it is assigned to): ChatKit reads it back as a UserMessageItem."""
    holder = ctx.parents.get(item)
    names: set[str] = set()
    if isinstance(holder, ast.Assign) and len(holder.targets) == 1 and isinstance(holder.targets[0], ast.Name):
        names.add(holder.targets[0].id)
    scope = ctx.module.enclosing(item) or ctx.tree
    for node in walk(scope):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STORE_WRITES:
            given = keyword(node, "item")
            stored = given.value if given is not None else (node.args[1] if len(node.args) > 1 else None)
            if stored is item or (isinstance(stored, ast.Name) and stored.id in names):
                return True
    return False


def _only_logged(ctx, body: ast.Dict) -> bool:
    """The request body is bound to a name whose every use is inside a logging call (`logger.debug(...,
    json.dumps(body))`, `print(body)`): nothing sends it."""
    statement = ctx.parents.get(body)
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
        return False
    name = statement.targets[0].id
    scope = ctx.module.enclosing(statement) or ctx.tree
    uses = [n for n in walk(scope) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
    return bool(uses) and all(_inside_logging(ctx, use, scope) for use in uses)


def _inside_logging(ctx, node: ast.AST, scope: ast.AST) -> bool:
    current = ctx.parents.get(node)
    while current is not None and current is not scope and not isinstance(current, ast.stmt):
        if isinstance(current, ast.Call):
            func = current.func
            if (isinstance(func, ast.Attribute) and func.attr in LOGGING) or (isinstance(func, ast.Name) and func.id == "print"):
                return True
        current = ctx.parents.get(current)
    return False


def _check_model_call(ctx, emit: _Emitter, call: ast.Call):
    func = call.func
    attribute_target = func.value if isinstance(func, ast.Attribute) and func.attr in ("model_validate", "parse_obj") else None
    for model in ("UserMessageInput", "UserMessageItem", "AssistantMessageItem", "UserMessageTextContent", "AssistantMessageContent"):
        if attribute_target is not None and ctx.refers_to(attribute_target, "chatkit", model) and call.args:
            if isinstance(call.args[0], ast.Dict) and model == "UserMessageInput":
                yield from _check_input(emit, from_python(call.args[0], ctx.span), _required_input_fields(ctx))
            return
        if not ctx.refers_to(func, "chatkit", model):
            continue
        if model in ("UserMessageTextContent", "AssistantMessageContent"):
            type_kw = keyword(call, "type")
            if type_kw is not None and isinstance(type_kw.value, ast.Constant) and type_kw.value.value == "text":
                right = "input_text" if model == "UserMessageTextContent" else "output_text"
                yield emit.wrong_type(from_python(type_kw.value, ctx.span), right, "user" if right == "input_text" else "assistant")
            return
        content = keyword(call, "content")
        if content is not None:
            right, who = ("output_text", "assistant") if model == "AssistantMessageItem" else ("input_text", "user")
            yield from _check_content(emit, from_python(content.value, ctx.span), right, who)
        if model in ("UserMessageInput", "UserMessageItem"):
            yield from _missing_keywords(ctx, call, model)
        return


def _missing_keywords(ctx, call: ast.Call, model: str):
    from chatkit_fix.sdk import chatkit_facts_for

    if any(k.arg is None for k in call.keywords) or call.args:
        return  # **kwargs or positional arguments: the fields may be there
    required = [f for f in chatkit_facts_for(ctx.project, ctx.path)["required_fields"].get(model, [])
                if f in ("attachments", "inference_options")]
    missing = [name for name in required if keyword(call, name) is None]
    if not missing:
        return
    edits = []
    parts = []
    for name in missing:
        if name == "inference_options":
            local, needed_import = ctx.ensure_import("chatkit.types", "InferenceOptions")
            parts.append(f"inference_options={local}()")
            edits.append(needed_import)
        else:
            parts.append(f"{name}=[]")
    last = call.keywords[-1].value if call.keywords else None
    if last is None:
        edits.append(ctx.insert(ctx.span(call)[1] - 1, ", ".join(parts)))
    else:
        end = ctx.span(last)[1]
        close = ctx.span(call)[1] - 1
        between = ctx.text[end:close]
        if "\n" in between or between.strip().startswith(","):
            line = ctx.line_of(call.keywords[-1].value)
            indent = ctx.source.indentation(line)
            comma = end + between.index(",") + 1 if "," in between else None
            text = "".join(f"\n{indent}{part}," for part in parts)
            edits.append(ctx.insert(comma, text) if comma is not None else ctx.insert(end, "," + text.rstrip(",")))
        else:
            edits.append(ctx.insert(end, ", " + ", ".join(parts)))
    yield ctx.finding(
        ctx.header_span(call),
        f"{model}(...) without {', '.join(missing)}: the model requires it and validation fails",
        fix=edits,
        hint=", ".join(parts),
    )


RULE.cases(
    valid=[
        Valid(
            'body = {"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Hi"}],'
            ' "attachments": [], "inference_options": {}}}}\n',
            filename="tests/test_api.py",
        ),
        Valid('messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]\n', filename="chat.py",
              name="chat completions content is not ChatKit's"),
        Valid('{"type": "threads.list", "params": {"limit": 5}}\n', filename="req.json"),
        Valid("curl -d '{\"type\":\"threads.get_by_id\",\"params\":{\"thread_id\":\"thr_1\"}}' localhost:8000/chatkit\n", filename="smoke.sh"),
        Valid(
            "async def remember(store, thread, text, context):\n"
            "    note = {'id': 'n1', 'type': 'message', 'role': 'assistant', 'content': [{'type': 'text', 'text': text}]}\n"
            "    draft = {'role': 'user', 'content': [{'type': 'text', 'text': text}]}\n"
            "    await store.add_thread_item(thread.id, note, context)\n"
            "    return draft\n",
            filename="chatkit_server.py",
            name="an assistant item stored, a user dict never stored",
        ),
        Valid(
            "import json\nimport logging\n\nlogger = logging.getLogger(__name__)\n\n\n"
            "async def create_session(user, db):\n"
            "    payload = {'type': 'threads.create', 'params': {'input': {'content': [{'type': 'input_text', "
            "'text': 'Session started'}]}}}\n"
            "    logger.debug('translated for %s: %s', user.id, json.dumps(payload))\n"
            "    return await db.create_conversation(user.id)\n",
            filename="api/sessions.py",
            name="a request only written to the log",
        ),
    ],
    invalid=[
        Edited(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class RagServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        user_item = {\n"
            "            'id': self.store.generate_item_id('message', thread, context),\n"
            "            'type': 'message',\n"
            "            'role': 'user',\n"
            "            'content': [{'type': 'text', 'text': input.content[0].text}],\n"
            "        }\n"
            "        await self.store.add_thread_item(thread.id, item=user_item, context=context)\n"
            "        yield self.answer(thread)\n",
            ("            'content': [{'type': 'text', 'text': input.content[0].text}],\n",
             "            'content': [{'type': 'input_text', 'text': input.content[0].text}],\n"),
            filename="backend/chatkit_server.py",
            findings=[(10, 34, "input_text")],
            name="a hand-built user message stored as a thread item",
        ),
        Invalid(
            'body = {"type": "threads.create", "params": {"input": {"content": [{"type": "text", "text": "Hi"}],'
            ' "attachments": [], "inference_options": {}}}}\n',
            'body = {"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Hi"}],'
            ' "attachments": [], "inference_options": {}}}}\n',
            filename="tests/test_api.py",
            findings=[(1, 77, "user content typed 'text'")],
        ),
        Edited(
            "payload = {\n"
            "    'type': 'threads.add_user_message',\n"
            "    'params': {\n"
            "        'thread_id': tid,\n"
            "        'input': {\n"
            "            'content': [{'type': 'text', 'text': msg}],\n"
            "        },\n"
            "    },\n"
            "}\n",
            ("            'content': [{'type': 'text', 'text': msg}],\n",
             "            'content': [{'type': 'input_text', 'text': msg}],\n"
             "            'attachments': [],\n"
             "            'inference_options': {},\n"),
            filename="client.py",
            findings=[
                (5, 18, "user input without attachments, inference_options"),
                (6, 34, "user content typed 'text'"),
            ],
            name="multi-line dict, single quotes, missing fields",
        ),
        Invalid(
            "from chatkit.types import UserMessageItem, UserMessageTextContent as Text\n\n"
            "item = UserMessageItem(id='m1', thread_id=t, created_at=now, content=[{'type': 'text', 'text': q}])\n",
            "from chatkit.types import UserMessageItem, UserMessageTextContent as Text, InferenceOptions\n\n"
            "item = UserMessageItem(id='m1', thread_id=t, created_at=now, content=[{'type': 'input_text', 'text': q}], inference_options=InferenceOptions())\n",
            filename="backend/store.py",
            findings=[
                (3, 8, "UserMessageItem(...) without inference_options"),
                (3, 80, "user content typed 'text'"),
            ],
            name="model constructor",
        ),
        Invalid(
            "curl -X POST localhost:8000/chatkit -H 'Content-Type: application/json' \\\n"
            "  -d '{\"type\": \"threads.create\", \"params\": {\"input\": {\"content\": [{\"type\": \"text\", \"text\": \"hi\"}]}}}'\n",
            "curl -X POST localhost:8000/chatkit -H 'Content-Type: application/json' \\\n"
            "  -d '{\"type\": \"threads.create\", \"params\": {\"input\": {\"content\": [{\"type\": \"input_text\", \"text\": \"hi\"}], \"attachments\": [], \"inference_options\": {}}}}'\n",
            filename="scripts/smoke.sh",
            findings=[
                (2, 54, "user input without attachments, inference_options"),
                (2, 76, "user content typed 'text'"),
            ],
            name="curl script",
        ),
        Edited(
            "POST http://localhost:8000/chatkit\nContent-Type: application/json\n\n"
            "{\n  \"type\": \"threads.create\",\n  \"params\": {\n    \"input\": {\n      \"content\": [{\"type\": \"text\", \"text\": \"hi\"}]\n    }\n  }\n}\n",
            ('      "content": [{"type": "text", "text": "hi"}]\n',
             '      "content": [{"type": "input_text", "text": "hi"}],\n'
             '      "attachments": [],\n'
             '      "inference_options": {}\n'),
            filename="requests/chat.http",
            findings=[
                (7, 14, "user input without attachments, inference_options"),
                (8, 28, "user content typed 'text'"),
            ],
            name=".http file",
        ),
        Invalid(
            "from agents import Runner\n\nasync def run(agent, text, answer):\n"
            "    items = [{'role': 'user', 'content': [{'type': 'text', 'text': text}]},\n"
            "             {'role': 'assistant', 'content': [{'type': 'text', 'text': answer}]}]\n"
            "    return Runner.run_streamed(agent, items)\n",
            "from agents import Runner\n\nasync def run(agent, text, answer):\n"
            "    items = [{'role': 'user', 'content': [{'type': 'input_text', 'text': text}]},\n"
            "             {'role': 'assistant', 'content': [{'type': 'output_text', 'text': answer}]}]\n"
            "    return Runner.run_streamed(agent, items)\n",
            filename="agent_input.py",
            findings=[
                (4, 52, "user content typed 'text'"),
                (5, 57, "assistant content typed 'text'"),
            ],
            name="Responses-API agent input",
        ),
        Invalid(
            "from datetime import datetime\n\n"
            "from chatkit.types import AssistantMessageContent, AssistantMessageItem, UserMessageTextContent\n\n"
            "now = datetime.now()\n"
            "question = UserMessageTextContent(type='text', text='Hi')\n"
            "answer = AssistantMessageContent(type='text', text='Hello')\n"
            "item = AssistantMessageItem(id='a1', thread_id='t', created_at=now, content=[{'type': 'text', 'text': 'Hello'}])\n",
            "from datetime import datetime\n\n"
            "from chatkit.types import AssistantMessageContent, AssistantMessageItem, UserMessageTextContent\n\n"
            "now = datetime.now()\n"
            "question = UserMessageTextContent(type='input_text', text='Hi')\n"
            "answer = AssistantMessageContent(type='output_text', text='Hello')\n"
            "item = AssistantMessageItem(id='a1', thread_id='t', created_at=now, content=[{'type': 'output_text', 'text': 'Hello'}])\n",
            filename="history.py",
            findings=[
                (6, 40, "user content typed 'text'"),
                (7, 39, "assistant content typed 'text'"),
                (8, 87, "assistant content typed 'text'"),
            ],
            name="content models: user input_text, assistant output_text",
        ),
    ],
)
