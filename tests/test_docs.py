"""Docs are generated from the rule modules: a test fails when docs/rules/ or the README's table drift."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.docs import expected_docs
from chatkit_fix.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent


def test_generated_docs_are_current():
    stale = [str(path.relative_to(ROOT)) for path, content in expected_docs(ROOT).items()
             if not path.exists() or path.read_text(encoding="utf-8") != content]
    extra = [p.name for p in (ROOT / "docs" / "rules").glob("CK*.md") if p.stem not in load_rules()]
    assert not stale and not extra, f"run `python -m chatkit_fix.docs`: stale {stale}, extra {extra}"


def test_explain_prints_the_rule_page():
    result = CliRunner().invoke(main, ["explain", "ck901"])
    assert result.exit_code == 0
    assert result.output.startswith("# CK901 uvicorn-reload-object\n")
    assert "## Wrong" in result.output and "https://www.uvicorn.org/" in result.output
    assert CliRunner().invoke(main, ["explain", "CK000"]).exit_code == 2


def test_rules_lists_every_rule():
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    codes = [line.split()[0] for line in result.output.splitlines()]
    assert codes == sorted(load_rules())


def test_rules_columns_are_code_slug_safety_summary():
    rules = load_rules()
    for line in CliRunner().invoke(main, ["rules"]).output.splitlines():
        code, slug, safety, summary = line.split(None, 3)
        assert (slug, safety, summary) == (rules[code].slug, rules[code].safety.value, rules[code].summary)
    listed = CliRunner().invoke(main, ["rules", "--format", "json"]).output
    assert [entry["code"] for entry in json.loads(listed)] == list(rules)


def test_explain_accepts_a_slug_and_prints_the_docs_page():
    """`explain <slug>` prints exactly the page in docs/rules/ (whose freshness the test above checks), read from disk
    here: comparing with the function that renders it would hold whatever it renders."""
    for code, rule in load_rules().items():
        page = (ROOT / "docs" / "rules" / f"{code}.md").read_text(encoding="utf-8")
        result = CliRunner().invoke(main, ["explain", rule.slug])
        assert result.exit_code == 0, result.output
        assert result.output == page, code
        assert page.startswith(f"# {code} {rule.slug}\n") and rule.url in page
