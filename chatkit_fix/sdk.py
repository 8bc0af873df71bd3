"""What an openai-chatkit release asks of an integration (the Store contract, required request fields, error codes),
never copied by hand.

rules.md, "Versions": the release a service declares decides (chatkit_fix/versions.py), and its facts were measured
by importing that release (`python benchmarks/facts/measure.py chatkit-sdk-contract`, recorded in
`data/version-facts.json`). Only where nothing declares openai-chatkit is the installed one read: importing `chatkit`
costs about half a second, so its facts are gathered once in a subprocess and cached on disk, keyed by the installed
files. Where it is not importable either, the facts measured for the newest known release stand in. `origin` says
which (shown by `--verbose`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

FACTS_FORMAT = 3
CONTRACT_FACT = "chatkit-sdk-contract"


def installed_version(distribution: str) -> str | None:
    # 10 ms of imports (email, zipfile): only when a version is asked
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def chatkit_facts_for(project, for_path: Path | None = None) -> dict[str, Any]:
    """The facts of the openai-chatkit release the service of `for_path` gets (the installed one, or the SDK named
    by CHATKIT_FIX_CHATKIT_PATH, when nothing declares it)."""
    from . import versions

    if project is None or os.environ.get(SDK_PATH_ENV):
        return chatkit_facts()
    judged = versions.judged_version(project, "openai-chatkit", for_path)
    if judged.spec is None:
        return chatkit_facts()
    cache = project.__dict__.setdefault("_chatkit_facts", {})
    if judged not in cache:
        answer = versions.value(project, CONTRACT_FACT, for_path)
        if answer.value:
            facts = dict(answer.value)
            facts["version"] = judged.version
            facts["origin"] = f"measured facts of openai-chatkit {judged.version} ({judged.source})"
        else:
            facts = dict(chatkit_facts())
            facts["origin"] = f"{facts['origin']}; no facts were measured for openai-chatkit {judged.version or '?'} ({judged.source})"
        cache[judged] = facts
    return cache[judged]


def _newest_measured() -> dict[str, Any]:
    from . import versions

    entry = versions.facts()[CONTRACT_FACT]
    newest = entry["ranges"][-1]
    facts = dict(newest["value"])
    facts["version"] = newest["measured"][-1]
    facts["origin"] = (f"measured facts of openai-chatkit {facts['version']}, the newest known release (chatkit is "
                       "not importable here)")
    return facts


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
    return _newest_measured()


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
    json.dump(probe_facts(), sys.stdout)


def probe_facts() -> dict[str, Any]:
    """The facts of the importable chatkit, read by importing it (benchmarks/facts/chatkit_contract.py records them
    per release)."""
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
        "error_codes": _accepted_error_codes(types_module, sorted(set(error_codes) | {"custom"})),
        "event_fields": {"ErrorEvent": list(getattr(types_module, "ErrorEvent").model_fields)}
        if hasattr(types_module, "ErrorEvent") else {},
    }
    return facts


def _accepted_error_codes(types_module, candidates: list[str]) -> list[str]:
    """The codes `ErrorEvent(code=...)` validates, tried one by one (the enum alone does not say whether "custom" is
    accepted beside it)."""
    event = getattr(types_module, "ErrorEvent", None)
    if event is None:
        return candidates
    accepted = []
    for code in candidates:
        try:
            event(code=code, message="m")
        except Exception:  # noqa: BLE001 - a ValidationError says the code is refused
            continue
        accepted.append(code)
    return accepted


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
