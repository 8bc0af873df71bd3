"""Facts about the target project that decide what `init` generates and where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deps import declared_python_requirement
from .options import InitOptions, ScaffoldError

CDN_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
FRONTEND_CANDIDATES = (".", "frontend", "web", "client", "apps/web")
SCRIPT_SUFFIXES = (".tsx", ".jsx", ".ts", ".js")


@dataclass(frozen=True)
class FrontendApp:
    """A front end to generate into; `root` is relative to the target."""

    framework: str
    root: Path
    is_new: bool


def read_package_json(path: Path) -> dict[str, Any] | None:
    try:
        package = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except ValueError as exc:
        raise ScaffoldError(f"{path} is not valid JSON: {exc}") from exc
    return package if isinstance(package, dict) else None


def framework_of(package: dict[str, Any]) -> str | None:
    """ "next" or "vite" when package.json depends on them; Next wins (it may use Vite tooling too)."""
    declared = {**package.get("devDependencies", {}), **package.get("dependencies", {})}
    if "next" in declared:
        return "next"
    if "vite" in declared:
        return "vite"
    return None


def find_frontend(target: Path, options: InitOptions) -> FrontendApp | None:
    """The front end to generate into, or None for `framework="none"` or when none is found."""
    if options.framework == "none":
        return None
    candidates = (
        [Path(options.frontend_dir)] if options.frontend_dir is not None else [Path(c) for c in FRONTEND_CANDIDATES]
    )
    for candidate in candidates:
        if candidate.is_absolute() or ".." in candidate.parts:
            raise ScaffoldError(f"frontend_dir must be a folder inside the target, not {str(candidate)!r}")
        package = read_package_json(target / candidate / "package.json")
        if package is None:
            continue
        found = framework_of(package)
        if options.framework is None and found is not None:
            return FrontendApp(found, candidate, is_new=False)
        if options.framework is not None and (found == options.framework or options.frontend_dir is not None):
            return FrontendApp(options.framework, candidate, is_new=False)
    framework = options.framework
    if framework is None:
        if not _is_fresh(target):
            return None  # an existing project without a front end: we do not impose one
        framework = "next"  # a new project gets the complete integration
    root = Path(options.frontend_dir) if options.frontend_dir is not None else Path("frontend")
    return FrontendApp(framework, root, is_new=not (target / root / "package.json").exists())


def _is_fresh(target: Path) -> bool:
    """An empty folder, or one holding only what an earlier `init` of ours wrote."""
    if not target.exists():
        return True
    from .files import LOCK_FILE

    lock = target / LOCK_FILE
    if lock.is_file():
        import json

        try:
            recorded = json.loads(lock.read_text(encoding="utf-8")).get("options", {})
        except ValueError:
            recorded = {}
        return recorded.get("framework") not in (None, "none")
    return not any(entry.name not in (".git", ".gitignore", "README.md") for entry in target.iterdir())


def find_file(folder: Path, stem: str) -> Path | None:
    """`folder/stem.tsx`, `.jsx`, `.ts` or `.js`, whichever exists first."""
    for suffix in SCRIPT_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def next_app_dir(target: Path, frontend: FrontendApp) -> Path:
    """The app-router folder (`src/app` or `app`, relative to the target); a new one goes beside `src/` if present."""
    root = target / frontend.root
    for relative in (Path("src/app"), Path("app")):
        if (root / relative).is_dir():
            return frontend.root / relative
    return frontend.root / ("src/app" if (root / "src").is_dir() else "app")


def next_pages_document(target: Path, frontend: FrontendApp) -> Path | None:
    """`pages/_document.*` (or where it belongs) of a pages-router app without an app folder, relative to the target."""
    root = target / frontend.root
    if (root / "app").is_dir() or (root / "src/app").is_dir():
        return None
    for pages in (Path("src/pages"), Path("pages")):
        if (root / pages).is_dir():
            existing = find_file(root / pages, "_document")
            return existing.relative_to(target) if existing else frontend.root / pages / "_document.tsx"
    return None


def detect_mcp_major(target: Path, backend_dir: Path) -> int:
    """The mcp major version the project declares, else the installed one, else 2 (the newest)."""
    declared = declared_python_requirement(target, backend_dir, "mcp")
    if declared is not None:
        major = declared_major(declared)
        if major is not None:
            return major
    from importlib.metadata import PackageNotFoundError, version

    try:
        return 1 if version("mcp").split(".")[0] == "1" else 2
    except PackageNotFoundError:
        return 2


def declared_major(requirement: str) -> int | None:
    """1 when the requirement admits mcp 1.x but not 2.x (PEP 508 or Poetry caret/tilde), else 2; None if unreadable."""
    from packaging.requirements import InvalidRequirement, Requirement

    poetry_spec = requirement[len("mcp") :].strip() if requirement.lower().startswith("mcp") else ""
    if poetry_spec.startswith(("^", "~")) and poetry_spec[1:2].isdigit():
        return 1 if poetry_spec[1:].split(".")[0] == "1" else 2
    try:
        specifier = Requirement(requirement).specifier
    except InvalidRequirement:
        return None
    if specifier.contains("2.3.0", prereleases=True) or not specifier.contains("1.26.0", prereleases=True):
        return 2
    return 1
