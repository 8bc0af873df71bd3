"""The ChatKit endpoint streams a `StreamingResult` as SSE and returns a `NonStreamingResult`'s JSON bytes as is.

## Why
`server.process(body, context)` returns a `StreamingResult` (an async iterable of ready-made SSE frames,
`b"data: {...}\\n\\n"`) or a `NonStreamingResult` whose `.json` holds the JSON *bytes*. The endpoint must hand them
over unchanged:

- buffering the stream (`async for chunk in result` into a list, then one `Response`) makes the UI wait for the
  whole answer and breaks cancellation and progress events;
- `str(result)` sends the Python repr (`NonStreamingResult(json=b'...')`), not JSON; `result.json()` raises
  (`json` is bytes, not a method); `JSONResponse(result)` or Flask's `Response(result)` cannot serialise the result
  object at all. A fallback after both result types were handled never runs and is not reported;
- a `StreamingResponse` without `media_type="text/event-stream"` (or JSON sent as `text/event-stream`) makes the
  client misread the body;
- JSON built with f-strings (`f'{{"error": "{e}"}}'`) breaks as soon as the message holds a quote or a newline.

## Wrong
```python
result = await server.process(await request.body(), context)
if isinstance(result, StreamingResult):
    return StreamingResponse(result)
return Response(content=str(result))
```

## Right
```python
result = await server.process(await request.body(), context)
if isinstance(result, StreamingResult):
    return StreamingResponse(result, media_type="text/event-stream")
return Response(content=result.json, media_type="application/json")
```
The fix writes the canonical form and keeps extra arguments such as `headers=` and `status_code=`. It applies to
FastAPI and Starlette; other frameworks get the report only.
"""

from __future__ import annotations

import ast
import json
from functools import partial

from chatkit_fix.analysis import web
from chatkit_fix.analysis.server import (
    argument,
    block_of,
    calls_named,
    dotted,
    parent_of,
    statement_of,
    string_value,
    walk_scope,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK201",
    slug="endpoint-response",
    safety=Safety.SAFE,
    summary="the ChatKit endpoint must stream StreamingResult as text/event-stream and return result.json as JSON",
    url="https://openai.github.io/chatkit-python/quickstart/",
    triggers=((b".process(", b"Response"),),
    module=__name__,
    explanation=__doc__,
)

SSE = "text/event-stream"
JSON = "application/json"
RESPONSE_MODULES = ("fastapi", "starlette")


@RULE.check
def check(ctx):
    fixable = any(ctx.imports.imports_package(m) for m in RESPONSE_MODULES)
    for func, result in _endpoints(ctx):
        for anchor, message, fix, hint in _problems(ctx, func, result):
            built = partial(_built, ctx, anchor, fix, hint) if fixable and fix is not None else None
            yield ctx.finding(ctx.header_span(anchor), message, fix=built, hint=hint)


def _built(ctx, anchor, fix, hint: str):
    """A problem's edits (a lazy fix): `fix` is the edits, "todo", or a function building them whose None means a
    TODO marker saying `hint`."""
    edits = fix() if callable(fix) else fix
    return ctx.todo(anchor, hint) if edits is None or edits == "todo" else edits


def _endpoints(ctx):
    """(function, result name) for each `result = await <server>.process(...)` that is ChatKit's."""
    for node in calls_named(ctx, "process"):
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "process") or not 1 <= len(node.args) + len(node.keywords) <= 2:
            continue
        awaited = parent_of(ctx, node)  # `await server.process(...)`, or a sync endpoint's `asyncio.run(...)`
        ran = isinstance(awaited, ast.Call) and len(awaited.args) == 1 and awaited.args[0] is node and not awaited.keywords
        if not (isinstance(awaited, ast.Await) or ran):
            continue
        statement = parent_of(ctx, awaited)
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
            continue
        func = _function_of(ctx, statement)
        if func is None:
            continue
        name = statement.targets[0].id
        receiver = (dotted(node.func.value) or "").lower()
        if "chatkit" in receiver or "server" in receiver or _looks_like_chatkit_result(func, name):
            yield func, name


def _function_of(ctx, node):
    current = parent_of(ctx, node)
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
        current = parent_of(ctx, current)
    return current


