"""Which files `init` generates, from which templates, and with which template variables."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any

from .deps import (
    DependencyEdit,
    add_node_dependency,
    add_python_requirements,
    python_requirements,
)
from .detect import (
    CDN_URL,
    FrontendApp,
    detect_mcp_major,
    find_file,
    find_frontend,
    next_app_dir,
    next_pages_document,
)
from .ignore import gitignore_edit
from .options import InitOptions, ScaffoldError, backend_package

API_URL = "http://localhost:8000/chatkit"
# Attachment limits: the back end's defaults (CHATKIT_ATTACHMENT_*) and the widget's composer are rendered from these,
# so the composer offers exactly what the back end accepts.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_COUNT = 4
ATTACHMENT_TYPES = {  # MIME type -> file extensions, as the composer's `accept` option takes them
    "image/png": [".png"],
    "image/jpeg": [".jpg", ".jpeg"],
    "image/gif": [".gif"],
    "image/webp": [".webp"],
    "application/pdf": [".pdf"],
    "text/plain": [".txt"],
    "text/markdown": [".md"],
    "text/csv": [".csv"],
    "application/json": [".json"],
}
STORE_TEMPLATES = {
    "sqlite": "backend/chatkit_store_sqlite.py.j2",
    "postgres": "backend/chatkit_store_postgres.py.j2",
    "memory": "backend/chatkit_store_memory.py.j2",
}


class Kind(Enum):
    GENERATED = "generated"
    """Owned by `init`: created, then updated while the user leaves it as generated."""
    OPTIONAL = "optional"
    """Only created when missing; an existing file of the user's is left alone silently."""
    MERGE = "merge"
    """Created when missing; an existing file of the user's needs our additions merged in."""


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    template: str
    kind: Kind = Kind.GENERATED
    merge_hint: str = ""
    """For MERGE files: what the user's file needs."""
    merged_marker: str = ""
    """For MERGE files: text whose presence shows the file already has our additions."""
    merger: str = ""
    """For MERGE files: the codemod that adds them (see merge.py)."""

    @property
    def relative(self) -> str:
        return PurePosixPath(self.path).as_posix()


@dataclass
class Plan:
    files: list[PlannedFile]
    dependency_edits: list[DependencyEdit]
    context: dict[str, Any]
    resolved_options: dict[str, Any]
    """The options as applied (detected framework, mcp major...), recorded in the lock file."""
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    gitignore: DependencyEdit | None = None
    """The target's .gitignore with the entries `init` makes sure of (ignore.py)."""


def build_plan(target: Path, options: InitOptions, generated: set[str]) -> Plan:
    """The files to render; `generated` are the paths an earlier run wrote (from the lock file)."""
    package = backend_package(options.backend_dir)
    backend = Path(*package.split("."))
    if (target / backend).exists() and not (target / backend).is_dir():
        raise ScaffoldError(f"{target / backend} exists and is not a folder")
    mcp_major = options.mcp_major or detect_mcp_major(target, backend)
    frontend = find_frontend(target, options)
    context: dict[str, Any] = {
        "model": options.model,
        "store": options.store,
        "auth": options.auth,
        "mcp": options.mcp,
        "mcp_major": mcp_major,
        "package": package,
        "backend_dir": backend.as_posix(),
        "api_url": API_URL,
        "cdn_url": CDN_URL,
        "attachment_max_bytes": ATTACHMENT_MAX_BYTES,
        "attachment_max_count": ATTACHMENT_MAX_COUNT,
        "attachment_mime_types": list(ATTACHMENT_TYPES),
        "attachment_accept": ATTACHMENT_TYPES,
    }
    plan = Plan(
        files=backend_files(backend, options),
        dependency_edits=[
            add_python_requirements(
                target, backend, python_requirements(options.store, options.auth, options.mcp, mcp_major)
            )
        ],
        context=context,
        resolved_options={
            **options.describe(),
            "backend_dir": backend.as_posix(),
            "framework": frontend.framework if frontend else "none",
            "frontend_dir": frontend.root.as_posix() if frontend else None,
            "mcp_major": mcp_major,
        },
    )
    if frontend is None:
        plan.notes.append(
            "front end skipped: "
            + ("--framework none" if options.framework == "none" else "no Next or Vite app found (use --framework)")
        )
    else:
        add_frontend(plan, target, frontend, generated)
    plan.gitignore = gitignore_edit(target, backend.as_posix(), frontend.root.as_posix() if frontend else None,
                                    frontend.framework if frontend else None, options.store)
    plan.next_steps = next_steps(plan, options, frontend, target)
    return plan


