"""Which release of a package a project gets, per service, and what was measured to hold for that release.

rules.md, "Versions": a project is judged by the versions it declares, never by a belief about "the current SDK".
For a file, the declarations that count are the nearest ones above it, up to the project root: a monorepo whose two
back ends pin different releases has each judged by its own. In a folder, a lock file (uv.lock, poetry.lock,
Pipfile.lock, package-lock.json) beats the manifests beside it (requirements*.txt, pyproject.toml, Pipfile,
package.json). A specifier is evaluated with `packaging` against the known releases recorded in
`data/releases.json`: an unbounded pin means the newest known release that satisfies it. Only where nothing above
the file declares the package does the installed one decide.

Facts are measured, not written: `data/version-facts.json` holds, per fact, the package, the ranges of releases
where each value was observed, and the command that measured them (benchmarks/facts/). A rule asks `holds(...)` or
`value(...)` for the file it checks and never compares versions itself. This module knows no rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
RELEASES_FILE = DATA / "releases.json"
FACTS_FILE = DATA / "version-facts.json"

PYTHON_MANIFESTS = ("pyproject.toml", "Pipfile")
PYTHON_LOCKS = ("uv.lock", "poetry.lock", "Pipfile.lock")
NPM_MANIFESTS = ("package.json",)
NPM_LOCKS = ("package-lock.json",)
_REQUIREMENTS_NAME = re.compile(r"requirements.*\.(txt|in)")


def declaring_name(name: str) -> bool:
    """Whether a file of this name can declare package versions."""
    return (
        name in PYTHON_MANIFESTS or name in PYTHON_LOCKS or name in NPM_MANIFESTS or name in NPM_LOCKS
        or (name.startswith("requirements") and _REQUIREMENTS_NAME.fullmatch(name) is not None)
    )


def normalise(name: str) -> str:
    """PEP 503 name for Python distributions; npm names (scoped, lower case already) pass unchanged."""
    return name if name.startswith("@") else re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Declaration:
    """One package as one file declares it."""

    distribution: str
    spec: str  # as written ("==0.24.0", ">=0.24", "^1.6.0", "" for unbounded)
    path: Path
    locked: bool  # from a lock file: `spec` is the exact version


@dataclass(frozen=True)
class Judged:
    """The version a file's service gets for a package, and why."""

    distribution: str
    version: str | None  # None: cannot be told (a specifier no known release satisfies, nothing declared or installed)
    spec: str | None  # the declared specifier, None when nothing declares the package
    source: str  # "pinned in backend/requirements.txt (openai-agents==0.24.0)", "locked in uv.lock", ...
    declared_in: Path | None = None

    def describe(self) -> str:
        return f"{self.distribution} {self.version or '(unknown)'}: {self.source}"


@dataclass(frozen=True)
class Answer:
    """A fact's value for the judged version, and where it was measured."""

    fact: str
    value: Any  # None when the version is unknown or outside every measured range
    judged: Judged
    range: str | None  # the measured range holding the version, e.g. ">=0.7.0,<0.25.0"

    def __bool__(self) -> bool:
        return bool(self.value)


# ---- the API the rules and the application model call -----------------------------------------------------------


def judged_version(project, distribution: str, for_path: Path | None = None) -> Judged:
    """The version of `distribution` the service holding `for_path` (the project root when None) gets."""
    distribution = normalise(distribution)
    folder = _folder_of(project, for_path)
    cache = _index(project).judged
    key = (distribution, folder)
    if key not in cache:
        cache[key] = _judge(project, distribution, folder)
    return cache[key]


def value(project, fact: str, for_path: Path | None = None) -> Answer:
    """The measured value of `fact` for the version the service of `for_path` gets."""
    entry = facts()[fact]  # a KeyError names a fact no experiment measured: a programming error
    judged = judged_version(project, entry["package"], for_path)
    if judged.version is None:
        return Answer(fact, None, judged, None)
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(judged.version)
    except InvalidVersion:
        return Answer(fact, None, judged, None)
    for measured in entry["ranges"]:
        if _specifier(measured["spec"]).contains(version, prereleases=True):
            return Answer(fact, measured["value"], judged, measured["spec"])
    return Answer(fact, None, judged, None)


