"""From a failure's evidence (the server's traceback and log) to its cause: the rule that explains it, or the plain
application error with the place in the app's code where it was raised.

The telltales are the exception messages recorded in the SDK reference (chatkit-sdk.md §1-3), as openai-chatkit,
openai-agents and mcp print them: a log holding one names its rule. Any other traceback is reported as what it is,
"app error: <exception> at <file>:<line>", the innermost frame of the app's own code; a failure without a traceback
says so. No rule is ever named without its telltale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ABSTRACT_CLASS = re.compile(r"Can't instantiate abstract class \w+ with(?:out an implementation for)? abstract methods? "
                            r"(?P<methods>'?\w+'?(?:, '?\w+'?)*)")

# (pattern in the server log, rule codes, what it means); the first matches are the most specific. A telltale with
# no rule code explains an application error no rule covers: it adds its meaning to the "app error" it shows.
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
    (re.compile(r"ClosedResourceError|anyio\.EndOfStream|BrokenResourceError|M[Cc][Pp]Error: Connection closed"),
     ("CK502",),
     "the MCP session closed before the stream ended"),
    (re.compile(r"No module named 'mcp\.server\.fastmcp'"), ("CK504",),
     "FastMCP imported from mcp.server.fastmcp, which mcp 2 removed"),
    (ABSTRACT_CLASS, ("CK301",), "the Store lacks abstract methods"),
    (re.compile(r"object NoneType can't be used in 'await' expression"), ("CK302",),
     "a Store method is a plain def where async def is due"),
    (re.compile(r"Store\.\w+\(\) got an unexpected keyword argument '(context|after|limit|order|thread_id|item_id)'|"
                r"\.(load|save|delete|add)_\w+\(\) got an unexpected keyword argument"), ("CK302",),
     "a Store method's parameter names differ from chatkit.store.Store"),
    (re.compile(r"'dict' object has no attribute '(data|has_more|after)'|validation errors? for Page"), ("CK303",),
     "a Store method returns something other than a Page"),
    (re.compile(r"union_tag_invalid|Input tag 'text'"), ("CK202",), "user content typed \"text\""),
    (re.compile(r"'NonStreamingResult' object is not iterable|object of type 'NonStreamingResult' has no len"),
     ("CK201",), "the endpoint answers with the NonStreamingResult itself instead of Response(result.json)"),
    (re.compile(r"You must pass the application as an import string"), ("CK901",),
     "uvicorn.run() with an app object and reload/workers"),
    (re.compile(r"'tuple' object has no attribute 'get'|tuple indices must be integers"), ("CK402",),
     "a token decoder's return value used in the wrong shape"),
    (re.compile(r"cannot import name '[^']*(decode|verify|token|jwt)[^']*'", re.I), ("CK401",),
     "the token decoder imported from the wrong module"),
    (re.compile(r"Thread\(\) got multiple values for keyword argument 'items'"), (),
     "the store's load_thread returned a Thread with its items: save_thread kept the Thread it was given, items "
     "included, where ChatKit expects ThreadMetadata back"),
]

TOOL_ERROR = re.compile(r"^\s*(An error occurred while running the tool|Error executing tool|Error calling tool|"
                        r"Error:|Tool .* failed)", re.I)
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Group|Warning|Timeout|"
                            r"NotFound|Invalid|Denied|Refused)\b.*")
FRAME = re.compile(r'^File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
GROUP_PREFIX = re.compile(r"^[\s|+\-]*?(?=(File \"|Traceback|[A-Za-z_][\w.]*(Error|Exception|Group)\b))")
CHAIN_LINKS = ("During handling of the above exception", "The above exception was the direct cause")
NETWORK_ERRORS = re.compile(r"(ConnectError|ConnectionRefusedError|ConnectTimeout|gaierror|Name or service not known|"
                            r"Connection refused|nodename nor servname|getaddrinfo failed|OperationalError.*(connect|"
                            r"could not translate host)|Temporary failure in name resolution)", re.I)
LIBRARY_PARTS = ("site-packages", "dist-packages", "/lib/python", "<frozen")


@dataclass
class Frame:
    path: str
    line: int
    function: str


@dataclass
class Traceback:
    frames: list[Frame] = field(default_factory=list)
    exception: str = ""


@dataclass
class Cause:
    """What the evidence says went wrong: the rules a telltale names, and the application error it shows."""

    rules: list[str] = field(default_factory=list)
    meaning: str = ""  # the telltales' meanings
    exception: str = ""  # `KeyError: 'thread_1'`
    location: str = ""  # `app/store.py:42` (the innermost frame of the app's own code)
    origin: str = ""  # `agents/usage.py:64`: the installed package's frame that raised, when not the app's
    network: bool = False  # the error is a failed connection to another service

    def text(self) -> str:
        """`KeyError: 'x' at app/store.py:42 (meaning)`, `app error: KeyError: 'x' at app/store.py:42`, or ''."""
        where = f" at {self.location}" if self.location else ""
        if self.origin:
            where += f" (raised in {self.origin})"
        if self.rules:
            return f"{self.exception or 'the server log'}{where} ({self.meaning})"
        if self.exception:
            return f"app error: {self.exception}{where}" + (f" ({self.meaning})" if self.meaning else "")
        return ""

    def __bool__(self) -> bool:
        return bool(self.rules or self.exception)


def telltales(log: str) -> list[tuple[str, str]]:
    """(rule code, meaning) for every telltale in `log`, most specific first, each code once."""
    found: list[tuple[str, str]] = []
    seen_codes: set[str] = set()
    matched_stream = False
    for pattern, codes, meaning in TELLTALES:
        match = pattern.search(log)
        if not match or not codes:
            continue
        if pattern is ABSTRACT_CLASS and not _store_methods_missing(log):
            continue  # another abstract class (a ChatKitServer without respond()): an app error, not CK301
        if codes == ("CK204",) and matched_stream:
            continue  # the CK203 'stream_events' case also matches the generic RunResult pattern
        matched_stream = matched_stream or codes == ("CK203",)
        for code in codes:
            if code not in seen_codes:
                seen_codes.add(code)
                found.append((code, meaning))
    return found


def _store_methods_missing(log: str) -> bool:
    """Every abstract class the log cannot instantiate lacks only methods of chatkit.store.Store."""
    from ..analysis.store import contract

    names = {method.name for method in contract().methods}
    missing = [m.strip("' ") for found in ABSTRACT_CLASS.finditer(log) for m in found["methods"].split(",")]
    return bool(missing) and set(missing) <= names


def unruled_meanings(log: str) -> str:
    """What the telltales that name no rule say about the log's application error."""
    return "; ".join(meaning for pattern, codes, meaning in TELLTALES if not codes and pattern.search(log))