def backend_files(backend: Path, options: InitOptions) -> list[PlannedFile]:
    files = [
        PlannedFile(backend / "__init__.py", "backend/__init__.py.j2", Kind.OPTIONAL),
        PlannedFile(backend / "chatkit_settings.py", "backend/chatkit_settings.py.j2"),
        PlannedFile(backend / "chatkit_text.py", "backend/chatkit_text.py.j2"),
        PlannedFile(backend / "chatkit_errors.py", "backend/chatkit_errors.py.j2"),
        PlannedFile(backend / "chatkit_attachments.py", "backend/chatkit_attachments.py.j2"),
        PlannedFile(backend / "chatkit_store.py", STORE_TEMPLATES[options.store]),
        PlannedFile(backend / "chatkit_server.py", "backend/chatkit_server.py.j2"),
        PlannedFile(backend / "chatkit_router.py", "backend/chatkit_router.py.j2"),
        PlannedFile(
            backend / "main.py",
            "backend/main.py.j2",
            Kind.MERGE,
            merge_hint=(
                "existing module: add `from .chatkit_router import router` and `app.include_router(router)`,"
                " then CORSMiddleware (added last) with origins from CHATKIT_CORS_ORIGINS"
            ),
            merged_marker="chatkit_router",
            merger="fastapi-main",
        ),
        PlannedFile(backend / ".env.example", "backend/env.example.j2"),
    ]
    if options.auth == "jwt":
        files.append(PlannedFile(backend / "chatkit_auth.py", "backend/chatkit_auth.py.j2"))
    if options.mcp:
        files.append(PlannedFile(backend / "mcp_tools.py", "backend/mcp_tools.py.j2"))
    return files


def add_frontend(plan: Plan, target: Path, frontend: FrontendApp, generated: set[str]) -> None:
    plan.context.update(
        framework=frontend.framework,
        env_prefix="NEXT_PUBLIC_" if frontend.framework == "next" else "VITE_",
    )
    plan.files.append(PlannedFile(frontend.root / ".env.example", "frontend/env.example.j2"))
    if frontend.framework == "next":
        add_next_files(plan, target, frontend, generated)
    else:
        add_vite_files(plan, frontend, generated)
    plan.dependency_edits.append(add_node_dependency(target, frontend.root, frontend.framework))


def add_next_files(plan: Plan, target: Path, frontend: FrontendApp, generated: set[str]) -> None:
    script_hint = (
        'add `import Script from "next/script"` and'
        f' `<Script src="{CDN_URL}" strategy="afterInteractive" />` inside <body> (CK101)'
    )
    document = next_pages_document(target, frontend)
    if document is not None:
        widget = document.parent.parent / "components" / "ChatKitWidget.tsx"
        plan.files.append(PlannedFile(widget, "frontend/ChatKitWidget.tsx.j2"))
        existing = target / document
        if not (existing.exists() and CDN_URL in existing.read_text(encoding="utf-8")):
            plan.notes.append(f"{document.as_posix()} (pages router): {script_hint}")
        plan.notes.append(f"render <ChatKitWidget /> from {widget.as_posix()} where the chat belongs")
        return
    app_dir = next_app_dir(target, frontend)
    widget = app_dir.parent / "components" / "ChatKitWidget.tsx"
    plan.files.append(PlannedFile(widget, "frontend/ChatKitWidget.tsx.j2"))
    layout = find_file(target / app_dir, "layout")
    plan.files.append(
        PlannedFile(
            layout.relative_to(target) if layout else app_dir / "layout.tsx",
            "frontend/next/layout.tsx.j2",
            Kind.MERGE,
            merge_hint=f"existing root layout: {script_hint}",
            merged_marker=CDN_URL,
            merger="next-layout",
        )
    )
    page = app_dir / "page.tsx"
    if frontend.is_new or page.as_posix() in generated:
        plan.context["widget_import"] = import_path(page, widget)
        plan.files.append(PlannedFile(page, "frontend/next/page.tsx.j2", Kind.OPTIONAL))
    else:
        plan.notes.append(f"render <ChatKitWidget /> from {widget.as_posix()} where the chat belongs")


