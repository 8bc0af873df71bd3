"""The ChatKit endpoint streams a `StreamingResult` as SSE and returns a `NonStreamingResult`'s JSON bytes as is.

## Why
`server.process(body, context)` returns a `StreamingResult` (an async iterable of ready-made SSE frames,
`b"data: {...}\\n\\n"`) or a `NonStreamingResult` whose `.json` holds the JSON *bytes*. The endpoint must hand them
over unchanged:

- buffering the stream (`async for chunk in result` into a list, then one `Response`) makes the UI wait for the
  whole answer and breaks cancellation and progress events;
- `str(result)` sends the Python repr (`NonStreamingResult(json=b'...')`), not JSON; `result.json()` raises
  (`json` is bytes, not a method);
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
        awaited = parent_of(ctx, node)
        statement = parent_of(ctx, awaited) if isinstance(awaited, ast.Await) else None
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


def _problems(ctx, func, name: str):
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
    ],
    invalid=[
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
            ("        return Response(content=str(result), media_type='application/json')\n",
             "        return Response(content=result.json, media_type='application/json')\n"),
            filename="routes/chatkit.py",
            findings=[
                (8, 16, 'the ChatKit stream is sent without media_type="text/event-stream"'),
                (12, 33, "str(result) sends the Python repr of the result, not its JSON"),
            ],
            name="str(result) fallback, missing media type",
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
