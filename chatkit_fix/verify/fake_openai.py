"""A local stand-in for the OpenAI HTTP API, so `verify` and the tests can run user back ends offline.

It speaks the real wire format of `/v1/responses`, `/v1/chat/completions` and `/v1/models`
(JSON and server-sent events), so the unmodified `openai` client and the Agents SDK work
against it once `OPENAI_BASE_URL` points here. Its answers follow a small `FakeScript`:
echo the user, call an offered tool with arguments built from the tool's JSON schema, then
report what the tool returned. Tool arguments and structured outputs are drawn from their JSON
schemas by hypothesis-jsonschema (imported on first use).
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any, TextIO
from urllib.parse import urlsplit

FAKE_API_KEY = "sk-fake-chatkit-fix-verify"
MODEL_IDS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "gpt-5")
DEFAULT_MODEL = "gpt-4.1"
ARGUMENT_CHUNK_CHARS = 8


@dataclass
class FakeScript:
    """How the fake answers.

    `tool_call`: "auto" calls, on each user message, the offered function tool called least so far (so successive
    messages go through every tool an agent has), "never" answers with text only, and a tool's name calls that tool
    whenever it is offered (never on an agent that does not have it). Arguments come from `tool_arguments[name]` when
    given, else are generated from the tool's JSON schema by hypothesis-jsonschema, so each tool gets arguments valid
    for its own schema. Templates may use `{last_user_text}` and `{tool_output}`; other braces are left alone. A
    request that asks for structured output (a JSON schema) gets a value valid for that schema instead of text.
    """

    reply: str = "Echo: {last_user_text}"
    tool_call: str = "auto"
    tool_arguments: dict[str, dict[str, Any]] = field(default_factory=dict)
    after_tool_reply: str = "Tool said: {tool_output}"

    def __post_init__(self) -> None:
        if not isinstance(self.tool_arguments, dict) or not all(
            isinstance(name, str) and isinstance(arguments, dict) for name, arguments in self.tool_arguments.items()
        ):
            raise ValueError('tool_arguments must map each tool\'s name to its arguments, e.g. '
                             '{"get_weather": {"city": "Paris"}}')

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeScript:
        """Build a script from JSON data, rejecting unknown keys so typos do not pass silently."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fake script keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**data)

    @classmethod
    def from_json_file(cls, path: str | Path) -> FakeScript:
        """Load a script written as a JSON object, e.g. `{"reply": "Hi {last_user_text}"}`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a fake script must be a JSON object")
        return cls.from_dict(data)


@dataclass(frozen=True)
class ToolCallMade:
    """A tool call the fake answered with, kept so `verify` can tell which tool ran and how."""

    name: str
    call_id: str
    arguments: str
    request_index: int  # the request it answered (an index into FakeOpenAI.requests)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, kept so tests and `verify` can inspect what the app sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def authorization(self) -> str | None:
        """The Authorization header; a wrong or missing one is accepted but visible here."""
        return self.headers.get("authorization")


@dataclass(frozen=True)
class _Tool:
    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class _Conversation:
    """What the script needs from a request, whichever API it came through."""

    last_user_text: str
    tool_output: str | None
    tools: list[_Tool]
    tools_allowed: bool
    forced_tool: str | None = None  # tool_choice naming one function
    output_schema: dict[str, Any] | None = None  # structured output asked for: a JSON schema


@dataclass(frozen=True)
class _TextReply:
    text: str


@dataclass(frozen=True)
class _ToolCall:
    name: str
    arguments: str
    call_id: str = field(default_factory=lambda: _new_id("call_"))


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def _render(template: str, conversation: _Conversation) -> str:
    return template.replace("{last_user_text}", conversation.last_user_text).replace(
        "{tool_output}", conversation.tool_output or ""
    )


def example_for_schema(schema: dict[str, Any]) -> Any:
    """A value valid for a JSON schema, drawn by hypothesis-jsonschema: the same value for the same schema, with
    readable text where the schema allows it (non-empty printable ASCII, no keys beyond the declared properties).
    One drawing at a time: the fake answers on several threads, and hypothesis's engine is not made for that."""
    key = json.dumps(schema, sort_keys=True)
    with _EXAMPLES_LOCK:
        if key not in _EXAMPLES:
            _EXAMPLES[key] = _draw(schema)
        return _EXAMPLES[key]


