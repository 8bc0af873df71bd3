"""CK215 boot fixture: a Chat Completions model fed the thread history by simple_to_agent_input."""

from __future__ import annotations

from typing import Any

from agents import Agent, OpenAIChatCompletionsModel, Runner
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.types import (
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
)
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from openai import AsyncOpenAI
from store import InMemoryStore

model = OpenAIChatCompletionsModel(model="gpt-4.1", openai_client=AsyncOpenAI())
assistant = Agent(name="Assistant", instructions="Answer in one sentence.", model=model)


async def with_store_ids(events, store, thread, context):
    """Give every `__fake_id__` item a real store id (Chat Completions models have no item ids)."""
    current = None
    async for event in events:
        if isinstance(event, ThreadItemAddedEvent) and event.item.id == FAKE_RESPONSES_ID:
            current = store.generate_item_id("message", thread, context)
            event = event.model_copy(update={"item": event.item.model_copy(update={"id": current})})
        elif isinstance(event, ThreadItemUpdatedEvent) and event.item_id == FAKE_RESPONSES_ID and current:
            event = event.model_copy(update={"item_id": current})
        elif isinstance(event, ThreadItemDoneEvent) and event.item.id == FAKE_RESPONSES_ID:
            item_id = current or store.generate_item_id("message", thread, context)
            event = event.model_copy(update={"item": event.item.model_copy(update={"id": item_id})})
            current = None
        yield event


class DemoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
        agent_input = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(assistant, agent_input, context=agent_context)
        async for event in with_store_ids(stream_agent_response(agent_context, result), self.store, thread, context):
            yield event


server = DemoServer(InMemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    result = await server.process(await request.body(), {"request": request})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