AWAIT_OUTSIDE_ASYNC = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)\n(?:.*\n){0,3}?SyntaxError: \'await\' outside '
                                 r"(?:async )?function")


def store_method_awaiting(log: str) -> str | None:
    """The Store method named in a `SyntaxError: 'await' outside async function` traceback (the plain def whose
    line it points at is one of chatkit.store.Store's methods), or None."""
    import ast

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


def rules_from_log(log: str) -> tuple[list[str], str]:
    """The rule codes the log's telltales point at, and a short why; nothing when no telltale is there."""
    method = store_method_awaiting(log)
    if method is not None:
        return ["CK302"], f"Store.{method}() is a plain def that awaits: the module does not import"
    found = telltales(log)
    return [code for code, _ in found], "; ".join(dict.fromkeys(meaning for _, meaning in found))


def tracebacks(log: str) -> list[list[Traceback]]:
    """The tracebacks of a log, grouped in chains (an exception raised while handling another), oldest first."""
    chains: list[list[Traceback]] = []
    current: Traceback | None = None
    linked = False
    details = 0  # lines of a pydantic ValidationError still to read
    for raw in log.splitlines():
        line = GROUP_PREFIX.sub("", raw.rstrip()).strip()
        if line.startswith("Traceback (most recent call last)"):
            current = Traceback()
            if linked and chains:
                chains[-1].append(current)
            else:
                chains.append([current])
            linked = False
            continue
        if any(line.startswith(link) for link in CHAIN_LINKS):
            linked = True
            continue
        if current is None:
            continue
        frame = FRAME.match(line)
        if frame:
            current.frames.append(Frame(frame["path"], int(frame["line"]), frame["function"] or ""))
        elif EXCEPTION_LINE.match(line) and not current.exception:
            current.exception = line if len(line) <= 240 else line[:237] + "..."
            details = 2 if VALIDATION_ERROR.search(line) else 0
        elif details and current.exception and line and not line.startswith("For further information"):
            # pydantic names the field, then what is wrong with it, on the lines after the exception; the input's
            # value is left out (it may be a secret verify generated)
            line = PYDANTIC_INPUT.sub("", line)
            current.exception = _clip(f"{current.exception}: {line}" if details == 2 else f"{current.exception} ({line})")
            details -= 1
    return [chain for chain in chains if any(t.exception for t in chain)]