def add_vite_files(plan: Plan, frontend: FrontendApp, generated: set[str]) -> None:
    src = frontend.root / "src"
    plan.files.append(PlannedFile(src / "ChatKitWidget.tsx", "frontend/ChatKitWidget.tsx.j2"))
    plan.files.append(
        PlannedFile(
            frontend.root / "index.html",
            "frontend/vite/index.html.j2",
            Kind.MERGE,
            merge_hint=f'existing index.html: add `<script src="{CDN_URL}" async></script>` to <head> (CK101)',
            merged_marker=CDN_URL,
            merger="html-page",
        )
    )
    if frontend.is_new or (src / "main.tsx").as_posix() in generated:
        plan.files += [
            PlannedFile(src / "main.tsx", "frontend/vite/main.tsx.j2", Kind.OPTIONAL),
            PlannedFile(src / "vite-env.d.ts", "frontend/vite/vite-env.d.ts.j2", Kind.OPTIONAL),
            PlannedFile(frontend.root / "vite.config.ts", "frontend/vite/vite.config.ts.j2", Kind.OPTIONAL),
        ]
    else:
        plan.notes.append(
            f"render <ChatKitWidget /> from {(src / 'ChatKitWidget.tsx').as_posix()} where the chat belongs"
        )


def import_path(importer: Path, module: Path) -> str:
    """The relative import specifier from one file to a module, without its extension."""
    relative = os.path.relpath(module.with_suffix(""), importer.parent)
    specifier = PurePosixPath(Path(relative)).as_posix()
    return specifier if specifier.startswith(".") else f"./{specifier}"


def next_steps(plan: Plan, options: InitOptions, frontend: FrontendApp | None, target: Path) -> list[str]:
    """Shell lines to paste in order, each runnable as printed (what needs a person is a `#` comment): enter the
    target unless it is the current folder, install, configure, start the servers in the background, then the
    front end in a subshell."""
    package = plan.context["package"]
    backend = plan.context["backend_dir"]
    python_deps = plan.dependency_edits[0].path
    required = ["OPENAI_API_KEY"]
    if options.auth == "jwt":
        required.append("CHATKIT_JWT_SECRET")
    if options.store == "postgres":
        required.append("DATABASE_URL")
    steps = []
    here = Path.cwd().resolve()
    if target.resolve() != here:
        steps.append(f"cd {shlex.quote(os.path.relpath(target.resolve(), here))}")
    if python_deps.endswith(".txt"):
        steps.append(f"pip install -r {shlex.quote(python_deps)}")
    else:
        steps.append(f"# install the dependencies {python_deps} lists (uv sync, poetry install or pip install -e .)")
    steps += [
        f"cp -n {backend}/.env.example {backend}/.env  # -n: an existing .env is kept",
        f"# set {', '.join(required)} in {backend}/.env",
    ]
    if options.mcp:
        steps.append(f"uvicorn {package}.mcp_tools:app --port 8001 --env-file {backend}/.env &")
    steps.append(f"uvicorn {package}.main:app --port 8000 --env-file {backend}/.env &")
    if frontend is not None:
        root = frontend.root.as_posix()
        steps.append("npm install && npm run dev" if root == "." else f"(cd {shlex.quote(root)} && npm install && npm run dev)")
        if options.auth == "jwt":
            steps.append(
                "# pass your auth library's token getter to <ChatKitWidget getToken={...} />"
                " (by default it reads localStorage 'chatkit.accessToken')"
            )
    return steps