def holds(project, fact: str, for_path: Path | None = None) -> bool:
    """Whether `fact` was measured to hold for the version the service of `for_path` gets (False when unknown)."""
    return bool(value(project, fact, for_path).value)


def facts() -> dict[str, dict]:
    return _load(FACTS_FILE)["facts"]


def judged_packages() -> list[str]:
    """The packages whose releases are recorded: those some measured fact depends on."""
    return list(_load(RELEASES_FILE)["packages"])


def known_releases(distribution: str) -> list[str]:
    """Recorded releases of `distribution`, oldest first (benchmarks/facts/releases.py writes them)."""
    return list(_load(RELEASES_FILE)["packages"].get(normalise(distribution), []))


def declarations(project, distribution: str, for_path: Path | None = None) -> list[Declaration]:
    """The nearest declarations of `distribution` above `for_path`: those of the first folder that has any."""
    distribution = normalise(distribution)
    index = _index(project)
    folder = _folder_of(project, for_path)
    while True:
        found = [d for d in index.declared_in(project, folder) if d.distribution == distribution]
        if found:
            return found
        if folder == project.root or folder.parent == folder or not str(folder).startswith(str(project.root)):
            return []
        folder = folder.parent


def declared_names(project) -> set[str]:
    """Every package any file of the project declares (normalised names)."""
    index = _index(project)
    return {d.distribution for folder in index.folders(project) for d in index.declared_in(project, folder)}


def service_judgements(project, distributions: list[str]) -> list[tuple[str, list[Judged]]]:
    """For `chatkit-fix check -v`: per package, the distinct judgements over the folders that declare it (the project
    root when none does), so a monorepo shows one line per service when they differ."""
    shown = []
    index = _index(project)
    for distribution in distributions:
        name = normalise(distribution)
        folders = [folder for folder in index.folders(project)
                   if any(d.distribution == name for d in index.declared_in(project, folder))]
        judged: list[Judged] = []
        for folder in folders or [project.root]:
            verdict = judged_version(project, name, folder)
            if verdict not in judged:
                judged.append(verdict)
        shown.append((name, judged))
    return shown


# ---- judging -------------------------------------------------------------------------------------------------------


def _judge(project, distribution: str, folder: Path) -> Judged:
    found = declarations(project, distribution, folder)
    if not found:
        installed = _installed(project, distribution, folder)
        if installed is not None:
            return Judged(distribution, installed, None, "installed (the project declares nothing)")
        newest = _newest(distribution, "")
        return Judged(distribution, newest, None,
                      "newest known release (neither declared nor installed)" if newest else "unknown")
    locked = [d for d in found if d.locked]
    chosen = locked[0] if locked else _tightest(found)
    where = project.relative(chosen.path)
    if chosen.locked:
        return Judged(distribution, chosen.spec.lstrip("="), chosen.spec, f"locked in {where}", chosen.path)
    written = f"{distribution}{chosen.spec}" if chosen.spec[:1] in "<>=!~" else f"{distribution} {chosen.spec}".strip()
    sets = _specifier_sets(chosen)
    if sets is None:
        return Judged(distribution, None, chosen.spec, f"unreadable specifier in {where} ({written})", chosen.path)
    exact = _exact(sets)
    if exact is not None:
        return Judged(distribution, exact, chosen.spec, f"pinned in {where} ({written})", chosen.path)
    newest = _newest(distribution, sets)
    bounded = "bounded" if any(_has_upper(s) for s in sets) else "unbounded"
    if newest is None:
        return Judged(distribution, None, chosen.spec, f"no known release satisfies {written} in {where}",
                      chosen.path)
    return Judged(distribution, newest, chosen.spec,
                  f"newest known release ({bounded} {written} in {where})", chosen.path)


def _tightest(found: list[Declaration]) -> Declaration:
    """Of several manifests in one folder (requirements.txt and pyproject.toml), the one that says the most."""
    return max(found, key=lambda d: (len(d.spec), -len(str(d.path))))