def _looks_like_chatkit_result(func, name: str) -> bool:
    for node in walk_scope(func):
        if isinstance(node, ast.Attribute) and node.attr == "json" and isinstance(node.value, ast.Name) and node.value.id == name:
            return True
        if isinstance(node, ast.Name) and node.id in ("StreamingResult", "NonStreamingResult"):
            return True
        if isinstance(node, ast.Constant) and node.value == "__aiter__":
            return True
    return False


def _is_result(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_result_json(node: ast.AST | None, name: str) -> bool:
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        node = node.func  # `result.json()`: reported on its own, fixed to `result.json`
    return isinstance(node, ast.Attribute) and node.attr == "json" and _is_result(node.value, name)


def _response_kind(ctx, call: ast.Call) -> str | None:
    for module in RESPONSE_MODULES:
        for kind in ("StreamingResponse", "JSONResponse", "Response", "ORJSONResponse"):
            if ctx.refers_to(call.func, module, kind):
                return kind
    return None


RESULT_TYPES = ("StreamingResult", "NonStreamingResult")


def _never_runs(ctx, node: ast.AST, func, name: str) -> bool:
    """The node sits where neither result type gets: in the else of tests (or after early returns) that already
    took both a StreamingResult and a NonStreamingResult, the only things process() returns."""
    return set(RESULT_TYPES) <= _taken(ctx, node, func, name)


def _taken(ctx, node: ast.AST, func, name: str) -> set[str]:
    """The result types that cannot reach `node`: tests it sits in the else of, early returns before it."""
    taken: set[str] = set()
    current = node
    while current is not None and current is not func:
        parent = parent_of(ctx, current)
        if isinstance(parent, ast.If) and any(current is s for s in parent.orelse):
            taken |= _true_for(ctx, parent.test, name)
        block = _block_holding(parent, current)
        if block is not None:
            for earlier in block[: next(i for i, s in enumerate(block) if s is current)]:
                taken |= _returned_early(ctx, earlier, name)
        current = parent
    return taken


def _returned_early(ctx, statement: ast.AST, name: str) -> set[str]:
    """The result types an `if`/`elif` chain before the node sends away (each branch that ends in return)."""
    taken: set[str] = set()
    while isinstance(statement, ast.If):
        if statement.body and isinstance(statement.body[-1], (ast.Return, ast.Raise)):
            taken |= _true_for(ctx, statement.test, name)
        statement = statement.orelse[0] if len(statement.orelse) == 1 else None
    return taken


def _block_holding(parent, statement) -> list | None:
    for field_name in ("body", "orelse", "finalbody"):
        block = getattr(parent, field_name, None)
        if isinstance(block, list) and any(s is statement for s in block):
            return block
    return None


def _true_for(ctx, test: ast.AST, name: str) -> set[str]:
    """The result types for which `test` is true: isinstance checks, `hasattr(result, "__aiter__")` (a
    StreamingResult is async-iterable), `hasattr(result, "json")` and `isinstance(result.json, bytes)` (a
    NonStreamingResult carries its JSON)."""
    if isinstance(test, ast.BoolOp):
        parts = [_true_for(ctx, value, name) for value in test.values]
        if isinstance(test.op, ast.And):
            return set.intersection(*parts)
        return set.union(*parts)
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and len(test.args) == 2):
        return set()
    subject, kind = test.args
    if test.func.id == "isinstance" and _is_result(subject, name):
        kinds = kind.elts if isinstance(kind, ast.Tuple) else [kind]
        return {t for t in RESULT_TYPES for k in kinds if ctx.refers_to(k, "chatkit", t) or (
            isinstance(k, ast.Name) and k.id == t)}
    if test.func.id == "isinstance" and _is_result_json(subject, name) and isinstance(kind, ast.Name) and kind.id == "bytes":
        return {"NonStreamingResult"}
    if test.func.id == "hasattr" and _is_result(subject, name) and isinstance(kind, ast.Constant):
        return {"__aiter__": {"StreamingResult"}, "json": {"NonStreamingResult"}}.get(kind.value, set())
    return set()


def _problems(ctx, func, name: str):
    for problem in _all_problems(ctx, func, name):
        if not _never_runs(ctx, problem[0], func, name):
            yield problem


