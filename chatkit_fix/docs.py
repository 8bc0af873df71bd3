"""Rule pages: one text, used by `chatkit-fix explain` and written to docs/rules/ so docs and code cannot drift."""

from __future__ import annotations

from .rules import Rule

SAFETY_TEXT = {
    "safe": "safe: `chatkit-fix apply` fixes it",
    "unsafe": "unsafe: fixed only with `chatkit-fix apply --unsafe-fixes` (it changes behaviour)",
    "report": "report only: no automatic fix",
}


def rule_page(rule: Rule) -> str:
    """Markdown page of a rule, built from its module docstring and metadata."""
    lines = [
        f"# {rule.code} {rule.slug}",
        "",
        rule.summary,
        "",
        f"Fix: {SAFETY_TEXT[rule.safety.value]}.",
        f"Applies to: {', '.join(rule.languages) if rule.accepts is None else 'see below'}.",
        "",
    ]
    if rule.explanation:
        lines.extend([rule.explanation, ""])
    lines.extend([f"Upstream: {rule.url}", f"Suppress: `chatkit-fix: ignore[{rule.code}]` in a comment on the line or the line above."])
    return "\n".join(lines) + "\n"


def rules_table(rules: dict[str, Rule]) -> str:
    rows = ["| code | slug | fix | summary |", "|---|---|---|---|"]
    for rule in rules.values():
        rows.append(f"| [{rule.code}](docs/rules/{rule.code}.md) | {rule.slug} | {rule.safety.value} | {rule.summary} |")
    return "\n".join(rows) + "\n"
