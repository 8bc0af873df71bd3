"""uvicorn can only reload or fork workers when it can import the app itself.

## Why
`uvicorn.run(app, reload=True)` (or `workers=2`) gets an application *object*. To reload or to start workers,
uvicorn must re-import the app in a new process, so it prints `You must pass the application as an import string to
enable 'reload' or 'workers'.` and exits with code 3: the back end never starts.

## Wrong
```python
app = FastAPI()
if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=8000, reload=True)
```

## Right
```python
if __name__ == "__main__":
    uvicorn.run("main:app", host="127.0.0.1", port=8000, reload=True)
```
The import string is the module as uvicorn imports it from the folder you start it in, a colon, and the attribute.
An app built by a factory function becomes `uvicorn.run("main:create_app", factory=True, reload=True)`.
"""

from __future__ import annotations

import ast

from chatkit_fix.findings import Safety
from chatkit_fix.pyast import NOT_LITERAL, keyword, literal
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK901",
    slug="uvicorn-reload-object",
    safety=Safety.SAFE,
    summary="uvicorn.run() needs an import string, not an app object, for reload= or workers=",
    url="https://www.uvicorn.org/deployment/#running-programmatically",
    triggers=((b"uvicorn", b"reload"), (b"uvicorn", b"workers")),
    module=__name__,
    explanation=__doc__,
)


def _needs_import_string(ctx, call: ast.Call) -> str | None:
    """The option that forces an import string, as written, or None. uvicorn tests `reload` for truth and forks for
    more than one worker: reload=1 and reload=DEBUG (unknown here) count, reload=0 and workers=1 do not."""
    reload_kw = keyword(call, "reload")
    if reload_kw is not None:
        value = literal(reload_kw.value)
        if value is NOT_LITERAL or value:
            return f"reload={ctx.segment(reload_kw.value)}"
    workers_kw = keyword(call, "workers")
    if workers_kw is not None:
        value = literal(workers_kw.value)
        if value is NOT_LITERAL or isinstance(value, int) and not isinstance(value, bool) and value > 1:
            return f"workers={ctx.segment(workers_kw.value)}"
    return None


def _import_string(ctx, app: ast.expr) -> tuple[str, bool] | None:
    """("module:attribute", is_factory) for an app expression, when it can be named by import."""
    target = app.func if isinstance(app, ast.Call) and not app.args and not app.keywords else app
    if not isinstance(target, ast.Name):
        return None
    qualified = sorted(ctx.imports.qualnames(target))
    if qualified:
        module, _, attribute = qualified[0].rpartition(".")
        if not module or module.startswith("."):
            return None
        return f"{module}:{attribute}", target is not app
    if _defined_at_module_level(ctx.tree, target.id):
        return f"{ctx.module_name}:{target.id}", target is not app
    return None


def _defined_at_module_level(tree: ast.Module, name: str) -> bool:
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and statement.name == name:
            return True
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


@RULE.check
def check(ctx):
    for call in ctx.calls_to("uvicorn", "run"):
        reason = _needs_import_string(ctx, call)
        if reason is None:
            continue
        app_kw = keyword(call, "app")
        app = call.args[0] if call.args else (app_kw.value if app_kw else None)
        if app is None or (isinstance(app, ast.Constant) and isinstance(app.value, str)):
            continue
        message = f"uvicorn.run() gets an app object with {reason}: uvicorn prints an error and exits"
        named = _import_string(ctx, app)
        if named is None:
            yield ctx.finding(
                ctx.header_span(call),
                message,
                hint="pass the app as an import string \"module:attribute\"",
                fix=ctx.todo(call, "pass the app as an import string \"module:attribute\" to uvicorn.run()"),
                complete=False,
            )
            continue
        import_string, factory = named
        edits = [ctx.replace(app, ctx.string_literal(import_string))]
        if factory and keyword(call, "factory") is None:
            edits.append(ctx.insert(ctx.span(app)[1], ", factory=True"))
        yield ctx.finding(
            ctx.header_span(call), message, fix=edits, hint=f"use uvicorn.run({import_string!r}, ...)"
        )