def _all_problems(ctx, func, name: str):
    buffered_loops = []
    for node in walk_scope(func):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "str" and len(node.args) == 1 and _is_result(node.args[0], name):
                yield (node, f"str({name}) sends the Python repr of the result, not its JSON",
                       [ctx.replace(node, f"{name}.json")], f"use {name}.json")
                continue
            if isinstance(node.func, ast.Attribute) and _is_result_json(node.func, name) and not node.args and not node.keywords:
                yield (node, f"{name}.json is bytes, not a method: {name}.json() raises TypeError",
                       [ctx.replace(node, f"{name}.json")], f"use {name}.json")
                continue
            kind = _response_kind(ctx, node)
            if kind is not None:
                yield from _response_problems(ctx, node, kind, name)
            yield from _result_as_body(ctx, func, node, kind, name)
            if _is_fstring_json(ctx, node, kind):
                yield _fstring_problem(ctx, node)
        elif (isinstance(node, ast.AsyncFor) and _is_result(node.iter, name)) or (
            isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp))
            and any(generator.is_async and _is_result(generator.iter, name) for generator in node.generators)
        ):
            buffered_loops.append(node)
    for loop in buffered_loops:
        yield _buffering_problem(ctx, func, loop, name)


def _media_edit(ctx, call: ast.Call, wanted: str):
    media = next((k for k in call.keywords if k.arg == "media_type"), None)
    if media is None:
        if any(k.arg is None for k in call.keywords):
            return None
        from chatkit_fix.analysis.server import append_argument

        return append_argument(ctx, call, f"media_type={ctx.string_literal(wanted)}")
    value = string_value(media.value)
    if value is None or value.split(";")[0].strip() == wanted:
        return None
    return ctx.replace(media.value, ctx.string_literal(wanted))


def _response_problems(ctx, call: ast.Call, kind: str, name: str):
    content = argument(call, 0, "content")
    if kind == "StreamingResponse" and _is_result(content, name):
        edit = _media_edit(ctx, call, SSE)
        if edit is not None:
            yield (call, f"the ChatKit stream is sent without media_type=\"{SSE}\": the client cannot read it as SSE",
                   [edit], f'StreamingResponse({name}, media_type="{SSE}")')
    elif kind == "Response" and _is_result_json(content, name):
        edit = _media_edit(ctx, call, JSON)
        if edit is not None:
            yield (call, f"{name}.json is sent without media_type=\"{JSON}\"", [edit],
                   f'Response(content={name}.json, media_type="{JSON}")')
    elif kind in ("JSONResponse", "ORJSONResponse") and _is_result_json(content, name):
        message = f"{kind} re-encodes {name}.json, which is already JSON bytes (TypeError: bytes are not JSON serializable)"
        yield (call, message, partial(_plain_response, ctx, call, name), f'Response(content={name}.json, media_type="{JSON}")')


def _plain_response(ctx, call: ast.Call, name: str) -> list:
    """`JSONResponse(result.json, ...)` as `Response(content=result.json, media_type="application/json", ...)`."""
    local, needed_import = ctx.ensure_import(_module_of(ctx, call), "Response")
    extra = [ctx.segment(k) for k in call.keywords if k.arg not in ("content", "media_type")]
    text = ", ".join([f"content={name}.json", f"media_type={ctx.string_literal(JSON)}", *extra])
    return [needed_import, ctx.replace(call, f"{local}({text})")]


FLASK_RESPONSES = ("Response", "make_response", "jsonify")


def _result_as_body(ctx, func, call: ast.Call, kind: str | None, name: str):
    """`Response(result)`, `JSONResponse(result)`, Flask's `Response(result)`: the result object itself as the body
    where a NonStreamingResult gets, instead of its `.json` bytes (a repr, a serialisation error or a TypeError)."""
    flask = next((f for f in FLASK_RESPONSES if ctx.refers_to(call.func, "flask", f)), None)
    if kind in (None, "StreamingResponse") and flask is None:
        return
    body = argument(call, 0, "content" if flask is None else "response")
    if not _is_result(body, name) or "NonStreamingResult" in _taken(ctx, call, func, name):
        return
    message = (f"{ctx.segment(call.func)}({name}) sends the result object, not its JSON: a NonStreamingResult "
               f"(threads.list, items.list, threads.get_by_id) cannot be a response body; send {name}.json")
    hint = f'Response(content={name}.json, media_type="{JSON}")'
    if flask is not None:
        yield (call, message, None, hint)
        return
    local, import_edit = ctx.ensure_import(_module_of(ctx, call), "Response")
    extra = [ctx.segment(k) for k in call.keywords if k.arg not in ("content", "media_type")]
    text = ", ".join([f"content={name}.json", f"media_type={ctx.string_literal(JSON)}", *extra])
    yield (call, message, [import_edit, ctx.replace(call, f"{local}({text})")], hint)


