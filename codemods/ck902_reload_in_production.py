"""The production server runs with auto-reload.

## Why
`uvicorn --reload` (and `reload=True`, `gunicorn --reload`, `fastapi dev`) is a development feature: a supervisor
process watches the files and restarts the worker whenever one changes. In a container or on a platform it costs an
extra process and file watching, breaks `--workers`, and every restart drops the process state: threads kept in an
in-memory ChatKit store vanish, and the browser, still holding the thread id, then gets HTTP 500 on
`threads.get_by_id` and an aborted stream on `threads.add_user_message`. Files written at run time (SQLite, logs,
uploads) inside the watched folder trigger restarts by themselves.

## Wrong
```dockerfile
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--reload"]
```

## Right
```dockerfile
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
```
Keep `--reload` in development launchers: a `scripts/run-backend.sh`, a `__main__` block, `Dockerfile.dev`,
`docker-compose.override.yml` or a `FROM ... AS dev` stage. "Production" here means a Dockerfile
`CMD`/`ENTRYPOINT`, a compose `command`/`entrypoint`, a Procfile, a platform start command (`render.yaml`,
`railway.json`/`.toml`, `fly.toml`, `app.yaml`, `nixpacks.toml`), and the scripts and Python files those commands
run. The rule reports; removing the flag is left to you.
"""

from __future__ import annotations

import ast
from pathlib import Path

from chatkit_fix.analysis.launch import (
    commands_in,
    file_kind,
    python_script,
    reloads,
    shell_script,
)
from chatkit_fix.findings import Safety
from chatkit_fix.model import model_of
from chatkit_fix.pyast import keyword
from chatkit_fix.rules import Invalid, Valid, rule

PRODUCTION_KINDS = ("dockerfile", "compose", "procfile", "platform")


def _accepts(path: Path) -> bool:
    return file_kind(path) in PRODUCTION_KINDS


RULE = rule(
    code="CK902",
    slug="reload-in-production",
    safety=Safety.REPORT,
    summary="--reload / reload=True in a Dockerfile, compose file, Procfile, platform file or production entry point",
    url="https://www.uvicorn.org/settings/#development",
    languages=("text",),
    triggers=(b"--reload", b"fastapi dev", (b"fastapi", b" dev")),
    accepts=_accepts,
    module=__name__,
    explanation=__doc__,
)

WHERE = {"dockerfile": "a production Dockerfile command", "compose": "a production compose command",
         "procfile": "a production Procfile command", "platform": "a production platform start command",
         "shell": "a script that a production command runs"}


def _memory_store_note(project) -> str:
    hits = project.grep(b"MemoryStore", "python")
    return "; threads in the in-memory store vanish on every restart" if hits else ""


@RULE.check
def check(ctx):
    for command in commands_in(ctx.path, ctx.text):
        if not command.production:
            continue
        token = reloads(command.argv)
        if token is None:
            continue
        yield _finding(ctx, command, token)


def _finding(ctx, command, token: str):
    shown = "fastapi dev" if token == "dev" else token
    anchor = command.position_of("dev" if token == "dev" else token, ctx.text)
    return ctx.finding(
        anchor,
        f"`{shown}` in {WHERE[command.kind]}: the server restarts whenever a file changes "
        f"(an extra watcher process, no --workers){_memory_store_note(ctx.project)}",
        hint="drop the reload flag here; keep it in a development launcher (a dev script, Dockerfile.dev, a compose override)",
    )


# ---- scripts and Python entry points run by production commands --------------------------------------------------


@RULE.check_project
def check_entry_points(pctx):
    project = pctx.project
    seen: set[Path] = set()
    for path in project.files:
        if file_kind(path) not in PRODUCTION_KINDS:
            continue
        text = project.read_bytes(path).decode("utf-8", "replace")
        for command in commands_in(path, text):
            if not command.production:
                continue
            for named_in, find, findings in ((shell_script, _find_file, _shell_findings),
                                             (python_script, _find_python, _python_findings)):
                named = named_in(command.argv)
                if named is None:
                    continue
                target = find(project, path, named)
                if target is not None and target not in seen:
                    seen.add(target)
                    yield from findings(pctx, target)


def _find_file(project, base: Path, relative: str) -> Path | None:
    """The project file a command names, relative to the command's folder, the project, or by unique suffix."""
    cleaned = relative.replace("\\", "/")
    for prefix in ("./", "/app/", "/code/", "/srv/", "/usr/src/app/"):
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.lstrip("/")
    for root in (base.parent, project.root):
        candidate = (root / cleaned).resolve()
        if candidate in set(project.files):
            return candidate
    matches = [f for f in project.files if f.as_posix().endswith("/" + cleaned)]
    near = [f for f in matches if base.parent in f.parents]
    chosen = near or matches
    return chosen[0] if len(chosen) == 1 else None


def _find_python(project, base: Path, runs: tuple[str, str]) -> Path | None:
    kind, name = runs
    if kind == "module":
        return model_of(project).services.resolve_from(name, base.parent)
    return _find_file(project, base, name)


