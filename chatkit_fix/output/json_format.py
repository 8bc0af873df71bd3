"""Machine output with a versioned, documented schema (docs/output.md); bump SCHEMA_VERSION on any breaking change."""

from __future__ import annotations

import json

from .. import __version__
from . import Report

SCHEMA_VERSION = 1


def finding_dict(report: Report, f) -> dict:
    return {
        "code": f.code,
        "slug": f.slug,
        "path": report.project_path(f.path),
        "filename": str(f.path),
        "line": f.line,
        "column": f.col,
        "end_line": f.end_line,
        "end_column": f.end_col,
        "message": f.message,
        "hint": f.hint,
        "url": f.url,
        "fix": None if f.fix is None else {
            "safety": f.fix.safety.value,
            "complete": f.fix.complete,
            "edits": [{"start": e.start, "end": e.end, "content": e.text} for e in _edits(report, f)],
        },
    }


def _edits(report: Report, finding) -> tuple:
    """The fix's edits, the imports it needs included (placed on the file's current text)."""
    if not finding.fix.imports:
        return finding.fix.edits
    from ..engine import fix_edits
    from ..sources import SourceError, SourceFile

    try:
        source = SourceFile.from_bytes(finding.path, report.project.read_bytes(finding.path))
    except SourceError:
        return finding.fix.edits
    return fix_edits(source, finding.fix)


def render(report: Report) -> str:
    result = report.result
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "chatkit-fix", "version": __version__},
        "mode": report.mode,
        "findings": [finding_dict(report, f) for f in result.findings],
        "errors": [{"path": report.project_path(e.path), "filename": str(e.path), "line": e.line, "message": e.message, "code": e.code or None} for e in result.errors],
        "fixed": [{"path": report.project_path(f.path), "filename": str(f.path), "written": f.written}
                  for f in result.fixed],
        "applied": [finding_dict(report, f) | {"fix": None} for f in result.applied],
        "summary": {
            "files_checked": result.files_checked,
            "findings": len(result.findings),
            "fixable": sum(1 for f in result.findings if f.fix is not None),
            "errors": len(result.errors),
            "fixed_files": len(result.fixed),
        },
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
