"""Import case modules the way Python does, hundreds of times, cheaply: one process imports the stack (FastAPI,
ChatKit, the Agents SDK, MCP...) once and forks a child per request, so each import starts from the same clean state
and whatever a module runs at import time cannot leak into the next one. Servers are never started: `uvicorn.run`
and friends are no-ops in the children, and each child is killed after TIMEOUT seconds.

A case is a fragment of an application: it imports modules it does not carry (`from config import settings`) or
packages this environment lacks (`litellm`). A top-level module found neither in the case nor installed is a
permissive stand-in (every attribute a MagicMock), so the import goes on into the case's own code, where a name a fix
uses without importing it fails as it would in the user's application. Submodules of installed packages are never
stood in for: `mcp.server.fastmcp` missing under mcp 2 stays the error it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TIMEOUT = 20

SERVER = r'''
import importlib, json, os, select, signal, sys, time

for name in ("fastapi", "fastapi.middleware.cors", "starlette.applications", "starlette.middleware.cors", "uvicorn",
             "pydantic", "pydantic_settings", "chatkit.server", "chatkit.store", "chatkit.types", "chatkit.agents",
             "agents", "openai", "mcp", "mcp.server", "mcp.server.mcpserver", "jwt", "httpx", "sqlite3", "asyncio",
             "typing", "dataclasses", "logging", "uuid", "datetime"):
    try:
        importlib.import_module(name)
    except Exception:
        pass

import importlib.abc, importlib.machinery, types
from unittest import mock


class _StandIn(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = mock.MagicMock(name=f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on sys.meta_path: asked only about what no other finder found."""

    def __init__(self):
        self.absent = set()

    def find_spec(self, fullname, path, target=None):
        top = fullname.partition(".")[0]
        if path is None and "." not in fullname:
            self.absent.add(top)
        if top not in self.absent:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return _StandIn(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def _no_server(*args, **kwargs):
    return None

def _stub_servers():
    try:
        import uvicorn
        uvicorn.run = _no_server
        uvicorn.Server.run = _no_server
    except Exception:
        pass
    try:  # a module-level mcp.run() would serve stdio forever
        from mcp.server.mcpserver import MCPServer
        MCPServer.run = _no_server
    except Exception:
        pass

def _import(root, modules):
    os.chdir(root)
    sys.argv = ["case"]
    folders = [root] + sorted({os.path.dirname(os.path.join(root, path)) for path, _ in modules})
    sys.path[:0] = folders
    _stub_servers()
    sys.meta_path.append(_StandInFinder())
    outcome = {}
    for path, name in modules:
        try:
            importlib.import_module(name)
            outcome[path] = "ok"
        except BaseException as error:  # SystemExit included: uvicorn exits on a bad app
            outcome[path] = f"{type(error).__name__}: {error}"
    return outcome

for line in sys.stdin:
    request = json.loads(line)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            outcome = _import(request["root"], request["modules"])
        except BaseException as error:
            outcome = {"": f"{type(error).__name__}: {error}"}
        os.write(writer, json.dumps(outcome).encode())
        os._exit(0)
    os.close(writer)
    chunks, deadline = [], time.monotonic() + request["timeout"]
    while True:
        ready, _, _ = select.select([reader], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            chunks = [json.dumps({path: "Timeout: the import did not finish" for path, _ in request["modules"]}).encode()]
            break
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    os.waitpid(pid, 0)
    data = b"".join(chunks) or json.dumps({"": "the import process died"}).encode()
    sys.stdout.write(data.decode() + "\n")
    sys.stdout.flush()
'''


def module_name(path: str) -> str:
    """`backend/app/main.py` -> `backend.app.main` (the root is on sys.path, folders are namespace packages)."""
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class Importer:
    """A long-lived import server; `outcomes(root, paths)` gives "ok" or "ErrorType: message" per module path."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)

    def outcomes(self, root: Path, paths: list[str]) -> dict[str, str]:
        request = {"root": str(root), "modules": [[path, module_name(path)] for path in paths], "timeout": TIMEOUT}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the import server died")
        return json.loads(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
