"""Facts about the SDKs, read from the installed packages at run time, never copied by hand.

Importing `chatkit` costs about half a second, so the facts are gathered once in a subprocess and cached on disk,
keyed by the installed versions. Where chatkit is not importable, the description of 1.6.x bundled in
`chatkit_fix/data/` stands in, and `origin` says so (shown by `--verbose`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).parent / "data" / "chatkit-facts-1.6.json"
FACTS_FORMAT = 2


def installed_version(distribution: str) -> str | None:
    # 10 ms of imports (email, zipfile): only when a version is asked
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def major(version_text: str | None) -> int | None:
    match = re.search(r"(\d+)", version_text or "")
    return int(match.group(1)) if match else None


def declared_major(declared: dict[str, str], distribution: str) -> int | None:
    """The major version a project gets for `distribution`, from what it declares.

    An exact pin or an upper bound decides; an unbounded or missing pin means the newest (None here, which callers
    read as "the newest API"); only when the project declares nothing does the installed version decide.
    """
    spec = declared.get(distribution)
    if spec is None:
        installed = installed_version(distribution)
        return major(installed) if installed else None
    spec = spec.replace(" ", "")
    exact = re.search(r"(?:==|===|~=|\^|~)(\d+)", spec)
    if exact:
        return int(exact.group(1))
    upper = re.search(r"<=?(\d+)(?:\.(\d+))?", spec)
    if upper:
        bound = int(upper.group(1))
        inclusive = "<=" in spec
        minor_zero = upper.group(2) in (None, "0")
        return bound if inclusive or not minor_zero else bound - 1
    bare = re.fullmatch(r"v?(\d+)(\.[\dx*]+)*", spec)
    if bare:
        return int(bare.group(1))
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatkit-fix"


SDK_PATH_ENV = "CHATKIT_FIX_CHATKIT_PATH"


def chatkit_facts(extra_path: str | None = None) -> dict[str, Any]:
    """Store contract, model fields and error codes of the installed openai-chatkit (or the bundled 1.6.x).

    `extra_path` (or the CHATKIT_FIX_CHATKIT_PATH environment variable) is a folder searched for `chatkit` before the
    interpreter's own path: the facts of another or a future SDK, without installing it.
    """
    return _facts_for(extra_path if extra_path is not None else os.environ.get(SDK_PATH_ENV) or None)


@lru_cache(maxsize=8)
def _facts_for(extra_path: str | None) -> dict[str, Any]:
    location = _chatkit_location(extra_path)
    if location is not None:
        cache = _cache_dir() / f"facts-{FACTS_FORMAT}-{_cache_key(location)}.json"
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
        facts = probe_in_subprocess(extra_path=extra_path)
        if facts is not None:
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(facts, indent=1, sort_keys=True))
                os.replace(tmp, cache)
            except OSError:
                pass
            return facts
    facts = json.loads(BUNDLED.read_text())
    facts["origin"] = f"bundled description of openai-chatkit {facts['version']} (chatkit is not importable here)"
    return facts


def _chatkit_location(extra_path: str | None) -> Path | None:
    """The folder of the `chatkit` package the probe would import, found without importing it."""
    from importlib.machinery import PathFinder

    search = ([extra_path] if extra_path else []) + [p for p in sys.path if p]
    spec = PathFinder.find_spec("chatkit", search)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _cache_key(location: Path) -> str:
    """Changes whenever the chatkit that would be probed changes: its place or the files read (a new version
    rewrites them)."""
    import zlib  # not hashlib: its OpenSSL binding costs 3 ms of start-up, and this key guards no secret

    parts = [str(location.resolve()), f"{sys.version_info[0]}{sys.version_info[1]}"]
    for name in ("__init__.py", "store.py", "types.py"):
        try:
            stat = (location / name).stat()
            parts.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    key = "|".join(parts).encode()
    return f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}"


def probe_in_subprocess(python: str | None = None, extra_path: str | None = None) -> dict[str, Any] | None:
    """Run `probe()` in a fresh interpreter so the caller never imports chatkit itself."""
    import subprocess

    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env.get("PYTHONPATH", "")
    package_parent = str(Path(__file__).resolve().parent.parent)
    # the working folder leaves sys.path: a project folder named `chatkit` must not pass for the SDK
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
        f"sys.path.append({package_parent!r}); from chatkit_fix.sdk import probe; probe()"
    )
    try:
        completed = subprocess.run(
            [python or sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    try:
        return json.loads(completed.stdout)
    except ValueError:
        return None


def probe() -> None:
    """Print the facts of the importable chatkit as JSON (runs in the subprocess)."""
    import inspect

    import chatkit.store as store_module
    import chatkit.types as types_module

    store_cls = store_module.Store
    methods = []
    annotation_names: set[str] = set()
    for name, member in inspect.getmembers(store_cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        parameters = list(inspect.signature(member).parameters)
        annotations, returns = _annotation_texts(member)
        for text in [*annotations.values(), returns]:
            annotation_names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text or ""))
        methods.append(
            {
                "name": name,
                "params": parameters,
                "async": inspect.iscoroutinefunction(member),
                "abstract": name in store_cls.__abstractmethods__,
                "order": _source_line(member),
                "annotations": annotations,
                "returns": returns,
            }
        )
    methods.sort(key=lambda m: m["order"])

    def required_fields(model) -> list[str]:
        return [name for name, info in model.model_fields.items() if info.is_required()]

    error_codes = [member.value for member in types_module.ErrorCode] if hasattr(types_module, "ErrorCode") else []
    if not error_codes:
        try:
            from chatkit.errors import ErrorCode

            error_codes = [member.value for member in ErrorCode]
        except ImportError:
            error_codes = []
    version = installed_version("openai-chatkit") or "unknown"
    facts = {
        "version": version,
        "origin": f"installed openai-chatkit {version} at {Path(store_module.__file__).parent}",
        "store_methods": methods,
        "context_typevar": _typevar_name(store_cls),
        "annotation_modules": _annotation_modules(store_module, annotation_names),
        "not_found_error": getattr(getattr(store_module, "NotFoundError", None), "__module__", None) or "chatkit.store",
        "attachment_store_methods": sorted(getattr(getattr(store_module, "AttachmentStore", None), "__abstractmethods__", ())),
        "required_fields": {
            name: required_fields(getattr(types_module, name))
            for name in ("UserMessageInput", "UserMessageItem", "AssistantMessageItem", "ThreadMetadata")
            if hasattr(types_module, name)
        },
        "page_fields": list(store_module.Page.model_fields) if hasattr(store_module, "Page") else ["data", "has_more", "after"],
        "error_codes": sorted(set(error_codes) | {"custom"}),
    }
    json.dump(facts, sys.stdout)


def _annotation_texts(member) -> tuple[dict[str, str | None], str | None]:
    """Each parameter's annotation and the return annotation as written in the SDK's source."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(member)))
    except (OSError, TypeError, SyntaxError):
        return {}, None
    function = tree.body[0] if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if function is None:
        return {}, None
    arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    annotations = {arg.arg: (ast.unparse(arg.annotation) if arg.annotation is not None else None) for arg in arguments}
    return annotations, ast.unparse(function.returns) if function.returns is not None else None


def _typevar_name(store_cls) -> str | None:
    parameters = getattr(store_cls, "__parameters__", ())
    return getattr(parameters[0], "__name__", None) if parameters else None


def _annotation_modules(store_module, names: set[str]) -> dict[str, str]:
    """Where each name used in the Store's annotations is importable from (chatkit.types, chatkit.store, ...)."""
    import typing

    import chatkit.types as types_module

    found: dict[str, str] = {}
    for name in sorted(names):
        if not hasattr(store_module, name) or name in ("None",) or hasattr(typing, name) or name in dir(__builtins__):
            continue
        value = getattr(store_module, name)
        module = getattr(value, "__module__", None)
        if isinstance(value, type) and isinstance(module, str) and module.startswith("chatkit"):
            found[name] = module
        elif getattr(types_module, name, None) is value:
            found[name] = types_module.__name__  # an alias such as ThreadItem: import it where the models live
        else:
            found[name] = store_module.__name__
    return found


def _source_line(member) -> int:
    try:
        import inspect

        return inspect.getsourcelines(member)[1]
    except (OSError, TypeError):
        return 0
