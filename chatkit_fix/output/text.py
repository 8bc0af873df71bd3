"""Human output: findings grouped by file, a summary line; colours only when asked (a TTY without NO_COLOR)."""

from __future__ import annotations

from collections import defaultdict

from . import Report

_STYLES = {"path": "\033[1m", "code": "\033[31;1m", "dim": "\033[2m", "fix": "\033[32m", "reset": "\033[0m"}


def render(report: Report) -> str:
    def style(kind: str, text: str) -> str:
        return f"{_STYLES[kind]}{text}{_STYLES['reset']}" if report.color else text

    result = report.result
    lines: list[str] = []
    by_file = defaultdict(list)
    for finding in result.findings:
        by_file[report.path(finding.path)].append(finding)
    for path in sorted(by_file):
        if not report.quiet:
            lines.append(style("path", path))
        for f in by_file[path]:
            marker = ""
            if f.fix is not None:
                marker = " [*]" if f.fix.safety.value == "safe" else " [unsafe fix]"
            prefix = f"  {f.line}:{f.col}" if not report.quiet else f"{path}:{f.line}:{f.col}:"
            lines.append(f"{prefix} {style('code', f.code)} {f.message}{marker}")
            if f.hint and not report.quiet:
                lines.append(f"      {style('dim', 'hint: ' + f.hint)}")
    for error in result.errors:
        lines.append(error.render(report.path(error.path)))
    if report.show_fixes and result.applied:
        lines.append("")
        lines.append(style("fix", "Fixed:"))
        for f in sorted(result.applied, key=lambda x: x.sort_key()):
            lines.append(f"  {report.path(f.path)}:{f.line}:{f.col} {f.code} {f.message}")
    if not report.quiet:
        lines.append(_summary(report))
    return "\n".join(lines) + ("\n" if lines else "")


def _summary(report: Report) -> str:
    result = report.result
    found = len(result.findings)
    parts = []
    if report.mode == "apply":
        written = sum(1 for f in result.fixed if f.written)
        fixed = len(result.applied)
        if written or fixed:
            parts.append(f"Fixed {fixed} finding{'s' * (fixed != 1)} in {len(result.fixed)} file{'s' * (len(result.fixed) != 1)}"
                         + ("" if written else " (not written)"))
    if found:
        parts.append(f"Found {found} finding{'s' * (found != 1)}")
        safe = sum(1 for f in result.findings if f.fix is not None and f.fix.safety.value == "safe")
        unsafe = sum(1 for f in result.findings if f.fix is not None and f.fix.safety.value == "unsafe")
        if safe:
            parts.append(f"{safe} fixable with `chatkit-fix apply`")
        if unsafe and not report.unsafe:
            parts.append(f"{unsafe} more with `--unsafe-fixes`")
    elif not result.errors:
        parts.append(f"All checks passed ({result.files_checked} file{'s' * (result.files_checked != 1)})")
    if result.errors:
        parts.append(f"{len(result.errors)} error{'s' * (len(result.errors) != 1)}")
    return ". ".join(parts) + "."
