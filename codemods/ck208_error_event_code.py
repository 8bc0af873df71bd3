"""`ErrorEvent` takes a code the project's openai-chatkit accepts (or `"custom"`) plus `message` and `allow_retry`, nothing else.

## Why
`chatkit.types.ErrorEvent(code=..., message=..., allow_retry=...)` validates `code` against `ErrorCode` (in 1.6:
`"stream.error"`) or `"custom"`. Any other code (`"authentication_required"`, `"processing_error"`) raises a pydantic
`ValidationError` while `respond()` is handling another error, so the user sees a generic stream error instead of
your message. Unknown keyword arguments (`level=`, `error=`, `detail=`) are silently dropped: `ErrorEvent(level=
"danger", message=...)` looks right and is not (`level` belongs to `NoticeEvent`); `ErrorEvent(error="...")` shows
no text at all. The valid codes are those `ErrorEvent(code=...)` accepts in the openai-chatkit release the project
declares, measured per release (`python benchmarks/facts/measure.py chatkit-sdk-contract`); only a project that
declares no release is judged by the installed SDK.

## Wrong
```python
yield ErrorEvent(code="authentication_required", message="Please sign in", allow_retry=False)
yield ErrorEvent(level="danger", error="Agent initialisation failed")
```

## Right
```python
yield ErrorEvent(code="custom", message="Please sign in", allow_retry=False)
yield ErrorEvent(message="Agent initialisation failed")
```
The fix sets `code="custom"` (keeping the message), turns `error=`/`detail=`/`text=`/`msg=` into `message=` when
there is no message, and removes the other unknown arguments.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis.server import calls_named, may_name, string_value
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK208",
    slug="error-event-code",
    safety=Safety.SAFE,
    summary="ErrorEvent with a code the project's openai-chatkit rejects, or with unknown keyword arguments",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/errors.py",
    triggers=(b"ErrorEvent",),
    module=__name__,
    explanation=__doc__,
)

FIELDS_1_6 = ("type", "code", "message", "allow_retry")
MESSAGE_ALIASES = ("error", "detail", "text", "msg", "description", "error_message")


def _facts(ctx) -> tuple[list[str], list[str], str]:
    from chatkit_fix.sdk import chatkit_facts_for

    facts = chatkit_facts_for(ctx.project, ctx.path)
    codes = list(facts.get("error_codes") or ["custom", "stream.error"])
    fields = list((facts.get("event_fields") or {}).get("ErrorEvent") or FIELDS_1_6)
    return codes, fields, f"openai-chatkit {facts.get('version', '')}".strip()


@RULE.check
def check(ctx):
    codes = fields = release = None
    for call in calls_named(ctx, "ErrorEvent"):
        if not (may_name(ctx, call.func, "ErrorEvent") and ctx.refers_to(call.func, "chatkit", "ErrorEvent")):
            continue
        if codes is None:
            codes, fields, release = _facts(ctx)
        problems: list[str] = []
        edits = []
        code = next((k for k in call.keywords if k.arg == "code"), None)
        if code is not None:
            value = string_value(code.value)
            if value is not None and value not in codes:
                problems.append(f"code={value!r} is not a code {release} accepts ({', '.join(repr(c) for c in codes)})")
                quote = ctx.segment(code.value)[0]
                quote = quote if quote in "'\"" else '"'
                edits.append(ctx.replace(code.value, f"{quote}custom{quote}"))
            member = _missing_member(ctx, code.value, codes)
            if member is not None:
                problems.append(f"ErrorCode.{member} does not exist (AttributeError before the event is built; the "
                                f"SDK's ErrorCode has {', '.join(_member_names(codes))})")
                edits.append(ctx.replace(code.value, '"custom"'))
        has_message = any(k.arg == "message" for k in call.keywords)
        unknown = [k for k in call.keywords if k.arg is not None and k.arg not in fields]
        for keyword in unknown:
            if not has_message and keyword.arg in MESSAGE_ALIASES:
                problems.append(f"{keyword.arg}= is ignored (the text goes in message=)")
                start = ctx.span(keyword)[0]
                edits.append(ctx.replace((start, start + len(keyword.arg)), "message"))
                has_message = True
            else:
                problems.append(f"{keyword.arg}= is not a field of ErrorEvent and is silently dropped")
                edits.append(_remove_keyword(ctx, call, keyword))
        if not problems:
            continue
        yield ctx.finding(
            ctx.header_span(call),
            "ErrorEvent(...): " + "; ".join(problems),
            fix=edits,
            hint='ErrorEvent(code="custom", message="...", allow_retry=...)',
        )


def _member_names(codes: list[str]) -> list[str]:
    """The members of the SDK's `ErrorCode` enum, named after their values as the SDK names them
    (`STREAM_ERROR = "stream.error"`); "custom" is a code ErrorEvent accepts, not a member."""
    return sorted(code.upper().replace(".", "_").replace("-", "_") for code in codes if code != "custom")


def _missing_member(ctx, value: ast.expr, codes: list[str]) -> str | None:
    """`ErrorCode.RATE_LIMITED`: an attribute of chatkit's ErrorCode that the enum does not have."""
    if not isinstance(value, ast.Attribute) or not value.attr.isupper():
        return None
    if not ctx.refers_to(value.value, "chatkit", "ErrorCode"):
        return None
    return value.attr if value.attr not in _member_names(codes) else None


