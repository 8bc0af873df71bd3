"""`[tool.chatkit-fix]` in the nearest pyproject.toml, turned into Settings; every mistake is a clear error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTION = "chatkit-fix"

# key -> short description, used for the unknown-key error and the README's configuration reference
KEYS: dict[str, str] = {
    "select": "rule codes or prefixes to enable (default: all)",
    "ignore": "rule codes or prefixes to disable",
    "extend-select": "codes or prefixes added to `select`",
    "per-file-ignores": "table of glob -> codes ignored in matching files",
    "extend-exclude": "gitignore-style patterns skipped on top of .gitignore and the built-in excludes",
    "backend": "back-end root(s): a path, a list, or a table with `roots`, `app` (\"pkg.module:app\"), `mcp-app`",
    "frontend": "front-end root(s): a path, a list, or a table with `roots`",
    "token-getter": "expression or import (\"@/lib/auth:getToken\") that yields the bearer token in the front end",
}
BACKEND_KEYS = {"roots", "app", "mcp-app"}
FRONTEND_KEYS = {"roots"}


class ConfigError(Exception):
    """Invalid configuration: the CLI prints it on one line and exits 2."""


@dataclass
class Settings:
    root: Path
    config_path: Path | None = None
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    extend_exclude: list[str] = field(default_factory=list)
    backend_roots: list[str] = field(default_factory=list)
    frontend_roots: list[str] = field(default_factory=list)
    backend_app: str | None = None
    mcp_app: str | None = None
    token_getter: str | None = None


def find_project_root(start: Path) -> Path:
    """The folder of the nearest pyproject.toml with our section, else the nearest VCS root, else `start`."""
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    fallback: Path | None = None
    for folder in (base, *base.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and f"[tool.{SECTION}" in _read_text(candidate):
            return folder
        if fallback is None and (folder / ".git").exists():
            fallback = folder
    return fallback or base


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def load_settings(root: Path, config_file: Path | None = None) -> Settings:
    """Read the config section (from `config_file` or `root/pyproject.toml`) into Settings."""
    path = config_file or root / "pyproject.toml"
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: config file not found; pass an existing pyproject.toml to --config")
    if not path.is_file():
        return Settings(root=root)
    from ._toml import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}; fix the file or pass another with --config") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        unclosed = _unclosed_array(text)
        if unclosed is not None:
            line, key = unclosed
            raise ConfigError(f"{path}:{line}: cannot parse TOML: the array given to {key} is never closed; "
                              "add the missing `]`") from None
        raise ConfigError(f"{path}: cannot parse TOML: {exc}; fix the file or pass another with --config") from None
    section = document.get("tool", {}).get(SECTION)
    if section is None and path.name != "pyproject.toml":
        section = document  # a dedicated chatkit-fix.toml holds the keys at top level
    settings = Settings(root=root if config_file is None else config_file.resolve().parent, config_path=path)
    if section is None:
        return settings
    _apply(settings, section, path)
    return settings


def _apply(settings: Settings, section: dict[str, Any], path: Path) -> None:
    where = f"{path}: [tool.{SECTION}]"
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(KEYS))}")
    for key in ("select", "ignore", "extend-select", "extend-exclude"):
        if key in section:
            setattr(settings, key.replace("-", "_"), _string_list(section[key], f"{where}.{key}"))
    if "per-file-ignores" in section:
        table = section["per-file-ignores"]
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.per-file-ignores: expected a table of glob = [codes]")
        settings.per_file_ignores = {
            str(glob): _string_list(codes, f"{where}.per-file-ignores.{glob}") for glob, codes in table.items()
        }
    if "token-getter" in section:
        value = section["token-getter"]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}.token-getter: expected a non-empty string")
        settings.token_getter = value
    settings.backend_roots, backend_table = _roots(section.get("backend"), f"{where}.backend", BACKEND_KEYS)
    settings.frontend_roots, _ = _roots(section.get("frontend"), f"{where}.frontend", FRONTEND_KEYS)
    for key, roots in (("backend", settings.backend_roots), ("frontend", settings.frontend_roots)):
        for root in roots:
            if not (settings.root / root).is_dir():
                raise ConfigError(f"{where}.{key}: folder {root!r} does not exist in {settings.root}; "
                                  "give a folder of the project (relative to the config file)")
    settings.backend_app = backend_table.get("app")
    settings.mcp_app = backend_table.get("mcp-app")
    for key in ("app", "mcp-app"):
        value = backend_table.get(key)
        if value is not None and (not isinstance(value, str) or ":" not in value):
            raise ConfigError(f"{where}.backend.{key}: expected \"package.module:attribute\"")


_ASSIGNMENT = re.compile(r"""\s*([A-Za-z0-9_.\-"' ]+?)\s*=\s*(.*)""")
_TABLE_HEADER = re.compile(r"\s*\[\[?[A-Za-z0-9_.\-]+\]\]?\s*(#.*)?$")


def _unclosed_array(text: str) -> tuple[int, str] | None:
    """(line, key) of an array value whose `]` never comes: before the next `key =` line, table header or the end.

    The parser only says where it gave up (`Invalid value (at end of document)`, `Unclosed array (at line 3)`), one
    line after the mistake; this finds the line where the array was opened.
    """
    opened: tuple[int, str] | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if depth > 0 and (_ASSIGNMENT.match(line) or _TABLE_HEADER.match(line)):
            return opened
        if depth == 0:
            match = _ASSIGNMENT.match(line)
            if match is None or not match.group(2).startswith("["):
                continue
            opened, line = (number, match.group(1).strip()), match.group(2)
        depth += _bracket_balance(line)
    return opened if depth > 0 else None


def _bracket_balance(line: str) -> int:
    """`[` minus `]` on a line, outside strings and comments."""
    balance, quote, index = 0, "", 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char == "[":
            balance += 1
        elif char == "]":
            balance -= 1
        index += 1
    return balance


def _string_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _roots(value: Any, where: str, allowed: set[str]) -> tuple[list[str], dict[str, Any]]:
    if value is None:
        return [], {}
    if isinstance(value, dict):
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(allowed))}")
        return _string_list(value.get("roots", []), f"{where}.roots"), value
    return _string_list(value, where), {}