def _shell_findings(pctx, path: Path):
    ctx = pctx.context(path)
    if ctx is None:
        return
    for command in commands_in(path, ctx.text):
        token = reloads(command.argv)
        if token is not None:
            yield _finding(ctx, command, token)


def _python_findings(pctx, path: Path):
    ctx = pctx.parsed(path)
    if ctx is None or ctx.language != "python":
        return
    for call in ctx.calls():
        if not (ctx.refers_to(call.func, "uvicorn", "run") or ctx.refers_to(call.func, "uvicorn", "Config")):
            continue
        reload_kw = keyword(call, "reload")
        if reload_kw is None or not (isinstance(reload_kw.value, ast.Constant) and reload_kw.value.value is True):
            continue
        yield ctx.finding(
            ctx.header_span(call),
            f"`reload=True` in {ctx.relative_path}, which a production command runs: the server restarts whenever a "
            f"file changes{_memory_store_note(ctx.project)}",
            hint="make reload opt-in for development (`reload=os.getenv('DEV') == '1'`) or run uvicorn without it in production",
        )


# a launcher logging first, then starting uvicorn with reload=@RELOAD@
LAUNCHER = ("import logging\n\nimport uvicorn\n\nlogging.basicConfig(level=logging.INFO)\n"
            "uvicorn.run('app.main:app', host='0.0.0.0', reload=@RELOAD@)\n")
RUNS_SERVE_PY = "FROM python:3.12\nCMD [\"python\", \"serve.py\"]\n"
START_SH = "#!/bin/sh\nuvicorn main:app --host 0.0.0.0 --reload\n"
PROCFILE_MESSAGE = "`--reload` in a production Procfile command: the server restarts whenever a file changes"
SCRIPT_MESSAGE = "`--reload` in a script that a production command runs"


