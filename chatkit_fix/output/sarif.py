"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers; rule metadata carries help URIs."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..docs import rule_page
from . import Report, inside

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"safe": "error", "unsafe": "error", "report": "warning"}


def _location(report: Report, path) -> dict:
    """A relative URI reference against %SRCROOT% (percent-encoded: `my file.py` is `my%20file.py`), or an
    absolute `file://` URI for a file outside it."""
    if inside(path, report.ci_root):
        return {"uri": quote(report.ci_path(path), safe="/"), "uriBaseId": "%SRCROOT%"}
    return {"uri": Path(path).as_uri()}


def render(report: Report) -> str:
    rules = sorted(report.rules.values(), key=lambda r: r.code)
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = []
    for f in report.result.findings:
        entry = {
            "ruleId": f.code,
            "ruleIndex": index.get(f.code, 0),
            "level": "error",
            "message": {"text": f.message + (f" Hint: {f.hint}" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _location(report, f.path),
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.col,
                            "endLine": f.end_line,
                            "endColumn": max(f.end_col, 1),
                        },
                    }
                }
            ],
        }
        results.append(entry)
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [{"physicalLocation": {"artifactLocation": _location(report, e.path),
                                                "region": {"startLine": max(e.line, 1)}}}],
        }
        for e in report.result.errors
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "chatkit-fix",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.code,
                                "name": "".join(part.capitalize() for part in rule.slug.split("-")),
                                "shortDescription": {"text": rule.summary},
                                "fullDescription": {"text": rule.summary},
                                "helpUri": rule.url,
                                "help": {"text": f"{rule.summary}\n\nSee `chatkit-fix explain {rule.code}`.", "markdown": rule_page(rule)},
                                "defaultConfiguration": {"level": _LEVEL[rule.safety.value]},
                                "properties": {"fixSafety": rule.safety.value},
                            }
                            for rule in rules
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.ci_root.as_uri() + "/"}},
                "results": results,
                "invocations": [{"executionSuccessful": not report.result.errors, "toolExecutionNotifications": notifications}],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