def _draw(schema: dict[str, Any]) -> Any:
    _keep_hypothesis_out_of_the_project()
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample
    from hypothesis_jsonschema import from_schema

    strategy = from_schema(_closed(schema))
    chosen = settings(database=None, derandomize=True, max_examples=60, phases=[Phase.generate], deadline=None,
                      suppress_health_check=list(HealthCheck))
    try:
        return find(strategy, _readable, settings=chosen)
    except NoSuchExample:
        return find(strategy, lambda _value: True, settings=chosen)


_EXAMPLES: dict[str, Any] = {}
_EXAMPLES_LOCK = threading.Lock()


def _keep_hypothesis_out_of_the_project() -> None:
    """Hypothesis caches the constants of imported modules under `.hypothesis/` of the working directory, which is
    the user's project when verify runs: point its storage at a scratch folder removed at exit, unless the caller
    chose one (HYPOTHESIS_STORAGE_DIRECTORY)."""
    global _HYPOTHESIS_HOME
    if _HYPOTHESIS_HOME is not None or os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    _HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="chatkit-fix-hypothesis-")
    atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
    set_hypothesis_home_dir(_HYPOTHESIS_HOME)


_HYPOTHESIS_HOME: str | None = None


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on objects that declare properties and say nothing about
    others: its values are values of the original schema, without made-up keys."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) if key != "enum" and key != "const" else value for key, value in schema.items()}
    if "properties" in closed and "additionalProperties" not in closed and "patternProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


def _readable(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip()) and value.isascii() and value.isprintable()
    if isinstance(value, dict):
        return all(_readable(k) and _readable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_readable(item) for item in value)
    return True


def arguments_for(tool: _Tool, script: FakeScript) -> dict[str, Any]:
    """The script's arguments for this tool, else a value of its parameters' schema."""
    if tool.name in script.tool_arguments:
        return script.tool_arguments[tool.name]
    if not tool.parameters:
        return {}
    value = example_for_schema(tool.parameters)
    return value if isinstance(value, dict) else {}


def _plan_reply(script: FakeScript, conversation: _Conversation, calls: dict[str, int]) -> _TextReply | _ToolCall:
    """Decide between a tool call and text, once per user message so agent loops terminate; `calls` counts the
    calls of each tool so far (the fake's whole life), so "auto" goes round every tool."""
    if conversation.tool_output is None:
        tool = _tool_to_call(script, conversation, calls)
        if tool is not None:
            return _ToolCall(name=tool.name, arguments=json.dumps(arguments_for(tool, script)))
    if conversation.output_schema is not None:
        return _TextReply(json.dumps(example_for_schema(conversation.output_schema)))
    template = script.reply if conversation.tool_output is None else script.after_tool_reply
    return _TextReply(_render(template, conversation))


def _tool_to_call(script: FakeScript, conversation: _Conversation, calls: dict[str, int]) -> _Tool | None:
    """Only tools offered to this agent are called: a forced `tool_choice` first, then the script's choice."""
    if script.tool_call == "never" or not conversation.tools_allowed or not conversation.tools:
        return None
    offered = {tool.name: tool for tool in conversation.tools}
    if conversation.forced_tool in offered:
        return offered[conversation.forced_tool]
    if script.tool_call != "auto":
        return offered.get(script.tool_call)
    return min(conversation.tools, key=lambda tool: calls.get(tool.name, 0))


