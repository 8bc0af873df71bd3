"""The ChatKit server: runs the to-do agent for each user message."""

from agents import Agent, Runner
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer

agent = Agent(name="todo", instructions="You manage the user's to-do list.", model="gpt-4.1")


class TodoChatKitServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        page = await self.store.load_thread_items(thread.id, None, 20, "asc", context)
        agent_input = await simple_to_agent_input(page.data)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = await Runner.run(agent, agent_input)
        return stream_agent_response(agent_context, Runner.run_streamed(result, agent_input))