def _specifier_sets(declaration: Declaration):
    """The declaration as a union of packaging SpecifierSets, or None when it cannot be read."""
    dialect = "npm" if declaration.path.name in NPM_MANIFESTS else (
        "poetry" if declaration.path.name in ("pyproject.toml", "Pipfile") else "pep440")
    return specifier_sets(declaration.spec, dialect)


def specifier_sets(text: str, dialect: str = "pep440"):
    """`text` as a list of SpecifierSets (any may match), or None. Dialects: pep440, poetry (^ ~ *), npm (^ ~ x || -)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = text.strip()
    if dialect == "pep440":
        try:
            return [SpecifierSet(text)]
        except InvalidSpecifier:
            return None
    if text in ("", "*", "latest", "x", "X"):
        return [SpecifierSet("")]
    if dialect == "npm" and re.match(r"^(file:|git|http|npm:|workspace:|link:|github:)", text):
        return None
    sets = []
    for alternative in text.split("||"):
        parts = _range_parts(alternative.strip(), dialect)
        if parts is None:
            return None
        try:
            sets.append(SpecifierSet(",".join(parts)))
        except InvalidSpecifier:
            return None
    return sets


_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?([-+.]?[0-9A-Za-z.-]*)?$")


def _range_parts(text: str, dialect: str) -> list[str] | None:
    """One npm/poetry range (no `||`) as PEP 440 clauses."""
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        return [f">={_plain(hyphen.group(1))}", f"<={_plain(hyphen.group(2))}"]
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    merged: list[str] = []
    for token in tokens:  # ">= 1.2" written with a space
        if merged and re.fullmatch(r"[<>=!~^]+", merged[-1]):
            merged[-1] += token
        else:
            merged.append(token)
    clauses: list[str] = []
    for token in merged:
        match = re.fullmatch(r"(\^|~=|~|>=|<=|>|<|==|=|!=)?(.+)", token)
        operator, version = match.group(1) or "", match.group(2)
        partial = _PARTIAL.match(version)
        if partial is None:
            return None
        numbers = [g for g in partial.group(1, 2, 3)]
        wildcard = next((i for i, n in enumerate(numbers) if n is None or n in "xX*"), None)
        fixed = [int(n) for n in numbers[: wildcard if wildcard is not None else 3]]
        full = _plain(version)
        if operator == "^":
            clauses += [f">={full}", f"<{_caret_ceiling(fixed)}"]
        elif operator == "~" or (operator == "~=" and dialect != "pep440" and len(fixed) < 2):
            clauses += [f">={full}", f"<{_bump(fixed, 1 if len(fixed) >= 2 else 0)}"]
        elif operator in ("", "=", "==") and wildcard is not None:
            if fixed:
                clauses += [f">={'.'.join(map(str, fixed))}", f"<{_bump(fixed, len(fixed) - 1)}"]
        elif operator in ("", "="):
            clauses.append(f"=={full}")
        else:
            clauses.append(f"{operator}{full}")
    return clauses


def _plain(version: str) -> str:
    """A version without npm's `v`, with x/* parts as zero."""
    partial = _PARTIAL.match(version.strip())
    if partial is None:
        return version.strip().lstrip("v")
    numbers = [n if n is not None and n not in "xX*" else "0" for n in partial.group(1, 2, 3)]
    return ".".join(numbers) + (partial.group(4) or "")


def _caret_ceiling(fixed: list[int]) -> str:
    """npm/poetry caret: the next release that changes the left-most non-zero part."""
    parts = fixed + [0] * (3 - len(fixed))
    for index, number in enumerate(parts[: len(fixed)]):
        if number != 0 or index == len(fixed) - 1:
            return _bump(fixed, index)
    return _bump(fixed, 0)


def _bump(fixed: list[int], index: int) -> str:
    parts = (fixed + [0, 0, 0])[:3]
    parts[index] += 1
    return ".".join(str(n) for n in parts[: index + 1] + [0] * (2 - index))