RULE.cases(
    valid=[
        Valid('import uvicorn\nuvicorn.run("main:app", reload=True)\n', filename="main.py"),
        Valid("import uvicorn\nfrom fastapi import FastAPI\napp = FastAPI()\nuvicorn.run(app, port=8000)\n", filename="main.py"),
        Valid("import uvicorn\napp = object()\nuvicorn.run(app, reload=False, workers=1)\n", filename="main.py"),
        Valid("def run(app, reload):\n    pass\napp = 1\nrun(app, reload=True)\n", filename="main.py", name="not uvicorn"),
        Valid("import uvicorn\napp = object()\nuvicorn.run(app, reload=0, workers=0)\n", filename="main.py",
              name="reload=0 and workers=0 (uvicorn reads 0 workers as one)"),
    ],
    invalid=[
        Invalid(
            "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\nif __name__ == '__main__':\n"
            "    uvicorn.run(app, host='0.0.0.0', port=8000, reload=True)\n",
            "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\nif __name__ == '__main__':\n"
            "    uvicorn.run('main:app', host='0.0.0.0', port=8000, reload=True)\n",
            filename="main.py",
            findings=[(7, 5, "uvicorn.run() gets an app object with reload=True")],
        ),
        Invalid(
            "from uvicorn import run as serve\nfrom app.main import app\nserve(app=app, workers=4)\n",
            'from uvicorn import run as serve\nfrom app.main import app\nserve(app="app.main:app", workers=4)\n',
            filename="run.py",
            name="aliased import, imported app, workers",
            findings=[(3, 1, "uvicorn.run() gets an app object with workers=4")],
        ),
        Invalid(
            "import uvicorn\n\ndef create_app():\n    return object()\n\nuvicorn.run(create_app(), reload=True)\n",
            'import uvicorn\n\ndef create_app():\n    return object()\n\nuvicorn.run("backend.server:create_app", factory=True, reload=True)\n',
            filename="backend/server.py",
            name="factory",
            findings=[(6, 1, "uvicorn.run() gets an app object with reload=True")],
        ),
        Invalid(
            "import uvicorn\n\ndef main(application):\n    uvicorn.run(application, reload=True)\n",
            "import uvicorn\n\ndef main(application):\n"
            "    # chatkit-fix: TODO[CK901] pass the app as an import string \"module:attribute\" to uvicorn.run()\n"
            "    uvicorn.run(application, reload=True)\n",
            filename="serve.py",
            name="unknown app: TODO marker",
            findings=[(4, 5, "uvicorn.run() gets an app object with reload=True")],
        ),
        Edited(
            "import os\n\nimport uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\nDEBUG = os.getenv('DEBUG') == '1'\n\n"
            "if __name__ == '__main__':\n    uvicorn.run(app, port=8000, reload=DEBUG)\n",
            ("uvicorn.run(app, port=8000, reload=DEBUG)", "uvicorn.run('server:app', port=8000, reload=DEBUG)"),
            filename="server.py",
            findings=[(10, 5, "uvicorn.run() gets an app object with reload=DEBUG")],
            name="reload from a setting: not known to be off",
        ),
        Edited(
            "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\nuvicorn.run(app, workers=2, reload=1)\n",
            ("uvicorn.run(app, workers=2, reload=1)", 'uvicorn.run("main:app", workers=2, reload=1)'),
            filename="main.py",
            findings=[(5, 1, "uvicorn.run() gets an app object with reload=1")],
            name="reload=1 is true too; two workers",
        ),
        Edited(
            "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\nuvicorn.run(app, workers=2)\n",
            ("uvicorn.run(app, workers=2)", 'uvicorn.run("main:app", workers=2)'),
            filename="main.py",
            findings=[(5, 1, "uvicorn.run() gets an app object with workers=2")],
            name="two workers",
        ),
        Edited(
            "import uvicorn\n\n\ndef create_app():\n    return object()\n\n\n"
            "uvicorn.run(create_app(), factory=True, reload=True)\n",
            ("uvicorn.run(create_app(), factory=True, reload=True)",
             'uvicorn.run("app:create_app", factory=True, reload=True)'),
            findings=[(8, 1, "uvicorn.run() gets an app object with reload=True")],
            name="factory=True already there: not added twice",
        ),
        Invalid(
            "import uvicorn\n\n\ndef build():\n    return object()\n\n\ndef serve(server):\n"
            "    uvicorn.run(server, reload=True)\n",
            "import uvicorn\n\n\ndef build():\n    return object()\n\n\ndef serve(server):\n"
            '    # chatkit-fix: TODO[CK901] pass the app as an import string "module:attribute" to uvicorn.run()\n'
            "    uvicorn.run(server, reload=True)\n",
            filename="serve.py",
            findings=[(9, 5, "uvicorn.run() gets an app object with reload=True")],
            name="a parameter, whatever the module defines: TODO marker",
        ),
    ],
)
