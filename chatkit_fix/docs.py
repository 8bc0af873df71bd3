"""Rule pages: one text, used by `chatkit-fix explain` and written to docs/rules/ so docs and code cannot drift."""

from __future__ import annotations

from pathlib import Path

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


TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def expected_docs(root: Path) -> dict[Path, str]:
    """Every generated documentation file and its content: docs/rules/CKnnn.md and the README's rule table."""
    from .rules import load_rules

    rules = load_rules()
    files = {root / "docs" / "rules" / f"{code}.md": rule_page(rule) for code, rule in rules.items()}
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        _, tail = rest.split(TABLE_END, 1)
        files[readme] = f"{head}{TABLE_START}\n{rules_table(rules)}{TABLE_END}{tail}"
    return files


def write_docs(root: Path) -> list[Path]:
    """Regenerate the docs; stale rule pages of removed rules are deleted. Returns the files that changed."""
    changed = []
    expected = expected_docs(root)
    for path, content in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(path)
    for stale in (root / "docs" / "rules").glob("CK*.md"):
        if stale not in expected:
            stale.unlink()
            changed.append(stale)
    return changed


if __name__ == "__main__":
    for changed_path in write_docs(Path(__file__).resolve().parent.parent):
        print(f"wrote {changed_path}")
