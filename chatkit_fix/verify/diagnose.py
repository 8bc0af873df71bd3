"""From a failure's symptoms (HTTP status, stream shape, the server's log) to the rule codes that explain it.

The telltales are the exception messages recorded in the SDK reference (chatkit-sdk.md §1-3), as the installed
openai-chatkit 1.6, openai-agents 0.24 and mcp 2 print them. A failure with no telltale in the log gets the list of
rules that can cause that symptom.
"""

from __future__ import annotations

import re

# (pattern in the server log, rule codes, what it means); the first matches are the most specific
TELLTALES: list[tuple[re.Pattern[str], tuple[str, ...], str]] = [
    (re.compile(r"'async for' requires an object with __aiter__ method, got coroutine"), ("CK203",),
     "respond() returns the stream instead of yielding its events"),
    (re.compile(r"'RunResult' object has no attribute 'stream_events'"), ("CK203",),
     "stream_agent_response() got the result of an awaited Runner.run()"),
    (re.compile(r"'RunResult' object has no attribute '(handoffs|output_type|[a-z_]+)'"), ("CK204",),
     "Runner.run_streamed() got a RunResult where the Agent is due"),
    (re.compile(r"RunResultStreaming can't be used in 'await' expression"), ("CK204",),
     "Runner.run_streamed() is awaited"),
    (re.compile(r"Unknown content"), ("CK215",),
     "a chat-completions model got assistant history as output_text parts"),
    (re.compile(r"'NoneType' object has no attribute 'stream'"), ("CK205",),
     "a tool reached for the AgentContext, but run_streamed() got no context="),
    (re.compile(r"Server not initialized"), ("CK501",), "an MCP server used without `async with` or connect()"),
    (re.compile(r"Task group is not initialized"), ("CK505",),
     "a mounted MCP app without session_manager.run() in the lifespan"),
    (re.compile(r"Missing session ID|Session not found"), ("CK503",), "MCP requests without the session"),
    (re.compile(r"ClosedResourceError|Connection closed|anyio\.EndOfStream|BrokenResourceError"), ("CK502",),
     "the MCP session closed before the stream ended"),
    (re.compile(r"Can't instantiate abstract class"), ("CK301",), "the Store lacks abstract methods"),
    (re.compile(r"object NoneType can't be used in 'await' expression"), ("CK302",),
     "a Store method is a plain def where async def is due"),
    (re.compile(r"got an unexpected keyword argument '(context|after|limit|order|thread_id|item_id)'"), ("CK302",),
     "a Store method's parameter names differ from chatkit.store.Store"),
    (re.compile(r"next_cursor|'dict' object has no attribute '(data|has_more|after)'|"
                r"validation errors? for Page"), ("CK303",), "a Store method returns something other than a Page"),
    (re.compile(r"union_tag_invalid|Input tag 'text'"), ("CK202",), "user content typed \"text\""),
    (re.compile(r"You must pass the application as an import string"), ("CK901",),
     "uvicorn.run() with an app object and reload/workers"),
    (re.compile(r"'tuple' object has no attribute 'get'|tuple indices must be integers"), ("CK402",),
     "a token decoder's return value used in the wrong shape"),
    (re.compile(r"cannot import name '[^']*(decode|verify|token|jwt)[^']*'", re.I), ("CK401",),
     "the token decoder imported from the wrong module"),
]

STREAM_FAILURE_RULES = ("CK203", "CK204", "CK205", "CK502", "CK215")
VALIDATION_FAILURE_RULES = ("CK202", "CK201")
TOOL_ERROR = re.compile(r"^\s*(An error occurred while running the tool|Error executing tool|Error calling tool|"
                        r"Error:|Tool .* failed)", re.I)
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Group)\b.*")


def telltales(log: str) -> list[tuple[str, str]]:
    """(rule code, meaning) for every telltale in `log`, most specific first, each code once."""
    found: list[tuple[str, str]] = []
    seen_codes: set[str] = set()
    matched_stream = False
    for pattern, codes, meaning in TELLTALES:
        if not pattern.search(log):
            continue
        if codes == ("CK204",) and matched_stream:
            continue  # the CK203 'stream_events' case also matches the generic RunResult pattern
        matched_stream = matched_stream or codes == ("CK203",)
        for code in codes:
            if code not in seen_codes:
                seen_codes.add(code)
                found.append((code, meaning))
    return found


AWAIT_OUTSIDE_ASYNC = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)\n(?:.*\n){0,3}?SyntaxError: \'await\' outside '
                                 r"(?:async )?function")


def store_method_awaiting(log: str) -> str | None:
    """The Store method named in a `SyntaxError: 'await' outside async function` traceback (the plain def whose
    line it points at is one of chatkit.store.Store's methods), or None."""
    import ast
    from pathlib import Path

    from ..analysis.store import contract
    from ..pyast import walk

    matches = list(AWAIT_OUTSIDE_ASYNC.finditer(log))
    if not matches:
        return None
    match = matches[-1]
    try:
        tree = ast.parse(Path(match.group("path")).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    line = int(match.group("line"))
    names = {method.name for method in contract().methods}
    for node in walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in names and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return None


def rules_from_log(log: str, fallback: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """The rule codes the log points at (or `fallback` when it points at none) and a short why."""
    method = store_method_awaiting(log)
    if method is not None:
        return ["CK302"], f"Store.{method}() is a plain def that awaits: the module does not import"
    found = telltales(log)
    if found:
        return [code for code, _ in found], "; ".join(dict.fromkeys(meaning for _, meaning in found))
    return list(fallback), ""


def last_exception(log: str) -> str | None:
    """The last `SomeError: message` line of a traceback in the log, trimmed."""
    lines = [line.strip() for line in log.splitlines() if EXCEPTION_LINE.match(line.strip())]
    if not lines:
        return None
    line = lines[-1]
    return line if len(line) <= 240 else line[:237] + "..."


def is_tool_error(output: str) -> bool:
    return bool(TOOL_ERROR.match(output or ""))
