"""How a project starts its servers: the commands in Dockerfiles, compose files, Procfiles, platform files and shell
scripts, read with the narrowest parser that fits each format (no YAML or TOML library: only the keys that hold a
command are read, line by line).

Each command knows where it sits (offsets into its file), its argv, and whether it is a production command: a
Dockerfile `CMD`/`ENTRYPOINT`, a compose `command`/`entrypoint`, a Procfile line or a platform start command, unless
the file or stage is named for development (`Dockerfile.dev`, `docker-compose.override.yml`, `FROM ... AS dev`,
`Procfile.dev`). Shell scripts are development launchers unless a production command runs them.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DEV_WORDS = frozenset({"dev", "development", "local", "debug", "test", "tests", "override", "devcontainer"})
PLATFORM_FILES = {
    "render.yaml": "yaml", "render.yml": "yaml", "app.yaml": "yaml", "app.yml": "yaml",
    "railway.toml": "toml", "railway.json": "json", "fly.toml": "toml", "nixpacks.toml": "toml",
}
PLATFORM_KEYS = ("startCommand", "start_command", "entrypoint", "cmd", "command", "web", "release")
SERVER_WORDS = ("uvicorn", "gunicorn", "hypercorn", "fastapi", "granian", "python", "python3", "uv", "poetry", "sh",
                "bash")


@dataclass
class Command:
    path: Path
    start: int  # offsets of the command text in the file
    end: int
    text: str
    kind: str  # dockerfile | compose | procfile | platform | shell
    production: bool
    argv: list[str] = field(default_factory=list)

    def position_of(self, token: str, file_text: str) -> tuple[int, int]:
        """Offsets of `token` inside this command in the file (the command's start when not found)."""
        found = file_text.find(token, self.start, self.end)
        return (found, found + len(token)) if found >= 0 else (self.start, min(self.end, self.start + 1))


def file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name in ("dockerfile", "containerfile") or name.startswith(("dockerfile.", "containerfile.")) or name.endswith(
        (".dockerfile", ".containerfile")
    ):
        return "dockerfile"
    if "compose" in name and re.fullmatch(r"(docker-)?compose([.-][\w.-]+)?\.ya?ml", name):
        return "compose"
    if name == "procfile" or name.startswith("procfile."):
        return "procfile"
    if name in PLATFORM_FILES:
        return "platform"
    if name.endswith((".sh", ".bash")):
        return "shell"
    return None


def _dev_name(path: Path) -> bool:
    words = set(re.split(r"[^a-z0-9]+", path.name.lower()))
    return bool(words & DEV_WORDS) or any(part.lower() in (".devcontainer",) for part in path.parts)


def split_argv(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def commands_in(path: Path, text: str) -> list[Command]:
    kind = file_kind(path)
    if kind == "dockerfile":
        return _dockerfile(path, text)
    if kind == "compose":
        return _yaml_keys(path, text, ("command", "entrypoint"), "compose")
    if kind == "procfile":
        return _procfile(path, text)
    if kind == "platform":
        fmt = PLATFORM_FILES[path.name.lower()]
        if fmt == "yaml":
            return _yaml_keys(path, text, ("startCommand", "entrypoint", "command"), "platform")
        if fmt == "json":
            return _json_keys(path, text)
        return _toml_keys(path, text)
    if kind == "shell":
        return _shell(path, text)
    return []


# ---- Dockerfile ------------------------------------------------------------------------------------------------------


def _logical_lines(text: str):
    """(start, end, joined text) of each instruction, following `\\` continuations and skipping comments."""
    lines = text.splitlines(keepends=True)
    offset = 0
    current_start = None
    parts: list[str] = []
    for raw in lines:
        stripped = raw.rstrip("\r\n")
        if current_start is None and (not stripped.strip() or stripped.lstrip().startswith("#")):
            offset += len(raw)
            continue
        if current_start is None:
            current_start = offset
        if stripped.lstrip().startswith("#") and parts:
            offset += len(raw)
            continue
        if stripped.rstrip().endswith("\\"):
            parts.append(stripped.rstrip()[:-1])
            offset += len(raw)
            continue
        parts.append(stripped)
        offset += len(raw)
        yield current_start, offset, " ".join(p.strip() for p in parts)
        current_start, parts = None, []
    if parts and current_start is not None:
        yield current_start, offset, " ".join(p.strip() for p in parts)


def _dockerfile(path: Path, text: str) -> list[Command]:
    commands = []
    dev_file = _dev_name(path)
    stage_dev = False
    for start, end, line in _logical_lines(text):
        match = re.match(r"\s*(\w+)\s+(.*)$", line, re.DOTALL)
        if not match:
            continue
        instruction, rest = match.group(1).upper(), match.group(2).strip()
        if instruction == "FROM":
            alias = re.search(r"\bAS\s+([\w.-]+)", rest, re.IGNORECASE)
            stage_dev = bool(alias and set(re.split(r"[^a-z0-9]+", alias.group(1).lower())) & DEV_WORDS)
            continue
        if instruction not in ("CMD", "ENTRYPOINT"):
            continue
        argv = None
        if rest.startswith("["):
            try:
                parsed = json.loads(rest)
                if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
                    argv = parsed
            except ValueError:
                argv = None
        if argv is None:
            argv = split_argv(rest)
        text_start = text.find(rest[:20], start, end) if rest else start
        commands.append(Command(path, text_start if text_start >= 0 else start, end, rest, "dockerfile",
                                not (dev_file or stage_dev), _unwrap_shell(argv)))
    return commands


def _unwrap_shell(argv: list[str]) -> list[str]:
    """`sh -c "uvicorn ..."` -> the inner command's argv."""
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash", "/bin/sh") and argv[1] in ("-c", "-lc", "-ec"):
        return split_argv(argv[2])
    return argv


# ---- YAML (compose, render, app.yaml): only the command keys ---------------------------------------------------------


def _yaml_keys(path: Path, text: str, keys: tuple[str, ...], kind: str) -> list[Command]:
    commands = []
    production = not _dev_name(path)
    lines = text.splitlines(keepends=True)
    offsets = []
    total = 0
    for raw in lines:
        offsets.append(total)
        total += len(raw)
    pattern = re.compile(r"^(\s*)(?:-\s+)?(" + "|".join(map(re.escape, keys)) + r")\s*:\s*(.*?)\s*$")
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip("\r\n")
        match = pattern.match(raw)
        if not match or raw.lstrip().startswith("#"):
            index += 1
            continue
        indent = len(match.group(1))
        value = _strip_yaml_comment(match.group(3))
        start = offsets[index] + match.start(3)
        end = offsets[index] + len(raw)
        block: list[str] = []
        follow = index + 1
        while follow < len(lines):
            nxt = lines[follow].rstrip("\r\n")
            if not nxt.strip() or nxt.lstrip().startswith("#"):
                follow += 1
                continue
            if len(nxt) - len(nxt.lstrip()) <= indent and not (value == "" and nxt.lstrip().startswith("- ")
                                                                 and len(nxt) - len(nxt.lstrip()) == indent):
                break
            block.append(nxt.strip())
            end = offsets[follow] + len(nxt)
            follow += 1
        argv = _yaml_value_argv(value, block)
        if argv:
            commands.append(Command(path, start, end, " ".join(argv), kind, production, _unwrap_shell(argv)))
        index = follow
    return commands


def yaml_commands(path: Path, text: str, keys: tuple[str, ...], kind: str) -> list[Command]:
    """The commands under `keys` of any YAML file (a Kubernetes manifest's `command`/`args`)."""
    return _yaml_keys(path, text, keys, kind)


def _strip_yaml_comment(value: str) -> str:
    if value.startswith(("'", '"')):
        return value
    return re.sub(r"\s+#.*$", "", value)


def _yaml_scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def _yaml_value_argv(value: str, block: list[str]) -> list[str]:
    if value.startswith("["):
        flow = value if not block else value + " " + " ".join(block)
        try:
            parsed = json.loads(flow)
            if isinstance(parsed, list):
                return [str(a) for a in parsed]
        except ValueError:
            inner = flow.strip()[1:].rstrip("]")
            return [_yaml_scalar(p) for p in inner.split(",") if p.strip()]
    if value in ("|", ">", "|-", ">-", "|+", ">+"):
        return split_argv(" ".join(block))
    if value == "" and block and all(b.startswith("-") for b in block):
        return [_yaml_scalar(b[1:]) for b in block]
    if value == "" and block:
        return split_argv(" ".join(block))
    scalar = _yaml_scalar(value)
    if block:
        scalar = scalar + " " + " ".join(block)
    return split_argv(scalar)


# ---- Procfile, TOML and JSON platform files, shell scripts -------------------------------------------------------------


def _procfile(path: Path, text: str) -> list[Command]:
    commands = []
    production = not _dev_name(path)
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        match = re.match(r"^\s*([\w.-]+)\s*:\s*(.+)$", line)
        if match and not line.lstrip().startswith("#"):
            process = match.group(1).lower()
            commands.append(Command(path, offset + match.start(2), offset + len(line), match.group(2), "procfile",
                                    production and process not in DEV_WORDS, _unwrap_shell(split_argv(match.group(2)))))
        offset += len(raw)
    return commands


def _toml_keys(path: Path, text: str) -> list[Command]:
    commands = []
    offset = 0
    in_processes = False
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        header = re.match(r"^\s*\[+\s*([\w.-]+)\s*\]+", line)
        if header:
            in_processes = header.group(1) in ("processes",)
        match = re.match(r"^\s*([\w.-]+)\s*=\s*(.+?)\s*$", line)
        if match and (match.group(1) in PLATFORM_KEYS or in_processes):
            value = match.group(2)
            argv = None
            if value.startswith("["):
                try:
                    argv = [str(a) for a in json.loads(value.replace("'", '"'))]
                except ValueError:
                    argv = None
            if argv is None:
                argv = split_argv(_yaml_scalar(re.sub(r"\s+#.*$", "", value)))
            commands.append(Command(path, offset + match.start(2), offset + len(line), " ".join(argv), "platform",
                                    True, _unwrap_shell(argv)))
        offset += len(raw)
    return commands


def _json_keys(path: Path, text: str) -> list[Command]:
    commands = []
    for match in re.finditer(r'"(startCommand|start_command|cmd)"\s*:\s*"((?:[^"\\]|\\.)*)"', text):
        try:
            value = json.loads(f'"{match.group(2)}"')
        except ValueError:
            value = match.group(2)
        commands.append(Command(path, match.start(2), match.end(2), value, "platform", True,
                                _unwrap_shell(split_argv(value))))
    return commands


def _shell(path: Path, text: str) -> list[Command]:
    commands = []
    offset = 0
    pending_start = None
    parts: list[str] = []
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if pending_start is None and (not stripped or stripped.startswith("#")):
            offset += len(raw)
            continue
        if pending_start is None:
            pending_start = offset + len(line) - len(line.lstrip())
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            offset += len(raw)
            continue
        parts.append(stripped)
        joined = " ".join(parts)
        argv = split_argv(joined)
        if argv and argv[0] == "exec":
            argv = argv[1:]
        if any(Path(word).name in ("uvicorn", "gunicorn", "hypercorn", "fastapi", "granian") or word in (
                "uvicorn", "gunicorn") for word in argv[:6]):
            commands.append(Command(path, pending_start, offset + len(line), joined, "shell", False, argv))
        offset += len(raw)
        pending_start, parts = None, []
    return commands


# ---- what a command runs ---------------------------------------------------------------------------------------------


def server_argv(argv: list[str]) -> list[str]:
    """The part of argv from the ASGI server on (`uv run uvicorn ...`, `python -m uvicorn ...`, `poetry run ...`)."""
    for index, word in enumerate(argv):
        name = Path(word).name
        if name in ("uvicorn", "gunicorn", "hypercorn", "granian"):
            return argv[index:]
        if name == "fastapi" and index + 1 < len(argv) and argv[index + 1] in ("run", "dev"):
            return argv[index:]
        if word == "-m" and index + 1 < len(argv) and argv[index + 1] in ("uvicorn", "gunicorn", "hypercorn", "fastapi"):
            return argv[index + 1:]
    return []


def reloads(argv: list[str]) -> str | None:
    """The token that makes this command reload on code changes, or None."""
    server = server_argv(argv)
    if not server:
        return None
    for word in server[1:]:
        if word == "--reload" or word.startswith("--reload="):
            if word.endswith(("=false", "=False", "=0")):
                continue
            return word
    if Path(server[0]).name == "fastapi" and len(server) > 1 and server[1] == "dev" and "--no-reload" not in server:
        return "dev"
    return None


def workers(argv: list[str]) -> int | None:
    """The worker count a server command asks for (None: not given)."""
    server = server_argv(argv)
    for index, word in enumerate(server):
        value = None
        if word in ("--workers", "-w") and index + 1 < len(server):
            value = server[index + 1]
        elif word.startswith(("--workers=", "-w=")):
            value = word.split("=", 1)[1]
        elif word.startswith("-w") and word[2:].isdigit():
            value = word[2:]
        if value is not None:
            digits = re.sub(r"\D", "", value)
            return int(digits) if digits else 2
    return None


def app_target(argv: list[str]) -> str | None:
    """`module:attr` the server command serves (uvicorn/gunicorn/hypercorn), or None."""
    server = server_argv(argv)
    skip_next = False
    for word in server[1:]:
        if skip_next:
            skip_next = False
            continue
        if word.startswith("-"):
            if "=" not in word and word not in ("--reload", "--factory", "--proxy-headers", "--no-access-log",
                                               "--preload", "--access-logfile", "--use-colors"):
                skip_next = True
            continue
        if re.fullmatch(r"[\w.]+:[\w.()]+", word):
            return word
    return None


def python_script(argv: list[str]) -> tuple[str, str] | None:
    """("file", "path.py") or ("module", "pkg.mod") that a `python ...` command runs, or None."""
    for index, word in enumerate(argv):
        name = Path(word).name
        if re.fullmatch(r"python(\d(\.\d+)?)?", name):
            rest = argv[index + 1:]
            while rest and rest[0].startswith("-") and rest[0] != "-m":
                rest = rest[1:]
            if len(rest) >= 2 and rest[0] == "-m":
                return ("module", rest[1])
            if rest and rest[0].endswith(".py"):
                return ("file", rest[0])
            return None
    for word in argv[:3]:
        if word.endswith(".py"):
            return ("file", word)
    return None


def shell_script(argv: list[str]) -> str | None:
    for word in argv[:3]:
        if word.endswith((".sh", ".bash")):
            return word
    return None
