"""The ChatKit server: answers tickets with an agent that can look up orders."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agents import Agent, Runner, function_tool
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer
from chatkit.types import ThreadMetadata, ThreadStreamEvent, UserMessageItem

ORDERS = {"A-1001": "shipped", "A-1002": "processing"}


@function_tool
def order_status(order_id: str) -> str:
    """The status of an order, by its id."""
    return ORDERS.get(order_id, "unknown order")


agent = Agent(
    name="helpdesk",
    instructions="You answer customer questions. Use order_status for order questions.",
    model="gpt-4.1-mini",
    tools=[order_status],
)


class HelpdeskServer(ChatKitServer[dict]):
    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: dict
    ) -> AsyncIterator[ThreadStreamEvent]:
        items = await self.store.load_thread_items(thread.id, None, 30, "asc", context)
        agent_input = await simple_to_agent_input(items.data)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(agent, agent_input, context=agent_context)
        async for event in stream_agent_response(agent_context, result):
            yield event
