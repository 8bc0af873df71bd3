"""A client for the ChatKit wire protocol, as a ChatKit front end speaks it to a self-hosted back end.

Request bodies are built exactly as the SDK validates them (`chatkit.types`, openai-chatkit 1.6): every request has
`type` and `params`; user input carries `content` (`input_text` parts), `attachments` and `inference_options`.
Streaming requests answer with server-sent events, parsed here into `SSEEvent`s and collected into a
`StreamResult` that also records how the stream ended (a back end may send HTTP 200 and then cut the stream off).
Non-streaming requests answer with JSON.

Only `httpx` is needed. Every call has a connect/read timeout, and streams have an overall deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAMING_TYPES = frozenset({
    "threads.create", "threads.add_user_message", "threads.add_client_tool_output", "threads.add_structured_input",
    "threads.retry_after_item", "threads.custom_action",
})
DEFAULT_TIMEOUT = 30.0


class ProtocolError(RuntimeError):
    """The back end answered something a ChatKit client cannot use (status, content type or body)."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(f"{message} (HTTP {status}): {body[:500]}" if status is not None else message)
        self.status = status
        self.body = body


# ---- request bodies -----------------------------------------------------------------------------------------------


def user_input(
    text: str,
    attachments: Iterable[str] = (),
    inference_options: dict[str, Any] | None = None,
    quoted_text: str | None = None,
) -> dict[str, Any]:
    """A `UserMessageInput`: one `input_text` part plus the required `attachments` and `inference_options`."""
    body: dict[str, Any] = {
        "content": [{"type": "input_text", "text": text}],
        "attachments": list(attachments),
        "inference_options": dict(inference_options or {}),
    }
    if quoted_text is not None:
        body["quoted_text"] = quoted_text
    return body


def threads_create(text: str, **input_options: Any) -> dict[str, Any]:
    return {"type": "threads.create", "params": {"input": user_input(text, **input_options)}}


def threads_add_user_message(thread_id: str, text: str, **input_options: Any) -> dict[str, Any]:
    return {"type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_input(text, **input_options)}}


def threads_list(limit: int = 20, order: str = "desc", after: str | None = None) -> dict[str, Any]:
    return {"type": "threads.list", "params": {"limit": limit, "order": order, "after": after}}


def threads_get_by_id(thread_id: str) -> dict[str, Any]:
    return {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}


def items_list(thread_id: str, limit: int = 50, order: str = "asc", after: str | None = None) -> dict[str, Any]:
    return {"type": "items.list", "params": {"thread_id": thread_id, "limit": limit, "order": order, "after": after}}


def threads_delete(thread_id: str) -> dict[str, Any]:
    return {"type": "threads.delete", "params": {"thread_id": thread_id}}


def attachments_create(name: str, size: int, mime_type: str) -> dict[str, Any]:
    return {"type": "attachments.create", "params": {"name": name, "size": size, "mime_type": mime_type}}


def attachments_delete(attachment_id: str) -> dict[str, Any]:
    return {"type": "attachments.delete", "params": {"attachment_id": attachment_id}}


def is_streaming(body: dict[str, Any]) -> bool:
    return body.get("type") in STREAMING_TYPES


# ---- server-sent events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: `data` joins its data lines with newlines, as the EventSource spec says."""

    data: str
    event: str | None = None
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(lines: Iterable[str]) -> Iterator[SSEEvent]:
    """Events from SSE lines (without line endings): blank lines dispatch, `:` lines are comments."""
    data: list[str] = []
    event = event_id = None
    for line in lines:
        if line == "":
            if data:
                yield SSEEvent("\n".join(data), event, event_id)
            data, event = [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
    if data:  # a final event without its blank line: the stream was cut, but the event was complete
        yield SSEEvent("\n".join(data), event, event_id)


@dataclass
class StreamResult:
    """What a streaming request produced: the HTTP answer, every ChatKit event, and how the stream ended."""

    status: int
    content_type: str
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""
    transport_error: str | None = None  # the connection broke mid-stream (e.g. HTTP 200, then the stream aborted)
    undecodable: list[str] = field(default_factory=list)  # data that is not JSON

    @property
    def ok(self) -> bool:
        """HTTP 200, an event stream, read to its end, and no `error` event."""
        return (self.status == 200 and self.is_event_stream and self.transport_error is None
                and not self.errors and not self.undecodable)

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.split(";")[0].strip() == "text/event-stream"

    @property
    def cut_off(self) -> bool:
        return self.transport_error is not None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("type") == kind]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of_type("error")

    @property
    def thread_id(self) -> str | None:
        for event in self.events:
            if event.get("type") == "thread.created":
                return event.get("thread", {}).get("id")
            item = event.get("item")
            if isinstance(item, dict) and item.get("thread_id"):
                return item["thread_id"]
        return None

    def items_done(self, item_type: str | None = None) -> list[dict[str, Any]]:
        items = [event["item"] for event in self.of_type("thread.item.done") if isinstance(event.get("item"), dict)]
        return [item for item in items if item_type is None or item.get("type") == item_type]

    def assistant_messages(self) -> list[dict[str, Any]]:
        return self.items_done("assistant_message")

    def assistant_text(self) -> str:
        return "\n".join(message_text(item) for item in self.assistant_messages())

    def summary(self) -> str:
        """A one-line account for assertion messages."""
        kinds = [e.get("type") for e in self.events]
        parts = [f"HTTP {self.status} {self.content_type or '-'}", f"events={kinds}"]
        if self.errors:
            parts.append(f"errors={self.errors}")
        if self.transport_error:
            parts.append(f"cut off: {self.transport_error}")
        if not self.events and self.raw:
            parts.append(f"body={self.raw[:200]!r}")
        return "; ".join(parts)


def message_text(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))