def _exact(sets) -> str | None:
    if len(sets) != 1:
        return None
    clauses = list(sets[0])
    if len(clauses) == 1 and clauses[0].operator in ("==", "===") and "*" not in clauses[0].version:
        return clauses[0].version
    return None


def _has_upper(specifier_set) -> bool:
    return any(c.operator in ("<", "<=", "~=", "==", "===") for c in specifier_set)


def _newest(distribution: str, sets) -> str | None:
    from packaging.version import InvalidVersion, Version

    sets = sets if isinstance(sets, list) else specifier_sets(sets or "")
    candidates = []
    for text in known_releases(distribution):
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if any(s.contains(version) for s in sets):
            candidates.append((version, text))
    if not candidates:  # only pre-releases satisfy: take them rather than nothing
        for text in known_releases(distribution):
            if any(s.contains(text, prereleases=True) for s in sets):
                candidates.append((Version(text), text))
    return max(candidates)[1] if candidates else None


def _installed(project, distribution: str, folder: Path) -> str | None:
    if distribution.startswith("@") or _npm_package(distribution):
        current = folder
        while True:
            manifest = current / "node_modules" / distribution / "package.json"
            try:
                return str(json.loads(manifest.read_text()).get("version")) or None
            except (OSError, ValueError):
                pass
            if current == project.root or current.parent == current:
                return None
            current = current.parent
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _npm_package(distribution: str) -> bool:
    return distribution in _load(RELEASES_FILE).get("npm", ())


@lru_cache(maxsize=4)
def _specifier(text: str):
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(text)


@lru_cache(maxsize=2)
def _load(path: Path) -> dict:
    return json.loads(path.read_text())


# ---- where declarations live ---------------------------------------------------------------------------------------


class _Index:
    """The project's declaring files by folder, parsed on demand; judgements cached per (package, folder)."""

    def __init__(self):
        self._by_folder: dict[Path, list[Path]] | None = None
        self._parsed: dict[Path, list[Declaration]] = {}
        self.judged: dict[tuple[str, Path], Judged] = {}

    def folders(self, project) -> list[Path]:
        return sorted(self._files(project), key=lambda p: (len(p.parts), str(p)))

    def _files(self, project) -> dict[Path, list[Path]]:
        if self._by_folder is None:
            self._by_folder = {}
            for path in project.files:
                if declaring_name(path.name):
                    self._by_folder.setdefault(path.parent, []).append(path)
        return self._by_folder

    def declared_in(self, project, folder: Path) -> list[Declaration]:
        found = []
        for path in self._files(project).get(folder, ()):
            if path not in self._parsed:
                self._parsed[path] = _parse(path, project.read_bytes(path))
            found.extend(self._parsed[path])
        return found


def _index(project) -> _Index:
    index = project.__dict__.get("_versions_index")
    if index is None:
        index = project.__dict__["_versions_index"] = _Index()
    return index


def _folder_of(project, for_path: Path | None) -> Path:
    if for_path is None:
        return project.root
    path = Path(for_path)
    if not path.is_absolute():
        path = project.root / path
    return path if path.is_dir() else path.parent


# ---- reading the declaring files ---------------------------------------------------------------------------------


def _parse(path: Path, data: bytes) -> list[Declaration]:
    name = path.name
    text = data.decode("utf-8", "replace")
    if name == "package.json":
        return [Declaration(k, v, path, False) for k, v in _package_json(text).items()]
    if name == "package-lock.json":
        return [Declaration(k, f"=={v}", path, True) for k, v in _package_lock(text).items()]
    if name == "pyproject.toml":
        return [Declaration(k, v, path, False) for k, v in _pyproject(text).items()]
    if name == "Pipfile":
        return [Declaration(k, v, path, False) for k, v in _pipfile(text).items()]
    if name == "Pipfile.lock":
        return [Declaration(k, f"=={v}", path, True) for k, v in _pipfile_lock(text).items()]
    if name in ("uv.lock", "poetry.lock"):
        return [Declaration(k, f"=={v}", path, True) for k, v in _toml_lock(text).items()]
    return [Declaration(k, v, path, False) for k, v in _requirements(path, text.splitlines(), set()).items()]


