from chatkit.server import ChatKitServer, StreamingResult
from chatkit.types import ThreadItemDoneEvent
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from recipes_bot.store import RecipeStore

app = FastAPI()


class RecipesServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        text = "".join(part.text for part in input_user_message.content if part.type == "input_text")
        yield ThreadItemDoneEvent(item=self.store.reply(thread, f"Try shakshuka with {text}."))


server = RecipesServer(RecipeStore())


@app.post("/chatkit")
async def chatkit(request: Request):
    result = await server.process(await request.body(), {})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


def main() -> None:
    import uvicorn

    uvicorn.run(app, reload=True)
