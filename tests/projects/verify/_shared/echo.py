"""A ChatKit server that answers by itself (no model): "<user id> said: <text>"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatkit.server import ChatKitServer
from chatkit.types import AssistantMessageContent, AssistantMessageItem, ThreadItemDoneEvent


class EchoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        text = "".join(getattr(part, "text", "") for part in (input_user_message.content if input_user_message else []))
        yield ThreadItemDoneEvent(
            item=AssistantMessageItem(
                id=self.store.generate_item_id("message", thread, context),
                thread_id=thread.id,
                created_at=datetime.now(),
                content=[AssistantMessageContent(text=f"{context.get('user_id', 'someone')} said: {text}")],
            )
        )