def _requirement(line: str) -> tuple[str, str] | None:
    """(name, specifier) of one PEP 508 line; a URL or unreadable line gives None."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    if requirement.url:
        return None
    return normalise(requirement.name), str(requirement.specifier)


def _requirements(path: Path, lines: list[str], seen: set[Path]) -> dict[str, str]:
    """A requirements file, following `-r`/`-c` includes relative to it."""
    seen.add(path)
    found: dict[str, str] = {}
    joined = "\n".join(lines).replace("\\\n", " ")
    for raw in joined.splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        include = re.match(r"^(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", line)
        if include:
            other = (path.parent / include.group(1)).resolve()
            if other not in seen and other.is_file():
                for name, spec in _requirements(other, other.read_text(errors="replace").splitlines(), seen).items():
                    found.setdefault(name, spec)
            continue
        if line.startswith("-"):
            continue
        line = re.split(r"\s+--", line)[0]  # --hash=... and other per-requirement options
        parsed = _requirement(line)
        if parsed is not None:
            found[parsed[0]] = parsed[1]
    return found


def _toml(text: str) -> dict:
    from ._toml import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _pyproject(text: str) -> dict[str, str]:
    document = _toml(text)
    found: dict[str, str] = {}
    project = document.get("project", {}) if isinstance(document.get("project"), dict) else {}
    lines = list(project.get("dependencies", []) or [])
    for group in (project.get("optional-dependencies", {}) or {}).values():
        lines.extend(group)
    for group in (document.get("dependency-groups", {}) or {}).values():
        lines.extend(item for item in group if isinstance(item, str))
    for line in lines:
        parsed = _requirement(line) if isinstance(line, str) else None
        if parsed is not None:
            found.setdefault(*parsed)
    poetry = document.get("tool", {}).get("poetry", {}) if isinstance(document.get("tool"), dict) else {}
    tables = [poetry.get("dependencies", {}) or {}, poetry.get("dev-dependencies", {}) or {}]
    tables += [(group or {}).get("dependencies", {}) or {} for group in (poetry.get("group", {}) or {}).values()]
    for table in tables:
        for name, spec in table.items():
            if isinstance(spec, dict):
                spec = spec.get("version", "")
            if isinstance(spec, str) and name.lower() != "python":
                found.setdefault(normalise(name), spec)
    return found


def _pipfile(text: str) -> dict[str, str]:
    document = _toml(text)
    found: dict[str, str] = {}
    for section in ("packages", "dev-packages"):
        for name, spec in (document.get(section, {}) or {}).items():
            if isinstance(spec, dict):
                spec = spec.get("version", "*")
            if isinstance(spec, str):
                found.setdefault(normalise(name), spec)
    return found


def _pipfile_lock(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for section in ("default", "develop"):
        for name, info in (document.get(section, {}) or {}).items() if isinstance(document, dict) else ():
            version = info.get("version", "") if isinstance(info, dict) else ""
            if version.startswith("=="):
                found.setdefault(normalise(name), version[2:])
    return found


def _toml_lock(text: str) -> dict[str, str]:
    return {
        normalise(package["name"]): str(package["version"])
        for package in _toml(text).get("package", [])
        if isinstance(package, dict) and "name" in package and "version" in package
    }


def _package_json(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for section in ("peerDependencies", "devDependencies", "dependencies"):  # the last one written wins
        deps = document.get(section) if isinstance(document, dict) else None
        if isinstance(deps, dict):
            found.update({name: str(spec) for name, spec in deps.items()})
    return found


def _package_lock(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    found: dict[str, str] = {}
    for key, info in (document.get("packages", {}) or {}).items():
        if key.startswith("node_modules/") and "/node_modules/" not in key and isinstance(info, dict):
            if "version" in info:
                found[key[len("node_modules/"):]] = str(info["version"])
    for name, info in (document.get("dependencies", {}) or {}).items():  # lockfileVersion 1
        if isinstance(info, dict) and "version" in info:
            found.setdefault(name, str(info["version"]))
    return found