def _module_of(ctx, call: ast.Call) -> str:
    for qualified in sorted(ctx.imports.qualnames(call.func)):
        if qualified.startswith("starlette."):
            return "starlette.responses"
    return "fastapi.responses"


# ---- f-string JSON ------------------------------------------------------------------------------------------------


def _is_fstring_json(ctx, call: ast.Call, kind: str | None) -> bool:
    if kind not in ("Response", "JSONResponse"):
        return False
    content = argument(call, 0, "content")
    if not isinstance(content, ast.JoinedStr) or not any(isinstance(v, ast.FormattedValue) for v in content.values):
        return False
    first = content.values[0]
    return isinstance(first, ast.Constant) and str(first.value).lstrip().startswith(("{", "["))


def _fstring_problem(ctx, call: ast.Call):
    message = "JSON built with an f-string: a quote or newline in the interpolated value makes it invalid JSON"
    return (call, message, partial(_fstring_fix, ctx, call), "return JSONResponse({...})")


def _fstring_fix(ctx, call: ast.Call) -> list:
    """The f-string's JSON as the dict or list it means, returned with JSONResponse; else a TODO marker."""
    content = argument(call, 0, "content")
    replacement = _fstring_to_python(ctx, content)
    if replacement is None:
        return [ctx.todo(call, "build the body as a dict and return JSONResponse(...)")]
    local, needed_import = ctx.ensure_import(_module_of(ctx, call), "JSONResponse")
    return [needed_import, ctx.replace(call.func, local), ctx.replace(content, replacement)]


def _fstring_to_python(ctx, content: ast.JoinedStr) -> str | None:
    """The dict/list expression an f-string of JSON means, with its interpolations as Python expressions."""
    marks: list[ast.FormattedValue] = []
    template = []
    for value in content.values:
        if isinstance(value, ast.Constant):
            template.append(str(value.value))
        else:
            template.append(f"\u0000{len(marks)}\u0000")
            marks.append(value)
    try:
        data = json.loads("".join(template), strict=False)
    except ValueError:
        return None

    def render(value) -> str | None:
        if isinstance(value, dict):
            parts = []
            for key, item in value.items():
                if "\u0000" in key:
                    return None
                rendered = render(item)
                if rendered is None:
                    return None
                parts.append(f"{ctx.string_literal(key)}: {rendered}")
            return "{" + ", ".join(parts) + "}"
        if isinstance(value, list):
            items = [render(item) for item in value]
            return None if None in items else "[" + ", ".join(items) + "]"
        if isinstance(value, str) and "\u0000" in value:
            pieces = value.split("\u0000")
            if len(pieces) == 3 and not pieces[0] and not pieces[2]:
                mark = marks[int(pieces[1])]
                if mark.format_spec is None and mark.conversion == -1:
                    text = ctx.segment(mark.value)
                    return text if _is_str_call(ctx, mark.value) else f"str({text})"
            out = []
            for index, piece in enumerate(pieces):
                if index % 2:
                    mark = marks[int(piece)]
                    if '"' in ctx.segment(mark.value) or "\\" in ctx.segment(mark.value):
                        return None
                    conversion = {115: "!s", 114: "!r", 97: "!a"}.get(mark.conversion, "")
                    spec = ""
                    if mark.format_spec is not None:
                        if not all(isinstance(v, ast.Constant) for v in mark.format_spec.values):
                            return None
                        spec = ":" + "".join(str(v.value) for v in mark.format_spec.values)
                    out.append("{" + ctx.segment(mark.value) + conversion + spec + "}")
                else:
                    out.append(piece.replace("{", "{{").replace("}", "}}").replace("\\", "\\\\").replace('"', '\\"'))
            return 'f"' + "".join(out) + '"'
        return repr(value)

    return render(data)


