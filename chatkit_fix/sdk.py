"""Facts about the SDKs, read from the installed packages at run time, never copied by hand.

Importing `chatkit` costs about half a second, so the facts are gathered once in a subprocess and cached on disk,
keyed by the installed versions. Where chatkit is not importable, the description of 1.6.x bundled in
`chatkit_fix/data/` stands in, and `origin` says so (shown by `--verbose`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).parent / "data" / "chatkit-facts-1.6.json"
FACTS_FORMAT = 1


def installed_version(distribution: str) -> str | None:
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


@lru_cache(maxsize=1)
def chatkit_facts() -> dict[str, Any]:
    """Store contract, model fields and error codes of the installed openai-chatkit (or the bundled 1.6.x)."""
    version = installed_version("openai-chatkit")
    if version is not None:
        key = f"facts-{FACTS_FORMAT}-{version}-{sys.version_info[0]}{sys.version_info[1]}.json"
        cache = _cache_dir() / key
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
        facts = probe_in_subprocess()
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


def probe_in_subprocess(python: str | None = None, extra_path: str | None = None) -> dict[str, Any] | None:
    """Run `probe()` in a fresh interpreter so the caller never imports chatkit itself."""
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + env.get("PYTHONPATH", "")
    package_parent = str(Path(__file__).resolve().parent.parent)
    code = f"import sys; sys.path.append({package_parent!r}); from chatkit_fix.sdk import probe; probe()"
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
    for name, member in inspect.getmembers(store_cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        parameters = list(inspect.signature(member).parameters)
        methods.append(
            {
                "name": name,
                "params": parameters,
                "async": inspect.iscoroutinefunction(member),
                "abstract": name in store_cls.__abstractmethods__,
                "order": _source_line(member),
            }
        )
    methods.sort(key=lambda m: m["order"])

    def required_fields(model) -> list[str]:
        return [name for name, info in model.model_fields.items() if info.is_required()]

    error_codes = [member.value for member in types_module.ErrorCode] if hasattr(types_module, "ErrorCode") else []
    if not error_codes:
        from chatkit.errors import ErrorCode

        error_codes = [member.value for member in ErrorCode]
    facts = {
        "version": metadata.version("openai-chatkit"),
        "origin": f"installed openai-chatkit {metadata.version('openai-chatkit')} at {Path(store_module.__file__).parent}",
        "store_methods": methods,
        "attachment_store_methods": sorted(getattr(store_module.AttachmentStore, "__abstractmethods__", ())),
        "required_fields": {
            name: required_fields(getattr(types_module, name))
            for name in ("UserMessageInput", "UserMessageItem", "AssistantMessageItem", "ThreadMetadata")
            if hasattr(types_module, name)
        },
        "page_fields": list(store_module.Page.model_fields) if hasattr(store_module, "Page") else ["data", "has_more", "after"],
        "error_codes": sorted(set(error_codes) | {"custom"}),
    }
    json.dump(facts, sys.stdout)


def _source_line(member) -> int:
    try:
        import inspect

        return inspect.getsourcelines(member)[1]
    except (OSError, TypeError):
        return 0
