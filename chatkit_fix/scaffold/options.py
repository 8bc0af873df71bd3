"""What `chatkit-fix init` was asked to generate."""

from __future__ import annotations

import keyword
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

FRAMEWORKS = ("next", "vite", "none")
STORES = ("sqlite", "postgres", "memory")
AUTH_MODES = ("jwt", "none")
MCP_MAJORS = (1, 2)
# Top-level modules the generated code imports: a back-end package of the same name would hide them.
SHADOWED_MODULES = frozenset(
    {"agents", "aiosqlite", "asyncpg", "chatkit", "fastapi", "jwt", "mcp", "openai", "pydantic", "starlette", "uvicorn"}
)


class ScaffoldError(ValueError):
    """The options or the target project make generation impossible; the message says why."""


@dataclass(frozen=True)
class InitOptions:
    """Options of `chatkit-fix init`.

    `framework=None` detects a Next or Vite app; `frontend_dir=None` looks for it in the
    target and its usual sub-folders. `mcp_major=None` follows the mcp version the project
    declares, else the installed one.
    """

    backend_dir: str | Path = "backend"
    frontend_dir: str | Path | None = None
    framework: str | None = None
    store: str = "sqlite"
    auth: str = "jwt"
    mcp: bool = True
    model: str = "gpt-4.1"
    dry_run: bool = False
    force: bool = False
    mcp_major: int | None = None

    def validate(self) -> None:
        if self.framework is not None and self.framework not in FRAMEWORKS:
            raise ScaffoldError(f"framework must be one of {', '.join(FRAMEWORKS)}, not {self.framework!r}")
        if self.store not in STORES:
            raise ScaffoldError(f"store must be one of {', '.join(STORES)}, not {self.store!r}")
        if self.auth not in AUTH_MODES:
            raise ScaffoldError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.mcp_major is not None and self.mcp_major not in MCP_MAJORS:
            raise ScaffoldError(f"mcp_major must be 1 or 2, not {self.mcp_major!r}")
        if not self.model.strip() or '"' in self.model or "\\" in self.model:
            raise ScaffoldError(f"model must be a plain model name, not {self.model!r}")
        backend_package(self.backend_dir)

    def describe(self) -> dict[str, Any]:
        """The options as JSON-ready data, recorded in the lock file."""
        data = asdict(self)
        for key in ("backend_dir", "frontend_dir"):
            if data[key] is not None:
                data[key] = PurePosixPath(Path(data[key])).as_posix()
        for key in ("dry_run", "force"):
            del data[key]
        return data


def backend_package(backend_dir: str | Path) -> str:
    """The dotted module path of the back-end folder, e.g. `backend` or `services.chat`.

    The generated modules import each other relatively, so the folder must be a package
    importable from the project root.
    """
    path = Path(backend_dir)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ScaffoldError(f"backend_dir must be a folder inside the target, not {str(backend_dir)!r}")
    parts = [part for part in path.parts if part != "."]
    if not parts:
        raise ScaffoldError("backend_dir must be a sub-folder of the target: the back end is a Python package")
    for part in parts:
        if not part.isidentifier() or keyword.iskeyword(part):
            raise ScaffoldError(f"backend_dir {str(backend_dir)!r}: {part!r} is not a valid Python package name")
    if parts[0] in SHADOWED_MODULES:
        raise ScaffoldError(
            f"backend_dir {str(backend_dir)!r} would hide the installed {parts[0]!r} package; choose another name"
        )
    return ".".join(parts)
