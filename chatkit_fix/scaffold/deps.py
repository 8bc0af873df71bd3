"""Adding the generated code's dependencies to the project's own dependency files.

Only missing packages are added, and a package the project already declares keeps its
version: the user's pins win. pyproject.toml is edited with tomlkit, so its formatting
and comments survive; package.json keeps its indentation and key order.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import read_text
from .options import ScaffoldError

CHATKIT_REACT = ("@openai/chatkit-react", "^1.6.1")
# The Next widget follows the site's light/dark mode through next-themes' useTheme().
NEXT_THEMES = ("next-themes", "^0.4")

# Used only when `init` creates a front end from nothing.
NEW_NEXT_PACKAGE = {
    "scripts": {"dev": "next dev", "build": "next build", "start": "next start"},
    "dependencies": {"next": "^16", "react": "^19", "react-dom": "^19"},
    "devDependencies": {"@types/node": "^22", "@types/react": "^19", "@types/react-dom": "^19", "typescript": "^5"},
}
NEW_VITE_PACKAGE = {
    "type": "module",
    "scripts": {"dev": "vite", "build": "vite build", "preview": "vite preview"},
    "dependencies": {"react": "^19", "react-dom": "^19"},
    "devDependencies": {
        "@types/react": "^19",
        "@types/react-dom": "^19",
        "@vitejs/plugin-react": "^6",
        "typescript": "^5",
        "vite": "^8",
    },
}

NAME_PATTERN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class DependencyEdit:
    """The new text of one dependency file; `before` is None when the file is new."""

    path: str
    before: str | None
    after: str


def normalized_name(requirement: str) -> str | None:
    """The PEP 503 name a requirement line or string declares, or None for comments and options."""
    if requirement.lstrip().startswith(("#", "-")):
        return None
    match = NAME_PATTERN.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def python_requirements(store: str, auth: str, mcp: bool, mcp_major: int) -> list[str]:
    requirements = [
        "openai-chatkit>=1.6.5,<2",
        "openai-agents>=0.24",
        "fastapi>=0.115",
        "uvicorn[standard]>=0.30",
        "python-multipart>=0.0.18",  # attachment uploads are multipart forms
    ]
    if auth == "jwt":
        requirements.append("pyjwt>=2.10")
    if store == "sqlite":
        requirements.append("aiosqlite>=0.20")
    elif store == "postgres":
        requirements.append("asyncpg>=0.29")
    if mcp:
        requirements.append("mcp>=2.3,<3" if mcp_major == 2 else "mcp>=1.20,<2")
    return requirements


def python_dependency_files(backend_dir: Path) -> list[Path]:
    """Where the back end's dependencies may be declared, most specific first (relative to the target)."""
    folders = [backend_dir, Path(".")] if backend_dir != Path(".") else [Path(".")]
    return [folder / name for folder in folders for name in ("pyproject.toml", "requirements.txt")]


def declared_python_requirement(target: Path, backend_dir: Path, package: str) -> str | None:
    """The requirement string the project declares for `package`, from the first file that names it."""
    for relative in python_dependency_files(backend_dir):
        text = read_text(target / relative)
        if text is None:
            continue
        declared = pyproject_requirements(text) if relative.name == "pyproject.toml" else text.splitlines()
        for requirement in declared:
            if normalized_name(requirement) == package:
                return requirement.strip()
    return None


def pyproject_requirements(text: str) -> list[str]:
    """PEP 621 dependencies, and Poetry ones rendered as `name<spec>`."""
    import tomlkit

    document = tomlkit.parse(text).unwrap()
    requirements = list(document.get("project", {}).get("dependencies", []))
    poetry = document.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for name, spec in poetry.items():
        version = spec.get("version", "") if isinstance(spec, dict) else str(spec)
        requirements.append(f"{name}{'' if version == '*' else version}")
    return requirements


def add_python_requirements(target: Path, backend_dir: Path, requirements: list[str]) -> DependencyEdit:
    """Add the missing requirements to the first pyproject.toml (PEP 621 or Poetry) or requirements.txt."""
    for relative in python_dependency_files(backend_dir):
        text = read_text(target / relative)
        if text is None:
            continue
        if relative.name == "requirements.txt":
            return DependencyEdit(relative.as_posix(), text, add_to_requirements_txt(text, requirements))
        updated = add_to_pyproject(text, requirements)
        if updated is not None:
            return DependencyEdit(relative.as_posix(), text, updated)
    new_file = backend_dir / "requirements.txt"
    return DependencyEdit(new_file.as_posix(), None, add_to_requirements_txt("", requirements))