def _text_of(content: Any) -> str:
    """Plain text of a message content or tool output, which may be a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return "" if content is None else json.dumps(content)


def _conversation(messages: list[dict[str, Any]], tools: list[_Tool], tool_choice: Any,
                  output_schema: dict[str, Any] | None) -> _Conversation:
    """Find the last user text and any tool output after it, from normalised (role, content) messages."""
    last_user_text, tool_output = "", None
    for message in messages:
        if message["role"] == "user":
            last_user_text, tool_output = _text_of(message["content"]), None
        elif message["role"] == "tool":
            tool_output = _text_of(message["content"])
    forced = None
    if isinstance(tool_choice, dict):
        forced = tool_choice.get("name") or (tool_choice.get("function") or {}).get("name")
    return _Conversation(last_user_text, tool_output, tools, tools_allowed=tool_choice != "none", forced_tool=forced,
                         output_schema=output_schema)


def _schema_of(format_: Any) -> dict[str, Any] | None:
    """The JSON schema of a structured-output request (`text.format` / `response_format`), `{}` for json_object."""
    if not isinstance(format_, dict):
        return None
    if format_.get("type") == "json_object":
        return {"type": "object"}
    if format_.get("type") == "json_schema":
        schema = format_.get("schema") if "schema" in format_ else (format_.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    return None


def _responses_conversation(body: dict[str, Any], items: list[dict[str, Any]]) -> _Conversation:
    """`items` is the stored history of `previous_response_id` (if any) followed by this request's input."""
    messages = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") == "user":
            messages.append({"role": "user", "content": item.get("content")})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": item.get("output")})
    tools = [
        _Tool(tool["name"], tool.get("parameters") or {})
        for tool in body.get("tools") or []
        if tool.get("type") == "function" and "name" in tool
    ]
    return _conversation(messages, tools, body.get("tool_choice"), _schema_of((body.get("text") or {}).get("format")))


def _chat_conversation(body: dict[str, Any]) -> _Conversation:
    messages = [
        {"role": message.get("role"), "content": message.get("content")}
        for message in body.get("messages") or []
        if isinstance(message, dict)
    ]
    tools = [
        _Tool(tool["function"]["name"], tool["function"].get("parameters") or {})
        for tool in body.get("tools") or []
        if tool.get("type") == "function" and "name" in tool.get("function", {})
    ]
    return _conversation(messages, tools, body.get("tool_choice"), _schema_of(body.get("response_format")))


def _text_chunks(text: str) -> list[str]:
    """Split text roughly the way tokens stream: words with their leading spaces."""
    return re.findall(r"\s*\S+|\s+$", text) or [text]


def _token_estimate(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text) // 4)


# --- /v1/responses -------------------------------------------------------------------------------


def _response_usage(body: dict[str, Any], output: list[dict[str, Any]]) -> dict[str, Any]:
    input_tokens, output_tokens = _token_estimate(body.get("input", "")), _token_estimate(output)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Function tools come back with the defaults the API fills in; other tool types are echoed as sent."""
    if tool.get("type") != "function":
        return tool
    return {"description": None, "parameters": {}, "strict": True, **tool}


def _response_object(
    body: dict[str, Any], response_id: str, created_at: int, output: list[dict[str, Any]], completed: bool
) -> dict[str, Any]:
    """A Response as the API returns it: in progress (empty output, no usage) or completed."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "completed" if completed else "in_progress",
        "completed_at": int(time.time()) if completed else None,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": body.get("model") or DEFAULT_MODEL,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": [_echoed_tool(tool) for tool in body.get("tools") or []],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": _response_usage(body, output) if completed else None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _output_item(reply: _TextReply | _ToolCall) -> dict[str, Any]:
    if isinstance(reply, _ToolCall):
        return {
            "id": _new_id("fc_"),
            "type": "function_call",
            "status": "completed",
            "arguments": reply.arguments,
            "call_id": reply.call_id,
            "name": reply.name,
        }
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": reply.text}],
    }