VALIDATION_ERROR = re.compile(r"\d+ validation errors? for \w+")
PYDANTIC_INPUT = re.compile(r", input_value=.*?(?=, input_type=\w+\]$|\]$)(, input_type=\w+)?")


def _clip(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def app_frame(chain: list[Traceback], root: Path | None) -> Frame | None:
    """The innermost frame of the app's own code in a chain, the exception that propagated looked at first."""
    for traceback in reversed(chain):
        for frame in reversed(traceback.frames):
            if any(part in frame.path for part in LIBRARY_PARTS):
                continue
            if root is None or _inside(frame.path, root):
                return frame
    return None


def _inside(path: str, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError):
        return False


def explain(log: str, root: Path | None = None) -> Cause:
    """The cause a log shows: its telltales' rules, the exception of its last traceback and where the app raised
    it (relative to `root`, the app's project folder)."""
    rules, meaning = rules_from_log(log)
    cause = Cause(rules, meaning or unruled_meanings(log))
    chains = tracebacks(log)
    if chains:
        chain = chains[-1]
        raised = next((t for t in reversed(chain) if t.exception), chain[-1])
        cause.exception = raised.exception
        frame = app_frame(chain, root)
        if frame is not None:
            cause.location = f"{_relative(frame.path, root)}:{frame.line}"
        innermost = raised.frames[-1] if raised.frames else None
        if innermost is not None and innermost is not frame and "site-packages" in innermost.path:
            cause.origin = f"{innermost.path.split('site-packages/', 1)[1]}:{innermost.line}"
        cause.network = any(NETWORK_ERRORS.search(t.exception) for t in chain)
    elif not rules:
        line = last_exception(log)
        if line:
            cause.exception = line
            cause.network = bool(NETWORK_ERRORS.search(line))
    return cause


def _relative(path: str, root: Path | None) -> str:
    if root is None:
        return path
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def last_exception(log: str) -> str | None:
    """The last `SomeError: message` line of the log, trimmed."""
    lines = [GROUP_PREFIX.sub("", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if EXCEPTION_LINE.match(line)]
    if not lines:
        return None
    line = lines[-1]
    return line if len(line) <= 240 else line[:237] + "..."


NOT_FOUND = re.compile(r"^(?:chatkit\.store\.)?NotFoundError\b")


def is_not_found(exception: str) -> bool:
    """The exception line is chatkit.store.NotFoundError: the store says the thread or item does not exist."""
    return bool(NOT_FOUND.match(exception or ""))


def is_tool_error(output: str) -> bool:
    return bool(TOOL_ERROR.match(output or ""))