def _is_str_call(ctx, node: ast.expr) -> bool:
    """`str(x)`, the builtin (no module-level `str` of the file's own): already the text, not wrapped again."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str"
        and len(node.args) == 1 and not isinstance(node.args[0], ast.Starred) and not node.keywords
        and not web.module_binds(ctx.tree, "str")
    )


# ---- buffered streams ---------------------------------------------------------------------------------------------


def _buffering_problem(ctx, func, loop: ast.AST, name: str):
    message = ("the ChatKit stream is buffered: the whole answer is collected before anything is sent, so the UI "
               "shows nothing until the end and cancellation breaks")
    hint = f'return StreamingResponse({name}, media_type="{SSE}")'
    return (loop, message, partial(_stream_instead, ctx, loop, name), hint)


def _stream_instead(ctx, loop: ast.AST, name: str) -> list | None:
    """The collecting loop, up to the return of what it collected, replaced by returning the stream itself (with
    the return's headers, status and background); None when no such return follows the loop in its block."""
    statement = statement_of(ctx, loop)
    block = block_of(ctx, statement) if statement is not None else None
    if block is None:
        return None
    index = next(i for i, s in enumerate(block) if s is statement)
    end = next((i for i in range(index, len(block)) if isinstance(block[i], ast.Return)), None)
    if end is None:
        return None
    start = index
    while start > 0 and _is_buffer_init(block[start - 1], block[index:end + 1]):
        start -= 1
    returned = block[end].value
    headers = ""
    if isinstance(returned, ast.Call):
        for keyword in returned.keywords:
            if keyword.arg in ("headers", "status_code", "background"):
                headers += ", " + ctx.segment(keyword)
    local, needed_import = ctx.ensure_import(_module_of_any(ctx), "StreamingResponse")
    text = f"return {local}({name}, media_type={ctx.string_literal(SSE)}{headers})"
    first = ctx.span(block[start])[0]
    last = ctx.span(block[end])[1]
    indent = ctx.source.indentation(ctx.line_of(block[start]))
    comments = [line.strip() for line in ctx.text[first:last].splitlines() if line.strip().startswith("#")]
    kept = "".join(f"{comment}\n{indent}" for comment in comments)  # comments in the replaced code stay
    return [needed_import, ctx.replace((first, last), kept + text)]


def _module_of_any(ctx) -> str:
    for names in ctx.imports.names.values():
        if any(q.startswith("starlette.responses") for q in names):
            return "starlette.responses"
    return "fastapi.responses"


def _is_buffer_init(statement: ast.stmt, following: list[ast.stmt]) -> bool:
    """`chunks = []` / `body = b""` right before the loop, used by it."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
        return False
    value = statement.value
    empty = (isinstance(value, (ast.List, ast.Tuple)) and not value.elts) or (
        isinstance(value, ast.Constant) and value.value in ("", b"")
    ) or (isinstance(value, ast.Call) and dotted(value.func) in ("list", "bytearray", "io.BytesIO") and not value.args)
    target = statement.targets[0].id
    return empty and any(isinstance(n, ast.Name) and n.id == target for s in following for n in walk(s))


_HEAD = (
    "from chatkit.server import StreamingResult\n"
    "from fastapi import FastAPI, Request\n"
    "from fastapi.responses import Response, StreamingResponse\n\n"
    "app = FastAPI()\n\n\n"
)

RULE.cases(
    valid=[
        Valid(
            _HEAD + "@app.post('/chatkit')\n"
            "async def chatkit_endpoint(request: Request) -> Response:\n"
            "    result = await server.process(await request.body(), {'request': request})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result, media_type='text/event-stream')\n"
            "    return Response(content=result.json, media_type='application/json')\n",
            filename="main.py",
            name="official shape",
        ),
        Valid(
            "from fastapi.responses import JSONResponse, Response, StreamingResponse\n"
            "from chatkit.server import StreamingResult\n\n"
            "async def chatkit_endpoint(request, server):\n"
            "    result = await server.process(await request.body(), {'request': request})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result, media_type='text/event-stream')\n"
            "    if hasattr(result, 'json'):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    return JSONResponse(result)\n",
            filename="app/main.py",
            name="samples' fallback",
        ),
        Valid(
            "from fastapi.responses import Response, StreamingResponse\n\n"
            "async def chat_endpoint(request):\n"
            "    result = await chatkit_server.process(await request.body(), {})\n"
            "    if hasattr(result, '__aiter__'):\n"
            "        return StreamingResponse(result, media_type='text/event-stream; charset=utf-8',\n"
            "                                 headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})\n"
            "    return Response(content='{\"error\": \"Unauthorized\"}', status_code=401, media_type='application/json')\n",
            filename="main.py",
            name="hasattr check, extra headers, literal JSON",
        ),
        Valid(
            "import multiprocessing\n\n"
            "def work(pool, data):\n"
            "    result = pool.process(data)\n"
            "    return str(result)\n",
            filename="jobs.py",
            name="not ChatKit",
        ),
        Valid(
            "from chatkit.server import NonStreamingResult, StreamingResult\n"
            "from fastapi.responses import Response, StreamingResponse\n\n"
            "async def chatkit_endpoint(request, server):\n"
            "    result = await server.process(await request.body(), {})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result, media_type='text/event-stream')\n"
            "    elif isinstance(result, NonStreamingResult):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    else:\n"
            "        return Response(content=str(result), media_type='application/json')\n\n\n"
            "async def other_endpoint(request, server):\n"
            "    result = await server.process(await request.body(), {})\n"
            "    if hasattr(result, '__aiter__'):\n"
            "        return StreamingResponse(result, media_type='text/event-stream')\n"
            "    elif hasattr(result, 'json') and isinstance(result.json, bytes):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    elif hasattr(result, 'model_dump_json'):\n"
            "        return Response(content=result.model_dump_json(), media_type='application/json')\n"
            "    return Response(content=str(result), media_type='application/json')\n",
            filename="routes/chatkit.py",
            name="a fallback after both result types were taken never runs",
        ),
    ],
    invalid=[
        Invalid(
            "import asyncio\n"
            "from chatkit.server import StreamingResult\n"
            "from flask import Flask, Response, request\n\n"
            "app = Flask(__name__)\n\n\n"
            "def _json_of(result):\n"
            "    return result.json if isinstance(result.json, str) else None\n\n\n"
            "@app.route('/chatkit', methods=['POST'])\n"
            "def chatkit_endpoint():\n"
            "    result = asyncio.run(server.process(request.get_data(), {}))\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return Response(stream(result), mimetype='text/event-stream')\n"
            "    body = _json_of(result)\n"
            "    if body is not None:\n"
            "        return Response(body, mimetype='application/json')\n"
            "    return Response(result)\n",
            None,
            filename="main.py",
            findings=[(20, 12, "Response(result) sends the result object, not its JSON")],
            name="Flask: the result object as the body where a NonStreamingResult gets (report)",
        ),
        Edited(
            _HEAD + "from fastapi.responses import JSONResponse\n\n\n"
            "@app.post('/chatkit')\n"
            "async def chatkit_endpoint(request: Request):\n"
            "    result = await server.process(await request.body(), {})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result, media_type='text/event-stream')\n"
            "    return JSONResponse(result, status_code=200)\n",
            ("    return JSONResponse(result, status_code=200)\n",
             "    return Response(content=result.json, media_type='application/json', status_code=200)\n"),
            filename="main.py",
            findings=[(16, 12, "JSONResponse(result) sends the result object, not its JSON")],
            name="JSONResponse of the result itself",
        ),
        Edited(
            "from fastapi.responses import StreamingResponse, Response\n"
            "from chatkit.server import StreamingResult, NonStreamingResult\n\n"
            "@chatkit_router.post('/chatkit')\n"
            "async def chatkit_endpoint(request):\n"
            "    result = await chatkit_server.process(await request.body(), {'user_id': 'u'})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result)\n"
            "    elif isinstance(result, NonStreamingResult):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    else:\n"
            "        return Response(content=str(result), media_type='application/json')\n",
            ("        return StreamingResponse(result)\n",
             "        return StreamingResponse(result, media_type='text/event-stream')\n"),
            filename="routes/chatkit.py",
            findings=[(8, 16, 'the ChatKit stream is sent without media_type="text/event-stream"')],
            name="missing media type (the str(result) fallback after both result types never runs)",
        ),
        Invalid(
            "from starlette.responses import Response\n"
            "from chatkit.server import StreamingResult\n\n"
            "async def endpoint(request):\n"
            "    result = await server.process(await request.body(), {})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        chunks = []\n"
            "        async for chunk in result:\n"
            "            chunks.append(chunk)\n"
            "        return Response(b''.join(chunks), media_type='text/event-stream', headers={'X-Accel-Buffering': 'no'})\n"
            "    return Response(result.json(), media_type='text/event-stream')\n",
            "from starlette.responses import Response, StreamingResponse\n"
            "from chatkit.server import StreamingResult\n\n"
            "async def endpoint(request):\n"
            "    result = await server.process(await request.body(), {})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        return StreamingResponse(result, media_type='text/event-stream', headers={'X-Accel-Buffering': 'no'})\n"
            "    return Response(result.json, media_type='application/json')\n",
            filename="api/index.py",
            findings=[
                (8, 9, "the ChatKit stream is buffered"),
                (11, 12, 'result.json is sent without media_type="application/json"'),
                (11, 21, "result.json is bytes, not a method"),
            ],
            name="buffered stream (Starlette), json() call, wrong media type",
        ),
        Edited(
            _HEAD + "@app.post('/chatkit')\n"
            "async def chatkit_endpoint(request: Request) -> Response:\n"
            "    result = await server.process(await request.body(), {'request': request})\n"
            "    if isinstance(result, StreamingResult):\n"
            "        chunks = [chunk async for chunk in result]\n"
            "        return Response(content=b''.join(chunks), media_type='application/json')\n"
            "    return Response(content=result.json, media_type='application/json')\n",
            ("        chunks = [chunk async for chunk in result]\n"
             "        return Response(content=b''.join(chunks), media_type='application/json')\n",
             "        return StreamingResponse(result, media_type='text/event-stream')\n"),
            filename="main.py",
            findings=[(12, 18, "the ChatKit stream is buffered")],
            name="stream buffered by a comprehension",
        ),
        Edited(
            "from fastapi import APIRouter, Request\n"
            "from fastapi.responses import Response, StreamingResponse\n\n"
            "router = APIRouter()\n\n"
            "@router.post('')\n"
            "async def chatkit(request: Request):\n"
            "    try:\n"
            "        result = await get_server().process(await request.body(), {})\n"
            "    except Exception as e:\n"
            "        return Response(content=f'{{\"error\": \"{e}\", \"detail\": \"failed: {e!r}\"}}', status_code=500, media_type='application/json')\n"
            "    if hasattr(result, 'json'):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    return StreamingResponse(result, media_type='text/event-stream')\n",
            ("from fastapi.responses import Response, StreamingResponse\n",
             "from fastapi.responses import Response, StreamingResponse, JSONResponse\n"),
            ("        return Response(content=f'{{\"error\": \"{e}\", \"detail\": \"failed: {e!r}\"}}', status_code=500, media_type='application/json')\n",
             "        return JSONResponse(content={'error': str(e), 'detail': f\"failed: {e!r}\"}, status_code=500, media_type='application/json')\n"),
            filename="api/v1/endpoints/chatkit.py",
            findings=[(11, 16, "JSON built with an f-string")],
            name="f-string JSON error",
        ),
        Edited(
            "from fastapi import FastAPI, Request\n"
            "from fastapi.responses import Response, StreamingResponse\n\n"
            "app = FastAPI()\n\n\n"
            "@app.post('/chatkit')\n"
            "async def chatkit(request: Request):\n"
            "    try:\n"
            "        result = await server.process(await request.body(), {})\n"
            "    except RuntimeError as exc:\n"
            "        return Response(content=f'{{\"error\": \"{str(exc)}\"}}', status_code=500)\n"
            "    if hasattr(result, 'json'):\n"
            "        return Response(content=result.json, media_type='application/json')\n"
            "    return StreamingResponse(result, media_type='text/event-stream')\n",
            ("from fastapi.responses import Response, StreamingResponse\n",
             "from fastapi.responses import Response, StreamingResponse, JSONResponse\n"),
            ("        return Response(content=f'{{\"error\": \"{str(exc)}\"}}', status_code=500)\n",
             "        return JSONResponse(content={'error': str(exc)}, status_code=500)\n"),
            filename="routes/chat.py",
            findings=[(12, 16, "JSON built with an f-string")],
            name="f-string JSON error whose value is already str(...): not wrapped in str() again",
        ),
        Invalid(
            "from django.http import HttpResponse, StreamingHttpResponse\n\n"
            "async def chatkit_view(request):\n"
            "    result = await chatkit_server.process(request.body, {'user': request.user})\n"
            "    if hasattr(result, 'json'):\n"
            "        return HttpResponse(str(result), content_type='application/json')\n"
            "    return StreamingHttpResponse(result, content_type='text/event-stream')\n",
            None,
            filename="chat/views.py",
            findings=[(6, 29, "str(result) sends the Python repr of the result, not its JSON")],
            name="Django view: report only",
        ),
    ],
)