def add_to_requirements_txt(text: str, requirements: list[str]) -> str:
    present = {normalized_name(line) for line in text.splitlines()}
    missing = [req for req in requirements if normalized_name(req) not in present]
    if not missing:
        return text
    prefix = text if not text or text.endswith("\n") else text + "\n"
    return prefix + "".join(f"{req}\n" for req in missing)


def add_to_pyproject(text: str, requirements: list[str]) -> str | None:
    """The pyproject with the missing requirements added, or None when it declares no dependencies table."""
    import tomlkit

    document = tomlkit.parse(text)
    project = document.get("project")
    poetry = document.get("tool", {}).get("poetry", {}).get("dependencies")
    if project is not None:
        dependencies = project.get("dependencies")
        if dependencies is None:
            dependencies = tomlkit.array()
            dependencies.multiline(True)
            project["dependencies"] = dependencies
        present = {normalized_name(str(req)) for req in dependencies}
        missing = [req for req in requirements if normalized_name(req) not in present]
        if not missing:
            return text
        multiline = "\n" in dependencies.as_string() or not present
        for req in missing:
            dependencies.append(req)
        if multiline:
            dependencies.multiline(True)
        return tomlkit.dumps(document)
    if poetry is not None:
        present = {normalized_name(str(name)) for name in poetry}
        missing = [req for req in requirements if normalized_name(req) not in present]
        for req in missing:
            name, extras, version = split_requirement(req)
            if extras:
                table = tomlkit.inline_table()
                table.update({"version": version, "extras": extras})
                poetry[name] = table
            else:
                poetry[name] = version
        return tomlkit.dumps(document) if missing else text
    return None


def split_requirement(requirement: str) -> tuple[str, list[str], str]:
    """`uvicorn[standard]>=0.30` -> ("uvicorn", ["standard"], ">=0.30")."""
    match = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?(.*)", requirement.strip())
    if match is None:
        raise ValueError(f"not a simple requirement: {requirement!r}")
    name, extras, version = match.groups()
    return name, [e.strip() for e in (extras or "").split(",") if e.strip()], version.strip() or "*"


def add_node_dependency(target: Path, frontend_dir: Path, framework: str) -> DependencyEdit:
    """package.json with @openai/chatkit-react (and next-themes for Next) added; a new one for a front end made
    from nothing."""
    relative = frontend_dir / "package.json"
    text = read_text(target / relative)
    before = text
    if text is None:
        package: dict[str, Any] = {"name": new_package_name(target, frontend_dir), "private": True, "version": "0.1.0"}
        package.update(copy.deepcopy(NEW_NEXT_PACKAGE if framework == "next" else NEW_VITE_PACKAGE))
        text = dump_package_json(package, "  ")
    for name, version in [CHATKIT_REACT, NEXT_THEMES] if framework == "next" else [CHATKIT_REACT]:
        text = add_to_package_json(text, name, version)
    return DependencyEdit(relative.as_posix(), before, text)


def add_to_package_json(text: str, name: str, version: str) -> str:
    package = json.loads(text)
    if not isinstance(package, dict):
        raise ScaffoldError("package.json is not a JSON object")
    declared = {
        **package.get("devDependencies", {}),
        **package.get("dependencies", {}),
        **package.get("peerDependencies", {}),
    }
    if name in declared:
        return text
    dependencies = package.setdefault("dependencies", {})
    was_sorted = list(dependencies) == sorted(dependencies)
    dependencies[name] = version
    if was_sorted:
        package["dependencies"] = dict(sorted(dependencies.items()))
    return dump_package_json(package, detect_indent(text), text.endswith("\n") or not text)


def dump_package_json(package: dict[str, Any], indent: str, trailing_newline: bool = True) -> str:
    return json.dumps(package, indent=indent, ensure_ascii=False) + ("\n" if trailing_newline else "")


def detect_indent(text: str) -> str:
    match = re.search(r"^([ \t]+)\S", text, re.MULTILINE)
    return match.group(1) if match else "  "


def new_package_name(target: Path, frontend_dir: Path) -> str:
    folder = (target / frontend_dir).resolve().name
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.lower()).strip("-._")
    return name or "chatkit-app"
