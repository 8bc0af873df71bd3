"""Every case every rule carries, run through the real engine with ruff's invariants (chatkit_fix.testing)."""

from __future__ import annotations

import pytest

from chatkit_fix.rules import load_rules
from chatkit_fix.testing import all_cases, run_case

CASES = list(all_cases())


@pytest.mark.parametrize(("rule", "case"), [(r, c) for r, c, _ in CASES], ids=[i for _, _, i in CASES])
def test_case(rule, case, tmp_path):
    run_case(rule, case, tmp_path)


@pytest.mark.parametrize("code", sorted(load_rules()))
def test_rule_carries_cases_and_docs(code):
    rule = load_rules()[code]
    assert rule.valid, f"{code} has no valid (no-op) case"
    assert rule.invalid, f"{code} has no invalid case"
    assert rule.explanation and "## Wrong" in rule.explanation and "## Right" in rule.explanation
    assert rule.url.startswith("https://")
    assert rule.module.rsplit(".", 1)[-1] == f"{code.lower()}_{rule.slug.replace('-', '_')}"
