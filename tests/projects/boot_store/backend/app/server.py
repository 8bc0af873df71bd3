"""A ChatKit server whose respond() yields its answer directly: no model, no network."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from chatkit.server import ChatKitServer
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)

from app.chatkit_store import MemoryStore


class EchoChatKitServer(ChatKitServer[dict[str, Any]]):
    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: dict[str, Any]
    ) -> AsyncIterator[ThreadStreamEvent]:
        text = "".join(getattr(part, "text", "") for part in (input_user_message.content if input_user_message else []))
        answer = f"Echo: {text}"
        item = AssistantMessageItem(
            id=self.store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=datetime.now(),
            content=[AssistantMessageContent(text="")],
        )
        yield ThreadItemAddedEvent(item=item)
        yield ThreadItemUpdatedEvent(
            item_id=item.id, update=AssistantMessageContentPartTextDelta(content_index=0, delta=answer)
        )
        yield ThreadItemDoneEvent(item=item.model_copy(update={"content": [AssistantMessageContent(text=answer)]}))
        if not thread.title:
            thread.title = text[:40]


def create_server() -> EchoChatKitServer:
    return EchoChatKitServer(store=MemoryStore())
