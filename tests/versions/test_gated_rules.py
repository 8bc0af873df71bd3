"""Each version-gated rule follows the release a project declares: on a project pinning the oldest or the newest
release of each measured range it fires exactly where the fact holds (tests/versions/test_facts.py shows, by running
those releases, that the fact is what they do), on an unbounded pin it judges by the newest known release, and on a
release outside every measured range it stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkit_fix import versions
from chatkit_fix.testing import check_rules, write_files

AGENTS_STREAM = (
    "from agents import Agent, OpenAIChatCompletionsModel, Runner\n"
    "from chatkit.agents import AgentContext, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n\n"
    "agent = Agent(name='a', model=OpenAIChatCompletionsModel(model='gpt-4.1', openai_client=None))\n\n\n"
    "class S(ChatKitServer[dict]):\n"
    "    async def respond(self, thread, input_user_message, context):\n"
    "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        async for e in stream_agent_response(ctx, Runner.run_streamed(agent, 'hi', context=ctx)):\n"
    "            yield e\n"
)
RUNRESULT = ("from agents import Runner\n\nasync def go(agent, items):\n"
             "    first = await Runner.run(agent, items)\n    return Runner.run_streamed(first, items)\n")
FASTMCP = "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x', port=8001)\nmcp.run(transport='streamable-http')\n"
BARE_TOOL = ("from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x')\n\n\n@mcp.tool\ndef add(a: int) -> int:\n"
             "    return a\n")
ERROR_EVENT = ("from chatkit.types import ErrorEvent\n\n\ndef fail():\n"
               "    return ErrorEvent(code='processing_error', message='x', allow_retry=False)\n")

# rule -> (fact, the file that shows the pattern, how many findings when the fact holds)
RULES = {
    "CK204": ("runresult-as-starting-agent-error", RUNRESULT, 1),
    "CK209": ("chatcmpl-streams-fake-id", AGENTS_STREAM, 1),
    "CK504": ("fastmcp-module-removed", FASTMCP, 2),  # the import, and the constructor's port=
    "CK506": ("bare-tool-decorator-rejected", BARE_TOOL, 1),
    "CK208": ("chatkit-sdk-contract", ERROR_EVENT, 1),
}


def boundaries(fact: str) -> list[tuple[str, object]]:
    found = []
    for measured in versions.facts()[fact]["ranges"]:
        for release in dict.fromkeys((measured["measured"][0], measured["measured"][-1])):
            found.append((release, measured["value"]))
    return found


CASES = [(code, release, value) for code, (fact, _, _) in RULES.items() for release, value in boundaries(fact)]


def findings(root: Path, code: str, requirement: str, source: str) -> list:
    write_files(root, {"requirements.txt": requirement + "\n", "app.py": source})
    return [f for f in check_rules(root, {code}).findings if f.code == code]


@pytest.mark.parametrize(("code", "release", "value"), CASES, ids=[f"{c}-{r}" for c, r, _ in CASES])
def test_fires_where_the_fact_holds_for_the_pinned_release(tmp_path: Path, code: str, release: str, value):
    fact, source, count = RULES[code]
    package = versions.facts()[fact]["package"]
    if code == "CK204":  # not gated: the misuse always fails; the message quotes what this release raises
        found = findings(tmp_path, code, f"{package}=={release}", source)
        assert len(found) == 1 and value in found[0].message and release in found[0].message
        return
    found = findings(tmp_path, code, f"{package}=={release}", source)
    assert len(found) == (count if value else 0), [f.message for f in found]


@pytest.mark.parametrize("code", sorted(RULES))
def test_an_unbounded_pin_means_the_newest_release(tmp_path: Path, code: str):
    fact, source, count = RULES[code]
    package = versions.facts()[fact]["package"]
    newest = versions.known_releases(package)[-1]
    expected = versions.value(_project(tmp_path / "pinned", f"{package}=={newest}"), fact).value
    found = findings(tmp_path / "unbounded", code, package, source)
    assert bool(found) == (bool(expected) or code == "CK204")


@pytest.mark.parametrize("code", ["CK209", "CK504", "CK506"])
def test_silent_for_a_release_outside_every_measured_range(tmp_path: Path, code: str):
    fact, source, _ = RULES[code]
    package = versions.facts()[fact]["package"]
    oldest_measured = versions.facts()[fact]["ranges"][0]["measured"][0]
    older = [r for r in versions.known_releases(package) if r != oldest_measured][0]
    assert versions.value(_project(tmp_path / "probe", f"{package}=={older}"), fact).value is None
    assert not findings(tmp_path / "project", code, f"{package}=={older}", source)


def test_ck209_needs_both_sdks_to_keep_the_placeholder(tmp_path: Path):
    """The rule asks two facts: agents emits `__fake_id__`, and chatkit passes it on."""
    assert versions.facts()["chatkit-keeps-fake-id"]["package"] == "openai-chatkit"
    older_chatkit = versions.known_releases("openai-chatkit")[0]  # 0.0.1: no measured range
    assert findings(tmp_path / "both", "CK209", "openai-agents==0.24.0\nopenai-chatkit==1.6.5", AGENTS_STREAM)
    assert not findings(tmp_path / "old", "CK209", f"openai-agents==0.24.0\nopenai-chatkit=={older_chatkit}",
                        AGENTS_STREAM)


def _project(root: Path, requirement: str):
    from chatkit_fix.config import load_settings
    from chatkit_fix.project import Project

    write_files(root, {"requirements.txt": requirement + "\n"})
    return Project.discover(root, load_settings(root), [root])