def _item_events(item: dict[str, Any], output_index: int) -> Iterator[dict[str, Any]]:
    """The events between output_item.added and output_item.done, in the API's order."""
    position = {"item_id": item["id"], "output_index": output_index}
    if item["type"] == "function_call":
        yield {
            "type": "response.output_item.added",
            "output_index": output_index,
            "item": {**item, "status": "in_progress", "arguments": ""},
        }
        arguments = item["arguments"]
        for start in range(0, len(arguments), ARGUMENT_CHUNK_CHARS):
            yield {
                "type": "response.function_call_arguments.delta",
                **position,
                "delta": arguments[start : start + ARGUMENT_CHUNK_CHARS],
            }
        yield {"type": "response.function_call_arguments.done", **position, "arguments": arguments}
    else:
        part = item["content"][0]
        yield {
            "type": "response.output_item.added",
            "output_index": output_index,
            "item": {**item, "status": "in_progress", "content": []},
        }
        yield {"type": "response.content_part.added", **position, "content_index": 0, "part": {**part, "text": ""}}
        for chunk in _text_chunks(part["text"]):
            yield {"type": "response.output_text.delta", **position, "content_index": 0, "delta": chunk, "logprobs": []}
        yield {
            "type": "response.output_text.done",
            **position,
            "content_index": 0,
            "text": part["text"],
            "logprobs": [],
        }
        yield {"type": "response.content_part.done", **position, "content_index": 0, "part": part}
    yield {"type": "response.output_item.done", "output_index": output_index, "item": item}


def _response_events(body: dict[str, Any], response_id: str, output: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The whole Responses stream, each event numbered with `sequence_number` from 0."""
    created_at = int(time.time())
    in_progress = _response_object(body, response_id, created_at, [], completed=False)

    def unnumbered() -> Iterator[dict[str, Any]]:
        yield {"type": "response.created", "response": in_progress}
        yield {"type": "response.in_progress", "response": in_progress}
        for index, item in enumerate(output):
            yield from _item_events(item, index)
        yield {
            "type": "response.completed",
            "response": _response_object(body, response_id, created_at, output, completed=True),
        }

    for sequence_number, event in enumerate(unnumbered()):
        yield {**event, "sequence_number": sequence_number}


# --- /v1/chat/completions ------------------------------------------------------------------------


def _chat_usage(body: dict[str, Any], completion: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = _token_estimate(body.get("messages", [])), _token_estimate(completion)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_envelope(body: dict[str, Any], completion_id: str, object_type: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": object_type,
        "created": int(time.time()),
        "model": body.get("model") or DEFAULT_MODEL,
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _chat_completion(body: dict[str, Any], reply: _TextReply | _ToolCall) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if isinstance(reply, _ToolCall):
        message["tool_calls"] = [
            {"id": reply.call_id, "type": "function", "function": {"name": reply.name, "arguments": reply.arguments}}
        ]
        finish_reason, completion = "tool_calls", reply.arguments
    else:
        message["content"] = reply.text
        finish_reason, completion = "stop", reply.text
    return {
        **_chat_envelope(body, _new_id("chatcmpl-"), "chat.completion"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": _chat_usage(body, completion),
    }


def _chat_chunks(body: dict[str, Any], reply: _TextReply | _ToolCall) -> Iterator[dict[str, Any]]:
    """chat.completion.chunk objects; usage comes last, alone, only when stream_options asks for it."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    envelope = _chat_envelope(body, _new_id("chatcmpl-"), "chat.completion.chunk")
    if include_usage:
        envelope["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**envelope, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

    if isinstance(reply, _ToolCall):
        yield chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": reply.call_id,
                        "type": "function",
                        "function": {"name": reply.name, "arguments": ""},
                    }
                ],
            }
        )
        for start in range(0, len(reply.arguments), ARGUMENT_CHUNK_CHARS):
            piece = reply.arguments[start : start + ARGUMENT_CHUNK_CHARS]
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls")
        completion = reply.arguments
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _text_chunks(reply.text):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        completion = reply.text
    if include_usage:
        yield {**envelope, "choices": [], "usage": _chat_usage(body, completion)}


