"""The report of `chatkit-fix verify`: a table for people, JSON for machines.

JSON (`--format json`), version 1:

    {
      "version": 1,
      "project": "/abs/path",
      "app": {"import": "backend.main:app", "cwd": ".", "source": "detected", "file": "backend/main.py",
              "url": "http://127.0.0.1:PORT", "endpoint": "/chatkit"},
      "mcp": {"import": "backend.mcp_tools:app", "cwd": ".", "source": "detected", "file": "...",
              "url": "http://127.0.0.1:PORT/mcp", "url_env": ["CHATKIT_MCP_URL"], "url_env_source": "...",
              "tools": ["add_note", ...]} | null,
      "endpoints": ["/chatkit", ...],
      "statement": "hosted mode: ..." | null,
      "outside": ["a postgresql server (DATABASE_URL=...): start it, or pass --env DATABASE_URL=..."],
      "auth": {"mode": "bearer" | "open" | "unknown", "secret": "<where the secret came from>" | null},
      "origin": {"origin": "http://localhost:3000", "source": "..."} | null,
      "fake_openai": "http://127.0.0.1:PORT/v1",
      "browser": {"command": "npm run dev -- --port P ...", "url": "...", "api": "...", "token": "...",
                  "page": "...", "chromium": "...", "cdn": "...", "screenshot": "...", "console": [...]},  (only with --browser)
      "python": "/path/to/python",
      "notes": ["..."],
      "checks": [{"id": "threads.create", "title": "...", "status": "pass" | "fail" | "skip", "reason": "...",
                  "rules": ["CK203"], "seconds": 0.42, "log": "server log lines of a failure",
                  "endpoint": "/cat/chatkit" (only when the app serves several)}, ...],
      "rules": {"CK203": {"slug": "respond-not-generator", "summary": "..."}},
      "summary": {"passed": 12, "failed": 1, "skipped": 4, "seconds": 6.1},
      "logs": {"app": "tail of the app's log (failures only)", "mcp": "..."},
      "exit_code": 1
    }

With a `statement` (hosted mode, ChatKit in name only) nothing was booted: `app` is null and `checks` empty.
The secret itself is never printed.
"""

from __future__ import annotations

from typing import Any

from .checks import FAIL, PASS, SKIP, VerifyReport

JSON_VERSION = 1
STATUS_LABEL = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}
STATUS_COLOR = {PASS: "green", FAIL: "red", SKIP: "yellow"}


def rule_descriptions(codes: list[str]) -> dict[str, dict[str, str]]:
    """slug and summary of each code, from the rule catalogue (codes without a rule module are left out)."""
    if not codes:
        return {}
    try:
        from ..rules import load_rules

        rules = load_rules()
    except Exception:  # noqa: BLE001 - the report must not fail because a rule module does
        return {}
    return {code: {"slug": rules[code].slug, "summary": rules[code].summary} for code in codes if code in rules}


def to_dict(report: VerifyReport) -> dict[str, Any]:
    d = report.discovery
    setup = report.setup
    app = d.app
    mcp = d.mcp
    codes = report.failed_rules
    return {
        "version": JSON_VERSION,
        "project": str(d.root),
        "app": None if app is None else {
            "import": app.import_string, "cwd": d.relative(app.cwd), "source": app.source,
            "file": d.relative(app.file) if app.file else None, "url": setup.get("app_url"),
            "endpoint": setup.get("endpoint_path", d.chatkit_path),
        },
        "endpoints": setup.get("endpoints", [e.path for e in d.endpoints]),
        "statement": d.statement,
        "outside": [o.hint() for o in d.outside],
        "mcp": None if mcp is None else {
            "import": mcp.import_string, "cwd": d.relative(mcp.cwd), "source": mcp.source,
            "file": d.relative(mcp.file) if mcp.file else None, "url": setup.get("mcp_url"),
            "url_env": mcp.url_env, "url_env_source": mcp.url_env_source, "tools": mcp.tools,
        },
        "auth": setup.get("auth", {"mode": "unknown", "secret": None}),
        "origin": setup.get("origin"),
        "fake_openai": setup.get("openai_base_url"),
        **({"browser": setup["browser"]} if "browser" in setup else {}),  # only with --browser
        "python": setup.get("python", report.options.python),
        "notes": list(d.notes),
        "checks": [check.to_dict() for check in report.checks],
        "rules": rule_descriptions(codes),
        "summary": {"passed": report.count(PASS), "failed": report.count(FAIL), "skipped": report.count(SKIP),
                    "seconds": round(report.seconds, 2)},
        "logs": dict(report.logs),
        "log_dir": report.log_dir,
        "exit_code": report.exit_code,
    }


