"""The check cache: a second `check` of an unchanged tree replays the first one's report instead of redoing it.

Like ruff's `.ruff_cache`, it lives in the project root (`.chatkit_fix_cache/`, git-ignored by a `.gitignore` of its
own) and is bypassed with `--no-cache`. An entry is reused only when nothing it was computed from changed:

- the run's context: the tool's own code (its version and the stats of its files, so an edited checkout never replays
  an old report), the settings and the rules selected, the paths asked about, the Python version, and the installed
  SDKs the rules read facts from;
- the project: the same files listed, and every file the run read unchanged: same size and modification time, or, when
  only the time moved (a `git checkout` that restores a file, a `touch`), the same content hash.

Cross-file rules make every finding depend on any file, so an entry is all or nothing: one edit anywhere and the run
is done again, then stored again. A run on named files (an editor, pre-commit) gets an entry of its own; when it never
listed the project (no rule needed more than the files it read), its report depends on those files alone and the
listing is not compared. The newest entries are kept (`KEPT`). Any failure to read or write the cache only costs the
time it would have saved.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from pathlib import Path

from .findings import Edit, FileError, Finding, Fix, ImportChange, Safety

FOLDER = ".chatkit_fix_cache"
FORMAT = 3
KEPT = 32  # entries kept: one per set of paths asked about, so pre-commit's changing file lists do not pile up
STACK_DISTRIBUTIONS = ("chatkit", "agents", "mcp")  # packages whose installed facts the rules read
RACY_NS = 3_000_000_000  # files changed this close before a run was stored are compared by content


def context_key(settings, selection: list[str], targets: list[str]) -> str:
    """What a run depends on besides the project's files (the rule selection as given: with the same tool and
    settings, it selects the same rules)."""
    from . import __version__

    parts = [
        f"format={FORMAT}", f"tool={__version__}", _package_stats(), f"python={sys.version_info[:3]}",
        f"selection={chr(1).join(selection)}", f"targets={','.join(sorted(targets))}",
        f"settings={settings.config_path}:{_file_crc(settings.config_path) if settings.config_path else ''}",
        _installed_stack(), f"env={os.environ.get('CHATKIT_FIX_CHATKIT_PATH', '')}",
    ]
    return f"{zlib.crc32(chr(0).join(parts).encode()):08x}"


def _package_stats() -> str:
    """The tool's own files, by size and time: a developer's edit to a rule invalidates every entry."""
    here = Path(__file__).resolve().parent
    entries = []
    for folder, subfolders, names in os.walk(here):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in names:
            if name.endswith((".py", ".json", ".js")):
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                entries.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return f"code={zlib.crc32(chr(0).join(sorted(entries)).encode()):08x}"


def _installed_stack() -> str:
    """Where the SDKs are installed and their top files' stats: a package upgrade rewrites them."""
    from importlib.machinery import PathFinder

    parts = []
    for name in STACK_DISTRIBUTIONS:
        spec = PathFinder.find_spec(name, [p for p in sys.path if p])
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        for location in locations[:1]:
            init = Path(location) / "__init__.py"
            try:
                stat = init.stat()
                parts.append(f"{name}:{location}:{stat.st_size}:{stat.st_mtime_ns}")
            except OSError:
                parts.append(f"{name}:{location}")
    return "stack=" + "|".join(parts)


def _file_crc(path: Path | str | None) -> str:
    try:
        return f"{zlib.crc32(Path(path).read_bytes()):08x}"
    except (OSError, TypeError):
        return "-"