# --- HTTP ----------------------------------------------------------------------------------------


def _error_body(message: str, error_type: str = "invalid_request_error", param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": None}}


class _FakeServer(ThreadingHTTPServer):
    """Holds the script, the request log and the stored responses, and tracks connections so close() is clean."""

    # Every streamed answer closes its connection, so a busy back end opens many at once: with the default backlog
    # of 5 the kernel drops the others' SYNs and each waits a second for the retry.
    request_queue_size = 256

    def __init__(self, host: str, port: int, script: FakeScript, log_stream: TextIO | None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.script = script
        self.log_stream = log_stream
        self.lock = threading.Lock()
        self.recorded: list[RecordedRequest] = []
        self.tool_calls: list[ToolCallMade] = []
        self.call_counts: dict[str, int] = {}
        self.stored_conversations: dict[str, list[dict[str, Any]]] = {}
        self.connection_threads: dict[socket.socket, threading.Thread] = {}
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can stall startup."""
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        """Like ThreadingMixIn's, but remembers each daemon handler thread (the mixin only joins non-daemon ones)."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-openai-connection",
            daemon=True,
        )
        with self.lock:
            self.connection_threads[request] = thread
        thread.start()

    def shutdown_request(self, request: socket.socket) -> None:
        with self.lock:
            self.connection_threads.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive sockets, then wait for them to finish."""
        with self.lock:
            connections = dict(self.connection_threads)
        for connection, thread in connections.items():
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            thread.join()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-stream is normal; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai"
    sys_version = ""
    server: _FakeServer

    def _dispatch(self) -> None:
        """Record the request, then route it; every unknown method or path gets OpenAI's 404 JSON."""
        path = urlsplit(self.path).path.rstrip("/")
        raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        with self.server.lock:
            self.server.recorded.append(
                RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
            )
        # by the path's end: Azure clients add /openai/deployments/<name> (or /openai) before the same endpoints
        endpoint = next((tail for tail in ("/responses", "/chat/completions", "/models") if path.endswith(tail)), "")
        route = {
            ("POST", "/responses"): self._responses,
            ("POST", "/chat/completions"): self._chat_completions,
            ("GET", "/models"): self._models,
        }.get((self.command, endpoint)) if path.startswith("/v1/") else None
        if route is None:
            self._send_json(404, _error_body(f"Invalid URL ({self.command} {urlsplit(self.path).path})"))
        elif self.command == "POST" and not isinstance(body, dict):
            self._send_json(400, _error_body("We could not parse the JSON body of your request."))
        else:
            route(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _responses(self, body: dict[str, Any]) -> None:
        previous_id = body.get("previous_response_id")
        with self.server.lock:
            history = self.server.stored_conversations.get(previous_id) if previous_id else []
        if history is None:
            self._send_json(
                400, _error_body(f"Previous response with id '{previous_id}' not found.", param="previous_response_id")
            )
            return
        new_input = body.get("input")
        if isinstance(new_input, str):
            new_input = [{"role": "user", "content": new_input}]
        items = history + [item for item in new_input or [] if isinstance(item, dict)]
        output = [_output_item(self._reply(_responses_conversation(body, items)))]
        response_id = _new_id("resp_")
        with self.server.lock:
            self.server.stored_conversations[response_id] = items + output
        if body.get("stream"):
            events = _response_events(body, response_id, output)
            self._send_events(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events)
        else:
            self._send_json(200, _response_object(body, response_id, int(time.time()), output, completed=True))

    def _chat_completions(self, body: dict[str, Any]) -> None:
        reply = self._reply(_chat_conversation(body))
        if body.get("stream"):
            frames = (f"data: {json.dumps(chunk)}\n\n" for chunk in _chat_chunks(body, reply))
            self._send_events([*frames, "data: [DONE]\n\n"])
        else:
            self._send_json(200, _chat_completion(body, reply))

    def _reply(self, conversation: _Conversation) -> _TextReply | _ToolCall:
        """The script's answer to the request just recorded; a tool call is counted and remembered."""
        server = self.server
        with server.lock:
            counts = dict(server.call_counts)
            index = len(server.recorded) - 1
        reply = _plan_reply(server.script, conversation, counts)
        if isinstance(reply, _ToolCall):
            with server.lock:
                server.call_counts[reply.name] = server.call_counts.get(reply.name, 0) + 1
                server.tool_calls.append(ToolCallMade(reply.name, reply.call_id, reply.arguments, index))
        return reply

    def _models(self, _body: Any) -> None:
        created = int(time.time())
        self._send_json(
            200,
            {
                "object": "list",
                "data": [
                    {"id": model_id, "object": "model", "created": created, "owned_by": "openai"}
                    for model_id in MODEL_IDS
                ],
            },
        )

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", _new_id("req_"))
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, frames: Iterable[str]) -> None:
        """Server-sent events without a length, so the connection closes to mark the end."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("x-request-id", _new_id("req_"))
        self.end_headers()
        self.close_connection = True
        for frame in frames:
            self.wfile.write(frame.encode())
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_stream is not None:
            headers = getattr(self, "headers", None)
            auth = "auth" if headers is not None and headers.get("Authorization") else "no-auth"
            self.server.log_stream.write(f"fake_openai: {format % args} [{auth}]\n")
            self.server.log_stream.flush()


def is_loopback_host(host: str) -> bool:
    """Only loopback is allowed: the fake accepts any key and must not be reachable from the network."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakeOpenAI:
    """The fake server, bound at construction and served from a daemon thread between start() and close()."""

    def __init__(
        self,
        script: FakeScript | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_stream: TextIO | None = None,
    ):
        if not is_loopback_host(host):
            raise ValueError(f"refusing to bind non-loopback host {host!r}; use 127.0.0.1")
        self._server = _FakeServer(host, port, script or FakeScript(), log_stream)
        self._thread: threading.Thread | None = None
        bound_host, bound_port = self._server.server_address[:2]
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.base_url = f"http://{url_host}:{bound_port}/v1"

    @property
    def script(self) -> FakeScript:
        return self._server.script

    @script.setter
    def script(self, script: FakeScript) -> None:
        """Swap the behaviour between requests without restarting the server."""
        self._server.script = script

    @property
    def tool_calls(self) -> list[ToolCallMade]:
        """Every tool call the fake answered with so far, oldest first."""
        with self._server.lock:
            return list(self._server.tool_calls)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._server.lock:
            return list(self._server.recorded)

    def env(self) -> dict[str, str]:
        """Environment variables that point an unmodified OpenAI client at this fake."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": FAKE_API_KEY}

    def start(self) -> FakeOpenAI:
        """Serve from a daemon thread, so a forgotten close() never keeps the interpreter alive."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end open connections and join every server thread."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print `READY <base_url>` once listening so a parent can wait for it."""
    parser = argparse.ArgumentParser(
        prog="python -m chatkit_fix.verify.fake_openai", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--script", type=Path, help="JSON file with FakeScript fields")
    args = parser.parse_args(argv)
    try:
        script = FakeScript.from_json_file(args.script) if args.script else FakeScript()
        fake = FakeOpenAI(script=script, host=args.host, port=args.port, log_stream=sys.stderr)
    except (OSError, ValueError) as error:
        parser.exit(2, f"fake_openai: {error}\n")
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    with fake:
        print(f"READY {fake.base_url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