def browser_lines(browser: dict[str, Any] | None) -> list[str]:
    """How `--browser` ran: the front end, where its API URL and token came from, Chromium, the CDN."""
    if not browser:
        return []
    lines = []
    if browser.get("command"):
        lines.append(f"  frontend  {browser['command']} (in {browser.get('cwd')}) on {browser.get('url')}")
    elif browser.get("url"):
        lines.append(f"  frontend  {browser['url']}")
    for key, label in (("api", "api url"), ("token", "token"), ("page", "page"), ("chromium", "browser"),
                       ("cdn", "chatkit.js"), ("screenshot", "screenshot")):
        if browser.get(key):
            lines.append(f"  {label:<9} {browser[key]}")
    if browser.get("cdn", "").startswith("stand-in"):
        lines.append("  note      chatkit.js was a local stand-in: the page's wiring is proven, not OpenAI's widget")
    return lines


def to_text(report: VerifyReport, color: bool = False, log_lines: int = 25) -> str:
    import click

    def style(text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if color else text

    d = report.discovery
    setup = report.setup
    out: list[str] = []
    app = d.app
    if d.statement is not None or app is None:
        out.append(style(f"chatkit-fix verify: {d.relative(d.root)}", bold=True))
        out.append(f"  {d.statement or 'nothing to boot'}")
        for note in d.notes:
            out.append(f"  note      {note}")
        out.append("")
        out.append(style("nothing was booted, no check ran", bold=True))
        return "\n".join(out) + "\n"
    where = f"{app.source}" + (f": {d.relative(app.file)}" if app.file else "")
    out.append(style(f"chatkit-fix verify: {app.import_string}", bold=True) + f" ({where}), run from "
               f"{d.relative(app.cwd)} with {setup.get('python', report.options.python)}")
    for service in d.outside:
        out.append(f"  needs     {service.hint()}")
    if setup.get("app_url"):
        paths = setup.get("endpoints") or [setup.get("endpoint_path", d.chatkit_path)]
        out.append(f"  endpoint  POST {', '.join(paths)} on {setup['app_url']}")
    if d.mcp is not None:
        out.append(f"  MCP       {d.mcp.import_string} on {setup.get('mcp_url', '(not started)')}; back end told "
                   f"through {', '.join(d.mcp.url_env)} ({d.mcp.url_env_source})")
    auth = setup.get("auth")
    if auth:
        mode = "bearer JWT" if auth["mode"] == "bearer" else "no token required"
        where = f", secret: {auth['secret']}" if auth.get("secret") else ""
        if auth["mode"] == "bearer" and not auth.get("secret"):
            where = ", no secret known (pass --jwt-secret)"
        out.append(f"  auth      {mode}{where}")
    if setup.get("origin"):
        out.append(f"  origin    {setup['origin']['origin']} ({setup['origin']['source']})")
    if setup.get("openai_base_url"):
        out.append(f"  model     fake OpenAI API at {setup['openai_base_url']}")
    for note in d.notes:
        out.append(f"  note      {note}")
    out.extend(browser_lines(setup.get("browser")))
    out.append("")
    width = max((len(check.id) for check in report.checks), default=10)
    for check in report.checks:
        label = style(STATUS_LABEL[check.status], fg=STATUS_COLOR[check.status], bold=check.status == FAIL)
        rules = f"  [{', '.join(check.rules)}]" if check.rules else ""
        on = f" [{check.endpoint}]" if check.endpoint else ""
        out.append(f"{label}  {check.id:<{width}}  {check.reason}{on}{style(rules, fg='red') if rules else ''}")
    codes = report.failed_rules
    if codes:
        described = rule_descriptions(codes)
        out.append("")
        out.append("Rules that explain the failures (chatkit-fix explain CODE):")
        for code in codes:
            info = described.get(code)
            out.append(f"  {code}  {info['slug']}: {info['summary']}" if info else f"  {code}")
    shown = False
    for check in report.checks:
        if check.status == FAIL and check.log.strip():
            out.append("")
            out.append(style(f"--- server log during {check.id} (last lines) ---", dim=True))
            out.extend(check.log.splitlines()[-log_lines:])
            shown = True
    if report.count(FAIL) and not shown:
        for name, log in report.logs.items():
            if log.strip():
                out.append("")
                out.append(style(f"--- {name} log (last lines) ---", dim=True))
                out.extend(log.splitlines()[-log_lines:])
    if report.log_dir:
        out.append("")
        out.append(f"logs kept in {report.log_dir}")
    out.append("")
    summary = (f"{report.count(PASS)} passed, {report.count(FAIL)} failed, {report.count(SKIP)} skipped "
               f"in {report.seconds:.1f}s")
    out.append(style(summary, fg="red" if report.count(FAIL) else "green", bold=True))
    return "\n".join(out) + "\n"