# ---- the client ---------------------------------------------------------------------------------------------------


class ChatKitClient:
    """Posts ChatKit requests to one endpoint (`base_url` + `path`) and parses the answers.

    `headers` go on every request (an `Authorization` header, for instance); `timeout` bounds connecting and each
    read; `stream_deadline` bounds a whole stream.
    """

    def __init__(
        self,
        base_url: str,
        path: str = "/chatkit",
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_deadline: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.stream_deadline = stream_deadline
        # no keep-alive: a back end that fails a request may close the connection without saying so, and a reused
        # connection would then reset the next request (which a non-idempotent ChatKit request must not retry)
        self._client = httpx.Client(headers=headers or {}, timeout=httpx.Timeout(timeout), transport=transport,
                                    limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ChatKitClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- raw ----------------------------------------------------------------------------------------------------

    def post(self, body: dict[str, Any] | str | bytes) -> httpx.Response:
        """POST a body as it is (a dict is sent as JSON); no interpretation of the answer."""
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self._client.post(self.url, content=content, headers={"Content-Type": "application/json"})

    def request(self, body: dict[str, Any]) -> Any:
        """A non-streaming request: the decoded JSON answer, or ProtocolError."""
        response = self.post(body)
        if response.status_code != 200:
            raise ProtocolError(f"{body.get('type')} failed", response.status_code, response.text)
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(f"{body.get('type')} did not answer JSON", response.status_code, response.text) from None

    def stream(self, body: dict[str, Any] | str | bytes) -> StreamResult:
        """A streaming request, read to its end (or to a broken connection, or to the deadline)."""
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        deadline = time.monotonic() + self.stream_deadline
        lines: list[str] = []
        try:
            with self._client.stream("POST", self.url, content=content,
                                     headers={"Content-Type": "application/json", "Accept": "text/event-stream"}) as response:
                result = StreamResult(response.status_code, response.headers.get("content-type", ""))
                try:
                    for line in response.iter_lines():
                        lines.append(line)
                        if time.monotonic() > deadline:
                            result.transport_error = f"stream still open after {self.stream_deadline:.0f}s"
                            break
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as exc:
                    result.transport_error = f"{type(exc).__name__}: {exc}"
        except httpx.TransportError as exc:
            raise ProtocolError(f"cannot reach {self.url}: {type(exc).__name__}: {exc}") from exc
        result.raw = "\n".join(lines)
        if result.is_event_stream:
            for event in parse_sse(lines):
                try:
                    payload = event.json()
                except ValueError:
                    result.undecodable.append(event.data)
                    continue
                if isinstance(payload, dict):
                    result.events.append(payload)
        return result

    def upload(self, descriptor: dict[str, Any], name: str, data: bytes, mime_type: str) -> httpx.Response:
        """The second phase of a two-phase attachment upload, as ChatKit's front end does it: the file as the
        `file` field of a multipart form, sent to the descriptor's URL with its method and headers."""
        return self._client.request(str(descriptor.get("method") or "POST"), str(descriptor["url"]),
                                    headers=dict(descriptor.get("headers") or {}),
                                    files={"file": (name, data, mime_type)})

    # ---- helpers --------------------------------------------------------------------------------------------------

    def create_thread(self, text: str, **input_options: Any) -> StreamResult:
        return self.stream(threads_create(text, **input_options))

    def add_user_message(self, thread_id: str, text: str, **input_options: Any) -> StreamResult:
        return self.stream(threads_add_user_message(thread_id, text, **input_options))

    def list_threads(self, limit: int = 20, order: str = "desc", after: str | None = None) -> dict[str, Any]:
        return self.request(threads_list(limit, order, after))

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        return self.request(threads_get_by_id(thread_id))

    def list_items(self, thread_id: str, limit: int = 50, order: str = "asc", after: str | None = None) -> dict[str, Any]:
        return self.request(items_list(thread_id, limit, order, after))

    def all_items(self, thread_id: str, page_size: int = 50) -> list[dict[str, Any]]:
        """Every item of a thread, oldest first, following `has_more`/`after`."""
        items: list[dict[str, Any]] = []
        after = None
        for _ in range(1000):
            page = self.list_items(thread_id, page_size, "asc", after)
            items.extend(page.get("data", []))
            if not page.get("has_more") or not page.get("after"):
                return items
            after = page["after"]
        raise ProtocolError(f"items.list of {thread_id} never stopped paginating")
