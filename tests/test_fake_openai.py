"""The fake OpenAI server must satisfy the real clients, since `verify` runs unmodified user code against it."""

from __future__ import annotations

import asyncio
import json
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # the checkout is not installed; `pytest` alone does not put it on sys.path
    sys.path.insert(0, str(REPO_ROOT))

import agents  # noqa: E402
import openai  # noqa: E402
from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool  # noqa: E402
from agents.models import _openai_shared  # noqa: E402
from openai.types.responses import Response  # noqa: E402

from chatkit_fix.verify.fake_openai import (  # noqa: E402
    FAKE_API_KEY,
    FakeOpenAI,
    FakeScript,
    example_for_schema,
)

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Forecast for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "units": {"type": "string"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    },
    "strict": False,
}
CHAT_WEATHER_TOOL = {
    "type": "function",
    "function": {k: v for k, v in WEATHER_TOOL.items() if k in ("name", "description", "parameters")},
}


def _server_threads(before: frozenset[threading.Thread] = frozenset()) -> list[threading.Thread]:
    """fake-openai threads that were not running before: other suites may hold their own fake open."""
    return [t for t in threading.enumerate() if t.name.startswith("fake-openai") and t not in before]


@pytest.fixture
def fake():
    before = frozenset(threading.enumerate())
    with FakeOpenAI() as server:
        yield server
    assert not _server_threads(before), "server threads left running after close()"


@pytest.fixture
def client(fake):
    with openai.OpenAI(base_url=fake.base_url, api_key=FAKE_API_KEY, max_retries=0) as sync_client:
        yield sync_client


# --- Responses API -------------------------------------------------------------------------------


def test_streamed_response_has_openai_event_sequence_and_echoes_user(client):
    events = list(client.responses.create(model="gpt-4.1", input="hello fake world", stream=True))

    types = [event.type for event in events]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-5:] == [
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(deltas) > 1 and "".join(deltas) == "Echo: hello fake world"
    assert [event.sequence_number for event in events] == list(range(len(events)))

    final = events[-1].response
    Response.model_validate(final.model_dump())
    assert final.status == "completed" and final.output_text == "Echo: hello fake world"
    assert final.id.startswith("resp_") and final.output[0].id.startswith("msg_")
    assert final.usage is not None and final.usage.total_tokens > 0
    assert events[0].response.id == final.id and events[0].response.status == "in_progress"


def test_non_streamed_response_validates_and_ids_are_unique(client):
    first = client.responses.create(model="gpt-4.1", input=[{"role": "user", "content": "one"}])
    second = client.responses.create(model="gpt-4.1", input="two")

    Response.model_validate(first.model_dump())
    assert (first.output_text, second.output_text) == ("Echo: one", "Echo: two")
    assert first.id != second.id and first.output[0].id != second.output[0].id
    assert first.model == "gpt-4.1"


def test_tool_call_then_reply_with_tool_output_via_previous_response_id(client):
    events = list(client.responses.create(model="gpt-4.1", input="weather?", tools=[WEATHER_TOOL], stream=True))

    types = [event.type for event in events]
    assert types[2:] == ["response.output_item.added"] + ["response.function_call_arguments.delta"] * (
        types.count("response.function_call_arguments.delta")
    ) + ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    call = events[-1].response.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    arguments = json.loads(call.arguments)
    jsonschema.validate(arguments, WEATHER_TOOL["parameters"])
    assert arguments == example_for_schema(WEATHER_TOOL["parameters"])
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    streamed = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert streamed == call.arguments

    follow_up = client.responses.create(
        model="gpt-4.1",
        previous_response_id=events[-1].response.id,
        tools=[WEATHER_TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert follow_up.output_text == "Tool said: sunny"


def test_unknown_previous_response_id_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4.1", input="hi", previous_response_id="resp_missing")
    assert raised.value.body["param"] == "previous_response_id"


# --- Chat Completions ----------------------------------------------------------------------------


def test_chat_completions_streamed_and_not(client):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi chat"}]
    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hi chat"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0

    completion = client.chat.completions.create(model="gpt-4.1", messages=messages)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Echo: hi chat"


def test_chat_completions_tool_call_streams_as_tool_call_deltas(client):
    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "weather?"}], tools=[CHAT_WEATHER_TOOL], stream=True
        )
    )

    deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id.startswith("call_") and deltas[0].function.name == "get_weather"
    arguments = json.loads("".join(d.function.arguments or "" for d in deltas))
    jsonschema.validate(arguments, WEATHER_TOOL["parameters"])
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    answered = client.chat.completions.create(
        model="gpt-4.1",
        tools=[CHAT_WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": deltas[0].id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": deltas[0].id, "content": "rainy"},
        ],
    )
    assert answered.choices[0].message.content == "Tool said: rainy"