def _remove_keyword(ctx, call: ast.Call, keyword: ast.keyword):
    """Delete `keyword` and the comma that separates it from its neighbour."""
    items = sorted([*call.args, *call.keywords], key=lambda n: ctx.span(n)[0])
    index = next(i for i, n in enumerate(items) if n is keyword)
    start, end = ctx.span(keyword)
    text = ctx.text
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest = text[end:line_end if line_end >= 0 else len(text)].strip()
    if not text[line_start:start].strip() and rest in ("", ","):
        return ctx.delete_lines(keyword)
    if index + 1 < len(items):
        next_start = ctx.span(items[index + 1])[0]
        if "#" in text[end:next_start]:  # keep a comment that sits between the arguments
            return ctx.delete((start, text.index(",", end, next_start) + 1))
        return ctx.delete((start, next_start))
    if index > 0:
        comma = text.find(",", ctx.span(items[index - 1])[1], start)
        return ctx.delete((comma, end))
    return ctx.delete((start, ctx.span(call)[1] - 1))


RULE.cases(
    valid=[
        Valid(
            "from chatkit.types import ErrorEvent\n"
            "from chatkit.errors import ErrorCode\n\n"
            "def errors():\n"
            "    yield ErrorEvent(code='custom', message='Sign in again', allow_retry=False)\n"
            "    yield ErrorEvent(code=ErrorCode.STREAM_ERROR, allow_retry=True)\n"
            "    yield ErrorEvent(code='stream.error')\n"
            "    yield ErrorEvent(message='x')\n",
            filename="server.py",
        ),
        Valid(
            "class ErrorEvent:\n    def __init__(self, **kw):\n        pass\n\n"
            "ErrorEvent(level='danger', code='bad')\n",
            filename="events.py",
            name="a local ErrorEvent",
        ),
    ],
    invalid=[
        Edited(
            "from chatkit.types import ErrorEvent\n\n\n"
            "def errors():\n"
            "    yield ErrorEvent(\n"
            '        code="custom",\n'
            '        severity="high",\n'
            '        message="Busy",\n'
            "    )\n"
            '    yield ErrorEvent(level="danger",  # shown in red\n'
            '                     message="Try again")\n'
            '    yield ErrorEvent(level="danger")\n'
            "    yield ErrorEvent(\n"
            '        message="Busy",\n'
            '        severity="high"\n'
            "    )\n",
            ('        code="custom",\n        severity="high",\n', '        code="custom",\n'),
            ('        message="Busy",\n        severity="high"\n', '        message="Busy",\n'),
            ('ErrorEvent(level="danger",  # shown in red', "ErrorEvent(  # shown in red"),
            ('    yield ErrorEvent(level="danger")\n', "    yield ErrorEvent()\n"),
            filename="errors.py",
            findings=[
                (5, 11, "ErrorEvent(...): severity= is not a field of ErrorEvent"),
                (10, 11, "ErrorEvent(...): level= is not a field of ErrorEvent"),
                (12, 11, "ErrorEvent(...): level= is not a field of ErrorEvent"),
                (13, 11, "ErrorEvent(...): severity= is not a field of ErrorEvent"),
            ],
            name="a keyword on its own line (with and without a comma after it), one before a comment, the only one",
        ),
        Edited(
            "from chatkit.types import ErrorEvent\n\n"
            "async def respond():\n"
            "    yield ErrorEvent(\n"
            "        code=\"authentication_required\",\n"
            "        message=\"No user context provided\",\n"
            "        allow_retry=False\n"
            "    )\n",
            ('        code="authentication_required",\n',
             '        code="custom",\n'),
            filename="chatkit_server.py",
            findings=[(4, 11, "ErrorEvent(...): code='authentication_required' is not a code openai-chatkit 1.6.5 accepts ('custom'")],
            name="invalid code",
        ),
        Edited(
            "from chatkit.server import ChatKitServer\n\n"
            "class S(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        from chatkit.types import ErrorEvent, NoticeEvent\n"
            "        yield ErrorEvent(level='danger', message='Authentication required')\n"
            "        yield ErrorEvent(message='Agent failed', level='danger')\n"
            "        yield NoticeEvent(level='danger', message='fine')\n",
            ("        yield ErrorEvent(level='danger', message='Authentication required')\n"
             "        yield ErrorEvent(message='Agent failed', level='danger')\n",
             "        yield ErrorEvent(message='Authentication required')\n"
             "        yield ErrorEvent(message='Agent failed')\n"),
            filename="routes/chatkit.py",
            findings=[
                (6, 15, "ErrorEvent(...): level= is not a field of ErrorEvent"),
                (7, 15, "ErrorEvent(...): level= is not a field of ErrorEvent"),
            ],
            name="level= in lazy import",
        ),
        Invalid(
            "import chatkit.types as ck\n\n"
            "def fail(exc):\n"
            "    return ck.ErrorEvent(code='processing_error', error=str(exc), allow_retry=True,)\n",
            "import chatkit.types as ck\n\n"
            "def fail(exc):\n"
            "    return ck.ErrorEvent(code='custom', message=str(exc), allow_retry=True,)\n",
            filename="errors.py",
            findings=[(4, 12, "ErrorEvent(...): code='processing_error' is not a code openai-chatkit 1.6.5 accepts ('custom', 'stream.error')")],
            name="module alias, error= and code",
        ),
        Edited(
            "from chatkit.types import ErrorCode as Codes, ErrorEvent\n\n"
            "async def respond(allowed):\n"
            "    if not allowed:\n"
            "        yield ErrorEvent(code=Codes.RATE_LIMITED, message='Slow down', allow_retry=True)\n"
            "    yield ErrorEvent(code=Codes.STREAM_ERROR, message='fine')\n",
            ("        yield ErrorEvent(code=Codes.RATE_LIMITED, message='Slow down', allow_retry=True)\n",
             "        yield ErrorEvent(code=\"custom\", message='Slow down', allow_retry=True)\n"),
            filename="routers/chatkit_server.py",
            findings=[(5, 15, "ErrorCode.RATE_LIMITED does not exist")],
            name="an ErrorCode member no release has",
        ),
        Edited(
            "from chatkit.server import ErrorEvent\n\n"
            "def fail():\n"
            "    return ErrorEvent(\n"
            "        message='x',\n"
            "        severity='high',\n"
            "    )\n",
            ("        severity='high',\n",
             ""),
            filename="errors.py",
            findings=[(4, 12, "ErrorEvent(...): severity= is not a field of ErrorEvent")],
            name="re-export through chatkit.server, trailing comma",
        ),
    ],
)
