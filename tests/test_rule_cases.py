"""Every case every rule carries, run through the real engine with ruff's invariants (chatkit_fix.testing)."""

from __future__ import annotations

import pytest

from chatkit_fix.findings import Safety
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


@pytest.mark.parametrize("code", sorted(load_rules()))
def test_cases_state_their_findings(code):
    """An invalid case lists its findings (anchor and message) and a valid one expects none: a case that only asks
    for "some finding" lets a finding in the wrong place, or one too many, pass."""
    rule = load_rules()[code]
    assert all(case.findings for case in rule.invalid), f"{code}: an invalid case lists no finding"
    assert not any(case.findings for case in rule.valid), f"{code}: a valid case expects findings"


@pytest.mark.parametrize("code", sorted(c for c, r in load_rules().items() if r.safety is Safety.UNSAFE))
def test_unsafe_rule_has_a_fixing_unsafe_case(code):
    """Each unsafe case is also run without --unsafe-fixes (chatkit_fix.testing), so a rule with unsafe fixes needs
    one that fixes something: that is the proof its fix waits for --unsafe-fixes."""
    rule = load_rules()[code]
    assert any(case.unsafe and case.expected for case in rule.invalid), f"{code} has no unsafe case that fixes"