class CheckCache:
    def __init__(self, root: Path, key: str):
        self.root = root
        self.folder = root / FOLDER
        self.entry = self.folder / f"check-{key}.json"

    # ---- reading -------------------------------------------------------------------------------------------------

    def replay(self, project):
        """The stored run's result when the project is as it was, else None."""
        from .findings import RunResult

        try:
            stored = json.loads(self.entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if stored.get("format") != FORMAT:
            return None
        listing = stored.get("listing")
        racy_after = stored.get("stored_at", 0) - RACY_NS
        refresh = False
        if listing is not None and not _folders_unchanged(project, stored.get("stamps"), stored.get("stored_at", 0)):
            if listing != _listing_digest(project):
                return None
            refresh = True  # the walk proved the listing the same: its new stamps spare the next run the walk
        for folder, digest in stored.get("folders", {}).items():
            if _digest(project, project.folder_listing(project.root / folder)) != digest:
                return None
        if any(os.path.isfile(project.root / probe) != found for probe, found in stored.get("probes", [])):
            return None
        root = project.root
        prefix = os.path.join(str(root), "")  # plain strings: this loop stats every file the run read
        for relative, size, mtime, crc in stored.get("reads", []):
            path = prefix + relative
            try:
                stat = os.stat(path)
            except OSError:
                return None
            if stat.st_size != size:
                return None
            # a time equal to the stored one proves nothing when the file was written just before the run was
            # stored: a same-sized edit in the same clock tick keeps it (git's "racily clean" files)
            trusted = stat.st_mtime_ns == mtime and mtime < racy_after
            if not trusted and (crc is None or _file_crc(path) != crc):
                return None
        try:
            result = RunResult(
                findings=[_finding(root, item) for item in stored["findings"]],
                errors=[FileError(root / e["path"], e["line"], e["message"], e["code"]) for e in stored["errors"]],
                files_checked=stored["files_checked"],
            )
        except (KeyError, TypeError, ValueError):
            return None
        if refresh:
            # every file was just proven as stored (by time, or by content), so the entry holds from now on
            self._write({**stored, "stored_at": time.time_ns(), "stamps": _folder_stamps(project)})
        return result

    # ---- writing -------------------------------------------------------------------------------------------------

    def store(self, project, result) -> None:
        """Keep this run's result with what it was computed from; silently nothing when the folder is not writable."""
        root = project.root
        reads = []
        for path, (stat, data) in project.what_was_read().items():
            try:
                relative = path.relative_to(root).as_posix()
            except ValueError:
                continue  # outside the project: not part of what a run can be trusted on
            crc = f"{zlib.crc32(data):08x}" if data is not None else None  # None: a moved time means recompute
            reads.append([relative, stat.st_size, stat.st_mtime_ns, crc])
        entry = {
            "format": FORMAT,
            "stored_at": time.time_ns(),
            "listing": _listing_digest(project) if project.listed else None,
            "stamps": _folder_stamps(project) if project.listed else None,
            **({} if project.listed else _layout_read(project)),
            "reads": sorted(reads),
            "files_checked": result.files_checked,
            "findings": [_finding_data(root, f) for f in result.findings],
            "errors": [{"path": _relative(root, e.path), "line": e.line, "message": e.message, "code": e.code}
                       for e in result.errors],
        }
        self._write(entry)

    def _write(self, entry: dict) -> None:
        try:
            make_folder(self.root)
            temporary = self.entry.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entry, separators=(",", ":")), encoding="utf-8")
            os.replace(temporary, self.entry)
            self._prune()
        except OSError:
            return


    def _prune(self) -> None:
        """Keep the `KEPT` newest entries."""
        entries = sorted(self.folder.glob("check-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in entries[KEPT:]:
            stale.unlink(missing_ok=True)


def make_folder(root: Path) -> None:
    """Create the cache's folder, before the run lists the project: creating it afterwards would move the project
    folder's time, and the next run would walk the tree again to learn that nothing changed."""
    try:
        folder = root / FOLDER
        folder.mkdir(exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# written by chatkit-fix: its check cache is never committed\n*\n")
    except OSError:
        return


def _listing_digest(project) -> str:
    """The project's file list (added or removed files change what cross-file rules see)."""
    return _digest(project, project.files)


def _digest(project, files: list[Path]) -> str:
    names = "\n".join(map(project.relative, files))
    return f"{len(files)}:{zlib.crc32(names.encode('utf-8', 'surrogateescape')):08x}"


def _folder_stamps(project) -> list[list]:
    """Each folder the listing read, with its time and its .gitignore's size and time as they were when it was read:
    a file added, removed or renamed moves its folder's time, so unchanged stamps prove the listing unchanged
    without walking the tree again."""
    return [[project.relative(Path(folder)), mtime, rules] for folder, mtime, rules in project.scanned_folders]


def _folders_unchanged(project, stamps: list | None, stored_at: int) -> bool:
    """Whether every stamped folder is as it was. A time close to the run's proves nothing: a change in the same clock
    tick as the read keeps it (so do `.gitignore` times)."""
    if not stamps:
        return False
    racy_after = stored_at - RACY_NS
    prefix = os.path.join(str(project.root), "")
    for relative, mtime, rules in stamps:
        folder = prefix if relative == "." else prefix + relative
        if mtime >= racy_after or (rules is not None and rules[1] >= racy_after):
            return False
        try:
            if os.stat(folder).st_mtime_ns != mtime:
                return False
            ignore = os.stat(os.path.join(folder, ".gitignore"))
            found = [ignore.st_size, ignore.st_mtime_ns]
        except FileNotFoundError:
            found = None
        except OSError:
            return False
        if found != rules:
            return False
    return True


def _layout_read(project) -> dict:
    """For a run that never listed the project: the folders it listed and the files it tested for, as found."""
    folders, probes = project.layout_read
    return {
        "folders": {project.relative(folder): _digest(project, project.folder_listing(folder)) for folder in folders},
        "probes": sorted([project.relative(Path(probe)), found] for probe, found in probes.items()),
    }


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _finding_data(root: Path, finding: Finding) -> dict:
    data = {
        "code": finding.code, "slug": finding.slug, "path": _relative(root, finding.path), "line": finding.line,
        "col": finding.col, "end_line": finding.end_line, "end_col": finding.end_col, "message": finding.message,
        "hint": finding.hint, "url": finding.url, "related": list(finding.related), "fix": None,
    }
    if finding.fix is not None:
        data["fix"] = {
            "edits": [[e.start, e.end, e.text] for e in finding.fix.edits], "safety": finding.fix.safety.value,
            "description": finding.fix.description, "complete": finding.fix.complete,
            "imports": [[i.module, i.name, i.remove] for i in finding.fix.imports], "built": finding.fix.built,
        }
    return data


def _finding(root: Path, data: dict) -> Finding:
    fix = data["fix"]
    return Finding(
        code=data["code"], slug=data["slug"], path=root / data["path"], line=data["line"], col=data["col"],
        end_line=data["end_line"], end_col=data["end_col"], message=data["message"], hint=data["hint"],
        url=data["url"], related=tuple(data["related"]),
        fix=None if fix is None else Fix(
            tuple(Edit(*edit) for edit in fix["edits"]), Safety(fix["safety"]), fix["description"], fix["complete"],
            tuple(ImportChange(*change) for change in fix["imports"]), fix["built"],
        ),
    )
