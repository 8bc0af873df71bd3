"""Fact `runresult-as-starting-agent-error` (CK204): what `Runner.run_streamed()` raises when it is given the
`RunResult` of an earlier `Runner.run()` where the `Agent` is due. The value is the error's text, as the finding
quotes it.

Runs a real first turn against the local fake OpenAI API, then streams a second run started from its result.
"""

from __future__ import annotations

FACT = "runresult-as-starting-agent-error"
PACKAGE = "openai-agents"
RELEASES = ">=0.3.2"  # what openai-chatkit 1.6.5 accepts
FAKE_OPENAI = True


def measure() -> dict:
    import asyncio

    from agents import Agent, Runner

    agent = Agent(name="a", instructions="answer", model="gpt-4.1")

    async def turns() -> dict:
        try:
            first = await Runner.run(agent, "hi")
        except Exception as exc:  # noqa: BLE001 - the environment cannot run a turn at all
            return {"unusable": f"the first turn failed: {type(exc).__name__}: {str(exc)[:160]}"}
        try:
            result = Runner.run_streamed(first, "again")
            async for _ in result.stream_events():
                pass
        except Exception as exc:  # noqa: BLE001 - the failure is what is measured
            return {"value": f"{type(exc).__name__}: {exc}"}
        return {"value": None, "detail": "the run started from a RunResult streamed without an error"}

    return asyncio.run(turns())


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