RULE.cases(
    valid=[
        Valid("FROM python:3.12\nCMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]\n", filename="Dockerfile"),
        Valid("FROM python:3.12\nCMD uvicorn app.main:app --reload\n", filename="Dockerfile.dev", name="dev Dockerfile"),
        Valid("FROM python:3.12 AS base\nCMD uvicorn main:app\n\nFROM base AS dev\nCMD uvicorn main:app --reload\n",
              filename="Dockerfile", name="dev stage"),
        Valid("services:\n  api:\n    command: uvicorn main:app --reload\n", filename="docker-compose.override.yml",
              name="compose override"),
        Valid({
            # the official samples: a development script and a __main__ launcher
            "scripts/run-backend.sh": "#!/bin/bash\nexec \"${VENV_DIR}/bin/python\" -m uvicorn app.main:app --reload --port 8000\n",
            "app/main.py": "import uvicorn\nif __name__ == '__main__':\n    uvicorn.run('app.main:app', reload=True)\n",
        }, name="dev script and __main__ launcher"),
        Valid("web: uvicorn main:app --host 0.0.0.0 --port $PORT\ndev: uvicorn main:app --reload\n", filename="Procfile",
              name="dev process"),
        Valid("# uvicorn main:app --reload\nFROM python:3.12\nCMD [\"python\", \"-m\", \"uvicorn\", \"main:app\"]\n",
              filename="Dockerfile", name="comment"),
        Valid("FROM python:3.12\nCMD [\"./entrypoint.sh\"]\n", filename="Dockerfile",
              name="a script the image runs that the project does not hold"),
        Valid({"Dockerfile": RUNS_SERVE_PY, "serve.py": LAUNCHER.replace("@RELOAD@", "settings.reload").replace(
            "import uvicorn\n", "import uvicorn\n\nfrom app.settings import settings\n")},
            name="a launcher whose reload comes from the settings: not judged"),
        Valid({"Dockerfile": RUNS_SERVE_PY, "serve.py": LAUNCHER.replace("@RELOAD@", "False")}, name="reload=False"),
        Valid({"Dockerfile": RUNS_SERVE_PY, "serve.py": LAUNCHER.replace(", reload=@RELOAD@", "")},
              name="a launcher without reload"),
        Valid({"Dockerfile": "FROM python:3.12\nCMD [\"/app/run.sh\"]\n", "api/run.sh": START_SH, "worker/run.sh": START_SH},
              name="a script name two folders share: not guessed"),
    ],
    invalid=[
        Invalid("FROM python:3.12\nWORKDIR /app\nCMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\", \\\n"
                "     \"--port\", \"7860\", \"--reload\"]\n", None, filename="Dockerfile", name="exec form", findings=[(4, 25, "`--reload` in a production Dockerfile command")]),
        Invalid("FROM python:3.12\nENTRYPOINT uv run fastapi dev app/main.py --host 0.0.0.0\n", None,
                filename="backend/Dockerfile", name="fastapi dev", findings=[(2, 27, "`fastapi dev` in a production Dockerfile command")]),
        Invalid("services:\n  backend:\n    build: ./backend\n    command: [\"sh\", \"-c\", \"alembic upgrade head && "
                "uvicorn main:app --host 0.0.0.0 --reload\"]\n  db:\n    image: postgres\n    command:\n"
                "      - gunicorn\n      - --reload\n      - main:app\n", None, filename="docker-compose.yml",
                findings=[
                    (4, 84, "`--reload` in a production compose command"),
                    (9, 9, "`--reload` in a production compose command"),
                ], name="compose: flow list and block list"),
        Invalid("web: gunicorn -k uvicorn.workers.UvicornWorker main:app --reload\n", None, filename="Procfile", findings=[(1, 57, "`--reload` in a production Procfile command")]),
        Invalid("services:\n  - type: web\n    name: api\n    startCommand: uvicorn main:app --host 0.0.0.0 --reload\n",
                None, filename="render.yaml", name="render start command", findings=[(4, 51, "`--reload` in a production platform start command")]),
        Invalid({
            "Dockerfile": "FROM python:3.12\nCOPY . /app\nCMD [\"python\", \"app.py\"]\n",
            "app.py": "import uvicorn\nfrom store import MemoryStore\n\nif __name__ == '__main__':\n"
                      "    uvicorn.run('app:app', host='0.0.0.0', port=7860, reload=True)\n",
            "store.py": "class MemoryStore:\n    pass\n",
        }, None, findings=[("app.py", 5, 5, "`reload=True` in app.py, which a production command runs: the server restarts whenever a "
                               "file changes; threads in the in-memory store vanish on every restart")],
            name="__main__ launcher run by the Dockerfile"),
        Invalid({
            "backend/Dockerfile": "FROM python:3.12\nCMD [\"./start.sh\"]\n",
            "backend/start.sh": "#!/bin/sh\nalembic upgrade head\nexec uvicorn app.main:app --host 0.0.0.0 --reload\n",
        }, None, findings=[("backend/start.sh", 3, 42, "`--reload` in a script that a production command runs")], name="script run by the Dockerfile"),
        Invalid({
            "Dockerfile": "FROM python:3.12\nWORKDIR /app\nCOPY backend/ .\nCMD [\"bash\", \"/app/scripts/start.sh\"]\n",
            "backend/scripts/start.sh": "#!/bin/bash\nuvicorn main:app --host 0.0.0.0 --reload\n",
            "backend/scripts/dev.sh": "#!/bin/bash\nuvicorn main:app --reload\n",
        }, None, findings=[("backend/scripts/start.sh", 2, 33, "`--reload` in a script that a production command runs")],
            name="a script named by its path in the image, found by its unique suffix"),
        Invalid({
            "Procfile": "web: python -m app.serve\n",
            "app/serve.py": "import uvicorn\n\nuvicorn.run('app.main:app', host='0.0.0.0', reload=True)\n",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        }, None, findings=[("app/serve.py", 3, 1, "`reload=True` in app/serve.py, which a production command runs")],
            name="a module run with python -m"),
        Invalid("release: alembic upgrade head\nweb: uvicorn main:app --host 0.0.0.0 --reload\n", None, filename="Procfile",
                findings=[(2, 38, PROCFILE_MESSAGE)], name="a release command before the web process"),
        Invalid("dev: uvicorn main:app --reload --port 8001\nweb: uvicorn main:app --host 0.0.0.0 --reload\n", None,
                filename="Procfile", findings=[(2, 38, PROCFILE_MESSAGE)], name="a dev process before the web process"),
        Invalid({"app/serve.py": LAUNCHER.replace("@RELOAD@", "True"),
                 "render.yaml": "services:\n  - type: web\n    name: api\n    startCommand: python app/serve.py\n"}, None,
                findings=[("app/serve.py", 6, 1, "`reload=True` in app/serve.py, which a production command runs")],
                name="a launcher started by render.yaml, after other calls"),
        Invalid({"Procfile": "dev: ./scripts/dev.sh\nweb: ./scripts/start.sh\n",
                 "scripts/dev.sh": "#!/bin/sh\nuvicorn main:app --reload\n", "scripts/start.sh": START_SH}, None,
                findings=[("scripts/start.sh", 2, 33, SCRIPT_MESSAGE)], name="the web process's script, not the dev one's"),
        Invalid({"deploy/Dockerfile": "FROM python:3.12\nWORKDIR /app\nCOPY backend/ .\nCMD [\"sh\", \"/app/scripts/start.sh\"]\n",
                 "backend/scripts/start.sh": START_SH}, None,
                findings=[("backend/scripts/start.sh", 2, 33, SCRIPT_MESSAGE)],
                name="a script outside the Dockerfile's folder, found by its unique suffix"),
        Invalid({"Dockerfile": "FROM python:3.12\nCMD [\"./start.sh\"]\n", "start.sh": START_SH,
                 "deploy/start.sh": "#!/bin/sh\nuvicorn main:app --host 0.0.0.0\n"}, None,
                findings=[("start.sh", 2, 33, SCRIPT_MESSAGE)], name="the script next to the Dockerfile, not its namesake"),
    ],
)
