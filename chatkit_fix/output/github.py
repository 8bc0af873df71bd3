"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

Paths are relative to $GITHUB_WORKSPACE when the project lies inside it (see Report.ci_root), as GitHub expects;
else to the current folder, as ruff prints them (absolute when outside it).
"""

from __future__ import annotations

from . import Report


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    for f in report.result.findings:
        props = ",".join(
            [
                f"file={_escape_property(report.ci_path(f.path))}",
                f"line={f.line}",
                f"col={f.col}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_col}",
                f"title={_escape_property(f'{f.code} {f.slug}')}",
            ]
        )
        lines.append(f"::error {props}::{_escape_data(f'{f.code} {f.message}')}")
    for e in report.result.errors:
        lines.append(f"::error file={_escape_property(report.ci_path(e.path))},line={e.line},title=chatkit-fix::{_escape_data(e.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
