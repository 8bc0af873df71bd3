from agents import Agent, Runner
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer
from chatkit.types import AssistantMessageContent, AssistantMessageItem

planner = Agent(name="planner", instructions="Plan trips day by day.", model="gpt-4.1")


class PlannerServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        if input_user_message is None:
            return
        page = await self.store.load_thread_items(thread.id, None, 50, "asc", context)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        streamed = Runner.run_streamed(planner, await simple_to_agent_input(page.data), context=agent_context)
        async for event in stream_agent_response(agent_context, streamed):
            yield event

    def welcome(self, thread):
        return AssistantMessageItem(
            id="welcome",
            thread_id=thread.id,
            created_at=thread.created_at,
            content=[AssistantMessageContent(type="text", text="Where to?")],
        )