# --- Script --------------------------------------------------------------------------------------


def test_script_modes_and_templates(fake, client):
    fake.script = FakeScript(tool_call="never", reply="You said {last_user_text}!")
    assert client.responses.create(model="m", input="x", tools=[WEATHER_TOOL]).output_text == "You said x!"

    fake.script = FakeScript(tool_call="get_weather", tool_arguments={"get_weather": {"city": "Oslo", "days": 2}})
    forced = client.responses.create(model="m", input="x", tools=[WEATHER_TOOL]).output[0]
    assert (forced.name, json.loads(forced.arguments)) == ("get_weather", {"city": "Oslo", "days": 2})
    # a named tool is never called on an agent that does not have it (a title agent with no tools)
    assert client.responses.create(model="m", input="x").output_text == "Echo: x"

    fake.script = FakeScript()
    assert client.responses.create(model="m", input="x", tools=[WEATHER_TOOL], tool_choice="none").output_text == (
        "Echo: x"
    )
    with pytest.raises(ValueError, match="tool_arguments"):
        FakeScript(tool_arguments={"city": "Oslo"})


def test_auto_goes_round_every_offered_tool_and_honours_a_forced_choice(fake, client):
    other = {**WEATHER_TOOL, "name": "get_time", "parameters": {"type": "object", "properties": {}}}
    names = [client.responses.create(model="m", input="x", tools=[WEATHER_TOOL, other]).output[0].name
             for _ in range(4)]
    assert names == ["get_weather", "get_time", "get_weather", "get_time"]
    assert [call.name for call in fake.tool_calls] == names
    assert all(call.request_index == index for index, call in enumerate(fake.tool_calls))
    forced = client.responses.create(model="m", input="x", tools=[WEATHER_TOOL, other],
                                     tool_choice={"type": "function", "name": "get_time"})
    assert forced.output[0].name == "get_time"


def test_structured_output_is_valid_for_the_requested_schema(fake, client):
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
              "required": ["title", "score"], "additionalProperties": False}
    answer = client.responses.create(model="m", input="x",
                                     text={"format": {"type": "json_schema", "name": "T", "schema": schema}})
    jsonschema.validate(json.loads(answer.output_text), schema)
    chat = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], response_format={
        "type": "json_schema", "json_schema": {"name": "T", "schema": schema}})
    jsonschema.validate(json.loads(chat.choices[0].message.content), schema)


def test_script_from_json_file_rejects_unknown_keys(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"reply": "Hi {last_user_text}", "tool_call": "never"}))
    assert FakeScript.from_json_file(good) == FakeScript(reply="Hi {last_user_text}", tool_call="never")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"replly": "typo"}))
    with pytest.raises(ValueError, match="replly"):
        FakeScript.from_json_file(bad)


def test_examples_are_valid_readable_and_the_same_each_time():
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer", "minimum": 3},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "mode": {"enum": ["fast", "slow"]},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "where": {"$ref": "#/$defs/Place"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
            "optional": {"type": "string"},
        },
        "required": ["name", "count", "ratio", "flag", "mode", "note", "where", "tags", "code"],
        "$defs": {"Place": {"type": "object", "properties": {"zip": {"type": "integer"}}, "required": ["zip"]}},
    }
    value = example_for_schema(schema)
    jsonschema.validate(value, schema)
    assert set(value) <= set(schema["properties"])  # no made-up keys where the schema allows any
    assert value["name"].strip() and value["name"].isascii() and value["name"].isprintable()
    assert example_for_schema(json.loads(json.dumps(schema))) == value


# --- HTTP surface --------------------------------------------------------------------------------


def test_requests_are_recorded_and_missing_auth_still_works(fake):
    request = urllib.request.Request(
        f"{fake.base_url}/chat/completions",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "no key"}]}).encode(),
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["choices"][0]["message"]["content"] == "Echo: no key"

    (recorded,) = fake.requests
    assert (recorded.method, recorded.path, recorded.authorization) == ("POST", "/v1/chat/completions", None)
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.body["messages"][0]["content"] == "no key"


