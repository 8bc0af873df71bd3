"""Merging our additions into a user's existing files: codemods, never a rewrite.

An existing FastAPI entry module gains the ChatKit router and (when it has none) an outermost CORSMiddleware through
a libcst transform that leaves every other line as it was. An existing Next root layout or Vite `index.html` gains
the CDN script through the CK101 fix itself, so `init` and `apply` share one code path.
"""

from __future__ import annotations

from pathlib import Path

CDN_MERGERS = ("next-layout", "html-page")


def merge_existing(target: Path, merger: str, relative: Path, current: str, router_module: str) -> str | None:
    """The merged text of an existing file, or None when it cannot be merged mechanically (then the user is told)."""
    if merger == "fastapi-main":
        return merge_fastapi_main(current, router_module)
    if merger in CDN_MERGERS:
        return add_cdn_script(target, relative, merger)
    raise ValueError(f"unknown merger {merger!r}")


def add_cdn_script(target: Path, relative: Path, merger: str) -> str | None:
    """Apply CK101's own fix to one layout or page of the target project."""
    from ..analysis.frontend import frontend_model
    from ..codemods import ck101_cdn_script_missing as ck101
    from ..config import load_settings
    from ..context import ProjectContext
    from ..edits import apply_edits
    from ..engine import parses, settle_fix
    from ..project import Project

    project = Project.discover(target, load_settings(target), [target])
    pctx = ProjectContext(project)
    pctx.rule = ck101.RULE
    path = (target / relative).resolve()
    message = "chatkit-fix init: load the ChatKit web component"
    if merger == "next-layout":
        finding = ck101.layout_finding(pctx, frontend_model(project), path, message)
    else:
        finding = ck101.html_finding(pctx, path, message)
    if finding is None or settle_fix(finding).fix is None:
        return None
    ctx = pctx.parsed(path)
    merged = apply_edits(ctx.text, list(finding.fix.edits))
    return merged if parses(ctx.source, merged) else None


def merge_fastapi_main(text: str, router_module: str) -> str | None:
    """Add `include_router` for the ChatKit router, and CORSMiddleware added last, to the module's FastAPI app."""
    import libcst as cst
    import libcst.matchers as m

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return None
    app_index, app_name = _fastapi_app(module, m)
    if app_name is None:
        return None
    body = list(module.body)
    last_import = max((i for i, s in enumerate(body) if _is_import(s, m)), default=-1)
    imports = [f"from {router_module} import router as chatkit_router, settings as chatkit_settings"]
    needs_cors = "CORSMiddleware" not in text
    if needs_cors:
        imports.insert(0, "from fastapi.middleware.cors import CORSMiddleware")
    setup = [f"{app_name}.include_router(chatkit_router)"]
    if needs_cors:
        setup.append(
            "# Added last, so it is the outermost middleware: preflights carry no token and must be answered first.\n"
            f"{app_name}.add_middleware(\n"
            "    CORSMiddleware,\n"
            "    allow_origins=chatkit_settings.cors_origins,\n"
            '    allow_methods=["GET", "POST", "OPTIONS"],\n'
            '    allow_headers=["*"],\n'
            ")"
        )
    # after the app is built and configured, before a `__main__` block
    anchor = app_index
    for index in range(app_index + 1, len(body)):
        if _is_main_guard(body[index], m):
            break
        if _configures(body[index], app_name, m):
            anchor = index
    new_setup = [cst.parse_statement(code + "\n") for code in setup]
    new_setup[0] = new_setup[0].with_changes(leading_lines=[cst.EmptyLine()])
    body[anchor + 1:anchor + 1] = new_setup
    body[last_import + 1:last_import + 1] = [cst.parse_statement(code + "\n") for code in imports]
    return module.with_changes(body=body).code


def _fastapi_app(module, m) -> tuple[int, str | None]:
    for index, statement in enumerate(module.body):
        if not m.matches(statement, m.SimpleStatementLine(body=[m.Assign()])):
            continue
        assign = statement.body[0]
        call = assign.value
        if len(assign.targets) != 1 or not m.matches(assign.targets[0].target, m.Name()):
            continue
        if m.matches(call, m.Call(func=m.Name("FastAPI") | m.Attribute(attr=m.Name("FastAPI")))):
            return index, assign.targets[0].target.value
    return -1, None


def _is_import(statement, m) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()]))


def _is_main_guard(statement, m) -> bool:
    return m.matches(statement, m.If(test=m.Comparison(left=m.Name("__name__"))))


def _configures(statement, app_name: str, m) -> bool:
    """`app.add_middleware(...)`, `app.include_router(...)`, `app.mount(...)`: the app's set-up statements."""
    return m.matches(
        statement,
        m.SimpleStatementLine(
            body=[m.Expr(value=m.Call(func=m.Attribute(value=m.Name(app_name))))]
        ),
    )