def test_models_list_and_unknown_path_404(fake):
    with urllib.request.urlopen(f"{fake.base_url}/models", timeout=5) as response:
        models = json.load(response)
    assert models["object"] == "list" and "gpt-4.1" in [m["id"] for m in models["data"]]

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{fake.base_url}/embeddings", data=b"{}", timeout=5)
    assert raised.value.code == 404
    error = json.load(raised.value)["error"]
    raised.value.close()
    assert error == {
        "message": "Invalid URL (POST /v1/embeddings)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_close_does_not_wait_for_idle_keep_alive_clients():
    before = frozenset(threading.enumerate())
    fake = FakeOpenAI().start()
    client = openai.OpenAI(base_url=fake.base_url, api_key=FAKE_API_KEY, max_retries=0)
    try:
        assert client.models.list().data
        closer = threading.Thread(target=fake.close)
        closer.start()
        closer.join(timeout=5)
        assert not closer.is_alive(), "close() blocked on an idle keep-alive connection"
        assert not _server_threads(before)
    finally:
        client.close()


def test_non_loopback_host_is_refused():
    with pytest.raises(ValueError, match="non-loopback"):
        FakeOpenAI(host="0.0.0.0")


# --- Agents SDK ----------------------------------------------------------------------------------


def _weather_tool(calls: list[dict]):
    @function_tool
    def get_weather(city: str, days: int) -> str:
        """Forecast for a city."""
        calls.append({"city": city, "days": days})
        return f"sunny in {city} for {days} day(s)"

    return get_weather


def _weather_schema() -> dict:
    """The parameters' schema the Agents SDK sends for `_weather_tool`."""
    return _weather_tool([]).params_json_schema


async def _run_agent(agent: Agent) -> tuple[str, list[str]]:
    result = Runner.run_streamed(agent, "What is the weather?", run_config=RunConfig(tracing_disabled=True))
    event_types = [event.type async for event in result.stream_events()]
    return result.final_output, event_types


@pytest.fixture
def fake_key_only_env(fake, monkeypatch):
    """The fake's key is the only one around, so nothing can reach the real API by accident."""
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_openai_shared, "_default_openai_client", None)
    monkeypatch.setattr(_openai_shared, "_default_openai_key", None)


def test_agents_sdk_responses_model_calls_tool_and_reports_its_output(fake, fake_key_only_env):
    calls: list[dict] = []

    async def scenario():
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key=FAKE_API_KEY, max_retries=0) as client:
            agents.set_default_openai_client(client, use_for_tracing=False)
            return await _run_agent(Agent(name="Forecaster", model="gpt-4.1", tools=[_weather_tool(calls)]))

    final_output, event_types = asyncio.run(scenario())

    (arguments,) = calls
    assert arguments == example_for_schema(_weather_schema())
    assert final_output == f"Tool said: sunny in {arguments['city']} for {arguments['days']} day(s)"
    assert "run_item_stream_event" in event_types
    bodies = [r.body for r in fake.requests if r.path == "/v1/responses"]
    assert len(bodies) == 2 and bodies[0]["tools"][0]["name"] == "get_weather"
    assert any(item.get("type") == "function_call_output" for item in bodies[1]["input"])


def test_agents_sdk_chat_completions_model_calls_tool_and_reports_its_output(fake, fake_key_only_env):
    calls: list[dict] = []

    async def scenario():
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key=FAKE_API_KEY, max_retries=0) as client:
            model = OpenAIChatCompletionsModel(model="gpt-4.1", openai_client=client)
            return await _run_agent(Agent(name="Forecaster", model=model, tools=[_weather_tool(calls)]))

    final_output, _ = asyncio.run(scenario())

    (arguments,) = calls
    assert final_output == f"Tool said: sunny in {arguments['city']} for {arguments['days']} day(s)"
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"] * 2


# --- CLI -----------------------------------------------------------------------------------------


def _start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "chatkit_fix.verify.fake_openai", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_prints_ready_serves_and_exits_cleanly_on_sigterm(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"reply": "CLI: {last_user_text}"}))
    process = _start_cli("--script", str(script))
    try:
        readable, _, _ = select.select([process.stdout], [], [], 10)
        assert readable, "no READY line within 10 s"
        ready = process.stdout.readline().split()
        assert ready[0] == "READY" and ready[1].startswith("http://127.0.0.1:") and ready[1].endswith("/v1")

        request = urllib.request.Request(
            f"{ready[1]}/responses", method="POST", data=json.dumps({"model": "gpt-4.1", "input": "ping"}).encode()
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["output"][0]["content"][0]["text"] == "CLI: ping"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert process.stdout.read() == ""
        assert "POST /v1/responses" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_cli_refuses_non_loopback_host():
    result = subprocess.run(
        [sys.executable, "-m", "chatkit_fix.verify.fake_openai", "--host", "0.0.0.0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "non-loopback" in result.stderr
